package bundle

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
)

// bytes checks an artifact's manifest against its registration and its
// content against the manifest, chunk by chunk.
func (v *verifier) bytes(a Artifact) error {
	rep := v.arts[a.ID]
	name := artifactName(a.ID, "manifest")
	var sp spool.Spool
	defer sp.Close()
	if err := v.member(name, content.MaxManifestSize, a.Manifest, &sp); err != nil {
		return err
	}
	if err := v.keep(a.Manifest, sp.Len(), sp.Reader()); err != nil {
		return err
	}
	var chunks []content.ChunkRef
	m, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{
		Chunk: func(_ int, c content.ChunkRef) error { chunks = append(chunks, c); return nil },
	})
	if err != nil {
		return invalid(name, "is not a valid manifest: %v", err)
	}
	if m.Digest != a.Digest || m.Size != a.Size {
		return invalid(name, "describes %s of %d bytes; %s was registered as %s of %d bytes", m.Digest, m.Size, a.Ref, a.Digest, a.Size)
	}
	rep.Kind = string(m.Kind)
	switch {
	case m.Kind == content.KindFile:
		cv := &chunkVerifier{v: v, chunks: chunks}
		if err := v.content(artifactName(a.ID, "content"), m.Size, m.Digest, cv); err != nil {
			return err
		}
		if err := cv.done(artifactName(a.ID, "content")); err != nil {
			return err
		}
	case m.Stream():
		if err := v.streamTree(a, &sp, chunks); err != nil {
			return err
		}
	default:
		if err := v.perFileTree(a, &sp); err != nil {
			return err
		}
	}
	rep.Verified = true
	return nil
}

// member copies the next member, name, into w and checks it hashes to d.
func (v *verifier) member(name string, max int64, d content.Digest, w io.Writer) error {
	h, err := v.next(name)
	if err != nil {
		return err
	}
	if h.Size > max {
		return invalid(name, "is %d bytes, more than the %d such a member can be", h.Size, max)
	}
	dg := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, dg), v.tr); err != nil {
		return invalid(name, "cannot be read: %v", err)
	}
	if got := content.FromSHA256([32]byte(dg.Sum(nil))); got != d {
		return invalid(name, "has digest %s, not the registered %s: it was changed", got, d)
	}
	return nil
}

// keep hands a verified blob to Options.Blob.
func (v *verifier) keep(d content.Digest, size int64, r io.Reader) error {
	if v.opts.Blob == nil {
		return nil
	}
	if err := v.opts.Blob(d, size, r); err != nil {
		return &keepError{fmt.Errorf("keep %s: %w", d, err)}
	}
	return nil
}

// keepError is Options.Blob's failure: not the bundle's.
type keepError struct{ err error }

func (e *keepError) Error() string { return e.err.Error() }
func (e *keepError) Unwrap() error { return e.err }

// content checks that the next member, name, is size bytes hashing to d,
// handing its bytes to cv too.
func (v *verifier) content(name string, size int64, d content.Digest, cv *chunkVerifier) error {
	h, err := v.next(name)
	if err != nil {
		return err
	}
	if h.Size != size {
		return invalid(name, "is %d bytes; the manifest says %d", h.Size, size)
	}
	dg := sha256.New()
	cv.member = name
	if _, err := io.Copy(io.MultiWriter(dg, cv), v.tr); err != nil {
		if passThrough(err) {
			return err
		}
		return invalid(name, "cannot be read: %v", err)
	}
	if got := content.FromSHA256([32]byte(dg.Sum(nil))); got != d {
		return invalid(name, "has digest %s, not %s: it was changed", got, d)
	}
	v.rep.Bytes += size
	return nil
}

// streamTree checks a stream-layout tree's files: each against its entry,
// and their concatenation against the tree's chunks.
func (v *verifier) streamTree(a Artifact, sp *spool.Spool, chunks []content.ChunkRef) error {
	rep := v.arts[a.ID]
	cv := &chunkVerifier{v: v, chunks: chunks}
	_, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{
		Entry: func(_ int, e content.TreeEntry) error {
			if e.Type != content.EntryFile {
				return nil
			}
			rep.Files++
			return v.content(artifactName(a.ID, "files/"+e.Path), e.Size, e.Digest, cv)
		},
	})
	if err != nil {
		return asInvalid(err, artifactName(a.ID, "manifest"))
	}
	return cv.done(artifactName(a.ID, "manifest"))
}

