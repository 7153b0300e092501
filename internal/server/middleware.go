package server

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/pkg/api"
)

// call is one request's context: the route, the authenticated token and
// counters the middleware reports.
type call struct {
	s     *Server
	route *route
	token auth.Token
	id    string
	rc    *http.ResponseController
}

// handler is the signature of every route handler. A returned error is
// written as a JSON error response (unless the handler already wrote the
// status line, in which case the connection is aborted).
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// statusWriter records the status and bytes of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the bytes read from a request body and keeps the
// first error reading it other than its end.
type countingBody struct {
	io.ReadCloser
	n   int64
	err error
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// statusClientClosed is logged (and counted) for a request the client
// abandoned before its answer: nginx's 499, as no standard status says it.
const statusClientClosed = 499

// clientFault turns a handler's error that the client caused into the
// error to answer: a failure while reading a body that broke off (shorter
// than its Content-Length, a connection reset) is 400 "invalid", and a
// request the client abandoned (its context is cancelled) is 499
// "cancelled", instead of a 500 the server would log as its own failure.
func clientFault(r *http.Request, body *countingBody, err error) error {
	var mbe *http.MaxBytesError
	if body.err != nil && !errors.As(body.err, &mbe) && classify(err).status >= 500 {
		return codeErr(api.CodeInvalid, fmt.Sprintf("the request body broke off after %d bytes: %v", body.n, body.err))
	}
	if r.Context().Err() != nil {
		return &apiError{status: statusClientClosed, code: "cancelled", msg: "the client closed the request before its answer: " + err.Error()}
	}
	return err
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a client's X-Request-ID if it is short and plain.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// wrap adds request IDs, authentication and authorisation by scope,
// metrics, logs and error rendering around a route's handler.
func (s *Server) wrap(rt *route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		rw.Header().Set("X-Request-ID", id)
		w := &statusWriter{ResponseWriter: rw}
		body := &countingBody{ReadCloser: r.Body}
		r.Body = body
		c := &call{s: s, route: rt, id: id, rc: http.NewResponseController(w)}
		err := s.authorize(r, c)
		if err == nil {
			err = rt.h(w, r, c)
		}
		abort := false
		if err != nil {
			err = clientFault(r, body, err)
			abort = s.writeError(w, r, c, err)
		}
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		dur := time.Since(start)
		s.metrics.observe(rt, status, dur, body.n, w.bytes)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", rt.Pattern),
			slog.String("path", r.URL.Path), slog.Int("status", status), slog.Duration("duration", dur),
			slog.Int64("bytes_in", body.n), slog.Int64("bytes_out", w.bytes), slog.String("remote", r.RemoteAddr),
		}
		if c.token.ID != "" {
			attrs = append(attrs, slog.String("token", c.token.ID), slog.String("actor", c.token.Subject()))
		}
		if err != nil && status >= 500 {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		s.logger.LogAttrs(r.Context(), level, "request", attrs...)
		if abort {
			// Too late for a status: cut the connection so the client sees
			// a truncated body rather than a clean end.
			panic(http.ErrAbortHandler)
		}
	})
}

