package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// writeTree creates files (path -> content) and empty dirs (path ending in
// "/") under dir with the given modes.
func writeTree(t *testing.T, dir string, files map[string]string, modes map[string]fs.FileMode) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, m := range modes {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(p)), m); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot describes a directory: path -> mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		out[filepath.ToSlash(rel)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// layouts are the tree layouts every tree test runs in.
var layouts = []struct {
	name   string
	schema int
}{{"stream", content.StreamTreeSchema}, {"per-file", content.ManifestSchema}}

func TestTreeRoundTrip(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testTreeRoundTrip(t, l.schema) })
	}
}

func testTreeRoundTrip(t *testing.T, schema int) {
	src := t.TempDir()
	big := string(randBytes(20, 300<<10))
	writeTree(t, src, map[string]string{
		"README.md":              "hello\n",
		"bin/run.sh":             "#!/bin/sh\necho hi\n",
		"data/big.bin":           big,
		"data/copy.bin":          big, // deduplicated against big.bin
		"data/empty.txt":         "",
		"empty dir/":             "",
		"ünïcödé name ✓.txt":     "unicode",
		"deep/a/b/c/d/e/f/g.txt": "deep",
		"a.txt":                  "sorts between a/ and a.txt",
		"a/x":                    "x",
	}, map[string]fs.FileMode{"bin/run.sh": 0o755, "README.md": 0o600, "data": 0o750, "empty dir": 0o700})

	s := newMemStore()
	var last Progress
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), MediaType: "inode/directory",
		Progress: func(p Progress) { last = p }, TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	wantSize := int64(2*len(big) + len("hello\n#!/bin/sh\necho hi\nunicodedeepsorts between a/ and a.txtx"))
	if res.Kind != content.KindTree || res.Size != wantSize || res.UploadedBytes+res.DeduplicatedBytes != res.Size {
		t.Fatalf("result %+v, want a tree of %d bytes", res, wantSize)
	}
	if res.DeduplicatedBytes < int64(len(big)) {
		t.Fatalf("deduplicated %d bytes, want at least the copy (%d)", res.DeduplicatedBytes, len(big))
	}
	if last.Read != res.Size {
		t.Fatalf("progress read %d, want %d", last.Read, res.Size)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	if m.Digest != res.ContentDigest || m.Digest != content.TreeDigest(m.Entries) || m.MediaType != "inode/directory" {
		t.Fatalf("tree manifest digest %s, result %s", m.Digest, res.ContentDigest)
	}
	if m.Stream() != (schema == content.StreamTreeSchema) {
		t.Fatalf("pushed with tree schema %d, the manifest has schema %d", schema, m.Schema)
	}
	for _, c := range m.Chunks {
		if !s.has(c.Digest) {
			t.Fatalf("chunk %s is not stored", c.Digest)
		}
	}
	for _, e := range m.Entries {
		if e.Type != content.EntryFile || m.Stream() {
			continue
		}
		for _, c := range manifestOf(t, s, e.Manifest).Chunks {
			if !s.has(c.Digest) {
				t.Fatalf("%s: chunk %s is not stored", e.Path, c.Digest)
			}
		}
	}

	// Pushing again gives the same manifest and uploads nothing.
	again, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), MediaType: "inode/directory", TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if again.ManifestDigest != res.ManifestDigest || again.UploadedBytes != 0 {
		t.Fatalf("re-push: manifest %s (was %s), uploaded %d", again.ManifestDigest, res.ManifestDigest, again.UploadedBytes)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	pres, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pres.Written != res.Size {
		t.Fatalf("wrote %d bytes, want %d", pres.Written, res.Size)
	}
	want, got := snapshot(t, src), snapshot(t, dst)
	for p, v := range want {
		if got[p] != v {
			t.Errorf("%s: got %.40q, want %.40q", p, got[p], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("restored %d entries, want %d", len(got), len(want))
	}

	// PullPath picks PullTree for a tree.
	viaPath := filepath.Join(t.TempDir(), "via-path")
	if _, err := PullPath(context.Background(), res.ManifestDigest, s, viaPath, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, viaPath); len(got) != len(want) || got["data/big.bin"] != want["data/big.bin"] {
		t.Fatal("PullPath restored a different tree")
	}

	// A tree is not a file, and a range makes no sense for it.
	if _, err := Pull(context.Background(), res.ManifestDigest, s, &bytes.Buffer{}, PullOptions{}); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("Pull of a tree: got %v, want ErrWrongKind", err)
	}
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, t.TempDir(), PullOptions{Range: &content.Range{}}); !errors.Is(err, content.ErrInvalidRange) {
		t.Fatalf("PullTree with a range: got %v, want ErrInvalidRange", err)
	}
	// And a file is not a tree.
	file, err := Push(context.Background(), strings.NewReader("x"), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PullTree(context.Background(), file.ManifestDigest, s, t.TempDir(), PullOptions{}); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("PullTree of a file: got %v, want ErrWrongKind", err)
	}
	// PullPath picks PullToFile for a file.
	target := filepath.Join(t.TempDir(), "x.txt")
	if _, err := PullPath(context.Background(), file.ManifestDigest, s, target, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "x" {
		t.Fatalf("PullPath of a file: %q, %v", b, err)
	}
}

// TestPushTreeRefuses: the per-file layout refuses links (the stream
// layout stores them, see TestTreeSymlinks), and no layout stores a path
// that is not portable.
func TestPushTreeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  error
	}{
		{"symlink", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"f": "x"}, nil)
			if err := os.Symlink("f", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsupportedFileType},
		{"symlink to outside", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsupportedFileType},
		{"newline in a name", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"bad\nname": "x"}, nil)
		}, content.ErrUnsafePath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			s := newMemStore()
			if _, err := PushTree(context.Background(), dir, s, PushOptions{Chunker: smallParams(), TreeSchema: content.ManifestSchema}); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for d, b := range s.blobs {
				if m, err := content.ParseManifest(b); err == nil && m.Kind == content.KindTree {
					t.Fatalf("tree manifest %s stored by a refused push", d)
				}
			}
		})
	}
	if _, err := PushTree(context.Background(), filepath.Join(t.TempDir(), "nope"), newMemStore(), PushOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: got %v, want ErrNotExist", err)
	}
}

