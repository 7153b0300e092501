package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// The wire types of a repair.
type (
	RepairPlan   = api.RepairPlan
	RepairResult = api.RepairResult
)

// RepairRequest says which artifact to repair and where its content is.
// Exactly one of Path and FromBackend is set.
type RepairRequest struct {
	Ref string
	// Path is a file, or a directory for a directory artifact, holding the
	// artifact's content.
	Path string
	// FromBackend is another backend holding the artifact's blobs (its
	// settings as configured); the blobs the store lacks are copied from
	// it, each verified.
	FromBackend *BackendConfig
	// Progress, if set, is called with the bytes read from Path so far and
	// the bytes uploaded so far.
	Progress func(read, uploaded int64)
}

// repairTarget is the transport-specific half of a repair.
type repairTarget struct {
	blobs  transfer.BlobStore
	opts   transfer.PushOptions
	retry  transfer.RetryPolicy
	get    func(ctx context.Context, ref string) (*Artifact, error)
	plan   func(ctx context.Context, ref string) (RepairPlan, error)
	finish func(ctx context.Context, ref string, req api.RepairRequest) (RepairResult, error)
	// ownBackend is the ID of the backend the store keeps its blobs in
	// ("" when the client cannot know it).
	ownBackend string
}

// repairRounds bounds how often a repair checks and pushes: a missing
// manifest hides the blobs it lists from the check until the source
// restored it, so a tree whose tree manifest is missing and a file of
// which is damaged takes three rounds (tree manifest, file manifests,
// chunks).
const repairRounds = 3

// runRepair runs a repair through t: the plan (deep check, damaged blobs
// deleted), the source pushed (or its blobs copied) through the pipeline,
// which uploads only what the store lacks, again while a new plan finds
// blobs the earlier one could not see, and the finish (checked and
// recorded). An artifact found intact is left as it is: nothing is read
// from the source and nothing recorded.
func runRepair(ctx context.Context, req RepairRequest, t repairTarget) (*RepairResult, error) {
	if (req.Path == "") == (req.FromBackend == nil) {
		return nil, fmt.Errorf("repair: %w: give exactly one source: a path (--from) or a backend (--from-backend)", ErrInvalid)
	}
	var src repairSource
	var err error
	if req.Path != "" {
		src, err = pathSource(req.Path)
	} else {
		src, err = backendSource(ctx, *req.FromBackend, t.ownBackend)
	}
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", req.Ref, err)
	}
	// A source that cannot be the content is refused before anything
	// changes, by what it is and its size, without reading it.
	live, err := t.get(ctx, req.Ref)
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", req.Ref, err)
	}
	if err := src.fits(*live); err != nil {
		return nil, fmt.Errorf("repair %s: %w", live.Ref, err)
	}
	plan, err := t.plan(ctx, live.ID)
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", live.Ref, err)
	}
	a := plan.Artifact
	if len(plan.Missing) == 0 {
		return &RepairResult{Artifact: a, Source: src.name}, nil
	}
	opts := t.opts
	if req.Progress != nil {
		opts.Progress = func(p transfer.Progress) { req.Progress(p.Read, p.Written) }
	}
	missing, damaged := map[string]bool{}, map[string]bool{}
	var cd, md content.Digest
	var uploaded int64
	for round := 1; ; round++ {
		for _, d := range plan.Removed {
			damaged[d] = true
		}
		for _, d := range plan.Missing {
			missing[d] = true
		}
		var n int64
		cd, md, n, err = src.push(ctx, a, t.blobs, opts, t.retry)
		uploaded += n
		if err != nil {
			return nil, fmt.Errorf("repair %s: %s: %w", a.Ref, src.name, err)
		}
		if round == repairRounds {
			break
		}
		prev := plan
		if plan, err = t.plan(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("repair %s: %w", a.Ref, err)
		}
		if !progressed(prev, plan) {
			break // the finish says why (another source, a copy lacking blobs)
		}
	}
	fin, err := t.finish(ctx, a.ID, api.RepairRequest{ContentDigest: cd.String(), ManifestDigest: md.String(),
		Source: src.name, Missing: len(missing) - len(damaged), Damaged: len(damaged)})
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", a.Ref, err)
	}
	fin.UploadedBytes = uploaded
	return &fin, nil
}

// progressed reports whether the check after a push found blobs to supply
// that the check before it had not: blobs a restored manifest lists. When
// it found none, or only those the push should have supplied, another
// round cannot help.
func progressed(before, after RepairPlan) bool {
	if len(after.Missing) == 0 {
		return false
	}
	seen := map[string]bool{}
	for _, d := range before.Missing {
		seen[d] = true
	}
	for _, d := range after.Missing {
		if !seen[d] {
			return true
		}
	}
	return false
}

func kindWord(kind string) string {
	if kind == KindTree {
		return "directory"
	}
	return "file"
}

// repairSource is where a repair reads the artifact's content from.
type repairSource struct {
	// name describes it for messages and the record ("file q3.pdf").
	name string
	// kind is KindFile or KindTree for a path, "" for a backend.
	kind string
	// size is a path's size (a directory's: the sum of its regular
	// files), -1 when unknown.
	size int64
	push func(ctx context.Context, a Artifact, blobs transfer.BlobStore, opts transfer.PushOptions, retry transfer.RetryPolicy) (cd, md content.Digest, uploaded int64, err error)
}

