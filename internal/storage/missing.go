package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
)

// missingConcurrency bounds the parallel Head calls of one Missing.
const missingConcurrency = 16

// Missing returns the digests of ds that b does not hold, in their order,
// by a Head per digest (at most 16 at a time). It is the batched "which of
// these are absent" check of pushes and registration. Any Head error other
// than ErrNotFound fails the whole call.
func Missing(ctx context.Context, b Backend, ds []content.Digest) ([]content.Digest, error) {
	absent := make([]bool, len(ds))
	errs := make([]error, len(ds))
	sem := make(chan struct{}, missingConcurrency)
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := b.Head(ctx, d)
			switch {
			case errors.Is(err, ErrNotFound):
				absent[i] = true
			case err != nil:
				errs[i] = fmt.Errorf("backend %s: head %s: %w", b.ID(), d.Short(), err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var missing []content.Digest
	for i, d := range ds {
		if absent[i] {
			missing = append(missing, d)
		}
	}
	return missing, nil
}
