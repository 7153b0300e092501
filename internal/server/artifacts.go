package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// artifactFor resolves the request's ref query parameter and checks the
// token may act on its name. A name-form reference is checked against the
// prefix before the lookup, so a token learns nothing about names outside
// its prefix.
func (s *Server) artifactFor(r *http.Request, c *call, ref string) (eventlog.Artifact, error) {
	if ref == "" {
		return eventlog.Artifact{}, codeErr(api.CodeInvalid, "the ref query parameter is required (name:version, name:tag, name@sha256:..., or an ID)")
	}
	pr, err := registry.ParseRef(ref)
	if err != nil {
		return eventlog.Artifact{}, err
	}
	if pr.Name != "" {
		if err := c.allow(pr.Name); err != nil {
			return eventlog.Artifact{}, err
		}
	}
	a, err := s.reg.Get(r.Context(), ref)
	if err != nil {
		return a, err
	}
	return a, c.allow(a.Name)
}

// liveArtifactFor is artifactFor refusing a deleted artifact, for commands.
func (s *Server) liveArtifactFor(r *http.Request, c *call) (eventlog.Artifact, error) {
	ref := r.URL.Query().Get("ref")
	a, err := s.artifactFor(r, c, ref)
	if err == nil && a.Deleted != nil {
		err = fmt.Errorf("%s (%s) was deleted: %w", ref, a.Ref(), registry.ErrNotFound)
	}
	return a, err
}

// reply writes the artifact a command returned, after an append.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, c *call, status int, a eventlog.Artifact, err error) error {
	if err != nil {
		return err
	}
	s.notify()
	out, err := s.wire(r.Context(), c, a)
	if err != nil {
		return err
	}
	return writeJSON(w, status, out)
}

// wire converts a for the call's token. For a token limited to a name
// prefix, a provenance input that is an artifact outside the prefix keeps
// only its artifact ID and role: its reference and content digest are
// withheld, so the token learns no digest of an artifact it may not read
// (an input it may read, or a raw digest input, is shown whole).
func (s *Server) wire(ctx context.Context, c *call, a eventlog.Artifact) (api.Artifact, error) {
	out := app.Artifact(a)
	if c.token.Prefix == "" {
		return out, nil
	}
	for i, in := range a.Provenance.Inputs {
		if in.ArtifactID == "" {
			continue
		}
		name, err := s.inputName(ctx, c, in)
		if err != nil {
			return out, fmt.Errorf("%s: %w", a.Ref(), err)
		}
		if c.allow(name) != nil {
			out.Provenance.Inputs[i].Ref, out.Provenance.Inputs[i].Digest = "", ""
		}
	}
	return out, nil
}

