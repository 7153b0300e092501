package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// initOCI sets up the /v2 API's state. It creates the upload directory
// (mode 0700: uploads are other people's bytes) when it does not exist, so
// a wrong path fails the start, not every upload.
func (s *Server) initOCI(o OCIOptions) error {
	if o.UploadDir != "" {
		if err := os.MkdirAll(o.UploadDir, 0o700); err != nil {
			return fmt.Errorf("server: the OCI upload directory (--oci-upload-dir): %w", err)
		}
	}
	s.ociAnonymousPull = o.AnonymousPull
	s.ociMaxBlob = o.MaxBlob
	if s.ociMaxBlob <= 0 {
		s.ociMaxBlob = 64 << 30
	}
	s.uploads = newOCIUploads(o.UploadDir, o.UploadExpiry, o.MaxUploads, s.now)
	s.finishing = make(chan struct{}, 2)
	return nil
}

// ociDigest is an OCI digest (app.OCIDigest).
type ociDigest = app.OCIDigest

func parseOCIDigest(v string) (ociDigest, error) { return app.ParseOCIDigest(v) }

// handleOCIBlobGet serves GET and HEAD /v2/<name>/blobs/<digest>, with a
// Range. The bytes come from transfer.File, which verifies every chunk
// against its digest in the manifest before any of it is sent.
//
// A whole blob is sent as a range too (WriteRange with the blob's full
// range), so its bytes are hashed once, per chunk, not a second time into
// the content digest: the manifest is read by its own digest (so it is the
// one stored), check holds its content digest and size to the blob's, and
// every chunk it lists is verified before it is sent; a second digest of
// the same bytes would only catch a manifest whose chunk list disagrees with
// its content digest, which Push never writes (it computes both from the
// same bytes), at the cost of a second SHA-256 pass on a core the client
// needs for its own.
func (s *Server) handleOCIBlobGet(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	d, err := parseOCIDigest(r.PathValue("reference"))
	if err != nil {
		return err
	}
	b, err := s.svc.OCIBlobStat(r.Context(), c.principal(r), name, d)
	if err != nil {
		return err
	}
	rng := content.Range{Start: 0, End: b.Size - 1}
	status := http.StatusOK
	h := w.Header()
	if hr := r.Header.Get("Range"); hr != "" {
		if rng, err = content.ParseHTTPRange(hr, b.Size); err != nil {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
			return ociErr(http.StatusRequestedRangeNotSatisfiable, "BLOB_UNKNOWN", err.Error())
		}
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.End, b.Size))
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Length", strconv.FormatInt(rng.Length(), 10))
	if r.Method == http.MethodHead || b.Size == 0 {
		w.WriteHeader(status)
		return nil
	}
	if b.Manifest.IsZero() { // the empty JSON blob every repository serves
		w.WriteHeader(status)
		body := app.OCIEmptyJSON()
		_, err := w.Write(body[rng.Start : rng.End+1])
		return err
	}
	if b.InStream {
		return damagedBlob(s.writeOCISection(w, r, c, name, d, b, rng, status))
	}
	if b.Size <= ociSmallBlob {
		if done, err := s.writeOCISmall(w, r, d, b, rng, status); done || err != nil {
			return damagedBlob(err)
		}
	}
	check := func(m content.Manifest) error {
		if m.Kind != content.KindFile || m.Digest != b.Content || m.Size != b.Size {
			return fmt.Errorf("%w: it describes %s content %s of %d bytes, the blob was linked as %s of %d bytes",
				content.ErrMismatch, m.Kind, m.Digest, m.Size, b.Content, b.Size)
		}
		return nil
	}
	f, err := s.openOCIBlob(r, name, d, b.Manifest, ociPullOptions(check))
	if err != nil {
		return err
	}
	defer f.Close()
	out := &headerFirstWriter{w: w, out: &deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}, status: status}
	res, err := f.WriteRange(r.Context(), out, &rng)
	s.metrics.blobBytesOut.Add(res.Written)
	if err != nil {
		return damagedBlob(fmt.Errorf("blob %s of %s: %w", d, name, err))
	}
	return nil
}

