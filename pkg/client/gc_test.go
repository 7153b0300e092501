package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// TestGCRacesPushes races garbage collection (grace 0: every unreferenced
// blob is fair game) against pushes that deduplicate against nearly dead
// blobs: each iteration pushes content, deletes the artifact (its blobs are
// now garbage), then starts two pushers of the same content and a collector
// at once. A push may fail (the collector can delete its blobs twice in a
// row), but a push that succeeds must have every blob: each is pulled and
// verified. Artifacts that stay live throughout must never lose a blob.
func TestGCRacesPushes(t *testing.T) {
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	l, _ := newStore(t)
	ctx := context.Background()
	dir := t.TempDir()

	// The pool: three files and a directory, pushed as a tree in each
	// layout (stream: its chunks listed in the tree manifest; per-file:
	// file manifests too).
	type source struct {
		path       string
		treeSchema int
	}
	var pool []source
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("f%d.bin", i))
		if err := os.WriteFile(p, randomBytes(uint64(100+i), 3000+i*1000), 0o644); err != nil {
			t.Fatal(err)
		}
		pool = append(pool, source{path: p})
	}
	tree := filepath.Join(dir, "tree")
	for i, name := range []string{"a.txt", "sub/b.txt"} {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, randomBytes(uint64(200+i), 2000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pool = append(pool, source{tree, content.StreamTreeSchema}, source{tree, content.ManifestSchema})

	// Keepers stay live all along: their blobs must survive every run.
	var keepers []string
	for i := range 2 {
		p := filepath.Join(dir, fmt.Sprintf("keep%d.bin", i))
		if err := os.WriteFile(p, randomBytes(uint64(300+i), 5000), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := l.Push(ctx, PushRequest{Path: p, Name: "keep/k" + fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		keepers = append(keepers, res.ID)
	}

	var collected, spared, failedPushes, okPushes, reuploads int
	for it := range iterations {
		src := pool[it%len(pool)].path
		l.treeSchema = pool[it%len(pool)].treeSchema
		a, err := l.Push(ctx, PushRequest{Path: src, Name: "race/dead"})
		if err != nil {
			t.Fatalf("iteration %d: seed push: %v", it, err)
		}
		if _, err := l.Delete(ctx, a.ID); err != nil {
			t.Fatalf("iteration %d: delete: %v", it, err)
		}

		start := make(chan struct{})
		var wg sync.WaitGroup
		var pushed [2]*PushResult
		var pushErr [2]error
		var rep *GCReport
		var gcErr error
		// A push of new bytes writes temporary files while the
		// collection runs; it removes those of dead uploads, never of
		// live ones, so this push may not fail at all.
		freshSrc := filepath.Join(dir, "fresh.bin")
		if err := os.WriteFile(freshSrc, randomBytes(uint64(1000+it), 300<<10+it), 0o644); err != nil {
			t.Fatal(err)
		}
		var fresh *PushResult
		var freshErr error
		wg.Go(func() {
			<-start
			fresh, freshErr = l.Push(ctx, PushRequest{Path: freshSrc, Name: "race/fresh"})
		})
		for p := range 2 {
			wg.Go(func() {
				<-start
				pushed[p], pushErr[p] = l.Push(ctx, PushRequest{Path: src, Name: fmt.Sprintf("race/p%d", p)})
			})
		}
		wg.Go(func() {
			<-start
			rep, gcErr = l.GC(ctx, GCOptions{Grace: 0})
		})
		close(start)
		wg.Wait()

		if gcErr != nil {
			t.Fatalf("iteration %d: gc: %v", it, gcErr)
		}
		if freshErr != nil {
			t.Fatalf("iteration %d: push of new bytes: %v", it, freshErr)
		}
		if _, err := l.Delete(ctx, fresh.ID); err != nil {
			t.Fatalf("iteration %d: delete the push of new bytes: %v", it, err)
		}
		collected += rep.Blobs
		spared += rep.Spared
		for p := range 2 {
			if pushErr[p] != nil {
				// Only a lost race is an acceptable failure.
				if !errors.Is(pushErr[p], ErrIntegrity) {
					t.Fatalf("iteration %d: push %d: %v", it, p, pushErr[p])
				}
				failedPushes++
				continue
			}
			okPushes++
			if pushed[p].UploadedBytes > 0 {
				reuploads++ // the dead blobs were gone at its dedup check, or its registration retried
			}
			if _, err := l.PullToPath(ctx, pushed[p].ID, filepath.Join(t.TempDir(), "out"), PullOptions{}); err != nil {
				t.Fatalf("iteration %d: push %d registered %s but it does not pull: %v", it, p, pushed[p].Ref, err)
			}
			if _, err := l.Delete(ctx, pushed[p].ID); err != nil {
				t.Fatalf("iteration %d: delete push %d: %v", it, p, err)
			}
		}
	}
	for _, id := range keepers {
		if _, err := l.Pull(ctx, id, io.Discard, PullOptions{}); err != nil {
			t.Fatalf("keeper %s lost a blob: %v", id, err)
		}
	}
	// Everything but the keepers is dead now: a last collection takes it,
	// and what remains verifies, with no orphans.
	if _, err := l.GC(ctx, GCOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx, VerifyOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Problems) != 0 || rep.Artifacts != len(keepers) {
		t.Fatalf("after the race: verify = %+v, want OK, no problems, %d artifacts", rep, len(keepers))
	}
	if okPushes == 0 {
		t.Fatalf("no push succeeded in %d iterations", iterations)
	}
	t.Logf("%d iterations: %d pushes registered (%d uploaded bytes again), %d lost a race, %d blobs collected, %d spared at sweep",
		iterations, okPushes, reuploads, failedPushes, collected, spared)
}

// TestGCKeepsAndCollects checks one collection's choices without races:
// live artifacts' blobs (file and tree) stay, a deleted artifact's blobs go
// unless another live artifact shares them, blobs within the grace window
// stay, dry runs delete nothing, and each run is one blobs.collected event.
func TestGCKeepsAndCollects(t *testing.T) {
	l, _ := newStore(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, seed uint64, n int) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, randomBytes(seed, n), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	live := write("live.bin", 1, 4000)
	write("tree/x", 2, 100)
	write("tree/y/z", 3, 200)
	write("tree1/x", 8, 300)
	write("tree1/y/z", 9, 400)
	write("old/p", 6, 300)
	write("old/q", 7, 400)
	dead := write("dead.bin", 4, 5000)
	shared := write("shared.bin", 5, 6000)

	mustPush := func(path, name string) *PushResult {
		res, err := l.Push(ctx, PushRequest{Path: path, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	mustPush(live, "live")
	mustPush(filepath.Join(dir, "tree"), "tree")
	// Trees in the per-file layout: one live, one deleted.
	l.treeSchema = content.ManifestSchema
	mustPush(filepath.Join(dir, "tree1"), "tree1")
	old := mustPush(filepath.Join(dir, "old"), "old")
	l.treeSchema = 0
	d := mustPush(dead, "dead")
	s1 := mustPush(shared, "shared1")
	mustPush(shared, "shared2")
	for _, id := range []string{d.ID, s1.ID, old.ID} {
		if _, err := l.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	// Within the grace window nothing goes.
	rep, err := l.GC(ctx, GCOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 0 || len(rep.Events) != 0 {
		t.Fatalf("grace 1h: collected %d blobs, events %v; want none", rep.Blobs, rep.Events)
	}
	dry, err := l.GC(ctx, GCOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	// dead.bin: one chunk and its manifest; old: two chunks, two file
	// manifests and the tree manifest.
	if dry.Blobs != 7 || !dry.DryRun || len(dry.Events) != 0 {
		t.Fatalf("dry run = %+v, want 7 blobs, no events", dry)
	}
	before, _ := l.Events(ctx, 0, 10000, 0)
	rep, err = l.GC(ctx, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 7 || rep.Bytes != dry.Bytes || len(rep.Events) != 1 {
		t.Fatalf("gc = %+v, want the dry run's 7 blobs (%d bytes) in one event", rep, dry.Bytes)
	}
	if !slices.EqualFunc(rep.Collected, dry.Collected, func(a, b CollectedBlob) bool { return a.Digest == b.Digest }) {
		t.Fatalf("collected %v, dry run listed %v", rep.Collected, dry.Collected)
	}
	after, _ := l.Events(ctx, 0, 10000, 0)
	if len(after) != len(before)+1 || after[len(after)-1].Type != "blobs.collected.v1" {
		t.Fatalf("events: %d then %d, last %+v; want one blobs.collected.v1", len(before), len(after), after[len(after)-1])
	}
	for _, ref := range []string{"live", "tree", "tree1", "shared2"} {
		if _, err := l.PullToPath(ctx, ref, filepath.Join(t.TempDir(), "out"), PullOptions{}); err != nil {
			t.Errorf("pull %s after gc: %v", ref, err)
		}
	}
	again, err := l.GC(ctx, GCOptions{})
	if err != nil || again.Blobs != 0 || len(again.Events) != 0 {
		t.Fatalf("second gc = %+v, %v; want nothing collected, no event", again, err)
	}
	if _, err := l.GC(ctx, GCOptions{Grace: -time.Second}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative grace: err = %v, want ErrInvalid", err)
	}
}

// TestGCRefusesUnreadableManifest: when a live artifact's manifest is gone,
// its chunks cannot be told from garbage, so nothing is collected.
func TestGCRefusesUnreadableManifest(t *testing.T) {
	l, _ := newStore(t)
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "a.bin")
	if err := os.WriteFile(p, randomBytes(9, 4000), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := l.Push(ctx, PushRequest{Path: p, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	md, err := content.ParseDigest(res.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.backend.Delete(ctx, md); err != nil {
		t.Fatal(err)
	}
	_, err = l.GC(ctx, GCOptions{})
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("gc with a lost manifest: err = %v, want ErrIntegrity", err)
	}
	n := 0
	if err := l.backend.Walk(ctx, func(storage.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d blobs left, want the 1 chunk kept", n)
	}
}

// TestTempFilesReportedAndReclaimed: temporary upload files left by
// uploads killed hard are listed by verify --all (without failing it), and
// gc removes those older than its grace window, keeping a fresh one that
// an upload in progress may own; --dry-run only counts them.
func TestTempFilesReportedAndReclaimed(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	pushBytes(t, l, "a", randomBytes(3, 5000))
	tmp := filepath.Join(l.Dir(), DefaultBlobDir, "tmp")
	old, fresh := filepath.Join(tmp, "put-0123456789abcdef-old"), filepath.Join(tmp, "put-0123456789abcdef-fresh")
	writeFile(t, old, make([]byte, 3000), 0o444)
	writeFile(t, fresh, make([]byte, 1000), 0o444)
	stale := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, stale, stale); err != nil {
		t.Fatal(err)
	}

	rep, err := l.Verify(ctx, VerifyOptions{All: true})
	if err != nil || !rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemTemp ||
		!strings.Contains(rep.Problems[0].Message, "2 temporary upload files (4000 bytes), the oldest last written 2h0m") {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	dry, err := l.GC(ctx, GCOptions{DryRun: true, Grace: time.Hour})
	if err != nil || dry.TempFiles != 1 || dry.TempBytes != 3000 {
		t.Fatalf("gc --dry-run: %v %+v", err, dry)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("dry run removed a file: %v", err)
	}
	res, err := l.GC(ctx, GCOptions{Grace: time.Hour})
	if err != nil || res.TempFiles != 1 || res.TempBytes != 3000 {
		t.Fatalf("gc: %v %+v", err, res)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("gc removed a temporary file within the grace window: %v", err)
	}
}
