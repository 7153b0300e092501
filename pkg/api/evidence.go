package api

// LogKey is the public key a store signs its checkpoints with, in note
// verifier form ("origin+hash+base64"), and the log origin it names.
type LogKey struct {
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifier_key"`
}

// Checkpoint is a signed tree head of the event log: Signed is the C2SP
// tlog-checkpoint signed note (origin line, tree size, root hash in
// base64, blank line, signature lines); Origin, Size and Root repeat its
// body for readers that do not parse it.
type Checkpoint struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
	Signed string `json:"signed"`
}

// InclusionProof proves that event Seq (its hash EventHash) is leaf Seq-1
// of the log's Merkle tree of Size events: Proof lists the sibling hashes,
// in standard base64, from the leaf up.
type InclusionProof struct {
	Seq       int64    `json:"seq"`
	Size      int64    `json:"size"`
	EventHash string   `json:"event_hash"`
	Proof     []string `json:"proof"`
}

// ConsistencyProof proves that the log's tree of Old events is a prefix
// of its tree of New events (RFC 6962 section 2.1.2): Proof lists the
// hashes in standard base64.
type ConsistencyProof struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Proof []string `json:"proof"`
}

// CheckpointReport is the result of checking today's log against a
// checkpoint saved earlier. OK false, with Problem, is a log that is not
// an extension of the saved one (rewritten, cut short, forked) or a
// checkpoint that is not signed by the key.
type CheckpointReport struct {
	OK        bool   `json:"ok"`
	Origin    string `json:"origin"`
	SavedSize int64  `json:"saved_size"`
	SavedRoot string `json:"saved_root"`
	Size      int64  `json:"size"`
	Root      string `json:"root"`
	Problem   string `json:"problem,omitempty"`
}

// ExportRequest is the body of POST /v1/export: the evidence bundle of
// Refs (artstore export).
type ExportRequest struct {
	Refs []string `json:"refs"`
	// Closure is the provenance depth: 0 for the requested artifacts
	// alone, -1 for their inputs to any depth, N for N levels of inputs.
	Closure int `json:"closure,omitempty"`
	// At is the tree size of the bundle's checkpoint: 0 for the log's
	// current size. The same At gives the same bundle.
	At int64 `json:"at,omitempty"`
}

// ExportSummary says what an export wrote.
type ExportSummary struct {
	// Origin, Size and Root are the bundle's checkpoint's.
	Origin    string             `json:"origin"`
	Size      int64              `json:"size"`
	Root      string             `json:"root"`
	Closure   int                `json:"closure"`
	Artifacts []ExportedArtifact `json:"artifacts"`
	// Events is how many events (each with its inclusion proof) the
	// bundle holds.
	Events int `json:"events"`
	// Bytes is the artifacts' content in the bundle (files and trees'
	// files), without the tar's own overhead.
	Bytes int64 `json:"bytes"`
	// File is where the bundle was written ("-" for standard output);
	// set by the CLI.
	File string `json:"file,omitempty"`
}

// ExportedArtifact is one artifact of a bundle.
type ExportedArtifact struct {
	ID     string `json:"id"`
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// Depth is 0 for a requested artifact, else its distance in the
	// provenance graph from the nearest requested one.
	Depth int `json:"depth"`
	// Bytes says whether its bytes are in the bundle (not when an event
	// in the bundle deleted it).
	Bytes bool `json:"bytes"`
}
