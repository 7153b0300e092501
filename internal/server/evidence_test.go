package server

import (
	"fmt"
	"testing"

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
