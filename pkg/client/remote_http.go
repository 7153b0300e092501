package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// RemoteError is an error response of the daemon. It matches (errors.Is)
// the client sentinel of its code, and for blob calls the storage or
// content sentinel the transfer pipeline branches on.
type RemoteError struct {
	Status  int
	Code    string
	Message string
	// Digests lists missing blobs for code "missing_blobs".
	Digests []string
}

func (e *RemoteError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("daemon answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Unwrap returns the sentinel the error code maps to (api.Code.Err), and
// for some codes the sentinel of the layer below that local mode's error
// would match too, so callers branch the same way on both modes.
func (e *RemoteError) Unwrap() []error {
	c := api.Code(e.Code)
	var out []error
	if err := c.Err(); err != nil {
		out = append(out, err)
	}
	switch c {
	case api.CodeNotFound:
		out = append(out, storage.ErrNotFound)
	case api.CodeDigestMismatch:
		out = append(out, content.ErrMismatch)
	case api.CodeRangeNotSatisfiable:
		out = append(out, content.ErrInvalidRange)
	case api.CodeBusy, api.CodeUnavailable:
		out = append(out, storage.ErrUnavailable)
	}
	if out == nil && e.Status >= 500 {
		out = append(out, ErrUnavailable)
	}
	return out
}

// Temporary reports whether retrying may succeed: the daemon was busy or
// unavailable, or a proxy in front of it was.
func (e *RemoteError) Temporary() bool {
	switch e.Status {
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// notProcessed reports whether a failed request certainly did not change
// anything on the daemon, so even a non-idempotent one may be sent again:
// the connection was never made, or the daemon answered "busy" (the log
// rolled the append back).
func notProcessed(err error) bool {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code == "busy"
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryable reports whether an idempotent request that failed with err is
// worth sending again.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Temporary()
	}
	// Transport errors: connection refused or reset, EOF mid-response.
	var ne net.Error
	var op *net.OpError
	return errors.As(err, &ne) || errors.As(err, &op) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded
	// idempotent calls are retried on transient failures; others only
	// when notProcessed.
	idempotent bool
	out        any // JSON-decoded from a 2xx response, if not nil
}

func (r *Remote) url(path string, q url.Values) string {
	u := *r.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (r *Remote) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.url(path, q), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	req.Header.Set("User-Agent", r.userAgent)
	return req, nil
}

// do runs an API call with retries.
func (r *Remote) do(ctx context.Context, rq request) error {
	var payload []byte
	if rq.body != nil {
		var err error
		if payload, err = json.Marshal(rq.body); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	return r.retry(ctx, rq.idempotent, func() error {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := r.newRequest(ctx, rq.method, rq.path, rq.query, body)
		if err != nil {
			return err
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := r.hc.Do(req)
		if err != nil {
			return r.transportErr(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			return decodeError(resp)
		}
		if rq.out == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			return nil
		}
		if err := json.NewDecoder(resp.Body).Decode(rq.out); err != nil {
			return fmt.Errorf("%w: malformed response to %s %s: %v", ErrUnavailable, rq.method, rq.path, err)
		}
		return nil
	})
}

// transportErr turns a transport failure into a message a user can act
// on ("cannot reach the daemon at URL: connection refused"), rather than
// Go's rendering of the request, and marks it ErrUnavailable, keeping the
// original chain for retry decisions.
func (r *Remote) transportErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := "lost the connection to the daemon at"
	if notProcessed(err) {
		msg = "cannot reach the daemon at"
	}
	return app.Mark(&transportError{
		msg: fmt.Sprintf("%s %s: %s", msg, r.base.Redacted(), unavailableReason(err)), err: err}, ErrUnavailable)
}

// transportError is a transport failure with its own message; Unwrap
// returns the original error.
type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

// decodeError reads an API error response.
func decodeError(resp *http.Response) error {
	e := &RemoteError{Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code")}
	var er ErrorResponse
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &er) == nil && er.Error.Code != "" {
		e.Code, e.Message, e.Digests = er.Error.Code, er.Error.Message, er.Error.Digests
	}
	if e.Code == "" {
		e.Code = string(api.CodeForStatus(resp.StatusCode))
	}
	if e.Code == "unauthorized" && e.Message != "" && !strings.Contains(e.Message, "ARTSTORE_TOKEN") {
		e.Message += " (check ARTSTORE_TOKEN)"
	}
	return e
}

// retry runs fn under the Remote's retry policy: an idempotent call is
// retried on transient failures, any call when it certainly was not
// processed.
func (r *Remote) retry(ctx context.Context, idempotent bool, fn func() error) error {
	return r.retryPolicy(func(err error) bool { return notProcessed(err) || (idempotent && retryable(err)) }).Do(ctx, fn)
}

// unavailableReason says briefly why a call failed: the daemon's status,
// or the system's word for a failed connection ("connection refused").
func unavailableReason(err error) string {
	var re *RemoteError
	if errors.As(err, &re) {
		return fmt.Sprintf("%d %s", re.Status, http.StatusText(re.Status))
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	// Never Go's rendering of the request (`Get "http://…": …`): the
	// address is in the message already.
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	// net/http's own word for a keep-alive connection the daemon closed
	// as it went away (an unexported error).
	if strings.Contains(err.Error(), "server closed idle connection") {
		return "connection closed"
	}
	return err.Error()
}
