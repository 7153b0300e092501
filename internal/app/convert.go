// Package app is artstore's application layer: the conversions between the
// internal types (eventlog, registry, gc) and the wire types of pkg/api,
// shared by local mode (pkg/client.Local) and the daemon (internal/server),
// so both answer with the same shapes.
package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// KindOf says whether an artifact is a file or a tree. The event log does
// not record the manifest kind; api.TreeMediaType is reserved for trees, so
// the media type tells.
func KindOf(mediaType string) string {
	if mediaType == api.TreeMediaType {
		return api.KindTree
	}
	return api.KindFile
}

// Artifact converts a registry artifact to the wire type. Labels, tags and
// inputs are never null in the wire form.
func Artifact(a eventlog.Artifact) api.Artifact {
	out := api.Artifact{
		ID: a.ID, Name: a.Name, Version: a.Version, Ref: a.Ref(), Kind: KindOf(a.MediaType),
		ContentDigest: a.ContentDigest.String(), ManifestDigest: a.ManifestDigest.String(),
		Size: a.Size, MediaType: a.MediaType, Labels: maps.Clone(a.Labels), Tags: append([]string{}, a.Tags...),
		Provenance: Provenance(a.Provenance), CreatedAt: a.Created.UTC(), CreatedBy: a.Creator,
		Retention: api.Retention{
			ExpiresAt: TimePtr(a.Retention.ExpiresAt), ImmutableUntil: TimePtr(a.Retention.ImmutableUntil), LegalHold: len(a.Holds) > 0,
		},
		Retrievals: api.RetrievalStats{
			Count: a.Retrievals.Count, Bytes: a.Retrievals.Bytes, LastAt: TimePtr(a.Retrievals.Last), LastBy: a.Retrievals.LastBy,
		},
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	var reasons []string
	for _, h := range a.Holds {
		if h.Reason != "" {
			reasons = append(reasons, h.Reason)
		}
	}
	out.Retention.HoldReason = strings.Join(reasons, "; ")
	if a.Deleted != nil {
		out.Deleted = true
		out.DeletedAt = TimePtr(a.Deleted.Time)
	}
	return out
}

// TimePtr returns nil for the zero time, else a pointer to t in UTC, for
// the wire types' optional times.
func TimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Provenance converts recorded provenance to the wire type.
func Provenance(p eventlog.Provenance) api.Provenance {
	out := api.Provenance{Producer: Producer(p.Producer), Inputs: []api.Input{}}
	for _, in := range p.Inputs {
		out.Inputs = append(out.Inputs, api.Input{Ref: in.Ref, ArtifactID: in.ArtifactID, Digest: in.Digest.String(), Role: in.Role})
	}
	return out
}

// Producer converts a recorded producer to the wire type.
func Producer(p eventlog.Producer) api.Producer {
	return api.Producer{
		Tool: p.Tool, Command: p.Command, Host: p.Host, User: p.User,
		GitRepo: p.GitRepo, GitCommit: p.GitCommit, GitBranch: p.GitBranch, GitDirty: p.GitDirty,
		CISystem: p.CISystem, CIJob: p.CIJob, CIRun: p.CIRun, CIURL: p.CIURL,
	}
}

// ProducerToInternal converts a wire producer to the one events record.
func ProducerToInternal(p api.Producer) eventlog.Producer {
	return eventlog.Producer{
		Tool: p.Tool, Command: p.Command, Host: p.Host, User: p.User,
		GitRepo: p.GitRepo, GitCommit: p.GitCommit, GitBranch: p.GitBranch, GitDirty: p.GitDirty,
		CISystem: p.CISystem, CIJob: p.CIJob, CIRun: p.CIRun, CIURL: p.CIURL,
	}
}

// Inputs converts the inputs of a push or register request. An input names another artifact
// by Ref (or ArtifactID, which is a reference too) or raw content by
// Digest; a Ref that is a digest ("sha256:...") is taken as a Digest.
func Inputs(ins []api.Input) ([]registry.Input, error) {
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
				return nil, fmt.Errorf("input %d: %w", i+1, err)
			}
		}
		if ref == "" && d.IsZero() {
			return nil, fmt.Errorf("%w: input %d needs a reference (name:version) or a digest (sha256:<hex>)", api.ErrInvalid, i+1)
		}
		out = append(out, registry.Input{Ref: ref, Digest: d, Role: in.Role})
	}
	return out, nil
}

