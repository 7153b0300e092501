package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
	"github.com/artifact-store/artstore/pkg/client"
)

// treeFiles reads every regular file under dir, by slash path.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFiles fails the test unless got holds exactly the files of want.
func sameFiles(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d files, want %d", what, len(got), len(want))
	}
	for p, b := range want {
		if !bytes.Equal(got[p], b) {
			t.Fatalf("%s: %s differs", what, p)
		}
	}
}

// smallChunks cuts content into chunks of 64 to 1024 bytes, so that a
// few hundred kilobytes make more chunks than one page of URLs holds.
var smallChunks = content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 256, Max: 1024}

// pushPagedTree stores src in small chunks in the given layout straight
// into the daemon's backend and registers it as name.
func (d *directDaemon) pushPagedTree(t *testing.T, be storage.Backend, src, name string, schema int) api.Artifact {
	t.Helper()
	tr, err := transfer.PushTree(context.Background(), src, transfer.FromBackend(be), transfer.PushOptions{Chunker: smallChunks, TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	var a api.Artifact
	d.call(t, "write", "POST", "/v1/artifacts", api.RegisterRequest{Name: name, ContentDigest: tr.ContentDigest.String(),
		ManifestDigest: tr.ManifestDigest.String(), Size: tr.Size, MediaType: api.TreeMediaType}, http.StatusCreated, &a)
	return a
}

// TestRemoteDirectTrees pulls directory artifacts of both layouts through
// a daemon with direct transfers: the bytes come from the presigning
// server, none through the daemon; each pull appends one retrieval record
// of the tree's size; a token limited to a prefix pulls its own trees
// (the content route it reads in proxy mode serves no trees), and is
// refused others; trees of more blobs than a page of URLs (a per-file
// layout file among them) come whole.
func TestRemoteDirectTrees(t *testing.T) {
	ctx := context.Background()
	d := startDirectDaemon(t)
	src := t.TempDir()
	randomFile(t, src, "a.bin", 5<<20+3, 21)
	if err := os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	randomFile(t, filepath.Join(src, "sub"), "b.txt", 10, 22)
	randomFile(t, filepath.Join(src, "sub", "deep"), "c.bin", 900<<10, 23)
	randomFile(t, src, "empty", 0, 24)
	want := treeFiles(t, src)

	paged := t.TempDir()
	randomFile(t, paged, "big.bin", 300<<10, 25)
	for i := range 30 {
		randomFile(t, paged, fmt.Sprintf("f%02d", i), 100+i, uint64(30+i))
	}
	wantPaged := treeFiles(t, paged)

	for _, schema := range []int{content.StreamTreeSchema, content.ManifestSchema} {
		w := d.open(t, "write")
		client.SetTreeSchema(w, schema)
		res, err := w.Push(ctx, client.PushRequest{Path: src, Name: fmt.Sprintf("team/tree%d", schema)})
		if err != nil {
			t.Fatal(err)
		}
		other, err := w.Push(ctx, client.PushRequest{Path: src, Name: fmt.Sprintf("other/tree%d", schema)})
		if err != nil {
			t.Fatal(err)
		}
		big := d.pushPagedTree(t, d.ps, paged, fmt.Sprintf("team/paged%d", schema), schema)
		for _, tok := range []string{"read", "team"} {
			r := d.open(t, tok)
			recs, gets := len(d.retrievals(t)), d.ps.Gets.Load()
			out := filepath.Join(t.TempDir(), "out")
			pr, err := r.PullToPath(ctx, res.Ref, out, client.PullOptions{})
			if err != nil {
				t.Fatalf("schema %d, %s: pull: %v", schema, tok, err)
			}
			sameFiles(t, fmt.Sprintf("schema %d, %s", schema, tok), treeFiles(t, out), want)
			if pr.Bytes != res.Size || pr.Kind != client.KindTree {
				t.Errorf("schema %d, %s: pull result %+v; want %d bytes of a tree", schema, tok, pr, res.Size)
			}
			all := d.retrievals(t)
			if len(all) != recs+1 || all[len(all)-1].Bytes != res.Size {
				t.Errorf("schema %d, %s: %d retrieval records after one pull (was %d)", schema, tok, len(all), recs)
			}
			if d.ps.Gets.Load() == gets {
				t.Errorf("schema %d, %s: no presigned GET served", schema, tok)
			}
			out = filepath.Join(t.TempDir(), "paged")
			if _, err := r.PullToPath(ctx, big.Ref, out, client.PullOptions{}); err != nil {
				t.Fatalf("schema %d, %s: paged pull: %v", schema, tok, err)
			}
			sameFiles(t, fmt.Sprintf("schema %d, %s, paged", schema, tok), treeFiles(t, out), wantPaged)
		}
		team := d.open(t, "team")
		if _, err := team.PullToPath(ctx, other.Ref, filepath.Join(t.TempDir(), "x"), client.PullOptions{}); !errors.Is(err, client.ErrForbidden) {
			t.Errorf("schema %d: team token pulling %s: %v; want ErrForbidden", schema, other.Ref, err)
		}
	}
	if in, out := d.metric(t, "artstore_blob_bytes_in_total"), d.metric(t, "artstore_blob_bytes_out_total"); in != 0 || out != 0 {
		t.Errorf("the daemon moved %d bytes in and %d out; want 0 with direct transfers", in, out)
	}
}

// TestRemoteDirectVerify: a deep verify of one artifact reads its blobs
// straight from the backend (none through the daemon), for a token
// limited to a prefix too, and finds a damaged chunk of a file, of a
// stream-layout tree and of a per-file layout tree; a pull of the damaged
// tree fails with ErrIntegrity and writes no damaged file.
func TestRemoteDirectVerify(t *testing.T) {
	ctx := context.Background()
	d := startDirectDaemon(t)
	src := t.TempDir()
	randomFile(t, src, "b.txt", 100, 42)
	file, _ := randomFile(t, t.TempDir(), "f.bin", 3<<20, 43)
	w := d.open(t, "write")
	var refs []string
	aBin := map[string][]byte{}
	for _, schema := range []int{content.StreamTreeSchema, content.ManifestSchema} {
		client.SetTreeSchema(w, schema)
		// Each layout with its own bytes, so that damaging one's chunk
		// leaves the other whole.
		_, data := randomFile(t, src, "a.bin", 3<<20, uint64(40+schema))
		res, err := w.Push(ctx, client.PushRequest{Path: src, Name: fmt.Sprintf("team/tree%d", schema)})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, res.Ref)
		aBin[res.Ref] = data
	}
	res, err := w.Push(ctx, client.PushRequest{Path: file, Name: "team/file"})
	if err != nil {
		t.Fatal(err)
	}
	refs = append(refs, res.Ref)
	team := d.open(t, "team")
	for _, ref := range refs {
		gets := d.ps.Gets.Load()
		rep, err := team.Verify(ctx, client.VerifyOptions{Ref: ref, Deep: true})
		if err != nil || !rep.OK {
			t.Fatalf("deep verify of %s: %+v, %v; want OK", ref, rep, err)
		}
		if d.ps.Gets.Load()-gets < 2 {
			t.Errorf("deep verify of %s made %d presigned GETs; want the manifest and the chunks", ref, d.ps.Gets.Load()-gets)
		}
	}
	if out := d.metric(t, "artstore_blob_bytes_out_total"); out != 0 {
		t.Errorf("the daemon sent %d blob bytes for deep verifies with direct transfers", out)
	}

	for _, ref := range refs {
		a, err := team.Get(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		chunk := d.someChunk(t, content.MustParseDigest(a.ManifestDigest))
		d.damage(t, chunk)
		rep, err := team.Verify(ctx, client.VerifyOptions{Ref: ref, Deep: true})
		if err != nil || rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Kind != client.ProblemDigestMismatch {
			t.Fatalf("deep verify of %s with chunk %s damaged: %+v, %v; want a digest mismatch", ref, chunk.Short(), rep, err)
		}
		if a.Kind == client.KindTree {
			out := filepath.Join(t.TempDir(), "out")
			if _, err := team.PullToPath(ctx, ref, out, client.PullOptions{}); !errors.Is(err, client.ErrIntegrity) {
				t.Errorf("pull of %s with a damaged chunk: %v; want ErrIntegrity", ref, err)
			}
			if got, ok := treeFiles(t, out)["a.bin"]; ok && !bytes.Equal(got, aBin[ref]) {
				t.Errorf("pull of %s wrote a damaged a.bin", ref)
			}
		}
	}
}

// someChunk returns a chunk of the content of manifest md: of a.bin in a
// per-file layout tree.
func (d *directDaemon) someChunk(t *testing.T, md content.Digest) content.Digest {
	t.Helper()
	m, err := transfer.FetchManifest(context.Background(), transfer.FromBackend(d.be), md, transfer.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Entries {
		if e.Path == "a.bin" && !e.Manifest.IsZero() {
			return d.someChunk(t, e.Manifest)
		}
	}
	if len(m.Chunks) == 0 {
		t.Fatalf("manifest %s has no chunks", md.Short())
	}
	return m.Chunks[0].Digest
}

// damage flips a byte of blob c in the daemon's backend.
func (d *directDaemon) damage(t *testing.T, c content.Digest) {
	t.Helper()
	p := filepath.Join(d.be.Root(), filepath.FromSlash(c.Key()))
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

// TestRemoteDirectTreesS3 pulls and deep-verifies directory artifacts of
// both layouts directly against a real S3 server (Ceph RGW in CI), where
// the pages of a tree of more blobs than a page read its manifests with
// ranged GETs; no blob byte goes through the daemon.
func TestRemoteDirectTreesS3(t *testing.T) {
	srv := realS3(t)
	ctx := context.Background()
	dir := t.TempDir()
	log, err := sqlite.Open(ctx, filepath.Join(dir, "artstore.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	be, err := backends.Open(ctx, backends.Spec{ID: "s3", Type: "s3", Bucket: srv.bucket, Prefix: "trees/", Region: srv.region,
		Endpoint: srv.endpoint, PathStyle: true, AccessKeyID: srv.access, SecretAccessKey: srv.secret})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{Registry: registry.New(log, app.Checker(be), nil), Log: log, Backend: be, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Direct() {
		t.Fatalf("direct transfers off against %s", srv.endpoint)
	}
	d := &directDaemon{daemon: &daemon{srv: s, token: map[string]string{}}, log: log}
	for name, spec := range map[string]auth.Spec{"write": {Name: "write-bot", Scope: auth.ScopeWrite},
		"team": {Name: "team-bot", Scope: auth.ScopeWrite, Prefix: "team/"}} {
		if d.token[name], _, err = s.Tokens().Create(ctx, "test", spec); err != nil {
			t.Fatal(err)
		}
	}
	d.ts = httptest.NewServer(s)
	t.Cleanup(d.ts.Close)

	src := t.TempDir()
	randomFile(t, src, "a.bin", 3<<20, 61)
	randomFile(t, src, "b.txt", 10, 62)
	paged := t.TempDir()
	randomFile(t, paged, "big.bin", 300<<10, 63)
	for i := range 10 {
		randomFile(t, paged, fmt.Sprintf("f%02d", i), 100+i, uint64(70+i))
	}
	team := d.open(t, "team")
	for _, schema := range []int{content.StreamTreeSchema, content.ManifestSchema} {
		w := d.open(t, "write")
		client.SetTreeSchema(w, schema)
		res, err := w.Push(ctx, client.PushRequest{Path: src, Name: fmt.Sprintf("team/tree%d", schema)})
		if err != nil {
			t.Fatal(err)
		}
		big := d.pushPagedTree(t, be, paged, fmt.Sprintf("team/paged%d", schema), schema)
		for ref, want := range map[string]string{res.Ref: src, big.Ref: paged} {
			out := filepath.Join(t.TempDir(), "out")
			if _, err := team.PullToPath(ctx, ref, out, client.PullOptions{}); err != nil {
				t.Fatalf("schema %d: pull %s: %v", schema, ref, err)
			}
			sameFiles(t, fmt.Sprintf("schema %d, %s", schema, ref), treeFiles(t, out), treeFiles(t, want))
			rep, err := team.Verify(ctx, client.VerifyOptions{Ref: ref, Deep: true})
			if err != nil || !rep.OK {
				t.Fatalf("schema %d: deep verify of %s: %+v, %v", schema, ref, rep, err)
			}
		}
	}
	if out := d.metric(t, "artstore_blob_bytes_out_total"); out != 0 {
		t.Errorf("the daemon sent %d blob bytes with direct transfers", out)
	}
}

// TestRemoteDirectRepeatedBlobs pulls artifacts whose pages list one blob
// again and again, pages apart: a file whose content repeats a chunk, and
// a per-file layout tree of many files among which empty and identical
// ones share one file manifest. A URL listed again must stay until the
// pull reads it there, however many pages came between.
func TestRemoteDirectRepeatedBlobs(t *testing.T) {
	ctx := context.Background()
	d := startDirectDaemon(t)
	same := []byte("the same chunk, listed many times;")
	ds := content.FromBytes(same)
	if _, err := d.ps.Put(ctx, ds, int64(len(same)), bytes.NewReader(same)); err != nil {
		t.Fatal(err)
	}
	n := 4*app.PullURLPage + 10
	var data []byte
	m := content.Manifest{Kind: content.KindFile, Chunker: content.DefaultChunkerParams()}
	for i := range n {
		c := []byte(fmt.Sprintf("chunk %05d of the repeating artifact", i))
		if i%1600 == 0 {
			c = same
		}
		dc := content.FromBytes(c)
		if _, err := d.ps.Put(ctx, dc, int64(len(c)), bytes.NewReader(c)); err != nil {
			t.Fatal(err)
		}
		m.Chunks = append(m.Chunks, content.ChunkRef{Digest: dc, Size: int64(len(c))})
		data = append(data, c...)
	}
	m.Size, m.Digest = int64(len(data)), content.FromBytes(data)
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := content.FromBytes(mb)
	if _, err := d.ps.Put(ctx, md, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		t.Fatal(err)
	}
	var a api.Artifact
	d.call(t, "write", "POST", "/v1/artifacts", api.RegisterRequest{Name: "team/repeats", ContentDigest: m.Digest.String(),
		ManifestDigest: md.String(), Size: m.Size}, http.StatusCreated, &a)
	r := d.open(t, "team")
	var buf bytes.Buffer
	if _, err := r.Pull(ctx, a.Ref, &buf, client.PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("pull of a file repeating a chunk 1600 chunks on: %v, equal=%v", err, bytes.Equal(buf.Bytes(), data))
	}

	src := t.TempDir()
	for i := range 1000 {
		// Two items a file (its manifest and its chunk): files 800 and
		// 801 are 1600 items after files 0 and 1, their twins.
		body := []byte(fmt.Sprintf("file %04d", i))
		switch i {
		case 0, 800:
			body = []byte("identical")
		case 1, 801:
			body = nil
		}
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%04d", i)), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := d.pushPagedTree(t, d.ps, src, "team/repeats-tree", content.ManifestSchema)
	out := filepath.Join(t.TempDir(), "out")
	if _, err := r.PullToPath(ctx, tree.Ref, out, client.PullOptions{}); err != nil {
		t.Fatalf("pull of a tree of repeated file manifests: %v", err)
	}
	sameFiles(t, "tree of repeated file manifests", treeFiles(t, out), treeFiles(t, src))
}
