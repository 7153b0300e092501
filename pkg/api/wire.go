package api

import "time"

// Wire types of the daemon's HTTP API that are not also CLI output. The
// daemon (internal/server) and pkg/client.Remote both use them; see docs/http-api.md.

// ErrorResponse is the body of every error response of the HTTP API.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is an API error: a stable machine-readable code (not_found,
// conflict, missing_blobs, invalid, digest_mismatch, too_large,
// unauthorized, forbidden, range_not_satisfiable, busy, unavailable,
// internal) and a message for people.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Digests lists the blobs a register found missing (code missing_blobs).
	Digests []string `json:"digests,omitempty"`
}

// RegisterRequest is the body of POST /v1/artifacts: an artifact whose
// manifest and blobs the client has already uploaded.
type RegisterRequest struct {
	Name           string `json:"name"`
	Version        string `json:"version,omitempty"`
	ContentDigest  string `json:"content_digest"`
	ManifestDigest string `json:"manifest_digest"`
	Size           int64  `json:"size"`
	// Blobs is ignored (older clients listed every blob the manifest
	// names): the daemon reads the manifest and checks that it and every
	// blob it references are stored.
	Blobs     []string          `json:"blobs,omitempty"`
	MediaType string            `json:"media_type,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Producer  Producer          `json:"producer"`
	Inputs    []Input           `json:"inputs,omitempty"`
	Tags      []string          `json:"tags,omitempty"`
	NoLatest  bool              `json:"no_latest,omitempty"`
}

// MissingRequest is the body of POST /v1/blobs/missing.
type MissingRequest struct {
	Digests []string `json:"digests"`
}

// MissingResponse lists the digests of a MissingRequest the daemon does not
// hold, in request order.
type MissingResponse struct {
	Missing []string `json:"missing"`
}

// LabelsRequest is the body of PATCH /v1/artifact/labels.
type LabelsRequest struct {
	Set    map[string]string `json:"set,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// RetentionBody is the body of PUT /v1/artifact/retention. Absent members
// leave a setting as it is; expire_after is a Go duration ("720h").
type RetentionBody struct {
	ExpireAfter    string     `json:"expire_after,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	ImmutableUntil *time.Time `json:"immutable_until,omitempty"`
}

// HoldRequest is the body of POST and DELETE /v1/artifact/holds.
type HoldRequest struct {
	// Hold names the hold; empty means HoldName.
	Hold   string `json:"hold,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PullGrant is the answer to POST /v1/artifact/pulls?ref=REF[&range=R]:
// the artifact to pull and how to read its bytes. With Blobs, the daemon
// has appended the pull's retrieval record and the client reads the
// manifest and chunks by digest from /v1/blobs. Without it (a token
// limited to a name prefix, which may not read blobs by digest), nothing
// was recorded and the client reads the bytes from /v1/artifact/content,
// which records the retrieval as it serves them.
type PullGrant struct {
	Artifact Artifact `json:"artifact"`
	Blobs    bool     `json:"blobs"`
	// Range is the requested range in canonical form ("start-end"), ""
	// for the whole artifact.
	Range string `json:"range,omitempty"`
}

// EventsResponse is the body of GET /v1/events.
type EventsResponse struct {
	Events []Event `json:"events"`
	// Head is the log's last seq when the response was made.
	Head int64 `json:"head"`
}

// TokenInfo describes an API token (never its secret).
type TokenInfo struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	Prefix    string     `json:"prefix,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
	// Status is "active", "expired" or "revoked".
	Status string `json:"status"`
}

// TokenRequest is the body of POST /v1/tokens. Expires is a Go duration
// ("720h"); empty means never.
type TokenRequest struct {
	Name    string `json:"name,omitempty"`
	Scope   string `json:"scope"`
	Prefix  string `json:"prefix,omitempty"`
	Expires string `json:"expires,omitempty"`
}

// TokenCreated is the response to POST /v1/tokens: the only time the
// token's secret is shown.
type TokenCreated struct {
	TokenInfo
	Token string `json:"token"`
}

// Completions is the response to GET /v1/complete?ref=PARTIAL&limit=N:
// the references that complete PARTIAL (shell completion), see
// app.Service.Complete.
type Completions struct {
	Candidates []string `json:"candidates"`
}