// inputName returns the name of the artifact a provenance input resolved
// to: from its reference when it has the name form, else by its ID ("" if
// the ID names nothing, which no prefix allows). Names found by ID are
// kept for the rest of the call, so a list looks each input up once.
func (s *Server) inputName(ctx context.Context, c *call, in eventlog.Input) (string, error) {
	if pr, err := registry.ParseRef(in.Ref); err == nil && pr.Name != "" {
		return pr.Name, nil
	}
	if name, ok := c.inputNames[in.ArtifactID]; ok {
		return name, nil
	}
	a, err := s.reg.Get(ctx, in.ArtifactID)
	switch {
	case errors.Is(err, registry.ErrNotFound):
	case err != nil:
		return "", fmt.Errorf("provenance input %s: %w", in.ArtifactID, err)
	}
	if c.inputNames == nil {
		c.inputNames = map[string]string{}
	}
	c.inputNames[in.ArtifactID] = a.Name
	return a.Name, nil
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RegisterRequest
	if err := c.decodeRegister(w, r, &req); err != nil {
		return err
	}
	if err := c.allow(req.Name); err != nil {
		return err
	}
	rr := registry.RegisterRequest{
		Name: req.Name, Version: req.Version, Size: req.Size, MediaType: req.MediaType, Labels: req.Labels,
		Tags: req.Tags, NoLatest: req.NoLatest, AllowInput: c.allow,
		Producer: app.ProducerToInternal(req.Producer),
	}
	var err error
	if rr.ContentDigest, err = parseDigestField("content_digest", req.ContentDigest); err != nil {
		return err
	}
	if rr.ManifestDigest, err = parseDigestField("manifest_digest", req.ManifestDigest); err != nil {
		return err
	}
	if rr.Inputs, err = app.Inputs(req.Inputs); err != nil {
		return err
	}
	a, err := s.reg.Register(r.Context(), c.actor(), rr)
	if err == nil {
		w.Header().Set("Location", "/v1/artifact?ref="+a.ID)
	}
	return s.reply(w, r, c, http.StatusCreated, a, err)
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

func parseDigestField(field, v string) (content.Digest, error) {
	d, err := content.ParseDigest(v)
	if err != nil {
		return d, codeErr(api.CodeInvalid, fmt.Sprintf("%s: %v", field, err))
	}
	return d, nil
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

func isGlob(p string) bool { return strings.ContainsAny(p, "*?") }

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	opts := registry.ListOptions{Cursor: q.Get("cursor"), IncludeDeleted: q.Get("deleted") == "true"}
	since, err := parseTime("since", q.Get("since"))
	if err != nil {
		return err
	}
	if !since.IsZero() {
		opts.CreatedAfter = since.Add(-time.Nanosecond) // since is inclusive
	}
	if opts.CreatedBefore, err = parseTime("before", q.Get("before")); err != nil {
		return err
	}
	switch o := q.Get("order"); o {
	case "", "oldest":
	case "newest":
		opts.Newest = true
	default:
		return codeErr(api.CodeInvalid, fmt.Sprintf("order: %q is neither oldest nor newest", o))
	}
	if l := q.Get("limit"); l != "" {
		if opts.Limit, err = strconv.Atoi(l); err != nil || opts.Limit < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("limit: %q is not a non-negative integer", l))
		}
	}
	pattern := q.Get("pattern")
	// A token limited to a prefix lists only under it: its pattern must
	// start with the prefix (before any wildcard), and no pattern means
	// the prefix.
	if p := c.token.Prefix; p != "" {
		literal := pattern
		if i := strings.IndexAny(pattern, "*?"); i >= 0 {
			literal = pattern[:i]
		}
		switch {
		case pattern == "":
			pattern = p
		case !strings.HasPrefix(literal, p):
			return c.allow(literal)
		}
	}
	if isGlob(pattern) {
		opts.NameGlob = pattern
	} else {
		opts.NamePrefix = pattern
	}
	if opts.Selectors, err = registry.ParseSelectorList(q["label"]); err != nil {
		return err
	}
	res, err := s.reg.List(r.Context(), opts)
	if err != nil {
		return err
	}
	page := api.Page{Artifacts: make([]api.Artifact, 0, len(res.Artifacts)), NextCursor: res.Next}
	for _, a := range res.Artifacts {
		if c.allow(a.Name) != nil {
			continue
		}
		wa, err := s.wire(r.Context(), c, a)
		if err != nil {
			return err
		}
		page.Artifacts = append(page.Artifacts, wa)
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.artifactFor(r, c, r.URL.Query().Get("ref"))
	if err != nil {
		return err
	}
	out, err := s.wire(r.Context(), c, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	a, err = s.reg.Delete(r.Context(), c.actor(), a.ID, r.URL.Query().Get("reason"))
	return s.reply(w, r, c, http.StatusOK, a, err)
}

func (s *Server) handleTag(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	a, err = s.reg.Tag(r.Context(), c.actor(), a.ID, r.PathValue("tag"))
	return s.reply(w, r, c, http.StatusOK, a, err)
}

func (s *Server) handleLabels(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.LabelsRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	a, err = s.reg.Label(r.Context(), c.actor(), a.ID, req.Set, req.Remove)
	return s.reply(w, r, c, http.StatusOK, a, err)
}

func (s *Server) handleRetention(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.RetentionBody
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	ret := a.Retention
	if req.ExpireAfter != "" && req.ExpiresAt != nil {
		return codeErr(api.CodeInvalid, "give an expiry duration or an expiry time, not both")
	}
	if req.ExpireAfter != "" {
		d, err := time.ParseDuration(req.ExpireAfter)
		if err != nil || d <= 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("expire_after: %q is not a positive duration", req.ExpireAfter))
		}
		ret.ExpiresAt = a.Created.Add(d).UTC() // counts from creation, as in local mode
	}
	if req.ExpiresAt != nil {
		ret.ExpiresAt = req.ExpiresAt.UTC()
	}
	if req.ImmutableUntil != nil {
		ret.ImmutableUntil = req.ImmutableUntil.UTC()
	}
	a, err = s.reg.SetRetention(r.Context(), c.actor(), a.ID, ret)
	return s.reply(w, r, c, http.StatusOK, a, err)
}

