package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// ManifestSchema is the schema version of file manifests and of tree
// manifests in the per-file layout (each file its own file manifest),
// written in the manifest's "schema" field. A manifest is a storage format,
// and a reader that silently ignored what a newer writer considered
// meaningful could return wrong bytes, so ParseManifest accepts only the
// versions it knows: ManifestSchema and StreamTreeSchema.
const ManifestSchema = 1

// StreamTreeSchema is the schema version of tree manifests in the stream
// layout: the tree's files are concatenated in path order into one stream,
// cut with the content-defined chunker like a file; the manifest lists the
// stream's chunks and, for each file, its offset and size in the stream
// and its own SHA-256. Its chunks are ordinary blobs, so deduplication and
// garbage collection treat them as any file's chunks.
const StreamTreeSchema = 2

// Manifest limits. They bound the memory a reader spends on one manifest
// (about 100 bytes of JSON per chunk or entry).
const (
	// MaxManifestSize is the largest manifest blob ParseManifest accepts.
	MaxManifestSize = 128 << 20
	// MaxChunks is the most chunks a file manifest may list: 2 TiB at the
	// default average chunk size.
	MaxChunks = 1 << 20
	// MaxTreeEntries is the most entries a tree manifest may list.
	MaxTreeEntries = 1 << 20
	// MaxPathLen is the longest tree entry path, and the longest symbolic
	// link target, in bytes.
	MaxPathLen = 4096
	// maxNameLen is the longest path element, in bytes.
	maxNameLen = 255
	// maxMediaTypeLen is the longest media type, in bytes.
	maxMediaTypeLen = 255
	// maxSize bounds sizes so that sums cannot overflow.
	maxSize = 1 << 62
)

// Errors callers branch on; use errors.Is.
var (
	// ErrInvalidManifest is wrapped by every manifest parsing and
	// validation error.
	ErrInvalidManifest = errors.New("invalid manifest")
	// ErrUnsafePath is wrapped (together with ErrInvalidManifest when it
	// comes from a manifest) when a tree entry path is not a clean,
	// relative, slash-separated path inside the tree.
	ErrUnsafePath = errors.New("unsafe path")
)

// Kind says what a manifest describes.
type Kind string

// Manifest kinds.
const (
	// KindFile: one byte stream, stored as an ordered list of chunks.
	KindFile Kind = "file"
	// KindTree: a directory, stored as a list of entries whose files each
	// have their own file manifest.
	KindTree Kind = "tree"
)

// EntryType is the type of a tree entry.
type EntryType string

// Tree entry types. Symbolic links are stored in stream-layout trees
// (StreamTreeSchema) only; devices, sockets and pipes are never stored (see
// the transfer package).
const (
	EntryFile    EntryType = "file"
	EntryDir     EntryType = "dir"
	EntrySymlink EntryType = "symlink"
)

// ChunkRef names one chunk of a file manifest.
type ChunkRef struct {
	Digest Digest `json:"digest"`
	Size   int64  `json:"size"`
}

// TreeEntry is one file, directory or symbolic link of a tree manifest.
type TreeEntry struct {
	// Path is relative to the tree root, slash-separated and clean: no
	// leading slash, no "." or ".." elements, no empty elements, no
	// backslashes or control characters, valid UTF-8 (see ValidatePath).
	Path string    `json:"path"`
	Type EntryType `json:"type"`
	// Mode holds the permission bits (0o777 at most; set-id and sticky bits
	// are not stored); 0 for a symbolic link, whose permissions mean
	// nothing.
	Mode uint32 `json:"mode"`
	// Size and Digest are set for files only: the content size and its
	// SHA-256.
	Size   int64  `json:"size,omitzero"`
	Digest Digest `json:"digest,omitzero"`
	// Manifest is the digest of a file's own file manifest, in per-file
	// layout trees (ManifestSchema) only.
	Manifest Digest `json:"manifest,omitzero"`
	// Offset is where a file's bytes start in the tree's stream, in
	// stream-layout trees (StreamTreeSchema) only: the sum of the sizes of
	// the files before it.
	Offset int64 `json:"offset,omitzero"`
	// Target is a symbolic link's text, as readlink returns it (never
	// resolved when stored).
	Target string `json:"target,omitzero"`
}

