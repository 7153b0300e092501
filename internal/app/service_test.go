package app_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// newService opens a Service over a fresh SQLite log and local backend.
func newService(t *testing.T) (*app.Service, transfer.BlobStore) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Open(ctx, app.Config{Log: filepath.Join(dir, "log.db"), Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, transfer.FromBackend(be)
}

// push stores data and registers it under name for p.
func push(t *testing.T, svc *app.Service, blobs transfer.BlobStore, p app.Principal, name string, data []byte, inputs ...api.Input) (api.Artifact, error) {
	t.Helper()
	ctx := context.Background()
	tr, err := transfer.Push(ctx, bytes.NewReader(data), blobs, transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := content.FromBytes(data); tr.ContentDigest != want {
		t.Fatalf("content digest %s, want %s", tr.ContentDigest, want)
	}
	return svc.Register(ctx, p, api.RegisterRequest{
		Name: name, ContentDigest: tr.ContentDigest.String(), ManifestDigest: tr.ManifestDigest.String(),
		Size: tr.Size, Inputs: inputs,
	})
}

func TestPrincipalPrefix(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	admin := app.Principal{Actor: "admin"}
	team := app.Principal{Actor: "ci", Prefix: "team/", Token: "tok1"}

	secret, err := push(t, svc, blobs, admin, "other/secret", []byte("secret bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := push(t, svc, blobs, team, "other/x", []byte("x")); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("register outside the prefix: %v, want ErrForbidden", err)
	}
	// A prefix principal may not name an input outside its prefix...
	if _, err := push(t, svc, blobs, team, "team/x", []byte("x"), api.Input{Ref: "other/secret:1"}); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("register with an input outside the prefix: %v, want ErrForbidden", err)
	}
	// ... and one an unlimited principal recorded is withheld from it.
	reg, err := push(t, svc, blobs, admin, "team/report", []byte("report"), api.Input{Ref: "other/secret:1"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.Get(ctx, team, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in := a.Provenance.Inputs[0]; in.Ref != "" || in.Digest != "" || in.ArtifactID != secret.ID {
		t.Fatalf("input outside the prefix shown as %+v", in)
	}
	full, err := svc.Get(ctx, admin, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in := full.Provenance.Inputs[0]; in.Ref != "other/secret:1" || in.Digest == "" {
		t.Fatalf("input shown to an unlimited principal as %+v", in)
	}

	for _, ref := range []string{"other/secret:1", secret.ID} {
		_, err := svc.Get(ctx, team, ref)
		if !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), `token tok1 is limited to names under "team/"`) {
			t.Errorf("Get(%s) outside the prefix: %v", ref, err)
		}
		if app.Classify(err) != api.CodeForbidden {
			t.Errorf("Get(%s): class %q", ref, app.Classify(err))
		}
	}
	page, err := svc.List(ctx, team, api.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Artifacts) != 1 || page.Artifacts[0].Name != "team/report" {
		t.Fatalf("list for the prefix: %+v", page.Artifacts)
	}
	if _, err := svc.List(ctx, team, api.Query{Pattern: "other/*"}); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("list of a pattern outside the prefix: %v", err)
	}
	g, err := svc.Lineage(ctx, team, "team/report:1", api.LineageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 1 {
		t.Fatalf("lineage shows %d nodes to the prefix token, want only its own", len(g.Nodes))
	}
}

func TestChangedWakesOnAppend(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "me"}
	ch := svc.Changed()
	select {
	case <-ch:
		t.Fatal("Changed is closed before any append")
	default:
	}
	if _, err := push(t, svc, blobs, p, "a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed not closed by a register")
	}
	ch = svc.Changed()
	if _, err := svc.Tag(ctx, p, "a:1", "prod"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by a tag")
	}
}

func TestPlanPull(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "me"}
	if _, err := push(t, svc, blobs, p, "f", []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	plan, err := svc.PlanPull(ctx, p, "f:1", api.KindFile, "2-4")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Bytes() != 3 || plan.RangeString() != "2-4" {
		t.Fatalf("plan reads %d bytes of range %q", plan.Bytes(), plan.RangeString())
	}
	for _, tc := range []struct {
		kind, rng string
		code      api.Code
	}{
		{api.KindTree, "", api.CodeInvalid},
		{"bogus", "", api.CodeInvalid},
		{api.KindFile, "5-99", api.CodeRangeNotSatisfiable},
	} {
		_, err := svc.PlanPull(ctx, p, "f:1", tc.kind, tc.rng)
		if got := app.Classify(err); got != tc.code {
			t.Errorf("PlanPull(kind %q, range %q): %v (class %q), want class %q", tc.kind, tc.rng, err, got, tc.code)
		}
	}
	if _, err := svc.Delete(ctx, p, "f:1", "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PlanPull(ctx, p, "f:1", "", ""); !errors.Is(app.Sentinel(err), api.ErrNotFound) {
		t.Fatalf("pull of a deleted artifact: %v", app.Sentinel(err))
	}
}
