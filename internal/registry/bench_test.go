package registry_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
)

const benchArtifacts = 100_000

// benchRegistry returns a registry over a SQLite log of benchArtifacts
// artifacts (see eventlogtest.Artifacts).
func benchRegistry(b *testing.B) *registry.Registry {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "log.db"), eventlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	eventlogtest.Fill(b, s, benchArtifacts, 1000)
	return registry.New(s, nil, nil)
}

// measure runs op once per b.Loop iteration and reports the median and
// 99th percentile latency.
func measure(b *testing.B, op func(i int) error) {
	var ds []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
		i++
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkGet100k(b *testing.B) {
	r := benchRegistry(b)
	ctx := context.Background()
	for _, form := range []string{"name:version", "name:tag", "name"} {
		b.Run(form, func(b *testing.B) {
			measure(b, func(i int) error {
				n := 1 + (i*7919)%benchArtifacts
				ref := map[string]string{
					"name:version": fmt.Sprintf("bench/n%d:%d", n%100, n),
					"name:tag":     fmt.Sprintf("bench/n%d:latest", n%100),
					"name":         fmt.Sprintf("bench/n%d", n%100),
				}[form]
				_, err := r.Get(ctx, ref)
				return err
			})
		})
	}
}

func BenchmarkQueryTwoLabels100k(b *testing.B) {
	r := benchRegistry(b)
	ctx := context.Background()
	for _, limit := range []int{20, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			measure(b, func(i int) error {
				sels, err := registry.ParseSelectors(fmt.Sprintf("env=%s,team=%s", eventlogtest.Env(i), eventlogtest.Team(i+1)))
				if err != nil {
					return err
				}
				res, err := r.List(ctx, registry.ListOptions{Selectors: sels, Limit: limit})
				if err == nil && len(res.Artifacts) != limit {
					err = fmt.Errorf("got %d artifacts, want a full page", len(res.Artifacts))
				}
				return err
			})
		})
	}
}

// BenchmarkGetAtMovedTag100k resolves bench/nX:latest as of the log's
// first events, long before the tag's last move: GetAt replays the tag's
// history from the events of the name's 1,000 artifacts (tagAt). The
// unmoved case reads the views, as Get does.
func BenchmarkGetAtMovedTag100k(b *testing.B) {
	r := benchRegistry(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		size int64
	}{{"moved", 1000}, {"unmoved", benchArtifacts}} {
		b.Run(tc.name, func(b *testing.B) {
			measure(b, func(i int) error {
				n := i % 100
				a, err := r.GetAt(ctx, fmt.Sprintf("bench/n%d:latest", n), tc.size)
				if err == nil && a.Seq > tc.size {
					err = fmt.Errorf("bench/n%d:latest at %d resolved to event %d", n, tc.size, a.Seq)
				}
				return err
			})
		})
	}
}
