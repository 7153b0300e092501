package gc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storeid"
)

// afterWalk is a backend that runs a hook once a Walk has finished: the
// moment between gc's candidate scan and its sweep.
type afterWalk struct {
	storage.Backend
	hook func()
}

func (b *afterWalk) Walk(ctx context.Context, fn func(storage.Info) error) error {
	err := b.Backend.Walk(ctx, fn)
	if b.hook != nil {
		b.hook()
	}
	return err
}

// checker answers registry blob checks from a backend.
type checker struct{ b storage.Backend }

func (c checker) Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	var out []content.Digest
	for _, d := range ds {
		if _, err := c.b.Head(ctx, d); errors.Is(err, storage.ErrNotFound) {
			out = append(out, d)
		} else if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c checker) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	return c.b.Get(ctx, d, rng)
}

type fixture struct {
	log eventlog.Store
	be  *afterWalk
	reg *registry.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	log, err := sqlite.Open(context.Background(), filepath.Join(dir, "log.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	lb, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	be := &afterWalk{Backend: lb}
	return &fixture{log: log, be: be, reg: registry.New(log, checker{be}, nil)}
}

func (f *fixture) put(t *testing.T, b []byte) content.Digest {
	t.Helper()
	d := content.FromBytes(b)
	if _, err := f.be.Put(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

// upload stores data as a one-chunk file and returns its registration.
func (f *fixture) upload(t *testing.T, name string, data []byte) registry.RegisterRequest {
	t.Helper()
	d := f.put(t, data)
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: d, Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: d, Size: int64(len(data))}}}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := f.put(t, mb)
	return registry.RegisterRequest{Name: name, ContentDigest: d, Size: int64(len(data)), ManifestDigest: md}
}

func (f *fixture) register(t *testing.T, req registry.RegisterRequest) registry.Artifact {
	t.Helper()
	a, err := f.reg.Register(context.Background(), "tester", req)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSweepRechecks covers what happens between the candidate scan and
// the sweep: a registration that now references a candidate, and a push
// that rewrote one (a newer ModTime), each spare it.
func TestSweepRechecks(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// between runs after the walk; it returns the digests the sweep
		// must spare.
		between func(t *testing.T, f *fixture, dead registry.RegisterRequest) []content.Digest
		spared  int
	}{
		{name: "nothing happens", between: func(*testing.T, *fixture, registry.RegisterRequest) []content.Digest { return nil }},
		{name: "registered meanwhile", spared: 2, between: func(t *testing.T, f *fixture, dead registry.RegisterRequest) []content.Digest {
			req := dead
			req.Name = "again"
			f.register(t, req)
			return []content.Digest{dead.ManifestDigest, dead.ContentDigest}
		}},
		{name: "deleted meanwhile by another collector", spared: 2, between: func(t *testing.T, f *fixture, dead registry.RegisterRequest) []content.Digest {
			for _, d := range []content.Digest{dead.ManifestDigest, dead.ContentDigest} {
				if _, err := f.be.Delete(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			live := f.register(t, f.upload(t, "live", []byte("live bytes")))
			dreq := f.upload(t, "dead", []byte("dead bytes"))
			dead := f.register(t, dreq)
			if _, err := f.reg.Delete(ctx, "tester", dead.ID, ""); err != nil {
				t.Fatal(err)
			}
			var keep []content.Digest
			f.be.hook = func() { keep = tt.between(t, f, dreq) }
			res, err := gc.Run(ctx, f.log, f.be, gc.Options{Actor: "gc"})
			if err != nil {
				t.Fatal(err)
			}
			wantCollected := 2 - tt.spared
			if tt.name == "deleted meanwhile by another collector" {
				wantCollected = 0
			}
			if len(res.Collected) != wantCollected || res.Spared != tt.spared {
				t.Fatalf("collected %d, spared %d; want %d, %d", len(res.Collected), res.Spared, wantCollected, tt.spared)
			}
			if (len(res.Events) == 1) != (wantCollected > 0) {
				t.Errorf("events %v with %d collected", res.Events, wantCollected)
			}
			for _, d := range append(keep, live.ManifestDigest, live.ContentDigest) {
				if _, err := f.be.Head(ctx, d); err != nil {
					t.Errorf("blob %s that must stay: %v", d.Short(), err)
				}
			}
		})
	}
}

// TestGraceAndModTime: the cutoff is start − grace on the backend's
// ModTime, measured with the injected clock.
func TestGraceAndModTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	stray := f.put(t, []byte("stray"))
	info, err := f.be.Head(ctx, stray)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now   time.Time
		grace time.Duration
		want  int
	}{
		{now: info.ModTime, grace: 0, want: 0},                      // not before the cutoff
		{now: info.ModTime.Add(time.Nanosecond), grace: 0, want: 1}, // just before
		{now: info.ModTime.Add(time.Hour), grace: 2 * time.Hour, want: 0},
		{now: info.ModTime.Add(3 * time.Hour), grace: 2 * time.Hour, want: 1},
	} {
		res, err := gc.Run(ctx, f.log, f.be, gc.Options{DryRun: true, Grace: tt.grace, Now: func() time.Time { return tt.now }})
		if err != nil || len(res.Collected) != tt.want || !res.Cutoff.Equal(tt.now.Add(-tt.grace)) {
			t.Errorf("now %v grace %v: %+v, %v; want %d", tt.now, tt.grace, res, err, tt.want)
		}
	}
	if _, err := gc.Run(ctx, f.log, f.be, gc.Options{Grace: -1}); err == nil {
		t.Error("negative grace accepted")
	}
	if _, err := gc.Run(ctx, f.log, f.be, gc.Options{}); err == nil {
		t.Error("a collection without an actor accepted")
	}
	// Small batches: each is its own event.
	for i := range 5 {
		f.put(t, []byte{byte(i)})
	}
	res, err := gc.Run(ctx, f.log, f.be, gc.Options{Actor: "gc", Batch: 2, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil || len(res.Collected) != 6 || len(res.Events) != 3 {
		t.Fatalf("batched run: %d collected in events %v, %v; want 6 in 3", len(res.Collected), res.Events, err)
	}
}

// TestRefusesUnclaimedBackend: a log that has never seen a backend's blobs
// (a new, empty log next to a daemon's blobs) must not collect them, not
// even in a dry run; nor may a log the backend's marker does not name.
func TestRefusesUnclaimedBackend(t *testing.T) {
	ctx := context.Background()
	be, err := local.New("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a live blob of another log")
	d := content.FromBytes(data)
	if _, err := be.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	log, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "artstore.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for _, dry := range []bool{true, false} {
		_, err := gc.Run(ctx, log, be, gc.Options{Actor: "t", DryRun: dry})
		if !errors.Is(err, storeid.ErrUnclaimed) {
			t.Fatalf("dry run %v: %v, want ErrUnclaimed", dry, err)
		}
	}
	if err := storeid.Claim(ctx, be, storeid.Log{Kind: storeid.KindPostgres, ID: "sha256:other"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.Run(ctx, log, be, gc.Options{Actor: "t"}); !errors.Is(err, storeid.ErrForeignLog) {
		t.Fatalf("backend claimed by another log: %v, want ErrForeignLog", err)
	}
	if _, err := be.Head(ctx, d); err != nil {
		t.Fatalf("the blob is gone: %v", err)
	}
}