// Manifest describes how an artifact's bytes are stored. It is encoded as
// canonical JSON (Encode) and stored as a blob named by the digest of that
// encoding.
//
// For KindFile, Digest is the SHA-256 of the whole content (what sha256sum
// prints), Chunker the parameters it was cut with and Chunks the chunks in
// order. For KindTree, Entries lists the tree sorted by path, Size is the
// sum of the file sizes and Digest is TreeDigest(Entries): a digest of the
// paths, types, modes, sizes, content digests and link targets that does
// not depend on how the files were stored. A stream-layout tree (Schema
// StreamTreeSchema) also has Chunker and Chunks: the chunks of the
// concatenation of its files in path order, whose sizes sum to Size.
type Manifest struct {
	// Schema is 0 (ManifestSchema: parsed manifests of schema 1 have 0) or
	// StreamTreeSchema.
	Schema    int
	Kind      Kind
	MediaType string // optional
	Size      int64
	Digest    Digest
	Chunker   ChunkerParams // KindFile, and KindTree in StreamTreeSchema
	Chunks    []ChunkRef    // KindFile, and KindTree in StreamTreeSchema
	Entries   []TreeEntry   // KindTree only
}

// Stream reports whether m is a tree in the stream layout.
func (m Manifest) Stream() bool { return m.Kind == KindTree && m.Schema == StreamTreeSchema }

// schema returns m's schema version, ManifestSchema for 0.
func (m Manifest) schema() int {
	if m.Schema == 0 {
		return ManifestSchema
	}
	return m.Schema
}

// manifestJSON is the encoding. Field order here is the canonical order.
type manifestJSON struct {
	Schema    int            `json:"schema"`
	Kind      Kind           `json:"kind"`
	MediaType string         `json:"media_type,omitempty"`
	Size      int64          `json:"size"`
	Digest    Digest         `json:"digest"`
	Chunker   *ChunkerParams `json:"chunker,omitempty"`
	Chunks    *[]ChunkRef    `json:"chunks,omitempty"`
	Entries   *[]TreeEntry   `json:"entries,omitempty"`
}

