package fsck

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// fixture is a store as local mode lays it out: a SQLite log and a local
// backend in one directory.
type fixture struct {
	dir   string
	log   eventlog.Store
	be    *local.Backend
	blobs transfer.BlobStore
	reg   *registry.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	log, err := sqlite.Open(context.Background(), filepath.Join(dir, "log.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := transfer.FromBackend(be)
	return &fixture{dir: dir, log: log, be: be, blobs: blobs, reg: registry.New(log, blobs, nil)}
}

func (f *fixture) store() Store {
	return Store{Backend: f.be, Log: f.log, LogPath: filepath.Join(f.dir, "log.db")}
}

// randomBytes returns n bytes from a PRNG stream named by seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 0x5a})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func (f *fixture) register(t *testing.T, name string, res transfer.PushResult, mediaType string) registry.Artifact {
	t.Helper()
	a, err := f.reg.Register(context.Background(), "tester", registry.RegisterRequest{Name: name,
		ContentDigest: res.ContentDigest, Size: res.Size, ManifestDigest: res.ManifestDigest, MediaType: mediaType})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return a
}

func (f *fixture) pushFile(t *testing.T, name string, data []byte) registry.Artifact {
	t.Helper()
	res, err := transfer.Push(context.Background(), bytes.NewReader(data), f.blobs, transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.register(t, name, res, "")
}

func (f *fixture) pushTree(t *testing.T, name, dir string) registry.Artifact {
	t.Helper()
	res, err := transfer.PushTree(context.Background(), dir, f.blobs, transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.register(t, name, res, api.TreeMediaType)
}

// put stores b as a blob and returns its digest.
func (f *fixture) put(t *testing.T, b []byte) content.Digest {
	t.Helper()
	d := content.FromBytes(b)
	if _, err := f.be.Put(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

// putManifest encodes and stores m.
func (f *fixture) putManifest(t *testing.T, m content.Manifest) content.Digest {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return f.put(t, b)
}

func (f *fixture) manifest(t *testing.T, d content.Digest) content.Manifest {
	t.Helper()
	m, err := transfer.FetchManifest(context.Background(), f.blobs, d, transfer.RetryPolicy{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) blobPath(d content.Digest) string {
	return filepath.Join(f.dir, "blobs", filepath.FromSlash(d.Key()))
}

// corrupt flips one byte of a stored blob in place.
func (f *fixture) corrupt(t *testing.T, d content.Digest) {
	t.Helper()
	p := f.blobPath(d)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// damaged is the store the table of TestCheck damages: a multi-chunk file
// "f", a tree "t", a deleted artifact whose blobs are still there, and an
// event of every kind, so the view check replays them all.
type damaged struct {
	*fixture
	file, tree registry.Artifact
	fileM      content.Manifest
}

func prepare(t *testing.T) damaged {
	ctx := context.Background()
	f := newFixture(t)
	file := f.pushFile(t, "f", randomBytes(8, 4<<20))
	dir := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(dir, "x/y.bin"), randomBytes(9, 200000))
	writeFile(t, filepath.Join(dir, "z.txt"), []byte("z"))
	tree := f.pushTree(t, "t", dir)
	gone := f.pushFile(t, "gone", []byte("deleted but not collected"))
	week := time.Now().Add(7 * 24 * time.Hour)
	steps := []func() error{
		func() error { _, err := f.reg.Delete(ctx, "tester", gone.Ref(), ""); return err },
		func() error { _, err := f.reg.Tag(ctx, "tester", "f", "prod"); return err },
		func() error {
			_, err := f.reg.Label(ctx, "tester", "f", map[string]string{"k": "v", "x": "y"}, nil)
			return err
		},
		func() error { _, err := f.reg.Label(ctx, "tester", "f", nil, []string{"x"}); return err },
		func() error { _, err := f.reg.Hold(ctx, "tester", "t", "audit", ""); return err },
		func() error { _, err := f.reg.Hold(ctx, "tester", "f", "audit", ""); return err },
		func() error { _, err := f.reg.Release(ctx, "tester", "f", "audit", ""); return err },
		func() error {
			_, err := f.reg.SetRetention(ctx, "tester", "f", eventlog.Retention{ExpiresAt: week})
			return err
		},
		func() error {
			return f.reg.RecordRetrieval(ctx, "tester", "f", registry.Retrieval{Bytes: 100, Range: "0-99"})
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return damaged{fixture: f, file: file, tree: tree, fileM: f.manifest(t, file.ManifestDigest)}
}

// execSQL returns a damage step that runs statements on the store's SQLite
// database behind artstore's back.
func execSQL(stmts ...string) func(t *testing.T, s damaged) {
	return func(t *testing.T, s damaged) {
		db, err := sql.Open("sqlite", filepath.Join(s.dir, "log.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, st := range stmts {
			if _, err := db.Exec(st); err != nil {
				t.Fatalf("%s: %v", st, err)
			}
		}
	}
}

// TestCheck damages a store in one way per case and checks what All (or
// Artifact, for one artifact) reports: the problems' kinds in order, the
// first one's ref and message, and whether the store is OK.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(t *testing.T, s damaged)
		one    bool // check artifact "f" only
		deep   bool
		ok     bool
		kinds  []string // problem kinds, in order
		ref    string   // ref of the first problem
		msg    string   // the first problem's message starts with or contains ": " + msg
	}{
		{name: "clean", deep: true, ok: true},
		{name: "clean one", one: true, ok: true},
		{name: "deleted chunk", damage: func(t *testing.T, s damaged) {
			if err := os.Remove(s.blobPath(s.fileM.Chunks[1].Digest)); err != nil {
				t.Fatal(err)
			}
		}, kinds: []string{api.ProblemMissing}, ref: "f:1", msg: "chunk 1 ("},
		{name: "corrupted chunk, deep", damage: func(t *testing.T, s damaged) { s.corrupt(t, s.fileM.Chunks[0].Digest) },
			one: true, deep: true, kinds: []string{api.ProblemDigestMismatch}, ref: "f:1", msg: "chunk 0 ("},
		{name: "corrupted chunk, shallow", damage: func(t *testing.T, s damaged) { s.corrupt(t, s.fileM.Chunks[0].Digest) },
			one: true, ok: true},
		{name: "truncated chunk", damage: func(t *testing.T, s damaged) {
			p := s.blobPath(s.fileM.Chunks[0].Digest)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, 10); err != nil {
				t.Fatal(err)
			}
		}, one: true, kinds: []string{api.ProblemSizeMismatch}, ref: "f:1", msg: "chunk 0 ("},
		{name: "missing manifest", damage: func(t *testing.T, s damaged) {
			if err := os.Remove(s.blobPath(s.file.ManifestDigest)); err != nil {
				t.Fatal(err)
			}
		}, one: true, kinds: []string{api.ProblemMissing}, ref: "f:1", msg: "manifest ("},
		{name: "corrupted file in a tree, deep", damage: func(t *testing.T, s damaged) {
			m := s.manifest(t, s.tree.ManifestDigest)
			fm := s.manifest(t, m.Entries[1].Manifest) // x/y.bin
			s.corrupt(t, fm.Chunks[0].Digest)
		}, deep: true, kinds: []string{api.ProblemDigestMismatch}, ref: "t:1", msg: "chunk 0 of x/y.bin ("},
		{name: "missing file manifest in a tree", damage: func(t *testing.T, s damaged) {
			m := s.manifest(t, s.tree.ManifestDigest)
			if err := os.Remove(s.blobPath(m.Entries[2].Manifest)); err != nil { // z.txt
				t.Fatal(err)
			}
		}, kinds: []string{api.ProblemMissing, api.ProblemOrphan}, ref: "t:1", msg: "manifest of z.txt ("},
		{name: "orphan", damage: func(t *testing.T, s damaged) { s.put(t, []byte("stray blob")) },
			ok: true, kinds: []string{api.ProblemOrphan}},
		{name: "temporary upload file", damage: func(t *testing.T, s damaged) {
			writeFile(t, filepath.Join(s.dir, "blobs", "tmp", "put-0123456789abcdef-killed"), []byte("half an upload"))
		}, ok: true, kinds: []string{api.ProblemTemp}, msg: "backend default holds 1 temporary upload file (14 bytes)"},
		{name: "view row changed", damage: execSQL("UPDATE labels SET value = 'tampered'"),
			kinds: []string{api.ProblemView}, msg: `table labels, row "1" (line 6): column 3 is "tampered", but "v" when replayed`},
		{name: "view row added", damage: execSQL("INSERT INTO labels (seq, key, value) VALUES (1, 'injected', 'x')"),
			kinds: []string{api.ProblemView}, msg: `table labels has an extra live row ["1","injected","x"]`},
		{name: "view row removed", damage: execSQL("DELETE FROM tags WHERE tag = 'prod'"),
			kinds: []string{api.ProblemView}, msg: `table tags lacks the row ["f","prod",`},
		// A label value edited in a stored event (past the append-only
		// trigger): the chain breaks, and the replayed views differ.
		{name: "tampered event", damage: execSQL("DROP TRIGGER events_no_update",
			`UPDATE events SET body = CAST(replace(CAST(body AS TEXT), '"k":"v"', '"k":"w"') AS BLOB) WHERE type = 'labels.changed.v1'`),
			kinds: []string{api.ProblemChain, api.ProblemView}, msg: "the event log's hash chain breaks at event "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := prepare(t)
			if tc.damage != nil {
				tc.damage(t, s)
			}
			var rep *api.VerifyReport
			var err error
			if tc.one {
				rep, err = Artifact(ctx, s.store(), s.file, Options{Deep: tc.deep})
			} else {
				rep, err = All(ctx, s.store(), Options{Deep: tc.deep})
			}
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			var kinds []string
			for _, p := range rep.Problems {
				kinds = append(kinds, p.Kind)
				if p.Hint == "" || p.Message == "" {
					t.Errorf("problem without message or hint: %+v", p)
				}
			}
			if rep.OK != tc.ok || !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("OK %v, problems %+v; want OK %v, kinds %v", rep.OK, rep.Problems, tc.ok, tc.kinds)
			}
			if len(rep.Problems) > 0 && rep.Problems[0].Ref != tc.ref {
				t.Errorf("problem ref = %q, want %q", rep.Problems[0].Ref, tc.ref)
			}
			if tc.msg != "" && !strings.HasPrefix(rep.Problems[0].Message, tc.msg) && !strings.Contains(rep.Problems[0].Message, ": "+tc.msg) {
				t.Errorf("problem message = %q, want it to contain %q", rep.Problems[0].Message, tc.msg)
			}
			wantArtifacts := 2
			if tc.one {
				wantArtifacts = 1
			}
			if rep.Artifacts != wantArtifacts || (tc.ok && rep.Blobs == 0) {
				t.Errorf("checked %d artifacts, %d blobs; want %d artifacts", rep.Artifacts, rep.Blobs, wantArtifacts)
			}
		})
	}
}

// TestChainHintNamesTheLog: a broken hash chain's hint names the log file
// to restore, when the store has one.
func TestChainHintNamesTheLog(t *testing.T) {
	s := prepare(t)
	execSQL("DROP TRIGGER events_no_update", "UPDATE events SET actor = 'mallory' WHERE seq = 2")(t, s)
	for _, tc := range []struct{ path, want string }{{s.store().LogPath, "restore " + s.store().LogPath + " from a backup"}, {"", "restore the log from a backup"}} {
		st := s.store()
		st.LogPath = tc.path
		rep, err := All(context.Background(), st, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Kind != api.ProblemChain || !strings.Contains(rep.Problems[0].Hint, tc.want) {
			t.Errorf("LogPath %q: problems %+v; want a chain problem whose hint says %q", tc.path, rep.Problems, tc.want)
		}
	}
}

func TestOrphansAfterALostManifest(t *testing.T) {
	s := prepare(t)
	if err := os.Remove(s.blobPath(s.file.ManifestDigest)); err != nil {
		t.Fatal(err)
	}
	rep, err := All(context.Background(), s.store(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems) != 1+len(s.fileM.Chunks) || rep.Problems[0].Kind != api.ProblemMissing {
		t.Fatalf("problems = %+v", rep.Problems)
	}
	for _, p := range rep.Problems[1:] {
		if p.Kind != api.ProblemOrphan || !strings.Contains(p.Hint, "before collecting garbage") {
			t.Errorf("orphan of a lost manifest: %+v, want a hint not to collect it", p)
		}
	}
}

// TestCraftedManifests: manifests a faulty writer could store, which a
// push through artstore never produces.
func TestCraftedManifests(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := randomBytes(1, 3000)
	b := randomBytes(2, 3000)
	da := f.put(t, a)
	// A file manifest whose chunk holds other bytes than its content digest
	// says (both 3000 bytes): every chunk verifies, the whole does not.
	wrong := content.Manifest{Kind: content.KindFile, Size: 3000, Digest: content.FromBytes(b), Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: da, Size: 3000}}}
	wrongFile := f.register(t, "wrong", transfer.PushResult{ManifestDigest: f.putManifest(t, wrong), ContentDigest: wrong.Digest, Size: 3000}, "")
	// A tree whose entry for x does not describe x's file manifest (the
	// registry refuses to register it, so it is checked unregistered).
	good := f.pushFile(t, "good", a)
	tm, err := content.NewTreeManifest([]content.TreeEntry{
		{Path: "x", Type: content.EntryFile, Mode: 0o644, Size: 3000, Digest: content.FromBytes(b), Manifest: good.ManifestDigest},
	}, api.TreeMediaType)
	if err != nil {
		t.Fatal(err)
	}
	tree := good
	tree.Name, tree.ManifestDigest, tree.ContentDigest, tree.Size, tree.MediaType = "tree", f.putManifest(t, tm), tm.Digest, tm.Size, api.TreeMediaType
	notManifest := f.put(t, []byte("not a manifest"))

	tests := []struct {
		name string
		a    registry.Artifact
		deep bool
		kind string
		msg  string
	}{
		{"wrong chunks, deep", wrongFile, true, api.ProblemDigestMismatch, "the content of wrong:1 hashes to " + da.String() + ", not " + wrong.Digest.String() + ", although every chunk verifies"},
		{"tree entry disagrees", tree, false, api.ProblemInvalidManifest, "manifest of x " + good.ManifestDigest.Short() + " does not describe the file the tree lists"},
		{"registration disagrees", func() registry.Artifact { g := good; g.Size++; return g }(), false, api.ProblemInvalidManifest,
			"manifest " + good.ManifestDigest.Short() + " describes file content " + da.String() + " of 3000 bytes, but good:1 was registered as file content"},
		{"manifest does not parse", func() registry.Artifact { g := good; g.ManifestDigest = notManifest; return g }(), false, api.ProblemInvalidManifest,
			"manifest (" + notManifest.Short() + ") does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Artifact(ctx, f.store(), tc.a, Options{Deep: tc.deep})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Kind != tc.kind || !strings.HasPrefix(rep.Problems[0].Message, tc.msg) {
				t.Fatalf("problems %+v; want one %s problem saying %q", rep.Problems, tc.kind, tc.msg)
			}
		})
	}
}

// unavailable is a backend that has become unreachable: every read fails
// with storage.ErrUnavailable.
type unavailable struct{ *local.Backend }

func (unavailable) Head(context.Context, content.Digest) (storage.Info, error) {
	return storage.Info{}, fmt.Errorf("head: %w", storage.ErrUnavailable)
}

func (unavailable) Get(context.Context, content.Digest, *content.Range) (io.ReadCloser, error) {
	return nil, fmt.Errorf("get: %w", storage.ErrUnavailable)
}

// TestStopsWhenItCannotGoOn: a cancelled run or an unreachable backend is
// an error, not a report of every blob as unreadable.
func TestStopsWhenItCannotGoOn(t *testing.T) {
	s := prepare(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	down := s.store()
	down.Backend = unavailable{s.be}
	for _, deep := range []bool{false, true} {
		if rep, err := All(cancelled, s.store(), Options{Deep: deep}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled, deep %v: %+v, %v; want context.Canceled", deep, rep, err)
		}
		if rep, err := Artifact(context.Background(), down, s.file, Options{Deep: deep}); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("backend unavailable, deep %v: %+v, %v; want storage.ErrUnavailable", deep, rep, err)
		}
	}
}

// TestAllWritesNothingIntoStore: the check keeps its scratch space (the
// replayed views and their dumps) in the system's temporary directory,
// never in the store, so it works on a store whose disk is full or
// read-only.
func TestAllWritesNothingIntoStore(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := newFixture(t)
	f.pushFile(t, "a", randomBytes(1, 10_000))
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(f.dir, past, past); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := All(context.Background(), f.store(), Options{})
	if err != nil || !rep.OK {
		t.Fatalf("All: %v %+v", err, rep)
	}
	st, err := os.Stat(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(past) {
		t.Errorf("the store directory was changed during the check (modified %s)", st.ModTime())
	}
	after, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("store entries before %v, after %v", before, after)
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("temporary directory after the check: %v %v, want it empty", left, err)
	}
}
