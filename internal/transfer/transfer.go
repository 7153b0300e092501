// Package transfer is the push/pull pipeline shared by pkg/client's local and
// remote stores and the daemon's content route: content-defined chunking,
// digesting, deduplication against the store, parallel upload with retries,
// and verified, ordered, parallel (and ranged) download.
//
// It works over BlobStore, a small transport-neutral interface: local mode
// and the daemon adapt a storage.Backend with FromBackend, remote mode
// implements it over the daemon's HTTP blob API.
//
// # Stages
//
// Each pipeline is a chain of stages, one type and one file each, connected
// by channels: push is chunkReader (reader.go: read into a fixed ring
// buffer, cut chunks in place), pushHasher (hasher.go: the whole-content
// SHA-256 in order, chunk digests in parallel), checker and uploader
// (uploader.go: presence checks in batches, parallel puts with retries),
// committer (committer.go: group commits on stores that stage) and
// storeFileManifest (manifest.go); pull is pullFetcher (fetcher.go),
// feed and pullHasher (verifier.go) and pullWriter (writer.go). A chunk's
// bytes are read by two stages at once, the in-order hasher and the stage
// that consumes the chunk; each has a named hold on them (hold.go), passed
// along with the chunk through the channels and released only by its
// owner, and the space is reused when both are released. The push stages
// run in an errgroup: the first error cancels the others.
//
// # Push
//
// Push reads its input once. A producer goroutine reads into a fixed ring
// buffer and cuts chunks in place (content.Splitter); each chunk is then,
// concurrently, fed to the whole-content SHA-256 (in order), digested by a
// pool of hash workers, checked for presence in batches (BlobStore.Missing)
// and, if missing, uploaded by Concurrency workers. A chunk's bytes stay in
// the ring until it is hashed and stored, so memory is the ring (3 × the
// maximum chunk size, 24 MiB by default) plus the chunks in flight, whatever
// the input size: the manifest's chunk list goes to a spool (memory, then a
// temporary file), not into memory. The manifest is uploaded last: a manifest is only
// ever stored once every blob it names is. On a store that stages (a local
// backend, storage.Stager) chunks become durable in group commits — every
// PushOptions.CommitEvery bytes, before the manifest, and on failure or
// cancellation for what was staged — instead of one by one.
//
// # Pull
//
// Pull fetches and verifies the manifest, then fetches chunks in parallel
// into one fixed buffer (3 × the largest chunk by default, reserved and
// released in chunk order), verifies each against its digest and writes
// them in order, hashing the whole content to check it at the end. File
// (OpenFile) does the same for any range of a manifest already checked by
// its caller. PullToFile and PullTree write through temporary files renamed into
// place, so a target path holds either nothing new or a complete, verified
// file; PullToFile streams into a device or named pipe in place instead,
// and writes through a symbolic link to its target (internal/outpath
// decides; PullTree refuses links inside its destination). On Linux they
// start the kernel's writeback of every 8 MiB written
// (sync_file_range), so the final fsync does not have to write the whole
// file at once.
//
// # Trees
//
// A directory is pushed as a tree manifest (content.KindTree) listing
// relative paths, types, permission bits and link targets. In the stream
// layout (content.StreamTreeSchema, the default) the files' contents are
// concatenated in path order and pushed as one stream through the same
// stages as a file (tree.go, treesource.go, treehash.go); the manifest
// lists the stream's chunks and each file's offset, size and SHA-256. Pull
// fetches only the chunks holding the entries it writes (PullOptions.Paths)
// and checks every file's digest before renaming it into place
// (treepull.go). In the per-file layout (content.ManifestSchema, still read
// everywhere) each file has a file manifest of its own.
//
// Symbolic links are stored as links and never followed on push unless
// PushOptions.FollowSymlinks; a pull refuses one that points outside its
// destination (ErrLinkOutside) unless PullOptions.TrustLinks. Devices,
// sockets and named pipes are skipped (PushOptions.OnSkip) or refused
// (PushOptions.Strict, ErrUnsupportedFileType): a silently incomplete copy
// is worse than an error, and a special file has no bytes to store. A
// tree's content digest is content.TreeDigest of its entries.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
	"github.com/artifact-store/artstore/internal/storage"
)

// BlobStore is the blob API the pipeline needs. Implementations must be safe
// for concurrent use; the pipeline calls them from several goroutines.
//
// Errors: a missing blob is reported by an error matching storage.ErrNotFound;
// bytes that do not match their digest by one matching content.ErrMismatch.
// Errors worth retrying should match storage.ErrUnavailable or implement
// Temporary() bool (see DefaultRetryable).
type BlobStore interface {
	// Missing returns those of ds the store does not hold, in the order
	// given. ds holds at most a few hundred digests and no duplicates.
	Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error)
	// Put stores the size bytes read from r under d, verifying them: if they
	// do not match d and size it fails with an error matching
	// content.ErrMismatch and stores nothing. Putting a blob the store
	// already holds succeeds (it may or may not read r). Put must not keep
	// r after it returns.
	Put(ctx context.Context, d content.Digest, size int64, r io.Reader) error
	// Get opens the blob, or the inclusive byte range of it when rng is
	// not nil. A missing blob fails with an error matching
	// storage.ErrNotFound. Get need not verify the bytes; the pipeline
	// does. The caller closes the reader.
	Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error)
}