// Encode validates the manifest and returns its canonical encoding: JSON
// with a fixed field order, no insignificant whitespace, and a "schema"
// field. The same manifest always encodes to the same bytes, so the same
// content pushed twice yields the same manifest digest.
func (m Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	w := manifestJSON{Schema: m.schema(), Kind: m.Kind, MediaType: m.MediaType, Size: m.Size, Digest: m.Digest}
	if m.Kind == KindFile || m.Stream() {
		chunker, chunks := m.Chunker, m.Chunks
		if chunks == nil {
			chunks = []ChunkRef{}
		}
		w.Chunker, w.Chunks = &chunker, &chunks
	}
	if m.Kind == KindTree {
		entries := m.Entries
		if entries == nil {
			entries = []TreeEntry{}
		}
		w.Entries = &entries
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return b, nil
}

// ParseManifest decodes and validates a manifest. It is strict: unknown
// fields, duplicate fields, an unknown schema version, trailing
// data, and anything Validate refuses are errors wrapping
// ErrInvalidManifest. Tree entry paths are checked with ValidatePath, so a
// parsed tree manifest never names a path outside its root. The input need
// not be byte-for-byte canonical. ScanManifest does the same without
// holding the chunk list.
func ParseManifest(b []byte) (Manifest, error) {
	if len(b) > MaxManifestSize {
		return Manifest{}, fmt.Errorf("%w: %d bytes is over the limit of %d", ErrInvalidManifest, len(b), MaxManifestSize)
	}
	var chunks []ChunkRef
	var entries []TreeEntry
	m, err := ScanManifest(bytes.NewReader(b), ManifestVisitor{
		Chunk: func(_ int, c ChunkRef) error { chunks = append(chunks, c); return nil },
		Entry: func(_ int, e TreeEntry) error { entries = append(entries, e); return nil },
	})
	if err != nil {
		return Manifest{}, err
	}
	m.Chunks, m.Entries = chunks, entries
	// ScanManifest has checked everything Validate does; checking the
	// assembled manifest again costs little and guards the equivalence.
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Validate checks the manifest's invariants:
//   - file: a valid content digest (the empty-content digest when Size is
//     0), valid chunker parameters, at most MaxChunks chunks each with a
//     digest and a size in (0, Chunker.Max], sizes summing to Size;
//   - tree: entries sorted by path with no duplicates, each path safe
//     (ValidatePath), no entry below a file or symbolic link, files with
//     digests and dirs without, Size the sum of file sizes and Digest
//     equal to TreeDigest(Entries); per-file layout: every file with its
//     manifest, no offsets, no symbolic links; stream layout: no file
//     manifests, each file's offset the sum of the sizes before it, valid
//     chunker parameters and chunks as for a file, summing to Size;
//   - both: a media type of at most 255 bytes of printable UTF-8.
//
// Errors wrap ErrInvalidManifest.
func (m Manifest) Validate() error {
	if err := validateCommon(m); err != nil {
		return err
	}
	switch {
	case m.Kind == KindFile && m.schema() != ManifestSchema:
		return fmt.Errorf("%w: schema %d is for tree manifests; a file manifest has schema %d", ErrInvalidManifest, m.schema(), ManifestSchema)
	case m.schema() != ManifestSchema && m.schema() != StreamTreeSchema:
		return fmt.Errorf("%w: %w", ErrInvalidManifest, unknownSchema(m.schema()))
	case m.Kind == KindFile:
		return m.validateFile()
	}
	return m.validateTree()
}

// unknownSchema is the error for a schema version this artstore does not
// read.
func unknownSchema(v int) error {
	return fmt.Errorf("schema %d is not supported (this version of artstore reads schemas %d and %d; upgrade to read newer manifests)",
		v, ManifestSchema, StreamTreeSchema)
}

// validateCommon checks what every manifest needs: a known kind, a media
// type, a size in range and a digest.
func validateCommon(m Manifest) error {
	if err := validateMediaType(m.MediaType); err != nil {
		return err
	}
	if m.Size < 0 || m.Size > maxSize {
		return fmt.Errorf("%w: size %d is out of range", ErrInvalidManifest, m.Size)
	}
	if m.Digest.IsZero() {
		return fmt.Errorf("%w: missing content digest", ErrInvalidManifest)
	}
	if m.Kind != KindFile && m.Kind != KindTree {
		return fmt.Errorf("%w: unknown kind %q (want %q or %q)", ErrInvalidManifest, clip(string(m.Kind)), KindFile, KindTree)
	}
	return nil
}

func (m Manifest) validateFile() error {
	if len(m.Entries) > 0 {
		return fmt.Errorf("%w: a file manifest has no entries", ErrInvalidManifest)
	}
	if err := m.Chunker.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	if len(m.Chunks) > MaxChunks {
		return fmt.Errorf("%w: %d chunks is over the limit of %d", ErrInvalidManifest, len(m.Chunks), MaxChunks)
	}
	var sum int64
	for i, c := range m.Chunks {
		if err := checkChunk(i, c, m.Chunker.Max); err != nil {
			return err
		}
		sum += c.Size // cannot overflow: at most MaxChunks * MaxChunkSize
	}
	return validateFileHeader(m, len(m.Chunks), sum)
}

// checkChunk checks chunk i of a file manifest on its own.
func checkChunk(i int, c ChunkRef, max int64) error {
	if i >= MaxChunks {
		return fmt.Errorf("%w: more than %d chunks is over the limit of %d", ErrInvalidManifest, MaxChunks, MaxChunks)
	}
	if c.Digest.IsZero() {
		return fmt.Errorf("%w: chunk %d has no digest", ErrInvalidManifest, i)
	}
	if c.Size <= 0 || c.Size > max {
		return fmt.Errorf("%w: chunk %d has size %d, outside (0, %d]", ErrInvalidManifest, i, c.Size, max)
	}
	return nil
}

// validateFileHeader checks a file manifest's fields against its n chunks
// of sizes summing to sum (each checked with checkChunk).
func validateFileHeader(m Manifest, n int, sum int64) error {
	if err := m.Chunker.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	if n > MaxChunks {
		return fmt.Errorf("%w: %d chunks is over the limit of %d", ErrInvalidManifest, n, MaxChunks)
	}
	if sum != m.Size {
		return fmt.Errorf("%w: chunk sizes sum to %d but the size is %d", ErrInvalidManifest, sum, m.Size)
	}
	if m.Size == 0 && m.Digest != FromBytes(nil) {
		return fmt.Errorf("%w: empty content must have digest %s, not %s", ErrInvalidManifest, FromBytes(nil), m.Digest)
	}
	return nil
}

func (m Manifest) validateTree() error {
	if m.Stream() {
		if err := m.Chunker.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidManifest, err)
		}
		if len(m.Chunks) > MaxChunks {
			return fmt.Errorf("%w: %d chunks is over the limit of %d", ErrInvalidManifest, len(m.Chunks), MaxChunks)
		}
		var sum int64
		for i, c := range m.Chunks {
			if err := checkChunk(i, c, m.Chunker.Max); err != nil {
				return err
			}
			sum += c.Size
		}
		if sum != m.Size {
			return fmt.Errorf("%w: chunk sizes sum to %d but the size is %d", ErrInvalidManifest, sum, m.Size)
		}
	} else if len(m.Chunks) > 0 || m.Chunker != (ChunkerParams{}) {
		return fmt.Errorf("%w: a tree manifest of schema %d has no chunks or chunker", ErrInvalidManifest, ManifestSchema)
	}
	if len(m.Entries) > MaxTreeEntries {
		return fmt.Errorf("%w: %d entries is over the limit of %d", ErrInvalidManifest, len(m.Entries), MaxTreeEntries)
	}
	var t treeCheck
	for _, e := range m.Entries {
		if err := t.add(e); err != nil {
			return err
		}
	}
	if err := t.layout(m.schema()); err != nil {
		return err
	}
	return validateTreeHeader(m, t.size, t.digest.sum())
}

