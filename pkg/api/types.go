package api

import "time"

// These are artstore's public wire types: the JSON shapes of the daemon's
// HTTP API and of the CLI's --json output (docs/cli-json.md). Field names are
// stable; add fields, never rename or repurpose them.

// Artifact is one registered artifact version.
type Artifact struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Version        string            `json:"version"`
	Ref            string            `json:"ref"`  // name:version
	Kind           string            `json:"kind"` // "file" or "tree"
	ContentDigest  string            `json:"content_digest"`
	ManifestDigest string            `json:"manifest_digest"`
	Size           int64             `json:"size"`
	MediaType      string            `json:"media_type,omitempty"`
	Labels         map[string]string `json:"labels"`
	Tags           []string          `json:"tags"`
	Provenance     Provenance        `json:"provenance"`
	CreatedAt      time.Time         `json:"created_at"`
	CreatedBy      string            `json:"created_by"`
	Retention      Retention         `json:"retention"`
	Retrievals     RetrievalStats    `json:"retrievals"`
	Deleted        bool              `json:"deleted,omitempty"`
	// Imported says where an artifact imported from another store's
	// evidence bundle came from (show only; nil otherwise).
	Imported  *ImportOrigin `json:"imported,omitempty"`
	DeletedAt *time.Time    `json:"deleted_at,omitempty"`
}

// Provenance records what produced an artifact and from which inputs.
type Provenance struct {
	Producer Producer `json:"producer"`
	Inputs   []Input  `json:"inputs"`
}

// Producer describes the tool, host, source revision and CI job that made an
// artifact. Empty fields are omitted.
type Producer struct {
	Tool      string `json:"tool,omitempty"`
	Command   string `json:"command,omitempty"`
	Host      string `json:"host,omitempty"`
	User      string `json:"user,omitempty"`
	GitRepo   string `json:"git_repo,omitempty"`
	GitCommit string `json:"git_commit,omitempty"`
	GitBranch string `json:"git_branch,omitempty"`
	GitDirty  bool   `json:"git_dirty,omitempty"`
	CISystem  string `json:"ci_system,omitempty"`
	CIJob     string `json:"ci_job,omitempty"`
	CIRun     string `json:"ci_run,omitempty"`
	CIURL     string `json:"ci_url,omitempty"`
}

// Input is one input an artifact was produced from: another artifact (by
// reference, resolved to its ID at push time) or a raw content digest.
type Input struct {
	Ref        string `json:"ref,omitempty"`
	ArtifactID string `json:"artifact_id,omitempty"`
	Digest     string `json:"digest,omitempty"`
	Role       string `json:"role,omitempty"`
}

// Retention is an artifact's effective retention state.
type Retention struct {
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	ImmutableUntil *time.Time `json:"immutable_until,omitempty"`
	LegalHold      bool       `json:"legal_hold"`
	HoldReason     string     `json:"hold_reason,omitempty"`
}

// RetrievalStats summarises the retrieval records of an artifact.
type RetrievalStats struct {
	Count  int64      `json:"count"`
	Bytes  int64      `json:"bytes"`
	LastAt *time.Time `json:"last_at,omitempty"`
	LastBy string     `json:"last_by,omitempty"`
}

// PushResult is what a push reports.
type PushResult struct {
	Artifact
	UploadedBytes     int64 `json:"uploaded_bytes"`
	DeduplicatedBytes int64 `json:"deduplicated_bytes"`
	Chunks            int   `json:"chunks"`
}

// PullResult is what a pull reports.
type PullResult struct {
	Ref           string `json:"ref"`
	ID            string `json:"id"`
	ContentDigest string `json:"content_digest"`
	Bytes         int64  `json:"bytes"`
	Range         string `json:"range,omitempty"`
	Path          string `json:"path,omitempty"`
	Kind          string `json:"kind"`
}

