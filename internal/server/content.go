package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/client"
)

// maxManifest caps the manifest a content request reads into memory.
const maxManifest = 64 << 20

// readManifest fetches and verifies a file manifest.
func (s *Server) readManifest(r *http.Request, a eventlog.Artifact) (content.Manifest, error) {
	info, err := s.backend.Head(r.Context(), a.ManifestDigest)
	if err != nil {
		return content.Manifest{}, fmt.Errorf("manifest %s of %s: %w", a.ManifestDigest.Short(), a.Ref(), err)
	}
	if info.Size > maxManifest {
		return content.Manifest{}, fmt.Errorf("manifest %s of %s is %d bytes, more than %d", a.ManifestDigest.Short(), a.Ref(), info.Size, maxManifest)
	}
	rc, err := s.backend.Get(r.Context(), a.ManifestDigest, nil)
	if err != nil {
		return content.Manifest{}, fmt.Errorf("manifest %s of %s: %w", a.ManifestDigest.Short(), a.Ref(), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(content.NewVerifyingReader(rc, a.ManifestDigest, info.Size))
	if err != nil {
		return content.Manifest{}, fmt.Errorf("manifest %s of %s: %w", a.ManifestDigest.Short(), a.Ref(), err)
	}
	m, err := content.ParseManifest(b)
	if err != nil {
		return m, fmt.Errorf("manifest %s of %s: %w", a.ManifestDigest.Short(), a.Ref(), err)
	}
	if m.Digest != a.ContentDigest || m.Size != a.Size {
		return m, fmt.Errorf("manifest %s of %s: %w: it describes %s of %d bytes, the artifact was registered as %s of %d bytes",
			a.ManifestDigest.Short(), a.Ref(), content.ErrMismatch, m.Digest, m.Size, a.ContentDigest, a.Size)
	}
	return m, nil
}

// handleContent streams an artifact's bytes (or a Range of them). It
// appends the retrieval record before it sends anything, so no bytes leave
// without a record (if the log cannot take it, the request fails with
// nothing sent); the record counts the bytes the response carries. Each chunk is
// read whole and verified before any of its bytes are sent, so a client
// never receives unverified bytes; a chunk that fails verification after
// the status line aborts the connection. Memory is one chunk per request.
func (s *Server) handleContent(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	if a.MediaType == client.TreeMediaType {
		return apiErr(http.StatusBadRequest, "invalid", fmt.Sprintf("%s is a directory artifact; pull it with `artstore pull -o DIR`", a.Ref()))
	}
	m, err := s.readManifest(r, a)
	if err != nil {
		return err
	}
	rng := content.Range{Start: 0, End: a.Size - 1}
	partial := false
	if hr := r.Header.Get("Range"); hr != "" {
		if rng, err = content.ParseHTTPRange(hr, a.Size); err != nil {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", a.Size))
			return apiErr(http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", err.Error())
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
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.End, a.Size))
	}
	rs := ""
	if partial {
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
	first, last, off, err := m.ChunkSpan(rng)
	if err != nil {
		return err
	}
	if err := s.recordContentRead(r, c, a, rng.Length(), rs); err != nil {
		return err
	}
	h.Set("Content-Length", strconv.FormatInt(rng.Length(), 10))
	out := &deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}
	var buf bytes.Buffer
	var sent int64
	for i := first; i <= last; i++ {
		ch := m.Chunks[i]
		buf.Reset()
		rc, err := s.backend.Get(r.Context(), ch.Digest, nil)
		if err != nil {
			return fmt.Errorf("chunk %d (%s) of %s: %w", i, ch.Digest.Short(), a.Ref(), err)
		}
		_, err = buf.ReadFrom(content.NewVerifyingReader(rc, ch.Digest, ch.Size))
		rc.Close()
		if err != nil {
			return fmt.Errorf("chunk %d (%s) of %s: %w", i, ch.Digest.Short(), a.Ref(), err)
		}
		b := buf.Bytes()
		lo, hi := int64(0), ch.Size
		if off < rng.Start {
			lo = rng.Start - off
		}
		if off+ch.Size-1 > rng.End {
			hi = rng.End - off + 1
		}
		if i == first {
			w.WriteHeader(status)
		}
		n, err := out.Write(b[lo:hi])
		sent += int64(n)
		if err != nil {
			return fmt.Errorf("send %s: %w", a.Ref(), err)
		}
		off += ch.Size
	}
	s.metrics.blobBytesOut.Add(sent)
	return nil
}

// recordContentRead appends the retrieval record of a content GET.
func (s *Server) recordContentRead(r *http.Request, c *call, a eventlog.Artifact, n int64, rng string) error {
	err := s.reg.RecordRetrieval(r.Context(), c.actor(), a.ID, registry.Retrieval{Bytes: n, Range: rng, Client: clientName(r)})
	if err != nil {
		return fmt.Errorf("append the retrieval record of %s: %w", a.Ref(), err)
	}
	s.notify()
	return nil
}
