// Package storage defines the backend SPI: the small interface every blob
// store (local directory, S3-compatible bucket) implements, the errors callers
// branch on, and a Registry of backends by ID.
//
// Backends store immutable blobs named by their content digest under the key
// layout content.Digest.Key (optionally below a configured prefix). A backend
// never interprets a digest as a path it did not build itself.
//
// Every implementation must pass the conformance suite in
// internal/storage/storagetest.
package storage

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/artifact-store/artstore/internal/content"
)

// Errors callers branch on. Backends wrap them with context; use errors.Is.
var (
	// ErrNotFound: no object exists for the digest.
	ErrNotFound = errors.New("blob not found")
	// ErrDigestMismatch: the bytes given to Put did not have the declared size
	// or digest. Returned errors also match content.ErrMismatch and usually
	// are (or wrap) a *content.MismatchError with the details.
	ErrDigestMismatch = content.ErrMismatch
	// ErrInvalidRange: the requested range does not lie inside the object.
	ErrInvalidRange = content.ErrInvalidRange
	// ErrInvalidKey: a key or digest would resolve outside the backend's
	// namespace (path traversal, malformed digest).
	ErrInvalidKey = errors.New("invalid object key")
	// ErrUnavailable: the backend cannot be reached or is not usable right
	// now (root vanished, bucket unreachable, credentials refused).
	ErrUnavailable = errors.New("backend unavailable")
)

// Info describes a stored blob.
type Info struct {
	Digest content.Digest
	Size   int64
	// ModTime is the backend's modification time of the object: when it was
	// last written or touched. Garbage collection measures grace windows on it.
	ModTime time.Time
}

// Health is a backend's report on itself.
type Health struct {
	Healthy bool   `json:"healthy"`
	Detail  string `json:"detail"`
	// Capacity in bytes where the backend knows it; -1 when unknown.
	TotalBytes int64 `json:"total_bytes"`
	UsedBytes  int64 `json:"used_bytes"`
	FreeBytes  int64 `json:"free_bytes"`
}

// Backend is a content-addressed blob store. Implementations are safe for
// concurrent use by several goroutines, and by several processes sharing the
// same underlying store.
type Backend interface {
	// ID returns the backend's configured name (e.g. "default", "s3-eu").
	ID() string

	// Put stores the size bytes read from r under digest d.
	//
	// The bytes are verified while streaming: if r yields a different number
	// of bytes than size, or bytes whose digest is not d, Put returns an error
	// matching ErrDigestMismatch and nothing becomes visible under d. Content
	// is never visible under its final key until it is complete and verified.
	//
	// If a blob for d already exists, Put drains r (so a caller's pipeline
	// never blocks) without rewriting the stored bytes and returns
	// created=false; such a re-put may refresh the blob's ModTime. A caller
	// may rely on ModTime being at or after the start of a successful Put
	// call (garbage collection grace windows depend on it). Put with an
	// invalid digest fails with ErrInvalidKey.
	Put(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error)

	// Get opens the blob for reading. rng nil means the whole blob; otherwise
	// the inclusive byte range, which must lie inside the blob or Get fails
	// with ErrInvalidRange. A missing blob fails with ErrNotFound. Get does
	// not verify the digest: readers that need it wrap the result in a
	// content.VerifyingReader. The caller must Close the reader.
	Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error)

	// Head returns the blob's size and modification time, or ErrNotFound.
	Head(ctx context.Context, d content.Digest) (Info, error)

	// Delete removes the blob and reports whether it existed. Deleting a
	// missing blob is not an error (removed=false).
	Delete(ctx context.Context, d content.Digest) (removed bool, err error)

	// Walk calls fn for every blob in the backend, in no particular order.
	// Objects under the backend's namespace whose key is not a valid digest
	// key are skipped. If fn returns an error, Walk stops and returns it.
	// Blobs written or deleted during a Walk may or may not be visited.
	Walk(ctx context.Context, fn func(Info) error) error

	// Health reports whether the backend is usable, with capacity figures
	// where the backend knows them (-1 otherwise). It never returns an error:
	// an unreachable backend is reported as Healthy=false with a Detail that
	// says what is wrong.
	Health(ctx context.Context) Health
}

