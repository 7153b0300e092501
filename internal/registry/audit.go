package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// AuditFilter selects events for Audit. Zero fields do not constrain.
type AuditFilter struct {
	// Subject is an artifact ID (or another event subject, e.g. a backend
	// ID for blobs.collected, "rule:<id>" for retention rules).
	Subject string
	Actor   string
	// Since is inclusive.
	Since time.Time
	// Types are event type names; a name without its version suffix
	// ("artifact.retrieved") matches every version of it.
	Types []string
	// Limit is the most events returned (the newest matching ones, or
	// with Forward the oldest): 0 means 1000, at most 10000.
	Limit int
	// After skips the events up to and including this sequence number.
	After int64
	// Forward returns the oldest Limit matching events after After
	// instead of the newest: a caller pages through the whole trail by
	// passing the last sequence number it got as the next After.
	Forward bool
}

// errAuditPageFull stops the log scan once a Forward page is full.
var errAuditPageFull = errors.New("audit page full")

// MatchType reports whether event type typ is selected by the names in
// types (empty selects everything).
func MatchType(types []string, typ string) bool {
	if len(types) == 0 {
		return true
	}
	return slices.ContainsFunc(types, func(t string) bool { return t == typ || strings.HasPrefix(typ, t+".v") })
}

// Audit returns the events f selects, oldest first: who changed, read or
// collected what, and when. It scans the log, or with a Subject only that
// subject's events.
func (r *Registry) Audit(ctx context.Context, f AuditFilter) ([]eventlog.Event, error) {
	limit := f.Limit
	switch {
	case limit < 0 || limit > 10000:
		return nil, fmt.Errorf("audit: %w: limit %d is not between 0 and 10000", ErrInvalid, limit)
	case limit == 0:
		limit = 1000
	}
	var out []eventlog.Event
	// One artifact's trail is read through the log's index by subject;
	// any other filter scans the log.
	read := func(fn func(eventlog.Event) error) error { return r.log.Read(ctx, f.After, fn) }
	if f.Subject != "" {
		head, err := r.log.Head(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		read = func(fn func(eventlog.Event) error) error {
			return r.log.ReadSubject(ctx, f.Subject, f.After, head.Seq, fn)
		}
	}
	err := read(func(ev eventlog.Event) error {
		switch {
		case f.Subject != "" && ev.Subject != f.Subject,
			f.Actor != "" && ev.Actor != f.Actor,
			!f.Since.IsZero() && ev.Time.Before(f.Since),
			!MatchType(f.Types, ev.Type):
			return nil
		}
		if f.Forward {
			out = append(out, ev)
			if len(out) == limit {
				return errAuditPageFull
			}
			return nil
		}
		if len(out) == limit {
			out = append(out[:0], out[1:]...)
		}
		out = append(out, ev)
		return nil
	})
	if err != nil && !errors.Is(err, errAuditPageFull) {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
