package content

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A file manifest lists about 100 bytes of JSON per chunk, so the manifest
// of a very large file (MaxChunks chunks: 2 TiB at the default chunk size)
// is about 100 MiB. The functions here write and read one without holding
// its chunk list in memory: ChunkListEncoder and FileManifestFrame write
// the canonical encoding in pieces, and ScanManifest reads and validates
// any manifest while handing its chunks or entries to a visitor one by one.

// ChunkListEncoder writes the "chunks" array of a file manifest's canonical
// encoding (without its brackets) to a writer, one chunk at a time, and
// checks each chunk as Validate would. With FileManifestFrame it produces
// exactly the bytes Manifest.Encode would for the same manifest.
type ChunkListEncoder struct {
	w      io.Writer
	params ChunkerParams
	n      int
	size   int64
	buf    []byte
}

// NewChunkListEncoder returns an encoder writing to w the chunk list of a
// file cut with params.
func NewChunkListEncoder(w io.Writer, params ChunkerParams) *ChunkListEncoder {
	return &ChunkListEncoder{w: w, params: params}
}

// Add writes the next chunk. It fails, wrapping ErrInvalidManifest, for a
// chunk without a digest, with a size outside (0, params.Max], or past
// MaxChunks chunks; write errors are returned as they are.
func (e *ChunkListEncoder) Add(c ChunkRef) error {
	// The sum cannot overflow: at most MaxChunks chunks of at most
	// MaxChunkSize bytes.
	if err := checkChunk(e.n, c, e.params.Max); err != nil {
		return err
	}
	b := e.buf[:0]
	if e.n > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"digest":"`...)
	b = append(b, c.Digest.String()...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, c.Size, 10)
	b = append(b, '}')
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	e.n++
	e.size += c.Size
	return nil
}

// Len returns the number of chunks written.
func (e *ChunkListEncoder) Len() int { return e.n }

// Size returns the sum of the sizes of the chunks written.
func (e *ChunkListEncoder) Size() int64 { return e.size }

// FileManifestFrame returns the bytes that go before and after the chunk
// list e wrote: head + list + tail is the canonical encoding of m with
// those chunks (what Manifest.Encode returns). m must be a file manifest
// without Chunks, cut with e's parameters; it is validated as Validate
// would validate it with e's chunks (errors wrap ErrInvalidManifest).
func FileManifestFrame(m Manifest, e *ChunkListEncoder) (head, tail []byte, err error) {
	if m.Kind != KindFile || len(m.Chunks) > 0 || len(m.Entries) > 0 {
		return nil, nil, fmt.Errorf("%w: FileManifestFrame takes a file manifest without chunks or entries", ErrInvalidManifest)
	}
	if m.Chunker != e.params {
		return nil, nil, fmt.Errorf("%w: the chunk list was written for other chunker parameters", ErrInvalidManifest)
	}
	if err := validateCommon(m); err != nil {
		return nil, nil, err
	}
	if err := validateFileHeader(m, e.n, e.size); err != nil {
		return nil, nil, err
	}
	chunker, chunks := m.Chunker, []ChunkRef{}
	return manifestFrame(manifestJSON{Schema: ManifestSchema, Kind: m.Kind, MediaType: m.MediaType, Size: m.Size,
		Digest: m.Digest, Chunker: &chunker, Chunks: &chunks}, "chunks")
}

// manifestFrame encodes w, whose last field (named list) is an empty
// list, and splits the encoding where that list's elements go.
func manifestFrame(w manifestJSON, list string) (head, tail []byte, err error) {
	b, err := json.Marshal(w)
	if err != nil {
		return nil, nil, fmt.Errorf("encode manifest: %w", err)
	}
	const emptyList = `[]}`
	if !strings.HasSuffix(string(b), `"`+list+`":`+emptyList) { // cannot happen: the list is the last field
		return nil, nil, fmt.Errorf("encode manifest: unexpected encoding %q", b)
	}
	cut := len(b) - len(emptyList) + 1
	return b[:cut], []byte(emptyList[1:]), nil
}

// TreeEntryEncoder writes the "entries" array of a tree manifest's
// canonical encoding (without its brackets) to a writer, one entry at a
// time, in path order, checking each as Validate would and computing the
// tree's size and TreeDigest as it goes. With TreeManifestFrame it produces
// exactly the bytes Manifest.Encode would for the same entries. Its memory
// does not grow with the number of entries.
type TreeEntryEncoder struct {
	w      io.Writer
	check  treeCheck
	buf    []byte
	closed bool
}

// NewTreeEntryEncoder returns an encoder writing a tree's entry list to w.
func NewTreeEntryEncoder(w io.Writer) *TreeEntryEncoder { return &TreeEntryEncoder{w: w} }

