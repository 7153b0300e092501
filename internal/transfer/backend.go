package transfer

import (
	"context"
	"io"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// FromBackend adapts a storage backend to BlobStore, for local mode:
// Missing runs Head for each digest (in parallel), Put and Get pass
// through. Retries are the pipeline's business, not the adapter's. Push
// stores the chunks and manifests it has just digested itself through the
// backend's storage.VerifiedPutter, when it implements one, so the bytes
// are not hashed twice, and groups the durability of a push's chunks
// through its storage.Stager, when it implements one.
func FromBackend(b storage.Backend) BlobStore { return backendStore{b} }

type backendStore struct{ b storage.Backend }

var _ BlobStore = backendStore{}

func (s backendStore) Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	return storage.Missing(ctx, s.b, ds)
}

func (s backendStore) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
	_, err := s.b.Put(ctx, d, size, r)
	return err
}

// putDigested stores bytes the pipeline digested itself, through the
// backend's storage.VerifiedPutter when it has one (skipping a second hash
// pass), else through the verifying Put.
func (s backendStore) putDigested(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
	if vp, ok := s.b.(storage.VerifiedPutter); ok {
		_, err := vp.PutVerified(ctx, d, size, r)
		return err
	}
	return s.Put(ctx, d, size, r)
}

// newStage returns a stage over the backend's storage.Stager, or nil.
func (s backendStore) newStage() blobStage {
	if st, ok := s.b.(storage.Stager); ok {
		return backendStage{st.NewStage()}
	}
	return nil
}

type backendStage struct{ st storage.Stage }

func (s backendStage) putDigested(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
	_, err := s.st.PutVerified(ctx, d, size, r)
	return err
}

func (s backendStage) commit(ctx context.Context) error { return s.st.Commit(ctx) }
func (s backendStage) abort()                           { s.st.Abort() }

func (s backendStore) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	return s.b.Get(ctx, d, rng)
}
