package server

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/content"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/pkg/api"
)

// TestEvidenceRoutes: the daemon publishes its key, a signed checkpoint,
// and inclusion and consistency proofs that verify against it; bad
// parameters are 400s.
func TestEvidenceRoutes(t *testing.T) {
	e := newEnv(t)
	for i := range 4 {
		e.register(fmt.Sprintf("a/x%d", i), []byte{byte(i)})
	}
	var key api.LogKey
	e.doJSON("GET", "/v1/log/key", "read", nil, 200, &key)
	var cp api.Checkpoint
	e.doJSON("GET", "/v1/log/checkpoint", "read", nil, 200, &cp)
	head, err := tlog.OpenCheckpoint([]byte(cp.Signed), key.VerifierKey)
	if err != nil || head.Size != cp.Size || cp.Size < 4 {
		t.Fatalf("checkpoint %+v does not open with key %+v: %v", cp, key, err)
	}
	var ip api.InclusionProof
	e.doJSON("GET", "/v1/log/proof/inclusion?seq=2", "read", nil, 200, &ip)
	p, err := app.ParseWireProof(ip.Proof)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.VerifyInclusion(ip.EventHash, 1, head.Head, p); err != nil {
		t.Errorf("inclusion proof %+v: %v", ip, err)
	}
	var pf api.ConsistencyProof
	e.doJSON("GET", "/v1/log/proof/consistency?old=1&new="+fmt.Sprint(cp.Size), "read", nil, 200, &pf)
	if pf.Old != 1 || pf.New != cp.Size {
		t.Errorf("consistency proof %+v", pf)
	}
	for _, path := range []string{"/v1/log/proof/inclusion", "/v1/log/proof/inclusion?seq=x", "/v1/log/proof/inclusion?seq=99",
		"/v1/log/proof/consistency", "/v1/log/proof/consistency?old=-1", "/v1/log/proof/consistency?old=3&new=2"} {
		e.doJSON("GET", path, "read", nil, 400, nil)
	}
}

// TestExportRoute: POST /v1/export streams the bundle as a tar and
// records the retrieval; refusals before the first byte are JSON errors
// (a prefixed token whose closure leaves its prefix learns the input's ID
// only); a failure after it cuts the connection, so the client reads a
// truncated body.
func TestExportRoute(t *testing.T) {
	e := newEnv(t)
	secret := e.register("other/secret", []byte("the other team's secret"))
	own := e.register("team/own", []byte("own"))
	req := api.RegisterRequest{Name: "team/out", ContentDigest: own.ContentDigest, ManifestDigest: own.ManifestDigest, Size: own.Size,
		Inputs: []api.Input{{Ref: secret.ID}}}
	var out api.Artifact
	e.doJSON("POST", "/v1/artifacts", "admin", req, http.StatusCreated, &out)

	body, _ := json.Marshal(api.ExportRequest{Refs: []string{out.Ref}, Closure: -1})
	resp := e.request("POST", "/v1/export", "read", bytes.NewReader(body), nil)
	got := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("export: %d %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), got)
	}
	members := map[string]string{}
	tr := tar.NewReader(strings.NewReader(got))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the bundle is not a whole tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		members[strings.TrimPrefix(h.Name, bundle.Dir)] = string(b)
	}
	if members["artifacts/"+secret.ID+"/content"] != "the other team's secret" || members["artifacts/"+out.ID+"/content"] != "own" {
		t.Errorf("the bundle lacks the artifacts' bytes: %d members", len(members))
	}
	var a api.Artifact
	e.doJSON("GET", "/v1/artifact?ref="+out.ID, "read", nil, http.StatusOK, &a)
	if a.Retrievals.Count != 1 {
		t.Errorf("retrievals after an export: %+v, want one", a.Retrievals)
	}

	// The prefixed token: refused before the first byte, naming the input
	// by ID only.
	resp = e.request("POST", "/v1/export", "prefixed", bytes.NewReader(body), nil)
	got = readBody(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(got, secret.ID) || strings.Contains(got, secret.Name) {
		t.Errorf("prefixed export of a closure outside the prefix: %d %s", resp.StatusCode, got)
	}
	e.doJSON("POST", "/v1/export", "read", api.ExportRequest{Refs: []string{"team/nope:1"}}, http.StatusNotFound, nil)
	e.doJSON("POST", "/v1/export", "read", api.ExportRequest{}, http.StatusBadRequest, nil)

	// A blob gone after the status line: the body is cut short.
	if _, err := e.backend.Delete(context.Background(), mustParse(t, own.ContentDigest)); err != nil {
		t.Fatal(err)
	}
	resp = e.request("POST", "/v1/export", "read", bytes.NewReader(body), nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export with a blob missing: status %d before the first byte, want 200 then a cut", resp.StatusCode)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("an export that failed after the status line ended cleanly")
	}
}

func mustParse(t *testing.T, s string) content.Digest {
	t.Helper()
	d, err := content.ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
