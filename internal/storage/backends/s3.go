package backends

import (
	"context"

	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/s3"
)

// openS3 maps a Spec to the S3 backend's configuration. Spec.Timeout bounds
// the wait for each response's headers (not the transfer of a body, which
// may legitimately take long for a large blob).
func openS3(ctx context.Context, s Spec) (storage.Backend, error) {
	return s3.New(ctx, s3.Config{
		ID:                 s.ID,
		Bucket:             s.Bucket,
		Prefix:             s.Prefix,
		Region:             s.Region,
		Endpoint:           s.Endpoint,
		PathStyle:          s.PathStyle,
		AccessKeyID:        s.AccessKeyID,
		SecretAccessKey:    s.SecretAccessKey,
		SessionToken:       s.SessionToken,
		MultipartThreshold: s.MultipartThreshold,
		PartSize:           s.PartSize,
		Concurrency:        s.Concurrency,
		ResponseTimeout:    s.Timeout,
	})
}
