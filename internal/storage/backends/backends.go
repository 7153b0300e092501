// Package backends opens storage backends from their typed specification.
// It is the one place that knows every backend implementation; callers
// (pkg/client, internal/server, the CLI) describe what they want with a Spec.
package backends

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/s3"
)

// Backend types.
const (
	TypeLocal = "local"
	TypeS3    = "s3"
)

// Spec describes one backend. Which fields matter depends on Type.
//
// It is the one definition of a backend's settings: the configuration
// package fills it from the config file (each field's `config` tag is its
// key under backends.<id>), pkg/client takes it as BackendConfig, and the
// daemon and local mode open it unchanged with Open.
type Spec struct {
	ID   string // the name in the configuration, e.g. "default"
	Type string `config:"type"` // TypeLocal or TypeS3

	// local
	Root string `config:"root"` // directory holding the blobs

	// s3
	Bucket          string `config:"bucket"`
	Prefix          string `config:"prefix"` // key prefix inside the bucket, e.g. "artstore/"
	Region          string `config:"region"`
	Endpoint        string `config:"endpoint"` // e.g. http://127.0.0.1:7480; empty for AWS
	PathStyle       bool   `config:"path_style"`
	AccessKeyID     string `config:"access_key_id"` // empty: the standard AWS credential chain
	SecretAccessKey string `config:"secret_access_key"`
	SessionToken    string `config:"session_token"`
	// Multipart tuning; zero means the backend's default.
	MultipartThreshold int64 `config:"multipart_threshold"`
	PartSize           int64 `config:"part_size"`
	Concurrency        int   `config:"concurrency"`
	// Timeout bounds the wait for each response's headers (zero: backend
	// default).
	Timeout time.Duration `config:"timeout"`
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

// SpecOf returns the spec an opened backend runs with, recovered from the
// backend itself, so callers and tests can check what reached it. It
// reports false for a backend that Open did not build.
func SpecOf(b storage.Backend) (Spec, bool) {
	switch b := b.(type) {
	case *local.Backend:
		return Spec{ID: b.ID(), Type: TypeLocal, Root: b.Root()}, true
	case *s3.Backend:
		return specOfS3(b.Config()), true
	}
	return Spec{}, false
}

// Keys returns the configuration key of every Spec field that has one (its
// `config` tag), in field order.
func Keys() []string {
	t := reflect.TypeFor[Spec]()
	var keys []string
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("config"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
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
