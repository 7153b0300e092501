// Package gc is artstore's garbage collector: it deletes blobs that no live
// artifact references from a storage backend, safely while pushes run.
//
// # Safety
//
// A blob may be "unreferenced" only because the push that will reference it
// has not registered yet, or because a push deduplicated against it (found it
// present and skipped the upload) moments before the collector looked. The
// collector is safe by construction, not by timing:
//
//  1. Mark. Read the log head H, then every live artifact's manifest (and,
//     for trees, every file manifest) from the backend: the live set.
//  2. Candidates. Walk the backend; a blob is a candidate if it is not in
//     the live set and its ModTime is before start − grace.
//  3. Sweep, in batches, each batch inside the log's serialised append
//     transaction (eventlog.Store.AppendFunc): add to the live set the
//     blobs of every artifact registered since the last look (seq > H),
//     Head each candidate again and spare it if it is now referenced,
//     gone, or modified within the grace window (a deduplicating push
//     re-Put it), delete the rest and return one blobs.collected event that
//     commits in the same transaction.
//
// Registration checks that its blobs exist inside its own append transaction
// (internal/registry), so a registration and a sweep batch are ordered: either
// the registration committed first and the sweep sees its references, or the
// sweep did and the registration finds the blob missing and fails with
// registry.ErrMissingBlobs (the client uploads the blob again and retries).
// No committed artifact can reference a collected blob. The grace window
// is not needed for that; it keeps pushes in flight from having to retry.
package gc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storeid"
)

// DefaultGrace is the grace window callers default to: blobs modified
// within it are not collected, so pushes in flight rarely have to retry.
const DefaultGrace = time.Hour

// DefaultBatch is how many blobs one sweep transaction deletes at most.
const DefaultBatch = 256

// maxSweepTime bounds the work one sweep transaction does: it holds the
// log's append lock, so registrations (and every other append) wait for
// it. A batch stops early once it has run this long (on S3 each candidate
// costs a HEAD and a DELETE) and the rest goes to the next transaction.
const maxSweepTime = 500 * time.Millisecond

// queryPage is the page size of artifact listings.
const queryPage = 1000

// ErrUnreadableManifest: a live artifact's manifest could not be read or
// parsed, so the blobs it references are unknown and nothing is collected.
var ErrUnreadableManifest = errors.New("a live artifact's manifest is unreadable")

// Options configure one collection.
type Options struct {
	// Actor is recorded on the blobs.collected events (required unless
	// DryRun).
	Actor string
	// Grace: blobs whose ModTime is after start − Grace are kept. Zero
	// collects every unreferenced blob that existed when the run started.
	Grace time.Duration
	// DryRun lists what would be collected and deletes nothing.
	DryRun bool
	// Batch is the number of deletions per transaction; 0 means DefaultBatch.
	Batch int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Keep, if set, names more blobs a live artifact keeps besides those
	// its own manifest references: the manifests (file or tree) of
	// content it holds elsewhere, such as an OCI manifest's config and
	// layers (internal/app). The collector expands each like the
	// artifact's own manifest, at the mark and for every artifact
	// registered during the sweep (inside the sweep's transaction, so the
	// registration's own blob check and the sweep stay ordered). An error
	// stops the run before anything is collected.
	Keep func(ctx context.Context, a eventlog.Artifact) ([]content.Digest, error)
}

// Blob is one blob the collector deleted or would delete.
type Blob struct {
	Digest  content.Digest `json:"digest"`
	Size    int64          `json:"size"`
	ModTime time.Time      `json:"mod_time"`
}

// Result reports a collection.
type Result struct {
	Backend string `json:"backend"`
	DryRun  bool   `json:"dry_run"`
	// Started is the run's start; Cutoff = Started − grace.
	Started time.Time `json:"started"`
	Cutoff  time.Time `json:"cutoff"`
	// LiveArtifacts and LiveBlobs size the live set at the mark.
	LiveArtifacts int `json:"live_artifacts"`
	LiveBlobs     int `json:"live_blobs"`
	// Scanned is how many blobs the backend holds (at the walk).
	Scanned int `json:"scanned"`
	// Collected lists the blobs deleted (or, with DryRun, the candidates),
	// sorted by digest; Bytes is their total size.
	Collected []Blob `json:"collected"`
	Bytes     int64  `json:"bytes"`
	// Spared counts candidates the sweep kept: referenced by an artifact
	// registered meanwhile, touched within the grace window, or gone.
	Spared int `json:"spared"`
	// Events are the seqs of the blobs.collected events appended.
	Events []int64 `json:"events"`
	// TempFiles and TempBytes count the temporary upload files (left by
	// uploads killed hard) last written before Cutoff that were removed
	// (with DryRun: that would be).
	TempFiles int   `json:"temp_files"`
	TempBytes int64 `json:"temp_bytes"`
}

