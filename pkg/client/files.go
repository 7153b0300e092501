package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Files calls fn with each entry of the directory artifact ref names, in
// path order, from its tree manifest, without pulling any file. A file
// artifact is refused (ErrInvalid); a missing or damaged manifest is
// ErrIntegrity, reported before fn is called.
func (l *Local) Files(ctx context.Context, ref string, fn func(TreeEntry) error) error {
	return mapErr(l.svc.Files(ctx, l.self, ref, fn))
}

// Files calls fn with each entry of the directory artifact ref names, as
// the daemon streams them (GET /v1/artifact/files). The call is retried
// like any read until the daemon starts answering, never once an entry
// has reached fn; a listing that breaks off fails with ErrUnavailable.
func (r *Remote) Files(ctx context.Context, ref string, fn func(TreeEntry) error) error {
	var resp *http.Response
	err := r.retry(ctx, true, func() error {
		req, err := r.newRequest(ctx, http.MethodGet, "/v1/artifact/files", url.Values{"ref": {ref}}, nil)
		if err != nil {
			return err
		}
		res, err := r.hc.Do(req)
		if err != nil {
			return r.transportErr(err)
		}
		if res.StatusCode >= 300 {
			defer res.Body.Close()
			return decodeError(res)
		}
		resp = res
		return nil
	})
	if err != nil {
		return mapErr(err)
	}
	defer resp.Body.Close()
	broken := func(err error) error {
		return fmt.Errorf("%w: the listing of %s broke off: %v", ErrUnavailable, ref, r.transportErr(err))
	}
	dec := json.NewDecoder(resp.Body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return broken(fmt.Errorf("want a JSON array, got %v (%v)", tok, err))
	}
	for dec.More() {
		var e TreeEntry
		if err := dec.Decode(&e); err != nil {
			return broken(err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return broken(err)
	}
	return nil
}
