package eventlog

import (
	"fmt"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
)

// OCI blob event types. They record which blobs an OCI repository (an
// artifact name) holds: the daemon's /v2 API appends them when an upload
// completes or a blob is mounted, and when a blob is deleted from a
// repository. They change no view table: every daemon folds them into its
// own in-memory index (internal/server), as it does tokens.
const (
	TypeOCIBlobLinked   = "oci.blob.linked.v1"
	TypeOCIBlobUnlinked = "oci.blob.unlinked.v1"
)

// MaxOCIDigestLen bounds an OCI digest string in an event ("sha512:" and
// 128 hex characters).
const MaxOCIDigestLen = 7 + 128

// OCIBlobLinked records that repository Repository holds the blob Digest.
// Digest is the OCI digest the client named ("sha256:..." or
// "sha512:..."); the bytes are stored as artstore stores a file: Manifest
// is their file manifest, Content their sha256 and Size their length. The
// event's subject is "oci:" + Repository.
type OCIBlobLinked struct {
	Repository string         `json:"repository"`
	Digest     string         `json:"digest"`
	Size       int64          `json:"size"`
	Content    content.Digest `json:"content"`
	Manifest   content.Digest `json:"manifest"`
}

// EventType implements Payload.
func (OCIBlobLinked) EventType() string { return TypeOCIBlobLinked }

func (p *OCIBlobLinked) validate() error {
	if err := validateOCIBlob(p.Repository, p.Digest); err != nil {
		return err
	}
	if p.Size < 0 {
		return fmt.Errorf("negative size %d", p.Size)
	}
	if p.Content.IsZero() || p.Manifest.IsZero() {
		return fmt.Errorf("content and manifest digests are required")
	}
	return nil
}

// OCIBlobUnlinked records that repository Repository stops holding the
// blob Digest (DELETE /v2/<name>/blobs/<digest>). The bytes stay as long as
// anything else references them.
type OCIBlobUnlinked struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
}

// EventType implements Payload.
func (OCIBlobUnlinked) EventType() string { return TypeOCIBlobUnlinked }

func (p *OCIBlobUnlinked) validate() error { return validateOCIBlob(p.Repository, p.Digest) }

func validateOCIBlob(repo, digest string) error {
	if repo == "" || len(repo) > 255 {
		return fmt.Errorf("repository must be 1 to 255 bytes")
	}
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || len(digest) > MaxOCIDigestLen || (alg != "sha256" && alg != "sha512") || hex == "" {
		return fmt.Errorf("digest %q is not a sha256 or sha512 digest", digest)
	}
	return nil
}
