package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/artifact-store/artstore/pkg/api"
)

// refParam returns the request's ref query parameter, which every route
// about one artifact requires.
func refParam(r *http.Request) (string, error) {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		return "", codeErr(api.CodeInvalid, "the ref query parameter is required (name:version, name:tag, name@sha256:..., or an ID)")
	}
	return ref, nil
}

// reply writes the artifact a command returned.
func reply(w http.ResponseWriter, status int, a api.Artifact, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, status, a)
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RegisterRequest
	if err := c.decodeRegister(w, r, &req); err != nil {
		return err
	}
	a, err := s.svc.Register(r.Context(), c.principal(r), req)
	if err == nil {
		w.Header().Set("Location", "/v1/artifact?ref="+a.ID)
	}
	return reply(w, http.StatusCreated, a, err)
}

// decodeRegister reads a register body as decodeJSON does, except that
// the "blobs" list older clients send, which the daemon ignores, streams
// past without being kept: the body may be Limits.MaxRegister long, but
// at most the route's body limit of it outside that list is read into
// memory.
func (c *call) decodeRegister(w http.ResponseWriter, r *http.Request, req *api.RegisterRequest) error {
	release, err := c.bodySlot(r)
	if err != nil {
		return err
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, c.s.limits.MaxRegister)
	limit := c.bodyLimit()
	budget := &budgetReader{r: r.Body, charge: true, left: limit, limit: limit}
	br := bufio.NewReader(budget)
	if err := expectObject(br); err != nil {
		return decodeErr(err)
	}
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil { // the object's '{'
		return decodeErr(err)
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeErr(err)
		}
		key, _ := tok.(string)
		if key == "blobs" {
			budget.charge = false
			err := skipStrings(dec)
			budget.charge = true
			if err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return decodeErr(err)
		}
		if err := budget.exceeded(); err != nil { // json may have read past the error
			return err
		}
		members[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the object's '}'
		return decodeErr(err)
	}
	if dec.More() {
		return codeErr(api.CodeInvalid, "malformed JSON body: trailing data after the object")
	}
	if err := budget.exceeded(); err != nil {
		return err
	}
	b, err := json.Marshal(members)
	if err != nil {
		return fmt.Errorf("re-encode the register body: %w", err)
	}
	return decodeStrict(json.NewDecoder(bytes.NewReader(b)), req)
}

// skipStrings reads a JSON array of strings (or null) from dec, keeping
// none of them.
func skipStrings(dec *json.Decoder) error {
	bad := codeErr(api.CodeInvalid, "malformed JSON body: blobs must be an array of digests")
	tok, err := dec.Token()
	if err != nil {
		return decodeErr(err)
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return bad
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeErr(err)
		}
		if _, ok := tok.(string); !ok {
			return bad
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return decodeErr(err)
	}
	return nil
}