// fits refuses a path that cannot hold a's content: a file for a directory
// artifact or the other way round, or content of another size (ErrInvalid
// and ErrConflict, as a finish would refuse it after reading it all).
func (src repairSource) fits(a Artifact) error {
	switch {
	case src.kind == "":
	case src.kind != a.Kind:
		return fmt.Errorf("%w: %s is a %s artifact and %s is a %s", ErrInvalid, a.Ref, a.Kind, src.name, kindWord(src.kind))
	case src.size >= 0 && src.size != a.Size:
		return fmt.Errorf("%w: %s is not the content of %s: it holds %d bytes, %s has %d (content digest %s); nothing was changed",
			ErrConflict, src.name, a.Ref, src.size, a.Ref, a.Size, a.ContentDigest)
	}
	return nil
}

// treeSize sums the sizes of the regular files under dir, what a tree
// artifact's size counts; -1 when the walk fails (the push reports why).
func treeSize(dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return total
}

// pathSource reads a file or a directory through the push pipeline.
func pathSource(path string) (repairSource, error) {
	st, err := os.Stat(path)
	if err != nil {
		return repairSource{}, err
	}
	src := repairSource{name: "file " + path, kind: KindFile, size: st.Size()}
	if st.IsDir() {
		src.name, src.kind, src.size = "directory "+path, KindTree, treeSize(path)
	}
	src.push = func(ctx context.Context, _ Artifact, blobs transfer.BlobStore, opts transfer.PushOptions, _ transfer.RetryPolicy) (content.Digest, content.Digest, int64, error) {
		var tr transfer.PushResult
		var err error
		if src.kind == KindTree {
			tr, err = transfer.PushTree(ctx, path, blobs, opts)
		} else {
			var f *os.File
			if f, err = os.Open(path); err != nil {
				return content.Digest{}, content.Digest{}, 0, err
			}
			defer f.Close()
			tr, err = transfer.Push(ctx, f, blobs, opts)
		}
		return tr.ContentDigest, tr.ManifestDigest, tr.UploadedBytes, err
	}
	return src, nil
}

// backendSource copies the artifact's blobs from another backend.
func backendSource(ctx context.Context, spec BackendConfig, own string) (repairSource, error) {
	if own != "" && spec.ID == own {
		return repairSource{}, fmt.Errorf("%w: backend %s is the store's own backend; name another backend that holds a copy", ErrInvalid, spec.ID)
	}
	be, err := backends.Open(ctx, spec)
	if err != nil {
		return repairSource{}, fmt.Errorf("backend %s: %w", spec.ID, err)
	}
	from := transfer.FromBackend(be)
	name := "backend " + spec.ID
	return repairSource{name: name,
		push: func(ctx context.Context, a Artifact, blobs transfer.BlobStore, _ transfer.PushOptions, retry transfer.RetryPolicy) (content.Digest, content.Digest, int64, error) {
			md, err := content.ParseDigest(a.ManifestDigest)
			if err != nil {
				return content.Digest{}, content.Digest{}, 0, err
			}
			cd, err := content.ParseDigest(a.ContentDigest)
			if err != nil {
				return content.Digest{}, content.Digest{}, 0, err
			}
			res, err := transfer.CopyMissing(ctx, md, from, blobs, transfer.PullOptions{Retry: retry})
			if errors.Is(err, storage.ErrNotFound) {
				err = fmt.Errorf("%w (%s does not hold every blob of %s either)", err, name, a.Ref)
			}
			return cd, md, res.Bytes, err
		}}, nil
}

// Repair re-supplies the missing or damaged blobs of an existing artifact
// from req's source without registering a new version (see runRepair),
// and records artifact.repaired.v1.
func (l *Local) Repair(ctx context.Context, req RepairRequest) (*RepairResult, error) {
	res, err := runRepair(ctx, req, repairTarget{
		blobs: l.blobs, opts: transfer.PushOptions{Concurrency: l.concurrency, Retry: l.retry}, retry: l.retry,
		ownBackend: l.backend.ID(),
		get:        l.Get,
		plan:       func(ctx context.Context, ref string) (RepairPlan, error) { return l.svc.PlanRepair(ctx, l.self, ref) },
		finish: func(ctx context.Context, ref string, rr api.RepairRequest) (RepairResult, error) {
			return l.svc.FinishRepair(ctx, l.self, ref, rr)
		},
	})
	return res, mapErr(err)
}

// Repair is Local.Repair through the daemon: it plans and finishes with
// POST /v1/artifact/repair/plan and /finish, and pushes the source over
// the blob routes.
func (r *Remote) Repair(ctx context.Context, req RepairRequest) (*RepairResult, error) {
	res, err := runRepair(ctx, req, repairTarget{
		blobs: r.blobs, opts: transfer.PushOptions{Concurrency: r.concurrency, Retry: r.transferRetry()}, retry: r.transferRetry(),
		get: r.live,
		plan: func(ctx context.Context, ref string) (RepairPlan, error) {
			var p RepairPlan
			// Planning again is harmless (it deletes only bytes that are
			// wrong), so it is retried like a read.
			err := r.do(ctx, request{method: "POST", path: "/v1/artifact/repair/plan", query: url.Values{"ref": {ref}}, idempotent: true, out: &p})
			return p, err
		},
		finish: func(ctx context.Context, ref string, rr api.RepairRequest) (RepairResult, error) {
			var res RepairResult
			err := r.do(ctx, request{method: "POST", path: "/v1/artifact/repair/finish", query: url.Values{"ref": {ref}}, body: rr, out: &res})
			return res, err
		},
	})
	return res, mapErr(err)
}