// fileChain holds, of the file (and symbolic link) entries seen so far in
// path order, those that are a prefix (as strings) of the latest entry: the
// only ones a later entry can be below. The paths sorted after a string s that start
// with s form one contiguous run, so a file that stops being a prefix of
// the latest entry never becomes one again; and the files in the chain are
// prefixes of one another, at most MaxPathLen of them. A set of every file
// path, which it replaces, grew with the tree.
type fileChain []string

// below returns the file that path p (which must sort after every path
// seen before) is below, or "". It forgets the files p does not start
// with.
func (c *fileChain) below(p string) string {
	s := *c
	for len(s) > 0 && !strings.HasPrefix(p, s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	*c = s
	for _, f := range s {
		if len(p) > len(f) && p[len(f)] == '/' {
			return f
		}
	}
	return ""
}

// checkEntry checks entry i of a tree manifest on its own and against the
// one before it (t.prev) and the files and links before it (t.files),
// adding e's to them, and returns t.size plus e's size. What depends on the
// manifest's layout (file manifests or offsets, links), which a
// non-canonical manifest may name only after its entries, is recorded in t
// and checked by layout.
func checkEntry(i int, e TreeEntry, t *treeCheck) (int64, error) {
	sum := t.size
	if err := ValidatePath(e.Path); err != nil {
		return sum, fmt.Errorf("%w: entry %d: %w", ErrInvalidManifest, i, err)
	}
	if i > 0 && t.prev >= e.Path {
		return sum, fmt.Errorf("%w: entry %q: entries must be sorted by path without duplicates", ErrInvalidManifest, e.Path)
	}
	if f := t.files.below(e.Path); f != "" {
		return sum, fmt.Errorf("%w: entry %q is below %q, which is a file or a symbolic link", ErrInvalidManifest, e.Path, f)
	}
	if e.Mode&^0o777 != 0 {
		return sum, fmt.Errorf("%w: entry %q: mode %#o has bits other than permissions", ErrInvalidManifest, e.Path, e.Mode)
	}
	switch e.Type {
	case EntryFile:
		if e.Digest.IsZero() || e.Target != "" {
			return sum, fmt.Errorf("%w: file entry %q needs a digest and has no link target", ErrInvalidManifest, e.Path)
		}
		if e.Size < 0 || e.Size > maxSize-sum {
			return sum, fmt.Errorf("%w: file entry %q: size %d is out of range", ErrInvalidManifest, e.Path, e.Size)
		}
		if e.Manifest.IsZero() {
			t.noManifest = e.Path
		} else {
			t.withManifest = e.Path
		}
		if e.Offset != 0 {
			t.withOffset = e.Path
		}
		if e.Offset != sum && t.badOffset == "" {
			t.badOffset = e.Path
		}
		t.files = append(t.files, e.Path)
		return sum + e.Size, nil
	case EntryDir:
		if e.Size != 0 || !e.Digest.IsZero() || !e.Manifest.IsZero() || e.Offset != 0 || e.Target != "" {
			return sum, fmt.Errorf("%w: directory entry %q has a size, digest, offset or link target", ErrInvalidManifest, e.Path)
		}
		return sum, nil
	case EntrySymlink:
		if e.Size != 0 || !e.Digest.IsZero() || !e.Manifest.IsZero() || e.Offset != 0 || e.Mode != 0 {
			return sum, fmt.Errorf("%w: symbolic link entry %q has a size, digest, offset or mode", ErrInvalidManifest, e.Path)
		}
		if err := ValidateLinkTarget(e.Target); err != nil {
			return sum, fmt.Errorf("%w: symbolic link entry %q: %w", ErrInvalidManifest, e.Path, err)
		}
		t.link = e.Path
		t.files = append(t.files, e.Path)
		return sum, nil
	default:
		return sum, fmt.Errorf("%w: entry %q has unknown type %q (want %q, %q or %q)", ErrInvalidManifest, e.Path, clip(string(e.Type)), EntryFile, EntryDir, EntrySymlink)
	}
}

// ErrInvalidLinkTarget is wrapped by ValidateLinkTarget's errors.
var ErrInvalidLinkTarget = errors.New("invalid symbolic link target")

// ValidateLinkTarget checks that s can be stored as a symbolic link's
// text: 1 to MaxPathLen bytes of valid UTF-8 without control characters.
// It says nothing about where the link points; a pull decides that (see
// the transfer package). Errors wrap ErrInvalidLinkTarget.
func ValidateLinkTarget(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrInvalidLinkTarget)
	case len(s) > MaxPathLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidLinkTarget, MaxPathLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidLinkTarget, clip(s))
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %q: contains a control character", ErrInvalidLinkTarget, clip(s))
		}
	}
	return nil
}

