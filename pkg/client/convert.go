package client

import (
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/pkg/api"
)

// Mapping between the internal types (eventlog, registry) and the wire
// types of this package. Wire types never expose internal ones.

// Artifact kinds.
const (
	KindFile = api.KindFile
	KindTree = api.KindTree
)

// retentionToInternal merges a retention request into the current
// settings. ExpireAfter counts from the artifact's creation; a pointer to
// the zero time clears that setting.
func retentionToInternal(cur eventlog.Retention, created time.Time, req RetentionRequest) (eventlog.Retention, error) {
	out := cur
	if req.ExpireAfter != nil && req.ExpiresAt != nil {
		return out, fmt.Errorf("%w: give an expiry duration or an expiry time, not both", ErrInvalid)
	}
	if req.ExpireAfter != nil {
		if *req.ExpireAfter <= 0 {
			return out, fmt.Errorf("%w: expiry duration %s must be positive", ErrInvalid, *req.ExpireAfter)
		}
		out.ExpiresAt = created.Add(*req.ExpireAfter).UTC()
	}
	if req.ExpiresAt != nil {
		out.ExpiresAt = req.ExpiresAt.UTC()
	}
	if req.ImmutableUntil != nil {
		out.ImmutableUntil = req.ImmutableUntil.UTC()
	}
	return out, nil
}
