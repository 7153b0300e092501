package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/registry"
)

// Audit returns the events q selects, oldest first.
func (l *Local) Audit(ctx context.Context, q AuditQuery) ([]Event, error) {
	f := registry.AuditFilter{Actor: q.Actor, Since: q.Since, Types: q.Types, Limit: q.Limit, After: q.After, Forward: q.Forward}
	if q.Ref != "" {
		a, err := l.reg.Get(ctx, q.Ref)
		if err != nil {
			return nil, mapErr(fmt.Errorf("audit: %w", err))
		}
		f.Subject = a.ID
	}
	evs, err := l.reg.Audit(ctx, f)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		ce, err := app.Event(e)
		if err != nil {
			return nil, err
		}
		out = append(out, ce)
	}
	return out, nil
}

// AuditValues encodes q as the query of GET /v1/audit.
func AuditValues(q AuditQuery) url.Values {
	v := url.Values{}
	if q.Ref != "" {
		v.Set("ref", q.Ref)
	}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	for _, t := range q.Types {
		v.Add("type", t)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Forward {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	return v
}

// Audit asks the daemon for the events q selects.
func (r *Remote) Audit(ctx context.Context, q AuditQuery) ([]Event, error) {
	var out []Event
	if err := r.do(ctx, request{method: "GET", path: "/v1/audit", query: AuditValues(q), idempotent: true, out: &out}); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}
