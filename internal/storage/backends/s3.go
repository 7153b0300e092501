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
	return s3.New(ctx, s3Config(s))
}

// s3Config is the S3 backend's configuration for a spec.
func s3Config(s Spec) s3.Config {
	return s3.Config{
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
	}
}

// specOfS3 is the inverse of s3Config.
func specOfS3(c s3.Config) Spec {
	return Spec{
		ID:                 c.ID,
		Type:               TypeS3,
		Bucket:             c.Bucket,
		Prefix:             c.Prefix,
		Region:             c.Region,
		Endpoint:           c.Endpoint,
		PathStyle:          c.PathStyle,
		AccessKeyID:        c.AccessKeyID,
		SecretAccessKey:    c.SecretAccessKey,
		SessionToken:       c.SessionToken,
		MultipartThreshold: c.MultipartThreshold,
		PartSize:           c.PartSize,
		Concurrency:        c.Concurrency,
		Timeout:            c.ResponseTimeout,
	}
}
