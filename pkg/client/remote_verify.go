package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/fsck"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
)

// Verify checks artifacts through the daemon's blob API (a deep verify of one
// artifact reads straight from the backend when the daemon has direct
// transfers: see verifyStore): for the artifact
// opts.Ref names, or with opts.All every live artifact, the manifest is
// fetched and verified and every blob it names must be stored; with
// opts.Deep every chunk is downloaded and re-hashed, and each file's whole
// content too. With opts.All the daemon also verifies the log's hash chain.
//
// Unlike local mode it cannot list orphaned blobs or compare the views
// with a replay: those need direct access to the backend and the log (run
// `artstore verify --all` on the daemon's host for them).
func (r *Remote) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	rep, err := r.verify(ctx, opts)
	return rep, mapErr(err)
}

func (r *Remote) verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	if (opts.Ref == "") == !opts.All {
		return nil, fmt.Errorf("verify: %w: give an artifact reference or ask for all artifacts, not both or neither", ErrInvalid)
	}
	rep := &VerifyReport{OK: true, Problems: []Problem{}}
	seen := map[content.Digest]bool{}
	check := func(a Artifact, store transfer.BlobStore) error {
		rep.Artifacts++
		return r.verifyArtifact(ctx, a, store, r.blobs, opts.Deep, rep, seen)
	}
	if !opts.All {
		a, err := r.live(ctx, opts.Ref)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		var store transfer.BlobStore = r.blobs
		if opts.Deep {
			if store, err = r.verifyStore(ctx, a); err != nil {
				return nil, fmt.Errorf("verify %s: %w", a.Ref, err)
			}
		}
		err = check(*a, store)
		if errors.Is(err, ErrForbidden) && store == transfer.BlobStore(r.blobs) {
			// A token limited to a name prefix may not read blobs by
			// digest: it reads this artifact's through the route scoped
			// to it, its presence checks included.
			rep, seen = &VerifyReport{OK: true, Problems: []Problem{}, Artifacts: 1}, map[content.Digest]bool{}
			scoped := scopedBlobs{r: r, id: a.ID}
			err = r.verifyArtifact(ctx, *a, scoped, scoped, opts.Deep, rep, seen)
		}
		if err != nil {
			return nil, err
		}
		return rep, nil
	}
	q := Query{Limit: 500}
	for {
		p, err := r.List(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		for _, a := range p.Artifacts {
			if err := check(a, r.blobs); err != nil {
				return nil, err
			}
		}
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	lr, err := r.VerifyLog(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if !lr.OK {
		rep.OK = false
		rep.Problems = append(rep.Problems, Problem{Kind: ProblemChain, Message: fmt.Sprintf("event %d: %s", lr.FirstBad, lr.Problem),
			Hint: "the event log was altered; restore it from a backup (artstore log verify shows the first bad event)"})
	}
	return rep, nil
}

// verifyStore is where a deep verify of artifact a reads its blobs: with
// direct transfers on, straight from the storage backend on a pull grant
// (which is the retrieval record of those bytes; asked with direct=only,
// so a daemon without direct transfers grants and records nothing), else
// through the daemon's blob routes. Only a verify of one artifact asks:
// one of every artifact would append a record per artifact.
func (r *Remote) verifyStore(ctx context.Context, a *Artifact) (transfer.BlobStore, error) {
	q := refQuery(a.ID)
	q.Set("direct", "only")
	var g PullGrant
	if err := r.do(ctx, request{method: "POST", path: "/v1/artifact/pulls", query: q, out: &g}); err != nil {
		return nil, err
	}
	if g.Direct == nil {
		return r.blobs, nil
	}
	if g.Artifact.ID != a.ID || g.Artifact.ManifestDigest != a.ManifestDigest {
		return nil, fmt.Errorf("%w: daemon granted artifact %s (manifest %s) for %s (manifest %s)", ErrUnavailable, g.Artifact.ID, g.Artifact.ManifestDigest, a.ID, a.ManifestDigest)
	}
	md, err := content.ParseDigest(a.ManifestDigest)
	if err != nil {
		return nil, fmt.Errorf("%w: daemon sent a malformed manifest digest", ErrUnavailable)
	}
	return &directPull{r: r, id: a.ID, grant: g.Direct.Grant, manifest: md, manReq: g.Direct.Manifest}, nil
}

// verifyArtifact checks one artifact, reading its manifests and (deep)
// chunks from store and asking present whether its chunks are stored,
// adding what it finds to rep. It returns an error only when the check
// cannot proceed.
func (r *Remote) verifyArtifact(ctx context.Context, a Artifact, store, present transfer.BlobStore, deep bool, rep *VerifyReport, seen map[content.Digest]bool) error {
	problem := func(kind, msg, hint string) {
		rep.OK = false
		rep.Problems = append(rep.Problems, Problem{Ref: a.Ref, Kind: kind, Message: msg, Hint: hint})
	}
	md, err := content.ParseDigest(a.ManifestDigest)
	if err != nil {
		return fmt.Errorf("verify %s: %w: daemon sent a malformed manifest digest", a.Ref, ErrUnavailable)
	}
	retry := r.transferRetry()
	m, err := transfer.FetchManifest(ctx, store, md, retry)
	if err != nil {
		if errors.Is(err, ErrForbidden) {
			return fmt.Errorf("verify %s: %w: verify --all reads blobs by digest, which the daemon refuses to a token limited to a name prefix; "+
				"verify one artifact at a time (artstore verify %s), or with a token without a prefix", a.Ref, ErrForbidden, a.Ref)
		}
		if k, ok := verifyKind(err); ok {
			problem(k, fmt.Sprintf("manifest %s: %v", md.Short(), err), fmt.Sprintf("restore it from a copy of the content, without a new version: artstore repair %s --from PATH (or --from-backend ID); or delete the artifact", a.Ref))
			return nil
		}
		return fmt.Errorf("verify %s: %w", a.Ref, err)
	}
	if m.Digest.String() != a.ContentDigest || m.Size != a.Size || string(m.Kind) != a.Kind {
		problem(ProblemInvalidManifest, fmt.Sprintf("manifest %s describes %s content %s of %d bytes, registered as %s of %d bytes", md.Short(), m.Kind, m.Digest, m.Size, a.ContentDigest, a.Size),
			"the registration does not match its manifest; push the content again and delete this artifact")
		return nil
	}
	read := func(ctx context.Context, d content.Digest) (content.Manifest, error) {
		return transfer.FetchManifest(ctx, store, d, retry)
	}
	return fsck.EachFile(ctx, md, m, read, func(f fsck.File) error {
		if f.Err != nil {
			if k, ok := verifyKind(f.Err); ok {
				problem(k, fmt.Sprintf("file manifest %s: %v", f.Digest.Short(), f.Err), "push the directory again and delete this artifact")
				return nil
			}
			return fmt.Errorf("verify %s: %w", a.Ref, f.Err)
		}
		if msg := f.Mismatch(); msg != "" {
			problem(ProblemInvalidManifest, msg, "the tree manifest and a file manifest disagree; push the directory again and delete this artifact")
			return nil
		}
		return r.verifyFile(ctx, a.Ref, store, present, f, deep, rep, seen, problem)
	})
}

// verifyFile checks that every chunk of file f of artifact ref is stored
// (with deep: downloads them from store and re-hashes them), adding what
// it finds to rep through problem.
func (r *Remote) verifyFile(ctx context.Context, ref string, store, present transfer.BlobStore, f fsck.File, deep bool, rep *VerifyReport, seen map[content.Digest]bool,
	problem func(kind, msg, hint string)) error {
	var ds []content.Digest
	for _, c := range f.Manifest.Chunks {
		if !seen[c.Digest] {
			seen[c.Digest] = true
			ds = append(ds, c.Digest)
			rep.Blobs++
			rep.Bytes += c.Size
		}
	}
	for len(ds) > 0 {
		n := min(len(ds), 500)
		missing, err := present.Missing(ctx, ds[:n])
		if err != nil {
			return fmt.Errorf("verify %s: %w", ref, err)
		}
		for _, d := range missing {
			problem(ProblemMissing, fmt.Sprintf("chunk %s is missing", d.Short()),
				fmt.Sprintf("restore it from a copy of the content, without a new version: artstore repair %s --from PATH (or --from-backend ID); if the content is lost, delete the artifact (artstore rm %s)", ref, ref))
		}
		ds = ds[n:]
	}
	if !deep {
		return nil
	}
	err := fsck.ReadAll(ctx, store, f, transfer.PullOptions{Concurrency: r.concurrency, Retry: r.transferRetry()})
	if err != nil {
		if k, ok := verifyKind(err); ok {
			problem(k, err.Error(), fmt.Sprintf("artstore repair %s --from PATH (or --from-backend ID) deletes the damaged blob and restores it from a copy of the content, without a new version", ref))
			return nil
		}
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	return nil
}

// verifyKind classifies a failure found while verifying as a problem kind,
// or reports false for failures of the check itself.
func verifyKind(err error) (string, bool) {
	switch {
	case errors.Is(err, content.ErrMismatch):
		return ProblemDigestMismatch, true
	case errors.Is(err, content.ErrInvalidManifest):
		return ProblemInvalidManifest, true
	case errors.Is(err, ErrNotFound), errors.Is(err, storage.ErrNotFound):
		return ProblemMissing, true
	}
	return "", false
}
