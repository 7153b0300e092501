package client

import (
	"io"

	"github.com/artifact-store/artstore/pkg/api"
)

// The wire types live in pkg/api, which the daemon shares; these aliases
// keep them part of this package's API.
type (
	Artifact         = api.Artifact
	Provenance       = api.Provenance
	Producer         = api.Producer
	Input            = api.Input
	Retention        = api.Retention
	RetrievalStats   = api.RetrievalStats
	PushResult       = api.PushResult
	PullResult       = api.PullResult
	Page             = api.Page
	LineageDirection = api.LineageDirection
	LineageGraph     = api.LineageGraph
	LineageEdge      = api.LineageEdge
	Event            = api.Event
	LogReport        = api.LogReport
	LogKey           = api.LogKey
	Checkpoint       = api.Checkpoint
	InclusionProof   = api.InclusionProof
	ConsistencyProof = api.ConsistencyProof
	ExportRequest    = api.ExportRequest
	ExportSummary    = api.ExportSummary
	ExportedArtifact = api.ExportedArtifact
	CheckpointReport = api.CheckpointReport
	Problem          = api.Problem
	VerifyReport     = api.VerifyReport
	BackendHealth    = api.BackendHealth
	TreeEntry        = api.TreeEntry
	ImportResult     = api.ImportResult
	ImportOrigin     = api.ImportOrigin
	ImportedArtifact = api.ImportedArtifact

	// Requests of the use cases local mode and the daemon share.
	Query            = api.Query
	LineageOptions   = api.LineageOptions
	RetentionRequest = api.RetentionRequest
	AuditQuery       = api.AuditQuery
	GCOptions        = api.GCOptions
)

// Lineage directions.
const (
	Up   = api.Up
	Down = api.Down
)

// PushRequest describes an artifact to push. Exactly one of Path or Reader
// is set: Path may name a file or a directory (pushed as a tree); Reader is
// read to EOF (standard input).
type PushRequest struct {
	Path      string            `json:"-"`
	Reader    io.Reader         `json:"-"`
	Name      string            `json:"name"`
	Version   string            `json:"version,omitempty"` // empty: next integer
	Tags      []string          `json:"tags,omitempty"`
	NoLatest  bool              `json:"no_latest,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Inputs    []Input           `json:"inputs,omitempty"`
	MediaType string            `json:"media_type,omitempty"`
	Producer  Producer          `json:"producer"`
	// Progress, if set, is called from the pushing goroutine with the bytes
	// read from the source so far and the bytes uploaded so far.
	Progress func(read, uploaded int64) `json:"-"`
	// FollowSymlinks stores, in a directory push, what each symbolic link
	// points to (a file or a directory, wherever it is) instead of the
	// link itself.
	FollowSymlinks bool `json:"-"`
	// Strict fails a directory push that meets a device, socket or named
	// pipe, instead of skipping it.
	Strict bool `json:"-"`
	// OnSkip, if set, is called once for each special file a directory
	// push skips, with its path and what it is.
	OnSkip func(path, what string) `json:"-"`
	// TreeCacheDir, if set, is the directory of the tree cache: a
	// directory pushed again unchanged (every entry's size, times, inode
	// and mode as at its last push to this store) is not read again, and
	// its previous manifest is registered (see transfer.TreeCache). Empty
	// reads every file.
	TreeCacheDir string `json:"-"`
}

// Tree entry types (TreeEntry.Type).
const (
	EntryFile    = api.EntryFile
	EntryDir     = api.EntryDir
	EntrySymlink = api.EntrySymlink
)

// Artifact kinds.
const (
	KindFile = api.KindFile
	KindTree = api.KindTree
)
