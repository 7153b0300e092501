package tui

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/artifact-store/artstore/pkg/client"
)

// baseTime is the fake clock: "now" for the model, and the anchor of every
// seeded timestamp, so goldens do not depend on the wall clock.
var baseTime = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fakeStore is an in-memory client.Store holding seeded artifacts, their
// lineage and an event log. It records the calls the browser makes. Methods
// the browser must not call are left to the embedded nil interface, so a
// call to one panics and fails the test.
type fakeStore struct {
	client.Store

	mu         sync.Mutex
	arts       []client.Artifact // sorted by name, then version
	byID       map[string]int
	inputs     map[string][]client.LineageEdge // artifact ID -> edges to its inputs
	events     []client.Event
	listErr    error
	pullErr    error
	lineageErr error
	// omitNodes makes Lineage return edges without their nodes, as a store
	// may for artifacts the caller cannot read.
	omitNodes bool

	listCalls    []client.Query
	nextCursors  []string // NextCursor of each List reply, in order
	lineageCalls []lineageCall
	getCalls     []string
	pullCalls    []pullCall
	eventCalls   int
}

type lineageCall struct {
	ref  string
	opts client.LineageOptions
}

type pullCall struct {
	ref, path string
}

func newFakeStore() *fakeStore {
	return &fakeStore{byID: map[string]int{}, inputs: map[string][]client.LineageEdge{}}
}

// add registers an artifact; inputs are (ref, role) pairs of artifacts added
// earlier, or ("sha256:...", role) raw digests.
func (f *fakeStore) add(ref string, size int64, ageDays int, labels map[string]string, inputs ...[2]string) client.Artifact {
	name, version, _ := strings.Cut(ref, ":")
	id := fmt.Sprintf("01JFAKE%019d", len(f.arts)+1)
	hex := fmt.Sprintf("%064x", len(f.arts)+1)
	a := client.Artifact{
		ID: id, Name: name, Version: version, Ref: ref, Kind: "file",
		ContentDigest:  "sha256:" + hex,
		ManifestDigest: "sha256:f" + hex[1:],
		Size:           size,
		MediaType:      "application/octet-stream",
		Labels:         labels,
		CreatedAt:      baseTime.Add(-time.Duration(ageDays) * 24 * time.Hour),
		CreatedBy:      "alice",
		Provenance: client.Provenance{Producer: client.Producer{
			Tool: "make", Host: "ci-runner-3", GitRepo: "github.com/acme/app", GitCommit: "1a2b3c4",
			GitBranch: "main", CISystem: "github-actions", CIJob: "build", CIRun: "42",
		}},
	}
	for _, in := range inputs {
		e := client.LineageEdge{From: id, Role: in[1], Depth: 1}
		if strings.HasPrefix(in[0], "sha256:") {
			e.Digest = in[0]
			a.Provenance.Inputs = append(a.Provenance.Inputs, client.Input{Digest: in[0], Role: in[1]})
		} else {
			p := f.mustRef(in[0])
			e.To = p.ID
			a.Provenance.Inputs = append(a.Provenance.Inputs, client.Input{Ref: p.Ref, ArtifactID: p.ID, Role: in[1]})
		}
		f.inputs[id] = append(f.inputs[id], e)
	}
	f.arts = append(f.arts, a)
	f.byID[id] = len(f.arts) - 1
	f.events = append(f.events, client.Event{
		Seq: int64(len(f.events) + 1), Time: a.CreatedAt, Actor: "alice", Type: "artifact.registered",
		Subject: id, Payload: map[string]any{"ref": ref},
	})
	sort.SliceStable(f.arts, func(i, j int) bool { return f.arts[i].Ref < f.arts[j].Ref })
	for i, x := range f.arts {
		f.byID[x.ID] = i
	}
	return a
}

// link adds an input edge after the fact (to build a cycle).
func (f *fakeStore) link(child, parent, role string) {
	c, p := f.mustRef(child), f.mustRef(parent)
	f.inputs[c.ID] = append(f.inputs[c.ID], client.LineageEdge{From: c.ID, To: p.ID, Role: role, Depth: 1})
}

func (f *fakeStore) mustRef(ref string) client.Artifact {
	for _, a := range f.arts {
		if a.Ref == ref || a.ID == ref {
			return a
		}
	}
	panic("fake store: no artifact " + ref)
}

