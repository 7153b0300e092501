package registry

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/textfmt"
)

// Repair describes a finished repair of an artifact's blobs (see
// eventlog.ArtifactRepaired).
type Repair struct {
	// Source says what the blobs were supplied from; printable, at most
	// 256 bytes.
	Source string
	// Missing and Damaged count what the check before the repair found.
	Missing, Damaged int
	// Blobs and Bytes are what the check after it verified.
	Blobs int
	Bytes int64
}

// RecordRepair appends the record that the live artifact ref names was
// repaired: its missing or damaged blobs were supplied again and every
// blob verified. The caller has checked the blobs; the record changes no
// view.
func (r *Registry) RecordRepair(ctx context.Context, actor, ref string, rep Repair) (Artifact, error) {
	if rep.Source == "" || !textfmt.Printable(rep.Source, 256) || rep.Missing < 0 || rep.Damaged < 0 || rep.Blobs < 0 || rep.Bytes < 0 {
		return Artifact{}, fmt.Errorf("record the repair of %s: %w: the source must be printable text of at most 256 bytes and the counts not negative", ref, ErrInvalid)
	}
	return r.change(ctx, "record the repair of", actor, ref, func(_ context.Context, _ eventlog.Views, a Artifact) ([]eventlog.Payload, error) {
		return []eventlog.Payload{&eventlog.ArtifactRepaired{ArtifactID: a.ID, Source: rep.Source,
			Missing: rep.Missing, Damaged: rep.Damaged, Blobs: rep.Blobs, Bytes: rep.Bytes}}, nil
	})
}
