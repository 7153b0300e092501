package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// ArtifactBlob checks that p may read blob d as part of the live artifact
// ref: p may read the artifact by name, and d is one of the blobs a pull
// of it reads (its manifest, the file manifests of a per-file layout
// tree, and every chunk they list). It returns the artifact.
//
// This is how a token limited to a name prefix pulls a directory
// artifact: it may not read blobs by digest alone (a digest is not a
// secret, so that would go around the prefix), but it may read the blobs
// of an artifact it may read by name. A digest the artifact does not hold
// is not found (api.ErrNotFound), whether or not the store holds it.
func (s *Service) ArtifactBlob(ctx context.Context, p Principal, ref string, d content.Digest) (eventlog.Artifact, error) {
	if s.backend == nil {
		return eventlog.Artifact{}, fmt.Errorf("artifact blob: %w", errNoBackend)
	}
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return eventlog.Artifact{}, err
	}
	set, err := s.artifactBlobSet(ctx, a)
	if err != nil {
		return eventlog.Artifact{}, err
	}
	if _, held := set[d]; !held {
		return eventlog.Artifact{}, Mark(fmt.Errorf("blob %s is not one of the blobs of %s", d.Short(), a.Ref()), api.ErrNotFound)
	}
	return a, nil
}

// ArtifactBlobsMissing is BlobsMissing for the blobs of the live artifact
// ref, read as ArtifactBlob reads them (a prefixed token's verify): of
// req's digests, each one that is not one of the artifact's blobs (in the
// order given), then each of its blobs that is not stored; each once. A
// digest outside the artifact is missing whether or not the store holds
// it, as ArtifactBlob answers it not found, so the answer tells nothing
// about other artifacts' blobs. Sizes (for uploads) are refused: nothing
// is uploaded this way.
func (s *Service) ArtifactBlobsMissing(ctx context.Context, p Principal, ref string, req api.MissingRequest) (api.MissingResponse, error) {
	if s.backend == nil {
		return api.MissingResponse{}, fmt.Errorf("artifact blobs: %w", errNoBackend)
	}
	if len(req.Sizes) != 0 {
		return api.MissingResponse{}, fmt.Errorf("%w: sizes are for uploads, and the blobs of an artifact are only read here; give digests alone", api.ErrInvalid)
	}
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.MissingResponse{}, err
	}
	set, err := s.artifactBlobSet(ctx, a)
	if err != nil {
		return api.MissingResponse{}, err
	}
	out := api.MissingResponse{Missing: []string{}}
	var held []content.Digest
	seen := make(map[content.Digest]bool, len(req.Digests))
	for _, str := range req.Digests {
		d, err := content.ParseDigest(str)
		if err != nil {
			return api.MissingResponse{}, Mark(err, api.ErrInvalid)
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		if _, ok := set[d]; ok {
			held = append(held, d)
		} else {
			out.Missing = append(out.Missing, d.String())
		}
	}
	missing, err := storage.Missing(ctx, s.backend, held)
	if err != nil {
		return api.MissingResponse{}, fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	for _, d := range missing {
		out.Missing = append(out.Missing, d.String())
	}
	return out, nil
}

// artifactBlobSet returns the blobs a pull of a reads (artifactBlobs),
// from the cache when it has them.
func (s *Service) artifactBlobSet(ctx context.Context, a eventlog.Artifact) (map[content.Digest]struct{}, error) {
	set, err := s.blobSets.get(a.ID, func() (map[content.Digest]struct{}, bool, error) {
		return artifactBlobs(ctx, s.backend, a.ManifestDigest)
	})
	if err != nil {
		return nil, fmt.Errorf("the blobs of %s: %w", a.Ref(), err)
	}
	return set, nil
}

// artifactBlobs returns the blobs a pull of manifest md reads: md, the
// chunks it lists, and for a per-file layout tree each file manifest and
// its chunks. Each manifest is verified against its digest as it is read.
// A file manifest that is missing or damaged is in the set (the tree
// lists it) without its chunks, which cannot be known: a pull or a
// verify then finds it missing or damaged, as through /v1/blobs. complete
// is false then: once the manifest is stored again (a repair), the set is
// larger.
func artifactBlobs(ctx context.Context, backend storage.Backend, md content.Digest) (set map[content.Digest]struct{}, complete bool, err error) {
	set = map[content.Digest]struct{}{}
	complete = true
	var files []content.Digest
	scan := func(d content.Digest, entries bool) error {
		set[d] = struct{}{}
		rc, err := backend.Get(ctx, d, nil)
		if err != nil {
			return fmt.Errorf("read manifest %s: %w", d.Short(), err)
		}
		defer rc.Close()
		// What the manifest lists joins the set only once all of it has
		// verified: a damaged manifest grants nothing.
		var chunks, fms []content.Digest
		v := content.ManifestVisitor{Chunk: func(_ int, ch content.ChunkRef) error { chunks = append(chunks, ch.Digest); return nil }}
		if entries {
			v.Entry = func(_ int, e content.TreeEntry) error {
				if !e.Manifest.IsZero() {
					fms = append(fms, e.Manifest)
				}
				return nil
			}
		}
		if _, err := content.ScanManifestBlob(rc, d, v); err != nil {
			return fmt.Errorf("read manifest %s: %w", d.Short(), err)
		}
		for _, c := range chunks {
			set[c] = struct{}{}
		}
		files = append(files, fms...)
		return nil
	}
	if err := scan(md, true); err != nil {
		return nil, false, err
	}
	for _, f := range files {
		if _, seen := set[f]; seen {
			continue
		}
		err := scan(f, false)
		switch {
		case err == nil:
		case errors.Is(err, storage.ErrNotFound) || errors.Is(err, content.ErrMismatch) || errors.Is(err, content.ErrInvalidManifest):
			complete = false
		default:
			return nil, false, err
		}
	}
	return set, complete, nil
}

// maxBlobSetDigests bounds the digests blobSets keeps, about 100 bytes
// each: a stream-layout tree of 10 GiB lists about 5,000 chunks, a
// per-file layout tree one manifest more per file.
const maxBlobSetDigests = 1 << 18

// blobSets caches, by artifact ID, the blobs a pull of the artifact reads
// (artifactBlobs): a pull asks once per blob, and an artifact's blobs
// never change once all its manifests can be read. The least recently
// used sets go when the digests kept pass maxBlobSetDigests; the set in
// use stays even when it alone does. The zero value is ready to use.
type blobSets struct {
	mu    sync.Mutex
	sets  map[string]map[content.Digest]struct{}
	order []string // artifact IDs, least recently used first
	size  int
}

// get returns the set of artifact id, computing it with load on a miss.
// Concurrent misses of one artifact may each load it. The set is shared:
// callers only read it. A set load says is not complete (a damaged tree)
// is not kept: it grows when the tree is repaired, so it is loaded again
// on each call until then.
func (c *blobSets) get(id string, load func() (set map[content.Digest]struct{}, complete bool, err error)) (map[content.Digest]struct{}, error) {
	c.mu.Lock()
	set, ok := c.sets[id]
	if ok {
		c.touch(id)
	}
	c.mu.Unlock()
	if !ok {
		set, complete, err := load()
		if err != nil {
			return nil, err
		}
		if complete {
			c.put(id, set)
		}
		return set, nil
	}
	return set, nil
}

// touch moves id to the most recently used end; c.mu is held.
func (c *blobSets) touch(id string) {
	for i, x := range c.order {
		if x == id {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), id)
			return
		}
	}
}

func (c *blobSets) put(id string, set map[content.Digest]struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets == nil {
		c.sets = map[string]map[content.Digest]struct{}{}
	}
	if old, ok := c.sets[id]; ok {
		c.size -= len(old)
		c.touch(id)
	} else {
		c.order = append(c.order, id)
	}
	c.sets[id] = set
	c.size += len(set)
	for c.size > maxBlobSetDigests && len(c.order) > 1 {
		oldest := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.sets[oldest])
		delete(c.sets, oldest)
	}
}
