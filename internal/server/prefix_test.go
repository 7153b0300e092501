package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/bundle/bundletest"
	"github.com/artifact-store/artstore/internal/content"

	"github.com/artifact-store/artstore/pkg/api"
)

// TestPrefixedInputOutsidePrefix is the report's scenario: a token limited
// to "team/" registers an artifact whose input names another prefix's
// artifact, to learn its content digest and then read the blob. The
// register is refused with 403 whether or not the input exists, and the
// blob routes refuse a token limited to a prefix.
func TestPrefixedInputOutsidePrefix(t *testing.T) {
	e := newEnv(t)
	secret := e.register("other/secret", []byte("the other team's secret"))
	own := e.register("team/own", []byte("the team's own data"))
	for _, in := range []api.Input{
		{Ref: "other/secret:1"}, {Ref: "other/absent:1"}, {Ref: secret.ID},
		{Ref: "other/secret@" + secret.ContentDigest}, {ArtifactID: secret.ID},
	} {
		req := api.RegisterRequest{Name: "team/probe", ContentDigest: own.ContentDigest, ManifestDigest: own.ManifestDigest,
			Size: own.Size, Inputs: []api.Input{in}}
		resp := e.request("POST", "/v1/artifacts", "prefixed", jsonBody(t, req), nil)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("input %+v: status %d, want 403: %s", in, resp.StatusCode, body)
		}
		if strings.Contains(body, secret.ContentDigest) || strings.Contains(body, secret.ManifestDigest) {
			t.Errorf("input %+v: the answer reveals the other artifact's digests: %s", in, body)
		}
	}
	for _, m := range []string{"GET", "HEAD"} {
		resp := e.request(m, "/v1/blobs/"+secret.ContentDigest, "prefixed", nil, nil)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s blob with a prefixed token: status %d, want 403", m, resp.StatusCode)
		}
		if strings.Contains(body, "the other team's secret") {
			t.Errorf("%s blob with a prefixed token: the answer holds the secret", m)
		}
	}
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// otherRequests are the requests a token limited to "team/" can aim at the
// other prefix's artifact s (a one-chunk file, so its content digest is
// also a blob key): by name, by ID and by name@digest wherever a route
// takes a reference, and by each of its digests on the blob routes. own is
// an artifact under "team/" whose content the register requests reuse.
func otherRequests(s, own api.Artifact, secret, otherBundle []byte) map[string][]routeRequest {
	refs := []string{url.QueryEscape(s.Ref), s.ID, url.QueryEscape(s.Name + "@" + s.ContentDigest)}
	each := func(f func(ref string) routeRequest) []routeRequest {
		out := make([]routeRequest, len(refs))
		for i, ref := range refs {
			out[i] = f(ref)
		}
		return out
	}
	path := func(p string) func(string) routeRequest {
		return func(ref string) routeRequest { return routeRequest{path: p + ref} }
	}
	digests := []string{s.ContentDigest, s.ManifestDigest}
	blob := func(raw bool) []routeRequest {
		var out []routeRequest
		for _, d := range digests {
			rr := routeRequest{path: "/v1/blobs/" + d}
			if raw && d == s.ContentDigest {
				rr.raw = secret
			}
			if !raw || rr.raw != nil {
				out = append(out, rr)
			}
		}
		return out
	}
	var register []routeRequest
	for _, in := range []api.Input{{Ref: s.Ref}, {Ref: s.ID}, {ArtifactID: s.ID}, {Ref: s.Name + "@" + s.ContentDigest},
		{Ref: s.Name + ":2"}, {Ref: s.Ref, Digest: own.ContentDigest}} {
		register = append(register, routeRequest{path: "/v1/artifacts", body: api.RegisterRequest{Name: "team/probe",
			ContentDigest: own.ContentDigest, ManifestDigest: own.ManifestDigest, Size: own.Size, Inputs: []api.Input{in}}})
	}
	register = append(register, routeRequest{path: "/v1/artifacts", body: api.RegisterRequest{Name: s.Name,
		ContentDigest: own.ContentDigest, ManifestDigest: own.ManifestDigest, Size: own.Size}})
	return map[string][]routeRequest{
		"HEAD /v1/blobs/{digest}":  blob(false),
		"GET /v1/blobs/{digest}":   blob(false),
		"PUT /v1/blobs/{digest}":   blob(true),
		"POST /v1/blobs/missing":   {{path: "/v1/blobs/missing", body: api.MissingRequest{Digests: digests}}},
		"POST /v1/artifacts":       register,
		"GET /v1/artifacts":        {{path: "/v1/artifacts?pattern=other/"}, {path: "/v1/artifacts?pattern=other/*"}, {path: "/v1/artifacts?pattern=*"}, {path: "/v1/artifacts?pattern=te*"}},
		"GET /v1/complete":         {{path: "/v1/complete?ref=other/"}, {path: "/v1/complete?ref=o"}, {path: "/v1/complete?ref=" + url.QueryEscape(s.Name+":")}},
		"GET /v1/artifact":         each(path("/v1/artifact?ref=")),
		"DELETE /v1/artifact":      each(path("/v1/artifact?ref=")),
		"GET /v1/artifact/content": each(path("/v1/artifact/content?ref=")),
		"HEAD /v1/artifact/blobs/{digest}": append(each(path("/v1/artifact/blobs/"+s.ContentDigest+"?ref=")),
			each(path("/v1/artifact/blobs/"+s.ManifestDigest+"?ref="))...),
		"GET /v1/artifact/blobs/{digest}": append(each(path("/v1/artifact/blobs/"+s.ContentDigest+"?ref=")),
			each(path("/v1/artifact/blobs/"+s.ManifestDigest+"?ref="))...),
		"POST /v1/artifact/blobs/missing": each(func(ref string) routeRequest {
			return routeRequest{path: "/v1/artifact/blobs/missing?ref=" + ref, body: api.MissingRequest{Digests: []string{s.ContentDigest, s.ManifestDigest}}}
		}),
		"PUT /v1/artifact/tags/{tag}": each(path("/v1/artifact/tags/prod?ref=")),
		"PATCH /v1/artifact/labels": each(func(ref string) routeRequest {
			return routeRequest{path: "/v1/artifact/labels?ref=" + ref, body: api.LabelsRequest{Set: map[string]string{"k": "v"}}}
		}),
		"PUT /v1/artifact/retention": each(func(ref string) routeRequest {
			return routeRequest{path: "/v1/artifact/retention?ref=" + ref, body: api.RetentionBody{ExpireAfter: "1h"}}
		}),
		"POST /v1/artifact/holds": each(func(ref string) routeRequest {
			return routeRequest{path: "/v1/artifact/holds?ref=" + ref, body: api.HoldRequest{Reason: "r"}}
		}),
		"DELETE /v1/artifact/holds":          each(path("/v1/artifact/holds?ref=")),
		"GET /v1/artifact/retention/explain": each(path("/v1/artifact/retention/explain?ref=")),
		"GET /v1/artifact/lineage":           each(path("/v1/artifact/lineage?ref=")),
		"GET /v1/artifact/files":             each(path("/v1/artifact/files?ref=")),
		"POST /v1/artifact/repair/plan":      each(path("/v1/artifact/repair/plan?ref=")),
		"POST /v1/artifact/repair/finish": each(func(ref string) routeRequest {
			return routeRequest{path: "/v1/artifact/repair/finish?ref=" + ref, body: api.RepairRequest{ContentDigest: s.ContentDigest, ManifestDigest: s.ManifestDigest, Source: "file x"}}
		}),
		"POST /v1/artifact/pulls":      each(path("/v1/artifact/pulls?ref=")),
		"POST /v1/artifact/pulls/urls": each(path("/v1/artifact/pulls/urls?grant=1&ref=")),
		"POST /v1/export": each(func(ref string) routeRequest {
			plain, _ := url.QueryUnescape(ref) // each escapes for a query
			return routeRequest{path: "/v1/export", body: api.ExportRequest{Refs: []string{plain}, Closure: -1}}
		}),
		"POST /v1/retrievals":             {{path: "/v1/retrievals", raw: []byte(`{"ref":"` + s.ID + `","bytes":9223372036854775807}`)}},
		"GET /v1/events":                  {{path: "/v1/events"}},
		"GET /v1/audit":                   each(path("/v1/audit?ref=")),
		"GET /v1/log/verify":              {{path: "/v1/log/verify"}},
		"GET /v1/log/key":                 {{path: "/v1/log/key"}},
		"GET /v1/log/checkpoint":          {{path: "/v1/log/checkpoint"}},
		"GET /v1/log/proof/inclusion":     {{path: "/v1/log/proof/inclusion?seq=1"}},
		"GET /v1/log/proof/consistency":   {{path: "/v1/log/proof/consistency?old=1"}},
		"POST /v1/import":                 {{path: "/v1/import", raw: otherBundle}},
		"GET /v1/backends/health":         {{path: "/v1/backends/health"}},
		"POST /v1/admin/rebuild":          {{path: "/v1/admin/rebuild"}},
		"POST /v1/admin/gc":               {{path: "/v1/admin/gc", body: api.GCRequest{DryRun: true}}},
		"POST /v1/admin/retention/apply":  {{path: "/v1/admin/retention/apply", body: api.RetentionApplyRequest{DryRun: true}}},
		"GET /v1/retention/rules":         {{path: "/v1/retention/rules"}},
		"POST /v1/retention/rules":        {{path: "/v1/retention/rules", body: api.RetentionRuleRequest{Pattern: "other/*", KeepLast: 1}}},
		"DELETE /v1/retention/rules/{id}": {{path: "/v1/retention/rules/NOSUCHRULE"}},
		"GET /v1/tokens":                  {{path: "/v1/tokens"}},
		"POST /v1/tokens":                 {{path: "/v1/tokens", body: api.TokenRequest{Scope: "read", Prefix: "other/"}}},
		"DELETE /v1/tokens/{id}":          {{path: "/v1/tokens/aaaaaaaaaaaaaaaa"}},
	}
}

