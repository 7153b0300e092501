package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
)

// BlobChecker is what Register needs of the blob store: which blobs exist,
// and the bytes of manifests, whose references it checks.
type BlobChecker interface {
	// Missing returns the digests among ds that are not stored (in any
	// order, without duplicates). An error means it could not tell.
	Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error)
	// Get opens the stored blob d (whole when rng is nil); an absent blob
	// is an error.
	Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error)
}

// checkBatch is how many digests one BlobChecker.Missing call of a
// registration's blob check asks about.
const checkBatch = 256

// maxListedMissing bounds the digests a MissingBlobsError lists.
const maxListedMissing = 100

// blobCheck checks that a manifest and every blob it references are
// stored, reading the manifests streaming, so its memory does not grow
// with the content's size or a tree's number of files.
type blobCheck struct {
	ctx     context.Context
	blobs   BlobChecker
	batch   []content.Digest
	inBatch map[content.Digest]bool // a chunk repeated in a manifest is asked about once per batch
	missing []content.Digest
	nMiss   int
}

// checkBlobs checks that the manifest md and every blob it references (the
// chunks; for a tree in the per-file layout, each file's manifest and its
// chunks; a stream-layout tree lists its chunks itself) are stored, and
// that the manifest describes content of the given digest and size. It
// returns a *MissingBlobsError when blobs are missing.
func (r *Registry) checkBlobs(ctx context.Context, md, contentDigest content.Digest, size int64) error {
	c := &blobCheck{ctx: ctx, blobs: r.blobs, inBatch: map[content.Digest]bool{}}
	if err := c.add(md); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	if c.nMiss > 0 { // no manifest, nothing more to read
		return c.result()
	}
	// A tree's file entries go to a spool (memory up to spool.MemLimit,
	// then a temporary file), one line each, to be checked after the scan
	// in groups: memory does not grow with the number of files.
	files := &spool.Spool{}
	defer files.Close()
	nfiles := 0
	m, err := c.scan(md, content.ManifestVisitor{
		Chunk: func(_ int, ch content.ChunkRef) error { return c.add(ch.Digest) },
		Entry: func(_ int, e content.TreeEntry) error {
			if e.Type != content.EntryFile || e.Manifest.IsZero() {
				return nil // a stream-layout tree's chunks are its own
			}
			nfiles++
			_, err := fmt.Fprintf(files, "%s %s %d\n", e.Manifest, e.Digest, e.Size)
			return err
		},
	})
	if err != nil {
		return err
	}
	if m.Digest != contentDigest || m.Size != size {
		return fmt.Errorf("%w: manifest %s describes %d bytes of content %s, not %d bytes of %s",
			ErrInvalid, md.Short(), m.Size, m.Digest, size, contentDigest)
	}
	// A tree: its files' manifests, then what each references, a group
	// at a time; once a blob is missing, only presence is checked.
	group := make([]content.TreeEntry, 0, checkBatch)
	checkGroup := func() error {
		for _, e := range group {
			if err := c.add(e.Manifest); err != nil {
				return err
			}
		}
		if err := c.flush(); err != nil {
			return err
		}
		if c.nMiss > 0 {
			group = group[:0]
			return nil
		}
		for _, e := range group {
			fm, err := c.scan(e.Manifest, content.ManifestVisitor{Chunk: func(_ int, ch content.ChunkRef) error { return c.add(ch.Digest) }})
			if err != nil {
				return err
			}
			if fm.Kind != content.KindFile || fm.Digest != e.Digest || fm.Size != e.Size {
				return fmt.Errorf("%w: tree manifest %s lists file manifest %s for %d bytes of %s, but it describes a %s of %d bytes of %s",
					ErrInvalid, md.Short(), e.Manifest.Short(), e.Size, e.Digest, fm.Kind, fm.Size, fm.Digest)
			}
		}
		group = group[:0]
		return nil
	}
	lines := bufio.NewScanner(files.Reader())
	for n := 0; n < nfiles; n++ {
		e, err := readFileLine(lines)
		if err != nil {
			return fmt.Errorf("check the files of tree manifest %s: %w", md.Short(), err)
		}
		if group = append(group, e); len(group) == checkBatch {
			if err := checkGroup(); err != nil {
				return err
			}
		}
	}
	if err := checkGroup(); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	return c.result()
}

// readFileLine reads back one "manifest digest size" line that
// checkBlobs spooled.
func readFileLine(lines *bufio.Scanner) (content.TreeEntry, error) {
	if !lines.Scan() {
		if err := lines.Err(); err != nil {
			return content.TreeEntry{}, err
		}
		return content.TreeEntry{}, io.ErrUnexpectedEOF
	}
	f := strings.Fields(lines.Text())
	if len(f) != 3 {
		return content.TreeEntry{}, fmt.Errorf("spooled line %q", lines.Text())
	}
	md, err := content.ParseDigest(f[0])
	if err != nil {
		return content.TreeEntry{}, err
	}
	d, err := content.ParseDigest(f[1])
	if err != nil {
		return content.TreeEntry{}, err
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return content.TreeEntry{}, err
	}
	return content.TreeEntry{Type: content.EntryFile, Manifest: md, Digest: d, Size: size}, nil
}

// scan reads and verifies the manifest blob d, handing its chunks or
// entries to v.
func (c *blobCheck) scan(d content.Digest, v content.ManifestVisitor) (content.Manifest, error) {
	rc, err := c.blobs.Get(c.ctx, d, nil)
	if err != nil {
		return content.Manifest{}, fmt.Errorf("read manifest %s: %w", d.Short(), err)
	}
	defer rc.Close()
	m, err := content.ScanManifestBlob(rc, d, v)
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, content.ErrInvalidManifest):
		return content.Manifest{}, fmt.Errorf("%w: blob %s is not a valid manifest: %w", ErrInvalid, d.Short(), err)
	default:
		return content.Manifest{}, fmt.Errorf("read manifest %s: %w", d.Short(), err)
	}
}

// add queues d for a presence check, checking a full batch.
func (c *blobCheck) add(d content.Digest) error {
	if c.inBatch[d] {
		return nil
	}
	c.inBatch[d] = true
	c.batch = append(c.batch, d)
	if len(c.batch) >= checkBatch {
		return c.flush()
	}
	return nil
}

// flush checks the queued digests.
func (c *blobCheck) flush() error {
	if len(c.batch) == 0 {
		return nil
	}
	missing, err := c.blobs.Missing(c.ctx, c.batch)
	c.batch = c.batch[:0]
	clear(c.inBatch)
	if err != nil {
		return fmt.Errorf("check blobs: %w", err)
	}
	c.nMiss += len(missing)
	for _, d := range missing {
		if len(c.missing) < maxListedMissing {
			c.missing = append(c.missing, d)
		}
	}
	return nil
}

func (c *blobCheck) result() error {
	if c.nMiss > 0 {
		return &MissingBlobsError{Digests: c.missing, Count: c.nMiss}
	}
	return nil
}
