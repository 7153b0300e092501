package storagetest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// Presigning wraps a Backend with a storage.Presigner served by an
// in-process HTTP server, for tests of direct transfers without an S3
// server. It enforces what S3 does: the URL carries an HMAC over the
// method, digest, size and expiry; a PUT must carry the signed
// X-Amz-Content-Sha256 header (the digest) and exactly the signed length,
// and its body is stored through the wrapped backend's verifying Put, so
// other bytes are refused (400) and nothing is stored; a GET honours one
// Range. Gets and Puts count the requests served, Bytes the body bytes
// moved either way.
type Presigning struct {
	storage.Backend
	srv        *httptest.Server
	key        []byte
	Gets, Puts atomic.Int64
	Bytes      atomic.Int64
}

var _ storage.Presigner = (*Presigning)(nil)

// NewPresigning wraps b; the server stops when the test ends.
func NewPresigning(t testing.TB, b storage.Backend) *Presigning {
	p := &Presigning{Backend: b, key: make([]byte, 32)}
	_, _ = rand.Read(p.key)
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *Presigning) sign(method string, d content.Digest, size, exp int64) string {
	m := hmac.New(sha256.New, p.key)
	fmt.Fprintf(m, "%s\n%s\n%d\n%d", method, d, size, exp)
	return hex.EncodeToString(m.Sum(nil))
}

func (p *Presigning) presign(method string, d content.Digest, size int64, ttl time.Duration) (storage.SignedRequest, error) {
	if d.IsZero() {
		return storage.SignedRequest{}, fmt.Errorf("presign: %w: no valid digest given", storage.ErrInvalidKey)
	}
	exp := time.Now().Add(ttl)
	u := fmt.Sprintf("%s/%s?size=%d&exp=%d&sig=%s", p.srv.URL, d, size, exp.Unix(), p.sign(method, d, size, exp.Unix()))
	sr := storage.SignedRequest{Method: method, URL: u, Header: http.Header{}, Expires: exp}
	if method == http.MethodPut {
		sr.Header.Set("X-Amz-Content-Sha256", d.Hex())
	}
	return sr, nil
}

// PresignGet implements storage.Presigner.
func (p *Presigning) PresignGet(_ context.Context, d content.Digest, ttl time.Duration) (storage.SignedRequest, error) {
	return p.presign(http.MethodGet, d, -1, ttl)
}

// PresignPut implements storage.Presigner.
func (p *Presigning) PresignPut(_ context.Context, d content.Digest, size int64, ttl time.Duration) (storage.SignedRequest, error) {
	return p.presign(http.MethodPut, d, size, ttl)
}

// CheckPresign implements storage.Presigner: the server is this
// process's and enforces the checksum by construction.
func (p *Presigning) CheckPresign(context.Context) error { return nil }

func (p *Presigning) serve(w http.ResponseWriter, r *http.Request) {
	d, err := content.ParseDigest(strings.TrimPrefix(r.URL.Path, "/"))
	q := r.URL.Query()
	size, _ := strconv.ParseInt(q.Get("size"), 10, 64)
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(p.sign(r.Method, d, size, exp))) || time.Now().Unix() > exp {
		http.Error(w, "SignatureDoesNotMatch or expired", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodPut:
		p.Puts.Add(1)
		if r.Header.Get("X-Amz-Content-Sha256") != d.Hex() || r.ContentLength != size {
			http.Error(w, "SignatureDoesNotMatch: signed header or length changed", http.StatusForbidden)
			return
		}
		cr := &countReader{r: r.Body, n: &p.Bytes}
		if _, err := p.Backend.Put(r.Context(), d, size, cr); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, content.ErrMismatch) {
				status = http.StatusBadRequest
			}
			http.Error(w, "XAmzContentSHA256Mismatch: "+err.Error(), status)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		p.Gets.Add(1)
		p.get(w, r, d)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (p *Presigning) get(w http.ResponseWriter, r *http.Request, d content.Digest) {
	info, err := p.Backend.Head(r.Context(), d)
	if errors.Is(err, storage.ErrNotFound) {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var rng *content.Range
	status := http.StatusOK
	if h := r.Header.Get("Range"); h != "" {
		rg, err := content.ParseHTTPRange(h, info.Size)
		if err != nil {
			http.Error(w, "InvalidRange", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		rng, status = &rg, http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rg.Start, rg.End, info.Size))
	}
	rc, err := p.Backend.Get(r.Context(), d, rng)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	n := info.Size
	if rng != nil {
		n = rng.Length()
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	_, _ = io.Copy(w, &countReader{r: rc, n: &p.Bytes})
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
