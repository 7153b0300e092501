package app_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// repairFixture is a service holding one file artifact of several chunks.
type repairFixture struct {
	svc   *app.Service
	be    storage.Backend
	blobs transfer.BlobStore
	data  []byte
	art   api.Artifact
	tr    transfer.PushResult
}

var admin = app.Principal{Actor: "ops"}

func newRepairFixture(t *testing.T) *repairFixture {
	t.Helper()
	svc, be := newServiceBackend(t)
	f := &repairFixture{svc: svc, be: be, blobs: transfer.FromBackend(be)}
	f.data = make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range f.data {
		f.data[i] = byte(r.Uint32())
	}
	f.tr = f.push(t, f.data)
	if len(f.chunks(t)) < 2 {
		t.Fatalf("the fixture has %d chunks, want several", len(f.chunks(t)))
	}
	var err error
	f.art, err = svc.Register(context.Background(), admin, api.RegisterRequest{Name: "team/data.bin",
		ContentDigest: f.tr.ContentDigest.String(), ManifestDigest: f.tr.ManifestDigest.String(), Size: f.tr.Size})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := svc.Log().Head(context.Background())
	if err != nil || spec.Seq != 1 {
		t.Fatalf("log head %+v, %v", spec, err)
	}
	return f
}

func (f *repairFixture) push(t *testing.T, data []byte) transfer.PushResult {
	t.Helper()
	tr, err := transfer.Push(context.Background(), bytes.NewReader(data), f.blobs, transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (f *repairFixture) chunks(t *testing.T) []content.ChunkRef {
	t.Helper()
	m, err := transfer.FetchManifest(context.Background(), f.blobs, f.tr.ManifestDigest, transfer.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	return m.Chunks
}

// damage flips a byte of blob d in the backend, keeping its size.
func (f *repairFixture) damage(t *testing.T, d content.Digest) {
	t.Helper()
	rc, err := f.be.Get(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.be.Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	raw[len(raw)/2] ^= 0xff
	// Written past the backend, which verifies what it stores.
	path := filepath.Join(localRoot(t, f.be), filepath.FromSlash(d.Key()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o444); err != nil {
		t.Fatal(err)
	}
}

func (f *repairFixture) finish(t *testing.T, tr transfer.PushResult, plan api.RepairPlan) (api.RepairResult, error) {
	t.Helper()
	return f.svc.FinishRepair(context.Background(), admin, f.art.Ref, api.RepairRequest{
		ContentDigest: tr.ContentDigest.String(), ManifestDigest: tr.ManifestDigest.String(),
		Source: "file data.bin", Missing: len(plan.Missing) - len(plan.Removed), Damaged: len(plan.Removed)})
}

func (f *repairFixture) events(t *testing.T, typ string) []api.Event {
	t.Helper()
	evs, err := f.svc.Audit(context.Background(), admin, api.AuditQuery{Ref: f.art.Ref, Types: []string{typ}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestRepairDamagedAndMissingBlobs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		break_      func(t *testing.T, f *repairFixture) content.Digest
		wantRemoved bool
	}{
		{name: "damaged chunk", wantRemoved: true, break_: func(t *testing.T, f *repairFixture) content.Digest {
			d := f.chunks(t)[1].Digest
			f.damage(t, d)
			return d
		}},
		{name: "missing chunk", break_: func(t *testing.T, f *repairFixture) content.Digest {
			d := f.chunks(t)[0].Digest
			if _, err := f.be.Delete(ctx, d); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{name: "missing manifest", break_: func(t *testing.T, f *repairFixture) content.Digest {
			if _, err := f.be.Delete(ctx, f.tr.ManifestDigest); err != nil {
				t.Fatal(err)
			}
			return f.tr.ManifestDigest
		}},
		{name: "damaged manifest", wantRemoved: true, break_: func(t *testing.T, f *repairFixture) content.Digest {
			f.damage(t, f.tr.ManifestDigest)
			return f.tr.ManifestDigest
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRepairFixture(t)
			bad := tc.break_(t, f)
			plan, err := f.svc.PlanRepair(ctx, admin, "team/data.bin")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(plan.Missing, []string{bad.String()}) || len(plan.Problems) == 0 || plan.Artifact.ID != f.art.ID {
				t.Fatalf("plan %+v, want %s missing", plan, bad)
			}
			if got := len(plan.Removed) == 1 && plan.Removed[0] == bad.String(); got != tc.wantRemoved {
				t.Fatalf("removed %v, want the damaged blob removed: %v", plan.Removed, tc.wantRemoved)
			}
			if _, err := f.be.Head(ctx, bad); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("after the plan the bad blob is still stored (%v)", err)
			}

			// Finishing before the source is pushed is refused.
			if _, err := f.finish(t, f.tr, plan); !errors.Is(app.Sentinel(err), api.ErrIntegrity) || !strings.Contains(err.Error(), "still damaged") {
				t.Fatalf("finish before the push: %v, want still damaged", err)
			}
			tr := f.push(t, f.data)
			if bad != f.tr.ManifestDigest && tr.UploadedBytes == 0 {
				t.Fatalf("the push of the source uploaded nothing: %+v", tr)
			}
			res, err := f.finish(t, tr, plan)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Repaired || res.Blobs != len(f.chunks(t))+1 || res.Bytes <= int64(len(f.data)) || res.Artifact.Ref != "team/data.bin:1" {
				t.Fatalf("result %+v", res)
			}
			if rep, err := f.svc.PlanRepair(ctx, admin, f.art.ID); err != nil || len(rep.Problems) != 0 {
				t.Fatalf("after the repair: %+v, %v; want no problem", rep, err)
			}
			evs := f.events(t, eventlog.TypeArtifactRepaired)
			if len(evs) != 1 || evs[0].Actor != "ops" || evs[0].Subject != f.art.ID || evs[0].Payload["source"] != "file data.bin" {
				t.Fatalf("repair events %+v", evs)
			}
			if rep, err := f.svc.VerifyLog(ctx, 1); err != nil || !rep.OK {
				t.Fatalf("log verify: %+v, %v", rep, err)
			}
			if _, err := f.svc.Rebuild(ctx); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
		})
	}
}

func TestRepairRefusesAnotherSource(t *testing.T) {
	ctx := context.Background()
	f := newRepairFixture(t)
	if _, err := f.be.Delete(ctx, f.chunks(t)[0].Digest); err != nil {
		t.Fatal(err)
	}
	plan, err := f.svc.PlanRepair(ctx, admin, f.art.Ref)
	if err != nil {
		t.Fatal(err)
	}
	other := append([]byte("another file: "), f.data[:1<<20]...)
	tr := f.push(t, other)
	head, _ := f.svc.Head(ctx)
	_, err = f.finish(t, tr, plan)
	if !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), tr.ContentDigest.String()) || !strings.Contains(err.Error(), f.art.ContentDigest) {
		t.Fatalf("another file: %v, want a conflict naming both content digests", err)
	}
	if h, _ := f.svc.Head(ctx); h != head {
		t.Fatalf("a refused repair appended events (head %d, was %d)", h, head)
	}
	// The same content under another manifest (chunked differently).
	small := content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64 << 10, Avg: 256 << 10, Max: 1 << 20}
	tr, err = transfer.Push(ctx, bytes.NewReader(f.data), f.blobs, transfer.PushOptions{Chunker: small})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.finish(t, tr, plan)
	if !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), tr.ManifestDigest.String()) || !strings.Contains(err.Error(), f.art.ManifestDigest) {
		t.Fatalf("the content under another manifest: %v, want a conflict naming both manifests", err)
	}
	if len(f.events(t, eventlog.TypeArtifactRepaired)) != 0 {
		t.Fatal("a refused repair was recorded")
	}
}

func TestRepairNeedsThePrefix(t *testing.T) {
	f := newRepairFixture(t)
	other := app.Principal{Actor: "ci", Prefix: "other/", Token: "t1"}
	if _, err := f.svc.PlanRepair(context.Background(), other, f.art.Ref); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("plan outside the prefix: %v, want ErrForbidden", err)
	}
	if _, err := f.svc.FinishRepair(context.Background(), other, f.art.Ref, api.RepairRequest{}); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("finish outside the prefix: %v, want ErrForbidden", err)
	}
	team := app.Principal{Actor: "ci", Prefix: "team/", Token: "t2"}
	plan, err := f.svc.PlanRepair(context.Background(), team, f.art.Ref)
	if err != nil || len(plan.Problems) != 0 {
		t.Fatalf("plan inside the prefix: %+v, %v", plan, err)
	}
}

// localRoot is the directory of a local backend.
func localRoot(t *testing.T, be storage.Backend) string {
	t.Helper()
	l, ok := be.(interface{ Root() string })
	if !ok {
		t.Fatalf("backend %T is not a local one", be)
	}
	return l.Root()
}