func (s *Server) handleHold(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.HoldRequest
	if err := c.decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	if req.Hold == "" {
		req.Hold = api.HoldName
	}
	a, err = s.reg.Hold(r.Context(), c.actor(), a.ID, req.Hold, req.Reason)
	return s.reply(w, r, c, http.StatusOK, a, err)
}

func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	hold := q.Get("hold")
	if hold == "" {
		hold = api.HoldName
	}
	a, err = s.reg.Release(r.Context(), c.actor(), a.ID, hold, q.Get("reason"))
	return s.reply(w, r, c, http.StatusOK, a, err)
}

func (s *Server) handleLineage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	a, err := s.artifactFor(r, c, q.Get("ref"))
	if err != nil {
		return err
	}
	dir := api.LineageDirection(q.Get("direction"))
	edir := eventlog.Parents
	switch dir {
	case "", api.Up:
		dir = api.Up
	case api.Down:
		edir = eventlog.Children
	default:
		return codeErr(api.CodeInvalid, fmt.Sprintf("direction %q is neither %q nor %q", dir, api.Up, api.Down))
	}
	depth := 0
	if v := q.Get("depth"); v != "" {
		if depth, err = strconv.Atoi(v); err != nil || depth < 0 {
			return codeErr(api.CodeInvalid, fmt.Sprintf("depth: %q is not a non-negative integer", v))
		}
	}
	lg, err := s.reg.LineageVisible(r.Context(), a.ID, edir, depth, func(a eventlog.Artifact) bool { return c.allow(a.Name) == nil })
	if err != nil {
		return err
	}
	g, err := app.Lineage(lg, dir, func(a eventlog.Artifact) (api.Artifact, error) { return s.wire(r.Context(), c, a) })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// handlePull starts a pull through the blob routes: it answers the
// artifact (with its manifest digest) and appends the retrieval record,
// counting the bytes the pull is authorised to read (the range's length,
// or the artifact's size). The record is the daemon's, written when it
// hands out the manifest, so a client cannot invent one or give it a byte
// count of its own. A token limited to a name prefix may not read blobs by
// digest: it is answered blobs=false and nothing is recorded here; it
// reads the bytes from GET /v1/artifact/content, which records what it
// serves.
func (s *Server) handlePull(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.liveArtifactFor(r, c)
	if err != nil {
		return err
	}
	if err := checkPullKind(a, r.URL.Query().Get("kind")); err != nil {
		return err
	}
	out := api.PullGrant{Blobs: c.token.Prefix == ""}
	n := a.Size
	if v := r.URL.Query().Get("range"); v != "" {
		if a.MediaType == api.TreeMediaType {
			return codeErr(api.CodeInvalid, fmt.Sprintf("%s is a directory artifact; a range applies to a file", a.Ref()))
		}
		rg, err := content.ParseRange(v, a.Size)
		if err != nil {
			return codeErr(api.CodeRangeNotSatisfiable, fmt.Sprintf("range: %v", err))
		}
		out.Range, n = rg.String(), rg.Length()
	}
	if out.Blobs {
		rec := registry.Retrieval{Bytes: n, Range: out.Range, Client: clientName(r)}
		if err := s.reg.RecordRetrieval(r.Context(), c.actor(), a.ID, rec); err != nil {
			return fmt.Errorf("append the retrieval record of %s: %w", a.Ref(), err)
		}
		s.notify()
	}
	if out.Artifact, err = s.wire(r.Context(), c, a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// checkPullKind refuses, before anything is recorded, a pull the client
// said it cannot write: kind "file" (a stream takes only a file), or
// "tree" (the destination is a directory); "" takes either.
func checkPullKind(a eventlog.Artifact, kind string) error {
	tree := a.MediaType == api.TreeMediaType
	switch kind {
	case "":
	case api.KindFile:
		if tree {
			return codeErr(api.CodeInvalid, fmt.Sprintf("%s is a directory artifact; pull it to a directory path (-o DIR)", a.Ref()))
		}
	case api.KindTree:
		if !tree {
			return codeErr(api.CodeInvalid, fmt.Sprintf("%s is a file artifact and the destination is a directory; give the path of the file to write", a.Ref()))
		}
	default:
		return codeErr(api.CodeInvalid, fmt.Sprintf("kind: %q is neither %s nor %s", kind, api.KindFile, api.KindTree))
	}
	return nil
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