// damagedBlob marks a stored blob that failed verification as an integrity
// failure (500): on a read, bytes that do not match their digest are the
// store's fault, not a DIGEST_INVALID of the client's.
func damagedBlob(err error) error {
	if errors.Is(err, content.ErrMismatch) {
		return app.Mark(err, api.ErrIntegrity)
	}
	return err
}

// ociSmallBlob is the largest blob writeOCISmall serves from memory.
const ociSmallBlob = 256 << 10

// writeOCISmall serves a small blob from its one chunk: content smaller
// than the chunker's minimum is stored as a single chunk, whose digest is
// the content digest. It reads the chunk into memory and verifies it
// before the status line, so a damaged chunk fails the request cleanly.
// done is false when the content is not stored as one chunk (nothing was
// written): the caller serves it through its manifest.
func (s *Server) writeOCISmall(w http.ResponseWriter, r *http.Request, d ociDigest, b app.OCIBlob, rng content.Range, status int) (done bool, err error) {
	rc, err := s.backend.Get(r.Context(), b.Content, nil)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob %s: %w", d, err)
	}
	defer rc.Close()
	buf := make([]byte, b.Size+1) // one byte more: a longer blob is damaged
	n, err := io.ReadFull(rc, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false, fmt.Errorf("blob %s: %w", d, err)
	}
	buf = buf[:n]
	if got := content.FromBytes(buf); got != b.Content || int64(len(buf)) != b.Size {
		return false, fmt.Errorf("blob %s: %w", d, &content.MismatchError{Expected: b.Content, Actual: got, ExpectedSize: b.Size, ActualSize: int64(len(buf))})
	}
	w.WriteHeader(status)
	n, err = w.Write(buf[rng.Start : rng.End+1])
	s.metrics.blobBytesOut.Add(int64(n))
	return true, err
}

// ociPullOptions is how a /v2 blob GET reads a blob stored as chunks:
// ociPullFetchers fetchers, so that chunks are read from the backend (with
// direct I/O from the local one: from the device, not the page cache)
// while others are verified, all ahead of the writer, within a buffer of
// ociPullBuffer bytes (raised to the largest chunk), which bounds the
// request's memory. One fetcher alone leaves the device idle while it
// hashes and the processor idle while it reads (docs/benchmarks.md, "OCI
// /v2 against the distribution registry").
func ociPullOptions(check func(content.Manifest) error) transfer.PullOptions {
	o := contentPullOptions(check)
	o.Concurrency, o.ReadAhead, o.BufferSize = ociPullFetchers, ociPullFetchers, ociPullBuffer
	return o
}

// ociPullFetchers and ociPullBuffer: the chunk fetches a /v2 blob GET has
// in flight and the chunk bytes it holds at once (three of the largest
// chunks the default chunker cuts). On the 2-core VM, a 512 MiB blob just
// pushed (so read from the device) took 1.3 s with two fetchers and 16 MiB,
// 0.9 s with three and 24 MiB, no less with four and 32 MiB (curl, medians
// of five, under other load).
const (
	ociPullFetchers = 3
	ociPullBuffer   = 24 << 20
)

// openOCIBlob opens manifest md of blob d of repository name for reading
// with opts (whose Check accepts it); a manifest that is gone (collected)
// is BLOB_UNKNOWN.
func (s *Server) openOCIBlob(r *http.Request, name string, d ociDigest, md content.Digest, opts transfer.PullOptions) (*transfer.File, error) {
	f, err := transfer.OpenFile(r.Context(), md, transfer.FromBackend(s.backend), opts)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ociErr(http.StatusNotFound, "BLOB_UNKNOWN", fmt.Sprintf("repository %s has no blob %s", name, d))
		}
		return nil, fmt.Errorf("blob %s of %s: %w", d, name, err)
	}
	return f, nil
}

