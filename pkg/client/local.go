package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// sniffLen is how many leading bytes media type detection looks at (what
// http.DetectContentType considers).
const sniffLen = 512

// eventsPollInterval is how often Events checks the log while long-polling.
const eventsPollInterval = 100 * time.Millisecond

// Push stores the content req names and registers it as a new artifact
// version. Everything that can be checked without the content (name,
// version, tags, labels, inputs, media type) is checked before any byte is
// read, so bad input changes nothing. The content is read once; only chunks
// the backend lacks are uploaded, so a push that was interrupted, run
// again, uploads only what is missing.
func (l *Local) Push(ctx context.Context, req PushRequest) (*PushResult, error) {
	res, err := l.push(ctx, req)
	return res, mapErr(err)
}

func (l *Local) push(ctx context.Context, req PushRequest) (*PushResult, error) {
	return runPush(ctx, req, pushTarget{
		blobs: l.blobs,
		opts:  transfer.PushOptions{Concurrency: l.concurrency, Retry: l.retry, TreeSchema: l.treeSchema},
		lookup: func(ctx context.Context, ref string) (string, bool, error) {
			a, err := l.svc.Resolve(ctx, l.self, ref)
			return a.Version, a.Deleted != nil, err
		},
		register: func(ctx context.Context, name, mediaType string, tr transfer.PushResult) (Artifact, error) {
			return l.svc.Register(ctx, l.self, api.RegisterRequest{
				Name: name, Version: req.Version, MediaType: mediaType, Labels: req.Labels,
				Producer: req.Producer, Tags: req.Tags, NoLatest: req.NoLatest, Inputs: req.Inputs,
				ContentDigest: tr.ContentDigest.String(), Size: tr.Size, ManifestDigest: tr.ManifestDigest.String(),
			})
		},
		blobsMissing: func(err error) bool { return errors.Is(err, registry.ErrMissingBlobs) },
		storeID:      l.storeID,
		cacheNow:     l.treeCacheNow,
	})
}

// pullOptions converts the Store's pull options for the pipeline.
func (l *Local) pullOptions(plan app.PullPlan, opts PullOptions) transfer.PullOptions {
	po := transfer.PullOptions{Concurrency: l.concurrency, Retry: l.retry, Range: plan.Range, Paths: opts.Paths, TrustLinks: opts.TrustLinks}
	if opts.Progress != nil {
		po.Progress = func(p transfer.Progress) { opts.Progress(p.Written) }
	}
	return po
}

// Pull streams the artifact (or opts.Range of it) to w, verifying every
// chunk before its bytes reach w and the whole content at the end. On an
// integrity failure w may have received a verified prefix; the error wraps
// ErrIntegrity. A directory artifact is refused (use PullToPath). With
// retrieval records on, a successful pull appends one; if that fails, the
// result is returned together with the error.
func (l *Local) Pull(ctx context.Context, ref string, w io.Writer, opts PullOptions) (*PullResult, error) {
	res, err := l.pull(ctx, ref, KindFile, opts, func(a eventlog.Artifact, po transfer.PullOptions) (transfer.PullResult, error) {
		return transfer.Pull(ctx, a.ManifestDigest, l.blobs, w, po)
	})
	return res, mapErr(err)
}

// PullToPath writes the artifact to path (see transfer.PullToFile and
// transfer.PullTree for what each kind of target gets): a file through a
// temporary file renamed into place only once every byte is verified (on
// failure nothing is left at path), or streamed in place into a device or
// pipe; a directory artifact as a tree below path (created if missing; each
// file renamed into place once verified).
func (l *Local) PullToPath(ctx context.Context, ref, path string, opts PullOptions) (*PullResult, error) {
	res, err := l.pull(ctx, ref, "", opts, func(a eventlog.Artifact, po transfer.PullOptions) (transfer.PullResult, error) {
		return transfer.PullPath(ctx, a.ManifestDigest, l.blobs, path, po)
	})
	if res != nil {
		res.Path = path
	}
	return res, mapErr(err)
}

// manifestMatches reports whether a pulled manifest describes the content
// the artifact was registered with.
func manifestMatches(m content.Manifest, a eventlog.Artifact) bool {
	return m.Digest == a.ContentDigest && m.Size == a.Size && string(m.Kind) == app.KindOf(a.MediaType)
}