// TestPrefixEveryRoute walks the route table with a token limited to
// "team/" (of admin scope, so the scope never decides) aimed at another
// prefix's artifact by name, ID and name@digest, and at its blobs by
// digest. Every request is refused with 403, except the documented ones:
// a blob PUT of bytes the caller holds and the missing check (they tell
// only whether a digest the caller names is stored) and the retired
// POST /v1/retrievals (410 for everyone). No answer carries the other
// artifact's bytes, digests, name or ID beyond what the request itself
// named, and nothing is appended to the log. A route added without
// requests here fails the test.
func TestPrefixEveryRoute(t *testing.T) {
	e := newEnv(t)
	secretBytes := []byte("the other team's secret")
	s := e.register("other/secret", secretBytes)
	own := e.register("team/own", []byte("the team's own data"))
	reqs := otherRequests(s, own, secretBytes, exportedBundle(t, "other/"))
	head := e.head()
	allowed := map[string]int{"PUT /v1/blobs/{digest}": http.StatusOK, "POST /v1/blobs/missing": http.StatusOK, "POST /v1/retrievals": http.StatusGone}
	for _, rt := range e.srv.routes {
		key := rt.Method + " " + rt.Pattern
		t.Run(key, func(t *testing.T) {
			if rt.Public {
				return // no token, no names: checked by TestAuthEveryRoute
			}
			rrs, ok := reqs[key]
			if !ok || len(rrs) == 0 {
				t.Fatalf("no request for route %s: add one to otherRequests", key)
			}
			for _, c := range []struct {
				role    string
				allowed map[string]int
			}{{"prefixed", allowed}, {"prefixed-read", map[string]int{"POST /v1/retrievals": http.StatusGone}}} {
				for _, rr := range rrs {
					testOtherRequest(t, e, rt, rr, c.role, c.allowed, s, secretBytes)
				}
			}
		})
	}
	if h := e.head(); h != head {
		t.Errorf("the refused requests appended %d events", h-head)
	}
	for k := range reqs {
		if !slices.ContainsFunc(e.srv.routes, func(rt route) bool { return rt.Method+" "+rt.Pattern == k }) {
			t.Errorf("requests for %s, which is not a route", k)
		}
	}
}

