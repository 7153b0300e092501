package client

import (
	"fmt"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
)

// manifestMismatch is the error for a manifest md that does not describe
// the content ref was registered with (digest want of size size).
func manifestMismatch(ref string, md content.Digest, m content.Manifest, want string, size int64) error {
	return fmt.Errorf("%w: its manifest %s describes %s content %s of %d bytes, but %s was registered with %s of %d bytes",
		content.ErrMismatch, md.Short(), m.Kind, m.Digest, m.Size, ref, want, size)
}

// mapErr marks err with the api sentinel of its class (ErrNotFound,
// ErrIntegrity, ...), keeping its message and its own chain; the one
// classification is the application layer's (app.Classify).
// Cancellation and errors that match nothing are returned as they are.
func mapErr(err error) error { return app.Sentinel(err) }