// Run collects garbage in backend against the artifacts of log.
func Run(ctx context.Context, log eventlog.Store, backend storage.Backend, opts Options) (Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.Grace < 0 {
		return Result{}, fmt.Errorf("gc: negative grace %s", opts.Grace)
	}
	if opts.Actor == "" && !opts.DryRun {
		return Result{}, errors.New("gc: an actor is required")
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	// Blobs are garbage only relative to the log their backend belongs
	// to: never sweep a backend another log claimed, or one holding blobs
	// that no log claimed (a new, empty log would take them all).
	self, err := storeid.LogOf(ctx, log, "", "")
	if err != nil {
		return Result{}, fmt.Errorf("gc: %w", err)
	}
	if err := storeid.Check(ctx, backend, self); err != nil {
		return Result{}, fmt.Errorf("gc: refusing to collect: %w", err)
	}
	start := now()
	c := &collector{backend: backend, keep: opts.Keep, live: map[content.Digest]bool{}, expanded: map[content.Digest]bool{}}
	res := Result{Backend: backend.ID(), DryRun: opts.DryRun, Started: start, Cutoff: start.Add(-opts.Grace), Collected: []Blob{}, Events: []int64{}}

	// Mark.
	head, err := log.Head(ctx)
	if err != nil {
		return res, fmt.Errorf("gc: read the log head: %w", err)
	}
	c.seen = head.Seq
	n, err := c.addArtifacts(ctx, log, 0)
	if err != nil {
		return res, err
	}
	res.LiveArtifacts, res.LiveBlobs = n, len(c.live)

	// Candidates.
	var cands []Blob
	err = backend.Walk(ctx, func(info storage.Info) error {
		res.Scanned++
		if !c.live[info.Digest] && info.ModTime.Before(res.Cutoff) {
			cands = append(cands, Blob{Digest: info.Digest, Size: info.Size, ModTime: info.ModTime})
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("gc: list blobs of backend %s: %w", backend.ID(), err)
	}
	slices.SortFunc(cands, func(a, b Blob) int { return cmp.Compare(a.Digest.String(), b.Digest.String()) })
	if err := reclaimTemp(ctx, backend, res.Cutoff, opts.DryRun, &res); err != nil {
		return res, err
	}
	if opts.DryRun {
		for _, b := range cands {
			res.Collected = append(res.Collected, b)
			res.Bytes += b.Size
		}
		return res, nil
	}

	// Sweep.
	for len(cands) > 0 {
		n, err := c.sweep(ctx, log, opts.Actor, res.Cutoff, cands[:min(batch, len(cands))], &res)
		if err != nil {
			return res, err
		}
		cands = cands[n:]
	}
	return res, nil
}

// reclaimTemp removes (with dryRun, counts) the temporary upload files
// last written before cutoff: leftovers of uploads killed hard. An upload
// in progress rewrites its file continually, so the grace window that
// keeps fresh blobs keeps its file too.
func reclaimTemp(ctx context.Context, backend storage.Backend, cutoff time.Time, dryRun bool, res *Result) error {
	t, ok := backend.(storage.Temper)
	if !ok {
		return nil
	}
	sum, err := t.Temp(ctx, cutoff, !dryRun)
	res.TempFiles, res.TempBytes = sum.Files, sum.Bytes
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	return nil
}

// collector holds one run's live set.
type collector struct {
	backend storage.Backend
	keep    func(ctx context.Context, a eventlog.Artifact) ([]content.Digest, error)
	// live holds every blob a live artifact references.
	live map[content.Digest]bool
	// expanded holds the manifests whose references are in live.
	expanded map[content.Digest]bool
	// seen is the seq up to which registrations are accounted for in live
	// (artifacts after it are added by the next sweep transaction).
	seen int64
}

// addArtifacts adds the blobs of every live artifact with seq > after, as v
// shows them, and returns how many it visited.
func (c *collector) addArtifacts(ctx context.Context, v eventlog.Views, after int64) (int, error) {
	n := 0
	cursor := after
	for {
		page, err := v.Query(ctx, eventlog.Query{Cursor: cursor, Limit: queryPage})
		if err != nil {
			return n, fmt.Errorf("gc: list artifacts: %w", err)
		}
		for _, a := range page.Artifacts {
			if err := c.addArtifact(ctx, a); err != nil {
				return n, err
			}
			n++
			c.seen = max(c.seen, a.Seq)
		}
		if page.Next == 0 {
			return n, nil
		}
		cursor = page.Next
	}
}

// addArtifact adds a's manifest, the manifests Options.Keep names for it
// and every blob they reference to the live set.
func (c *collector) addArtifact(ctx context.Context, a eventlog.Artifact) error {
	if err := c.addManifest(ctx, a, a.ManifestDigest); err != nil {
		return err
	}
	if c.keep == nil {
		return nil
	}
	more, err := c.keep(ctx, a)
	if err != nil {
		return fmt.Errorf("gc: %w: the blobs %s (%s) keeps: %v; nothing was collected", ErrUnreadableManifest, a.Ref(), a.ID, err)
	}
	for _, d := range more {
		if err := c.addManifest(ctx, a, d); err != nil {
			return err
		}
	}
	return nil
}

// addManifest adds manifest md of artifact a and every blob it references
// to the live set.
func (c *collector) addManifest(ctx context.Context, a eventlog.Artifact, md content.Digest) error {
	c.live[md] = true
	if c.expanded[md] {
		return nil
	}
	m, err := c.expand(ctx, md)
	if err != nil {
		return fmt.Errorf("gc: %w: %s (%s): %v; nothing was collected: run artstore verify --all and repair or delete the artifact first",
			ErrUnreadableManifest, a.Ref(), md, err)
	}
	for _, e := range m.Entries {
		c.live[e.Manifest] = true
		if c.expanded[e.Manifest] {
			continue
		}
		if _, err := c.expand(ctx, e.Manifest); err != nil {
			return fmt.Errorf("gc: %w: file %s of %s (%s): %v; nothing was collected: run artstore verify --all and repair or delete the artifact first",
				ErrUnreadableManifest, e.Path, a.Ref(), e.Manifest, err)
		}
	}
	return nil
}

// expand reads manifest d as a stream, verifying it against d and checking
// it as it arrives, and adds every chunk it lists (a file's, or a
// stream-layout tree's) to the live set as it goes; it returns the
// manifest with the entries of a per-file layout tree that name file
// manifests (their path and manifest only) and without its chunks, so a
// file of a million chunks, or a tree of a million files, costs the live
// set and nothing more. Chunks of a manifest that then fails to verify are live already;
// that only errs on the safe side, and the run stops anyway.
func (c *collector) expand(ctx context.Context, d content.Digest) (content.Manifest, error) {
	rc, err := c.backend.Get(ctx, d, nil)
	if err != nil {
		return content.Manifest{}, err
	}
	defer rc.Close()
	var entries []content.TreeEntry
	m, err := content.ScanManifestBlob(rc, d, content.ManifestVisitor{
		Chunk: func(_ int, ch content.ChunkRef) error { c.live[ch.Digest] = true; return nil },
		Entry: func(_ int, e content.TreeEntry) error {
			if !e.Manifest.IsZero() {
				entries = append(entries, content.TreeEntry{Path: e.Path, Manifest: e.Manifest})
			}
			return nil
		},
	})
	if err != nil {
		return content.Manifest{}, err
	}
	m.Entries = entries
	c.expanded[d] = true
	return m, nil
}

// sweep deletes candidates from the front of batch inside one append
// transaction and returns how many it dealt with (at least one; fewer than
// len(batch) when it ran past maxSweepTime).
func (c *collector) sweep(ctx context.Context, log eventlog.Store, actor string, cutoff time.Time, batch []Blob, res *Result) (int, error) {
	// deleted survives a retried transaction: a blob deleted by a failed
	// attempt is gone, and the retry must still record it.
	deleted := map[content.Digest]Blob{}
	spared, done := 0, 0
	evs, err := log.AppendFunc(ctx, func(ctx context.Context, tx eventlog.Views) ([]eventlog.NewEvent, error) {
		start := time.Now()
		if _, err := c.addArtifacts(ctx, tx, c.seen); err != nil {
			return nil, err
		}
		spared, done = 0, 0
		for i, b := range batch {
			if i > 0 && time.Since(start) > maxSweepTime {
				break
			}
			done = i + 1
			if _, ok := deleted[b.Digest]; ok {
				continue
			}
			if c.live[b.Digest] {
				spared++
				continue
			}
			info, err := c.backend.Head(ctx, b.Digest)
			if errors.Is(err, storage.ErrNotFound) {
				spared++ // collected by someone else
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("gc: head %s: %w", b.Digest, err)
			}
			if !info.ModTime.Before(cutoff) {
				spared++ // touched by a push since the walk
				continue
			}
			if _, err := c.backend.Delete(ctx, b.Digest); err != nil {
				return nil, fmt.Errorf("gc: delete %s from backend %s: %w", b.Digest, c.backend.ID(), err)
			}
			deleted[b.Digest] = Blob{Digest: b.Digest, Size: info.Size, ModTime: info.ModTime}
		}
		if len(deleted) == 0 {
			return nil, nil
		}
		p := &eventlog.BlobsCollected{Backend: c.backend.ID()}
		for _, b := range sortedBlobs(deleted) {
			p.Digests = append(p.Digests, b.Digest)
			p.Bytes += b.Size
		}
		ne, err := eventlog.New(actor, c.backend.ID(), p)
		if err != nil {
			return nil, err
		}
		return []eventlog.NewEvent{ne}, nil
	})
	if err != nil {
		if len(deleted) > 0 {
			return 0, fmt.Errorf("gc: %d blobs were deleted but their record could not be appended (they stay deleted; no artifact referenced them): %w", len(deleted), err)
		}
		return 0, fmt.Errorf("gc: %w", err)
	}
	res.Spared += spared
	for _, b := range sortedBlobs(deleted) {
		res.Collected = append(res.Collected, b)
		res.Bytes += b.Size
	}
	for _, ev := range evs {
		res.Events = append(res.Events, ev.Seq)
	}
	return done, nil
}

func sortedBlobs(m map[content.Digest]Blob) []Blob {
	out := make([]Blob, 0, len(m))
	for _, b := range m {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Blob) int { return cmp.Compare(a.Digest.String(), b.Digest.String()) })
	return out
}