// seedStore is the standard fixture: a three-level lineage
// (release/bundle:1 <- reports/q:3 <- build/app:12 <- src/tarball:5), a
// two-artifact cycle, and n filler artifacts for paging.
func seedStore(n int) *fakeStore {
	f := newFakeStore()
	f.add("src/tarball:5", 3<<20, 30, map[string]string{"team": "core"})
	f.add("toolchain/go:1.26", 80<<20, 40, nil)
	f.add("data/sales:7", 12<<10, 9, map[string]string{"quarter": "q3"})
	f.add("build/app:12", 14<<20, 8, map[string]string{"env": "ci"},
		[2]string{"src/tarball:5", "source"}, [2]string{"toolchain/go:1.26", "toolchain"},
		[2]string{"sha256:" + strings.Repeat("ab", 32), "patch"})
	q := f.add("reports/q:3", 1536<<10, 7, map[string]string{"env": "prod", "team": "finance"},
		[2]string{"build/app:12", "binary"}, [2]string{"data/sales:7", "data"})
	f.add("release/bundle:1", 20<<20, 2, map[string]string{"env": "prod"}, [2]string{"reports/q:3", "report"})
	f.add("cyc/a:1", 10, 3, nil)
	f.add("cyc/b:1", 20, 3, nil, [2]string{"cyc/a:1", "peer"})
	f.link("cyc/a:1", "cyc/b:1", "peer")
	for i := 1; i <= n; i++ {
		env := "ci"
		if i%2 == 0 {
			env = "prod"
		}
		f.add(fmt.Sprintf("logs/job:%03d", i), int64(i)*1000, i%50, map[string]string{"env": env})
	}
	// Retrievals, a hold and retention on the report.
	i := f.byID[q.ID]
	last := baseTime.Add(-26 * time.Hour)
	expires := baseTime.Add(35 * 24 * time.Hour)
	f.arts[i].Tags = []string{"latest", "prod"}
	f.arts[i].Retrievals = client.RetrievalStats{Count: 3, Bytes: 3 * (1536 << 10), LastAt: &last, LastBy: "carol"}
	f.arts[i].Retention = client.Retention{LegalHold: true, HoldReason: "audit 2026", ExpiresAt: &expires}
	f.events = append(f.events, client.Event{
		Seq: int64(len(f.events) + 1), Time: last, Actor: "carol", Type: "artifact.retrieved",
		Subject: q.ID, Payload: map[string]any{"bytes": 1572864},
	})
	return f
}

func (f *fakeStore) List(ctx context.Context, q client.Query) (*client.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls = append(f.listCalls, q)
	if f.listErr != nil {
		return nil, f.listErr
	}
	start := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.Cursor, "after:"))
		if err != nil {
			return nil, fmt.Errorf("cursor %q: %w", q.Cursor, client.ErrInvalid)
		}
		start = n
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var page client.Page
	i := start
	for ; i < len(f.arts) && len(page.Artifacts) < limit; i++ {
		if matches(f.arts[i], q) {
			page.Artifacts = append(page.Artifacts, f.arts[i])
		}
	}
	for ; i < len(f.arts); i++ { // is there anything after this page?
		if matches(f.arts[i], q) {
			page.NextCursor = fmt.Sprintf("after:%d", i)
			break
		}
	}
	f.nextCursors = append(f.nextCursors, page.NextCursor)
	return &page, nil
}

func matches(a client.Artifact, q client.Query) bool {
	if q.Pattern != "" {
		ok, _ := path.Match(q.Pattern, a.Name)
		if !ok && !strings.HasPrefix(a.Name, q.Pattern) {
			return false
		}
	}
	for _, s := range q.Selectors {
		switch {
		case strings.HasPrefix(s, "!"):
			if _, ok := a.Labels[s[1:]]; ok {
				return false
			}
		case strings.Contains(s, "!="):
			k, v, _ := strings.Cut(s, "!=")
			if a.Labels[k] == v {
				return false
			}
		case strings.Contains(s, "="):
			k, v, _ := strings.Cut(s, "=")
			if got, ok := a.Labels[k]; !ok || got != v {
				return false
			}
		default:
			if _, ok := a.Labels[s]; !ok {
				return false
			}
		}
	}
	return true
}

func (f *fakeStore) Get(ctx context.Context, ref string) (*client.Artifact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getCalls = append(f.getCalls, ref)
	for _, a := range f.arts {
		if a.Ref == ref || a.ID == ref {
			return &a, nil
		}
	}
	return nil, fmt.Errorf("artifact %s: %w", ref, client.ErrNotFound)
}

func (f *fakeStore) Lineage(ctx context.Context, ref string, opts client.LineageOptions) (*client.LineageGraph, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lineageCalls = append(f.lineageCalls, lineageCall{ref, opts})
	if f.lineageErr != nil {
		return nil, f.lineageErr
	}
	if opts.Depth != 1 {
		return nil, fmt.Errorf("fake store only walks depth 1, got %d: %w", opts.Depth, client.ErrInvalid)
	}
	i, ok := f.byID[ref]
	if !ok {
		return nil, fmt.Errorf("artifact %s: %w", ref, client.ErrNotFound)
	}
	root := f.arts[i]
	g := &client.LineageGraph{Root: root.ID, Nodes: []client.Artifact{root}}
	switch opts.Direction {
	case client.Up:
		for _, e := range f.inputs[root.ID] {
			g.Edges = append(g.Edges, e)
			if e.To != "" && !f.omitNodes {
				g.Nodes = append(g.Nodes, f.arts[f.byID[e.To]])
			}
		}
	case client.Down:
		for _, a := range f.arts {
			for _, e := range f.inputs[a.ID] {
				if e.To == root.ID {
					g.Edges = append(g.Edges, e)
					g.Nodes = append(g.Nodes, a)
				}
			}
		}
	}
	return g, nil
}

func (f *fakeStore) Events(ctx context.Context, after int64, limit int, wait time.Duration) ([]client.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eventCalls++
	var out []client.Event
	for _, e := range f.events {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeStore) PullToPath(ctx context.Context, ref, dst string, opts client.PullOptions) (*client.PullResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pullCalls = append(f.pullCalls, pullCall{ref, dst})
	if f.pullErr != nil {
		return nil, f.pullErr
	}
	i, ok := f.byID[ref]
	if !ok {
		return nil, fmt.Errorf("artifact %s: %w", ref, client.ErrNotFound)
	}
	a := f.arts[i]
	return &client.PullResult{Ref: a.Ref, ID: a.ID, ContentDigest: a.ContentDigest, Bytes: a.Size, Path: dst, Kind: a.Kind}, nil
}