// Add writes the next entry, which must sort after the previous one. It
// fails, wrapping ErrInvalidManifest, for an entry Validate would refuse
// (or past MaxTreeEntries entries); write errors are returned as they are.
func (e *TreeEntryEncoder) Add(te TreeEntry) error {
	if e.closed {
		return fmt.Errorf("%w: entry %q added after the frame was made", ErrInvalidManifest, te.Path)
	}
	b, err := json.Marshal(te)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := e.check.add(te); err != nil {
		return err
	}
	e.buf = e.buf[:0]
	if e.check.n > 1 {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, b...)
	_, err = e.w.Write(e.buf)
	return err
}

// Len returns the number of entries written.
func (e *TreeEntryEncoder) Len() int { return e.check.n }

// TreeManifestFrame returns the tree manifest (without Entries) of the
// entries e wrote, and the bytes that go before and after them: head +
// list + tail is the canonical encoding Manifest.Encode returns for that
// manifest with those entries. e takes no entries afterwards.
func TreeManifestFrame(mediaType string, e *TreeEntryEncoder) (m Manifest, head, tail []byte, err error) {
	if e.closed {
		return Manifest{}, nil, nil, fmt.Errorf("%w: TreeManifestFrame called twice for one encoder", ErrInvalidManifest)
	}
	e.closed = true
	m = Manifest{Kind: KindTree, MediaType: mediaType, Size: e.check.size, Digest: e.check.digest.sum()}
	if err := validateCommon(m); err != nil {
		return Manifest{}, nil, nil, err
	}
	if err := e.check.layout(ManifestSchema); err != nil {
		return Manifest{}, nil, nil, err
	}
	entries := []TreeEntry{}
	head, tail, err = manifestFrame(manifestJSON{Schema: ManifestSchema, Kind: m.Kind, MediaType: m.MediaType, Size: m.Size,
		Digest: m.Digest, Entries: &entries}, "entries")
	if err != nil {
		return Manifest{}, nil, nil, err
	}
	return m, head, tail, nil
}

