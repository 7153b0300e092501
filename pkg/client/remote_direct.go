package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// Direct transfers (docs/architecture.md, "Direct transfers"): a daemon
// whose backend presigns answers the missing check with a presigned PUT
// per missing blob, and a pull grant with presigned GETs; the client sends
// the bytes straight to the backend's server with them, without its
// token. Every byte read is still verified here, and the backend refuses
// an upload whose bytes do not have the signed SHA-256.

// urlMargin is how long before its expiry a presigned URL is replaced by a
// fresh one: a request started just before the end could be refused midway.
const urlMargin = 30 * time.Second

// uploadCache keeps the presigned uploads the missing check answered until
// the pipeline puts those blobs. Entries are taken once; expired ones are
// dropped as new ones arrive, so a push that fails leaves little behind.
type uploadCache struct {
	mu sync.Mutex
	m  map[content.Digest]api.SignedRequest
}

func (c *uploadCache) add(d content.Digest, sr api.SignedRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[content.Digest]api.SignedRequest{}
	}
	now := time.Now()
	for k, v := range c.m {
		if v.Expires.Before(now) {
			delete(c.m, k)
		}
	}
	c.m[d] = sr
}

func (c *uploadCache) take(d content.Digest) (api.SignedRequest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sr, ok := c.m[d]
	delete(c.m, d)
	return sr, ok && time.Until(sr.Expires) > urlMargin
}

// MissingSized is the missing check with sizes (transfer.SizedChecker):
// the presigned uploads of a daemon with direct transfers are kept for
// Put. An answer with missing blobs and no uploads means the daemon
// proxies: Put then goes to it without asking again.
func (b remoteBlobs) MissingSized(ctx context.Context, refs []content.ChunkRef) ([]content.Digest, error) {
	req := MissingRequest{Digests: make([]string, len(refs)), Sizes: make([]int64, len(refs))}
	for i, c := range refs {
		req.Digests[i], req.Sizes[i] = c.Digest.String(), c.Size
	}
	var resp MissingResponse
	if err := b.r.do(ctx, request{method: "POST", path: "/v1/blobs/missing", body: req, idempotent: true, out: &resp}); err != nil {
		return nil, err
	}
	missing, err := parseDigests(resp.Missing)
	if err != nil {
		return nil, err
	}
	switch {
	case len(resp.Uploads) == len(missing):
		for i, d := range missing {
			b.r.uploads.add(d, resp.Uploads[i])
		}
	case len(resp.Uploads) == 0:
		b.r.proxied.Store(true)
	default:
		return nil, fmt.Errorf("%w: daemon answered %d uploads for %d missing blobs", ErrUnavailable, len(resp.Uploads), len(missing))
	}
	return missing, nil
}

