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
			a, err := l.reg.Get(ctx, ref)
			return a.Version, a.Deleted != nil, err
		},
		register: func(ctx context.Context, name, mediaType string, tr transfer.PushResult) (Artifact, error) {
			ins, err := app.Inputs(req.Inputs)
			if err != nil {
				return Artifact{}, mapErr(err)
			}
			a, err := l.reg.Register(ctx, l.actor, registry.RegisterRequest{
				Name: name, Version: req.Version, MediaType: mediaType, Labels: req.Labels,
				Producer: app.ProducerToInternal(req.Producer), Tags: req.Tags, NoLatest: req.NoLatest, Inputs: ins,
				ContentDigest: tr.ContentDigest, Size: tr.Size, ManifestDigest: tr.ManifestDigest,
			})
			if err != nil {
				return Artifact{}, err
			}
			return app.Artifact(a), nil
		},
		blobsMissing: func(err error) bool { return errors.Is(err, registry.ErrMissingBlobs) },
	})
}

// live returns the artifact ref names, refusing a deleted one (which only an
// ID can name) because its bytes may already be collected.
func (l *Local) live(ctx context.Context, ref string) (eventlog.Artifact, error) {
	a, err := l.reg.Get(ctx, ref)
	if err != nil {
		return a, err
	}
	if a.Deleted != nil {
		return a, fmt.Errorf("%s (%s) was deleted: %w", ref, a.Ref(), registry.ErrNotFound)
	}
	return a, nil
}

// pullOptions converts the Store's pull options for the pipeline.
func (l *Local) pullOptions(a eventlog.Artifact, opts PullOptions) (transfer.PullOptions, error) {
	po := transfer.PullOptions{Concurrency: l.concurrency, Retry: l.retry, Paths: opts.Paths, TrustLinks: opts.TrustLinks}
	if opts.Progress != nil {
		po.Progress = func(p transfer.Progress) { opts.Progress(p.Written) }
	}
	if opts.Range != "" {
		if app.KindOf(a.MediaType) == KindTree {
			return po, fmt.Errorf("%w: %s is a directory artifact; a range applies to a file", ErrInvalid, a.Ref())
		}
		rng, err := content.ParseRange(opts.Range, a.Size)
		if err != nil {
			return po, err
		}
		po.Range = &rng
	}
	return po, nil
}

