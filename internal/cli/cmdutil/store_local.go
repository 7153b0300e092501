package cmdutil

import (
	"context"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// openLocal opens the local store (pkg/client's local implementation).
func openLocal(_ context.Context, cfg *config.Config, _ config.Backend, _ string, _ func() time.Time) (client.Store, error) {
	return nil, Mark(fmt.Errorf("local store %s: the local store is not available in this build yet", cfg.Store), client.ErrUnavailable)
}
