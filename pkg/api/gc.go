package api

import "time"

// GCRequest is the body of POST /v1/admin/gc.
type GCRequest struct {
	DryRun bool `json:"dry_run,omitempty"`
	// Grace is a Go duration ("1h"); empty means zero.
	Grace string `json:"grace,omitempty"`
}

// CollectedBlob is a blob garbage collection deleted (or would delete).
type CollectedBlob struct {
	Digest  string    `json:"digest"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// GCReport is the outcome of a garbage collection.
type GCReport struct {
	Backend string `json:"backend"`
	DryRun  bool   `json:"dry_run"`
	// Cutoff: only blobs modified before it were considered (start − grace).
	Cutoff time.Time `json:"cutoff"`
	// LiveArtifacts and LiveBlobs size what was kept as referenced.
	LiveArtifacts int `json:"live_artifacts"`
	LiveBlobs     int `json:"live_blobs"`
	// Scanned is the number of blobs in the backend.
	Scanned int `json:"scanned"`
	// Collected lists the blobs deleted (with DryRun: that would be);
	// Blobs and Bytes total them.
	Collected []CollectedBlob `json:"collected"`
	Blobs     int             `json:"blobs"`
	Bytes     int64           `json:"bytes"`
	// Spared counts candidates kept at the last moment: referenced by a
	// push that registered meanwhile, re-uploaded within the grace
	// window, or already gone.
	Spared int `json:"spared"`
	// Events are the seqs of the blobs.collected events recorded.
	Events []int64 `json:"events"`
	// TempFiles and TempBytes count the temporary upload files (left by
	// uploads killed hard) older than Cutoff that were removed (with
	// DryRun: that would be); always 0 for backends without them (S3).
	TempFiles int   `json:"temp_files"`
	TempBytes int64 `json:"temp_bytes"`
}
