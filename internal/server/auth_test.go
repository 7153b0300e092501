package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/api"
)

// routeRequest is a request that would succeed on a route with a good
// token, aimed at the artifact other/a:1 (outside the prefixed token's
// "team/").
type routeRequest struct {
	path string
	body any
	raw  []byte
}

func requestsFor(blob []byte, a api.Artifact, otherBundle []byte) map[string]routeRequest {
	d := content.FromBytes(blob).String()
	ref := url.QueryEscape(a.Ref)
	return map[string]routeRequest{
		"HEAD /v1/blobs/{digest}":            {path: "/v1/blobs/" + d},
		"GET /v1/blobs/{digest}":             {path: "/v1/blobs/" + d},
		"PUT /v1/blobs/{digest}":             {path: "/v1/blobs/" + d, raw: blob},
		"POST /v1/blobs/missing":             {path: "/v1/blobs/missing", body: api.MissingRequest{Digests: []string{d}}},
		"POST /v1/artifacts":                 {path: "/v1/artifacts", body: api.RegisterRequest{Name: "other/new", ContentDigest: a.ContentDigest, ManifestDigest: a.ManifestDigest, Size: a.Size, Blobs: []string{d}}},
		"GET /v1/artifacts":                  {path: "/v1/artifacts?pattern=other/"},
		"GET /v1/complete":                   {path: "/v1/complete?ref=other/"},
		"GET /v1/artifact":                   {path: "/v1/artifact?ref=" + ref},
		"DELETE /v1/artifact":                {path: "/v1/artifact?ref=" + ref},
		"GET /v1/artifact/content":           {path: "/v1/artifact/content?ref=" + ref},
		"HEAD /v1/artifact/blobs/{digest}":   {path: "/v1/artifact/blobs/" + d + "?ref=" + ref},
		"GET /v1/artifact/blobs/{digest}":    {path: "/v1/artifact/blobs/" + d + "?ref=" + ref},
		"POST /v1/artifact/blobs/missing":    {path: "/v1/artifact/blobs/missing?ref=" + ref, body: api.MissingRequest{Digests: []string{d}}},
		"PUT /v1/artifact/tags/{tag}":        {path: "/v1/artifact/tags/prod?ref=" + ref},
		"PATCH /v1/artifact/labels":          {path: "/v1/artifact/labels?ref=" + ref, body: api.LabelsRequest{Set: map[string]string{"k": "v"}}},
		"PUT /v1/artifact/retention":         {path: "/v1/artifact/retention?ref=" + ref, body: api.RetentionBody{ExpireAfter: "1h"}},
		"POST /v1/artifact/holds":            {path: "/v1/artifact/holds?ref=" + ref, body: api.HoldRequest{Reason: "audit"}},
		"DELETE /v1/artifact/holds":          {path: "/v1/artifact/holds?ref=" + ref + "&hold=nope"},
		"GET /v1/artifact/lineage":           {path: "/v1/artifact/lineage?ref=" + ref},
		"GET /v1/artifact/files":             {path: "/v1/artifact/files?ref=" + ref},
		"POST /v1/artifact/repair/plan":      {path: "/v1/artifact/repair/plan?ref=" + ref},
		"POST /v1/artifact/repair/finish":    {path: "/v1/artifact/repair/finish?ref=" + ref, body: api.RepairRequest{ContentDigest: a.ContentDigest, ManifestDigest: a.ManifestDigest, Source: "file x"}},
		"POST /v1/export":                    {path: "/v1/export", body: api.ExportRequest{Refs: []string{a.Ref}}},
		"POST /v1/retrievals":                {path: "/v1/retrievals", raw: []byte(`{"ref":"` + a.Ref + `","bytes":1}`)},
		"POST /v1/artifact/pulls":            {path: "/v1/artifact/pulls?ref=" + ref},
		"POST /v1/artifact/pulls/urls":       {path: "/v1/artifact/pulls/urls?grant=1&ref=" + ref},
		"GET /v1/events":                     {path: "/v1/events"},
		"GET /v1/audit":                      {path: "/v1/audit?ref=" + ref + "&type=artifact.registered"},
		"GET /v1/log/verify":                 {path: "/v1/log/verify"},
		"GET /v1/log/key":                    {path: "/v1/log/key"},
		"GET /v1/log/checkpoint":             {path: "/v1/log/checkpoint"},
		"GET /v1/log/proof/inclusion":        {path: "/v1/log/proof/inclusion?seq=1"},
		"GET /v1/log/proof/consistency":      {path: "/v1/log/proof/consistency?old=1"},
		"POST /v1/import":                    {path: "/v1/import", raw: otherBundle},
		"GET /v1/backends/health":            {path: "/v1/backends/health"},
		"POST /v1/admin/rebuild":             {path: "/v1/admin/rebuild"},
		"POST /v1/admin/gc":                  {path: "/v1/admin/gc", body: api.GCRequest{DryRun: true}},
		"POST /v1/admin/retention/apply":     {path: "/v1/admin/retention/apply", body: api.RetentionApplyRequest{DryRun: true}},
		"GET /v1/retention/rules":            {path: "/v1/retention/rules"},
		"POST /v1/retention/rules":           {path: "/v1/retention/rules", body: api.RetentionRuleRequest{Pattern: "other/*", KeepLast: 1}},
		"DELETE /v1/retention/rules/{id}":    {path: "/v1/retention/rules/NOSUCHRULE"},
		"GET /v1/artifact/retention/explain": {path: "/v1/artifact/retention/explain?ref=" + ref},
		"GET /v1/tokens":                     {path: "/v1/tokens"},
		"POST /v1/tokens":                    {path: "/v1/tokens", body: api.TokenRequest{Scope: "read"}},
		"DELETE /v1/tokens/{id}":             {path: "/v1/tokens/aaaaaaaaaaaaaaaa"},
	}
}

