package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/base32"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/pkg/api"
)

// ociUpload is one blob upload session (POST /v2/<name>/blobs/uploads/).
// Its bytes go to a temporary file unlinked as soon as it is created, so
// nothing outlives the session or a killed daemon; they are hashed as they
// arrive, so the digest is checked before anything is stored.
type ociUpload struct {
	id, repo, tokenID string
	// busy is set while a request writes to the session: a second writer
	// is refused instead of interleaving its bytes.
	busy atomic.Bool

	// f and h are written only by the holder of busy.
	f *os.File
	h hash.Hash // sha256 of the bytes so far

	mu      sync.Mutex // guards the fields below
	size    int64
	touched time.Time
	closed  bool
}

// Size returns the bytes received so far.
func (u *ociUpload) Size() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.size
}

// ociUploads holds the open sessions of one daemon.
type ociUploads struct {
	dir    string
	expiry time.Duration
	max    int
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*ociUpload
}

func newOCIUploads(dir string, expiry time.Duration, max int, now func() time.Time) *ociUploads {
	if dir == "" {
		dir = os.TempDir()
	}
	if expiry <= 0 {
		expiry = 24 * time.Hour
	}
	if max <= 0 {
		max = 1024
	}
	return &ociUploads{dir: dir, expiry: expiry, max: max, now: now, m: map[string]*ociUpload{}}
}

var uploadIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newUploadID returns 128 random bits, lowercase base32: unguessable, and
// safe in a URL path.
func newUploadID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("upload session id: %w", err)
	}
	return strings.ToLower(uploadIDEncoding.EncodeToString(b[:])), nil
}

// Open starts a session of repo for the token.
func (us *ociUploads) Open(repo, tokenID string) (*ociUpload, error) {
	us.reap()
	us.mu.Lock()
	n := len(us.m)
	us.mu.Unlock()
	if n >= us.max {
		return nil, ociErr(http.StatusTooManyRequests, "TOOMANYREQUESTS", fmt.Sprintf("%d upload sessions are open, the most this daemon keeps; finish or cancel some", n))
	}
	id, err := newUploadID()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(us.dir, "artstore-oci-upload-*")
	if err != nil {
		// The daemon's own directory failed (removed, full, unwritable): a
		// server condition, never the client's "name unknown".
		return nil, app.Mark(fmt.Errorf("upload session: temporary file in %s: %w", us.dir, err), api.ErrUnavailable)
	}
	// Unlinked at once: the file lives as long as the session holds it open.
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("upload session: unlink temporary file: %w", err)
	}
	u := &ociUpload{id: id, repo: repo, tokenID: tokenID, f: f, h: sha256.New(), touched: us.now()}
	us.mu.Lock()
	us.m[id] = u
	us.mu.Unlock()
	return u, nil
}

// Get returns the session id of repo opened by the token. A session of
// another token or repository, or an expired one, is unknown, as one that
// never existed.
func (us *ociUploads) Get(id, repo, tokenID string) (*ociUpload, error) {
	us.mu.Lock()
	u, ok := us.m[id]
	us.mu.Unlock()
	unknown := ociErr(http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "no upload session "+clipID(id)+" of this token in repository "+repo)
	if !ok || u.repo != repo || u.tokenID != tokenID {
		return nil, unknown
	}
	u.mu.Lock()
	expired := us.now().Sub(u.touched) > us.expiry
	u.touched = us.now()
	u.mu.Unlock()
	if expired {
		us.Remove(u)
		return nil, unknown
	}
	return u, nil
}

func clipID(id string) string {
	if len(id) > 32 {
		return id[:32] + "..."
	}
	return id
}

// Remove ends the session and deletes its bytes.
func (us *ociUploads) Remove(u *ociUpload) {
	us.mu.Lock()
	if us.m[u.id] == u {
		delete(us.m, u.id)
	}
	us.mu.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.closed {
		u.closed = true
		_ = u.f.Close()
	}
}