// parseDigests parses the digests of a missing check's answer.
func parseDigests(ss []string) ([]content.Digest, error) {
	out := make([]content.Digest, 0, len(ss))
	for _, s := range ss {
		d, err := content.ParseDigest(s)
		if err != nil {
			return nil, fmt.Errorf("%w: daemon answered a malformed digest: %v", ErrUnavailable, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// putDirect sends a blob's bytes on a presigned upload.
func (r *Remote) putDirect(ctx context.Context, d content.Digest, sr api.SignedRequest, size int64, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, sr.Method, sr.URL, io.NopCloser(body))
	if err != nil {
		return fmt.Errorf("%w: daemon answered an unusable upload URL: %v", ErrUnavailable, err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	for k, v := range sr.Header {
		if http.CanonicalHeaderKey(k) != "Content-Length" {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return directTransportErr(req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return directStatusErr(resp, "upload of "+d.Short())
}

// s3Code finds the error code of an S3 error document.
var s3Code = regexp.MustCompile(`<Code>([A-Za-z0-9]+)</Code>`)

// directStatusErr turns a refusal of the backend's server into an error
// the pipeline branches on: bytes that do not match (400 with S3's
// checksum codes) are an integrity failure, a missing object is
// storage.ErrNotFound, and the rest (an expired URL, throttling, 5xx) is
// ErrUnavailable, which the pipeline retries (with a new URL).
func directStatusErr(resp *http.Response, what string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	code := ""
	if m := s3Code.FindSubmatch(b); m != nil {
		code = string(m[1])
	}
	msg := fmt.Sprintf("storage backend at %s answered %d %s to the direct %s", resp.Request.URL.Host, resp.StatusCode, code, what)
	switch {
	case code == "XAmzContentSHA256Mismatch" || code == "BadDigest" || (resp.StatusCode == http.StatusBadRequest && code == ""):
		return fmt.Errorf("%s: %w", msg, content.ErrMismatch)
	case resp.StatusCode == http.StatusNotFound && code != "NoSuchBucket":
		return fmt.Errorf("%s: %w", msg, storage.ErrNotFound)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%s: %w", msg, content.ErrInvalidRange)
	}
	return app.Mark(fmt.Errorf("%s: %w", msg, storage.ErrUnavailable), ErrUnavailable)
}

// directTransportErr marks a failure to reach the backend's server.
func directTransportErr(u *url.URL, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return app.Mark(fmt.Errorf("cannot reach the storage backend at %s: %s: %w", u.Host, unavailableReason(err), storage.ErrUnavailable), ErrUnavailable)
}

// directPull is the BlobStore of a pull (or a deep verify) the daemon
// granted with presigned GETs: the manifest's came with the grant, those
// of the blobs after it (chunks; a per-file layout tree's file manifests
// too) come in pages from POST /v1/artifact/pulls/urls, in the order the
// pipeline reads them, asked for as it reaches them (blobs are fetched in
// order, a few ahead). It keeps the URLs of the last few pages only. What
// it returns is verified by the pipeline as any BlobStore's bytes are.
type directPull struct {
	r        *Remote
	id       string // the artifact's ID: the grant is for it
	rng      string
	grant    int64
	manifest content.Digest
	manReq   api.SignedRequest

	mu   sync.Mutex
	urls map[content.Digest]directURL
	// order is every listing of a URL in the order the pages gave them,
	// for eviction; listed counts each digest's listings in it. A digest
	// listed again (a repeated chunk, identical files' manifest) stays
	// until its last listing is evicted, so a URL is never dropped before
	// the pipeline reaches the place a recent page lists it.
	order  []content.Digest
	listed map[content.Digest]int
	next   int
	done   bool
}

type directURL struct {
	req   api.SignedRequest
	index int
}

// keepURLs bounds the chunk URLs a directPull keeps.
const keepURLs = 3 * app.PullURLPage

var _ transfer.BlobStore = (*directPull)(nil)

func (p *directPull) Missing(context.Context, []content.Digest) ([]content.Digest, error) {
	return nil, errors.New("direct pull: no missing check")
}

func (p *directPull) Put(context.Context, content.Digest, int64, io.Reader) error {
	return errors.New("direct pull: no uploads")
}

// Get reads blob d (or a range of it) on its presigned GET. A URL the
// server refuses as expired is asked for again once.
func (p *directPull) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	if d == p.manifest {
		return p.r.getDirect(ctx, d, p.manReq, rng)
	}
	u, err := p.url(ctx, d)
	if err != nil {
		return nil, err
	}
	if time.Until(u.req.Expires) < urlMargin {
		if u, err = p.refresh(ctx, d, u.index); err != nil {
			return nil, err
		}
	}
	return p.r.getDirect(ctx, d, u.req, rng)
}

// url returns chunk d's URL, asking for pages until one has it.
func (p *directPull) url(ctx context.Context, d content.Digest) (directURL, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if u, ok := p.urls[d]; ok {
			return u, nil
		}
		if p.done {
			return directURL{}, fmt.Errorf("%w: the daemon's grant lists no chunk %s", ErrUnavailable, d.Short())
		}
		if err := p.page(ctx, p.next); err != nil {
			return directURL{}, err
		}
	}
}

// refresh asks again for the page holding chunk index i.
func (p *directPull) refresh(ctx context.Context, d content.Digest, i int) (directURL, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next, done := p.next, p.done
	err := p.page(ctx, i)
	p.next, p.done = next, done
	if err != nil {
		return directURL{}, err
	}
	u, ok := p.urls[d]
	if !ok {
		return directURL{}, fmt.Errorf("%w: the daemon's grant no longer lists chunk %s", ErrUnavailable, d.Short())
	}
	return u, nil
}

// page asks for the chunk URLs from index from on; p.mu is held.
func (p *directPull) page(ctx context.Context, from int) error {
	q := refQuery(p.id)
	q.Set("grant", strconv.FormatInt(p.grant, 10))
	q.Set("from", strconv.Itoa(from))
	if p.rng != "" {
		q.Set("range", p.rng)
	}
	var out api.PullURLs
	if err := p.r.do(ctx, request{method: "POST", path: "/v1/artifact/pulls/urls", query: q, idempotent: true, out: &out}); err != nil {
		return err
	}
	if p.urls == nil {
		p.urls, p.listed = map[content.Digest]directURL{}, map[content.Digest]int{}
	}
	for _, c := range out.Chunks {
		d, err := content.ParseDigest(c.Digest)
		if err != nil {
			return fmt.Errorf("%w: daemon answered a malformed digest: %v", ErrUnavailable, err)
		}
		p.order = append(p.order, d)
		p.listed[d]++
		p.urls[d] = directURL{req: c.Get, index: c.Index}
	}
	for len(p.order) > keepURLs {
		d := p.order[0]
		p.order = p.order[1:]
		if p.listed[d]--; p.listed[d] == 0 {
			delete(p.listed, d)
			delete(p.urls, d)
		}
	}
	if !out.Done && out.Next <= from {
		return fmt.Errorf("%w: daemon answered a page of chunk URLs that does not advance (from %d, next %d)", ErrUnavailable, from, out.Next)
	}
	p.next, p.done = out.Next, out.Done
	return nil
}

// getDirect sends a presigned GET, with a Range header for rng.
func (r *Remote) getDirect(ctx context.Context, d content.Digest, sr api.SignedRequest, rng *content.Range) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, sr.Method, sr.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: daemon answered an unusable download URL: %v", ErrUnavailable, err)
	}
	for k, v := range sr.Header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	want := http.StatusOK
	if rng != nil {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End))
		want = http.StatusPartialContent
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, directTransportErr(req.URL, err)
	}
	if resp.StatusCode != want {
		defer resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil, fmt.Errorf("%w: storage backend answered %d to a direct GET of %s, want %d", ErrUnavailable, resp.StatusCode, d.Short(), want)
		}
		return nil, directStatusErr(resp, "download of "+d.Short())
	}
	return transportBody{ReadCloser: resp.Body, r: r}, nil
}
