package fsck

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/content"
)

// This file is the one place where a check learns which file manifests an
// artifact's manifest refers to. Local checks and the remote client's
// check through the daemon's blob API both walk artifacts with EachFile,
// so a new tree format changes the walk here only.

// ReadManifest reads, verifies against d and parses the manifest blob d.
type ReadManifest func(ctx context.Context, d content.Digest) (content.Manifest, error)

// File is one file of an artifact, as its manifests describe it.
type File struct {
	// Path is "" for a file artifact, else the file's path in the tree.
	Path string
	// Digest is the digest of the file's manifest: the artifact's own
	// manifest for a file artifact.
	Digest content.Digest
	// Manifest is the file's manifest; zero when Err is set.
	Manifest content.Manifest
	// Err is why the manifest of a tree's file could not be read.
	Err error
	// Listed is the tree's entry for the file (zero for a file artifact).
	Listed content.TreeEntry
}

// What names the file's manifest in messages: "manifest" for a file
// artifact, "manifest of PATH" for a file in a tree.
func (f File) What() string {
	if f.Path == "" {
		return "manifest"
	}
	return "manifest of " + f.Path
}

// Mismatch describes how a tree's file manifest disagrees with the entry
// the tree lists for it ("" when it agrees, or for a file artifact).
func (f File) Mismatch() string {
	if f.Err != nil || f.Listed.Type != content.EntryFile {
		return ""
	}
	m, e := f.Manifest, f.Listed
	if m.Kind == content.KindFile && m.Digest == e.Digest && m.Size == e.Size {
		return ""
	}
	return fmt.Sprintf("%s %s does not describe the file the tree lists (%s, %d bytes)", f.What(), f.Digest.Short(), e.Digest, e.Size)
}

// EachFile calls fn with every file of the artifact whose manifest m was
// read from md: for a file artifact, m itself; for a tree, the manifest of
// each regular file it lists, read with read, in the tree's order. A file
// manifest that cannot be read is passed with Err set, so fn decides
// whether the walk goes on; an error from fn stops it and is returned.
func EachFile(ctx context.Context, md content.Digest, m content.Manifest, read ReadManifest, fn func(File) error) error {
	if m.Kind != content.KindTree {
		return fn(File{Digest: md, Manifest: m})
	}
	for _, e := range m.Entries {
		if e.Type != content.EntryFile {
			continue
		}
		f := File{Path: e.Path, Digest: e.Manifest, Listed: e}
		f.Manifest, f.Err = read(ctx, e.Manifest)
		if f.Err != nil {
			f.Manifest = content.Manifest{}
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// References calls fn with each blob manifest m refers to directly: the
// chunks of a file, the file manifests of a tree.
func References(m content.Manifest, fn func(content.Digest)) {
	for _, c := range m.Chunks {
		fn(c.Digest)
	}
	for _, e := range m.Entries {
		if e.Type == content.EntryFile {
			fn(e.Manifest)
		}
	}
}
