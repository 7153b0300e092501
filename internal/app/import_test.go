package app_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/bundle/bundletest"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/pkg/api"
)

func fixtureBundle(t *testing.T, f *bundletest.Fixture) []byte {
	t.Helper()
	var b bytes.Buffer
	req := bundle.Request{IDs: []string{f.Release}, Closure: bundle.ClosureAll, Checkpoint: f.S.Checkpoint(), Key: f.S.Key.VerifierKey()}
	if _, err := bundle.Export(context.Background(), f.S, req, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	f := bundletest.NewFixture(t)
	b := fixtureBundle(t, f)
	svc, _ := newService(t)
	alice := app.Principal{Actor: "alice"}
	key := f.S.Key.VerifierKey()

	res, err := svc.Import(ctx, alice, bytes.NewReader(b), key)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	local := map[string]string{}
	for _, a := range res.Artifacts {
		status[a.Ref], local[a.Ref] = a.Status, a.ID
	}
	want := map[string]string{"team/release:1": "imported", "team/build:1": "imported", "team/src:1": "imported", "team/old:1": "deleted"}
	for ref, st := range want {
		if status[ref] != st {
			t.Errorf("%s: status %q, want %q", ref, status[ref], st)
		}
	}
	if !res.KeyGiven || res.Key != key || res.CheckpointSize != 9 || res.Artifacts[0].Ref != "team/release:1" {
		t.Errorf("result: %+v", res)
	}

	// The same digests, labels as the bundle's events left them, inputs
	// imported with it linked to their local IDs, and where it came from.
	rel, err := svc.Get(ctx, alice, "team/release:1")
	if err != nil {
		t.Fatal(err)
	}
	if rel.ContentDigest != res.Artifacts[0].Digest || rel.Labels["audit"] != "2026" || len(rel.Tags) != 0 {
		t.Errorf("release: %+v", rel)
	}
	ins := rel.Provenance.Inputs
	if len(ins) != 3 || ins[0].ArtifactID != local["team/build:1"] || ins[0].Ref != "team/build:1" || ins[1].ArtifactID != "" || ins[1].Digest == "" || ins[0].Role != "build" {
		t.Errorf("inputs: %+v", ins)
	}
	o := rel.Imported
	if o == nil || !o.Verified || o.Origin != "artstore/test" || o.ForeignID != f.Release || o.ForeignSeq != 5 ||
		o.RegisteredBy != "alice" || o.CheckpointSize != 9 || o.Events != 4 || !o.KeyGiven {
		t.Fatalf("imported origin: %+v", o)
	}
	// The imported bytes are pullable and verify.
	if _, err := svc.PlanPull(ctx, alice, "team/build:1", "", ""); err != nil {
		t.Fatal(err)
	}
	rep, err := svc.VerifyLog(ctx, 1)
	if err != nil || !rep.OK {
		t.Fatalf("log verify after import: %+v %v", rep, err)
	}

	// Importing again changes nothing.
	again, err := svc.Import(ctx, alice, bytes.NewReader(b), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range again.Artifacts {
		if a.Status != "present" && a.Status != "deleted" || (a.Status == "present" && a.ID != local[a.Ref]) {
			t.Errorf("second import: %+v", a)
		}
	}
	if again.KeyGiven {
		t.Error("second import had no key")
	}
}

func TestImportRefuses(t *testing.T) {
	ctx := context.Background()
	f := bundletest.NewFixture(t)
	b := fixtureBundle(t, f)
	alice := app.Principal{Actor: "alice"}

	t.Run("damaged bundle", func(t *testing.T) {
		svc, _ := newService(t)
		bad := bytes.Clone(b)
		i := bytes.LastIndex(bad, []byte("artstore-bundle/artifacts/")) + 1024
		bad[i] ^= 1
		_, err := svc.Import(ctx, alice, bytes.NewReader(bad), "")
		if !errors.Is(err, bundle.ErrInvalid) || app.Classify(err) != api.CodeDigestMismatch {
			t.Fatalf("err %v (class %s)", err, app.Classify(err))
		}
		if head, _ := svc.Head(ctx); head != 0 {
			t.Fatalf("a damaged bundle appended %d events", head)
		}
	})
	t.Run("other key", func(t *testing.T) {
		svc, _ := newService(t)
		other := bundletest.NewStore(t).Key.VerifierKey()
		if _, err := svc.Import(ctx, alice, bytes.NewReader(b), other); !errors.Is(err, bundle.ErrInvalid) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("same version, other content", func(t *testing.T) {
		svc, blobs := newService(t)
		if _, err := push(t, svc, blobs, alice, "team/src", []byte("mine")); err != nil {
			t.Fatal(err)
		}
		head, _ := svc.Head(ctx)
		_, err := svc.Import(ctx, alice, bytes.NewReader(b), "")
		if app.Classify(err) != api.CodeConflict {
			t.Fatalf("err %v (class %s)", err, app.Classify(err))
		}
		if h, _ := svc.Head(ctx); h != head {
			t.Fatalf("a refused import appended %d events", h-head)
		}
	})
	t.Run("outside the prefix", func(t *testing.T) {
		svc, _ := newService(t)
		_, err := svc.Import(ctx, app.Principal{Actor: "ci", Prefix: "other/", Token: "T1"}, bytes.NewReader(b), "")
		if app.Classify(err) != api.CodeForbidden {
			t.Fatalf("err %v (class %s)", err, app.Classify(err))
		}
		if h, _ := svc.Head(ctx); h != 0 {
			t.Fatalf("a refused import appended %d events", h)
		}
	})
}

// TestImportBoundsEvidence: an artifact whose events in the bundle exceed
// what one import record keeps is refused before anything is registered.
func TestImportBoundsEvidence(t *testing.T) {
	ctx := context.Background()
	f := bundletest.NewFixture(t)
	for range 20000 { // about 1 KiB each with its proof
		f.S.Append("dave", f.Release, &eventlog.ArtifactRetrieved{ArtifactID: f.Release, Bytes: 9000, Client: "cli"})
	}
	svc, _ := newService(t)
	_, err := svc.Import(ctx, app.Principal{Actor: "alice"}, bytes.NewReader(fixtureBundle(t, f)), "")
	if app.Classify(err) != api.CodeInvalid || !strings.Contains(err.Error(), "more than the 16777216 one import record keeps") {
		t.Fatalf("err %v", err)
	}
	if h, _ := svc.Head(ctx); h != 0 {
		t.Fatalf("a refused import appended %d events", h)
	}
}
