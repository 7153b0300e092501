package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/pkg/client"
)

// exportStore pushes a, then b made from a, and returns b's ref.
func exportStore(t *testing.T, st client.Store) string {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Push(ctx, client.PushRequest{Reader: bytes.NewReader([]byte("input a")), Name: "ex/a"}); err != nil {
		t.Fatal(err)
	}
	b, err := st.Push(ctx, client.PushRequest{Reader: bytes.NewReader([]byte("output b")), Name: "ex/b", Inputs: []client.Input{{Ref: "ex/a:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b.Ref
}

// checkExport exports ref with its closure from st twice at one size and
// checks the summary and that the bundles are the same bytes.
func checkExport(t *testing.T, st client.Store, ref string) {
	t.Helper()
	ctx := context.Background()
	var b1 bytes.Buffer
	sum, err := st.Export(ctx, client.ExportRequest{Refs: []string{ref}, Closure: -1}, &b1)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Artifacts) != 2 || sum.Artifacts[1].Ref != "ex/a:1" || sum.Artifacts[1].Depth != 1 ||
		sum.Bytes != int64(len("input a")+len("output b")) || sum.Events < 2 || sum.Size < 2 || sum.Origin == "" {
		t.Fatalf("summary %+v", sum)
	}
	key, err := st.LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Verify(bytes.NewReader(b1.Bytes()), bundle.Options{Key: key.VerifierKey}); err != nil {
		t.Fatalf("the bundle does not verify: %v", err)
	}
	var b2 bytes.Buffer
	sum2, err := st.Export(ctx, client.ExportRequest{Refs: []string{ref}, Closure: -1, At: sum.Size}, &b2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) || sum2.Bytes != sum.Bytes || sum2.Events != sum.Events {
		t.Errorf("an export at the first export's size differs: %d and %d bytes, %+v", b1.Len(), b2.Len(), sum2)
	}
	a, err := st.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if a.Retrievals.Count != 2 {
		t.Errorf("retrievals after two exports: %+v", a.Retrievals)
	}
	var none bytes.Buffer
	if _, err := st.Export(ctx, client.ExportRequest{Refs: []string{"ex/nope:1"}}, &none); !errors.Is(err, client.ErrNotFound) || none.Len() != 0 {
		t.Errorf("export of an unknown ref: %v (%d bytes written), want ErrNotFound and nothing", err, none.Len())
	}
}

func TestExportLocal(t *testing.T) {
	l, _ := newStoreKeyed(t)
	checkExport(t, l, exportStore(t, l))
}

func newStoreKeyed(t *testing.T) (*client.Local, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := client.OpenLocal(context.Background(), client.LocalOptions{Dir: dir, Actor: "t", RetrievalRecords: true,
		CheckpointKey: filepath.Join(dir, "checkpoint.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

func TestExportRemote(t *testing.T) {
	d := startDaemon(t, nil)
	r := d.open(t, "write")
	checkExport(t, r, exportStore(t, r))
}

// TestExportRemoteCut: a bundle whose connection is cut after its first
// bytes fails with ErrUnavailable rather than ending as if whole.
func TestExportRemoteCut(t *testing.T) {
	d := startDaemon(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/export" {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(&cutWriter{ResponseWriter: w, left: 3000}, r)
		})
	})
	r := d.open(t, "write")
	ref := exportStore(t, r)
	var buf bytes.Buffer
	_, err := r.Export(context.Background(), client.ExportRequest{Refs: []string{ref}}, &buf)
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("export cut short: %v, want ErrUnavailable", err)
	}
}

// cutWriter passes left bytes of a response, then aborts the connection.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		_, _ = c.ResponseWriter.Write(p[:c.left])
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

var _ io.Writer = (*cutWriter)(nil)

// TestImportRemote: a bundle exported by one store imports into a daemon's
// store, streamed, with its digests and inputs; a damaged copy is refused
// with ErrIntegrity and registers nothing; a read token may not import.
func TestImportRemote(t *testing.T) {
	ctx := context.Background()
	src, _ := newStoreKeyed(t)
	ref := exportStore(t, src)
	var b bytes.Buffer
	if _, err := src.Export(ctx, client.ExportRequest{Refs: []string{ref}, Closure: -1}, &b); err != nil {
		t.Fatal(err)
	}
	key, err := src.LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil)
	r := d.open(t, "write")

	bad := bytes.Clone(b.Bytes())
	i := bytes.Index(bad, []byte("output b"))
	bad[i] ^= 1
	if _, err := r.Import(ctx, bytes.NewReader(bad), key.VerifierKey); !errors.Is(err, client.ErrIntegrity) {
		t.Fatalf("damaged bundle: %v, want ErrIntegrity", err)
	}
	if _, err := r.Get(ctx, ref); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a damaged bundle registered %s: %v", ref, err)
	}
	if _, err := d.open(t, "read").Import(ctx, bytes.NewReader(b.Bytes()), ""); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("read token: %v, want ErrForbidden", err)
	}

	res, err := r.Import(ctx, bytes.NewReader(b.Bytes()), key.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Artifacts) != 2 || res.Artifacts[0].Status != "imported" || res.Artifacts[1].Status != "imported" || !res.KeyGiven {
		t.Fatalf("result %+v", res)
	}
	a, err := r.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := src.Get(ctx, ref)
	if a.ContentDigest != orig.ContentDigest || a.Imported == nil || !a.Imported.Verified || a.Imported.ForeignID != orig.ID ||
		len(a.Provenance.Inputs) != 1 || a.Provenance.Inputs[0].Ref != "ex/a:1" {
		t.Fatalf("imported %+v, origin %+v", a, a.Imported)
	}
	var got bytes.Buffer
	if _, err := r.Pull(ctx, ref, &got, client.PullOptions{}); err != nil || got.String() != "output b" {
		t.Fatalf("pull of the imported artifact: %q, %v", got.String(), err)
	}
}
