package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/pkg/api"
)

// TestDirectRoutes: with direct transfers on, a pull grant carries the
// manifest's presigned GET and the grant's seq, which the chunk URL route
// takes; the missing check answers presigned uploads to a token that may
// write, sized as asked, and none to a read token or without sizes; the
// /metrics gauge says direct transfers are on. Without them (proxy mode)
// grants carry no URLs and the chunk URL route is refused.
func TestDirectRoutes(t *testing.T) {
	e := newEnvDirect(t)
	a := e.register("team/a", []byte("direct bytes"))
	ref := url.QueryEscape(a.Ref)
	for _, q := range []string{"read", "prefixed-read", "read?direct=only"} {
		role, extra, _ := strings.Cut(q, "?")
		var g api.PullGrant
		e.doJSON("POST", "/v1/artifact/pulls?ref="+ref+"&"+extra, role, nil, http.StatusOK, &g)
		if g.Direct == nil || g.Direct.Grant <= 0 || g.Direct.Manifest.URL == "" || g.Direct.Manifest.Method != "GET" {
			t.Fatalf("%s: grant = %+v; want a direct part", role, g)
		}
		var urls api.PullURLs
		e.doJSON("POST", fmt.Sprintf("/v1/artifact/pulls/urls?ref=%s&grant=%d", ref, g.Direct.Grant), role, nil, http.StatusOK, &urls)
		if len(urls.Chunks) != 1 || urls.Chunks[0].Digest != a.ContentDigest || !urls.Done {
			t.Errorf("%s: chunk URLs = %+v; want the one chunk, done", role, urls)
		}
	}
	req := api.MissingRequest{Digests: []string{"sha256:" + fmt.Sprintf("%064x", 7)}, Sizes: []int64{5}}
	for role, want := range map[string]int{"write": 1, "prefixed": 1, "read": 0} {
		var out api.MissingResponse
		e.doJSON("POST", "/v1/blobs/missing", role, req, http.StatusOK, &out)
		if len(out.Missing) != 1 || len(out.Uploads) != want {
			t.Errorf("%s: missing check = %+v; want 1 missing, %d uploads", role, out, want)
		}
	}
	var out api.MissingResponse
	e.doJSON("POST", "/v1/blobs/missing", "write", api.MissingRequest{Digests: req.Digests}, http.StatusOK, &out)
	if len(out.Uploads) != 0 {
		t.Errorf("missing check without sizes answered %d uploads", len(out.Uploads))
	}
	e.doJSON("POST", "/v1/blobs/missing", "write", api.MissingRequest{Digests: req.Digests, Sizes: []int64{1, 2}}, http.StatusBadRequest, nil)
	e.doJSON("POST", "/v1/blobs/missing", "write", api.MissingRequest{Digests: req.Digests, Sizes: []int64{-1}}, http.StatusBadRequest, nil)
	if !e.metricsHave("artstore_direct_transfers 1") {
		t.Error("/metrics does not say direct transfers are on")
	}

	p := newEnv(t)
	b := p.register("team/a", []byte("proxied bytes"))
	var g api.PullGrant
	p.doJSON("POST", "/v1/artifact/pulls?ref="+url.QueryEscape(b.Ref), "read", nil, http.StatusOK, &g)
	if g.Direct != nil || !g.Blobs {
		t.Errorf("proxy mode grant = %+v; want blobs, no direct part", g)
	}
	p.doJSON("POST", "/v1/artifact/pulls/urls?grant=1&ref="+url.QueryEscape(b.Ref), "read", nil, http.StatusBadRequest, nil)
	// direct=only: a proxy daemon grants and records nothing.
	var only api.PullGrant
	p.doJSON("POST", "/v1/artifact/pulls?direct=only&ref="+url.QueryEscape(b.Ref), "read", nil, http.StatusOK, &only)
	if only.Direct != nil || only.Blobs || only.Artifact.ID != b.ID {
		t.Errorf("proxy mode direct-only grant = %+v; want the artifact alone", only)
	}
	var after api.Artifact
	p.doJSON("GET", "/v1/artifact?ref="+url.QueryEscape(b.Ref), "read", nil, http.StatusOK, &after)
	if after.Retrievals.Count != 1 {
		t.Errorf("%d retrievals after one pull grant and one direct-only ask; want 1", after.Retrievals.Count)
	}
	p.doJSON("POST", "/v1/artifact/pulls?direct=yes&ref="+url.QueryEscape(b.Ref), "read", nil, http.StatusBadRequest, nil)
	if !p.metricsHave("artstore_direct_transfers 0") {
		t.Error("/metrics does not say direct transfers are off")
	}
}

// metricsHave reports whether /metrics has the line.
func (e *env) metricsHave(line string) bool {
	e.t.Helper()
	resp := e.request("GET", "/metrics", "", nil, nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return slices.Contains(strings.Split(string(b), "\n"), line)
}
