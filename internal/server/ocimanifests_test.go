package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// pushOCIBlob uploads data to repo in one request and returns its
// descriptor as JSON.
func (e *env) pushOCIBlob(repo, role, mediaType string, data []byte) string {
	e.t.Helper()
	d := sha256Of(data)
	resp, b := e.ociDo("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, role, data, nil)
	wantStatus(e.t.(*testing.T), "monolithic POST", resp, b, http.StatusCreated)
	return fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, mediaType, d, len(data))
}

func TestOCIManifestRoutes(t *testing.T) {
	e := newEnv(t)
	cfg := e.pushOCIBlob("team/app", "write", "application/vnd.oci.empty.v1+json", []byte("{}"))
	layer := e.pushOCIBlob("team/app", "write", "text/plain", []byte("hello"))
	subject := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":` + cfg + `,"layers":[` + layer + `]}`)
	ct := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}

	// A read-only token cannot push a manifest.
	resp, b := e.ociDo("PUT", "/v2/team/app/manifests/v1", "read", subject, ct)
	wantStatus(t, "read token PUT", resp, b, http.StatusForbidden)
	if ociCode(t, b) != "DENIED" {
		t.Fatalf("read token PUT: %s", b)
	}
	resp, b = e.ociDo("PUT", "/v2/team/app/manifests/v1", "write", subject, ct)
	wantStatus(t, "PUT by tag", resp, b, http.StatusCreated)
	d := sha256Of(subject)
	if resp.Header.Get("Docker-Content-Digest") != d || resp.Header.Get("Location") != "/v2/team/app/manifests/"+d {
		t.Fatalf("PUT headers %v", resp.Header)
	}
	for _, m := range []string{"GET", "HEAD"} {
		resp, b = e.ociDo(m, "/v2/team/app/manifests/v1", "read", nil, nil)
		wantStatus(t, m+" by tag", resp, b, http.StatusOK)
		if resp.Header.Get("Content-Type") != "application/vnd.oci.image.manifest.v1+json" || resp.Header.Get("Content-Length") != fmt.Sprint(len(subject)) ||
			resp.Header.Get("Docker-Content-Digest") != d || (m == "GET") != bytes.Equal(b, subject) {
			t.Fatalf("%s: %v %q", m, resp.Header, b)
		}
	}
	// A referrer: OCI-Subject on the PUT, listed by the referrers route.
	referrer := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":` + cfg +
		`,"layers":[` + layer + `],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","size":` + fmt.Sprint(len(subject)) + `}}`)
	resp, b = e.ociDo("PUT", "/v2/team/app/manifests/"+sha256Of(referrer), "write", referrer, ct)
	wantStatus(t, "PUT referrer", resp, b, http.StatusCreated)
	if resp.Header.Get("OCI-Subject") != d {
		t.Fatalf("OCI-Subject %q", resp.Header.Get("OCI-Subject"))
	}
	resp, b = e.ociDo("GET", "/v2/team/app/referrers/"+d+"?artifactType=application/spdx%2Bjson", "read", nil, nil)
	wantStatus(t, "referrers", resp, b, http.StatusOK)
	var idx struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sha256Of(referrer) ||
		resp.Header.Get("OCI-Filters-Applied") != "artifactType" || resp.Header.Get("Content-Type") != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("referrers %v %s", resp.Header, b)
	}
	// Tags, paginated with a Link.
	for _, tag := range []string{"a", "b", "c"} {
		resp, b = e.ociDo("PUT", "/v2/team/app/manifests/"+tag, "write", subject, ct)
		wantStatus(t, "PUT tag "+tag, resp, b, http.StatusCreated)
	}
	resp, b = e.ociDo("GET", "/v2/team/app/tags/list?n=2", "read", nil, nil)
	wantStatus(t, "tags", resp, b, http.StatusOK)
	if string(b) != `{"name":"team/app","tags":["a","b"]}`+"\n" || !strings.Contains(resp.Header.Get("Link"), "last=b") {
		t.Fatalf("tags page: %q Link %q", b, resp.Header.Get("Link"))
	}
	resp, b = e.ociDo("GET", "/v2/team/app/tags/list?n=x", "read", nil, nil)
	wantStatus(t, "tags n=x", resp, b, http.StatusBadRequest)
	// A held manifest is not deleted: DENIED.
	resp, b = e.ociDo("POST", "/v1/artifact/holds?ref=team/app:v1", "write", []byte(`{"reason":"audit"}`), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("hold: %d %s", resp.StatusCode, b)
	}
	resp, b = e.ociDo("DELETE", "/v2/team/app/manifests/"+d, "write", nil, nil)
	wantStatus(t, "DELETE held", resp, b, http.StatusForbidden)
	if ociCode(t, b) != "DENIED" {
		t.Fatalf("DELETE held: %s", b)
	}
	// Over 4 MiB: 413.
	resp, b = e.ociDo("PUT", "/v2/team/app/manifests/big", "write", bytes.Repeat([]byte(" "), 4<<20+1), ct)
	wantStatus(t, "PUT 4 MiB + 1", resp, b, http.StatusRequestEntityTooLarge)
	// Missing blob: MANIFEST_BLOB_UNKNOWN.
	missing := strings.Replace(string(subject), sha256Of([]byte("hello")), sha256Of([]byte("never")), 1)
	resp, b = e.ociDo("PUT", "/v2/team/app/manifests/m", "write", []byte(missing), ct)
	wantStatus(t, "PUT missing blob", resp, b, http.StatusBadRequest)
	if ociCode(t, b) != "MANIFEST_BLOB_UNKNOWN" {
		t.Fatalf("PUT missing blob: %s", b)
	}
	resp, b = e.ociDo("GET", "/v2/team/app/manifests/nope", "read", nil, nil)
	wantStatus(t, "GET unknown tag", resp, b, http.StatusNotFound)
	if ociCode(t, b) != "MANIFEST_UNKNOWN" {
		t.Fatalf("GET unknown tag: %s", b)
	}
}

