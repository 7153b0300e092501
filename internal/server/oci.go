package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// The OCI Distribution API (/v2/): the mapping onto artstore is
// docs/oci.md. Names contain '/', so ServeMux patterns cannot split
// /v2/<name>/blobs/<digest>: one handler takes /v2/, parses the path
// (parseOCIPath) and runs the matching entry of ociRouteTable through the
// same middleware as /v1 (request IDs, metrics, logs), with OCI's
// authentication (Basic or Bearer, a WWW-Authenticate challenge) and OCI's
// error bodies.

// ociOp names one operation of the /v2 API.
type ociOp int

const (
	// ociNone: a /v1 route.
	ociNone ociOp = iota
	// ociUnknown: a /v2 path no operation has.
	ociUnknown
	ociPing
	ociBlobHead
	ociBlobGet
	ociBlobDelete
	ociUploadStart
	ociUploadStatus
	ociUploadPatch
	ociUploadPut
	ociUploadCancel
	ociManifestGet
	ociManifestHead
	ociManifestPut
	ociManifestDelete
	ociTags
	ociReferrers
	ociCatalog
)

// ociPath is a parsed /v2 request path.
type ociPath struct {
	op   ociOp
	name string
	// ref is the digest (blobs, referrers), the session ID (uploads) or
	// the tag or digest (manifests).
	ref string
}

// ociRouteTable returns the /v2 routes. Their patterns name them in
// metrics and logs; the mux serves them all through handleOCI.
func (s *Server) ociRouteTable() []route {
	rt := func(op ociOp, method, pattern string, scope auth.Scope, h handler) route {
		return route{Method: method, Pattern: pattern, Scope: scope, Names: namesOwn, oci: op, h: h}
	}
	read, write := auth.ScopeRead, auth.ScopeWrite
	return []route{
		rt(ociPing, "GET", "/v2/", read, s.handleOCIPing),
		rt(ociBlobHead, "HEAD", "/v2/{name}/blobs/{digest}", read, s.handleOCIBlobGet),
		rt(ociBlobGet, "GET", "/v2/{name}/blobs/{digest}", read, s.handleOCIBlobGet),
		rt(ociBlobDelete, "DELETE", "/v2/{name}/blobs/{digest}", write, s.handleOCIBlobDelete),
		rt(ociUploadStart, "POST", "/v2/{name}/blobs/uploads/", write, s.handleOCIUploadStart),
		rt(ociUploadStatus, "GET", "/v2/{name}/blobs/uploads/{id}", write, s.handleOCIUploadStatus),
		rt(ociUploadPatch, "PATCH", "/v2/{name}/blobs/uploads/{id}", write, s.handleOCIUploadPatch),
		rt(ociUploadPut, "PUT", "/v2/{name}/blobs/uploads/{id}", write, s.handleOCIUploadPut),
		rt(ociUploadCancel, "DELETE", "/v2/{name}/blobs/uploads/{id}", write, s.handleOCIUploadCancel),
		rt(ociManifestGet, "GET", "/v2/{name}/manifests/{reference}", read, s.handleOCIManifestGet),
		rt(ociManifestHead, "HEAD", "/v2/{name}/manifests/{reference}", read, s.handleOCIManifestGet),
		rt(ociManifestPut, "PUT", "/v2/{name}/manifests/{reference}", write, s.handleOCIManifestPut),
		rt(ociManifestDelete, "DELETE", "/v2/{name}/manifests/{reference}", write, s.handleOCIManifestDelete),
		rt(ociTags, "GET", "/v2/{name}/tags/list", read, s.handleOCITags),
		rt(ociReferrers, "GET", "/v2/{name}/referrers/{digest}", read, s.handleOCIReferrers),
		rt(ociCatalog, "GET", "/v2/_catalog", read, s.handleOCICatalog),
		// Last: what handleOCI answers for a path no route above has.
		{Method: "", Pattern: "/v2/ (no route)", Public: true, oci: ociUnknown, h: s.handleOCINoRoute},
	}
}

// maxOCIPath bounds a /v2 path: a name of at most registry.MaxNameLen
// bytes and the longest suffix (a sha512 digest).
const maxOCIPath = 4 + registry.MaxNameLen + len("/referrers/sha512:") + 128

