package content

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var (
	dA = FromBytes([]byte("a"))
	dB = FromBytes([]byte("b"))
	dC = FromBytes([]byte("c"))
)

func smallParams() ChunkerParams {
	return ChunkerParams{Algorithm: AlgorithmFastCDCGearV1, Min: 64, Avg: 128, Max: 256}
}

func fileManifest() Manifest {
	return Manifest{Kind: KindFile, MediaType: "text/plain", Size: 300, Digest: dC, Chunker: smallParams(),
		Chunks: []ChunkRef{{Digest: dA, Size: 200}, {Digest: dB, Size: 100}}}
}

func treeManifest(t testing.TB) Manifest {
	m, err := NewTreeManifest([]TreeEntry{
		{Path: "sub/x.bin", Type: EntryFile, Mode: 0o600, Size: 7, Digest: dA, Manifest: dB},
		{Path: "sub", Type: EntryDir, Mode: 0o755},
		{Path: "a.txt", Type: EntryFile, Mode: 0o644, Size: 0, Digest: FromBytes(nil), Manifest: dC},
		{Path: "empty", Type: EntryDir, Mode: 0o700},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// streamTreeManifest is a stream-layout tree: a.txt (empty), sub/x.bin
// (200 bytes at 0), sub/y (100 bytes at 200), a link and directories,
// stored as two chunks.
func streamTreeManifest(t testing.TB) Manifest {
	t.Helper()
	entries := []TreeEntry{
		{Path: "a.txt", Type: EntryFile, Mode: 0o644, Digest: FromBytes(nil)},
		{Path: "link", Type: EntrySymlink, Target: "sub/x.bin"},
		{Path: "sub", Type: EntryDir, Mode: 0o755},
		{Path: "sub/x.bin", Type: EntryFile, Mode: 0o600, Size: 200, Digest: dA},
		{Path: "sub/y", Type: EntryFile, Mode: 0o644, Size: 100, Digest: dB, Offset: 200},
	}
	m := Manifest{Schema: StreamTreeSchema, Kind: KindTree, Size: 300, Digest: TreeDigest(entries), Chunker: smallParams(),
		Chunks: []ChunkRef{{Digest: dC, Size: 256}, {Digest: dA, Size: 44}}, Entries: entries}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestManifestEncodeGolden pins the canonical encoding: manifest digests
// are stored in the event log, so the encoding must not drift.
func TestManifestEncodeGolden(t *testing.T) {
	empty := Manifest{Kind: KindFile, Digest: FromBytes(nil), Chunker: DefaultChunkerParams()}
	for _, tc := range []struct {
		name string
		m    Manifest
		want string
	}{
		{"file", fileManifest(), `{"schema":1,"kind":"file","media_type":"text/plain","size":300,"digest":"` + dC.String() +
			`","chunker":{"algorithm":"fastcdc-gear-v1","min":64,"avg":128,"max":256},"chunks":[{"digest":"` + dA.String() +
			`","size":200},{"digest":"` + dB.String() + `","size":100}]}`},
		{"empty file", empty, `{"schema":1,"kind":"file","size":0,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",` +
			`"chunker":{"algorithm":"fastcdc-gear-v1","min":524288,"avg":2097152,"max":8388608},"chunks":[]}`},
		{"stream tree", streamTreeManifest(t), `{"schema":2,"kind":"tree","size":300,"digest":"` + streamTreeManifest(t).Digest.String() +
			`","chunker":{"algorithm":"fastcdc-gear-v1","min":64,"avg":128,"max":256},"chunks":[{"digest":"` + dC.String() + `","size":256},{"digest":"` + dA.String() + `","size":44}],"entries":[` +
			`{"path":"a.txt","type":"file","mode":420,"digest":"` + FromBytes(nil).String() + `"},{"path":"link","type":"symlink","mode":0,"target":"sub/x.bin"},` +
			`{"path":"sub","type":"dir","mode":493},{"path":"sub/x.bin","type":"file","mode":384,"size":200,"digest":"` + dA.String() + `"},` +
			`{"path":"sub/y","type":"file","mode":420,"size":100,"digest":"` + dB.String() + `","offset":200}]}`},
		{"tree", treeManifest(t), `{"schema":1,"kind":"tree","size":7,"digest":"` + treeManifest(t).Digest.String() + `","entries":[` +
			`{"path":"a.txt","type":"file","mode":420,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","manifest":"` + dC.String() + `"},` +
			`{"path":"empty","type":"dir","mode":448},{"path":"sub","type":"dir","mode":493},` +
			`{"path":"sub/x.bin","type":"file","mode":384,"size":7,"digest":"` + dA.String() + `","manifest":"` + dB.String() + `"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("encoding changed:\n got %s\nwant %s", b, tc.want)
			}
			back, err := ParseManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.m) {
				t.Fatalf("round trip changed the manifest:\n got %+v\nwant %+v", back, tc.m)
			}
		})
	}
	// The tree digest is pinned too: it is an artifact's content digest.
	if got, want := treeManifest(t).Digest.String(), "sha256:3a7afb6c9ff4a7a03331a7a800b5effbad7440d34717c2fb254a5a30619dfd46"; got != want {
		t.Errorf("tree digest changed: got %s, want %s", got, want)
	}
}

func TestManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    func(t testing.TB) Manifest
		want string // substring of the error; "" for valid
	}{
		{"file ok", func(testing.TB) Manifest { return fileManifest() }, ""},
		{"tree ok", treeManifest, ""},
		{"unknown kind", func(testing.TB) Manifest { m := fileManifest(); m.Kind = "blob"; return m }, "unknown kind"},
		{"negative size", func(testing.TB) Manifest { m := fileManifest(); m.Size = -1; return m }, "out of range"},
		{"no digest", func(testing.TB) Manifest { m := fileManifest(); m.Digest = Digest{}; return m }, "missing content digest"},
		{"sizes don't sum", func(testing.TB) Manifest { m := fileManifest(); m.Size = 301; return m }, "sum to 300"},
		{"chunk over max", func(testing.TB) Manifest {
			m := fileManifest()
			m.Chunks = []ChunkRef{{dA, 257}, {dB, 43}}
			return m
		}, "outside (0, 256]"},
		{"zero chunk", func(testing.TB) Manifest { m := fileManifest(); m.Chunks[1].Size = 0; m.Size = 200; return m }, "outside"},
		{"chunk without digest", func(testing.TB) Manifest { m := fileManifest(); m.Chunks[0].Digest = Digest{}; return m }, "no digest"},
		{"bad chunker", func(testing.TB) Manifest { m := fileManifest(); m.Chunker.Min = 1; return m }, "min 1"},
		{"empty with wrong digest", func(testing.TB) Manifest {
			return Manifest{Kind: KindFile, Digest: dA, Chunker: smallParams()}
		}, "empty content"},
		{"file with entries", func(t testing.TB) Manifest { m := fileManifest(); m.Entries = treeManifest(t).Entries; return m }, "no entries"},
		{"media type control char", func(testing.TB) Manifest { m := fileManifest(); m.MediaType = "a\nb"; return m }, "control"},
		{"media type too long", func(testing.TB) Manifest { m := fileManifest(); m.MediaType = strings.Repeat("x", 256); return m }, "at most 255"},
		{"tree unsorted", func(t testing.TB) Manifest {
			m := treeManifest(t)
			m.Entries[0], m.Entries[1] = m.Entries[1], m.Entries[0]
			m.Digest = TreeDigest(m.Entries)
			return m
		}, "sorted"},
		{"tree duplicate", func(t testing.TB) Manifest {
			m := treeManifest(t)
			m.Entries[2] = m.Entries[1]
			m.Digest = TreeDigest(m.Entries)
			return m
		}, "sorted"},
		{"tree wrong digest", func(t testing.TB) Manifest { m := treeManifest(t); m.Digest = dA; return m }, "tree digest"},
		{"tree wrong size", func(t testing.TB) Manifest { m := treeManifest(t); m.Size = 8; return m }, "sum to 7"},
		{"tree traversal", func(t testing.TB) Manifest {
			m := treeManifest(t)
			m.Entries[0].Path = "../a.txt"
			m.Digest = TreeDigest(m.Entries)
			return m
		}, "outside the tree"},
		{"tree mode bits", func(t testing.TB) Manifest { m := treeManifest(t); m.Entries[0].Mode = 0o4755; return m }, "permissions"},
		{"tree dir with digest", func(t testing.TB) Manifest { m := treeManifest(t); m.Entries[1].Digest = dA; return m }, "directory entry"},
		{"stream tree file with manifest", func(t testing.TB) Manifest {
			m := streamTreeManifest(t)
			m.Entries[3].Manifest = dB
			return m
		}, "has a file manifest"},
		{"stream tree wrong offset", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Entries[4].Offset = 199; return m }, "offset"},
		{"stream tree chunks short", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Chunks = m.Chunks[:1]; return m }, "chunk sizes sum"},
		{"stream tree chunk too big", func(t testing.TB) Manifest {
			m := streamTreeManifest(t)
			m.Chunks = []ChunkRef{{Digest: dC, Size: 300}}
			return m
		}, "outside"},
		{"stream tree without chunker", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Chunker = ChunkerParams{}; return m }, "chunker"},
		{"link with mode", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Entries[1].Mode = 0o777; return m }, "mode"},
		{"link without target", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Entries[1].Target = ""; return m }, "empty"},
		{"link target control character", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Entries[1].Target = "a\nb"; return m }, "control"},
		{"entry below a link", func(t testing.TB) Manifest {
			m := streamTreeManifest(t)
			m.Entries = slices.Insert(m.Entries, 2, TreeEntry{Path: "link/x", Type: EntryDir, Mode: 0o755})
			return m
		}, "which is a file or a symbolic link"},
		{"link in schema 1", func(t testing.TB) Manifest {
			m := treeManifest(t)
			m.Entries = append(m.Entries, TreeEntry{Path: "z", Type: EntrySymlink, Target: "a.txt"})
			return m
		}, "symbolic link"},
		{"offset in schema 1", func(t testing.TB) Manifest { m := treeManifest(t); m.Entries[3].Offset = 5; return m }, "offset"},
		{"schema 3", func(t testing.TB) Manifest { m := streamTreeManifest(t); m.Schema = 3; return m }, "schema 3"},
		{"file of schema 2", func(testing.TB) Manifest { m := fileManifest(); m.Schema = StreamTreeSchema; return m }, "schema 2"},
		{"tree file without manifest", func(t testing.TB) Manifest { m := treeManifest(t); m.Entries[0].Manifest = Digest{}; return m }, "needs a manifest"},
		{"tree unknown type", func(t testing.TB) Manifest { m := treeManifest(t); m.Entries[1].Type = "socket"; return m }, "unknown type"},
		{"tree entry below file", func(testing.TB) Manifest {
			e := []TreeEntry{
				{Path: "f", Type: EntryFile, Mode: 0o644, Digest: FromBytes(nil), Manifest: dA},
				{Path: "f/g", Type: EntryFile, Mode: 0o644, Digest: FromBytes(nil), Manifest: dA},
			}
			return Manifest{Kind: KindTree, Digest: TreeDigest(e), Entries: e}
		}, "which is a file"},
		{"tree with chunks", func(t testing.TB) Manifest { m := treeManifest(t); m.Chunker = smallParams(); return m }, "no chunks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m(t).Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidManifest containing %q", err, tc.want)
			}
			if _, err := tc.m(t).Encode(); err == nil {
				t.Fatal("Encode accepted an invalid manifest")
			}
		})
	}
}

func TestParseManifestStrict(t *testing.T) {
	good, err := fileManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := treeManifest(t).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		want string // "" for valid
	}{
		{"canonical", string(good), ""},
		{"whitespace is fine", " " + strings.ReplaceAll(string(good), ",", ", ") + "\n", ""},
		{"unknown field", strings.Replace(string(good), `"schema":1`, `"schema":1,"extra":true`, 1), "unknown field"},
		{"schema 2", strings.Replace(string(good), `"schema":1`, `"schema":2`, 1), "schema 2"},
		{"schema missing", strings.Replace(string(good), `"schema":1,`, ``, 1), "schema 0"},
		{"trailing data", string(good) + "{}", "after the manifest"},
		{"trailing garbage", string(good) + "x", "after the manifest"},
		{"not json", "nope", "invalid"},
		{"bad digest", strings.Replace(string(good), dA.String(), "sha256:XYZ", 1), "invalid digest"},
		{"file without chunks", `{"schema":1,"kind":"file","size":0,"digest":"` + FromBytes(nil).String() + `","chunker":{"algorithm":"a","min":64,"avg":64,"max":64}}`, "needs"},
		{"file with entries", strings.Replace(string(good), `"chunks"`, `"entries":[],"chunks"`, 1), "no \"entries\""},
		{"tree without entries", `{"schema":1,"kind":"tree","size":0,"digest":"` + TreeDigest(nil).String() + `"}`, "needs \"entries\""},
		{"empty tree", `{"schema":1,"kind":"tree","size":0,"digest":"` + TreeDigest(nil).String() + `","entries":[]}`, ""},
		{"tree with chunks", strings.Replace(string(tree), `"entries"`, `"chunks":[],"entries"`, 1), "no \"chunker\""},
		{"absolute path", strings.Replace(string(tree), `"a.txt"`, `"/a.txt"`, 1), "absolute"},
		{"too large", string(good) + strings.Repeat(" ", MaxManifestSize), "over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.in))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalidManifest containing %q", err, tc.want)
			}
		})
	}
}

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"a", true},
		{"a/b/c.txt", true},
		{"with space/ünïcödé ✓.txt", true},
		{"..a/b..", true},
		{".hidden", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"a/..", false},
		{"/etc/passwd", false},
		{"a//b", false},
		{"a/./b", false},
		{"./a", false},
		{"a/", false},
		{`a\..\b`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"\xff", false},
		{strings.Repeat("x", 256), false},
		{strings.Repeat("x/", 2048) + "x", false},
		{strings.Repeat("x", 255), true},
	} {
		err := ValidatePath(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnsafePath) {
			t.Errorf("ValidatePath(%q) error %v does not wrap ErrUnsafePath", tc.path, err)
		}
	}
}

func TestChunkSpan(t *testing.T) {
	m := fileManifest() // chunks: [0,199], [200,299]
	for _, tc := range []struct {
		r           Range
		first, last int
		start       int64
		wantErr     bool
	}{
		{Range{0, 0}, 0, 0, 0, false},
		{Range{0, 199}, 0, 0, 0, false},
		{Range{199, 200}, 0, 1, 0, false},
		{Range{200, 299}, 1, 1, 200, false},
		{Range{250, 260}, 1, 1, 200, false},
		{Range{0, 299}, 0, 1, 0, false},
		{Range{0, 300}, 0, 0, 0, true},
		{Range{5, 4}, 0, 0, 0, true},
	} {
		first, last, start, err := m.ChunkSpan(tc.r)
		if (err != nil) != tc.wantErr {
			t.Errorf("ChunkSpan(%v): error %v, want error %v", tc.r, err, tc.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Errorf("ChunkSpan(%v): error %v does not wrap ErrInvalidRange", tc.r, err)
			}
			continue
		}
		if first != tc.first || last != tc.last || start != tc.start {
			t.Errorf("ChunkSpan(%v) = %d, %d, %d; want %d, %d, %d", tc.r, first, last, start, tc.first, tc.last, tc.start)
		}
	}
	if _, _, _, err := treeManifest(t).ChunkSpan(Range{0, 0}); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("ChunkSpan on a tree: got %v, want ErrInvalidRange", err)
	}
}

// addManifestSeeds adds a file, a tree and an empty file manifest to f's
// seed corpus.
func addManifestSeeds(f *testing.F) {
	for _, m := range []Manifest{fileManifest(), treeManifest(f), streamTreeManifest(f),
		{Kind: KindFile, Digest: FromBytes(nil), Chunker: DefaultChunkerParams()}} {
		b, err := m.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseManifest checks that ParseManifest never panics and that what it
// accepts survives encode and parse unchanged, with a stable encoding.
func FuzzParseManifest(f *testing.F) {
	addManifestSeeds(f)
	f.Add([]byte(`{"schema":1,"kind":"tree","size":0,"digest":"` + TreeDigest(nil).String() + `","entries":[]}`))
	f.Add([]byte(`{"schema":1,"kind":"tree","entries":[{"path":"../x","type":"file"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("error %v does not wrap ErrInvalidManifest", err)
			}
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("parsed manifest does not encode: %v", err)
		}
		m2, err := ParseManifest(enc)
		if err != nil {
			t.Fatalf("encoded manifest does not parse: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("parse/encode/parse changed the manifest:\n%+v\n%+v", m, m2)
		}
		enc2, err := m2.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %v\n%s\n%s", err, enc, enc2)
		}
		for _, e := range m.Entries {
			if ValidatePath(e.Path) != nil {
				t.Fatalf("accepted unsafe path %q", e.Path)
			}
		}
	})
}

// encodeStreamed encodes a file manifest the way a push does: the chunk
// list through a ChunkListEncoder, then the frame around it.
func encodeStreamed(t testing.TB, m Manifest) ([]byte, error) {
	t.Helper()
	if m.Stream() {
		return encodeStreamTreeStreamed(t, m)
	}
	if m.Kind == KindTree {
		return encodeTreeStreamed(t, m)
	}
	var list bytes.Buffer
	e := NewChunkListEncoder(&list, m.Chunker)
	for _, c := range m.Chunks {
		if err := e.Add(c); err != nil {
			return nil, err
		}
	}
	if e.Len() != len(m.Chunks) {
		t.Fatalf("Len = %d after %d chunks", e.Len(), len(m.Chunks))
	}
	hdr := m
	hdr.Chunks = nil
	head, tail, err := FileManifestFrame(hdr, e)
	if err != nil {
		return nil, err
	}
	return append(append(head, list.Bytes()...), tail...), nil
}

// encodeTreeStreamed encodes a tree manifest with TreeEntryEncoder and
// TreeManifestFrame, and checks the frame's size and digest against m's.
func encodeTreeStreamed(t testing.TB, m Manifest) ([]byte, error) {
	t.Helper()
	var list bytes.Buffer
	e := NewTreeEntryEncoder(&list)
	for _, te := range m.Entries {
		if err := e.Add(te); err != nil {
			return nil, err
		}
	}
	if e.Len() != len(m.Entries) {
		t.Fatalf("Len = %d after %d entries", e.Len(), len(m.Entries))
	}
	got, head, tail, err := TreeManifestFrame(m.MediaType, e)
	if err != nil {
		return nil, err
	}
	if got.Size != m.Size || got.Digest != m.Digest || got.Kind != KindTree || got.MediaType != m.MediaType {
		t.Fatalf("frame describes %+v; want the size %d and digest %s of %+v", got, m.Size, m.Digest, m)
	}
	return append(append(head, list.Bytes()...), tail...), nil
}

// encodeStreamTreeStreamed encodes a stream-layout tree manifest with
// ChunkListEncoder, TreeEntryEncoder and StreamTreeManifestFrame.
func encodeStreamTreeStreamed(t testing.TB, m Manifest) ([]byte, error) {
	t.Helper()
	var chunks, list bytes.Buffer
	c := NewChunkListEncoder(&chunks, m.Chunker)
	for _, ch := range m.Chunks {
		if err := c.Add(ch); err != nil {
			return nil, err
		}
	}
	e := NewTreeEntryEncoder(&list)
	for _, te := range m.Entries {
		if err := e.Add(te); err != nil {
			return nil, err
		}
	}
	got, head, mid, tail, err := StreamTreeManifestFrame(m.MediaType, c, e)
	if err != nil {
		return nil, err
	}
	if got.Size != m.Size || got.Digest != m.Digest || !got.Stream() || got.Chunker != m.Chunker {
		t.Fatalf("frame describes %+v; want %+v", got, m)
	}
	return slices.Concat(head, chunks.Bytes(), mid, list.Bytes(), tail), nil
}

// TestStreamTreeFrameMatchesEncode: the streamed encoding of a
// stream-layout tree is byte for byte Manifest.Encode's, and the frame
// refuses chunks that do not cover the files or per-file entries.
func TestStreamTreeFrameMatchesEncode(t *testing.T) {
	odd := streamTreeManifest(t)
	odd.MediaType = `inode/directory; x="<&>"`
	empty := Manifest{Schema: StreamTreeSchema, Kind: KindTree, Digest: TreeDigest(nil), Chunker: DefaultChunkerParams()}
	streamedMatchesEncode(t, streamTreeManifest(t), odd, empty)

	short := streamTreeManifest(t)
	short.Chunks = short.Chunks[:1]
	if _, err := encodeStreamTreeStreamed(t, short); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("chunks short of the files: %v, want ErrInvalidManifest", err)
	}
	perFile := streamTreeManifest(t)
	perFile.Entries[0].Manifest = dC
	if _, err := encodeStreamTreeStreamed(t, perFile); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("a file manifest in a stream tree: %v, want ErrInvalidManifest", err)
	}
	// A per-file tree frame refuses stream entries.
	e := NewTreeEntryEncoder(io.Discard)
	if err := e.Add(TreeEntry{Path: "l", Type: EntrySymlink, Target: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := TreeManifestFrame("", e); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("a link in a schema 1 frame: %v, want ErrInvalidManifest", err)
	}
}

// TestTreeEntryEncoderMatchesEncode: the streamed encoding of a tree is
// byte for byte Manifest.Encode's, with its size and TreeDigest.
func TestTreeEntryEncoderMatchesEncode(t *testing.T) {
	emptyTree, err := NewTreeManifest(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	odd := treeManifest(t)
	odd.MediaType = `inode/directory; x="<&>"`
	quoted, err := NewTreeManifest([]TreeEntry{
		{Path: `a "quoted" <&> name`, Type: EntryDir, Mode: 0o755},
		{Path: "a.txt", Type: EntryFile, Mode: 0o644, Size: 3, Digest: dA, Manifest: dB},
		{Path: "a/x", Type: EntryFile, Mode: 0o600, Size: 4, Digest: dB, Manifest: dC},
		{Path: "ü/✓", Type: EntryFile, Mode: 0o600, Size: 5, Digest: dC, Manifest: dA},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	streamedMatchesEncode(t, treeManifest(t), emptyTree, odd, quoted)
}

// TestTreeEntryEncoderRefuses: out of order, duplicate, below a file, an
// unsafe path, a file without digests; nothing refused is written, and no
// entry is taken once the frame is made.
func TestTreeEntryEncoderRefuses(t *testing.T) {
	file := func(p string) TreeEntry {
		return TreeEntry{Path: p, Type: EntryFile, Mode: 0o644, Size: 1, Digest: dA, Manifest: dB}
	}
	for name, c := range map[string][]TreeEntry{
		"out of order":  {file("b"), file("a")},
		"duplicate":     {file("a"), file("a")},
		"below a file":  {file("a"), file("a/b")},
		"unsafe path":   {file("../a")},
		"no digest":     {{Path: "a", Type: EntryFile, Mode: 0o644, Size: 1}},
		"mode bits":     {{Path: "a", Type: EntryDir, Mode: 0o4755}},
		"dir with size": {{Path: "a", Type: EntryDir, Mode: 0o755, Size: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			e := NewTreeEntryEncoder(&buf)
			var err error
			written := 0
			for _, te := range c {
				if err = e.Add(te); err != nil {
					break
				}
				written = buf.Len()
			}
			if !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("got %v, want ErrInvalidManifest", err)
			}
			if buf.Len() != written {
				t.Fatalf("a refused entry was written: %q", buf.Bytes())
			}
		})
	}
	e := NewTreeEntryEncoder(io.Discard)
	if _, _, _, err := TreeManifestFrame("", e); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(file("late")); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("Add after the frame: %v, want ErrInvalidManifest", err)
	}
}

func TestChunkListEncoderMatchesEncode(t *testing.T) {
	empty := Manifest{Kind: KindFile, Digest: FromBytes(nil), Chunker: DefaultChunkerParams()}
	odd := fileManifest()
	odd.MediaType = `application/x-"quoted"<&>; charset=ü`
	streamedMatchesEncode(t, fileManifest(), empty, odd)
}

// streamedMatchesEncode checks that each manifest's streamed encoding is
// byte for byte Manifest.Encode's.
func streamedMatchesEncode(t *testing.T, ms ...Manifest) {
	t.Helper()
	for _, m := range ms {
		want, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeStreamed(t, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("streamed encoding differs:\n got %s\nwant %s", got, want)
		}
	}
}

func TestChunkListEncoderRefuses(t *testing.T) {
	p := smallParams()
	for name, add := range map[string]ChunkRef{
		"no digest":    {Size: 10},
		"zero size":    {Digest: dA},
		"over the max": {Digest: dA, Size: p.Max + 1},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewChunkListEncoder(&buf, p).Add(add); !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("Add(%+v) = %v, want ErrInvalidManifest", add, err)
			}
			if buf.Len() != 0 {
				t.Fatalf("a refused chunk was written: %q", buf.Bytes())
			}
		})
	}
	// The frame checks the header against the list.
	m := fileManifest()
	m.Size++
	if _, err := encodeStreamed(t, m); err == nil || !strings.Contains(err.Error(), "sum to") {
		t.Fatalf("size mismatch: got %v", err)
	}
	m = fileManifest()
	var buf bytes.Buffer
	e := NewChunkListEncoder(&buf, m.Chunker)
	m.Chunker.Max *= 2
	m.Chunks = nil
	if _, _, err := FileManifestFrame(m, e); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("other chunker parameters: got %v", err)
	}
}

func TestScanManifestVisits(t *testing.T) {
	m := fileManifest()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var got []ChunkRef
	hdr, err := ScanManifest(bytes.NewReader(b), ManifestVisitor{Chunk: func(i int, c ChunkRef) error {
		if i != len(got) {
			t.Fatalf("chunk index %d, want %d", i, len(got))
		}
		got = append(got, c)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m.Chunks) {
		t.Fatalf("visited %+v, want %+v", got, m.Chunks)
	}
	want := m
	want.Chunks = nil
	if !reflect.DeepEqual(hdr, want) {
		t.Fatalf("header %+v, want %+v", hdr, want)
	}

	tree := treeManifest(t)
	b, err = tree.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var entries []TreeEntry
	if _, err := ScanManifest(bytes.NewReader(b), ManifestVisitor{Entry: func(_ int, e TreeEntry) error {
		entries = append(entries, e)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(entries, tree.Entries) {
		t.Fatalf("visited %+v, want %+v", entries, tree.Entries)
	}

	// A visitor's error stops the scan and comes back as it is.
	stop := errors.New("stop")
	if _, err := ScanManifest(bytes.NewReader(b), ManifestVisitor{Entry: func(int, TreeEntry) error { return stop }}); err != stop {
		t.Fatalf("visitor error: got %v, want it unchanged", err)
	}
}

func TestScanManifestStricterThanEncodingJSON(t *testing.T) {
	good, err := fileManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"duplicate field":  strings.Replace(string(good), `"schema":1`, `"schema":1,"schema":1`, 1),
		"field name case":  strings.Replace(string(good), `"schema"`, `"Schema"`, 1),
		"chunks not array": strings.Replace(string(good), `"chunks":[`, `"chunks":{"a":[`, 1) + "}",
		"not an object":    `[` + string(good) + `]`,
		"over the max late": strings.Replace(strings.Replace(string(good), `"size":200}`, `"size":257}`, 1),
			`"size":300`, `"size":357`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseManifest([]byte(in)); !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("got %v, want ErrInvalidManifest", err)
			}
		})
	}
	// "chunker" after "chunks" (not canonical, but valid) still has the
	// chunk sizes checked against it.
	moved := `{"schema":1,"kind":"file","size":257,"digest":"` + dC.String() + `","chunks":[{"digest":"` + dA.String() +
		`","size":257}],"chunker":{"algorithm":"` + AlgorithmFastCDCGearV1 + `","min":64,"avg":128,"max":256}}`
	if _, err := ScanManifest(strings.NewReader(moved), ManifestVisitor{}); err == nil || !strings.Contains(err.Error(), "outside (0, 256]") {
		t.Fatalf("chunk over a later chunker's max: got %v", err)
	}
}

// FuzzScanManifest checks that ScanManifest, which validates as it
// streams, accepts exactly what ParseManifest (which also validates the
// assembled manifest) accepts, and that a file manifest it accepts is
// re-encoded identically through the streaming encoder.
func FuzzScanManifest(f *testing.F) {
	addManifestSeeds(f)
	f.Add([]byte(`{"schema":1,"kind":"file","size":0,"digest":"` + FromBytes(nil).String() + `","chunks":[],"chunker":{"algorithm":"a","min":64,"avg":64,"max":64}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var n int
		_, serr := ScanManifest(bytes.NewReader(b), ManifestVisitor{Chunk: func(int, ChunkRef) error { n++; return nil }})
		m, perr := ParseManifest(b)
		if (serr == nil) != (perr == nil) {
			t.Fatalf("ScanManifest: %v; ParseManifest: %v", serr, perr)
		}
		if serr != nil {
			if !errors.Is(serr, ErrInvalidManifest) {
				t.Fatalf("error %v does not wrap ErrInvalidManifest", serr)
			}
			return
		}
		if n != len(m.Chunks) {
			t.Fatalf("visited %d chunks, parsed %d", n, len(m.Chunks))
		}
		want, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeStreamed(t, m)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("streamed encoding: %v\n got %s\nwant %s", err, got, want)
		}
	})
}

// TestScanManifestReaderError: a failing reader's error (a digest
// mismatch found at EOF, say) comes back as it is, not as an invalid
// manifest.
func TestScanManifestReaderError(t *testing.T) {
	b, err := fileManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	wrong := FromBytes([]byte("other"))
	_, err = ScanManifest(NewVerifyingReader(bytes.NewReader(b), wrong, -1), ManifestVisitor{})
	if !errors.Is(err, ErrMismatch) || errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("got %v, want ErrMismatch and not ErrInvalidManifest", err)
	}
}

// TestScanManifestBlob: a blob is checked against its digest to the end; a
// damaged one is a mismatch even when the damage breaks its JSON, and a
// well-stored invalid manifest is an invalid manifest.
func TestScanManifestBlob(t *testing.T) {
	good, err := fileManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	d := FromBytes(good)
	if _, err := ScanManifestBlob(bytes.NewReader(good), d, ManifestVisitor{}); err != nil {
		t.Fatalf("intact blob: %v", err)
	}
	damaged := bytes.Clone(good)
	damaged[3] ^= 0xff
	if _, err := ScanManifestBlob(bytes.NewReader(damaged), d, ManifestVisitor{}); !errors.Is(err, ErrMismatch) || errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("damaged blob: got %v, want ErrMismatch only", err)
	}
	bad := []byte(`{"schema":1}`)
	if _, err := ScanManifestBlob(bytes.NewReader(bad), FromBytes(bad), ManifestVisitor{}); !errors.Is(err, ErrInvalidManifest) {
		t.Fatalf("invalid manifest: got %v, want ErrInvalidManifest", err)
	}
	if _, err := ScanManifestBlob(bytes.NewReader(good), FromBytes(bad), ManifestVisitor{}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("valid manifest under another digest: got %v, want ErrMismatch", err)
	}
}

// belowFileBySet is the rule fileChain implements, the simple way: an
// entry is invalid when a path it is below was a file entry before it.
func belowFileBySet(entries []TreeEntry) (int, string) {
	files := map[string]bool{}
	for i, e := range entries {
		for p := e.Path; ; {
			j := strings.LastIndexByte(p, '/')
			if j < 0 {
				break
			}
			p = p[:j]
			if files[p] {
				return i, p
			}
		}
		if e.Type == EntryFile {
			files[e.Path] = true
		}
	}
	return -1, ""
}

// belowFileByChain is the same with fileChain, as checkEntry uses it.
func belowFileByChain(entries []TreeEntry) (int, string) {
	var c fileChain
	for i, e := range entries {
		if f := c.below(e.Path); f != "" {
			return i, f
		}
		if e.Type == EntryFile {
			c = append(c, e.Path)
		}
	}
	return -1, ""
}

// sortedEntries turns fuzz input into entries sorted by path without
// duplicates: one path per line, a leading '/' in the line marking a
// directory.
func sortedEntries(b []byte) []TreeEntry {
	seen := map[string]bool{}
	var entries []TreeEntry
	for _, line := range strings.Split(string(b), "\n") {
		typ := EntryFile
		if strings.HasPrefix(line, "/") {
			typ, line = EntryDir, line[1:]
		}
		if line == "" || seen[line] {
			continue
		}
		seen[line] = true
		entries = append(entries, TreeEntry{Path: line, Type: typ})
	}
	slices.SortFunc(entries, func(a, b TreeEntry) int { return strings.Compare(a.Path, b.Path) })
	return entries
}

func TestFileChain(t *testing.T) {
	for _, tc := range []struct {
		in    string
		index int
		below string
	}{
		{"a\na/b", 1, "a"},
		{"a\na.txt\na-b\na b\na/b", 4, "a"},
		{"a\na.b\na.b/c", 2, "a.b"},
		{"a\n/a.b\na.b/c\na/x", 3, "a"},
		{"a\n/a-b\na-b/c", -1, ""},
		{"/a\na/b\na/b.c\nab\nb/c", -1, ""},
		{"x/y\nx/y/z", 1, "x/y"},
	} {
		entries := sortedEntries([]byte(tc.in))
		if i, f := belowFileByChain(entries); i != tc.index || f != tc.below {
			t.Errorf("%q: below file %q at entry %d; want %q at %d", tc.in, f, i, tc.below, tc.index)
		}
		if i, f := belowFileBySet(entries); i != tc.index || f != tc.below {
			t.Errorf("%q (by set): below file %q at entry %d; want %q at %d", tc.in, f, i, tc.below, tc.index)
		}
	}
}

// FuzzFileChain: the chain finds the same first entry below a file as a
// set of every file path does.
func FuzzFileChain(f *testing.F) {
	f.Add([]byte("a\na.txt\na/b"))
	f.Add([]byte("/a\na/b\na.b\na.b/c"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries := sortedEntries(b)
		i, p := belowFileBySet(entries)
		j, q := belowFileByChain(entries)
		if i != j || p != q {
			t.Fatalf("set: entry %d below %q; chain: entry %d below %q", i, p, j, q)
		}
	})
}