// storeRaw stores bytes under their digest, bypassing validation, the way
// a hostile or buggy writer could.
func storeRaw(s *memStore, b []byte) content.Digest {
	d := content.FromBytes(b)
	s.set(d, b)
	return d
}

func TestPullTreeStaysInside(t *testing.T) {
	s := newMemStore()
	file, err := Push(context.Background(), strings.NewReader("payload"), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	entry := func(p string) content.TreeEntry {
		return content.TreeEntry{Path: p, Type: content.EntryFile, Mode: 0o644, Size: 7, Digest: file.ContentDigest, Manifest: file.ManifestDigest}
	}
	hostile := func(p string) []byte {
		e := []content.TreeEntry{entry(p)}
		m := content.Manifest{Kind: content.KindTree, Size: 7, Digest: content.TreeDigest(e), Entries: e}
		// Encode refuses unsafe paths; write the JSON by hand.
		return []byte(`{"schema":1,"kind":"tree","size":7,"digest":"` + m.Digest.String() +
			`","entries":[{"path":` + quote(p) + `,"type":"file","mode":420,"size":7,"digest":"` +
			file.ContentDigest.String() + `","manifest":"` + file.ManifestDigest.String() + `"}]}`)
	}
	for _, p := range []string{"../escaped", "/tmp/abs", "a/../../escaped", "./x", `..\x`} {
		t.Run(p, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "dst")
			d := storeRaw(s, hostile(p))
			if _, err := PullTree(context.Background(), d, s, dst, PullOptions{}); !errors.Is(err, content.ErrInvalidManifest) {
				t.Fatalf("got %v, want ErrInvalidManifest", err)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Fatalf("a refused tree created %v", ents)
			}
		})
	}

	// A symbolic link already in the target must not lead outside it.
	outside := t.TempDir()
	dst := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dst, "sub")); err != nil {
		t.Fatal(err)
	}
	m, err := content.NewTreeManifest([]content.TreeEntry{entry("sub/evil")}, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	_, err = PullTree(context.Background(), storeRaw(s, b), s, dst, PullOptions{})
	if err == nil {
		t.Fatal("PullTree followed a symbolic link out of the target")
	}
	t.Logf("refused: %v", err)
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("PullTree wrote outside the target: %v", ents)
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '\\' || r == '"' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func TestPullTreeCorruptFileLeavesNoHalfFile(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testPullTreeCorruptFileLeavesNoHalfFile(t, l.schema) })
	}
}