// validateTreeHeader checks a tree manifest's size and digest against its
// entries' (checked with checkEntry) size sum and TreeDigest.
func validateTreeHeader(m Manifest, sum int64, digest Digest) error {
	if sum != m.Size {
		return fmt.Errorf("%w: file sizes sum to %d but the size is %d", ErrInvalidManifest, sum, m.Size)
	}
	if m.Digest != digest {
		return fmt.Errorf("%w: tree digest is %s but the entries hash to %s", ErrInvalidManifest, m.Digest, digest)
	}
	return nil
}

// treeContentJSON is what TreeDigest hashes: the entries without their
// manifest digests.
type treeContentJSON struct {
	Path   string    `json:"path"`
	Type   EntryType `json:"type"`
	Mode   uint32    `json:"mode"`
	Size   int64     `json:"size,omitzero"`
	Digest Digest    `json:"digest,omitzero"`
	Target string    `json:"target,omitzero"`
}

// TreeDigest returns the content digest of a tree: the SHA-256 of the
// canonical JSON array of the entries' path, type, mode, size, content
// digest and link target, in the order given (manifests keep them sorted
// by path). It leaves out the per-file manifest digests and stream offsets
// so that the same tree has the same content digest whatever layout and
// chunker stored it.
func TreeDigest(entries []TreeEntry) Digest {
	var t treeDigester
	for _, e := range entries {
		t.add(e)
	}
	return t.sum()
}

// treeDigester computes TreeDigest an entry at a time: the array's JSON is
// its elements' JSON joined by commas, so it hashes each element as it
// comes. The zero value is ready; sum ends it.
type treeDigester struct{ h hash.Hash }

func (t *treeDigester) add(e TreeEntry) {
	b, err := json.Marshal(treeContentJSON{Path: e.Path, Type: e.Type, Mode: e.Mode, Size: e.Size, Digest: e.Digest, Target: e.Target})
	if err != nil { // cannot happen: strings, numbers and digests only
		panic("content: encode tree entry: " + err.Error())
	}
	if t.h == nil {
		t.h = sha256.New()
		t.h.Write([]byte{'['})
	} else {
		t.h.Write([]byte{','})
	}
	t.h.Write(b)
}

func (t *treeDigester) sum() Digest {
	if t.h == nil {
		return FromBytes([]byte("[]"))
	}
	t.h.Write([]byte{']'})
	return FromSHA256([sha256.Size]byte(t.h.Sum(nil)))
}

// treeCheck checks a tree's entries one at a time, in order, as Validate
// does, and sums their sizes and digests them on the way (Validate, the
// scanner and TreeEntryEncoder share it). Its memory is bounded by a
// path's length (see fileChain).
type treeCheck struct {
	n      int
	prev   string
	files  fileChain
	size   int64
	digest treeDigester
	// A path of each kind of entry layout checks look at, "" for none:
	// a file without and one with a file manifest, one with an offset,
	// the first whose offset is not the sum of the sizes before it, a
	// symbolic link.
	noManifest, withManifest, withOffset, badOffset, link string
}

// add checks entry e (wrapping ErrInvalidManifest) and takes it in.
func (t *treeCheck) add(e TreeEntry) error {
	if t.n >= MaxTreeEntries {
		return fmt.Errorf("%w: more than %d entries is over the limit of %d", ErrInvalidManifest, MaxTreeEntries, MaxTreeEntries)
	}
	size, err := checkEntry(t.n, e, t)
	if err != nil {
		return err
	}
	t.digest.add(e)
	t.n, t.prev, t.size = t.n+1, e.Path, size
	return nil
}

