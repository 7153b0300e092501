package eventlog

import (
	"context"
	"io"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/tlog"
)

// Store is an event log with its views. Implementations (internal/eventlog/
// sqlite, internal/eventlog/postgres) are safe for concurrent use by several
// goroutines and by several processes sharing one database, and pass the
// conformance suite in internal/eventlog/eventlogtest.
type Store interface {
	// Views reads the views as of the last committed append.
	Views

	// Append appends evs atomically, in order, and applies them to the views
	// in the same transaction. It returns the appended events with their
	// seq, time, prev and hash. If any event is invalid, has an unknown type
	// or fails to project, nothing is appended and the error matches
	// ErrInvalidEvent, ErrUnknownType, ErrProjection or ErrConflict.
	// Appending an empty batch is a no-op.
	Append(ctx context.Context, evs []NewEvent) ([]Event, error)

	// AppendFunc runs fn inside the serialised append transaction and
	// appends the events it returns, as Append does. fn sees the views as
	// of that transaction (no other append can interleave), so checks made
	// in fn still hold when its events are appended: this is how callers
	// make validate-then-append race-free across goroutines, processes and
	// daemons. If fn returns an error nothing is appended and that error is
	// returned unchanged. fn may be called more than once if the store
	// retries a serialisation failure; it must not have other side effects
	// and must not call the store's Append, AppendFunc or Rebuild (the
	// append lock is held: that would deadlock).
	AppendFunc(ctx context.Context, fn func(ctx context.Context, tx Views) ([]NewEvent, error)) ([]Event, error)

	// Read calls fn for each event with seq > afterSeq, in seq order, until
	// the end of the log as it was when Read reached it. fn may call other
	// Store methods. An error from fn stops Read and is returned unchanged.
	Read(ctx context.Context, afterSeq int64, fn func(Event) error) error

	// ReadSubject calls fn for each event whose Subject is subject with
	// afterSeq < seq <= upToSeq, in seq order, as Read would reach them
	// (a log read up to upToSeq filtered by subject), but through an index:
	// its cost follows the subject's events, not the log's length. fn may
	// call other Store methods; an error from fn stops ReadSubject and is
	// returned unchanged.
	ReadSubject(ctx context.Context, subject string, afterSeq, upToSeq int64, fn func(Event) error) error

	// ReadSubjectPrefix is ReadSubject for every subject that starts with
	// prefix (a family of subjects, such as "rule:" for the retention
	// rules), in seq order. Its cost follows those subjects' events; it is
	// meant for families with few events, as each page sorts what the
	// range holds. An empty prefix is ErrInvalidQuery.
	ReadSubjectPrefix(ctx context.Context, prefix string, afterSeq, upToSeq int64, fn func(Event) error) error

	// Event returns the event with seq after checking it against its
	// neighbours in the chain: events seq-1, seq and seq+1 (those that
	// exist) must each hash to their stored hash from their stored bytes
	// and prev, link to each other by prev, and have columns matching
	// their bodies. The error matches ErrNotFound when the log has no event
	// seq, and is a *ChainError (matching ErrTampered) when the check
	// fails. It reads three rows whatever the log's length, so it proves
	// nothing about the chain before or after them (Verify does).
	Event(ctx context.Context, seq int64) (Event, error)

	// Head returns the last event's seq and hash (zero for an empty log).
	Head(ctx context.Context) (Head, error)

	// Verify checks the hash chain from fromSeq (1 when < 1) to the head,
	// recomputing every hash from the stored bytes and checking each row's
	// columns against its body, and checks the stored Merkle tree: the
	// root it gives for the whole log must be the root recomputed from the
	// events checked, starting from the stored nodes of the tree of
	// fromSeq-1 events. The report is always filled in; when the
	// chain is broken the error is a *ChainError (matching ErrTampered)
	// naming the first bad seq, and other errors are I/O failures.
	Verify(ctx context.Context, fromSeq int64) (VerifyReport, error)

	// TreeHead returns the size (the number of events) and root hash of
	// the log's Merkle tree (internal/tlog), reading O(log n) stored nodes.
	// The tree is part of the log: appended to in the append transaction,
	// never touched by Rebuild, and checked against the events by Verify.
	TreeHead(ctx context.Context) (tlog.Head, error)

	// TreeHeadAt returns the head of the tree of the log's first size
	// events, reading O(log size) stored nodes, so a checkpoint can be
	// signed for an earlier size. The error matches tlog.ErrSize unless
	// 0 <= size <= the log's length.
	TreeHeadAt(ctx context.Context, size int64) (tlog.Head, error)

	// InclusionProof returns the proof that event seq is leaf seq-1 of the
	// tree of the log's first size events, reading O(log size) stored
	// nodes. The error matches tlog.ErrSize unless 1 <= seq <= size <= the
	// log's length, and ErrTampered when a node it needs is missing.
	InclusionProof(ctx context.Context, seq, size int64) (tlog.Proof, error)

	// ConsistencyProof returns the proof that the tree of the log's first
	// size1 events is a prefix of the tree of its first size2, reading
	// O(log size2) stored nodes. The error matches tlog.ErrSize unless
	// 0 <= size1 <= size2 <= the log's length, and ErrTampered when a node
	// it needs is missing.
	ConsistencyProof(ctx context.Context, size1, size2 int64) (tlog.Proof, error)

	// Rebuild empties every view and replays the whole log into them in
	// one transaction. Appends wait meanwhile (in SQLite, appends from
	// other processes wait up to the busy timeout, then fail with ErrBusy;
	// in PostgreSQL reads of the views wait too). It returns the number of
	// events replayed. The rebuilt views equal the live ones (ViewDump).
	Rebuild(ctx context.Context) (int64, error)

	// ViewDump writes a canonical dump of every view table to w: one JSON
	// array of strings per row, tables and rows in a fixed order. Two
	// stores with the same views produce the same bytes.
	ViewDump(ctx context.Context, w io.Writer) error

	// Close releases the store's connections.
	Close() error
}