// Pull streams the artifact (or opts.Range of it) to w, verifying every
// chunk before its bytes reach w and the whole content at the end. On an
// integrity failure w may have received a verified prefix; the error wraps
// ErrIntegrity. A directory artifact is refused (use PullToPath). With
// retrieval records on, a successful pull appends one; if that fails, the
// result is returned together with the error.
func (l *Local) Pull(ctx context.Context, ref string, w io.Writer, opts PullOptions) (*PullResult, error) {
	res, err := l.pull(ctx, ref, opts, func(a eventlog.Artifact, po transfer.PullOptions) (transfer.PullResult, error) {
		if app.KindOf(a.MediaType) == KindTree {
			return transfer.PullResult{}, fmt.Errorf("%w: %s is a directory artifact; pull it to a path with -o DIR", ErrInvalid, a.Ref())
		}
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
	res, err := l.pull(ctx, ref, opts, func(a eventlog.Artifact, po transfer.PullOptions) (transfer.PullResult, error) {
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

// pull resolves ref, runs fn and records the retrieval.
func (l *Local) pull(ctx context.Context, ref string, opts PullOptions,
	fn func(eventlog.Artifact, transfer.PullOptions) (transfer.PullResult, error)) (*PullResult, error) {
	a, err := l.live(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	po, err := l.pullOptions(a, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", a.Ref(), err)
	}
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
	res := &PullResult{Ref: a.Ref(), ID: a.ID, ContentDigest: a.ContentDigest.String(), Bytes: tr.Written, Kind: app.KindOf(a.MediaType)}
	if po.Range != nil {
		res.Range = po.Range.String()
	}
	if l.retrievals {
		rec := registry.Retrieval{Bytes: tr.Written, Range: res.Range, Client: retrievalClient}
		if err := l.reg.RecordRetrieval(ctx, l.actor, a.ID, rec); err != nil {
			return res, fmt.Errorf("pulled %s, but could not append the retrieval record: %w", a.Ref(), err)
		}
	}
	return res, nil
}

// Get returns the artifact ref names. An artifact ID also names a deleted
// artifact (Deleted is set); other references resolve live ones only.
func (l *Local) Get(ctx context.Context, ref string) (*Artifact, error) {
	a, err := l.reg.Get(ctx, ref)
	if err != nil {
		return nil, mapErr(err)
	}
	out := app.Artifact(a)
	return &out, nil
}

// List returns a page of artifacts in registration order. A Pattern with
// '*' or '?' is a glob ('*' also matches '/'); otherwise it matches names
// starting with it. Each selector string may hold several comma-separated
// selectors. Since is inclusive, Before exclusive.
func (l *Local) List(ctx context.Context, q Query) (*Page, error) {
	opts := registry.ListOptions{CreatedBefore: q.Before, IncludeDeleted: q.IncludeDeleted, Newest: q.Newest, Cursor: q.Cursor, Limit: q.Limit}
	if !q.Since.IsZero() {
		opts.CreatedAfter = q.Since.Add(-time.Nanosecond)
	}
	if isGlob(q.Pattern) {
		opts.NameGlob = q.Pattern
	} else {
		opts.NamePrefix = q.Pattern
	}
	var err error
	if opts.Selectors, err = registry.ParseSelectorList(q.Selectors); err != nil {
		return nil, mapErr(fmt.Errorf("list: %w", err))
	}
	res, err := l.reg.List(ctx, opts)
	if err != nil {
		return nil, mapErr(err)
	}
	p := &Page{Artifacts: make([]Artifact, 0, len(res.Artifacts)), NextCursor: res.Next}
	for _, a := range res.Artifacts {
		p.Artifacts = append(p.Artifacts, app.Artifact(a))
	}
	return p, nil
}

func isGlob(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '*' || p[i] == '?' {
			return true
		}
	}
	return false
}

// Tag points tag at the artifact ref names, moving it from another version
// of the name if needed.
func (l *Local) Tag(ctx context.Context, ref, tag string) (*Artifact, error) {
	return l.artifact(l.reg.Tag(ctx, l.actor, ref, tag))
}

// Label sets and removes labels of the artifact ref names.
func (l *Local) Label(ctx context.Context, ref string, set map[string]string, remove []string) (*Artifact, error) {
	return l.artifact(l.reg.Label(ctx, l.actor, ref, set, remove))
}

// Delete tombstones the artifact ref names; its bytes are reclaimed by
// garbage collection. A legal hold or immutability refuses it (ErrForbidden).
func (l *Local) Delete(ctx context.Context, ref string) (*Artifact, error) {
	return l.artifact(l.reg.Delete(ctx, l.actor, ref, ""))
}

// SetRetention changes the artifact's retention: ExpireAfter counts from
// the artifact's creation; a pointer to the zero time clears ExpiresAt or
// ImmutableUntil; nil fields are left as they are. Immutability can be
// extended, never shortened (ErrForbidden).
func (l *Local) SetRetention(ctx context.Context, ref string, req RetentionRequest) (*Artifact, error) {
	a, err := l.live(ctx, ref)
	if err != nil {
		return nil, mapErr(fmt.Errorf("set retention: %w", err))
	}
	ret, err := retentionToInternal(a.Retention, a.Created, req)
	if err != nil {
		return nil, fmt.Errorf("set retention of %s: %w", a.Ref(), err)
	}
	// By ID: the same artifact even if a tag moved meanwhile.
	return l.artifact(l.reg.SetRetention(ctx, l.actor, a.ID, ret))
}

// Hold places the legal hold HoldName on the artifact (ErrConflict if it
// is already placed).
func (l *Local) Hold(ctx context.Context, ref, reason string) (*Artifact, error) {
	return l.artifact(l.reg.Hold(ctx, l.actor, ref, HoldName, reason))
}

// Release releases the legal hold HoldName (ErrNotFound if not placed).
func (l *Local) Release(ctx context.Context, ref string) (*Artifact, error) {
	return l.artifact(l.reg.Release(ctx, l.actor, ref, HoldName, ""))
}

func (l *Local) artifact(a eventlog.Artifact, err error) (*Artifact, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	out := app.Artifact(a)
	return &out, nil
}

// Lineage walks the provenance graph from ref: Up to its inputs (the
// default), Down to what was made from it, to opts.Depth levels (0: all).
func (l *Local) Lineage(ctx context.Context, ref string, opts LineageOptions) (*LineageGraph, error) {
	dir := eventlog.Parents
	switch opts.Direction {
	case Up, "":
		opts.Direction = Up
	case Down:
		dir = eventlog.Children
	default:
		return nil, fmt.Errorf("lineage: %w: direction %q is neither %q nor %q", ErrInvalid, opts.Direction, Up, Down)
	}
	if opts.Depth < 0 {
		return nil, fmt.Errorf("lineage: %w: negative depth %d", ErrInvalid, opts.Depth)
	}
	lg, err := l.reg.Lineage(ctx, ref, dir, opts.Depth)
	if err != nil {
		return nil, mapErr(err)
	}
	g, err := app.Lineage(lg, opts.Direction, func(a eventlog.Artifact) (Artifact, error) { return app.Artifact(a), nil })
	if err != nil {
		return nil, err
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
		evs, err := l.reg.Events(ctx, after, limit)
		if err != nil {
			return nil, mapErr(err)
		}
		if len(evs) > 0 || deadline == nil {
			out := make([]Event, 0, len(evs))
			for _, e := range evs {
				ce, err := app.Event(e)
				if err != nil {
					return nil, err
				}
				out = append(out, ce)
			}
			return out, nil
		}
		poll := time.NewTimer(eventsPollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return nil, ctx.Err()
		case <-deadline:
			poll.Stop()
			deadline = nil // one last look, then return
		case <-poll.C:
		}
	}
}

// VerifyLog checks the event log's hash chain from the first event. A
// broken chain is a report with OK false, not an error; errors are I/O.
func (l *Local) VerifyLog(ctx context.Context) (*LogReport, error) {
	rep, err := l.reg.VerifyLog(ctx, 1)
	var ce *eventlog.ChainError
	if err != nil && !errors.As(err, &ce) {
		return nil, mapErr(fmt.Errorf("verify log: %w", err))
	}
	out := app.LogReport(rep)
	return &out, nil
}

// Rebuild rebuilds every view from the event log.
func (l *Local) Rebuild(ctx context.Context) error {
	if _, err := l.reg.Rebuild(ctx); err != nil {
		return mapErr(fmt.Errorf("rebuild: %w", err))
	}
	return nil
}