// parseOCIPath splits a /v2 path into its operation, repository name and
// reference. It checks the shape only; the name and the reference are
// validated by the handlers. ok is false for a path no /v2 route has.
func parseOCIPath(p string) (ociPath, bool) {
	if p == "/v2/" || p == "/v2" {
		return ociPath{op: ociPing}, true
	}
	rest, found := strings.CutPrefix(p, "/v2/")
	if !found || len(p) > maxOCIPath {
		return ociPath{}, false
	}
	if rest == "_catalog" { // no repository name is one segment without a suffix
		return ociPath{op: ociCatalog}, true
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok {
		return ociPath{op: ociTags, name: name}, name != ""
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads/"); ok {
		return ociPath{op: ociUploadStart, name: name}, name != ""
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return ociPath{}, false
	}
	head, last := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(head, '/')
	if j <= 0 {
		return ociPath{}, false
	}
	name, kind := head[:j], head[j+1:]
	switch kind {
	case "blobs":
		return ociPath{op: ociBlobGet, name: name, ref: last}, true
	case "manifests":
		return ociPath{op: ociManifestGet, name: name, ref: last}, true
	case "referrers":
		return ociPath{op: ociReferrers, name: name, ref: last}, true
	case "uploads":
		if n, ok := strings.CutSuffix(name, "/blobs"); ok && n != "" && !strings.Contains(last, ":") {
			return ociPath{op: ociUploadStatus, name: n, ref: last}, true
		}
	}
	return ociPath{}, false
}

// ociRouteFor picks the route of a parsed path and method: the
// operations that share a path differ by method.
func (s *Server) ociRouteFor(p ociPath, method string) *route {
	op := p.op
	switch op {
	case ociBlobGet:
		switch method {
		case http.MethodHead:
			op = ociBlobHead
		case http.MethodDelete:
			op = ociBlobDelete
		}
	case ociManifestGet:
		switch method {
		case http.MethodHead:
			op = ociManifestHead
		case http.MethodPut:
			op = ociManifestPut
		case http.MethodDelete:
			op = ociManifestDelete
		}
	case ociUploadStatus:
		switch method {
		case http.MethodPatch:
			op = ociUploadPatch
		case http.MethodPut:
			op = ociUploadPut
		case http.MethodDelete:
			op = ociUploadCancel
		}
	}
	for i := range s.ociRoutes {
		rt := &s.ociRoutes[i]
		if rt.oci == op && (rt.Method == "" || rt.Method == method || rt.Method == "GET" && method == http.MethodHead && op == ociPing) {
			return rt
		}
	}
	return nil
}

// handleOCI serves every /v2 request. Every answer, a 401 included,
// carries Docker-Distribution-API-Version, by which Docker's registry API
// tells clients that the endpoint speaks /v2 (the distribution registry
// sends it too).
func (s *Server) handleOCI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	p, ok := parseOCIPath(r.URL.Path)
	var rt *route
	if ok {
		rt = s.ociRouteFor(p, r.Method)
	}
	if rt == nil {
		s.wrap(s.ociUnmatched).ServeHTTP(w, r)
		return
	}
	r.SetPathValue("name", p.name)
	r.SetPathValue("reference", p.ref)
	s.wrap(rt).ServeHTTP(w, r)
}

// ociAnonymous is the principal of a request without credentials when
// anonymous pull is on.
var ociAnonymous = auth.Token{Name: "anonymous", Scope: auth.ScopeRead}

// ociChallenge is the WWW-Authenticate header of every 401 under /v2.
const ociChallenge = `Basic realm="artstore"`

