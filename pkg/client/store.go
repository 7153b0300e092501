// Package client is artstore's public Go API: the Store interface used by the
// CLI, the terminal UI and other Go programs, its two implementations (local
// mode, straight to the event log and the storage backend; remote mode, HTTP
// to an `artstore serve` daemon), and the push/pull pipeline they share.
//
// Every method takes references in the forms the CLI accepts:
// "name:version", "name:tag", "name" (= name:latest), "name@sha256:<hex>"
// and a bare artifact ID.
package client

import (
	"context"
	"io"
	"time"

	"github.com/artifact-store/artstore/pkg/api"
)

// Errors callers branch on (the CLI maps them to exit codes), the values
// of pkg/api. Implementations wrap them with context; use errors.Is.
var (
	ErrNotFound  = api.ErrNotFound
	ErrConflict  = api.ErrConflict
	ErrInvalid   = api.ErrInvalid
	ErrIntegrity = api.ErrIntegrity
	// ErrForbidden: refused by retention (legal hold, WORM) or by a token's scope.
	ErrForbidden    = api.ErrForbidden
	ErrUnavailable  = api.ErrUnavailable
	ErrUnauthorized = api.ErrUnauthorized
)

// PullOptions tunes a pull.
type PullOptions struct {
	// Range, if set, is "a-b", "a-" or "-n" (bytes, inclusive).
	Range string
	// Progress, if set, is called with the bytes written so far.
	Progress func(written int64)
	// Paths, if not empty, limits the pull of a directory artifact to the
	// entries these patterns select (see transfer.PullOptions.Paths): a
	// path relative to the tree's root names an entry and everything below
	// it; '*', '?' and '[' make a glob. Only the chunks holding them are
	// read.
	Paths []string
	// TrustLinks lets the pull of a directory artifact create symbolic
	// links that point outside the destination, go through directory links
	// already inside it and replace links at its files' paths.
	TrustLinks bool
}

// VerifyOptions selects what Verify checks.
type VerifyOptions struct {
	Ref  string // one artifact; empty with All for everything
	All  bool
	Deep bool // re-read and re-hash every chunk
}

