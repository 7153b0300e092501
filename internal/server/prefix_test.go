package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/pkg/client"
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
	for _, in := range []client.Input{
		{Ref: "other/secret:1"}, {Ref: "other/absent:1"}, {Ref: secret.ID},
		{Ref: "other/secret@" + secret.ContentDigest}, {ArtifactID: secret.ID},
	} {
		req := client.RegisterRequest{Name: "team/probe", ContentDigest: own.ContentDigest, ManifestDigest: own.ManifestDigest,
			Size: own.Size, Inputs: []client.Input{in}}
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
