package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
)

// Import imports an evidence bundle into the local store.
func (l *Local) Import(ctx context.Context, r io.Reader, key string) (*ImportResult, error) {
	res, err := l.svc.Import(ctx, l.self, r, key)
	if err != nil {
		return nil, mapErr(err)
	}
	return &res, nil
}

// Import streams an evidence bundle to the daemon, which verifies and
// imports it. The body is read once: an import is not retried.
func (r *Remote) Import(ctx context.Context, body io.Reader, key string) (*ImportResult, error) {
	q := url.Values{}
	if key != "" {
		q.Set("key", key)
	}
	req, err := r.newRequest(ctx, "POST", "/v1/import", q, io.NopCloser(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, mapErr(r.transportErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, mapErr(decodeError(resp))
	}
	var res ImportResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("%w: malformed response to POST /v1/import: %v", ErrUnavailable, err)
	}
	return &res, nil
}
