package fsck

import (
	"context"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// orphans lists the backend's blobs that no artifact references.
func (c *checker) orphans(ctx context.Context) error {
	be := c.s.Backend.ID()
	hint := "left by an interrupted push, or part of a push in progress; harmless: garbage collection (artstore gc) reclaims it"
	if c.lostManifests {
		hint = "some manifests could not be read (see the problems above), so this blob may be one of their chunks; " +
			"restore those manifests (push the same content again) before collecting garbage"
	}
	err := c.s.Backend.Walk(ctx, func(info storage.Info) error {
		if c.refs[info.Digest] {
			return nil
		}
		c.add(api.Problem{Digest: info.Digest.String(), Kind: api.ProblemOrphan,
			Message: fmt.Sprintf("blob %s (%d bytes) in backend %s is referenced by no artifact", info.Digest.Short(), info.Size, be),
			Hint:    hint})
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: list blobs of backend %s: %w", be, err)
	}
	return nil
}

// temp reports the backend's temporary upload files, if any: left by
// uploads killed hard (kill -9, power loss), or belonging to uploads in
// progress. Like orphans, they are garbage, not damage.
func (c *checker) temp(ctx context.Context) error {
	t, ok := c.s.Backend.(storage.Temper)
	if !ok {
		return nil
	}
	now := time.Now() // the files' clock, not the store's event clock
	sum, err := t.Temp(ctx, now, false)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if sum.Files == 0 {
		return nil
	}
	files := "files"
	if sum.Files == 1 {
		files = "file"
	}
	c.add(api.Problem{Kind: api.ProblemTemp,
		Message: fmt.Sprintf("backend %s holds %d temporary upload %s (%d bytes), the oldest last written %s ago",
			c.s.Backend.ID(), sum.Files, files, sum.Bytes, now.Sub(sum.Oldest).Round(time.Second)),
		Hint: "left by uploads killed hard (kill -9, power loss), or uploads in progress; harmless: artstore gc removes those older than its grace window"})
	return nil
}