// writeOCISection sends rng of blob b, a file of a stream-layout tree (a
// directory artifact served through /v2): a section of the tree's stream,
// verified chunk by chunk, and, sent whole, against its digest.
func (s *Server) writeOCISection(w http.ResponseWriter, r *http.Request, c *call, name string, d ociDigest, b app.OCIBlob, rng content.Range, status int) error {
	check := func(m content.Manifest) error {
		if !m.Stream() || b.Offset < 0 || b.Offset > m.Size-b.Size {
			return fmt.Errorf("%w: blob %s is %d bytes at %d of the stream of tree %s, which has %d",
				content.ErrMismatch, d, b.Size, b.Offset, b.Manifest.Short(), m.Size)
		}
		return nil
	}
	f, err := s.openOCIBlob(r, name, d, b.Manifest, contentPullOptions(check))
	if err != nil {
		return err
	}
	defer f.Close()
	var part *content.Range
	if rng.Start != 0 || rng.End != b.Size-1 {
		part = &rng
	}
	out := &headerFirstWriter{w: w, out: &deadlineWriter{w: w, c: c, d: s.limits.IOTimeout}, status: status}
	res, err := f.WriteSection(r.Context(), out, b.Offset, b.Size, b.Content, part)
	s.metrics.blobBytesOut.Add(res.Written)
	if err != nil {
		return fmt.Errorf("blob %s of %s: %w", d, name, err)
	}
	return nil
}

// handleOCIBlobDelete unlinks a blob from a repository. Its bytes stay
// while anything else references them; gc collects them otherwise.
func (s *Server) handleOCIBlobDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	d, err := parseOCIDigest(r.PathValue("reference"))
	if err != nil {
		return err
	}
	if err := s.svc.OCIUnlinkBlob(r.Context(), c.principal(r), name, d); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// handleOCIUploadStart opens an upload session, or mounts a blob
// (?mount=), or takes a whole blob in one request (?digest=).
func (s *Server) handleOCIUploadStart(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, err := parseOCIDigest(m)
		if err != nil {
			return err
		}
		done, err := s.ociMount(r, c, name, d, q.Get("from"), q.Has("from"))
		if err != nil || done {
			if done {
				s.blobCreated(w, name, d)
			}
			return err
		}
	}
	var d ociDigest
	monolithic := q.Has("digest")
	if monolithic {
		if d, err = parseOCIDigest(q.Get("digest")); err != nil {
			return err
		}
	}
	if monolithic {
		if done, err := s.storeStreaming(r, c, name, d); done || err != nil {
			if done {
				s.blobCreated(w, name, d)
			}
			return err
		}
	}
	u, err := s.uploads.Open(name, c.token.ID)
	if err != nil {
		return err
	}
	if !monolithic {
		s.uploadAccepted(w, u, http.StatusAccepted)
		return nil
	}
	defer s.uploads.Remove(u)
	u.busy.Store(true) // the session's one writer, never reaped mid-request
	if _, err := u.Append(&deadlineReader{r: r.Body, c: c, d: s.limits.IOTimeout}, -1, r.ContentLength, s.ociMaxBlob); err != nil {
		return err
	}
	if err := s.finishUpload(r, c, u, d); err != nil {
		return err
	}
	s.blobCreated(w, name, d)
	return nil
}

// ociMount links blob d of repository from into name (app.Service.OCIMount).
func (s *Server) ociMount(r *http.Request, c *call, name string, d ociDigest, from string, hasFrom bool) (done bool, err error) {
	return s.svc.OCIMount(r.Context(), c.principal(r), name, d, from, hasFrom)
}

