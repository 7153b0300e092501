package eventlogtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// Env is the env label of artifact i in Artifacts: prod, staging, dev in
// turn. With Team, the selector env=prod,team=t3 matches one artifact in 30.
func Env(i int) string { return [...]string{"prod", "staging", "dev"}[i%3] }

// Team is the team label of artifact i in Artifacts: t0..t9 in turn.
func Team(i int) string { return fmt.Sprintf("t%d", i%10) }

// Artifacts returns n artifact.registered events numbered from first:
// artifact i is "bench/n<i%100>:<i>" with a ULID ID, env and team labels
// and one input (the previous artifact) for every tenth.
func Artifacts(tb testing.TB, first, n int, prevID string) []eventlog.NewEvent {
	tb.Helper()
	out := make([]eventlog.NewEvent, 0, n)
	for i := first; i < first+n; i++ {
		id := ulid.MustNew(uint64(i), ulid.DefaultEntropy()).String()
		p := &eventlog.ArtifactRegistered{
			ID: id, Name: fmt.Sprintf("bench/n%d", i%100), Version: fmt.Sprint(i),
			ContentDigest: content.FromBytes([]byte(id)), Size: int64(i), ManifestDigest: content.FromBytes([]byte("m" + id)),
			MediaType: "application/octet-stream",
			Labels:    map[string]string{"env": Env(i), "team": Team(i)},
			Tags:      []string{"latest"},
		}
		if i%10 == 0 && prevID != "" {
			p.Provenance.Inputs = []eventlog.Input{{ArtifactID: prevID, Role: "input"}}
		}
		out = append(out, Event(tb, "bench", id, p))
		prevID = id
	}
	return out
}

// Fill appends n artifacts (see Artifacts) in batches of batch events.
func Fill(tb testing.TB, s eventlog.Store, n, batch int) {
	tb.Helper()
	prev := ""
	for i := 0; i < n; i += batch {
		evs := Artifacts(tb, i+1, min(batch, n-i), prev)
		if _, err := s.Append(context.Background(), evs); err != nil {
			tb.Fatalf("fill: %v", err)
		}
		prev = evs[len(evs)-1].Subject
	}
}

// BenchAppend measures batched appends of artifact.registered events (each
// with two labels and a tag) and reports events/s.
func BenchAppend(b *testing.B, db DB, batch int) {
	s := db.Open(b, eventlog.Options{})
	ctx := context.Background()
	next, prev := 1, ""
	var total int
	var spent time.Duration
	for b.Loop() {
		b.StopTimer()
		evs := Artifacts(b, next, batch, prev)
		next, prev = next+batch, evs[batch-1].Subject
		b.StartTimer()
		start := time.Now()
		if _, err := s.Append(ctx, evs); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
		total += batch
	}
	b.ReportMetric(float64(total)/spent.Seconds(), "events/s")
}

// BenchRebuild measures Rebuild of a log of n artifacts and reports
// events/s.
func BenchRebuild(b *testing.B, db DB, n int) {
	s := db.Open(b, eventlog.Options{})
	Fill(b, s, n, 1000)
	ctx := context.Background()
	var total int64
	var spent time.Duration
	for b.Loop() {
		start := time.Now()
		m, err := s.Rebuild(ctx)
		if err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
		total += m
	}
	b.ReportMetric(float64(total)/spent.Seconds(), "events/s")
}

// BenchProofs builds a log of n artifacts (once per call, in batches of
// 1000), then measures an inclusion proof of an event and a consistency
// proof from an earlier size, both in the tree of all n events, and the
// tree head. Each proof is checked once against the tree head first.
func BenchProofs(b *testing.B, db DB, n int) {
	s := db.Open(b, eventlog.Options{})
	Fill(b, s, n, 1000)
	ctx := context.Background()
	h, err := s.TreeHead(ctx)
	if err != nil || h.Size != int64(n) {
		b.Fatalf("tree head: %+v, %v", h, err)
	}
	// Positions spread over the log by a stride prime to n.
	at := func(i int) int64 { return 1 + int64(i*7919)%int64(n-1) }
	b.Run("Inclusion", func(b *testing.B) {
		ev, err := s.Event(ctx, at(1))
		if err != nil {
			b.Fatal(err)
		}
		p, err := s.InclusionProof(ctx, ev.Seq, h.Size)
		if err != nil {
			b.Fatal(err)
		}
		if err := tlog.VerifyInclusion(ev.Hash, ev.Seq-1, h, p); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			if _, err := s.InclusionProof(ctx, at(i), h.Size); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	// What the inclusion use case (app.Service.InclusionProof, `log prove
	// --inclusion`, GET /v1/log/proof/inclusion) reads: the proof and the
	// event whose hash is the leaf.
	b.Run("InclusionAndEvent", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.InclusionProof(ctx, at(i), h.Size); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Event(ctx, at(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Consistency", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.ConsistencyProof(ctx, at(i), h.Size); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("TreeHead", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.TreeHead(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