// parseTime reads an RFC 3339 query parameter.
func parseTime(q string, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, codeErr(api.CodeInvalid, fmt.Sprintf("%s: %q is not an RFC 3339 time", q, v))
	}
	return t, nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	aq := api.Query{Pattern: q.Get("pattern"), Selectors: q["label"], Cursor: q.Get("cursor"), IncludeDeleted: q.Get("deleted") == "true"}
	var err error
	if aq.Since, err = parseTime("since", q.Get("since")); err != nil {
		return err
	}
	if aq.Before, err = parseTime("before", q.Get("before")); err != nil {
		return err
	}
	switch o := q.Get("order"); o {
	case "", "oldest":
	case "newest":
		aq.Newest = true
	default:
		return codeErr(api.CodeInvalid, fmt.Sprintf("order: %q is neither oldest nor newest", o))
	}
	if l := q.Get("limit"); l != "" {
		if aq.Limit, err = strconv.Atoi(l); err != nil || aq.Limit < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("limit: %q is not a non-negative integer", l))
		}
	}
	page, err := s.svc.List(r.Context(), c.principal(r), aq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	a, err := s.svc.Get(r.Context(), c.principal(r), ref)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	a, err := s.svc.Delete(r.Context(), c.principal(r), ref, r.URL.Query().Get("reason"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleTag(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	a, err := s.svc.Tag(r.Context(), c.principal(r), ref, r.PathValue("tag"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleLabels(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.LabelsRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	a, err := s.svc.Label(r.Context(), c.principal(r), ref, req.Set, req.Remove)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleRetention(w http.ResponseWriter, r *http.Request, c *call) error {
	var body api.RetentionBody
	if err := c.decodeJSON(w, r, &body); err != nil {
		return err
	}
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	req := api.RetentionRequest{ExpiresAt: body.ExpiresAt, ImmutableUntil: body.ImmutableUntil}
	if body.ExpireAfter != "" {
		d, err := time.ParseDuration(body.ExpireAfter)
		if err != nil || d <= 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("expire_after: %q is not a positive duration", body.ExpireAfter))
		}
		req.ExpireAfter = &d
	}
	a, err := s.svc.SetRetention(r.Context(), c.principal(r), ref, req)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleHold(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.HoldRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	a, err := s.svc.Hold(r.Context(), c.principal(r), ref, req.Hold, req.Reason)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	a, err := s.svc.Release(r.Context(), c.principal(r), ref, q.Get("hold"), q.Get("reason"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) handleLineage(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	opts := api.LineageOptions{Direction: api.LineageDirection(q.Get("direction"))}
	if v := q.Get("depth"); v != "" {
		if opts.Depth, err = strconv.Atoi(v); err != nil || opts.Depth < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("depth: %q is not a non-negative integer", v))
		}
	}
	g, err := s.svc.Lineage(r.Context(), c.principal(r), ref, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// handlePull starts a pull (app.Service.GrantPull): it answers the
// artifact and how to read its bytes, appending the retrieval record when
// it hands out the means to read them (presigned URLs, or the manifest
// digest for the blob routes). The record is the daemon's, so a client
// cannot invent one or give it a byte count of its own. With direct=only
// (a client that reads only straight from the backend) a daemon without
// direct transfers grants and records nothing.
func (s *Server) handlePull(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	grant := s.svc.GrantPull
	switch q.Get("direct") {
	case "":
	case "only":
		grant = s.svc.GrantDirectPull
	default:
		return codeErr(api.CodeInvalid, fmt.Sprintf("direct: %q is not \"only\" (grant only direct reads) or empty", q.Get("direct")))
	}
	out, err := grant(r.Context(), c.principal(r), ref, q.Get("kind"), q.Get("range"), s.direct)
	if err != nil {
		return err
	}
	if out.Direct != nil {
		s.metrics.directDownloads.Add(1)
	}
	return writeJSON(w, http.StatusOK, out)
}

// handlePullURLs hands out presigned GETs of the blobs of a pull granted
// by handlePull (app.Service.PullURLs).
func (s *Server) handlePullURLs(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := refParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	grant, err := strconv.ParseInt(q.Get("grant"), 10, 64)
	if err != nil || grant <= 0 {
		return codeErr(api.CodeInvalid, fmt.Sprintf("grant: %q is not the positive seq of a pull's retrieval record", q.Get("grant")))
	}
	from := 0
	if v := q.Get("from"); v != "" {
		if from, err = strconv.Atoi(v); err != nil || from < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("from: %q is not a non-negative item index", v))
		}
	}
	out, err := s.svc.PullURLs(r.Context(), c.principal(r), ref, q.Get("range"), grant, from, s.direct)
	if err != nil {
		return err
	}
	s.metrics.directDownloads.Add(int64(len(out.Chunks)))
	return writeJSON(w, http.StatusOK, out)
}

// handleRetrievalGone answers clients that still send their own retrieval
// records: the daemon writes them (handlePull, handleContent).
func (s *Server) handleRetrievalGone(w http.ResponseWriter, r *http.Request, c *call) error {
	return codeErr(api.CodeGone, "retrieval records are written by the daemon when it serves a pull; "+
		"this client is older than the daemon: upgrade artstore (pulls start with POST /v1/artifact/pulls)")
}

// clientName identifies the client in retrieval records: its User-Agent,
// else its address.
func clientName(r *http.Request) string {
	if ua := r.UserAgent(); ua != "" {
		if len(ua) > 128 {
			ua = ua[:128]
		}
		return ua
	}
	return r.RemoteAddr
}
