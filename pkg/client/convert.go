package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// Mapping between the internal types (eventlog, registry) and the wire
// types of this package. Wire types never expose internal ones.

// Artifact kinds.
const (
	KindFile = api.KindFile
	KindTree = api.KindTree
)

// kindOf says whether an artifact is a file or a tree. The event log does not
// record the manifest kind; TreeMediaType is reserved for trees, so the media
// type tells.
func kindOf(mediaType string) string {
	if mediaType == TreeMediaType {
		return KindTree
	}
	return KindFile
}

// artifactFromInternal converts a registry artifact to the wire type.
func artifactFromInternal(a eventlog.Artifact) Artifact {
	out := Artifact{
		ID:             a.ID,
		Name:           a.Name,
		Version:        a.Version,
		Ref:            a.Ref(),
		Kind:           kindOf(a.MediaType),
		ContentDigest:  a.ContentDigest.String(),
		ManifestDigest: a.ManifestDigest.String(),
		Size:           a.Size,
		MediaType:      a.MediaType,
		Labels:         map[string]string{},
		Tags:           []string{},
		Provenance:     provenanceFromInternal(a.Provenance),
		CreatedAt:      a.Created.UTC(),
		CreatedBy:      a.Creator,
		Retention: Retention{
			ExpiresAt:      timePtr(a.Retention.ExpiresAt),
			ImmutableUntil: timePtr(a.Retention.ImmutableUntil),
			LegalHold:      len(a.Holds) > 0,
		},
		Retrievals: RetrievalStats{
			Count:  a.Retrievals.Count,
			Bytes:  a.Retrievals.Bytes,
			LastAt: timePtr(a.Retrievals.Last),
			LastBy: a.Retrievals.LastBy,
		},
	}
	for k, v := range a.Labels {
		out.Labels[k] = v
	}
	out.Tags = append(out.Tags, a.Tags...)
	var reasons []string
	for _, h := range a.Holds {
		if h.Reason != "" {
			reasons = append(reasons, h.Reason)
		}
	}
	out.Retention.HoldReason = strings.Join(reasons, "; ")
	if a.Deleted != nil {
		out.Deleted = true
		out.DeletedAt = timePtr(a.Deleted.Time)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func provenanceFromInternal(p eventlog.Provenance) Provenance {
	out := Provenance{Producer: producerFromInternal(p.Producer), Inputs: []Input{}}
	for _, in := range p.Inputs {
		out.Inputs = append(out.Inputs, Input{Ref: in.Ref, ArtifactID: in.ArtifactID, Digest: in.Digest.String(), Role: in.Role})
	}
	return out
}

func producerFromInternal(p eventlog.Producer) Producer {
	return Producer{
		Tool: p.Tool, Command: p.Command, Host: p.Host, User: p.User,
		GitRepo: p.GitRepo, GitCommit: p.GitCommit, GitBranch: p.GitBranch, GitDirty: p.GitDirty,
		CISystem: p.CISystem, CIJob: p.CIJob, CIRun: p.CIRun, CIURL: p.CIURL,
	}
}

// producerToInternal converts a wire producer.
func producerToInternal(p Producer) eventlog.Producer {
	return eventlog.Producer{
		Tool: p.Tool, Command: p.Command, Host: p.Host, User: p.User,
		GitRepo: p.GitRepo, GitCommit: p.GitCommit, GitBranch: p.GitBranch, GitDirty: p.GitDirty,
		CISystem: p.CISystem, CIJob: p.CIJob, CIRun: p.CIRun, CIURL: p.CIURL,
	}
}

// inputsToInternal converts push inputs. An input names another artifact
// by Ref (or ArtifactID, which is a reference too) or raw content by
// Digest; a Ref that is a digest ("sha256:...") is taken as a Digest.
func inputsToInternal(ins []Input) ([]registry.Input, error) {
	out := make([]registry.Input, 0, len(ins))
	for i, in := range ins {
		ref, dg := in.Ref, in.Digest
		if ref == "" {
			ref = in.ArtifactID
		}
		if strings.HasPrefix(ref, string(content.SHA256)+":") && dg == "" {
			ref, dg = "", ref
		}
		var d content.Digest
		if dg != "" {
			var err error
			if d, err = content.ParseDigest(dg); err != nil {
				return nil, mapErr(fmt.Errorf("input %d: %w", i+1, err))
			}
		}
		if ref == "" && d.IsZero() {
			return nil, fmt.Errorf("%w: input %d needs a reference (name:version) or a digest (sha256:<hex>)", ErrInvalid, i+1)
		}
		out = append(out, registry.Input{Ref: ref, Digest: d, Role: in.Role})
	}
	return out, nil
}

// eventFromInternal converts a log event. The payload is decoded with
// json.Number, so integers keep their precision when re-encoded.
func eventFromInternal(e eventlog.Event) (Event, error) {
	out := Event{Seq: e.Seq, Time: e.Time.UTC(), Actor: e.Actor, Type: e.Type, Subject: e.Subject,
		Payload: map[string]any{}, Prev: e.Prev, Hash: e.Hash}
	if len(e.Payload) > 0 {
		dec := json.NewDecoder(bytes.NewReader(e.Payload))
		dec.UseNumber()
		if err := dec.Decode(&out.Payload); err != nil {
			return Event{}, fmt.Errorf("event %d: decode payload: %w", e.Seq, err)
		}
	}
	return out, nil
}

// lineageFromInternal converts a lineage walk. Nodes are the root followed
// by the others in the order the walk reached them; each edge's Depth is
// one more than the depth of the node it was reached from.
func lineageFromInternal(l registry.Lineage, dir LineageDirection) LineageGraph {
	g := LineageGraph{Root: l.Root, Nodes: []Artifact{}, Edges: []LineageEdge{}}
	depth := map[string]int{l.Root: 0}
	order := []string{l.Root}
	for _, e := range l.Edges {
		from, other := e.Child, e.Parent // walking up: from the child to its input
		if dir == Down {
			from, other = e.Parent, e.Child
		}
		d := depth[from] + 1
		g.Edges = append(g.Edges, LineageEdge{From: e.Child, To: e.Parent, Digest: e.Digest.String(), Role: e.Role, Depth: d})
		if other == "" {
			continue
		}
		if _, seen := depth[other]; !seen {
			depth[other] = d
			order = append(order, other)
		}
	}
	for _, id := range order {
		if a, ok := l.Nodes[id]; ok {
			g.Nodes = append(g.Nodes, artifactFromInternal(a))
		}
	}
	return g
}

// logReportFromInternal converts a hash chain verification report.
func logReportFromInternal(r eventlog.VerifyReport) LogReport {
	return LogReport{OK: r.OK(), Events: r.Checked, Head: r.Head.Hash, FirstBad: r.FirstBad, Problem: r.Reason}
}

// retentionToInternal merges a retention request into the current
// settings. ExpireAfter counts from the artifact's creation; a pointer to
// the zero time clears that setting.
func retentionToInternal(cur eventlog.Retention, created time.Time, req RetentionRequest) (eventlog.Retention, error) {
	out := cur
	if req.ExpireAfter != nil && req.ExpiresAt != nil {
		return out, fmt.Errorf("%w: give an expiry duration or an expiry time, not both", ErrInvalid)
	}
	if req.ExpireAfter != nil {
		if *req.ExpireAfter <= 0 {
			return out, fmt.Errorf("%w: expiry duration %s must be positive", ErrInvalid, *req.ExpireAfter)
		}
		out.ExpiresAt = created.Add(*req.ExpireAfter).UTC()
	}
	if req.ExpiresAt != nil {
		out.ExpiresAt = req.ExpiresAt.UTC()
	}
	if req.ImmutableUntil != nil {
		out.ImmutableUntil = req.ImmutableUntil.UTC()
	}
	return out, nil
}
