package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/artifact-store/artstore/pkg/api"
)

// Completer is implemented by the stores of this package (Local and
// Remote): Complete returns the references that complete a partly typed
// one, for shell completion. For "name:" and "name:x", the versions (newest
// first) and tags of name that start with x; otherwise the live names that
// start with partial, cut after the next '/' ("reports/" for every name
// under it). At most limit (1 to 1000; 0 means 1000) candidates. It reads
// one index entry per candidate, whatever the store's size.
type Completer interface {
	Complete(ctx context.Context, partial string, limit int) ([]string, error)
}

var (
	_ Completer = (*Local)(nil)
	_ Completer = (*Remote)(nil)
)

// Complete implements Completer.
func (l *Local) Complete(ctx context.Context, partial string, limit int) ([]string, error) {
	c, err := l.svc.Complete(ctx, l.self, partial, limit)
	return c, mapErr(err)
}

// Complete implements Completer (GET /v1/complete).
func (r *Remote) Complete(ctx context.Context, partial string, limit int) ([]string, error) {
	q := url.Values{"ref": {partial}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var c api.Completions
	if err := r.do(ctx, request{method: "GET", path: "/v1/complete", query: q, idempotent: true, out: &c}); err != nil {
		return nil, mapErr(err)
	}
	return c.Candidates, nil
}