// pull plans the pull of ref for a target of kind, runs fn and records
// the retrieval.
func (l *Local) pull(ctx context.Context, ref, kind string, opts PullOptions,
	fn func(eventlog.Artifact, transfer.PullOptions) (transfer.PullResult, error)) (*PullResult, error) {
	plan, err := l.svc.PlanPull(ctx, l.self, ref, kind, opts.Range)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	a := plan.Artifact
	po := l.pullOptions(plan, opts)
	// The manifest is checked against the registration before anything is
	// written, so a mismatch leaves the target as it was.
	po.Check = func(m content.Manifest) error {
		if !manifestMatches(m, a) {
			return manifestMismatch(a.Ref(), a.ManifestDigest, m, a.ContentDigest.String(), a.Size)
		}
		return nil
	}
	tr, err := fn(a, po)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", a.Ref(), err)
	}
	res := &PullResult{Ref: a.Ref(), ID: a.ID, ContentDigest: a.ContentDigest.String(), Bytes: tr.Written,
		Kind: app.KindOf(a.MediaType), Range: plan.RangeString()}
	if l.retrievals {
		if err := l.svc.RecordRetrieval(ctx, l.self, a, tr.Written, res.Range); err != nil {
			return res, fmt.Errorf("pulled %s, but %w", a.Ref(), err)
		}
	}
	return res, nil
}

// Get returns the artifact ref names. An artifact ID also names a deleted
// artifact (Deleted is set); other references resolve live ones only.
func (l *Local) Get(ctx context.Context, ref string) (*Artifact, error) {
	return l.artifact(l.svc.Get(ctx, l.self, ref))
}

// List returns a page of artifacts in registration order (see Query).
func (l *Local) List(ctx context.Context, q Query) (*Page, error) {
	p, err := l.svc.List(ctx, l.self, q)
	if err != nil {
		return nil, mapErr(err)
	}
	return &p, nil
}

// Tag points tag at the artifact ref names, moving it from another version
// of the name if needed.
func (l *Local) Tag(ctx context.Context, ref, tag string) (*Artifact, error) {
	return l.artifact(l.svc.Tag(ctx, l.self, ref, tag))
}

// Label sets and removes labels of the artifact ref names.
func (l *Local) Label(ctx context.Context, ref string, set map[string]string, remove []string) (*Artifact, error) {
	return l.artifact(l.svc.Label(ctx, l.self, ref, set, remove))
}

// Delete tombstones the artifact ref names; its bytes are reclaimed by
// garbage collection. A legal hold or immutability refuses it (ErrForbidden).
func (l *Local) Delete(ctx context.Context, ref string) (*Artifact, error) {
	return l.artifact(l.svc.Delete(ctx, l.self, ref, ""))
}

// SetRetention changes the artifact's retention: ExpireAfter counts from
// the artifact's creation; a pointer to the zero time clears ExpiresAt or
// ImmutableUntil; nil fields are left as they are. Immutability can be
// extended, never shortened (ErrForbidden).
func (l *Local) SetRetention(ctx context.Context, ref string, req RetentionRequest) (*Artifact, error) {
	return l.artifact(l.svc.SetRetention(ctx, l.self, ref, req))
}

// Hold places the legal hold HoldName on the artifact (ErrConflict if it
// is already placed).
func (l *Local) Hold(ctx context.Context, ref, reason string) (*Artifact, error) {
	return l.artifact(l.svc.Hold(ctx, l.self, ref, HoldName, reason))
}

// Release releases the legal hold HoldName (ErrNotFound if not placed).
func (l *Local) Release(ctx context.Context, ref string) (*Artifact, error) {
	return l.artifact(l.svc.Release(ctx, l.self, ref, HoldName, ""))
}

func (l *Local) artifact(a Artifact, err error) (*Artifact, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	return &a, nil
}

// Lineage walks the provenance graph from ref: Up to its inputs (the
// default), Down to what was made from it, to opts.Depth levels (0: all).
func (l *Local) Lineage(ctx context.Context, ref string, opts LineageOptions) (*LineageGraph, error) {
	g, err := l.svc.Lineage(ctx, l.self, ref, opts)
	if err != nil {
		return nil, mapErr(err)
	}
	return &g, nil
}

// Events returns up to limit events (0: 100) after seq, oldest first. With
// wait > 0 and nothing after seq yet, it polls the log until an event
// arrives, wait passes or ctx ends, and then returns what there is (maybe
// nothing).
func (l *Local) Events(ctx context.Context, after int64, limit int, wait time.Duration) ([]Event, error) {
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		woken := l.svc.Changed() // appends by this process wake it at once
		evs, err := l.svc.Events(ctx, after, limit)
		if err != nil {
			return nil, mapErr(err)
		}
		if len(evs) > 0 || deadline == nil {
			return evs, nil
		}
		poll := time.NewTimer(eventsPollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return nil, ctx.Err()
		case <-deadline:
			poll.Stop()
			deadline = nil // one last look, then return
		case <-woken:
			poll.Stop()
		case <-poll.C: // appends by other processes
		}
	}
}

// VerifyLog checks the event log's hash chain from the first event. A
// broken chain is a report with OK false, not an error; errors are I/O.
func (l *Local) VerifyLog(ctx context.Context) (*LogReport, error) {
	rep, err := l.svc.VerifyLog(ctx, 1)
	if err != nil {
		return nil, mapErr(err)
	}
	return &rep, nil
}

// Rebuild rebuilds every view from the event log.
func (l *Local) Rebuild(ctx context.Context) error {
	_, err := l.svc.Rebuild(ctx)
	return mapErr(err)
}