// perFileTree checks a per-file layout tree: each file's manifest against
// its entry, then the file against that manifest.
func (v *verifier) perFileTree(a Artifact, sp *spool.Spool) error {
	rep := v.arts[a.ID]
	_, err := content.ScanManifest(sp.Reader(), content.ManifestVisitor{
		Entry: func(_ int, e content.TreeEntry) error {
			if e.Type != content.EntryFile {
				return nil
			}
			rep.Files++
			name := artifactName(a.ID, "file-manifests/"+e.Path)
			var fsp spool.Spool
			defer fsp.Close()
			if err := v.member(name, content.MaxManifestSize, e.Manifest, &fsp); err != nil {
				return err
			}
			if err := v.keep(e.Manifest, fsp.Len(), fsp.Reader()); err != nil {
				return err
			}
			var chunks []content.ChunkRef
			fm, err := content.ScanManifest(fsp.Reader(), content.ManifestVisitor{
				Chunk: func(_ int, c content.ChunkRef) error { chunks = append(chunks, c); return nil },
			})
			if err != nil {
				return invalid(name, "is not a valid file manifest: %v", err)
			}
			if fm.Kind != content.KindFile || fm.Digest != e.Digest || fm.Size != e.Size {
				return invalid(name, "describes %s of %d bytes; the tree lists %s as %s of %d bytes", fm.Digest, fm.Size, e.Path, e.Digest, e.Size)
			}
			cv := &chunkVerifier{v: v, chunks: chunks}
			fname := artifactName(a.ID, "files/"+e.Path)
			if err := v.content(fname, e.Size, e.Digest, cv); err != nil {
				return err
			}
			return cv.done(fname)
		},
	})
	return asInvalid(err, artifactName(a.ID, "manifest"))
}

// asInvalid passes a verification failure through and makes any other
// error (a manifest the scan refuses) one of member.
func asInvalid(err error, member string) error {
	if err == nil {
		return nil
	}
	if passThrough(err) {
		return err
	}
	return invalid(member, "%v", err)
}

// passThrough reports whether err is already a verification failure, or
// Options.Blob's, which is not the bundle's fault.
func passThrough(err error) bool {
	var ie *invalidError
	var ke *keepError
	return errors.As(err, &ie) || errors.As(err, &ke)
}

// chunkVerifier checks a byte stream against a chunk list: each chunk's
// SHA-256, over exactly its size.
type chunkVerifier struct {
	v      *verifier
	chunks []content.ChunkRef
	member string // for messages: where the bytes come from
	i      int    // chunk being hashed
	left   int64  // its bytes still to come
	h      hash.Hash
	buf    []byte // its bytes so far, when Options.Blob wants them
}

func (c *chunkVerifier) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.h == nil {
			if c.i >= len(c.chunks) {
				return 0, invalid(c.member, "has more bytes than the manifest's chunks hold")
			}
			c.h, c.left = sha256.New(), c.chunks[c.i].Size
		}
		k := min(int64(len(p)), c.left)
		c.h.Write(p[:k])
		if c.v.opts.Blob != nil {
			c.buf = append(c.buf, p[:k]...)
		}
		p, c.left = p[k:], c.left-k
		if c.left == 0 {
			if err := c.finish(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *chunkVerifier) finish() error {
	want := c.chunks[c.i].Digest
	if got := content.FromSHA256([32]byte(c.h.Sum(nil))); got != want {
		return invalid(c.member, "chunk %d of the manifest (%s) does not match the bytes here (%s): they were changed", c.i, want, got)
	}
	if err := c.v.keep(want, int64(len(c.buf)), bytes.NewReader(c.buf)); err != nil {
		return err
	}
	c.buf = c.buf[:0]
	c.v.rep.Chunks++
	c.i++
	c.h = nil
	return nil
}

// done checks that every chunk was seen whole.
func (c *chunkVerifier) done(member string) error {
	if c.h != nil || c.i != len(c.chunks) {
		return invalid(member, "the bytes end at chunk %d of the manifest's %d: they were cut short", c.i, len(c.chunks))
	}
	return nil
}
