package backends

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/storage"
)

// openS3 is replaced when internal/storage/s3 lands (issue: S3-compatible backend).
func openS3(_ context.Context, s Spec) (storage.Backend, error) {
	return nil, fmt.Errorf("backend %q: type s3 is not available in this build yet", s.ID)
}