// VerifiedPutter is an optional interface of a Backend, for callers that
// have just digested the bytes themselves and need not pay for a second
// hash pass. Check for it with a type assertion; every Backend's Put
// remains the general, verifying path.
type VerifiedPutter interface {
	// PutVerified is Put for a caller that has itself computed d, in this
	// process, over exactly the bytes r will yield (the push pipeline
	// digests each chunk and then hands the same buffer to the backend).
	// The backend skips re-hashing them, and nothing else: it still checks
	// that r yields exactly size bytes (else an error matching
	// ErrDigestMismatch, and nothing becomes visible under d), still makes
	// the blob visible only once complete and durable, and keeps Put's
	// contract for an existing blob (created=false, ModTime refreshed) and
	// for invalid digests (ErrInvalidKey). Bytes that do not hash to d are
	// the caller's bug and would be stored under d: never pass bytes that
	// came from outside the process (a network peer, another program)
	// without hashing them in between.
	PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error)
}

// Stager is an optional interface of a Backend that can group many writes
// under one durability point: a push writes hundreds of chunks and needs
// them durable only before its manifest is stored, so making each one
// durable on its own (a file sync and a directory sync per chunk, for the
// local backend) costs far more than one group commit. Check for it with a
// type assertion.
type Stager interface {
	// NewStage starts an empty group of writes.
	NewStage() Stage
}

// Stage is a group of blob writes that become visible and durable together,
// on Commit. It is safe for concurrent use. A Stage that is dropped without
// Commit or Abort leaks nothing visible: uncommitted blobs never appear
// under their keys (a backend may need its own cleanup of leftovers, as
// the local backend's removal of stale temporary files).
type Stage interface {
	// PutVerified stages a blob the caller digested itself, with
	// VerifiedPutter.PutVerified's contract on sizes, digests and invalid
	// keys, except that a new blob is neither visible under d nor durable
	// until a Commit that follows this call returns. A blob already stored
	// is handled at once, as by PutVerified (created=false, ModTime
	// refreshed, nothing staged). ModTime of a staged blob is at or after
	// the start of this call.
	PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error)
	// Commit makes every blob staged before the call durable and visible.
	// Blobs staged while it runs wait for the next Commit. On error, the
	// blobs it did not publish stay staged: Commit may be retried, or
	// Abort removes them.
	Commit(ctx context.Context) error
	// Abort discards every blob staged and not committed. It is safe to
	// call at any time, more than once, and after Commit.
	Abort()
}

// MarkerName is the name of the store marker object beside the blobs: a
// local backend's file <root>/artstore-store.json, an S3 backend's object
// <prefix>artstore-store.json. It is not a blob: Walk never reports it.
const MarkerName = "artstore-store.json"

// Marker is an optional interface of a Backend that keeps one small named
// object beside its blobs, the store marker: it records which event log the
// blobs belong to (see internal/storeid). Check for it with a type
// assertion.
type Marker interface {
	// ReadMarker returns the marker's bytes, or an error matching
	// ErrNotFound when there is none.
	ReadMarker(ctx context.Context) ([]byte, error)
	// WriteMarker replaces the marker with b, atomically: a reader sees
	// the old bytes or the new ones, never a mix.
	WriteMarker(ctx context.Context, b []byte) error
}

// TempFiles sums a backend's temporary upload files (see Temper).
type TempFiles struct {
	Files  int
	Bytes  int64
	Oldest time.Time // modification time of the oldest; zero when Files is 0
}

// Temper is an optional interface of a Backend that writes uploads to
// temporary files first (the local backend's tmp/): an upload killed hard
// (kill -9, power loss) leaves its file behind. Check for it with a type
// assertion.
type Temper interface {
	// Temp sums the temporary files last modified before `before` and,
	// with remove, deletes them. A file an upload in progress still
	// writes has a recent modification time: callers pass a cutoff that
	// leaves such files alone (gc's grace window).
	Temp(ctx context.Context, before time.Time, remove bool) (TempFiles, error)
}