// testOtherRequest sends rr to rt with the role's token and checks the
// status (403 unless allowed says otherwise) and that the answer reveals
// nothing of s the request did not name.
func testOtherRequest(t *testing.T, e *env, rt route, rr routeRequest, role string, allowed map[string]int, s api.Artifact, secretBytes []byte) {
	t.Helper()
	key := rt.Method + " " + rt.Pattern
	var body []byte
	switch {
	case rr.raw != nil:
		body = rr.raw
	case rr.body != nil:
		body, _ = json.Marshal(rr.body)
	}
	resp := e.request(rt.Method, rr.path, role, strings.NewReader(string(body)), nil)
	got := readBody(t, resp)
	want := http.StatusForbidden
	if st, ok := allowed[key]; ok {
		want = st
	}
	if resp.StatusCode != want {
		t.Errorf("%s %s with %s: status %d, want %d: %s", rt.Method, rr.path, role, resp.StatusCode, want, got)
	}
	leaks := []string{string(secretBytes), s.ID, s.Name, s.ContentDigest, s.ManifestDigest}
	for _, l := range leaks {
		if strings.Contains(got, l) && !strings.Contains(rr.path+string(body), l) {
			t.Errorf("%s %s: the answer reveals %q: %s", rt.Method, rr.path, l, got)
		}
	}
	if key == "POST /v1/blobs/missing" && want == http.StatusOK && got != `{"missing":[]}`+"\n" {
		t.Errorf("missing check: %s", got)
	}
}

