package api

// Artifact kinds (Artifact.Kind).
const (
	KindFile = "file"
	KindTree = "tree"
)

const (
	// HoldName is the name of the legal hold the hold and release calls
	// place and release when none is named. The registry supports several
	// named holds per artifact.
	HoldName = "legal"
	// TreeMediaType is the media type of every directory (tree) artifact.
	// It is reserved: a file cannot be pushed with it, and a directory
	// cannot be pushed with another, so Artifact.Kind follows from it.
	TreeMediaType = "application/vnd.artstore.tree+json"
	// LabelFileName is the label under which artstore push records the
	// base name of the file or directory it pushed (report.pdf for
	// ./out/report.pdf pushed as reports/quarterly); pull without -o
	// writes under that name. It is the OCI title annotation, so an OCI
	// client pulling the artifact through /v2 (oras pull) writes the same
	// name. It is an ordinary label: shown, searchable, and changed or
	// removed with artstore label.
	LabelFileName = "org.opencontainers.image.title"
)

// Problem kinds (Problem.Kind) reported by verify.
const (
	ProblemMissing         = "missing"          // a blob an artifact needs is not in the backend
	ProblemSizeMismatch    = "size_mismatch"    // a stored blob has the wrong size
	ProblemDigestMismatch  = "digest_mismatch"  // stored bytes do not hash to their digest
	ProblemInvalidManifest = "invalid_manifest" // a manifest does not parse or does not fit its artifact
	ProblemUnreadable      = "unreadable"       // a blob could not be read (I/O error)
	ProblemOrphan          = "orphan"           // a blob no artifact references
	ProblemChain           = "chain"            // the event log's hash chain is broken
	ProblemView            = "view"             // the views differ from a replay of the log
	ProblemTemp            = "temporary_files"  // temporary upload files left in the backend
)
