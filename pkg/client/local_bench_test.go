package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchSize is the file the local-store benchmarks move.
const benchSize = 64 << 20

// copyBaseline returns the time `cp src dst && sync dst` takes in this
// process (the best of three), the yardstick the benchmarks report against.
func copyBaseline(b *testing.B, src, dir string) time.Duration {
	b.Helper()
	best := time.Duration(1<<63 - 1)
	for i := range 3 {
		start := time.Now()
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("cp%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		if err := out.Sync(); err != nil {
			b.Fatal(err)
		}
		out.Close()
		in.Close()
		best = min(best, time.Since(start))
	}
	return best
}

// BenchmarkLocal measures local-mode push (new content, and the same
// content again), pull to a file and deep verification of one 64 MiB random
// file, each reported as a ratio to cp + fsync of the same file ("x-cp",
// lower is better) besides MB/s.
func BenchmarkLocal(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	src := filepath.Join(dir, "src.bin")
	if err := os.WriteFile(src, randomBytes(42, benchSize), 0o644); err != nil {
		b.Fatal(err)
	}
	base := copyBaseline(b, src, dir)
	open := func(b *testing.B) *Local {
		l, err := OpenLocal(ctx, LocalOptions{Dir: b.TempDir(), Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		return l
	}
	report := func(b *testing.B) {
		per := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(per)/float64(base), "x-cp")
	}

	b.Run("push", func(b *testing.B) {
		b.SetBytes(benchSize)
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			l := open(b) // an empty store: every chunk is new
			b.StartTimer()
			if _, err := l.Push(ctx, PushRequest{Path: src, Name: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	l := open(b)
	if _, err := l.Push(ctx, PushRequest{Path: src, Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.Run("push-again", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if _, err := l.Push(ctx, PushRequest{Path: src, Name: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("pull", func(b *testing.B) {
		b.SetBytes(benchSize)
		out := filepath.Join(b.TempDir(), "out.bin")
		for b.Loop() {
			if _, err := l.PullToPath(ctx, "bench:1", out, PullOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("verify-deep", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if rep, err := l.Verify(ctx, VerifyOptions{Ref: "bench:1", Deep: true}); err != nil || !rep.OK {
				b.Fatal(err, rep)
			}
		}
		report(b)
	})
}
