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
