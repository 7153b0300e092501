package server

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server/auth"
	"github.com/artifact-store/artstore/pkg/api"
)

// wireArtifact converts a view artifact to the wire type.
func wireArtifact(a eventlog.Artifact) api.Artifact {
	out := api.Artifact{
		ID: a.ID, Name: a.Name, Version: a.Version, Ref: a.Ref(), Kind: "file",
		ContentDigest: a.ContentDigest.String(), ManifestDigest: a.ManifestDigest.String(),
		Size: a.Size, MediaType: a.MediaType, Labels: a.Labels, Tags: a.Tags,
		CreatedAt: a.Created.UTC(), CreatedBy: a.Creator,
		Retrievals: api.RetrievalStats{Count: a.Retrievals.Count, Bytes: a.Retrievals.Bytes, LastAt: timePtr(a.Retrievals.Last), LastBy: a.Retrievals.LastBy},
	}
	if a.MediaType == api.TreeMediaType {
		out.Kind = "tree"
	}
	out.Labels = maps.Clone(a.Labels)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	out.Tags = append([]string{}, a.Tags...)
	p := a.Provenance.Producer
	out.Provenance.Producer = api.Producer{
		Tool: p.Tool, Command: p.Command, Host: p.Host, User: p.User, GitRepo: p.GitRepo, GitCommit: p.GitCommit,
		GitBranch: p.GitBranch, GitDirty: p.GitDirty, CISystem: p.CISystem, CIJob: p.CIJob, CIRun: p.CIRun, CIURL: p.CIURL,
	}
	out.Provenance.Inputs = []api.Input{}
	for _, in := range a.Provenance.Inputs {
		out.Provenance.Inputs = append(out.Provenance.Inputs, api.Input{Ref: in.Ref, ArtifactID: in.ArtifactID, Digest: in.Digest.String(), Role: in.Role})
	}
	out.Retention = api.Retention{ExpiresAt: timePtr(a.Retention.ExpiresAt), ImmutableUntil: timePtr(a.Retention.ImmutableUntil), LegalHold: len(a.Holds) > 0}
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

// wireEvent converts a log event to the wire type.
func wireEvent(ev eventlog.Event) api.Event {
	out := api.Event{Seq: ev.Seq, Time: ev.Time.UTC(), Actor: ev.Actor, Type: ev.Type, Subject: ev.Subject, Prev: ev.Prev, Hash: ev.Hash}
	// json.Number keeps integers exact when re-encoded.
	dec := json.NewDecoder(bytes.NewReader(ev.Payload))
	dec.UseNumber()
	if err := dec.Decode(&out.Payload); err != nil || out.Payload == nil {
		out.Payload = map[string]any{}
	}
	return out
}

// wireLineage converts a lineage walk, as pkg/client's local store does:
// nodes are the root followed by the others in the order the walk reached
// them; each edge's Depth is one more than the depth of the node it was
// reached from. wire converts each node (for the caller's token).
func wireLineage(l registry.Lineage, dir api.LineageDirection, wire func(eventlog.Artifact) (api.Artifact, error)) (api.LineageGraph, error) {
	g := api.LineageGraph{Root: l.Root, Nodes: []api.Artifact{}, Edges: []api.LineageEdge{}}
	depth := map[string]int{l.Root: 0}
	order := []string{l.Root}
	for _, e := range l.Edges {
		from, other := e.Child, e.Parent
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
			wa, err := wire(a)
			if err != nil {
				return g, err
			}
			g.Nodes = append(g.Nodes, wa)
		}
	}
	return g, nil
}

// WireToken converts a token to the wire type.
func WireToken(t auth.Token, now time.Time) api.TokenInfo {
	out := api.TokenInfo{
		ID: t.ID, Name: t.Name, Scope: t.Scope.String(), Prefix: t.Prefix, ExpiresAt: timePtr(t.ExpiresAt),
		CreatedAt: t.CreatedAt.UTC(), CreatedBy: t.CreatedBy, RevokedAt: timePtr(t.RevokedAt), RevokedBy: t.RevokedBy, Status: "active",
	}
	switch {
	case !t.RevokedAt.IsZero():
		out.Status = "revoked"
	case !t.Active(now):
		out.Status = "expired"
	}
	return out
}