// reap removes the sessions idle for longer than the expiry (their files
// go with them), except one a request is writing to.
func (us *ociUploads) reap() {
	now := us.now()
	var old []*ociUpload
	us.mu.Lock()
	for _, u := range us.m {
		u.mu.Lock()
		if now.Sub(u.touched) > us.expiry && !u.busy.Load() {
			old = append(old, u)
		}
		u.mu.Unlock()
	}
	us.mu.Unlock()
	for _, u := range old {
		us.Remove(u)
	}
}

// Len returns the number of open sessions.
func (us *ociUploads) Len() int {
	us.mu.Lock()
	defer us.mu.Unlock()
	return len(us.m)
}

// errUploadBusy refuses a request to a session another request is
// writing to.
var errUploadBusy = ociErr(http.StatusConflict, "BLOB_UPLOAD_INVALID", "another request is writing to this upload session; send chunks one at a time")

// Append writes the bytes of body at the end of the session. start is the
// offset the client says they begin at (-1: wherever the session ends,
// a streamed PATCH); length is how many it says it sends (-1: unknown).
// Bytes past max in total are refused. On any failure the session is left
// as it was before the request: the file is truncated back and the hash
// restored. The caller holds the session's busy flag, so it is the only
// writer; the lock is not held while the body is read, so status requests
// and a concurrent writer's refusal are answered at once.
func (u *ociUpload) Append(body io.Reader, start, length, max int64) (int64, error) {
	u.mu.Lock()
	closed, size := u.closed, u.size
	u.mu.Unlock()
	if closed {
		return 0, ociErr(http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "the upload session ended")
	}
	if start >= 0 && start != size {
		return 0, errOutOfOrder
	}
	state, err := u.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return 0, fmt.Errorf("upload session: save hash state: %w", err)
	}
	limit := max - size
	if length >= 0 && length > limit {
		return 0, errBlobTooLarge(max)
	}
	w := io.NewOffsetWriter(u.f, size)
	// 256 KiB at a time, not io.Copy's 32 KiB: an eighth of the writes
	// for a layer of hundreds of MiB.
	n, err := io.CopyBuffer(io.MultiWriter(w, u.h), io.LimitReader(body, limit+1), make([]byte, 256<<10))
	switch {
	case err != nil:
	case n > limit:
		err = errBlobTooLarge(max)
	case length >= 0 && n != length:
		err = ociErr(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", fmt.Sprintf("the chunk's range or length says %d bytes, the body had %d", length, n))
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		terr := u.f.Truncate(size)
		herr := u.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state)
		if (terr != nil || herr != nil) && !u.closed {
			// The session cannot be restored: end it.
			u.closed = true
			_ = u.f.Close()
		}
		return 0, err
	}
	u.size = size + n
	return n, nil
}

// errBlobTooLarge refuses a blob over the daemon's limit of max bytes.
func errBlobTooLarge(max int64) error {
	return ociErr(http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("a blob may be at most %d bytes", max))
}

// errOutOfOrder is a chunk that does not start where the session ends.
var errOutOfOrder = ociErr(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", "the chunk does not start where the upload ends; GET the session for its range")

// sum256 returns the sha256 of the bytes so far; only the session's
// writer (the holder of busy) calls it.
func (u *ociUpload) sum256() []byte { return u.h.Sum(nil) }

// reader returns the bytes received so far.
func (u *ociUpload) reader() *io.SectionReader {
	u.mu.Lock()
	defer u.mu.Unlock()
	return io.NewSectionReader(u.f, 0, u.size)
}

// parseContentRange parses an upload chunk's Content-Range: "start-end",
// inclusive, as the OCI spec writes it (RFC 9110's "bytes start-end/total"
// form is accepted too, the total ignored).
func parseContentRange(v string) (start, end int64, err error) {
	s := strings.TrimSpace(v)
	if rest, ok := strings.CutPrefix(s, "bytes "); ok {
		s = rest
		if i := strings.IndexByte(s, '/'); i >= 0 {
			s = s[:i]
		}
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok || !isDigits(a) || !isDigits(b) {
		return 0, 0, fmt.Errorf("Content-Range %q is not start-end", clipID(v))
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || end < start {
		return 0, 0, fmt.Errorf("Content-Range %q is not a valid start-end range", clipID(v))
	}
	return start, end, nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
