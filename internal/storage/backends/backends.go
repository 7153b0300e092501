// Package backends opens storage backends from their typed specification.
// It is the one place that knows every backend implementation; callers
// (pkg/client, internal/server, the CLI) describe what they want with a Spec.
package backends

import (
	"context"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
)

// Backend types.
const (
	TypeLocal = "local"
	TypeS3    = "s3"
)

// Spec describes one backend. Which fields matter depends on Type.
type Spec struct {
	ID   string // the name in the configuration, e.g. "default"
	Type string // TypeLocal or TypeS3

	// local
	Root string // directory holding the blobs

	// s3
	Bucket          string
	Prefix          string // key prefix inside the bucket, e.g. "artstore/"
	Region          string
	Endpoint        string // e.g. http://127.0.0.1:7480; empty for AWS
	PathStyle       bool
	AccessKeyID     string // empty: the standard AWS credential chain
	SecretAccessKey string
	SessionToken    string
	// Multipart tuning; zero means the backend's default.
	MultipartThreshold int64
	PartSize           int64
	Concurrency        int
	// Timeout bounds each request (zero: backend default).
	Timeout time.Duration
}

// Open builds the backend a spec describes. It does not contact remote
// services beyond what the backend needs to start; use Health for that.
func Open(ctx context.Context, s Spec) (storage.Backend, error) {
	switch s.Type {
	case TypeLocal:
		if s.Root == "" {
			return nil, fmt.Errorf("backend %q: type local needs a root directory", s.ID)
		}
		return local.New(s.ID, s.Root)
	case TypeS3:
		return openS3(ctx, s)
	case "":
		return nil, fmt.Errorf("backend %q: no type given (want %q or %q)", s.ID, TypeLocal, TypeS3)
	default:
		return nil, fmt.Errorf("backend %q: unknown type %q (want %q or %q)", s.ID, s.Type, TypeLocal, TypeS3)
	}
}

// OpenAll opens every spec into a Registry.
func OpenAll(ctx context.Context, specs []Spec) (*storage.Registry, error) {
	reg := storage.NewRegistry()
	for _, s := range specs {
		b, err := Open(ctx, s)
		if err != nil {
			return nil, err
		}
		if err := reg.Register(b); err != nil {
			return nil, err
		}
	}
	return reg, nil
}