// Event converts a log event. The payload is decoded with json.Number, so
// integers keep their precision when re-encoded; an empty payload is an
// empty object.
func Event(e eventlog.Event) (api.Event, error) {
	out := api.Event{Seq: e.Seq, Time: e.Time.UTC(), Actor: e.Actor, Type: e.Type, Subject: e.Subject, Prev: e.Prev, Hash: e.Hash}
	if len(e.Payload) > 0 {
		dec := json.NewDecoder(bytes.NewReader(e.Payload))
		dec.UseNumber()
		if err := dec.Decode(&out.Payload); err != nil {
			return api.Event{}, fmt.Errorf("event %d: decode payload: %w", e.Seq, err)
		}
	}
	if out.Payload == nil {
		out.Payload = map[string]any{}
	}
	return out, nil
}

// Lineage converts a lineage walk, converting each node with node (which
// may withhold what the caller may not see). Nodes are the root followed by
// the others in the order the walk reached them; each edge's Depth is one
// more than the depth of the node it was reached from.
func Lineage(l registry.Lineage, dir api.LineageDirection, node func(eventlog.Artifact) (api.Artifact, error)) (api.LineageGraph, error) {
	g := api.LineageGraph{Root: l.Root, Nodes: []api.Artifact{}, Edges: []api.LineageEdge{}}
	depth := map[string]int{l.Root: 0}
	order := []string{l.Root}
	for _, e := range l.Edges {
		from, other := e.Child, e.Parent // walking up: from the child to its input
		if dir == api.Down {
			from, other = e.Parent, e.Child
		}
		d := depth[from] + 1
		g.Edges = append(g.Edges, api.LineageEdge{From: e.Child, To: e.Parent, Digest: e.Digest.String(), Role: e.Role, Depth: d})
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
			wa, err := node(a)
			if err != nil {
				return g, err
			}
			g.Nodes = append(g.Nodes, wa)
		}
	}
	return g, nil
}

// LogReport converts a hash chain verification report.
func LogReport(r eventlog.VerifyReport) api.LogReport {
	return api.LogReport{OK: r.OK(), Events: r.Checked, Head: r.Head.Hash, FirstBad: r.FirstBad, Problem: r.Reason}
}

// Rule converts a registry retention rule.
func Rule(r registry.Rule) api.RetentionRule {
	out := api.RetentionRule{ID: r.ID, Pattern: r.Pattern, KeepLast: r.KeepLast, AddedAt: r.Added, AddedBy: r.By,
		ExpireAfterSeconds: int64(r.ExpireAfter / time.Second)}
	if r.ExpireAfter > 0 {
		out.ExpireAfter = registry.FormatDuration(r.ExpireAfter)
	}
	return out
}

// RetentionReport converts the registry's expiries.
func RetentionReport(es []registry.Expiry, dryRun bool) *api.RetentionReport {
	out := &api.RetentionReport{DryRun: dryRun, Expired: make([]api.Expiry, 0, len(es))}
	for _, e := range es {
		out.Expired = append(out.Expired, api.Expiry{Artifact: Artifact(e.Artifact), Rule: e.Rule, Deadline: e.Deadline,
			Reason: e.Reason, Deleted: e.Deleted, Skipped: e.Skipped})
	}
	return out
}

// Explanation converts a registry retention verdict.
func Explanation(v registry.Verdict) *api.RetentionExplanation {
	return &api.RetentionExplanation{Artifact: Artifact(v.Artifact), Due: v.Due, Lines: v.Lines}
}

// GCReport converts a collector result.
func GCReport(r gc.Result) *api.GCReport {
	out := &api.GCReport{Backend: r.Backend, DryRun: r.DryRun, Cutoff: r.Cutoff, LiveArtifacts: r.LiveArtifacts, LiveBlobs: r.LiveBlobs,
		Scanned: r.Scanned, Collected: make([]api.CollectedBlob, 0, len(r.Collected)), Blobs: len(r.Collected), Bytes: r.Bytes,
		Spared: r.Spared, Events: r.Events, TempFiles: r.TempFiles, TempBytes: r.TempBytes}
	if out.Events == nil {
		out.Events = []int64{}
	}
	for _, b := range r.Collected {
		out.Collected = append(out.Collected, api.CollectedBlob{Digest: b.Digest.String(), Size: b.Size, ModTime: b.ModTime})
	}
	return out
}