// authorize checks the bearer token against the route's scope. Routes that
// act on one artifact name check the token's prefix themselves (call.allow).
func (s *Server) authorize(r *http.Request, c *call) error {
	if c.route.Public {
		return nil
	}
	if c.route.oci != ociNone {
		return s.authorizeOCI(r, c)
	}
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	ok = ok && strings.EqualFold(scheme, "Bearer") // schemes are case-insensitive (RFC 9110)
	if h == "" {
		return codeErr(api.CodeUnauthorized, "a bearer token is required (set ARTSTORE_TOKEN)")
	}
	if !ok {
		return codeErr(api.CodeUnauthorized, "the Authorization header must be \"Bearer <token>\"")
	}
	tok, err := s.svc.Tokens().Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		if errors.Is(err, auth.ErrUnauthenticated) {
			return codeErr(api.CodeUnauthorized, err.Error())
		}
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		// The token table could not be read: the log is unreachable.
		return codeErr(api.CodeUnavailable, "cannot check the token: "+err.Error())
	}
	c.token = tok
	if tok.Scope < c.route.Scope {
		return codeErr(api.CodeForbidden, fmt.Sprintf("token %s has scope %s; this request needs %s", tok.ID, tok.Scope, c.route.Scope))
	}
	if c.route.Names == namesAll && tok.Prefix != "" {
		return codeErr(api.CodeForbidden, fmt.Sprintf("token %s is limited to names under %q; this request is not about one name", tok.ID, tok.Prefix))
	}
	if c.route.Names == namesNone && tok.Prefix != "" && tok.Scope < auth.ScopeWrite {
		return codeErr(api.CodeForbidden, fmt.Sprintf("token %s is limited to names under %q and has scope %s: "+
			"it may use the blob routes only to push, with write scope", tok.ID, tok.Prefix, tok.Scope))
	}
	if c.route.Names == namesDigestRead && tok.Prefix != "" {
		return codeErr(api.CodeForbidden, fmt.Sprintf("token %s is limited to names under %q, so it may not read blobs by digest; "+
			"read an artifact's bytes by name with GET /v1/artifact/content?ref=NAME:VERSION", tok.ID, tok.Prefix))
	}
	return nil
}

// principal is who the call's use cases run for: the token's subject,
// limited to the token's name prefix.
func (c *call) principal(r *http.Request) app.Principal {
	return app.Principal{Actor: c.actor(), Prefix: c.token.Prefix, Token: c.token.ID, Client: clientName(r)}
}

// actor is the event actor of the call: the token's subject.
func (c *call) actor() string { return c.token.Subject() }

// extendDeadlines moves the connection's read and write deadlines d into
// the future; streaming handlers call it as bytes flow.
func (c *call) extendDeadlines(d time.Duration) {
	t := time.Now().Add(d)
	_ = c.rc.SetReadDeadline(t)
	_ = c.rc.SetWriteDeadline(t)
}

// Request body sizes by route: what the largest request a route can
// accept takes, with room to spare. The server's MaxBody caps them all.
const (
	// smallBody: routes with a few short fields (retention, holds,
	// retrievals, gc, rules, tokens).
	smallBody = 64 << 10
	// listBody: routes with a bounded list (labels: at most 256 of at
	// most 128 + 256 bytes; blobs/missing: at most 10,000 digests).
	listBody = 1 << 20
)

// bodyLimit is the most the call's route reads of a JSON body.
func (c *call) bodyLimit() int64 {
	limit := c.route.Body
	if limit <= 0 {
		limit = smallBody
	}
	return min(limit, c.s.limits.MaxBody)
}

// decodeJSON reads a JSON request body of at most the route's body limit
// into v, refusing unknown members and trailing data. The body must be a
// JSON object: null, which json.Decode would leave v untouched for (an
// empty request), is refused like any other non-object. Bodies larger
// than smallBody are decoded a few at a time (bodySlot).
func (c *call) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	release, err := c.bodySlot(r)
	if err != nil {
		return err
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, c.bodyLimit())
	br := bufio.NewReader(r.Body)
	if err := expectObject(br); err != nil {
		return decodeErr(err)
	}
	return decodeStrict(json.NewDecoder(br), v)
}

// decodeStrict decodes one JSON value from dec into v, refusing unknown
// members and trailing data.
func decodeStrict(dec *json.Decoder, v any) error {
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	if dec.More() {
		return codeErr(api.CodeInvalid, "malformed JSON body: trailing data after the object")
	}
	return nil
}

