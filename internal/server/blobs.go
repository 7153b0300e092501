package server

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// maxMissingBatch caps the digests of one POST /v1/blobs/missing.
const maxMissingBatch = 10000

func pathDigest(r *http.Request) (content.Digest, error) {
	d, err := content.ParseDigest(r.PathValue("digest"))
	if err != nil {
		return d, codeErr(api.CodeInvalid, err.Error())
	}
	return d, nil
}

func (s *Server) handleBlobHead(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	info, err := s.backend.Head(r.Context(), d)
	if err != nil {
		return blobErr(err)
	}
	h := w.Header()
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) handleBlobGet(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	return s.serveBlob(w, r, c, d)
}

// handleArtifactBlobGet serves GET and HEAD
// /v1/artifact/blobs/{digest}?ref=: blob d as one of the blobs of the
// artifact ref (app.Service.ArtifactBlob), for a token limited to a name
// prefix pulling a directory. It records nothing: the pull's grant did.
func (s *Server) handleArtifactBlobGet(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.ArtifactBlob(r.Context(), c.principal(r), ref, d); err != nil {
		return err
	}
	return s.serveBlob(w, r, c, d)
}

// handleArtifactBlobsMissing serves POST
// /v1/artifact/blobs/missing?ref=: the missing check of
// /v1/blobs/missing for the blobs of the artifact ref
// (app.Service.ArtifactBlobsMissing), so a prefixed token's verify asks
// for hundreds of chunks at once instead of a HEAD each.
func (s *Server) handleArtifactBlobsMissing(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	var req api.MissingRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Digests) > maxMissingBatch {
		return codeErr(api.CodeTooLarge, fmt.Sprintf("at most %d digests per request", maxMissingBatch))
	}
	out, err := s.svc.ArtifactBlobsMissing(r.Context(), c.principal(r), ref, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// serveBlob answers a GET or HEAD of blob d, with a Range.
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, c *call, d content.Digest) error {
	var (
		rng  *content.Range
		size int64 = -1
	)
	if hr := r.Header.Get("Range"); hr != "" {
		info, err := s.backend.Head(r.Context(), d)
		if err != nil {
			return blobErr(err)
		}
		size = info.Size
		rg, err := content.ParseHTTPRange(hr, info.Size)
		if err != nil {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
			return codeErr(api.CodeRangeNotSatisfiable, err.Error())
		}
		rng = &rg
	}
	rc, err := s.backend.Get(r.Context(), d, rng)
	if err != nil {
		return blobErr(err)
	}
	defer rc.Close()
	if size < 0 {
		// A whole-blob Get of a file-backed store returns the file: its
		// size saves a second lookup (the hot path of pulls).
		if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
			if fi, err := st.Stat(); err == nil {
				size = fi.Size()
			}
		}
		if size < 0 {
			info, err := s.backend.Head(r.Context(), d)
			if err != nil {
				return blobErr(err)
			}
			size = info.Size
		}
	}
	info := storage.Info{Size: size}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Accept-Ranges", "bytes")
	status, n := http.StatusOK, info.Size
	if rng != nil {
		status, n = http.StatusPartialContent, rng.Length()
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.End, info.Size))
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	bp := s.copyBufs.Get().(*[]byte)
	defer s.copyBufs.Put(bp)
	// The struct hides rc's WriteTo, so the pooled buffer is used.
	written, err := io.CopyBuffer(&deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}, struct{ io.Reader }{rc}, *bp)
	s.metrics.blobBytesOut.Add(written)
	if err != nil {
		return fmt.Errorf("send blob %s: %w", d.Short(), err)
	}
	return nil
}

func (s *Server) handleBlobPut(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	if r.ContentLength < 0 {
		return apiErr(http.StatusLengthRequired, "invalid", "a blob PUT needs a Content-Length")
	}
	if r.ContentLength > s.limits.MaxBlob {
		return codeErr(api.CodeTooLarge, fmt.Sprintf("blob of %d bytes is larger than the limit of %d bytes", r.ContentLength, s.limits.MaxBlob))
	}
	body := &deadlineReader{r: r.Body, c: c, d: s.limits.IOTimeout}
	created, err := s.backend.Put(r.Context(), d, r.ContentLength, body)
	if err != nil {
		return err
	}
	s.metrics.blobBytesIn.Add(r.ContentLength)
	status := http.StatusCreated
	if !created {
		s.metrics.dedupHits.Add(1)
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/blobs/"+d.String())
	w.WriteHeader(status)
	return nil
}

// handleBlobsMissing answers which blobs the backend lacks, and, when the
// request gives sizes, direct transfers are on and the token may write,
// a presigned upload for each (app.Service.BlobsMissing). A read token
// gets no uploads: it may not PUT blobs either.
func (s *Server) handleBlobsMissing(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.MissingRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Digests) > maxMissingBatch {
		return codeErr(api.CodeTooLarge, fmt.Sprintf("at most %d digests per request", maxMissingBatch))
	}
	direct := s.direct
	if c.token.Scope < auth.ScopeWrite {
		direct = nil
	}
	out, err := s.svc.BlobsMissing(r.Context(), c.principal(r), req, direct)
	if err != nil {
		return err
	}
	s.metrics.dedupHits.Add(int64(max(0, len(req.Digests)-len(out.Missing))))
	s.metrics.directUploads.Add(int64(len(out.Uploads)))
	return writeJSON(w, http.StatusOK, out)
}

// deadlineWriter extends the connection's deadlines as the response makes
// progress, so a large download is bounded by stalls, not by its length.
type deadlineWriter struct {
	w    io.Writer
	c    *call
	d    time.Duration
	last time.Time
}

func (dw *deadlineWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(dw.last) > time.Second {
		dw.last = now
		dw.c.extendDeadlines(dw.d)
	}
	return dw.w.Write(p)
}

// deadlineReader is deadlineWriter for request bodies.
type deadlineReader struct {
	r    io.Reader
	c    *call
	d    time.Duration
	last time.Time
}

func (dr *deadlineReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(dr.last) > time.Second {
		dr.last = now
		dr.c.extendDeadlines(dr.d)
	}
	return dr.r.Read(p)
}