// Options configure a store when it is opened.
type Options struct {
	// Types decodes event payloads; the zero value is DefaultTypes().
	Types Types
	// Now is the clock for events appended with a zero Time; nil means
	// time.Now.
	Now func() time.Time
	// QueryTimeout bounds the database time of one listing (Query) where
	// the store runs queries in a server it cannot otherwise stop
	// (PostgreSQL); a listing cut off is ErrInvalidQuery. Zero means the
	// store's default.
	QueryTimeout time.Duration
}

// PayloadTypes returns o.Types, or DefaultTypes() for the zero value, built
// once: a zero Types builds the default table on every Decode.
func (o Options) PayloadTypes() Types {
	if o.Types.m == nil {
		return DefaultTypes()
	}
	return o.Types
}

// Clock returns o.Now or time.Now.
func (o Options) Clock() func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

// Views are the read models derived from the log. Methods return errors
// matching ErrNotFound when a single requested row does not exist.
// Deleted artifacts are returned by the single-artifact lookups (with
// Deleted set) so callers can tell "deleted" from "never existed".
type Views interface {
	// Artifact returns the artifact with the ID.
	Artifact(ctx context.Context, id string) (Artifact, error)
	// ArtifactByVersion returns the artifact name:version.
	ArtifactByVersion(ctx context.Context, name, version string) (Artifact, error)
	// ArtifactByDigest returns the newest live artifact of name whose
	// content digest is d.
	ArtifactByDigest(ctx context.Context, name string, d content.Digest) (Artifact, error)
	// Tag returns tag of name.
	Tag(ctx context.Context, name, tag string) (Tag, error)
	// Tags returns every tag of name, sorted by tag.
	Tags(ctx context.Context, name string) ([]Tag, error)
	// MaxVersionNumber returns the largest purely numeric version ever
	// registered for name (deleted ones included), 0 when none.
	MaxVersionNumber(ctx context.Context, name string) (int64, error)
	// Query lists artifacts matching q, ordered by registration seq.
	Query(ctx context.Context, q Query) (Page, error)
	// Edges returns lineage edges: for Parents, the inputs of id (edges
	// whose Child is id); for Children, the artifacts that used id as an
	// input (edges whose Parent is id). Sorted by child seq then index.
	Edges(ctx context.Context, id string, dir Direction) ([]Edge, error)
	// Names returns, in byte order, the distinct names of live artifacts
	// that start with prefix, each cut just after the first '/' past the
	// prefix ("reports/" stands for every live name under reports/), at
	// most limit of them. It reads one index entry per result, however
	// many artifacts share a name or a directory (shell completion).
	Names(ctx context.Context, prefix string, limit int) ([]string, error)
	// Catalog returns, in byte order, the distinct names of live artifacts
	// that start with prefix and sort after after ("" for the first), whole
	// (not cut at '/'), at most limit of them: a page of the registry's
	// catalog of names.
	Catalog(ctx context.Context, prefix, after string, limit int) ([]string, error)
	// Versions returns the versions of the live artifacts of name that
	// start with prefix, newest first, at most limit of them.
	Versions(ctx context.Context, name, prefix string, limit int) ([]string, error)
}