// SizedChecker is an optional interface of a BlobStore whose presence
// check wants each blob's size too: a daemon with direct transfers answers
// a presigned upload for each missing blob, bound to its size. The push
// pipeline uses it instead of Missing when the store has it.
type SizedChecker interface {
	// MissingSized is Missing for refs' digests.
	MissingSized(ctx context.Context, refs []content.ChunkRef) ([]content.Digest, error)
}

// Errors callers branch on; use errors.Is. Integrity failures match
// content.ErrMismatch, invalid manifests content.ErrInvalidManifest.
var (
	// ErrWrongKind: the manifest is a tree where a file was expected, or
	// the other way round.
	ErrWrongKind = errors.New("wrong manifest kind")
	// ErrUnsupportedFileType: PushTree met a device, socket or named pipe
	// with PushOptions.Strict, a symbolic link in the per-file layout, or a
	// followed link that loops.
	ErrUnsupportedFileType = errors.New("unsupported file type")
	// ErrTooLarge: the content has more chunks than one manifest may list
	// (content.MaxChunks).
	ErrTooLarge = errors.New("content too large for one artifact")
	// ErrIsDirectory: PullToFile was given a directory (or a link to one)
	// as the file to write.
	ErrIsDirectory = errors.New("is a directory")
	// ErrNotDirectory: PullTree was given something other than a
	// directory (or a link to one) as its destination.
	ErrNotDirectory = errors.New("is not a directory")
	// ErrLinkInDestination: PullTree met a symbolic link inside its
	// destination where it would write; it never writes through one.
	ErrLinkInDestination = errors.New("symbolic link inside the destination")
	// ErrNoStaging: PushOptions.Confirm was set for a store that cannot
	// keep chunks staged until the push is confirmed.
	ErrNoStaging = errors.New("the store cannot stage a push until it is confirmed")
)

// Progress is a snapshot of a transfer's byte counts, for progress bars.
type Progress struct {
	// Read: push: bytes read from the input; pull: bytes fetched from the
	// store.
	Read int64
	// Written: push: bytes uploaded (new chunks); pull: bytes written to
	// the output.
	Written int64
	// Deduplicated: push: bytes of chunks the store already held.
	Deduplicated int64
	// Total: pull: the bytes the pull will write; push: PushOptions.
	// ExpectedSize, or -1 when unknown (standard input, trees).
	Total int64
}

// RetryPolicy says how failed store calls are retried: exponential backoff
// with full jitter (a random delay between zero and
// min(MaxDelay, BaseDelay × 2^attempt)), only for errors Retryable accepts.
// The zero value means the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 0 means 5, 1 disables retries. It
	// is ignored when Window is set.
	MaxAttempts int
	// Window, when positive, bounds retries by time instead of attempts:
	// a call is tried again until Window has passed since its first
	// failure (the last wait is cut short to end at the window).
	Window time.Duration
	// BaseDelay is the first backoff ceiling; 0 means 100 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff ceiling; 0 means 5 s.
	MaxDelay time.Duration
	// Retryable classifies errors; nil means DefaultRetryable.
	Retryable func(error) bool
	// OnRetry, if not nil, is called with the error before each wait. It
	// may be called from several goroutines at once.
	OnRetry func(error)
	// GiveUpHint, if not empty, is added to the error of a call that was
	// retried and still failed with a retryable error: what to check.
	GiveUpHint string
}

// DefaultRetryable reports whether err is worth retrying: errors matching
// storage.ErrUnavailable, or whose chain holds an error with a
// Temporary() or Timeout() method that returns true. Context cancellation,
// digest mismatches, invalid keys or ranges and missing blobs are never
// retried: trying again cannot change their outcome.
func DefaultRetryable(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, content.ErrMismatch), errors.Is(err, storage.ErrInvalidKey),
		errors.Is(err, content.ErrInvalidRange), errors.Is(err, storage.ErrNotFound),
		errors.Is(err, content.ErrInvalidManifest):
		return false
	case errors.Is(err, storage.ErrUnavailable):
		return true
	}
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) && tmp.Temporary() {
		return true
	}
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 100 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.Retryable == nil {
		p.Retryable = DefaultRetryable
	}
	return p
}

// Do runs fn under the policy (its defaults applied): until it succeeds,
// fails with an error that is not retryable, runs out of attempts or of
// its window, or ctx ends.
func (p RetryPolicy) Do(ctx context.Context, fn func() error) error {
	return p.withDefaults().do(ctx, fn)
}

