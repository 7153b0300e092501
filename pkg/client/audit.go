package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// Audit returns the events q selects, oldest first.
func (l *Local) Audit(ctx context.Context, q AuditQuery) ([]Event, error) {
	evs, err := l.svc.Audit(ctx, l.self, q)
	return evs, mapErr(err)
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
