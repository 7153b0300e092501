package storage

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/artifact-store/artstore/internal/content"
)

// ErrPresignUnenforced: the backend's server accepted bytes through a
// presigned upload that do not match the digest the upload was signed for
// (Presigner.CheckPresign). Presigned uploads must not be handed out for
// such a server: a client could store any bytes under any digest.
var ErrPresignUnenforced = errors.New("server does not enforce the signed checksum of presigned uploads")

// SignedRequest is an HTTP request that a client without credentials can
// send to the backend's server, authorised by a signature in its URL.
type SignedRequest struct {
	Method string
	URL    string
	// Header holds the headers the signature covers, which the client must
	// send exactly as given (Host excluded: the URL gives it).
	Header http.Header
	// Expires is when the server stops accepting the request.
	Expires time.Time
}

// Presigner is an optional interface of a Backend whose server lets
// clients move a blob's bytes directly, on requests the backend signs:
// the daemon authorises, the client transfers. Check for it with a type
// assertion, then run CheckPresign once before handing out uploads.
type Presigner interface {
	// PresignGet returns a GET of blob d, valid for ttl. The client may add
	// a Range header (one range) to read part of it. The request does not
	// check that the blob exists: a missing blob answers 404 when sent.
	PresignGet(ctx context.Context, d content.Digest, ttl time.Duration) (SignedRequest, error)
	// PresignPut returns a PUT, valid for ttl, that stores exactly size
	// bytes hashing to d under d's key: the signature covers the bytes'
	// SHA-256, and the server refuses a body that does not have it, so
	// nothing else can be stored through it. Storing a blob that exists
	// replaces it with the same bytes. Invalid digests fail with
	// ErrInvalidKey.
	PresignPut(ctx context.Context, d content.Digest, size int64, ttl time.Duration) (SignedRequest, error)
	// CheckPresign proves PresignPut's promise against the live server:
	// it uploads, through presigned PUTs of a probe object outside the
	// blob namespace, bytes that do not match the signed checksum (which
	// must be refused, leaving nothing) and bytes that do (which must be
	// stored and read back through PresignGet), then deletes the probe.
	// A server that accepts the wrong bytes fails it with an error
	// matching ErrPresignUnenforced; one that cannot be reached, with
	// ErrUnavailable.
	CheckPresign(ctx context.Context) error
}