// TestAuthEveryRoute walks the route table: every route but /health,
// /ready and /metrics refuses a request without a token, with a malformed,
// unknown, wrong-secret, expired or revoked token (401), with a token of
// too small a scope (403), and with a name-prefixed token aimed outside
// its prefix (403), except the content-addressed blob writes, which carry
// no name, and the retired POST /v1/retrievals (410 for everyone). A route added without a request here fails the test.
func TestAuthEveryRoute(t *testing.T) {
	e := newEnv(t)
	blob := []byte("the blob the requests name")
	a := e.register("other/a", blob)
	reqs := requestsFor(blob, a, exportedBundle(t, "other/"))
	adminID, err := auth.ParseSecret(e.tok["admin"])
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := "art_" + adminID + "_" + strings.Repeat("A", 43)
	unknown := "art_" + strings.Repeat("a", 16) + "_" + strings.Repeat("B", 43)
	public := map[string]bool{"GET /health": true, "GET /ready": true, "GET /metrics": true}

	send := func(rt route, rr routeRequest, role string) *http.Response {
		var body []byte
		switch {
		case rr.raw != nil:
			body = rr.raw
		case rr.body != nil:
			body, _ = json.Marshal(rr.body)
		}
		return e.request(rt.Method, rr.path, role, bytes.NewReader(body), nil)
	}
	for _, rt := range e.srv.routes {
		key := rt.Method + " " + rt.Pattern
		t.Run(key, func(t *testing.T) {
			if public[key] {
				if !rt.Public {
					t.Fatalf("%s should be public", key)
				}
				resp := e.request(rt.Method, rt.Pattern, "", nil, nil)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("without a token: %d, want 200", resp.StatusCode)
				}
				return
			}
			if rt.Public {
				t.Fatalf("%s is public but not in the list of public routes", key)
			}
			rr, ok := reqs[key]
			if !ok {
				t.Fatalf("no request for route %s: add one to requestsFor", key)
			}
			for _, c := range []struct {
				name, role string
			}{
				{"no token", ""}, {"malformed token", "hunter2"}, {"unknown token", unknown},
				{"wrong secret", wrongSecret}, {"expired token", "expired"}, {"revoked token", "revoked"},
			} {
				resp := send(rt, rr, c.role)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", c.name, resp.StatusCode)
				}
				if code := errorCode(t, resp); code != "unauthorized" {
					t.Errorf("%s: code %q, want unauthorized", c.name, code)
				}
			}
			if rt.Scope > auth.ScopeRead {
				weaker := map[auth.Scope]string{auth.ScopeWrite: "read", auth.ScopeAdmin: "write"}[rt.Scope]
				resp := send(rt, rr, weaker)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("scope %s: status %d, want 403", weaker, resp.StatusCode)
				}
				errorCode(t, resp)
			}
			resp := send(rt, rr, "prefixed")
			switch {
			case key == "POST /v1/retrievals":
				if resp.StatusCode != http.StatusGone {
					t.Errorf("prefixed token: status %d, want 410", resp.StatusCode)
				}
				resp.Body.Close()
			case rt.Names == namesNone:
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("prefixed token on a blob route: status %d, want it allowed", resp.StatusCode)
				}
				resp.Body.Close()
			default:
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("prefixed token outside its prefix: status %d, want 403", resp.StatusCode)
				}
				if code := errorCode(t, resp); code != "forbidden" {
					t.Errorf("prefixed token: code %q, want forbidden", code)
				}
			}
		})
	}
	// Every request of the table names a route that exists.
	routes := map[string]bool{}
	for _, rt := range e.srv.routes {
		routes[rt.Method+" "+rt.Pattern] = true
	}
	for k := range reqs {
		if !routes[k] {
			t.Errorf("request for %s, which is not a route", k)
		}
	}
}

