package api

import "time"

// RetentionRule is a retention policy rule: live artifacts whose name
// matches Pattern expire ExpireAfter after creation, except the KeepLast
// newest versions of each name.
type RetentionRule struct {
	ID      string `json:"id"`
	Pattern string `json:"pattern"`
	// ExpireAfter is "90d" or a Go duration, "" when the rule only keeps
	// the last versions; ExpireAfterSeconds is the same in seconds.
	ExpireAfter        string    `json:"expire_after,omitempty"`
	ExpireAfterSeconds int64     `json:"expire_after_seconds,omitempty"`
	KeepLast           int       `json:"keep_last,omitempty"`
	AddedAt            time.Time `json:"added_at"`
	AddedBy            string    `json:"added_by"`
}

// RetentionRuleRequest adds a retention rule (POST /v1/retention/rules).
type RetentionRuleRequest struct {
	Pattern string `json:"pattern"`
	// ExpireAfter is "90d", "2w" or a Go duration ("36h").
	ExpireAfter string `json:"expire_after,omitempty"`
	KeepLast    int    `json:"keep_last,omitempty"`
}

// Expiry is an artifact retention deleted or would delete, and why.
type Expiry struct {
	Artifact Artifact `json:"artifact"`
	// Rule is the ID of the rule that expired it, "" for its own
	// expires_at.
	Rule     string    `json:"rule,omitempty"`
	Deadline time.Time `json:"deadline"`
	// Reason is what the deletion event records.
	Reason  string `json:"reason"`
	Deleted bool   `json:"deleted"`
	// Skipped says why a planned deletion did not happen after all.
	Skipped string `json:"skipped,omitempty"`
}

// RetentionReport is the outcome of applying retention.
type RetentionReport struct {
	DryRun  bool     `json:"dry_run"`
	Expired []Expiry `json:"expired"`
}

// RetentionApplyRequest is the body of POST /v1/admin/retention/apply.
type RetentionApplyRequest struct {
	DryRun bool `json:"dry_run,omitempty"`
}

// RetentionExplanation says what retention weighs for one artifact.
type RetentionExplanation struct {
	Artifact Artifact `json:"artifact"`
	Due      bool     `json:"due"`
	Lines    []string `json:"lines"`
}
