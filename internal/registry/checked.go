package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// ErrViewMismatch: an artifact's row in the views disagrees with its
// registration event in the log (the views were edited or damaged behind
// artstore's back). `artstore admin rebuild` rebuilds them from the log.
var ErrViewMismatch = errors.New("the views disagree with the event log")

// rebuildHint ends every ErrViewMismatch message.
const rebuildHint = "rebuild the views from the log with `artstore admin rebuild`, then try again"

// checkRegistration checks the view row a, which ref resolved to, against
// the artifact's registration event (the event at a.Seq): the event must
// be in the chain as Store.Event checks it (its hash recomputes from its
// stored bytes and prev, and its neighbours link to it), register a.ID,
// and agree with the row on everything a pull uses and a reference names:
// name, version, content digest, size, manifest digest, media type,
// creation time and creator. The reference must name what resolved (its
// name, digest or ID). It costs one read of three log rows.
func (r *Registry) checkRegistration(ctx context.Context, ref string, a Artifact) error {
	what := ref
	if ref != a.Ref() {
		what += " (" + a.Ref() + ")"
	}
	mismatch := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s; %s", what, ErrViewMismatch, fmt.Sprintf(format, args...), rebuildHint)
	}
	pr, err := ParseRef(ref)
	if err != nil {
		return err
	}
	switch {
	case pr.ID != "" && pr.ID != a.ID:
		return mismatch("the artifacts row of ID %s has ID %s", pr.ID, a.ID)
	case pr.Name != "" && pr.Name != a.Name:
		return mismatch("%s resolved to an artifact of %s", ref, a.Name)
	case !pr.Digest.IsZero() && pr.Digest != a.ContentDigest:
		return mismatch("%s resolved to an artifact with content %s", ref, a.ContentDigest)
	}
	ev, err := r.log.Event(ctx, a.Seq)
	if errors.Is(err, ErrNotFound) {
		return mismatch("its registration event %d is not in the log", a.Seq)
	}
	if err != nil {
		return fmt.Errorf("check %s against the event log: %w", ref, err)
	}
	p, err := r.types.Decode(ev.Type, ev.Payload)
	reg, ok := p.(*eventlog.ArtifactRegistered)
	if err != nil || !ok || ev.Subject != a.ID || reg.ID != a.ID {
		return mismatch("event %d, which the artifacts row names as its registration, is a %s of %q, not the registration of %s", ev.Seq, ev.Type, ev.Subject, a.ID)
	}
	var diffs []string
	diff := func(what string, row, logged any) {
		if row != logged {
			diffs = append(diffs, fmt.Sprintf("%s %v (its registration, event %d, says %v)", what, row, ev.Seq, logged))
		}
	}
	diff("name", a.Name, reg.Name)
	diff("version", a.Version, reg.Version)
	diff("content digest", a.ContentDigest, reg.ContentDigest)
	diff("size", a.Size, reg.Size)
	diff("manifest digest", a.ManifestDigest, reg.ManifestDigest)
	diff("media type", a.MediaType, reg.MediaType)
	diff("creator", a.Creator, ev.Actor)
	if !a.Created.Equal(ev.Time) {
		diff("creation time", a.Created, ev.Time)
	}
	if len(diffs) > 0 {
		return mismatch("the artifacts row says %s", strings.Join(diffs, ", "))
	}
	return nil
}