// TestOCICatalog: /v2/_catalog lists the live names that are OCI
// repository names, in byte order, paged by n and last with a Link to the
// next page; a token limited to a prefix sees only the names under it.
func TestOCICatalog(t *testing.T) {
	e := newEnv(t)
	// "_hidden" is an artstore name but not an OCI one; "team/a/x" has two
	// versions; "gone" was deleted.
	for _, name := range []string{"team/b", "a", "team/a/x", "_hidden", "z.z", "gone", "team/a/x"} {
		e.register(name, []byte(name))
	}
	e.doJSON("DELETE", "/v1/artifact?ref=gone:1", "admin", nil, http.StatusOK, nil)

	catalog := func(role, query string) ([]string, string) {
		t.Helper()
		resp, b := e.ociDo("GET", "/v2/_catalog"+query, role, nil, nil)
		wantStatus(t, "GET /v2/_catalog"+query, resp, b, http.StatusOK)
		var body struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(b, &body); err != nil || body.Repositories == nil {
			t.Fatalf("catalog body %s: %v", b, err)
		}
		return body.Repositories, resp.Header.Get("Link")
	}
	all := []string{"a", "team/a/x", "team/b", "z.z"}
	if got, link := catalog("read", ""); !slices.Equal(got, all) || link != "" {
		t.Errorf("whole catalog = %q (Link %q), want %q", got, link, all)
	}
	got, link := catalog("read", "?n=2")
	if !slices.Equal(got, all[:2]) || link != `</v2/_catalog?last=team%2Fa%2Fx&n=2>; rel="next"` {
		t.Fatalf("first page = %q, Link %q", got, link)
	}
	if got, link = catalog("read", "?n=2&last=team%2Fa%2Fx"); !slices.Equal(got, all[2:]) || link != "" {
		t.Errorf("second page = %q, Link %q", got, link)
	}
	if got, _ = catalog("read", "?n=0"); len(got) != 0 {
		t.Errorf("n=0 = %q", got)
	}
	if got, _ = catalog("read", "?last=zz"); len(got) != 0 {
		t.Errorf("past the end = %q", got)
	}
	if got, _ = catalog("read", "?n=100000"); !slices.Equal(got, all) {
		t.Errorf("n over the page limit = %q", got)
	}
	if got, _ = catalog("prefixed-read", ""); !slices.Equal(got, []string{"team/a/x", "team/b"}) {
		t.Errorf("prefixed token's catalog = %q", got)
	}
	if got, _ = catalog("prefixed-read", "?n=1&last=team%2Fa%2Fx"); !slices.Equal(got, []string{"team/b"}) {
		t.Errorf("prefixed token's second page = %q", got)
	}
	for _, q := range []string{"?n=-1", "?n=x"} {
		resp, b := e.ociDo("GET", "/v2/_catalog"+q, "read", nil, nil)
		wantStatus(t, "GET /v2/_catalog"+q, resp, b, http.StatusBadRequest)
		if ociCode(t, b) != "PAGINATION_NUMBER_INVALID" {
			t.Errorf("%s: %s", q, b)
		}
	}
	resp, b := e.ociDo("GET", "/v2/_catalog", "", nil, nil)
	wantStatus(t, "catalog without credentials", resp, b, http.StatusUnauthorized)
}
