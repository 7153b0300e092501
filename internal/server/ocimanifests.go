package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/artifact-store/artstore/internal/app"
)

// The /v2 manifest, tag-list and referrers routes: HTTP decoding and
// encoding around the use cases of app.Service (internal/app/oci*.go).

// handleOCIManifestGet serves GET and HEAD /v2/<name>/manifests/<ref>.
// A GET appends the artifact's retrieval record; a HEAD does not.
func (s *Server) handleOCIManifestGet(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	m, err := s.svc.OCIGetManifest(r.Context(), c.principal(r), name, r.PathValue("reference"), r.Method == http.MethodGet)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", m.Digest)
	h.Set("ETag", `"`+m.Digest+`"`)
	h.Set("Content-Length", strconv.Itoa(len(m.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(m.Body)
	s.metrics.blobBytesOut.Add(int64(len(m.Body)))
	return err
}

// handleOCIManifestPut takes a manifest pushed by tag or by digest (with
// optional ?tag= parameters).
func (s *Server) handleOCIManifestPut(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	if r.ContentLength > app.MaxOCIManifest {
		return ociErr(http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("the manifest is %d bytes; at most %d are taken", r.ContentLength, app.MaxOCIManifest))
	}
	body, err := io.ReadAll(io.LimitReader(&deadlineReader{r: r.Body, c: c, d: s.limits.IOTimeout}, app.MaxOCIManifest+1))
	if err != nil {
		return fmt.Errorf("read the manifest: %w", err)
	}
	res, err := s.svc.OCIPutManifest(r.Context(), c.principal(r), name, r.PathValue("reference"), r.Header.Get("Content-Type"), body, r.URL.Query()["tag"])
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/manifests/"+res.Digest)
	h.Set("Docker-Content-Digest", res.Digest)
	if res.Subject != "" {
		h.Set("OCI-Subject", res.Subject)
	}
	if len(res.Tags) > 0 && strings.Contains(r.PathValue("reference"), ":") {
		h.Set("OCI-Tag", strings.Join(res.Tags, ", "))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// handleOCIManifestDelete removes a tag, or deletes the artifact version a
// digest names.
func (s *Server) handleOCIManifestDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	if err := s.svc.OCIDeleteManifest(r.Context(), c.principal(r), name, r.PathValue("reference")); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// handleOCITags lists a repository's tags, n at a time after last, with a
// Link to the next page.
func (s *Server) handleOCITags(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	n, err := ociPageSize(q, -1)
	if err != nil {
		return err
	}
	last := q.Get("last")
	tags, more, err := s.svc.OCITags(r.Context(), c.principal(r), name, n, last)
	if err != nil {
		return err
	}
	if more && len(tags) > 0 {
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[len(tags)-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/%s/tags/list?%s>; rel="next"`, name, next.Encode()))
	}
	return writeJSON(w, http.StatusOK, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, tags})
}

// handleOCICatalog lists the repositories the caller may read
// (/v2/_catalog, which registries serve besides the distribution spec and
// clients such as `oras repo ls` and `crane catalog` use), paged as tags
// are: n names at the most after last, and a Link to the next page. A
// request without n, or with more than app.OCICatalogMax, gets a page of
// that many.
func (s *Server) handleOCICatalog(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	n, err := ociPageSize(q, app.OCICatalogMax)
	if err != nil {
		return err
	}
	n = min(n, app.OCICatalogMax)
	names, more, err := s.svc.OCICatalog(r.Context(), c.principal(r), n, q.Get("last"))
	if err != nil {
		return err
	}
	if more && len(names) > 0 {
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {names[len(names)-1]}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?%s>; rel="next"`, next.Encode()))
	}
	return writeJSON(w, http.StatusOK, struct {
		Repositories []string `json:"repositories"`
	}{names})
}

// ociPageSize is a listing's n parameter, or def without one.
func ociPageSize(q url.Values, def int) (int, error) {
	v := q.Get("n")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, ociErr(http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", fmt.Sprintf("n=%q is not a non-negative integer", clipID(v)))
	}
	return n, nil
}

// handleOCIReferrers lists the manifests whose subject is a digest, with
// an artifactType filter.
func (s *Server) handleOCIReferrers(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := c.ociName(r)
	if err != nil {
		return err
	}
	d, err := parseOCIDigest(r.PathValue("reference"))
	if err != nil {
		return err
	}
	at := r.URL.Query().Get("artifactType")
	body, err := s.svc.OCIReferrers(r.Context(), c.principal(r), name, d, at)
	if err != nil {
		return err
	}
	h := w.Header()
	if at != "" {
		h.Set("OCI-Filters-Applied", "artifactType")
	}
	h.Set("Content-Type", app.OCIIndexType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}