// authorizeOCI authenticates a /v2 request: HTTP Basic with the token as
// the password (any user name), or the token as a Bearer. Without
// credentials it is refused with a challenge, unless anonymous pull is on
// and the route only reads. The name prefix is checked by the handlers
// (call.allow), as on /v1.
func (s *Server) authorizeOCI(r *http.Request, c *call) error {
	secret, present, err := ociCredentials(r.Header.Get("Authorization"))
	if err != nil {
		return ociErr(http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
	}
	if !present {
		if s.ociAnonymousPull && c.route.Scope == auth.ScopeRead {
			c.token = ociAnonymous
			return nil
		}
		return ociErr(http.StatusUnauthorized, "UNAUTHORIZED", "authentication required: log in with an artstore token as the password (any user name), or send it as a Bearer token")
	}
	tok, err := s.svc.Tokens().Authenticate(r.Context(), secret)
	if err != nil {
		if errors.Is(err, auth.ErrUnauthenticated) {
			return ociErr(http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
		}
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return codeErr(api.CodeUnavailable, "cannot check the token: "+err.Error())
	}
	c.token = tok
	if tok.Scope < c.route.Scope {
		return ociErr(http.StatusForbidden, "DENIED", fmt.Sprintf("token %s has scope %s; this request needs %s", tok.ID, tok.Scope, c.route.Scope))
	}
	return nil
}

// ociCredentials returns the token of an Authorization header: the
// password of Basic credentials, or a Bearer token. present is false for
// an empty header.
func ociCredentials(h string) (secret string, present bool, err error) {
	if h == "" {
		return "", false, nil
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		return rest, true, nil
	case strings.EqualFold(scheme, "Basic"):
		raw, derr := base64.StdEncoding.DecodeString(rest)
		if derr != nil {
			return "", true, errors.New("malformed Basic credentials: not base64")
		}
		_, pass, ok := strings.Cut(string(raw), ":")
		if !ok || pass == "" {
			return "", true, errors.New("the Basic credentials need an artstore token as the password")
		}
		return pass, true, nil
	}
	return "", true, errors.New(`the Authorization header must be "Basic <credentials>" or "Bearer <token>"`)
}

// ociName checks the call's repository name: OCI's grammar, artstore's, and
// the token's prefix.
func (c *call) ociName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := app.ValidateOCIName(name); err != nil {
		return "", err
	}
	if err := c.principal(r).Allow(name); err != nil {
		return "", err
	}
	return name, nil
}

func (s *Server) handleOCIPing(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write([]byte("{}\n"))
	return err
}

func (s *Server) handleOCINoRoute(w http.ResponseWriter, r *http.Request, c *call) error {
	return ociErr(http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("no /v2 route %s %s", r.Method, r.URL.Path))
}

// ociError is an error in the OCI spec's form.
type ociError struct {
	status int
	code   string
	msg    string
}

func (e *ociError) Error() string { return e.msg }

func ociErr(status int, code, msg string) error {
	return &ociError{status: status, code: code, msg: msg}
}

// ociErrorBody is the spec's error document.
type ociErrorBody struct {
	Errors []ociErrorItem `json:"errors"`
}

type ociErrorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ociClassify turns any error into an OCI error: the handlers' own, or
// the /v1 class of the error (classify) in the spec's nearest code.
func ociClassify(err error) *ociError {
	var oe *ociError
	if errors.As(err, &oe) {
		return oe
	}
	var ae *app.OCIError
	if errors.As(err, &ae) {
		return &ociError{status: ae.Status, code: ae.Code, msg: ae.Msg}
	}
	e := classify(err)
	code := "UNKNOWN"
	switch api.Code(e.code) {
	case api.CodeUnauthorized:
		code = "UNAUTHORIZED"
	case api.CodeForbidden:
		code = "DENIED"
	case api.CodeNotFound:
		code = "NAME_UNKNOWN"
	case api.CodeDigestMismatch:
		code = "DIGEST_INVALID"
	case api.CodeTooLarge:
		code = "SIZE_INVALID"
	case api.CodeRangeNotSatisfiable:
		code = "BLOB_UPLOAD_INVALID"
	case api.CodeBusy:
		code = "TOOMANYREQUESTS"
	case api.CodeInvalid:
		code = "UNSUPPORTED"
	}
	return &ociError{status: e.status, code: code, msg: e.msg}
}

// writeOCIError renders err as the spec's error document (a 401 with the
// challenge). It reports true when the response had already started.
func (s *Server) writeOCIError(w *statusWriter, r *http.Request, c *call, err error) bool {
	if w.status != 0 {
		s.logger.Warn("aborting response", "request_id", c.id, "error", err.Error())
		return true
	}
	e := ociClassify(err)
	clearEntityHeaders(w.Header(), e.status)
	if e.status >= 500 {
		s.logger.Error("request failed", "request_id", c.id, "error", err.Error())
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", ociChallenge)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return false
	}
	_ = writeJSON(w, e.status, ociErrorBody{Errors: []ociErrorItem{{Code: e.code, Message: e.msg}}})
	return false
}