// Artifact is an artifact as the views hold it.
type Artifact struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Version        string            `json:"version"`
	Seq            int64             `json:"seq"`
	ContentDigest  content.Digest    `json:"content_digest"`
	Size           int64             `json:"size"`
	ManifestDigest content.Digest    `json:"manifest_digest"`
	MediaType      string            `json:"media_type,omitempty"`
	Labels         map[string]string `json:"labels"`
	Tags           []string          `json:"tags"`
	Provenance     Provenance        `json:"provenance"`
	Created        time.Time         `json:"created"`
	Creator        string            `json:"creator"`
	// UpdatedSeq is the seq of the last event that changed the artifact.
	UpdatedSeq int64          `json:"updated_seq"`
	Retention  Retention      `json:"retention"`
	Holds      []Hold         `json:"holds"`
	Retrievals RetrievalStats `json:"retrievals"`
	Deleted    *Deletion      `json:"deleted,omitempty"`
}

// Ref returns "name:version".
func (a Artifact) Ref() string { return a.Name + ":" + a.Version }

// Retention are an artifact's retention settings; zero times mean none.
type Retention struct {
	ExpiresAt      time.Time `json:"expires_at,omitzero"`
	ImmutableUntil time.Time `json:"immutable_until,omitzero"`
}

// Hold is a legal hold placed on an artifact.
type Hold struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason,omitempty"`
	Placed time.Time `json:"placed"`
	By     string    `json:"by"`
}

// RetrievalStats summarise an artifact's retrieval records.
type RetrievalStats struct {
	Count  int64     `json:"count"`
	Bytes  int64     `json:"bytes"`
	Last   time.Time `json:"last,omitzero"`
	LastBy string    `json:"last_by,omitempty"`
}

// Deletion describes an artifact's tombstone.
type Deletion struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// Tag is a movable pointer from name:tag to an artifact.
type Tag struct {
	Name       string    `json:"name"`
	Tag        string    `json:"tag"`
	ArtifactID string    `json:"artifact_id"`
	Moved      time.Time `json:"moved"`
	// MovedSeq is the seq of the event that last pointed the tag at its
	// artifact: before it, the tag named another artifact or none.
	MovedSeq int64  `json:"moved_seq"`
	By       string `json:"by"`
}

// Direction selects lineage edges.
type Direction int

const (
	// Parents are an artifact's inputs (ancestors, one level).
	Parents Direction = iota
	// Children are the artifacts made from it (descendants, one level).
	Children
)

// Edge is one provenance input: Child was made from Parent (an artifact
// ID, "" for raw content) or from raw content Digest, in Role.
type Edge struct {
	Child  string         `json:"child"`
	Index  int64          `json:"index"`
	Parent string         `json:"parent,omitempty"`
	Digest content.Digest `json:"digest,omitzero"`
	Ref    string         `json:"ref,omitempty"`
	Role   string         `json:"role,omitempty"`
}

// SelectorOp is the operator of a label selector.
type SelectorOp int

const (
	// OpEquals matches artifacts whose label Key has value Value.
	OpEquals SelectorOp = iota
	// OpNotEquals matches artifacts without label Key=Value (absent or
	// another value).
	OpNotEquals
	// OpExists matches artifacts that have label Key.
	OpExists
	// OpNotExists matches artifacts without label Key.
	OpNotExists
)

// Selector is one label condition of a Query.
type Selector struct {
	Key   string
	Op    SelectorOp
	Value string
}

// Query selects artifacts. Zero fields do not constrain.
type Query struct {
	// Name matches exactly; NamePrefix matches names starting with it;
	// NameLike is a SQL LIKE pattern with '\' as escape character
	// (registry translates globs into it).
	Name       string
	NamePrefix string
	NameLike   string
	Selectors  []Selector
	// CreatedAfter / CreatedBefore are exclusive bounds on creation time.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// ExpiresBefore matches artifacts with an expiry time before it.
	ExpiresBefore  time.Time
	IncludeDeleted bool
	// Newest orders newest first (descending seq) instead of oldest first.
	Newest bool
	// Cursor continues a listing after the artifact with this seq (in the
	// query's order); 0 starts at the beginning.
	Cursor int64
	// Limit caps the page size; 0 means 100.
	Limit int
}

// Page is one page of a Query.
type Page struct {
	Artifacts []Artifact `json:"artifacts"`
	// Next is the cursor of the next page, 0 when this is the last page.
	Next int64 `json:"next,omitempty"`
}
