package fsck

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// manifest reads, verifies and parses the manifest blob d, counting it.
func (c *checker) manifest(ctx context.Context, d content.Digest) (content.Manifest, error) {
	rc, err := c.s.Backend.Get(ctx, d, nil)
	if err != nil {
		return content.Manifest{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(content.NewVerifyingReader(io.LimitReader(rc, content.MaxManifestSize+1), d, -1))
	if err != nil {
		return content.Manifest{}, err
	}
	c.count(d, int64(len(b)))
	return content.ParseManifest(b)
}

// kindOf is the manifest kind an artifact of this media type has: the
// media type api.TreeMediaType is reserved for trees.
func kindOf(mediaType string) content.Kind {
	if mediaType == api.TreeMediaType {
		return content.KindTree
	}
	return content.KindFile
}

// artifact checks one live artifact.
func (c *checker) artifact(ctx context.Context, a eventlog.Artifact) error {
	c.rep.Artifacts++
	ref := a.Ref()
	c.refs[a.ManifestDigest] = true
	m, err := c.manifest(ctx, a.ManifestDigest)
	if err != nil {
		return c.lostManifest(ref, a.ManifestDigest, "manifest", err)
	}
	c.collect(m)
	if kind := kindOf(a.MediaType); m.Digest != a.ContentDigest || m.Size != a.Size || m.Kind != kind {
		c.add(api.Problem{Ref: ref, Digest: a.ManifestDigest.String(), Kind: api.ProblemInvalidManifest,
			Message: fmt.Sprintf("manifest %s describes %s content %s of %d bytes, but %s was registered as %s content %s of %d bytes",
				a.ManifestDigest.Short(), m.Kind, m.Digest, m.Size, ref, kind, a.ContentDigest, a.Size),
			Hint: "the registration does not match its manifest; check the event log (artstore log verify), then push the content again and delete this artifact"})
		return nil
	}
	return EachFile(ctx, a.ManifestDigest, m, c.manifest, func(f File) error {
		if f.Err != nil {
			return c.lostManifest(ref, f.Digest, f.What(), f.Err)
		}
		c.collect(f.Manifest)
		if msg := f.Mismatch(); msg != "" {
			c.add(api.Problem{Ref: ref, Digest: f.Digest.String(), Kind: api.ProblemInvalidManifest, Message: msg,
				Hint: "the tree manifest and a file manifest disagree; push the directory again and delete this artifact"})
			return nil
		}
		return c.file(ctx, ref, f)
	})
}

// lostManifest reports manifest d of ref as unreadable, or returns the
// error when the run cannot go on.
func (c *checker) lostManifest(ref string, d content.Digest, what string, err error) error {
	c.lostManifests = true
	p, err := c.blobProblem(ref, d, what, err)
	if err != nil {
		return err
	}
	c.add(*p)
	return nil
}

// collect records the blobs a manifest references.
func (c *checker) collect(m content.Manifest) {
	References(m, func(d content.Digest) { c.refs[d] = true })
}

// deletedRefs records the blobs of a deleted artifact, as far as they are
// still there, so they are not reported as orphans: they are garbage
// awaiting collection.
func (c *checker) deletedRefs(ctx context.Context, a eventlog.Artifact) {
	c.refs[a.ManifestDigest] = true
	m, err := c.manifest(ctx, a.ManifestDigest)
	if err != nil {
		return
	}
	c.collect(m)
	_ = EachFile(ctx, a.ManifestDigest, m, c.manifest, func(f File) error {
		if f.Err == nil {
			c.collect(f.Manifest)
		}
		return nil
	})
}

// file checks the chunks of file f of artifact ref.
func (c *checker) file(ctx context.Context, ref string, f File) error {
	what := func(i int) string {
		if f.Path == "" {
			return fmt.Sprintf("chunk %d", i)
		}
		return fmt.Sprintf("chunk %d of %s", i, f.Path)
	}
	if c.deep {
		return c.fileDeep(ctx, ref, f, what)
	}
	if err := c.headAll(ctx, f.Manifest.Chunks); err != nil {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	for i, ch := range f.Manifest.Chunks {
		if p := c.heads[ch.Digest]; p != nil {
			q := *p
			q.Ref, q.Message = ref, what(i)+q.Message // cached messages start with " (<digest>)"
			switch q.Kind {
			case api.ProblemMissing:
				q.Hint = restoreHint(ref)
			case api.ProblemSizeMismatch:
				q.Hint = damagedHint(ref)
			}
			c.add(q)
		}
	}
	return nil
}

// headAll checks, in parallel, the size of every chunk not checked yet and
// fills c.heads.
func (c *checker) headAll(ctx context.Context, chunks []content.ChunkRef) error {
	var todo []content.ChunkRef
	queued := map[content.Digest]bool{}
	for _, ch := range chunks {
		if _, done := c.heads[ch.Digest]; !done && !queued[ch.Digest] {
			queued[ch.Digest] = true
			todo = append(todo, ch)
		}
	}
	be := c.s.Backend.ID()
	results := make([]*api.Problem, len(todo))
	errs := make([]error, len(todo))
	sem := make(chan struct{}, max(c.s.Concurrency, 8))
	var wg sync.WaitGroup
	for i, ch := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			info, err := c.s.Backend.Head(ctx, ch.Digest)
			switch {
			case err == nil && info.Size != ch.Size:
				results[i] = &api.Problem{Digest: ch.Digest.String(), Kind: api.ProblemSizeMismatch,
					Message: fmt.Sprintf(" (%s) has %d bytes in backend %s, not %d", ch.Digest.Short(), info.Size, be, ch.Size),
					Hint:    damagedHint("")}
			case err != nil:
				results[i], errs[i] = c.blobProblem("", ch.Digest, "", err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, ch := range todo {
		c.heads[ch.Digest] = results[i]
		if results[i] == nil {
			c.count(ch.Digest, ch.Size)
		}
	}
	return nil
}

// fileDeep re-reads every chunk of f in order, checking each against its
// digest and the whole content against the manifest's.
//
// The first pass is the pull pipeline into io.Discard: chunks fetched and
// verified in parallel, the whole content hashed in order. Only when it
// fails does a sequential pass find and report every bad chunk.
func (c *checker) fileDeep(ctx context.Context, ref string, f File, what func(int) string) error {
	m := f.Manifest
	err := ReadAll(ctx, c.blobs, f, transfer.PullOptions{Concurrency: c.s.Concurrency, Retry: transfer.RetryPolicy{MaxAttempts: 1}})
	if err == nil {
		for _, ch := range m.Chunks {
			c.count(ch.Digest, ch.Size)
		}
		return nil
	}
	if fatal(err) {
		return fmt.Errorf("verify %s: %w", ref, err)
	}
	whole := sha256.New()
	intact := true
	for i, ch := range m.Chunks {
		err := c.readChunk(ctx, ch, whole)
		if err == nil {
			c.count(ch.Digest, ch.Size)
			continue
		}
		intact = false
		p, err := c.blobProblem(ref, ch.Digest, what(i), err)
		if err != nil {
			return err
		}
		c.add(*p)
	}
	if !intact {
		return nil // the chunk problems say it all
	}
	if m.Stream() {
		c.add(api.Problem{Ref: ref, Digest: f.Digest.String(), Kind: api.ProblemDigestMismatch,
			Message: fmt.Sprintf("every chunk of %s verifies, but a file does not match its digest: %v", ref, err),
			Hint:    "the manifest lists the wrong chunks or digests (a faulty writer); push the original directory again and delete this artifact"})
		return nil
	}
	sum, err := content.NewDigest(content.SHA256, whole.Sum(nil))
	if err != nil {
		return err
	}
	if sum != m.Digest {
		where := ref
		if f.Path != "" {
			where = f.Path + " in " + ref
		}
		c.add(api.Problem{Ref: ref, Digest: m.Digest.String(), Kind: api.ProblemDigestMismatch,
			Message: fmt.Sprintf("the content of %s hashes to %s, not %s, although every chunk verifies", where, sum, m.Digest),
			Hint:    "the manifest lists the wrong chunks (a faulty writer); push the original content again and delete this artifact"})
	}
	return nil
}

// readChunk reads chunk ch through a verifier, copying its bytes to whole.
func (c *checker) readChunk(ctx context.Context, ch content.ChunkRef, whole io.Writer) error {
	rc, err := c.s.Backend.Get(ctx, ch.Digest, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(whole, content.NewVerifyingReader(rc, ch.Digest, ch.Size))
	return err
}