// layout checks what the entries seen depend on the tree's schema for.
func (t *treeCheck) layout(schema int) error {
	switch {
	case schema == ManifestSchema && t.noManifest != "":
		return fmt.Errorf("%w: file entry %q needs a manifest (schema %d)", ErrInvalidManifest, t.noManifest, schema)
	case schema == ManifestSchema && t.withOffset != "":
		return fmt.Errorf("%w: file entry %q has an offset, which schema %d trees do not have", ErrInvalidManifest, t.withOffset, schema)
	case schema == ManifestSchema && t.link != "":
		return fmt.Errorf("%w: entry %q is a symbolic link, which schema %d trees do not store", ErrInvalidManifest, t.link, schema)
	case schema == StreamTreeSchema && t.withManifest != "":
		return fmt.Errorf("%w: file entry %q has a file manifest, which schema %d trees do not have", ErrInvalidManifest, t.withManifest, schema)
	case schema == StreamTreeSchema && t.badOffset != "":
		return fmt.Errorf("%w: file entry %q: its offset is not the sum of the sizes of the files before it", ErrInvalidManifest, t.badOffset)
	}
	return nil
}

// NewTreeManifest builds a tree manifest from entries in any order: it
// sorts them by path, computes Size and Digest, and validates the result.
// The entries slice is sorted in place.
func NewTreeManifest(entries []TreeEntry, mediaType string) (Manifest, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	var size int64
	for _, e := range entries {
		if e.Type == EntryFile && e.Size > 0 && e.Size <= maxSize-size {
			size += e.Size
		}
	}
	m := Manifest{Kind: KindTree, MediaType: mediaType, Size: size, Digest: TreeDigest(entries)}
	if len(entries) > 0 {
		m.Entries = entries
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// ValidatePath checks that p can name a file inside a tree on any system:
// non-empty, at most MaxPathLen bytes of valid UTF-8, relative (no leading
// slash), clean in the sense of path.Clean (no empty, "." or ".."
// elements, no trailing slash), without backslashes or control characters,
// and with no element longer than 255 bytes. Errors wrap ErrUnsafePath.
func ValidatePath(p string) error {
	fail := func(why string) error { return fmt.Errorf("%w %q: %s", ErrUnsafePath, clip(p), why) }
	switch {
	case p == "":
		return fail("empty path")
	case len(p) > MaxPathLen:
		return fail(fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case !utf8.ValidString(p):
		return fail("not valid UTF-8")
	case p[0] == '/':
		return fail("absolute path")
	case p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return fail("refers outside the tree")
	case path.Clean(p) != p:
		return fail("not a clean path (empty, '.' or '..' element, or trailing slash)")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fail("contains a backslash or a control character")
		}
	}
	for _, name := range strings.Split(p, "/") {
		if len(name) > maxNameLen {
			return fail(fmt.Sprintf("an element is longer than %d bytes", maxNameLen))
		}
	}
	return nil
}

func validateMediaType(s string) error {
	if len(s) > maxMediaTypeLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: media type must be at most %d bytes of UTF-8", ErrInvalidManifest, maxMediaTypeLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: media type %q contains a control character", ErrInvalidManifest, clip(s))
		}
	}
	return nil
}

// ChunkSpan returns the chunks of a file manifest that cover the inclusive
// byte range r: indexes first..last into Chunks, and the content offset at
// which chunk first starts. It fails (wrapping ErrInvalidRange) when r does
// not lie inside the content.
func (m Manifest) ChunkSpan(r Range) (first, last int, start int64, err error) {
	if m.Kind != KindFile {
		return 0, 0, 0, fmt.Errorf("%w: byte ranges apply to file manifests, not %q", ErrInvalidRange, m.Kind)
	}
	if err := r.Validate(m.Size); err != nil {
		return 0, 0, 0, err
	}
	first = -1
	var off int64
	for i, c := range m.Chunks {
		end := off + c.Size
		if first < 0 && r.Start < end {
			first, start = i, off
		}
		if r.End < end {
			return first, i, start, nil
		}
		off = end
	}
	// Unreachable for a valid manifest: the chunks cover Size bytes.
	return 0, 0, 0, fmt.Errorf("%w %s: chunks do not cover the range", ErrInvalidRange, r)
}
