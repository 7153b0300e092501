package server

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/memtest"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
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
// served (a 64 MiB limit on manifests would refuse files of ~700,000 chunks,
// which push and pull handle) in memory that does not grow with it.
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
	var a api.Artifact
	e.doJSON("POST", "/v1/artifacts", "admin", api.RegisterRequest{Name: "many", ContentDigest: content.FromBytes(data).String(),
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

// TestViewsCheckedAgainstTheLog edits t/a:1's view row to name t/b:1's
// manifest, as a faulty tool with access to the database could: the
// artifact route, the content route and a remote pull refuse it as an
// integrity failure instead of serving t/b's bytes as t/a's.
func TestViewsCheckedAgainstTheLog(t *testing.T) {
	e := newEnv(t)
	a := e.register("t/a", []byte("the bytes of a"))
	b := e.register("t/b", []byte("the bytes of b, longer"))
	db, err := sql.Open("sqlite", e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE artifacts SET manifest_digest = ?, content_digest = ?, size = ? WHERE id = ?`,
		b.ManifestDigest, b.ContentDigest, b.Size, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/artifact?ref=t/a:1", "/v1/artifact/content?ref=t/a:1", "/v1/artifact/content?ref=" + a.ID} {
		resp := e.request("GET", path, "read", nil, nil)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET %s: status %d, want 500", path, resp.StatusCode)
		}
		if code := errorCode(t, resp); code != "integrity" {
			t.Errorf("GET %s: code %q, want integrity", path, code)
		}
	}
	r, err := client.OpenRemote(context.Background(), client.RemoteOptions{URL: e.ts.URL, Token: e.tok["read"], MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	_, err = r.Pull(context.Background(), "t/a:1", &out, client.PullOptions{})
	if !errors.Is(err, client.ErrIntegrity) || !strings.Contains(err.Error(), "the views disagree with the event log") ||
		!strings.Contains(err.Error(), "artstore admin rebuild") {
		t.Errorf("remote pull of the edited row: %v, want an integrity error that says to rebuild the views", err)
	}
	if out.Len() != 0 {
		t.Errorf("remote pull wrote %q", out.String())
	}
	if got, err := e.log.Artifact(context.Background(), a.ID); err != nil || got.Retrievals.Count != 0 {
		t.Errorf("retrievals after refused reads = %+v, %v; want none", got.Retrievals, err)
	}
}