// Store is the artstore API. Both implementations behave the same; the
// testscript suite holds them to it.
type Store interface {
	// Push stores the content and registers it as a new artifact version.
	Push(ctx context.Context, req PushRequest) (*PushResult, error)
	// Pull streams an artifact's bytes (or a range) to w, verifying every
	// chunk and the whole content. It appends a retrieval record.
	Pull(ctx context.Context, ref string, w io.Writer, opts PullOptions) (*PullResult, error)
	// PullToPath writes an artifact to path atomically (a temporary file
	// renamed into place, never a half file), replacing a regular file
	// there; a symbolic link is written through to its final target and
	// stays; a device or named pipe (/dev/null, a FIFO) is written in
	// place, streaming, which cannot be atomic. A tree artifact is
	// recreated as a directory at path (which may be a link to a
	// directory); a symbolic link inside it fails the pull with
	// ErrConflict. Whether an existing file may be replaced is the
	// caller's decision.
	PullToPath(ctx context.Context, ref, path string, opts PullOptions) (*PullResult, error)

	// Repair re-supplies the missing or damaged blobs of an existing
	// artifact from a file, a directory or another backend, without a new
	// version: damaged blobs are deleted, the source is pushed (only what
	// the store lacks is uploaded), its content and manifest digests must
	// be the artifact's (ErrConflict otherwise), every blob is checked
	// again, and artifact.repaired.v1 is recorded. An intact artifact is
	// left as it is (Repaired false).
	Repair(ctx context.Context, req RepairRequest) (*RepairResult, error)
	Get(ctx context.Context, ref string) (*Artifact, error)
	// Files calls fn with each entry of a directory artifact, in path
	// order, from its tree manifest, without pulling any file; memory
	// does not grow with the number of entries. fn's error stops the
	// walk and is returned. A file artifact is refused with ErrInvalid.
	Files(ctx context.Context, ref string, fn func(TreeEntry) error) error
	List(ctx context.Context, q Query) (*Page, error)
	Tag(ctx context.Context, ref, tag string) (*Artifact, error)
	Label(ctx context.Context, ref string, set map[string]string, remove []string) (*Artifact, error)
	Lineage(ctx context.Context, ref string, opts LineageOptions) (*LineageGraph, error)
	Delete(ctx context.Context, ref string) (*Artifact, error)
	SetRetention(ctx context.Context, ref string, req RetentionRequest) (*Artifact, error)
	Hold(ctx context.Context, ref, reason string) (*Artifact, error)
	Release(ctx context.Context, ref string) (*Artifact, error)

	// Events returns up to limit events after seq. With wait > 0 and no
	// events yet, it waits up to wait for one (long-poll).
	Events(ctx context.Context, after int64, limit int, wait time.Duration) ([]Event, error)
	VerifyLog(ctx context.Context) (*LogReport, error)
	// LogKey returns the public key the store signs its checkpoints with
	// (local mode creates the key at first use).
	LogKey(ctx context.Context) (*LogKey, error)
	// Checkpoint returns the log's current tree head, signed.
	Checkpoint(ctx context.Context) (*Checkpoint, error)
	// InclusionProof proves that event seq is in the log's tree of size
	// events (0: the current tree); ConsistencyProof that the tree of old
	// events is a prefix of the tree of new (0: the current tree). Sizes
	// out of range are ErrInvalid. Neither is trusted by itself: check it
	// against a signed checkpoint (CheckCheckpoint does).
	InclusionProof(ctx context.Context, seq, size int64) (*InclusionProof, error)
	ConsistencyProof(ctx context.Context, old, new int64) (*ConsistencyProof, error)
	// Import reads another store's evidence bundle (artstore export) from
	// r, verifies all of it (against key, the other store's verifier key,
	// or else the bundle's own) and registers its artifacts here, keeping
	// the other store's events and proofs as foreign evidence. Nothing is
	// registered unless the whole bundle verifies (ErrIntegrity otherwise).
	Import(ctx context.Context, r io.Reader, key string) (*ImportResult, error)
	// Export writes the evidence bundle of req to w (a tar: the
	// artifacts, their provenance closure, every event about them with
	// its inclusion proof against one signed checkpoint, and the key;
	// see internal/bundle) and appends a retrieval record for each
	// artifact whose bytes it holds, as a pull does. The same store state
	// and request (req.At set) give the same bytes. It fails before
	// writing to w when a reference, the closure or the key is refused;
	// a failure after that leaves a partial bundle in w.
	Export(ctx context.Context, req ExportRequest, w io.Writer) (*ExportSummary, error)
	Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error)
	Rebuild(ctx context.Context) error
	Health(ctx context.Context) ([]BackendHealth, error)
	// GC deletes the blobs no live artifact references (admin scope in
	// remote mode) and reports them; opts.DryRun only lists them. It never
	// deletes a blob a registered artifact references, even while pushes
	// run: a push that loses a deduplicated blob to it uploads it again.
	GC(ctx context.Context, opts GCOptions) (*GCReport, error)

	// AddRetentionRule records a retention policy rule (admin scope in
	// remote mode); RetentionRules lists the rules in force, oldest first;
	// RemoveRetentionRule removes one by ID (ErrNotFound if none).
	AddRetentionRule(ctx context.Context, req RetentionRuleRequest) (*RetentionRule, error)
	RetentionRules(ctx context.Context) ([]RetentionRule, error)
	RemoveRetentionRule(ctx context.Context, id string) (*RetentionRule, error)
	// ApplyRetention deletes every live artifact whose own expiry passed
	// or that a rule expires, unless a legal hold or immutability protects
	// it; each deletion's event names the rule or setting and the
	// deadline. With dryRun it only lists them. Admin scope in remote mode.
	ApplyRetention(ctx context.Context, dryRun bool) (*RetentionReport, error)
	// ExplainRetention says what retention weighs for one artifact and
	// whether it is due.
	ExplainRetention(ctx context.Context, ref string) (*RetentionExplanation, error)

	// Audit returns the events q selects (who pushed, tagged, labelled,
	// held, deleted, pulled or collected what, and when), oldest first.
	Audit(ctx context.Context, q AuditQuery) ([]Event, error)

	Close() error
}