// head returns the log's last seq.
func (e *env) head() int64 {
	e.t.Helper()
	var evs api.EventsResponse
	e.doJSON("GET", "/v1/events?after=0&limit=1", "admin", nil, http.StatusOK, &evs)
	return evs.Head
}

// TestPrefixedProvenanceWithheld: an artifact under the token's prefix
// whose inputs (registered by an unrestricted token) include another
// prefix's artifact shows that input with its artifact ID and role only,
// in get, list, register answers and lineage; lineage leaves the hidden
// artifact out and does not walk through it.
func TestPrefixedProvenanceWithheld(t *testing.T) {
	e := newEnv(t)
	s := e.register("other/secret", []byte("the other team's secret"))
	base := e.register("team/base", []byte("base"))
	own := e.register("team/own", []byte("own"))
	raw := content.FromBytes([]byte("raw input")).String()
	req := api.RegisterRequest{Name: "team/out", ContentDigest: own.ContentDigest, ManifestDigest: own.ManifestDigest, Size: own.Size,
		Inputs: []api.Input{{Ref: s.Ref, Role: "secret"}, {Ref: s.ID}, {Ref: base.Ref, Role: "base"}, {Digest: raw, Role: "raw"}}}
	var out api.Artifact
	e.doJSON("POST", "/v1/artifacts", "admin", req, http.StatusCreated, &out)
	if len(out.Provenance.Inputs) != 4 || out.Provenance.Inputs[0].Digest != s.ContentDigest {
		t.Fatalf("an unrestricted token sees the inputs whole: %+v", out.Provenance.Inputs)
	}
	want := []api.Input{{ArtifactID: s.ID, Role: "secret"}, {ArtifactID: s.ID},
		{Ref: base.Ref, ArtifactID: base.ID, Digest: base.ContentDigest, Role: "base"}, {Digest: raw, Role: "raw"}}
	var got api.Artifact
	e.doJSON("GET", "/v1/artifact?ref=team/out:1", "prefixed", nil, http.StatusOK, &got)
	if !slices.Equal(got.Provenance.Inputs, want) {
		t.Errorf("get: inputs = %+v, want %+v", got.Provenance.Inputs, want)
	}
	var page api.Page
	e.doJSON("GET", "/v1/artifacts?pattern=team/out", "prefixed", nil, http.StatusOK, &page)
	if len(page.Artifacts) != 1 || !slices.Equal(page.Artifacts[0].Provenance.Inputs, want) {
		t.Errorf("list: %+v", page.Artifacts)
	}
	e.doJSON("PUT", "/v1/artifact/tags/prod?ref=team/out:1", "prefixed", nil, http.StatusOK, &got)
	if !slices.Equal(got.Provenance.Inputs, want) {
		t.Errorf("tag answer: inputs = %+v", got.Provenance.Inputs)
	}
	for _, path := range []string{"/v1/artifact/lineage?ref=team/out:1", "/v1/artifact/lineage?ref=team/base:1&direction=down"} {
		resp := e.request("GET", path, "prefixed", nil, nil)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var g api.LineageGraph
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			t.Fatal(err)
		}
		for _, leak := range []string{s.ContentDigest, s.ManifestDigest, s.Name} {
			if strings.Contains(body, leak) {
				t.Errorf("%s reveals %s: %s", path, leak, body)
			}
		}
		for _, ed := range g.Edges {
			if ed.To == s.ID || ed.From == s.ID {
				t.Errorf("%s: edge %+v names the hidden artifact", path, ed)
			}
		}
	}
	var g api.LineageGraph
	e.doJSON("GET", "/v1/artifact/lineage?ref=team/out:1", "prefixed", nil, http.StatusOK, &g)
	if len(g.Nodes) != 2 || len(g.Edges) != 2 {
		t.Errorf("lineage: %d nodes, %d edges; want team/out and team/base, the base and raw edges", len(g.Nodes), len(g.Edges))
	}
}

