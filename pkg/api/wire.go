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
	// Sizes, when given, holds the size of each digest, in the same order:
	// a daemon with direct transfers on answers a presigned upload for each
	// missing blob, bound to its size.
	Sizes []int64 `json:"sizes,omitempty"`
}

// MissingResponse lists the digests of a MissingRequest the daemon does not
// hold, in request order.
type MissingResponse struct {
	Missing []string `json:"missing"`
	// Uploads, when the request gave sizes and the daemon hands out direct
	// transfers, holds one presigned PUT per missing digest, in the order
	// of Missing: the client sends the blob's bytes straight to the
	// storage backend with it, and the backend refuses any other bytes.
	Uploads []SignedRequest `json:"uploads,omitempty"`
}

// SignedRequest is a request a client sends straight to the storage
// backend's server (a presigned S3 URL), without its artstore token: the
// signature in the URL authorises it, until Expires.
type SignedRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Header holds headers the signature covers: send them as they are.
	Header  map[string][]string `json:"header,omitempty"`
	Expires time.Time           `json:"expires"`
}

// DirectPull is the part of a PullGrant that lets the client read an
// artifact (a file or a directory) straight from the storage backend.
type DirectPull struct {
	// Manifest reads the artifact's manifest blob.
	Manifest SignedRequest `json:"manifest"`
	// Grant is the sequence number of the pull's retrieval record; POST
	// /v1/artifact/pulls/urls takes it to hand out the chunks' URLs.
	Grant int64 `json:"grant"`
}

// PullURLs is the answer to POST
// /v1/artifact/pulls/urls?ref=REF&grant=SEQ&from=N[&range=R]: presigned
// GETs of the blobs the granted pull reads after its manifest, in the
// order it reads them, from item N of that sequence on. For a file or a
// stream-layout tree ("schema":2) the items are the manifest's chunks (an
// item's index is its chunk index) that the range needs (a client adds a
// Range header to read part of a chunk); for a per-file layout tree
// ("schema":1), each file's manifest followed by that manifest's chunks.
// Chunks of no bytes are never listed.
type PullURLs struct {
	Chunks []ChunkURL `json:"chunks"`
	// Next is the item index to ask for next, when not Done.
	Next int  `json:"next"`
	Done bool `json:"done"`
}

// ChunkURL is one item of a PullURLs answer: a chunk, or a per-file
// layout tree's file manifest (Size 0: the daemon does not read its size).
type ChunkURL struct {
	Index  int           `json:"index"`
	Digest string        `json:"digest"`
	Size   int64         `json:"size"`
	Get    SignedRequest `json:"get"`
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
// which records the retrieval as it serves them; or, for a directory,
// Scoped says where it reads them.
//
// With Direct (a daemon whose backend presigns), the retrieval is recorded
// and the client reads the manifest and the blobs after it straight from
// the storage backend, whatever the token's prefix and the artifact's
// kind. Asked with direct=only, a daemon without direct transfers answers
// the artifact with neither Blobs nor Direct and records nothing.
type PullGrant struct {
	Artifact Artifact `json:"artifact"`
	Blobs    bool     `json:"blobs"`
	// Scoped: read the manifest and chunks from
	// /v1/artifact/blobs/{digest}?ref=<the artifact's ID>, which serves the
	// artifact's own blobs only (a directory pulled with a token limited
	// to a name prefix). The retrieval record is appended, as for Blobs.
	Scoped bool        `json:"scoped,omitempty"`
	Direct *DirectPull `json:"direct,omitempty"`
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
