package server

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// openContent fetches a's file manifest with the transfer package's
// verified, ranged reader (transfer.File), which checks it against its
// digest and against what a was registered as (kind, content digest,
// size). The chunk list stays in a spool (memory up to spool.MemLimit
// bytes, then an unlinked temporary file): the route's memory does not grow
// with the artifact's size. Close the file when done.
func (s *Server) openContent(r *http.Request, a eventlog.Artifact) (*transfer.File, error) {
	check := func(m content.Manifest) error {
		if m.Kind != content.KindFile || m.Digest != a.ContentDigest || m.Size != a.Size {
			return fmt.Errorf("%w: it describes %s content %s of %d bytes, the artifact was registered as %s of %d bytes",
				content.ErrMismatch, m.Kind, m.Digest, m.Size, a.ContentDigest, a.Size)
		}
		return nil
	}
	f, err := transfer.OpenFile(r.Context(), a.ManifestDigest, transfer.FromBackend(s.backend), contentPullOptions(check))
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", a.Ref(), err)
	}
	return f, nil
}

// contentPullOptions makes the content route read as it always has: one
// chunk at a time, in a buffer of the largest chunk it sends (BufferSize
// is raised to that), with no retries (a failed backend read fails the
// request, and the client retries it).
func contentPullOptions(check func(content.Manifest) error) transfer.PullOptions {
	return transfer.PullOptions{
		Concurrency: 1,
		ReadAhead:   1,
		BufferSize:  1,
		Retry:       transfer.RetryPolicy{MaxAttempts: 1},
		Check:       check,
	}
}

// handleContent streams an artifact's bytes (or a Range of them). It
// appends the retrieval record before it sends anything, so no bytes leave
// without a record (if the log cannot take it, the request fails with
// nothing sent); the record counts the bytes the response carries. The
// bytes come from transfer.File, which verifies each chunk whole before any
// of its bytes are sent, so a client never receives unverified bytes; a
// chunk that fails verification after the status line aborts the
// connection. Memory is one chunk per request.
func (s *Server) handleContent(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	plan, err := s.svc.PlanPull(r.Context(), c.principal(r), ref, api.KindFile, "")
	if err != nil {
		return err
	}
	a := plan.Artifact
	f, err := s.openContent(r, a)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := content.Range{Start: 0, End: a.Size - 1}
	partial := false
	if hr := r.Header.Get("Range"); hr != "" {
		if rng, err = content.ParseHTTPRange(hr, a.Size); err != nil {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", a.Size))
			return codeErr(api.CodeRangeNotSatisfiable, err.Error())
		}
		partial = true
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if a.MediaType != "" {
		h.Set("Content-Type", a.MediaType)
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+a.ContentDigest.String()+`"`)
	h.Set("X-Artifact-ID", a.ID)
	h.Set("X-Artifact-Ref", a.Ref())
	h.Set("X-Content-Digest", a.ContentDigest.String())
	status := http.StatusOK
	rs := ""
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.End, a.Size))
		rs = rng.String()
	}
	if r.Method == http.MethodHead {
		// The mux routes HEAD to GET handlers: headers only, and no
		// retrieval record, since nothing is read.
		h.Set("Content-Length", strconv.FormatInt(rng.Length(), 10))
		w.WriteHeader(status)
		return nil
	}
	if a.Size == 0 {
		if err := s.recordContentRead(r, c, a, 0, rs); err != nil {
			return err
		}
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
		return nil
	}
	if err := s.recordContentRead(r, c, a, rng.Length(), rs); err != nil {
		return err
	}
	h.Set("Content-Length", strconv.FormatInt(rng.Length(), 10))
	out := &headerFirstWriter{w: w, out: &deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}, status: status}
	res, err := f.WriteRange(r.Context(), out, &rng)
	s.metrics.blobBytesOut.Add(res.Written)
	if err != nil {
		return fmt.Errorf("content of %s: %w", a.Ref(), err)
	}
	return nil
}

// headerFirstWriter writes the status line before the first bytes of the body,
// so that an error before any byte is verified still gets an error
// response.
type headerFirstWriter struct {
	w      http.ResponseWriter
	out    io.Writer
	status int
	// header is set on the response just before the status line.
	header  map[string]string
	started bool
}

func (sw *headerFirstWriter) Write(b []byte) (int, error) {
	if !sw.started {
		for k, v := range sw.header {
			sw.w.Header().Set(k, v)
		}
		sw.w.WriteHeader(sw.status)
		sw.started = true
	}
	return sw.out.Write(b)
}

// recordContentRead appends the retrieval record of a content GET.
func (s *Server) recordContentRead(r *http.Request, c *call, a eventlog.Artifact, n int64, rng string) error {
	return s.svc.RecordRetrieval(r.Context(), c.principal(r), a, n, rng)
}