// StreamTreeManifestFrame returns the stream-layout tree manifest (without
// Chunks or Entries) of the chunk list c and the entries e wrote, and the
// bytes that go around them: head + chunk list + mid + entry list + tail
// is the canonical encoding Manifest.Encode returns for that manifest with
// those chunks and entries. The chunks must cover exactly the files' bytes
// (errors wrap ErrInvalidManifest). e takes no entries afterwards.
func StreamTreeManifestFrame(mediaType string, c *ChunkListEncoder, e *TreeEntryEncoder) (m Manifest, head, mid, tail []byte, err error) {
	if e.closed {
		return Manifest{}, nil, nil, nil, fmt.Errorf("%w: StreamTreeManifestFrame called twice for one encoder", ErrInvalidManifest)
	}
	e.closed = true
	m = Manifest{Schema: StreamTreeSchema, Kind: KindTree, MediaType: mediaType, Size: e.check.size, Digest: e.check.digest.sum(), Chunker: c.params}
	if err := validateCommon(m); err != nil {
		return Manifest{}, nil, nil, nil, err
	}
	if err := e.check.layout(StreamTreeSchema); err != nil {
		return Manifest{}, nil, nil, nil, err
	}
	if err := c.params.Validate(); err != nil {
		return Manifest{}, nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	if c.size != m.Size {
		return Manifest{}, nil, nil, nil, fmt.Errorf("%w: chunk sizes sum to %d but the files hold %d bytes", ErrInvalidManifest, c.size, m.Size)
	}
	chunker, chunks, entries := m.Chunker, []ChunkRef{}, []TreeEntry{}
	b, err := json.Marshal(manifestJSON{Schema: StreamTreeSchema, Kind: m.Kind, MediaType: m.MediaType, Size: m.Size,
		Digest: m.Digest, Chunker: &chunker, Chunks: &chunks, Entries: &entries})
	if err != nil {
		return Manifest{}, nil, nil, nil, fmt.Errorf("encode manifest: %w", err)
	}
	const between, end = `[],"entries":[`, `]}`
	i := strings.LastIndex(string(b), `"chunks":`+between)
	if i < 0 || !strings.HasSuffix(string(b), between+end) { // cannot happen: the lists are the last fields
		return Manifest{}, nil, nil, nil, fmt.Errorf("encode manifest: unexpected encoding %q", b)
	}
	cut := i + len(`"chunks":[`)
	return m, b[:cut], []byte(between[1:]), []byte(end), nil
}

// ManifestVisitor receives the chunks or entries of a manifest as
// ScanManifest reads them. Either function may be nil. An error a function
// returns stops the scan and is returned as it is.
//
// What a visitor receives has been checked on its own (a chunk's digest and
// size, an entry's path, order and type), but the manifest as a whole is
// valid only once ScanManifest returns without error.
type ManifestVisitor struct {
	Chunk func(index int, c ChunkRef) error
	Entry func(index int, e TreeEntry) error
	// ChunksDone, if set, is called at the end of the chunk list with the
	// number of chunks; a reader that needs only the chunks of a tree
	// stops the scan there by returning an error.
	ChunksDone func(n int) error
}

// ScanManifest reads a manifest from r and validates it exactly as
// ParseManifest does (errors wrap ErrInvalidManifest), handing each chunk
// or entry to v instead of keeping it: the returned Manifest has no Chunks
// or Entries. Its memory does not grow with the number of chunks or
// entries.
//
// Duplicate fields are refused, and field names must match exactly.
func ScanManifest(r io.Reader, v ManifestVisitor) (Manifest, error) {
	cr := &capReader{r: r, left: MaxManifestSize}
	s := &manifestScan{v: v}
	m, err := s.scan(cr)
	if cr.over {
		return Manifest{}, fmt.Errorf("%w: more than %d bytes is over the limit of %d", ErrInvalidManifest, MaxManifestSize, MaxManifestSize)
	}
	if cr.err != nil {
		// The reader failed (a digest mismatch, an I/O error): that, not
		// the JSON it cut short, is the error.
		return Manifest{}, cr.err
	}
	if err != nil {
		var verr *visitError
		if errors.As(err, &verr) {
			return Manifest{}, verr.err
		}
		if errors.Is(err, ErrInvalidManifest) {
			return Manifest{}, err
		}
		return Manifest{}, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	return m, nil
}

// ScanManifestBlob is ScanManifest over the stored blob r, which must hash
// to d: it reads r to its end, where the digest is checked. Bytes that do
// not match d are reported as a mismatch (ErrMismatch), also when they do
// not parse: a damaged blob is not a bad manifest.
func ScanManifestBlob(r io.Reader, d Digest, v ManifestVisitor) (Manifest, error) {
	vr := NewVerifyingReader(io.LimitReader(r, MaxManifestSize+1), d, -1)
	m, err := ScanManifest(vr, v)
	if err == nil || errors.Is(err, ErrInvalidManifest) {
		if _, derr := io.Copy(io.Discard, vr); derr != nil {
			return Manifest{}, derr
		}
	}
	if err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// visitError carries a visitor's error through the scan unchanged.
type visitError struct{ err error }

func (e *visitError) Error() string { return e.err.Error() }

// capReader reads at most left bytes and then reports over (and an error);
// it keeps the underlying reader's first error other than io.EOF in err.
type capReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
}

var errCapped = errors.New("manifest too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Over the limit only if there is more to read.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, errCapped
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// manifestScan is ScanManifest's state.
type manifestScan struct {
	v ManifestVisitor
	m Manifest

	schema                         int
	hasChunker, hasChunks, hasEnts bool

	n            int   // chunks read
	sum          int64 // of the chunk sizes
	biggest      int64 // the largest chunk, checked against "chunker" at the end
	biggestIndex int
	tree         treeCheck // the entries read
}

func (s *manifestScan) scan(r io.Reader) (Manifest, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := expectDelim(dec, '{', "a manifest must be a JSON object"); err != nil {
		return Manifest{}, err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Manifest{}, err
		}
		key, _ := tok.(string)
		if seen[key] {
			return Manifest{}, fmt.Errorf("%w: field %q appears twice", ErrInvalidManifest, clip(key))
		}
		seen[key] = true
		switch key {
		case "schema":
			err = dec.Decode(&s.schema)
		case "kind":
			err = dec.Decode(&s.m.Kind)
		case "media_type":
			err = dec.Decode(&s.m.MediaType)
		case "size":
			err = dec.Decode(&s.m.Size)
		case "digest":
			err = dec.Decode(&s.m.Digest)
		case "chunker":
			var p *ChunkerParams
			if err = dec.Decode(&p); err == nil && p != nil {
				s.hasChunker, s.m.Chunker = true, *p
			}
		case "chunks":
			s.hasChunks, err = s.array(dec, "chunks", s.chunk)
			if err == nil && s.v.ChunksDone != nil {
				if verr := s.v.ChunksDone(s.n); verr != nil {
					err = &visitError{verr}
				}
			}
		case "entries":
			s.hasEnts, err = s.array(dec, "entries", s.entry)
		default:
			return Manifest{}, fmt.Errorf("%w: unknown field %q", ErrInvalidManifest, clip(key))
		}
		if err != nil {
			return Manifest{}, err
		}
	}
	if err := expectDelim(dec, '}', "a manifest must be a JSON object"); err != nil {
		return Manifest{}, err
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%w: data after the manifest object", ErrInvalidManifest)
	}
	if _, err := dec.Token(); err == nil || !errors.Is(err, io.EOF) {
		if errors.Is(err, errCapped) {
			return Manifest{}, err
		}
		return Manifest{}, fmt.Errorf("%w: data after the manifest object", ErrInvalidManifest)
	}
	return s.finish()
}

// finish checks the manifest as a whole once everything is read.
func (s *manifestScan) finish() (Manifest, error) {
	m := s.m
	if s.schema != ManifestSchema {
		m.Schema = s.schema // schema 1 reads back as 0, as Manifest values are written
	}
	switch {
	case s.schema != ManifestSchema && s.schema != StreamTreeSchema:
		return Manifest{}, fmt.Errorf("%w: %w", ErrInvalidManifest, unknownSchema(s.schema))
	case m.Kind == KindFile && s.schema != ManifestSchema:
		return Manifest{}, fmt.Errorf("%w: schema %d is for tree manifests; a file manifest has schema %d", ErrInvalidManifest, s.schema, ManifestSchema)
	}
	chunked := m.Kind == KindFile || m.Stream()
	switch {
	case chunked && (!s.hasChunker || !s.hasChunks):
		return Manifest{}, fmt.Errorf("%w: a %s manifest of schema %d needs \"chunker\" and \"chunks\"", ErrInvalidManifest, m.Kind, s.schema)
	case !chunked && (s.hasChunker || s.hasChunks):
		return Manifest{}, fmt.Errorf("%w: a tree manifest of schema %d has no \"chunker\" or \"chunks\"", ErrInvalidManifest, s.schema)
	case m.Kind == KindFile && s.hasEnts:
		return Manifest{}, fmt.Errorf("%w: a file manifest has no \"entries\"", ErrInvalidManifest)
	case m.Kind == KindTree && !s.hasEnts:
		return Manifest{}, fmt.Errorf("%w: a tree manifest needs \"entries\"", ErrInvalidManifest)
	}
	if err := validateCommon(m); err != nil {
		return Manifest{}, err
	}
	if chunked && s.biggest > m.Chunker.Max {
		return Manifest{}, fmt.Errorf("%w: chunk %d has size %d, outside (0, %d]", ErrInvalidManifest, s.biggestIndex, s.biggest, m.Chunker.Max)
	}
	switch {
	case m.Kind == KindFile:
		if err := validateFileHeader(m, s.n, s.sum); err != nil {
			return Manifest{}, err
		}
	default:
		if chunked {
			if err := m.Chunker.Validate(); err != nil {
				return Manifest{}, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
			}
			if s.sum != m.Size {
				return Manifest{}, fmt.Errorf("%w: chunk sizes sum to %d but the size is %d", ErrInvalidManifest, s.sum, m.Size)
			}
		}
		if err := s.tree.layout(s.schema); err != nil {
			return Manifest{}, err
		}
		if err := validateTreeHeader(m, s.tree.size, s.tree.digest.sum()); err != nil {
			return Manifest{}, err
		}
	}
	return m, nil
}

func expectDelim(dec *json.Decoder, want json.Delim, why string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: %s", ErrInvalidManifest, why)
	}
	return nil
}

// array reads a JSON array (or null, reported as absent), calling elem for
// each element.
func (s *manifestScan) array(dec *json.Decoder, name string, elem func(*json.Decoder, int) error) (present bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return false, fmt.Errorf("%w: %q must be an array", ErrInvalidManifest, name)
	}
	for i := 0; dec.More(); i++ {
		if err := elem(dec, i); err != nil {
			return true, err
		}
	}
	_, err = dec.Token() // ']'
	return true, err
}