// exportedBundle returns an evidence bundle of another store whose
// artifacts are named under prefix.
func exportedBundle(t *testing.T, prefix string) []byte {
	t.Helper()
	f := bundletest.NewFixtureIn(t, prefix)
	var b bytes.Buffer
	req := bundle.Request{IDs: []string{f.Release}, Closure: bundle.ClosureAll, Checkpoint: f.S.Checkpoint(), Key: f.S.Key.VerifierKey()}
	if _, err := bundle.Export(context.Background(), f.S, req, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPrefixedTreePull: a token limited to a prefix pulls a directory
// under it through the blob route scoped to the artifact. The grant says
// so and appends the retrieval record; the route serves the artifact's own
// blobs (the tree manifest, each file's manifest, their chunks), with a
// Range, and answers 404 for any other digest, stored or not, so a known
// digest of another prefix's bytes stays out of reach.
func TestPrefixedTreePull(t *testing.T) {
	e := newEnv(t)
	secret := e.register("other/secret", []byte("the other team's secret"))
	tree := e.registerTree("team/site", map[string]string{"a.txt": "alpha", "b/c.txt": "gamma"}, "a.txt", "b/c.txt")
	file := e.register("team/file", []byte("one file"))
	ref := url.QueryEscape(tree.Ref)

	head := e.head()
	var g api.PullGrant
	e.doJSON("POST", "/v1/artifact/pulls?kind=tree&ref="+ref, "prefixed-read", nil, http.StatusOK, &g)
	if !g.Scoped || g.Blobs || g.Artifact.ID != tree.ID {
		t.Fatalf("grant of a directory to a prefixed token = %+v, want scoped", g)
	}
	if e.head() != head+1 {
		t.Errorf("the grant appended %d events, want the retrieval record", e.head()-head)
	}
	var fg, ug api.PullGrant
	e.doJSON("POST", "/v1/artifact/pulls?ref="+url.QueryEscape(file.Ref), "prefixed-read", nil, http.StatusOK, &fg)
	if fg.Scoped || fg.Blobs {
		t.Errorf("grant of a file to a prefixed token = %+v, want the content route", fg)
	}
	e.doJSON("POST", "/v1/artifact/pulls?kind=tree&ref="+ref, "read", nil, http.StatusOK, &ug)
	if ug.Scoped || !ug.Blobs {
		t.Errorf("grant of a directory to a token without a prefix = %+v, want blobs", ug)
	}
	head = e.head()

	get := func(digest, refq string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		resp := e.request("GET", "/v1/artifact/blobs/"+digest+"?ref="+refq, "prefixed-read", nil, hdr)
		return resp, []byte(readBody(t, resp))
	}
	var m content.Manifest
	resp, b := get(tree.ManifestDigest, ref, nil)
	if resp.StatusCode != http.StatusOK || content.FromBytes(b).String() != tree.ManifestDigest || json.Unmarshal(b, &m) != nil {
		t.Fatalf("tree manifest: %d %s", resp.StatusCode, b)
	}
	for _, en := range m.Entries {
		resp, b = get(en.Manifest.String(), tree.ID, nil)
		if resp.StatusCode != http.StatusOK || content.FromBytes(b) != en.Manifest {
			t.Fatalf("file manifest of %s: %d %s", en.Path, resp.StatusCode, b)
		}
		resp, b = get(en.Digest.String(), tree.ID, map[string]string{"Range": "bytes=1-2"})
		if resp.StatusCode != http.StatusPartialContent || len(b) != 2 {
			t.Fatalf("range of the chunk of %s: %d %q", en.Path, resp.StatusCode, b)
		}
	}
	hresp := e.request("HEAD", "/v1/artifact/blobs/"+tree.ManifestDigest+"?ref="+ref, "prefixed-read", nil, nil)
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		t.Errorf("HEAD of the tree manifest: %d", hresp.StatusCode)
	}
	// Other digests through the team's own artifact: 404, never the bytes.
	for _, d := range []string{secret.ContentDigest, secret.ManifestDigest, file.ContentDigest, content.FromBytes([]byte("never stored")).String()} {
		resp, b = get(d, ref, nil)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(b), "secret") {
			t.Errorf("blob %s through %s: %d %s, want 404", d, tree.Ref, resp.StatusCode, b)
		}
	}
	// The missing check through the artifact: its own blobs are present,
	// any other digest missing, stored or not, and a chunk of its own that
	// is gone is missing.
	gone := m.Entries[1].Digest
	if _, err := e.backend.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	never := content.FromBytes([]byte("never stored")).String()
	ask := []string{tree.ManifestDigest, m.Entries[0].Manifest.String(), m.Entries[0].Digest.String(), gone.String(),
		secret.ContentDigest, secret.ManifestDigest, never, tree.ManifestDigest}
	var miss api.MissingResponse
	e.doJSON("POST", "/v1/artifact/blobs/missing?ref="+ref, "prefixed-read", api.MissingRequest{Digests: ask}, http.StatusOK, &miss)
	want := []string{secret.ContentDigest, secret.ManifestDigest, never, gone.String()}
	if !slices.Equal(miss.Missing, want) {
		t.Errorf("missing through %s = %v, want %v", tree.Ref, miss.Missing, want)
	}
	e.doJSON("POST", "/v1/artifact/blobs/missing?ref="+ref, "prefixed-read",
		api.MissingRequest{Digests: []string{gone.String()}, Sizes: []int64{1}}, http.StatusBadRequest, nil)
	e.doJSON("POST", "/v1/artifact/blobs/missing?ref="+url.QueryEscape(secret.Ref), "prefixed-read",
		api.MissingRequest{Digests: []string{secret.ContentDigest}}, http.StatusForbidden, nil)
	if e.head() != head {
		t.Errorf("the blob reads appended %d events", e.head()-head)
	}
}