// Page is one page of a List.
type Page struct {
	Artifacts  []Artifact `json:"artifacts"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// LineageDirection says which way Lineage walks.
type LineageDirection string

// Lineage directions.
const (
	Up   LineageDirection = "up"   // inputs, their inputs, ...
	Down LineageDirection = "down" // artifacts derived from this one
)

// LineageGraph is a lineage walk: the nodes reached and the edges between
// them (From was produced using To as an input with Role).
type LineageGraph struct {
	Root  string        `json:"root"` // artifact ID
	Nodes []Artifact    `json:"nodes"`
	Edges []LineageEdge `json:"edges"`
}

// LineageEdge says artifact From was produced from input To.
type LineageEdge struct {
	From   string `json:"from"` // artifact ID
	To     string `json:"to"`   // artifact ID, or "" for a raw digest input
	Digest string `json:"digest,omitempty"`
	Role   string `json:"role,omitempty"`
	Depth  int    `json:"depth"`
}

// Event is one entry of the event log.
type Event struct {
	Seq     int64          `json:"seq"`
	Time    time.Time      `json:"time"`
	Actor   string         `json:"actor"`
	Type    string         `json:"type"`
	Subject string         `json:"subject"`
	Payload map[string]any `json:"payload"`
	Prev    string         `json:"prev"`
	Hash    string         `json:"hash"`
}

// LogReport is the result of verifying the hash chain.
type LogReport struct {
	OK       bool   `json:"ok"`
	Events   int64  `json:"events"`
	Head     string `json:"head"`
	FirstBad int64  `json:"first_bad,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// Problem is one finding of Verify.
type Problem struct {
	Ref     string `json:"ref,omitempty"`
	Digest  string `json:"digest,omitempty"`
	Kind    string `json:"kind"` // one of the Problem* constants: missing, size_mismatch, digest_mismatch, invalid_manifest, unreadable, orphan, chain, view
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	OK        bool      `json:"ok"`
	Artifacts int       `json:"artifacts"`
	Blobs     int       `json:"blobs"`
	Bytes     int64     `json:"bytes"`
	Problems  []Problem `json:"problems"`
}

// BackendHealth is a backend's health as reported to clients.
type BackendHealth struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Healthy    bool   `json:"healthy"`
	Detail     string `json:"detail"`
	TotalBytes int64  `json:"total_bytes"`
	UsedBytes  int64  `json:"used_bytes"`
	FreeBytes  int64  `json:"free_bytes"`
}

// TreeEntry is one entry of a directory (tree) artifact, as `show --files`
// lists it.
type TreeEntry struct {
	// Path is relative to the tree's root, slash-separated.
	Path string `json:"path"`
	// Type is one of the Entry* constants.
	Type string `json:"type"`
	// Mode is the permission bits in octal, four digits ("0644").
	Mode string `json:"mode"`
	// Size is a file's size in bytes (0 for the other types).
	Size int64 `json:"size"`
	// Digest is a file's content digest (what sha256sum prints for it).
	Digest string `json:"digest,omitempty"`
	// Target is a symbolic link's target, as stored.
	Target string `json:"target,omitempty"`
}

// Tree entry types.
const (
	EntryFile    = "file"
	EntryDir     = "dir"
	EntrySymlink = "symlink"
)

// ImportOrigin is where an imported artifact came from: the other store's
// evidence, kept by its import record and checked again when shown.
type ImportOrigin struct {
	// Seq is the local import record's event.
	Seq int64 `json:"seq"`
	// Origin names the other store's log; ForeignID and ForeignSeq the
	// artifact and its registration event there, RegisteredAt and
	// RegisteredBy what that event says.
	Origin       string    `json:"origin"`
	ForeignID    string    `json:"foreign_id"`
	ForeignSeq   int64     `json:"foreign_seq"`
	RegisteredAt time.Time `json:"registered_at"`
	RegisteredBy string    `json:"registered_by"`
	// CheckpointSize is the size of the other log's signed checkpoint the
	// events are proved in, Key the key that signed it; KeyGiven says the
	// importer gave that key (else it was the bundle's own).
	CheckpointSize int64  `json:"checkpoint_size"`
	Key            string `json:"key"`
	KeyGiven       bool   `json:"key_given"`
	Events         int    `json:"events"`
	// Verified says the kept evidence verifies now; Problem says why not.
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
}

// ImportResult is what an import did.
type ImportResult struct {
	Origin         string             `json:"origin"`
	Key            string             `json:"key"`
	KeyGiven       bool               `json:"key_given"`
	CheckpointSize int64              `json:"checkpoint_size"`
	Events         int                `json:"events"`
	Bytes          int64              `json:"bytes"`
	Artifacts      []ImportedArtifact `json:"artifacts"`
}

// ImportedArtifact is one artifact of an imported bundle. Status is
// "imported" (registered here now), "present" (this store already had the
// same name, version and content) or "deleted" (the bundle holds its
// events only: nothing to register).
type ImportedArtifact struct {
	Ref       string `json:"ref"`
	ID        string `json:"id,omitempty"`
	ForeignID string `json:"foreign_id"`
	Digest    string `json:"digest"`
	Status    string `json:"status"`
}
