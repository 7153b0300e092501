package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// smallChunks cuts content into chunks of 64 to 1024 bytes, so that a
// few hundred kilobytes make more chunks than one page of URLs holds.
var smallChunks = content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 256, Max: 1024}

// countingBackend counts the bytes read from each blob.
type countingBackend struct {
	storage.Backend
	mu   sync.Mutex
	read map[content.Digest]int64
}

func (b *countingBackend) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	rc, err := b.Backend.Get(ctx, d, rng)
	if err != nil {
		return nil, err
	}
	return &countingReader{ReadCloser: rc, b: b, d: d}, nil
}

func (b *countingBackend) bytesRead(d content.Digest) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read[d]
}

type countingReader struct {
	io.ReadCloser
	b *countingBackend
	d content.Digest
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.b.mu.Lock()
	r.b.read[r.d] += int64(n)
	r.b.mu.Unlock()
	return n, err
}

// directEnv is a Service whose backend presigns (the test presigner over
// a local directory, which counts the bytes read from each blob).
type directEnv struct {
	svc    *app.Service
	be     *countingBackend
	blobs  transfer.BlobStore
	direct *app.Direct
	open   func() *app.Service // another Service over the same log and backend
}

func newDirectEnv(t *testing.T) *directEnv {
	t.Helper()
	dir := t.TempDir()
	lb, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	cb := &countingBackend{Backend: lb, read: map[content.Digest]int64{}}
	ps := storagetest.NewPresigning(t, cb)
	svc, err := app.Open(context.Background(), app.Config{Log: filepath.Join(dir, "log.db"), Backend: ps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	open := func() *app.Service {
		other, err := app.Open(context.Background(), app.Config{Log: filepath.Join(dir, "log.db"), Backend: ps})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		return other
	}
	return &directEnv{svc: svc, be: cb, blobs: transfer.FromBackend(ps), direct: &app.Direct{Presigner: ps}, open: open}
}

// writeTree writes random files of the given sizes under a new directory.
func writeTree(t *testing.T, sizes map[string]int, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(seed, seed))
	for p, n := range sizes {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pushTree pushes dir in the given layout, in small chunks, and registers it.
func (e *directEnv) pushTree(t *testing.T, p app.Principal, name, dir string, schema int) (api.Artifact, transfer.PushResult) {
	t.Helper()
	ctx := context.Background()
	tr, err := transfer.PushTree(ctx, dir, e.blobs, transfer.PushOptions{Chunker: smallChunks, TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.Register(ctx, p, api.RegisterRequest{Name: name, ContentDigest: tr.ContentDigest.String(),
		ManifestDigest: tr.ManifestDigest.String(), Size: tr.Size, MediaType: api.TreeMediaType})
	if err != nil {
		t.Fatal(err)
	}
	return a, tr
}

// pushFile pushes data in small chunks and registers it.
func (e *directEnv) pushFile(t *testing.T, p app.Principal, name string, data []byte) (api.Artifact, transfer.PushResult) {
	t.Helper()
	ctx := context.Background()
	tr, err := transfer.Push(ctx, bytes.NewReader(data), e.blobs, transfer.PushOptions{Chunker: smallChunks})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.Register(ctx, p, api.RegisterRequest{Name: name, ContentDigest: tr.ContentDigest.String(),
		ManifestDigest: tr.ManifestDigest.String(), Size: tr.Size})
	if err != nil {
		t.Fatal(err)
	}
	return a, tr
}

// manifest reads and parses blob d.
func (e *directEnv) manifest(t *testing.T, d content.Digest) content.Manifest {
	t.Helper()
	m, err := transfer.FetchManifest(context.Background(), e.blobs, d, transfer.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantURLs lists the blobs a direct pull of manifest md reads after the
// manifest, in order: the chunks of a file or of a stream-layout tree;
// each file's manifest then its chunks in a per-file layout tree. Chunks
// of no bytes are not read.
func (e *directEnv) wantURLs(t *testing.T, md content.Digest) []string {
	t.Helper()
	m := e.manifest(t, md)
	var out []string
	chunks := func(cs []content.ChunkRef) {
		for _, c := range cs {
			if c.Size > 0 {
				out = append(out, c.Digest.String())
			}
		}
	}
	if m.Kind == content.KindFile || m.Stream() {
		chunks(m.Chunks)
		return out
	}
	for _, en := range m.Entries {
		if en.Type == content.EntryFile {
			out = append(out, en.Manifest.String())
			chunks(e.manifest(t, en.Manifest).Chunks)
		}
	}
	return out
}

// pages asks for every page of URLs of the pull grant g of ref and
// returns the digests in the order handed out; it fails the test when
// an index repeats or goes back. read is the manifest bytes each page
// read from the backend.
func (e *directEnv) pages(t *testing.T, p app.Principal, ref, rng string, g api.PullGrant, md content.Digest) (digests []string, read []int64) {
	t.Helper()
	digests, read, _ = e.walk(t, p, ref, rng, g, md)
	return digests, read
}

// walk is pages, also returning each page asked for by its from.
func (e *directEnv) walk(t *testing.T, p app.Principal, ref, rng string, g api.PullGrant, md content.Digest) (digests []string, read []int64, got map[int]api.PullURLs) {
	t.Helper()
	got = map[int]api.PullURLs{}
	from, last := 0, -1
	for n := 0; ; n++ {
		before := e.be.bytesRead(md)
		page, err := e.svc.PullURLs(context.Background(), p, ref, rng, g.Direct.Grant, from, e.direct)
		if err != nil {
			t.Fatalf("page %d (from %d): %v", n, from, err)
		}
		read = append(read, e.be.bytesRead(md)-before)
		got[from] = page
		if len(page.Chunks) > app.PullURLPage {
			t.Fatalf("page %d holds %d URLs, more than %d", n, len(page.Chunks), app.PullURLPage)
		}
		for _, c := range page.Chunks {
			if c.Index <= last || c.Index < from {
				t.Fatalf("page %d (from %d): index %d after %d", n, from, c.Index, last)
			}
			if c.Get.URL == "" || c.Get.Method != "GET" {
				t.Fatalf("page %d: chunk %d has no presigned GET: %+v", n, c.Index, c.Get)
			}
			last = c.Index
			digests = append(digests, c.Digest)
		}
		if page.Done {
			return digests, read, got
		}
		if page.Next <= from {
			t.Fatalf("page %d: next %d does not advance from %d", n, page.Next, from)
		}
		from = page.Next
	}
}

// samePage reports whether two pages list the same blobs (the URLs'
// signatures may differ).
func samePage(a, b api.PullURLs) bool {
	if a.Next != b.Next || a.Done != b.Done || len(a.Chunks) != len(b.Chunks) {
		return false
	}
	for i := range a.Chunks {
		if a.Chunks[i].Index != b.Chunks[i].Index || a.Chunks[i].Digest != b.Chunks[i].Digest || a.Chunks[i].Size != b.Chunks[i].Size {
			return false
		}
	}
	return true
}

func equalLists(a, b []string) (int, bool) {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i, false
		}
	}
	return min(len(a), len(b)), len(a) == len(b)
}

// TestPullURLsPageCost pulls a file of several pages of chunks: every
// chunk comes exactly once, in order, and a page reads about a page of
// the manifest from the backend, not the manifest from its start (so a
// pull of n chunks reads O(n) manifest bytes, not O(n²)); a ranged pull
// gets exactly the chunks its range needs.
func TestPullURLsPageCost(t *testing.T) {
	ctx := context.Background()
	e := newDirectEnv(t)
	p := app.Principal{Actor: "me"}
	data := randomBytes(1200<<10, 3)
	a, tr := e.pushFile(t, p, "big", data)
	m := e.manifest(t, tr.ManifestDigest)
	if len(m.Chunks) < 5*app.PullURLPage {
		t.Fatalf("%d chunks; the test needs more than 5 pages", len(m.Chunks))
	}
	g, err := e.svc.GrantPull(ctx, p, a.Ref, "", "", e.direct)
	if err != nil || g.Direct == nil {
		t.Fatalf("grant: %+v, %v; want a direct grant", g, err)
	}
	got, read := e.pages(t, p, a.Ref, "", g, tr.ManifestDigest)
	if i, ok := equalLists(got, e.wantURLs(t, tr.ManifestDigest)); !ok {
		t.Fatalf("%d URLs for %d chunks; first difference at %d", len(got), len(m.Chunks), i)
	}
	info, err := e.be.Head(ctx, tr.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	perPage := info.Size * app.PullURLPage / int64(len(m.Chunks))
	for i, n := range read[1:] {
		if n > 2*perPage+64<<10 {
			t.Errorf("page %d read %d manifest bytes; a page is about %d (the manifest has %d)", i+1, n, perPage, info.Size)
		}
	}
	// The same pages again are served from the marks of the first scan.
	before := e.be.bytesRead(tr.ManifestDigest)
	if again, _ := e.pages(t, p, a.Ref, "", g, tr.ManifestDigest); len(again) != len(got) {
		t.Errorf("second walk: %d URLs, want %d", len(again), len(got))
	}
	if n := e.be.bytesRead(tr.ManifestDigest) - before; n > 2*info.Size {
		t.Errorf("a second walk of the pages read %d manifest bytes; the manifest has %d", n, info.Size)
	}

	// A range from inside the second page to inside the fourth.
	var pos int64
	var starts []int64
	for _, c := range m.Chunks {
		starts = append(starts, pos)
		pos += c.Size
	}
	lo, hi := starts[app.PullURLPage+7]+3, starts[3*app.PullURLPage+11]+5
	rng := fmt.Sprintf("%d-%d", lo, hi)
	gr, err := e.svc.GrantPull(ctx, p, a.Ref, "", rng, e.direct)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = e.pages(t, p, a.Ref, rng, gr, tr.ManifestDigest)
	var want []string
	for i, c := range m.Chunks {
		if starts[i] <= hi && starts[i]+c.Size > lo {
			want = append(want, c.Digest.String())
		}
	}
	if i, ok := equalLists(got, want); !ok {
		t.Fatalf("range %s: %d URLs, want %d; first difference at %d", rng, len(got), len(want), i)
	}
}

// TestGrantPullTreeDirect: with direct transfers on, a directory artifact
// in either layout is granted directly, whatever the token's prefix, with
// one retrieval record of its size; its pages hand out every blob the
// pull reads after the tree manifest, exactly once and in the order the
// pull reads them (each file's manifest then its chunks in the per-file
// layout, including a file of more chunks than a page), and other
// prefixes stay refused.
func TestGrantPullTreeDirect(t *testing.T) {
	ctx := context.Background()
	e := newDirectEnv(t)
	admin := app.Principal{Actor: "admin"}
	team := app.Principal{Actor: "ci", Prefix: "team/", Token: "tok1"}
	sizes := map[string]int{"a.txt": 5000, "big/blob.bin": 400 << 10, "empty": 0, "z/last.bin": 70 << 10}
	for i := range 40 {
		sizes[fmt.Sprintf("many/f%03d", i)] = 300 + i
	}
	dir := writeTree(t, sizes, 11)
	for _, schema := range []int{content.StreamTreeSchema, content.ManifestSchema} {
		t.Run(fmt.Sprintf("schema%d", schema), func(t *testing.T) {
			a, tr := e.pushTree(t, admin, fmt.Sprintf("team/tree%d", schema), dir, schema)
			other, _ := e.pushTree(t, admin, fmt.Sprintf("other/tree%d", schema), dir, schema)
			before := countRetrievals(t, e.svc)
			g, err := e.svc.GrantPull(ctx, team, a.Ref, api.KindTree, "", e.direct)
			if err != nil {
				t.Fatal(err)
			}
			if g.Direct == nil || g.Direct.Manifest.URL == "" || g.Direct.Grant <= 0 {
				t.Fatalf("tree grant = %+v; want a direct part", g)
			}
			recs := countRetrievals(t, e.svc)
			if len(recs) != len(before)+1 || recs[len(recs)-1].Bytes != tr.Size {
				t.Fatalf("after the grant: %d retrieval records (was %d), last %+v; want one more of %d bytes", len(recs), len(before), recs[len(recs)-1], tr.Size)
			}
			want := e.wantURLs(t, tr.ManifestDigest)
			if len(want) <= app.PullURLPage {
				t.Fatalf("the tree pull reads %d blobs; the test needs more than a page", len(want))
			}
			got, _, byFrom := e.walk(t, team, a.Ref, "", g, tr.ManifestDigest)
			if i, ok := equalLists(got, want); !ok {
				t.Fatalf("%d URLs, want %d; first difference at %d", len(got), len(want), i)
			}
			// Another daemon, which has not scanned this manifest, answers
			// the same pages, asked for last first.
			fresh := e.open()
			froms := slices.Sorted(maps.Keys(byFrom))
			slices.Reverse(froms)
			for _, from := range froms {
				page, err := fresh.PullURLs(ctx, team, a.Ref, "", g.Direct.Grant, from, e.direct)
				if err != nil {
					t.Fatal(err)
				}
				if !samePage(page, byFrom[from]) {
					t.Fatalf("another daemon's page from %d differs: %d URLs, next %d, done %v; want %d, %d, %v", from,
						len(page.Chunks), page.Next, page.Done, len(byFrom[from].Chunks), byFrom[from].Next, byFrom[from].Done)
				}
			}
			if len(countRetrievals(t, e.svc)) != len(recs) {
				t.Error("the pages appended retrieval records")
			}
			if _, err := e.svc.GrantPull(ctx, team, other.Ref, "", "", e.direct); !errors.Is(err, api.ErrForbidden) {
				t.Errorf("team grant of %s: %v; want forbidden", other.Ref, err)
			}
			if _, err := e.svc.PullURLs(ctx, team, other.Ref, "", g.Direct.Grant, 0, e.direct); !errors.Is(err, api.ErrForbidden) {
				t.Errorf("team pages of %s: %v; want forbidden", other.Ref, err)
			}
			if _, err := e.svc.GrantPull(ctx, team, a.Ref, "", "0-9", e.direct); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("ranged tree grant: %v; want invalid", err)
			}
			// Proxy mode: no direct part, blobs for a token without a prefix.
			pg, err := e.svc.GrantPull(ctx, admin, a.Ref, "", "", nil)
			if err != nil || pg.Direct != nil || !pg.Blobs {
				t.Errorf("proxy grant = %+v, %v; want blobs, no direct part", pg, err)
			}
		})
	}
}

// countRetrievals returns the retrieval records of the service's log.
func countRetrievals(t *testing.T, svc *app.Service) []eventlog.ArtifactRetrieved {
	t.Helper()
	var out []eventlog.ArtifactRetrieved
	err := svc.Log().Read(context.Background(), 0, func(ev eventlog.Event) error {
		if ev.Type == eventlog.TypeArtifactRetrieved {
			var r eventlog.ArtifactRetrieved
			if err := json.Unmarshal(ev.Payload, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// randomBytes returns n bytes of a seeded random stream.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
