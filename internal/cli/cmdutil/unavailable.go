package cmdutil

import (
	"context"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// unavailable stands in for a backend that could not be opened.
type unavailable struct {
	id, detail string
}

var _ storage.Backend = (*unavailable)(nil)

// Unavailable returns a backend that is permanently unhealthy: Health
// reports detail, and every other method fails with an error wrapping
// storage.ErrUnavailable that says which backend and why.
func Unavailable(id, detail string) storage.Backend { return &unavailable{id: id, detail: detail} }

func (u *unavailable) err() error {
	return fmt.Errorf("backend %s: %s: %w", u.id, u.detail, storage.ErrUnavailable)
}

// ID returns the configured backend ID.
func (u *unavailable) ID() string { return u.id }

// Put fails with storage.ErrUnavailable.
func (u *unavailable) Put(context.Context, content.Digest, int64, io.Reader) (bool, error) {
	return false, u.err()
}

// Get fails with storage.ErrUnavailable.
func (u *unavailable) Get(context.Context, content.Digest, *content.Range) (io.ReadCloser, error) {
	return nil, u.err()
}

// Head fails with storage.ErrUnavailable.
func (u *unavailable) Head(context.Context, content.Digest) (storage.Info, error) {
	return storage.Info{}, u.err()
}

// Delete fails with storage.ErrUnavailable.
func (u *unavailable) Delete(context.Context, content.Digest) (bool, error) { return false, u.err() }

// Walk fails with storage.ErrUnavailable.
func (u *unavailable) Walk(context.Context, func(storage.Info) error) error { return u.err() }

// Health reports the backend unhealthy with the reason it could not be opened.
func (u *unavailable) Health(context.Context) storage.Health {
	return storage.Health{Healthy: false, Detail: u.detail, TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}
}