// do is Do for a policy with its defaults applied.
func (p RetryPolicy) do(ctx context.Context, fn func() error) error {
	var first time.Time
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if !p.Retryable(err) {
			if attempt > 0 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return err
		}
		ceiling := p.MaxDelay
		if attempt < 30 && p.BaseDelay<<attempt < ceiling {
			ceiling = p.BaseDelay << attempt
		}
		wait := rand.N(ceiling) + 1
		if attempt == 0 {
			first = time.Now()
		}
		left := p.Window - time.Since(first)
		if (p.Window > 0 && left <= 0) || (p.Window <= 0 && attempt+1 >= p.MaxAttempts) {
			return p.gaveUp(err, attempt+1, time.Since(first))
		}
		if p.Window > 0 {
			wait = min(wait, left)
		}
		if p.OnRetry != nil {
			p.OnRetry(err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// gaveUp is the error of a call that failed attempts times with a
// retryable error, the last time err, over waited.
func (p RetryPolicy) gaveUp(err error, attempts int, waited time.Duration) error {
	if attempts == 1 {
		if p.GiveUpHint != "" {
			return fmt.Errorf("%w (%s)", err, p.GiveUpHint)
		}
		return err
	}
	msg := fmt.Sprintf("after %d attempts", attempts)
	if p.Window > 0 {
		msg += fmt.Sprintf(" over %s", waited.Round(100*time.Millisecond))
	}
	if p.GiveUpHint != "" {
		msg += "; " + p.GiveUpHint
	}
	return fmt.Errorf("%w (%s)", err, msg)
}

// FetchManifest reads the manifest blob d, verifies it against d and parses
// it (strictly: see content.ParseManifest). Callers use it to learn a
// manifest's kind and size before choosing Pull or PullTree; PullPath does
// that for them. A zero retry policy means the defaults.
func FetchManifest(ctx context.Context, store BlobStore, d content.Digest, retry RetryPolicy) (content.Manifest, error) {
	return fetchManifest(ctx, store, d, retry.withDefaults())
}

// fetchManifest is FetchManifest with the retry defaults already applied.
func fetchManifest(ctx context.Context, store BlobStore, d content.Digest, retry RetryPolicy) (content.Manifest, error) {
	var m content.Manifest
	err := retry.do(ctx, func() error {
		rc, err := store.Get(ctx, d, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		vr := content.NewVerifyingReader(io.LimitReader(rc, content.MaxManifestSize+1), d, -1)
		b, err := io.ReadAll(vr)
		if err != nil {
			return err
		}
		if len(b) > content.MaxManifestSize {
			return fmt.Errorf("%w: more than %d bytes", content.ErrInvalidManifest, content.MaxManifestSize)
		}
		m, err = content.ParseManifest(b)
		return err
	})
	if err != nil {
		return content.Manifest{}, fmt.Errorf("read manifest %s: %w", d, err)
	}
	return m, nil
}

// manifestFile is a fetched, verified and validated manifest whose chunk
// list or entries stay in a spool (memory up to spool.MemLimit bytes, then a
// temporary file) and are read again, streaming, whenever they are needed,
// so that a pull's memory does not grow with the content's size or a tree's
// number of files.
type manifestFile struct {
	// m is the manifest without its Chunks or Entries.
	m   content.Manifest
	raw *spool.Spool
}

// eachChunk calls fn with each chunk of a file manifest, in order, and
// stops at fn's first error, which it returns.
func (f *manifestFile) eachChunk(fn func(i int, c content.ChunkRef) error) error {
	_, err := content.ScanManifest(f.raw.Reader(), content.ManifestVisitor{Chunk: fn,
		ChunksDone: func(int) error { return errStopScan }}) // a tree's entries follow
	if err == errStopScan {
		return nil
	}
	return err
}

// eachEntry calls fn with each entry of a tree manifest, in order, and
// stops at fn's first error, which it returns.
func (f *manifestFile) eachEntry(fn func(i int, e content.TreeEntry) error) error {
	_, err := content.ScanManifest(f.raw.Reader(), content.ManifestVisitor{Entry: fn})
	return err
}

// entryIter returns an iterator over the entries of a tree manifest, read
// from the spool as they are asked for: next returns the next entry, or
// false at the end or on a read error, which err then returns. Call stop
// when done.
func (f *manifestFile) entryIter() (next func() (content.TreeEntry, bool), stop func(), err func() error) {
	var scanErr error
	seq := func(yield func(content.TreeEntry) bool) {
		scanErr = f.eachEntry(func(_ int, e content.TreeEntry) error {
			if !yield(e) {
				return errStopScan
			}
			return nil
		})
		if scanErr == errStopScan {
			scanErr = nil
		}
	}
	next, stop = iter.Pull(seq)
	return next, stop, func() error { return scanErr }
}

func (f *manifestFile) close() { f.raw.Close() }

// openManifest fetches the manifest blob d into a spool, verifying it
// against d and validating it (as content.ParseManifest does) on the way.
// Close the result when done.
func openManifest(ctx context.Context, store BlobStore, d content.Digest, retry RetryPolicy) (*manifestFile, error) {
	var f *manifestFile
	err := retry.do(ctx, func() error {
		rc, err := store.Get(ctx, d, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		raw := &spool.Spool{}
		m, err := content.ScanManifestBlob(io.TeeReader(rc, raw), d, content.ManifestVisitor{})
		if err != nil {
			raw.Close()
			return err
		}
		f = &manifestFile{m: m, raw: raw}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", d, err)
	}
	return f, nil
}