func (s *manifestScan) chunk(dec *json.Decoder, i int) error {
	var c ChunkRef
	if err := dec.Decode(&c); err != nil {
		return err
	}
	// The size limit needs "chunker", which a non-canonical manifest may
	// list after "chunks": the largest chunk is checked in finish.
	max := int64(maxSize)
	if s.hasChunker {
		max = s.m.Chunker.Max
	}
	if err := checkChunk(i, c, max); err != nil {
		return err
	}
	if c.Size > maxSize-s.sum {
		return fmt.Errorf("%w: chunk %d: the sizes add up to more than %d", ErrInvalidManifest, i, int64(maxSize))
	}
	s.sum += c.Size
	s.n++
	if c.Size > s.biggest {
		s.biggest, s.biggestIndex = c.Size, i
	}
	if s.v.Chunk != nil {
		if err := s.v.Chunk(i, c); err != nil {
			return &visitError{err}
		}
	}
	return nil
}

func (s *manifestScan) entry(dec *json.Decoder, i int) error {
	var e TreeEntry
	if err := dec.Decode(&e); err != nil {
		return err
	}
	if err := s.tree.add(e); err != nil {
		return err
	}
	if s.v.Entry != nil {
		if err := s.v.Entry(i, e); err != nil {
			return &visitError{err}
		}
	}
	return nil
}
