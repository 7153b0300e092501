package app_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// exportFixture is a store with provenance two levels deep, a tree in each
// layout and an input deleted after use.
type exportFixture struct {
	svc                            *app.Service
	be                             storage.Backend
	blobDir                        string
	a, b, c, d, e, stream, perFile api.Artifact
}

func newExportFixture(t *testing.T) *exportFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Open(ctx, app.Config{Log: filepath.Join(dir, "log.db"), Backend: be, CheckpointKey: filepath.Join(dir, "checkpoint.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	blobs := transfer.FromBackend(be)
	admin := app.Principal{Actor: "admin"}
	f := &exportFixture{svc: svc, be: be, blobDir: filepath.Join(dir, "blobs")}
	must := func(a api.Artifact, err error) api.Artifact {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	f.a = must(push(t, svc, blobs, admin, "base/a", []byte("source a")))
	f.b = must(push(t, svc, blobs, admin, "base/b", []byte("built from a"), api.Input{Ref: f.a.ID, Role: "source"}))
	f.c = must(push(t, svc, blobs, admin, "team/c", []byte("release from b"), api.Input{Ref: f.b.ID}))
	f.d = must(push(t, svc, blobs, admin, "team/d", []byte("deleted input")))
	f.e = must(push(t, svc, blobs, admin, "team/e", []byte("made from d"), api.Input{Ref: f.d.ID}))
	if _, err := svc.Delete(ctx, admin, f.d.ID, "superseded"); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for name, data := range map[string]string{"x.txt": "tree file x", "sub/y.txt": "tree file y", "sub/z": ""} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.stream, _ = pushTree(t, svc, blobs, admin, "team/tree-stream", src)
	f.perFile = pushTreeSchema(t, svc, blobs, admin, "team/tree-perfile", src, content.ManifestSchema)
	return f
}

// pushTreeSchema is pushTree in the layout of tree schema v.
func pushTreeSchema(t *testing.T, svc *app.Service, blobs transfer.BlobStore, p app.Principal, name, dir string, v int) api.Artifact {
	t.Helper()
	tr, err := transfer.PushTree(context.Background(), dir, blobs, transfer.PushOptions{TreeSchema: v})
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.Register(context.Background(), p, api.RegisterRequest{Name: name, MediaType: api.TreeMediaType,
		ContentDigest: tr.ContentDigest.String(), ManifestDigest: tr.ManifestDigest.String(), Size: tr.Size})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *exportFixture) export(t *testing.T, p app.Principal, req api.ExportRequest) (api.ExportSummary, []byte) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := f.svc.Export(context.Background(), p, req, &buf)
	if err != nil {
		t.Fatalf("export %v: %v", req, err)
	}
	return sum, buf.Bytes()
}

// readBundle returns a bundle's members by name, in order.
func readBundle(t *testing.T, b []byte) (names []string, members map[string][]byte) {
	t.Helper()
	members = map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, members
		}
		if err != nil {
			t.Fatalf("read bundle: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, bundle.Dir)
		names = append(names, name)
		members[name] = data
	}
}

func TestExportBundle(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	admin := app.Principal{Actor: "admin", Client: "test"}
	sum, b := f.export(t, admin, api.ExportRequest{Refs: []string{"team/c:1", f.stream.ID, f.perFile.ID, f.e.ID}, Closure: bundle.ClosureAll})

	names, m := readBundle(t, b)
	key0, err := f.svc.LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := bundle.Verify(bytes.NewReader(b), bundle.Options{Key: key0.VerifierKey}); err != nil || !rep.OK {
		t.Fatalf("the exported bundle does not verify: %v (%+v)", err, rep)
	}
	var ix bundle.Index
	if err := json.Unmarshal(m[bundle.IndexName], &ix); err != nil {
		t.Fatal(err)
	}
	key, err := f.svc.LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m[bundle.KeyName]); got != key.VerifierKey+"\n" {
		t.Errorf("key.pub = %q, want the store's key", got)
	}
	cp, err := tlog.OpenCheckpoint(m[bundle.CheckpointName], key.VerifierKey)
	if err != nil {
		t.Fatalf("checkpoint does not open with the store's key: %v", err)
	}
	if cp.Size != sum.Size || ix.Size != sum.Size || sum.Events != len(ix.Events) {
		t.Errorf("checkpoint size %d, index size %d, summary %+v", cp.Size, ix.Size, sum)
	}

	// The requested artifacts, then the closure breadth first; the deleted
	// input has events only.
	type row struct {
		id    string
		depth int
		bytes bool
	}
	want := []row{{f.c.ID, 0, true}, {f.stream.ID, 0, true}, {f.perFile.ID, 0, true}, {f.e.ID, 0, true}, {f.b.ID, 1, true}, {f.d.ID, 1, false}, {f.a.ID, 2, true}}
	if len(sum.Artifacts) != len(want) {
		t.Fatalf("exported %d artifacts, want %d: %+v", len(sum.Artifacts), len(want), sum.Artifacts)
	}
	for i, w := range want {
		if g := sum.Artifacts[i]; g.ID != w.id || g.Depth != w.depth || g.Bytes != w.bytes {
			t.Errorf("artifact %d = %+v, want %+v", i, g, w)
		}
	}

	// Every event proves against the checkpoint, and every event about the
	// deleted input is there, its deletion included.
	log := f.svc.Log()
	var deleted bool
	for _, seq := range ix.Events {
		body := m["events/"+pad(seq)+".body"]
		proof := m["events/"+pad(seq)+".proof"]
		prev, rest, _ := strings.Cut(string(proof), "\n")
		p, err := tlog.ParseProof([]byte(rest))
		if err != nil {
			t.Fatalf("event %d proof: %v", seq, err)
		}
		if err := tlog.VerifyInclusion(eventlog.Hash(strings.TrimPrefix(prev, "prev "), body), seq-1, cp.Head, p); err != nil {
			t.Errorf("event %d does not prove against the checkpoint: %v", seq, err)
		}
		ev, err := log.Event(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Subject == f.d.ID && strings.HasPrefix(ev.Type, "artifact.deleted") {
			deleted = true
		}
	}
	if !deleted {
		t.Error("the deleted input's deletion event is not in the bundle")
	}
	for _, n := range names {
		if strings.HasPrefix(n, "artifacts/"+f.d.ID) {
			t.Errorf("the deleted input's bytes are in the bundle: %s", n)
		}
	}

	// The bytes: files, and a tree's files in both layouts.
	for id, data := range map[string]string{f.c.ID: "release from b", f.a.ID: "source a", f.e.ID: "made from d"} {
		if got := string(m["artifacts/"+id+"/content"]); got != data {
			t.Errorf("content of %s = %q, want %q", id, got, data)
		}
	}
	for _, id := range []string{f.stream.ID, f.perFile.ID} {
		for path, data := range map[string]string{"x.txt": "tree file x", "sub/y.txt": "tree file y", "sub/z": ""} {
			got, ok := m["artifacts/"+id+"/files/"+path]
			if !ok || string(got) != data {
				t.Errorf("tree %s file %s = %q (present %v), want %q", id, path, got, ok, data)
			}
		}
	}
	if _, ok := m["artifacts/"+f.perFile.ID+"/file-manifests/x.txt"]; !ok {
		t.Error("the per-file layout tree has no file manifest in the bundle")
	}
	if _, ok := m["artifacts/"+f.stream.ID+"/file-manifests/x.txt"]; ok {
		t.Error("the stream layout tree has a file manifest in the bundle")
	}

	// Each exported artifact with bytes has a retrieval record; the
	// deleted one has none.
	for _, a := range sum.Artifacts {
		if !a.Bytes {
			continue
		}
		got, err := f.svc.Get(ctx, admin, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Retrievals.Count != 1 || got.Retrievals.Bytes != a.Size {
			t.Errorf("%s retrievals after export = %+v, want one of %d bytes", a.Ref, got.Retrievals, a.Size)
		}
	}
}

func pad(seq int64) string {
	s := strconv.FormatInt(seq, 10)
	return strings.Repeat("0", 20-len(s)) + s
}

func TestExportDeterministic(t *testing.T) {
	f := newExportFixture(t)
	admin := app.Principal{Actor: "admin"}
	req := api.ExportRequest{Refs: []string{f.c.ID, f.perFile.ID}, Closure: 1}
	first, b1 := f.export(t, admin, req)
	// The export appended retrieval records: the log grew, so exporting
	// at the current size gives another bundle, and at the first size the
	// same bytes.
	second, b2 := f.export(t, admin, req)
	if second.Size <= first.Size || bytes.Equal(b1, b2) {
		t.Errorf("a second export at the current size (%d, first %d) wrote the same bundle", second.Size, first.Size)
	}
	req.At = first.Size
	_, b3 := f.export(t, admin, req)
	if _, err := bundle.Verify(bytes.NewReader(b3), bundle.Options{}); err != nil {
		t.Fatalf("the bundle of an earlier size does not verify: %v", err)
	}
	if !bytes.Equal(b1, b3) {
		t.Error("an export at the first export's size differs from it")
	}
	_, b4 := f.export(t, admin, req)
	if !bytes.Equal(b3, b4) {
		t.Error("two exports at the same size differ")
	}
	// Depth 1 stops before a.
	for _, a := range first.Artifacts {
		if a.ID == f.a.ID {
			t.Error("an export of depth 1 holds an input at depth 2")
		}
	}
}

func TestExportRefusals(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	admin := app.Principal{Actor: "admin"}
	team := app.Principal{Actor: "ci", Prefix: "team/", Token: "tok1"}
	head, err := f.svc.Log().TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    app.Principal
		req  api.ExportRequest
		want error
		msg  string
	}{
		{"no refs", admin, api.ExportRequest{}, api.ErrInvalid, "at least one"},
		{"unknown ref", admin, api.ExportRequest{Refs: []string{"nope:1"}}, api.ErrNotFound, "nope"},
		{"past the head", admin, api.ExportRequest{Refs: []string{f.c.ID}, At: head.Size + 1}, api.ErrInvalid, "past the log"},
		{"registered after at", admin, api.ExportRequest{Refs: []string{f.perFile.ID}, At: 3}, api.ErrInvalid, "registered by event"},
		{"bad depth", admin, api.ExportRequest{Refs: []string{f.c.ID}, Closure: -2}, api.ErrInvalid, "depth"},
		{"outside the prefix", team, api.ExportRequest{Refs: []string{"base/a:1"}}, api.ErrForbidden, "team/"},
		// team/c was made from base/b: its registration event names
		// base/b's name and digest, so the prefix token may not export it,
		// with or without the closure; the refusal names base/b by ID
		// only (a prefix token never learns the name).
		{"closure outside the prefix", team, api.ExportRequest{Refs: []string{"team/c:1"}, Closure: bundle.ClosureAll}, api.ErrForbidden, f.b.ID},
		{"input outside the prefix", team, api.ExportRequest{Refs: []string{"team/c:1"}}, api.ErrForbidden, f.b.ID},
	} {
		var buf bytes.Buffer
		_, err := f.svc.Export(ctx, tc.p, tc.req, &buf)
		if !errors.Is(app.Sentinel(err), tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v naming %q", tc.name, err, tc.want, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "base/b") {
			t.Errorf("%s: the refusal names an artifact outside the prefix: %v", tc.name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: a refused export wrote %d bytes", tc.name, buf.Len())
		}
	}
	// Within the prefix, the prefix token exports, with a closure that
	// stays inside it.
	f.export(t, team, api.ExportRequest{Refs: []string{"team/tree-stream:1"}})
	sum, _ := f.export(t, team, api.ExportRequest{Refs: []string{"team/e:1"}, Closure: bundle.ClosureAll})
	if len(sum.Artifacts) != 2 || sum.Artifacts[1].ID != f.d.ID {
		t.Errorf("prefix export of team/e with its closure: %+v", sum.Artifacts)
	}
}

func TestExportWithoutKey(t *testing.T) {
	svc, blobs := newService(t)
	pushN(t, svc, blobs, "a", 1)
	_, err := svc.Export(context.Background(), app.Principal{Actor: "t"}, api.ExportRequest{Refs: []string{"a:1"}}, io.Discard)
	if !errors.Is(err, app.ErrNoKey) {
		t.Fatalf("export without a key: %v, want ErrNoKey", err)
	}
}

// TestExportDeletedSince: a bundle of a size before an artifact's deletion
// holds its bytes while they are stored; once collected, that export is
// refused before the first byte, saying which size works.
func TestExportDeletedSince(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	admin := app.Principal{Actor: "admin"}
	d, err := f.svc.Log().Artifact(ctx, f.d.ID)
	if err != nil || d.Deleted == nil {
		t.Fatalf("get the deleted input: %+v, %v", d, err)
	}
	del := d.Deleted.Seq
	req := api.ExportRequest{Refs: []string{f.e.ID}, Closure: bundle.ClosureAll, At: del - 1}
	sum, _ := f.export(t, admin, req)
	if !sum.Artifacts[1].Bytes {
		t.Fatalf("before its deletion, the input's bytes are not in the bundle: %+v", sum.Artifacts)
	}
	if _, err := f.be.Delete(ctx, d.ManifestDigest); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = f.svc.Export(ctx, admin, req, &buf)
	if !errors.Is(app.Sentinel(err), api.ErrNotFound) || !strings.Contains(err.Error(), "export at a size of "+strconv.FormatInt(del, 10)) || buf.Len() != 0 {
		t.Fatalf("export of collected bytes: %v (%d bytes written), want not found before the first byte", err, buf.Len())
	}
	req.At = del
	if sum, _ := f.export(t, admin, req); sum.Artifacts[1].Bytes {
		t.Errorf("at its deletion, the input's bytes are in the bundle: %+v", sum.Artifacts)
	}
}

// TestExportDamagedChunk: damaged stored bytes fail the export (an
// integrity error) rather than enter a bundle; for a stream-layout tree
// that includes its last chunk, which the bundle's last file ends inside.
func TestExportDamagedChunk(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	rc, err := f.be.Get(ctx, mustDigest(t, f.stream.ManifestDigest), nil)
	if err != nil {
		t.Fatal(err)
	}
	var last content.Digest
	_, err = content.ScanManifest(rc, content.ManifestVisitor{Chunk: func(_ int, c content.ChunkRef) error { last = c.Digest; return nil }})
	rc.Close()
	if err != nil || last.IsZero() {
		t.Fatalf("the tree's chunks: %v", err)
	}
	p := filepath.Join(f.blobDir, filepath.FromSlash(last.Key()))
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Export(ctx, app.Principal{Actor: "admin"}, api.ExportRequest{Refs: []string{f.stream.ID}}, io.Discard)
	if !errors.Is(app.Sentinel(err), api.ErrIntegrity) {
		t.Fatalf("export of a tree with a damaged last chunk: %v, want an integrity error", err)
	}
}

func mustDigest(t *testing.T, s string) content.Digest {
	t.Helper()
	d, err := content.ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExportAtTagMovedSince: --at N names the artifacts of the log's first
// N events; a tag moved after N named another artifact then, and an export
// at N through it takes that one, as the same export made at N did. A
// version, an ID and a tag unmoved since N resolve as they do now.
func TestExportAtTagMovedSince(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	admin := app.Principal{Actor: "admin"}
	// team/c:2 takes latest; stable is team/c:1.
	c2, err := push(t, f.svc, transfer.FromBackend(f.be), admin, "team/c", []byte("release 2 from b"), api.Input{Ref: f.b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Tag(ctx, admin, "team/c:1", "stable"); err != nil {
		t.Fatal(err)
	}
	head, err := f.svc.Log().TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := head.Size
	var before bytes.Buffer
	if _, err := f.svc.Export(ctx, admin, api.ExportRequest{Refs: []string{"team/c:stable"}}, &before); err != nil {
		t.Fatal(err)
	}
	// After at, the two tags swap.
	if _, err := f.svc.Tag(ctx, admin, "team/c:2", "stable"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Tag(ctx, admin, "team/c:1", "latest"); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"team/c:stable": f.c.ID, "team/c": c2.ID, "team/c:latest": c2.ID} {
		sum, _ := f.export(t, admin, api.ExportRequest{Refs: []string{ref}, At: at})
		if len(sum.Artifacts) != 1 || sum.Artifacts[0].ID != want {
			t.Errorf("export of %s at %d: %+v, want %s, which the tag named then", ref, at, sum.Artifacts, want)
		}
	}
	// The export at at is the one made then, byte for byte.
	var again bytes.Buffer
	if _, err := f.svc.Export(ctx, admin, api.ExportRequest{Refs: []string{"team/c:stable"}, At: at}, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), before.Bytes()) {
		t.Errorf("export of team/c:stable at %d differs from the one made at %d (%d and %d bytes)", at, at, again.Len(), before.Len())
	}
	for ref, want := range map[string]string{"team/c:1": f.c.ID, "team/c:2": c2.ID, f.c.ID: f.c.ID, "team/e:latest": f.e.ID} {
		sum, _ := f.export(t, admin, api.ExportRequest{Refs: []string{ref}, At: at})
		if len(sum.Artifacts) != 1 || sum.Artifacts[0].ID != want {
			t.Errorf("export of %s at %d: %+v, want %s", ref, at, sum.Artifacts, want)
		}
	}
	// At the current size the tags name what they name now.
	if sum, _ := f.export(t, admin, api.ExportRequest{Refs: []string{"team/c:stable"}}); sum.Artifacts[0].ID != c2.ID {
		t.Errorf("export of team/c:stable now: %+v", sum.Artifacts)
	}
}

// TestExportAtVersionDeletedSince: a version names one artifact for ever
// (versions are never reused), so an export at a size before that
// artifact's deletion takes it by version as it takes it by ID; at or
// after the deletion the version names nothing.
func TestExportAtVersionDeletedSince(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	admin := app.Principal{Actor: "admin"}
	if _, err := f.svc.Tag(ctx, admin, "team/c:1", "gold"); err != nil {
		t.Fatal(err)
	}
	head, err := f.svc.Log().TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := head.Size
	if _, err := f.svc.Delete(ctx, admin, "team/c:1", "superseded"); err != nil {
		t.Fatal(err)
	}
	after, err := f.svc.Log().TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deletedAt := after.Size // the deletion is the last event
	for _, ref := range []string{"team/c:1", f.c.ID} {
		sum, files := f.export(t, admin, api.ExportRequest{Refs: []string{ref}, At: at})
		if len(sum.Artifacts) != 1 || sum.Artifacts[0].ID != f.c.ID || !sum.Artifacts[0].Bytes {
			t.Errorf("export of %s at %d: %+v, want %s with its bytes", ref, at, sum.Artifacts, f.c.ID)
		}
		if len(files) == 0 {
			t.Errorf("export of %s at %d wrote no files", ref, at)
		}
	}
	// At the deletion's size or later, the version is gone.
	for _, size := range []int64{0, deletedAt} {
		var buf bytes.Buffer
		_, err := f.svc.Export(ctx, admin, api.ExportRequest{Refs: []string{"team/c:1"}, At: size}, &buf)
		if !errors.Is(app.Sentinel(err), api.ErrNotFound) || !strings.Contains(err.Error(), "deleted") {
			t.Errorf("export of team/c:1 at %d (deleted by event %d): %v, want not found (deleted)", size, deletedAt, err)
		}
	}
	// Its tags went with it, but at the earlier size a tag still names it;
	// now it names nothing.
	if sum, _ := f.export(t, admin, api.ExportRequest{Refs: []string{"team/c:gold"}, At: at}); len(sum.Artifacts) != 1 || sum.Artifacts[0].ID != f.c.ID {
		t.Errorf("export of team/c:gold at %d: %+v, want %s, which the tag named then", at, sum.Artifacts, f.c.ID)
	}
	var buf bytes.Buffer
	_, err = f.svc.Export(ctx, admin, api.ExportRequest{Refs: []string{"team/c:gold"}}, &buf)
	if !errors.Is(app.Sentinel(err), api.ErrNotFound) {
		t.Errorf("export of team/c:gold now, after its artifact was removed: %v, want not found", err)
	}
	// A prefixed principal is held to its prefix as before.
	_, err = f.svc.Export(ctx, app.Principal{Actor: "ci", Prefix: "base/"}, api.ExportRequest{Refs: []string{"team/c:1"}, At: at}, &buf)
	if !errors.Is(app.Sentinel(err), api.ErrForbidden) {
		t.Errorf("export of team/c:1 by a base/ token: %v, want forbidden", err)
	}
}