// bodySlot waits for one of the server's Limits.MaxLargeBodies slots when
// the request's body may be larger than smallBody, so that concurrent
// large bodies cannot take the daemon's memory; release gives it back.
// After Limits.SlotWait without a slot the request is refused 503 "busy"
// (nothing was done; clients retry).
func (c *call) bodySlot(r *http.Request) (release func(), err error) {
	if r.ContentLength >= 0 && r.ContentLength <= smallBody {
		return func() {}, nil
	}
	t := time.NewTimer(c.s.limits.SlotWait)
	defer t.Stop()
	select {
	case c.s.largeBodies <- struct{}{}:
		return func() { <-c.s.largeBodies }, nil
	case <-t.C:
		return nil, codeErr(api.CodeBusy, fmt.Sprintf("%d large request bodies are being read; retry later", cap(c.s.largeBodies)))
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// budgetReader fails with an *http.MaxBytesError once more than limit
// bytes were read from r while charge is set; bytes read while it is
// clear are free.
type budgetReader struct {
	r      io.Reader
	charge bool
	left   int64
	limit  int64
}

// exceeded returns the 413 error once the budget is spent. The JSON
// decoder drops a read error that comes with the last bytes of a value,
// so callers check it after each value.
func (b *budgetReader) exceeded() error {
	if b.left < 0 {
		return decodeErr(&http.MaxBytesError{Limit: b.limit})
	}
	return nil
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.charge {
		b.left -= int64(n)
		if b.left < 0 {
			return n, &http.MaxBytesError{Limit: b.limit}
		}
	}
	return n, err
}

// expectObject skips the white space at the start of a JSON body and
// checks that an object follows, leaving its '{' to be read.
func expectObject(br *bufio.Reader) error {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				return errors.New("the body is empty; a JSON object is expected")
			}
			return err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return br.UnreadByte()
		}
		return fmt.Errorf("the body must be a JSON object, not one starting with %q", b)
	}
}

// decodeErr maps an error reading a JSON body to its API error.
func decodeErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return codeErr(api.CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	}
	return codeErr(api.CodeInvalid, fmt.Sprintf("malformed JSON body: %v", err))
}

// writeJSON writes v as the JSON response with the status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// clearEntityHeaders removes what a handler set about the body it meant to
// send (its length, range, digest) before an error body of status
// replaces it: a stale Content-Length would cut the error short or leave
// the client waiting for bytes that never come. A 416 keeps its
// Content-Range ("bytes */SIZE" tells the client the size).
func clearEntityHeaders(h http.Header, status int) {
	for _, k := range []string{"Content-Length", "Content-Range", "Content-Type", "ETag", "Docker-Content-Digest", "Accept-Ranges", "Last-Modified"} {
		if k == "Content-Range" && status == http.StatusRequestedRangeNotSatisfiable {
			continue
		}
		h.Del(k)
	}
}

// apiError is an error with its HTTP status and API code.
type apiError struct {
	status  int
	code    string
	msg     string
	digests []string
}

func (e *apiError) Error() string { return e.msg }

// apiErr is an API error with a status other than its code's (codeErr):
// 411 invalid for a blob PUT without Content-Length.
func apiErr(status int, code, msg string) error {
	return &apiError{status: status, code: code, msg: msg}
}

// writeError renders err as the JSON error response. It reports true when
// the handler had already started the response, so the connection must be
// aborted instead.
func (s *Server) writeError(w *statusWriter, r *http.Request, c *call, err error) bool {
	if c.route.oci != ociNone {
		return s.writeOCIError(w, r, c, err)
	}
	if w.status != 0 {
		s.logger.Warn("aborting response", "request_id", c.id, "error", err.Error())
		return true
	}
	e := classify(err)
	clearEntityHeaders(w.Header(), e.status)
	if e.status >= 500 {
		s.logger.Error("request failed", "request_id", c.id, "error", err.Error())
	}
	if r.Method == http.MethodHead {
		w.Header().Set("X-Error-Code", e.code)
		w.WriteHeader(e.status)
		return false
	}
	_ = writeJSON(w, e.status, api.ErrorResponse{Error: api.ErrorBody{Code: e.code, Message: e.msg, Digests: e.digests}})
	return false
}
