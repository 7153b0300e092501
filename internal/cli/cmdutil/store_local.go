package cmdutil

import (
	"context"
	"time"

	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// openLocal opens the local store (pkg/client's local implementation) in
// cfg.Store with backend b.
func openLocal(ctx context.Context, cfg *config.Config, b config.Backend, actor string, now func() time.Time) (client.Store, error) {
	return client.OpenLocal(ctx, client.LocalOptions{
		Dir:              cfg.Store,
		Backend:          b.Spec,
		Actor:            actor,
		RetrievalRecords: cfg.RetrievalRecords,
		Now:              now,
		ProtectedTags:    cfg.Tags.Protected,
		CheckpointKey:    cfg.CheckpointKey,
	})
}
