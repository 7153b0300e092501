package api

// RepairPlan is what the first step of a repair found and did: the deep
// check of every blob of the artifact, the damaged blobs it deleted (their
// bytes were wrong, and a blob present under its digest is never uploaded
// again), and the blobs the source must supply.
type RepairPlan struct {
	Artifact Artifact `json:"artifact"`
	// Problems are the check's findings, as verify --deep reports them.
	Problems []Problem `json:"problems"`
	// Removed are the digests of the damaged blobs deleted.
	Removed []string `json:"removed"`
	// Missing are the digests of the blobs the store lacks now (the
	// removed ones included). When a manifest is among them, the blobs it
	// lists are not known yet and not listed.
	Missing []string `json:"missing"`
}

// RepairRequest finishes a repair once the source was pushed: what the
// push of the source gave, and what the plan found.
type RepairRequest struct {
	// ContentDigest and ManifestDigest are the source's, as its push
	// computed them: they must be the artifact's.
	ContentDigest  string `json:"content_digest"`
	ManifestDigest string `json:"manifest_digest"`
	// Source says what the blobs came from ("file q3.pdf", "directory
	// site", "backend offsite"), for the record.
	Source string `json:"source"`
	// Missing and Damaged count what the plan found missing and deleted.
	Missing int `json:"missing"`
	Damaged int `json:"damaged"`
}

// RepairResult is the outcome of a repair (`artstore repair --json`).
type RepairResult struct {
	Artifact Artifact `json:"artifact"`
	// Repaired is false when the check found nothing to repair: nothing
	// was read from the source and nothing recorded.
	Repaired bool   `json:"repaired"`
	Source   string `json:"source"`
	// Missing and Damaged count the blobs the check before the repair
	// found absent, and present with wrong bytes (deleted).
	Missing int `json:"missing"`
	Damaged int `json:"damaged"`
	// UploadedBytes is what the source supplied (the bytes of the blobs
	// the store lacked).
	UploadedBytes int64 `json:"uploaded_bytes"`
	// Blobs and Bytes are what the check after the repair verified.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}
