package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/memtest"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/client"
)

// getHook calls onGet with the running count before each Get.
type getHook struct {
	storage.Backend
	calls atomic.Int64
	onGet func(call int64)
}

func (g *getHook) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	g.onGet(g.calls.Add(1))
	return g.Backend.Get(ctx, d, rng)
}

// TestContentStreamsTheManifest: the content route reads the manifest as a
// stream, not into memory, so an artifact of any number of chunks can be
// served (the route used to refuse manifests over 64 MiB, files of ~700,000
// chunks, which push and pull handle) in memory that does not grow with it.
// The artifact here has 80,000 chunks (a 64-byte block repeated, so one
// blob) and a 7.5 MB manifest.
func TestContentStreamsTheManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("serves 80,000 chunks")
	}
	t.Setenv("TMPDIR", t.TempDir())
	e := newEnv(t)
	const n = 80_000
	data, m := memtest.Repeated(bytes.Repeat([]byte("artstore"), 8), n)
	e.putBlob(data[:64])
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := e.putBlob(mb)
	m, mb = content.Manifest{}, nil
	var a client.Artifact
	e.doJSON("POST", "/v1/artifacts", "admin", client.RegisterRequest{Name: "many", ContentDigest: content.FromBytes(data).String(),
		ManifestDigest: md.String(), Size: int64(len(data))}, http.StatusCreated, &a)
	ref := url.QueryEscape(a.Ref)

	// A range across chunk boundaries, from the middle of the list (it also
	// warms up what the full request below would otherwise allocate first).
	start, end := int64(64*(n/2)+5), int64(64*(n/2)+5+200)
	resp := e.request("GET", "/v1/artifact/content?ref="+ref, "read", nil, map[string]string{"Range": "bytes=" + itoa(start) + "-" + itoa(end)})
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[start:end+1]) {
		t.Fatalf("range: status %d, %d bytes, %v; want 206 and %d bytes", resp.StatusCode, len(got), err, end-start+1)
	}

	hook := &getHook{Backend: e.backend}
	e.srv.backend = hook
	var body bytes.Buffer
	body.Grow(len(data)) // before measuring: the test's own copy of the response
	before := memtest.LiveHeap()
	var during int64
	hook.onGet = func(call int64) {
		if call == n/2 {
			during = memtest.LiveHeap()
		}
	}
	resp = e.request("GET", "/v1/artifact/content?ref="+ref, "read", nil, nil)
	_, err = io.Copy(&body, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body.Bytes(), data) {
		t.Fatalf("content: status %d, %d bytes, %v; want 200 and the %d bytes", resp.StatusCode, body.Len(), err, len(data))
	}
	t.Logf("live heap before the request %d bytes, during %d", before, during)
	if grew := during - before; grew > 2<<20 {
		t.Fatalf("live heap grew by %d bytes while serving: the route holds the chunk list", grew)
	}
}