func testPullTreeCorruptFileLeavesNoHalfFile(t *testing.T, schema int) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.bin": string(randBytes(21, 100<<10)), "b.txt": "b"}, nil)
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	if m.Stream() { // the chunk that holds the end of a.bin
		i, pos := 0, int64(0)
		for ; pos+m.Chunks[i].Size < m.Entries[0].Size; i++ {
			pos += m.Chunks[i].Size
		}
		s.corrupt(m.Chunks[i].Digest)
	} else {
		fm := manifestOf(t, s, m.Entries[0].Manifest) // a.bin
		s.corrupt(fm.Chunks[len(fm.Chunks)-1].Digest)
	}
	dst := t.TempDir()
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{}); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("got %v, want ErrMismatch", err)
	}
	ents, _ := os.ReadDir(dst)
	names := []string{}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 0 {
		t.Fatalf("a failed tree pull left %v (a.bin failed first; no half file, no temp)", names)
	}
}

// TestWalkSortedOrder: the walk visits paths in byte order of the full
// path, which a depth-first walk in name order does not ("a/x" after
// "a.txt", "a b" and "a-b"), including directory entries, empty
// directories and names past ASCII.
func TestWalkSortedOrder(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{}
	for _, p := range []string{"a/x", "a/!", "a.txt", "a b", "a-b/c", "ab", "Z", "_", "ä/ö", "a/y/z", "a0"} {
		files[p] = p
	}
	files["empty/"] = ""
	writeTree(t, src, files, nil)
	root, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var got []string
	if err := walkSorted(root.FS(), ".", func(p string, _ fs.DirEntry) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("walk order:\n got %q\nwant %q", got, want)
	}
	if len(got) != 16 { // 11 files, and the directories a, a-b, a/y, empty, ä
		t.Fatalf("visited %d entries: %q", len(got), got)
	}
}

// TestDirStack: over a tree's paths in order, each directory is done after
// the last entry inside it and before any later entry, inner directories
// before outer ones, each exactly once.
func TestDirStack(t *testing.T) {
	paths := []string{"a", "a b", "a-b", "a-b/c", "a.txt", "a/!", "a/x", "a/y", "a/y/z", "a/y/z/w", "a0", "ab", "ab/c", "z"}
	dirs := map[string]bool{"a": true, "a-b": true, "a/y": true, "a/y/z": true, "ab": true}
	if !slices.IsSorted(paths) {
		t.Fatal("test paths not sorted")
	}
	var s dirStack
	doneAt := map[string]int{} // directory -> index of the entry before which it was done
	var order []string
	for i := 0; i <= len(paths); i++ {
		next := ""
		if i < len(paths) {
			next = paths[i]
		}
		if err := s.done(next, func(d content.TreeEntry) error {
			if _, again := doneAt[d.Path]; again {
				t.Fatalf("%s done twice", d.Path)
			}
			doneAt[d.Path] = i
			order = append(order, d.Path)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if i < len(paths) && dirs[paths[i]] {
			s.open = append(s.open, content.TreeEntry{Path: paths[i], Type: content.EntryDir})
		}
	}
	for d := range dirs {
		at, ok := doneAt[d]
		if !ok {
			t.Fatalf("%s never done", d)
		}
		for j, p := range paths {
			inside := strings.HasPrefix(p, d+"/")
			if inside && j >= at {
				t.Fatalf("%s done before entry %d (%s), which is inside it", d, at, p)
			}
			if !inside && j > slices.Index(paths, d) && j < at && p > d+"/" {
				t.Fatalf("%s done only before entry %d, though %s (entry %d) is past it", d, at, p, j)
			}
		}
	}
	if strings.Join(order, " ") != "a-b a/y/z a/y a ab" {
		t.Fatalf("done in the order %q", order)
	}
}

// TestPullTreeReadOnlyDirectories: directories whose modes forbid writing
// get those modes only once filled, and every mode ends as pushed.
func TestPullTreeReadOnlyDirectories(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testPullTreeReadOnlyDirectories(t, l.schema) })
	}
}

func testPullTreeReadOnlyDirectories(t *testing.T, schema int) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"ro/f": "in ro", "ro/sub/g": "in ro/sub", "ro.txt": "beside", "ro-x/y": "sibling", "rw/h": "h",
	}, map[string]fs.FileMode{"ro": 0o555, "ro/sub": 0o500, "ro-x": 0o700})
	t.Cleanup(func() { // so TempDir can remove them
		os.Chmod(filepath.Join(src, "ro", "sub"), 0o755)
		os.Chmod(filepath.Join(src, "ro"), 0o755)
	})
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	t.Cleanup(func() {
		os.Chmod(filepath.Join(dst, "ro", "sub"), 0o755)
		os.Chmod(filepath.Join(dst, "ro"), 0o755)
	})
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, dst), snapshot(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tree differs after the round trip:\n got %v\nwant %v", got, want)
	}
}