// blobCreated answers 201 for blob d of repository name.
func (s *Server) blobCreated(w http.ResponseWriter, name string, d ociDigest) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadAccepted answers with the session's location and range.
func (s *Server) uploadAccepted(w http.ResponseWriter, u *ociUpload, status int) {
	h := w.Header()
	h.Set("Location", "/v2/"+u.repo+"/blobs/uploads/"+u.id)
	h.Set("Docker-Upload-UUID", u.id)
	h.Set("Range", fmt.Sprintf("0-%d", max(u.Size()-1, 0)))
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// uploadFor returns the call's session: of its repository and its token.
func (s *Server) uploadFor(r *http.Request, c *call) (*ociUpload, error) {
	name, err := c.ociName(r)
	if err != nil {
		return nil, err
	}
	return s.uploads.Get(r.PathValue("reference"), name, c.token.ID)
}

func (s *Server) handleOCIUploadStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.uploadFor(r, c)
	if err != nil {
		return err
	}
	s.uploadAccepted(w, u, http.StatusNoContent)
	return nil
}

func (s *Server) handleOCIUploadCancel(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.uploadFor(r, c)
	if err != nil {
		return err
	}
	s.uploads.Remove(u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// appendChunk writes the request's body to the session: a chunk with a
// Content-Range, or a stream without one.
func (s *Server) appendChunk(w http.ResponseWriter, r *http.Request, c *call, u *ociUpload) error {
	start, length := int64(-1), r.ContentLength
	if cr := r.Header.Get("Content-Range"); cr != "" {
		a, b, err := parseContentRange(cr)
		if err != nil {
			return ociErr(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", err.Error())
		}
		if length >= 0 && length != b-a+1 {
			return ociErr(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", fmt.Sprintf("Content-Range %d-%d is %d bytes, Content-Length says %d", a, b, b-a+1, length))
		}
		start, length = a, b-a+1
	}
	_, err := u.Append(&deadlineReader{r: r.Body, c: c, d: s.limits.IOTimeout}, start, length, s.ociMaxBlob)
	if errors.Is(err, errOutOfOrder) {
		h := w.Header()
		h.Set("Location", "/v2/"+u.repo+"/blobs/uploads/"+u.id)
		h.Set("Range", fmt.Sprintf("0-%d", max(u.Size()-1, 0)))
	}
	return err
}

func (s *Server) handleOCIUploadPatch(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.uploadFor(r, c)
	if err != nil {
		return err
	}
	if !u.busy.CompareAndSwap(false, true) {
		return errUploadBusy
	}
	defer u.busy.Store(false)
	if err := s.appendChunk(w, r, c, u); err != nil {
		return err
	}
	s.uploadAccepted(w, u, http.StatusAccepted)
	return nil
}

// handleOCIUploadPut completes a session: an optional last chunk, then
// the digest check, then the bytes are stored and linked.
func (s *Server) handleOCIUploadPut(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.uploadFor(r, c)
	if err != nil {
		return err
	}
	d, err := parseOCIDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	if !u.busy.CompareAndSwap(false, true) {
		return errUploadBusy
	}
	defer u.busy.Store(false)
	if u.Size() == 0 && r.ContentLength != 0 && r.Header.Get("Content-Range") == "" {
		// The whole blob in the closing PUT (what oras and crane send).
		done, err := s.storeStreaming(r, c, u.repo, d)
		if done || err != nil {
			s.uploads.Remove(u)
			if done {
				s.blobCreated(w, u.repo, d)
			}
			return err
		}
	}
	if r.ContentLength != 0 || r.Header.Get("Content-Range") != "" {
		if err := s.appendChunk(w, r, c, u); err != nil {
			return err
		}
	}
	defer s.uploads.Remove(u)
	if err := s.finishUpload(r, c, u, d); err != nil {
		return err
	}
	s.blobCreated(w, u.repo, d)
	return nil
}

// finishUpload checks the session's bytes against d, then stores them as
// artstore push stores a file (chunks and a file manifest, deduplicated
// against everything in the backend) and links the blob into the
// repository. Bytes that do not match d store nothing.
func (s *Server) finishUpload(r *http.Request, c *call, u *ociUpload, d ociDigest) error {
	size := u.Size()
	var got []byte
	if d.Alg == "sha256" {
		got = u.sum256()
	} else {
		h := d.NewHash()
		if _, err := io.Copy(h, u.reader()); err != nil {
			return fmt.Errorf("upload session: read back: %w", err)
		}
		got = h.Sum(nil)
	}
	want, _ := hex.DecodeString(d.Hex)
	if !bytes.Equal(got, want) {
		return ociErr(http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("the %d bytes uploaded have digest %s:%x, not %s; nothing was stored", size, d.Alg, got, d))
	}
	select {
	case s.finishing <- struct{}{}:
		defer func() { <-s.finishing }()
	case <-r.Context().Done():
		return r.Context().Err()
	}
	// Storing a large blob takes a while without reading the request:
	// keep the connection's deadlines ahead of it.
	stop := s.keepDeadlines(c)
	res, err := transfer.Push(r.Context(), u.reader(), transfer.FromBackend(s.backend), transfer.PushOptions{ExpectedSize: size})
	stop()
	if err != nil {
		return fmt.Errorf("store blob %s: %w", d, err)
	}
	if res.Size != size || (d.Alg == "sha256" && res.ContentDigest.Hex() != d.Hex) {
		return fmt.Errorf("store blob %s: %w: stored %d bytes of %s", d, content.ErrMismatch, res.Size, res.ContentDigest)
	}
	return s.linkStored(r, c, u.repo, d, res)
}

// linkStored counts a stored blob's bytes in the metrics and links it
// into repo as d.
func (s *Server) linkStored(r *http.Request, c *call, repo string, d ociDigest, res transfer.PushResult) error {
	s.metrics.blobBytesIn.Add(res.UploadedBytes)
	s.metrics.ociDedupBytes.Add(res.DeduplicatedBytes)
	b := app.OCIBlob{Size: res.Size, Content: res.ContentDigest, Manifest: res.ManifestDigest}
	return s.svc.OCILinkBlob(r.Context(), c.principal(r), repo, d, b)
}

// storeStreaming stores a whole blob sent in one request body as it
// arrives: the push pipeline chunks, hashes and stages it while the body is
// read, and only once its digest and size are checked does anything
// become visible (transfer.PushOptions.Confirm), so bytes that do not match
// d still store nothing, and the blob costs one pass instead of a spool
// written and read back. It takes a sha256 digest on a backend that stages
// (the local one) and one of the finishing slots; done is false, with
// nothing read, when it cannot (the caller spools the body).
func (s *Server) storeStreaming(r *http.Request, c *call, repo string, d ociDigest) (done bool, err error) {
	if d.Alg != "sha256" {
		return false, nil
	}
	if _, ok := s.backend.(storage.Stager); !ok {
		return false, nil
	}
	select {
	case s.finishing <- struct{}{}:
		defer func() { <-s.finishing }()
	default:
		return false, nil
	}
	length := r.ContentLength
	if length > s.ociMaxBlob {
		return false, errBlobTooLarge(s.ociMaxBlob)
	}
	confirm := func(sum content.Digest, size int64) error {
		switch {
		case size > s.ociMaxBlob:
			return errBlobTooLarge(s.ociMaxBlob)
		case length >= 0 && size != length:
			return ociErr(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", fmt.Sprintf("Content-Length says %d bytes, the body had %d", length, size))
		case sum.Hex() != d.Hex:
			return ociErr(http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("the %d bytes uploaded have digest %s, not %s; nothing was stored", size, sum, d))
		}
		return nil
	}
	body := io.LimitReader(&deadlineReader{r: r.Body, c: c, d: s.limits.IOTimeout}, s.ociMaxBlob+1)
	res, err := transfer.Push(r.Context(), body, transfer.FromBackend(s.backend), transfer.PushOptions{ExpectedSize: length, Confirm: confirm})
	if err != nil {
		return false, fmt.Errorf("store blob %s: %w", d, err)
	}
	return true, s.linkStored(r, c, repo, d, res)
}

// keepDeadlines extends the call's connection deadlines every few seconds
// until stop is called.
func (s *Server) keepDeadlines(c *call) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			c.extendDeadlines(s.limits.IOTimeout)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done) }
}