// TestAuthGoodTokens checks that the requests of the table succeed with a
// sufficient token, so the refusals above are about the token and not a
// broken request.
func TestAuthGoodTokens(t *testing.T) {
	e := newEnv(t)
	blob := []byte("the blob the requests name")
	a := e.register("other/a", blob)
	reqs := requestsFor(blob, a, exportedBundle(t, "other/"))
	for _, rt := range e.srv.routes {
		key := rt.Method + " " + rt.Pattern
		rr, ok := reqs[key]
		if key == "GET /v1/artifact/files" {
			continue // lists a directory artifact's entries (a file is a 400): TestFilesRoute
		}
		if !ok || key == "POST /v1/retrievals" || key == "DELETE /v1/artifact" || key == "DELETE /v1/artifact/holds" || key == "DELETE /v1/tokens/{id}" || key == "DELETE /v1/retention/rules/{id}" ||
			key == "POST /v1/artifact/pulls/urls" {
			continue // destructive, aimed at something absent, or for direct transfers (TestDirectRoutes): checked elsewhere
		}
		var body []byte
		switch {
		case rr.raw != nil:
			body = rr.raw
		case rr.body != nil:
			body, _ = json.Marshal(rr.body)
		}
		role := map[auth.Scope]string{auth.ScopeRead: "read", auth.ScopeWrite: "write", auth.ScopeAdmin: "admin"}[rt.Scope]
		resp := e.request(rt.Method, rr.path, role, bytes.NewReader(body), nil)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("%s with a %s token: status %d", key, role, resp.StatusCode)
		}
	}
}

func TestPrefixedTokenInsidePrefix(t *testing.T) {
	e := newEnv(t)
	e.register("other/a", []byte("x"))
	a := e.register("team/b", []byte("y"))
	var got api.Artifact
	e.doJSON("GET", "/v1/artifact?ref="+url.QueryEscape(a.Ref), "prefixed", nil, http.StatusOK, &got)
	if got.ID != a.ID {
		t.Errorf("got %s, want %s", got.ID, a.ID)
	}
	// A list without a pattern is confined to the prefix.
	var page api.Page
	e.doJSON("GET", "/v1/artifacts", "prefixed", nil, http.StatusOK, &page)
	if len(page.Artifacts) != 1 || page.Artifacts[0].Name != "team/b" {
		t.Errorf("prefixed list = %+v, want only team/b", page.Artifacts)
	}
	// A glob that starts inside the prefix is fine; one outside is refused.
	e.doJSON("GET", "/v1/artifacts?pattern=team/*", "prefixed", nil, http.StatusOK, &page)
	resp := e.request("GET", "/v1/artifacts?pattern=*", "prefixed", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("pattern * with a prefixed token: %d, want 403", resp.StatusCode)
	}
	resp.Body.Close()
	// The actor of what a token does is its name.
	e.doJSON("PUT", "/v1/artifact/tags/stable?ref="+url.QueryEscape(a.Ref), "prefixed", nil, http.StatusOK, nil)
	var evs api.EventsResponse
	e.doJSON("GET", "/v1/events?after=0&limit=1000", "admin", nil, http.StatusOK, &evs)
	last := evs.Events[len(evs.Events)-1]
	if last.Type != "tag.moved.v1" || last.Actor != "team-bot" {
		t.Errorf("last event = %s by %s, want tag.moved.v1 by team-bot", last.Type, last.Actor)
	}
}
