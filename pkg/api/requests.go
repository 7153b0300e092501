package api

import "time"

// Requests of the use cases local mode and the daemon share. The daemon
// reads them from query parameters and bodies; pkg/client takes them from
// Go callers. They are not JSON bodies themselves.

// Query selects artifacts for a listing.
type Query struct {
	// Pattern is a name glob ("reports/*", "logs/**") or prefix; empty: all.
	Pattern string
	// Selectors are label selectors: "k=v", "k!=v", "k" (exists), "!k".
	// Each string may hold several comma-separated selectors.
	Selectors []string
	// Since is inclusive, Before exclusive.
	Since  time.Time
	Before time.Time
	// IncludeDeleted lists tombstoned artifacts too.
	IncludeDeleted bool
	// Newest lists newest first; the default is the order of pushing. A
	// cursor continues the listing in the order it came from.
	Newest bool
	Limit  int
	Cursor string
}

// LineageOptions tunes a lineage walk.
type LineageOptions struct {
	Direction LineageDirection
	Depth     int // 0: unlimited
}

// RetentionRequest changes an artifact's retention. Nil fields are left as
// they are; ExpireAfter counts from the artifact's creation.
type RetentionRequest struct {
	ExpireAfter    *time.Duration
	ExpiresAt      *time.Time
	ImmutableUntil *time.Time
}

// AuditQuery selects the events an audit returns. Zero fields do not
// constrain.
type AuditQuery struct {
	// Ref names one artifact (an ID also names a deleted one): only its
	// events (registration, tags, labels, retention, holds, deletion,
	// retrievals).
	Ref   string
	Actor string
	// Since is inclusive.
	Since time.Time
	// Types are event type names, with or without the version suffix
	// ("artifact.retrieved").
	Types []string
	// Limit caps the result to the newest matching events (with Forward,
	// the oldest after After): 0 means 1000, at most 10000.
	Limit int
	// Forward asks for the oldest Limit matching events whose sequence
	// number is above After, so the whole trail can be read page by page.
	Forward bool
	After   int64
}

// GCOptions tune a garbage collection.
type GCOptions struct {
	// DryRun lists what would be collected and deletes nothing.
	DryRun bool
	// Grace: blobs modified within it (on the backend's clock) are kept,
	// so pushes in flight rarely have to upload again. Zero collects every
	// unreferenced blob; it is still safe (see docs/architecture.md).
	Grace time.Duration
}
