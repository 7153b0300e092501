package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/pkg/client"
)

// BenchmarkComplete100k runs `artstore __complete pull PARTIAL` in-process
// on a local store of 100,000 artifacts (100 names of 1,000 versions, see
// eventlogtest.Fill): everything a shell's completion request costs but
// starting the process (load the configuration, open the store, query,
// close). docs/benchmarks.md holds the figures.
func BenchmarkComplete100k(b *testing.B) {
	home := b.TempDir()
	store := filepath.Join(home, "store")
	env := map[string]string{"ARTSTORE_STORE": store}
	if code, _, errOut := run(b, home, env, "init"); code != 0 {
		b.Fatalf("init: %s", errOut)
	}
	log, err := sqlite.Open(context.Background(), filepath.Join(store, client.LogFileName), eventlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	eventlogtest.Fill(b, log, 100_000, 1000)
	log.Close()
	for _, c := range []struct{ name, partial, want string }{
		{"names", "bench/", "bench/n42\n"},
		{"versions", "bench/n42:", "bench/n42:99942\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, out, _ := run(b, home, env, "__complete", "pull", c.partial)
				if !strings.Contains(out, c.want) {
					b.Fatalf("completion of %q: %q lacks %q", c.partial, out, c.want)
				}
			}
		})
	}
	_ = os.RemoveAll(home)
}
