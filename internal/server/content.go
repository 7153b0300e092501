package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/spool"
	"github.com/artifact-store/artstore/pkg/client"
)

// openManifest fetches a's file manifest into a spool (memory up to
// spool.MemLimit bytes, then an unlinked temporary file), verifying it
// against its digest and checking it as it arrives, and returns it without
// its chunk list, which the caller reads again from the spool: the route's
// memory does not grow with the artifact's size. Close the spool when done.
func (s *Server) openManifest(r *http.Request, a eventlog.Artifact) (content.Manifest, *spool.Spool, error) {
	rc, err := s.backend.Get(r.Context(), a.ManifestDigest, nil)
	if err != nil {
		return content.Manifest{}, nil, fmt.Errorf("manifest %s of %s: %w", a.ManifestDigest.Short(), a.Ref(), err)
	}
	defer rc.Close()
	sp := &spool.Spool{}
	m, err := content.ScanManifestBlob(io.TeeReader(rc, sp), a.ManifestDigest, content.ManifestVisitor{})
	if err != nil {
		sp.Close()
		return m, nil, fmt.Errorf("manifest %s of %s: %w", a.ManifestDigest.Short(), a.Ref(), err)
	}
	if m.Kind != content.KindFile || m.Digest != a.ContentDigest || m.Size != a.Size {
		sp.Close()
		return m, nil, fmt.Errorf("manifest %s of %s: %w: it describes %s content %s of %d bytes, the artifact was registered as %s of %d bytes",
			a.ManifestDigest.Short(), a.Ref(), content.ErrMismatch, m.Kind, m.Digest, m.Size, a.ContentDigest, a.Size)
	}
	return m, sp, nil
}

// errSent stops the scan of a manifest once the range is sent.
var errSent = errors.New("range sent")

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
	_, manifest, err := s.openManifest(r, a)
	if err != nil {
		return err
	}
	defer manifest.Close()
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
	if err := s.recordContentRead(r, c, a, rng.Length(), rs); err != nil {
		return err
	}
	h.Set("Content-Length", strconv.FormatInt(rng.Length(), 10))
	out := &deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}
	var buf bytes.Buffer
	var sent, off int64
	started := false
	_, err = content.ScanManifest(manifest.Reader(), content.ManifestVisitor{Chunk: func(i int, ch content.ChunkRef) error {
		start := off
		off += ch.Size
		if off <= rng.Start {
			return nil // before the range
		}
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
		lo, hi := max(rng.Start-start, 0), min(rng.End-start+1, ch.Size)
		if !started {
			w.WriteHeader(status)
			started = true
		}
		n, err := out.Write(buf.Bytes()[lo:hi])
		sent += int64(n)
		if err != nil {
			return fmt.Errorf("send %s: %w", a.Ref(), err)
		}
		if off > rng.End {
			return errSent
		}
		return nil
	}})
	if err != nil && !errors.Is(err, errSent) {
		s.metrics.blobBytesOut.Add(sent)
		return err
	}
	if !started {
		// Unreachable for a checked manifest: its chunks cover Size bytes.
		return fmt.Errorf("manifest %s of %s: its chunks do not cover %s", a.ManifestDigest.Short(), a.Ref(), rng)
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
