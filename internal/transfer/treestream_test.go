package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// manyFiles writes n small files of random bytes (seeded) in 10
// directories and returns their paths.
func manyFiles(t *testing.T, dir string, n int, seed uint64) []string {
	t.Helper()
	files := map[string]string{}
	var paths []string
	for i := range n {
		p := fmt.Sprintf("d%d/f%04d.bin", i%10, i)
		files[p] = string(randBytes(seed+uint64(i), 200+i%700))
		paths = append(paths, p)
	}
	writeTree(t, dir, files, nil)
	return paths
}

// TestStreamTreeFewObjects: a tree of many small files is a handful of
// chunks and one manifest, and pushing it again after editing one file
// uploads only the chunks around that file (and the manifest).
func TestStreamTreeFewObjects(t *testing.T) {
	src := t.TempDir()
	paths := manyFiles(t, src, 400, 100) // about 220 KiB
	s := newMemStore()
	p := smallParams()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: p})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.blobs); n > 400/10 {
		t.Fatalf("%d files stored as %d blobs; want at most one per 10 files", 400, n)
	}
	before := s.putOK
	edited := filepath.Join(src, filepath.FromSlash(paths[200]))
	if err := os.WriteFile(edited, []byte("edited content"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := PushTree(context.Background(), src, s, PushOptions{Chunker: p})
	if err != nil {
		t.Fatal(err)
	}
	if again.ContentDigest == res.ContentDigest {
		t.Fatal("an edited tree has the same content digest")
	}
	// The chunk holding the edit, the one the cut resynchronises in, and
	// the manifest.
	if put := s.putOK - before; put > 3 || again.UploadedBytes > 2*p.Max {
		t.Fatalf("re-push after one edit stored %d blobs, %d chunk bytes; want at most 3 blobs and %d bytes", put, again.UploadedBytes, 2*p.Max)
	}
}

// TestStreamTreeDedupsLargeFiles: a file of at least the chunker's minimum
// starts and ends at chunk boundaries, so it has the chunks it has when
// pushed alone, whatever the small files around it.
func TestStreamTreeDedupsLargeFiles(t *testing.T) {
	big := randBytes(7, 200<<10)
	s := newMemStore()
	alone, err := Push(context.Background(), strings.NewReader(string(big)), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "small before", "big.bin": string(big), "c.txt": "small after"}, nil)
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeduplicatedBytes != alone.Size {
		t.Fatalf("deduplicated %d bytes, want the large file's %d", res.DeduplicatedBytes, alone.Size)
	}
}

// pushStreamTree pushes files (path -> content, "/"-suffixed for empty
// directories) as a stream-layout tree.
func pushStreamTree(t *testing.T, s *memStore, files map[string]string) PushResult {
	t.Helper()
	src := t.TempDir()
	writeTree(t, src, files, nil)
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPullTreePaths: a path selection writes the selected entries at their
// paths (parents created) and fetches only the chunks that hold them.
func TestPullTreePaths(t *testing.T) {
	s := newMemStore()
	files := map[string]string{
		"a/one.bin": string(randBytes(1, 40<<10)), "a/two.txt": "two", "b/sub/three.bin": string(randBytes(3, 40<<10)),
		"b/sub/four.txt": "four", "c/five.bin": string(randBytes(5, 40<<10)), "c/six.txt": "six", "empty/": "",
	}
	res := pushStreamTree(t, s, files)
	m := manifestOf(t, s, res.ManifestDigest)
	offsets := map[string]content.TreeEntry{}
	for _, e := range m.Entries {
		offsets[e.Path] = e
	}
	for _, tc := range []struct {
		paths []string
		want  []string
	}{
		{[]string{"a/one.bin"}, []string{"a/one.bin"}},
		{[]string{"b"}, []string{"b/sub/four.txt", "b/sub/three.bin"}},
		{[]string{"b/sub/"}, []string{"b/sub/four.txt", "b/sub/three.bin"}},
		{[]string{"*/*.txt"}, []string{"a/two.txt", "c/six.txt"}},
		{[]string{"c", "a/two.txt"}, []string{"a/two.txt", "c/five.bin", "c/six.txt"}},
		{[]string{"*/sub"}, []string{"b/sub/four.txt", "b/sub/three.bin"}},
	} {
		t.Run(strings.Join(tc.paths, ","), func(t *testing.T) {
			var mu sync.Mutex
			fetched := map[content.Digest]bool{}
			s.failGet = func(_ int, d content.Digest) error {
				mu.Lock()
				fetched[d] = true
				mu.Unlock()
				return nil
			}
			defer func() { s.failGet = nil }()
			dst := t.TempDir()
			if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{Paths: tc.paths}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for p, v := range snapshot(t, dst) {
				if !strings.HasPrefix(v, "d") {
					got = append(got, p)
					if want := "-rw-r--r-- " + files[p]; v != want {
						t.Errorf("%s: got %.30q, want %.30q", p, v, want)
					}
				}
			}
			if fmt.Sprint(sortedCopy(got)) != fmt.Sprint(tc.want) {
				t.Fatalf("wrote %v, want %v", sortedCopy(got), tc.want)
			}
			// Only the chunks that overlap the selected files (and the
			// manifest) were read.
			var pos int64
			for _, c := range m.Chunks {
				need := false
				for _, p := range tc.want {
					e := offsets[p]
					if e.Size > 0 && e.Offset < pos+c.Size && pos < e.Offset+e.Size {
						need = true
					}
				}
				if fetched[c.Digest] != need {
					t.Errorf("chunk at %d: fetched %v, needed %v", pos, fetched[c.Digest], need)
				}
				pos += c.Size
			}
		})
	}
	dst := t.TempDir()
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{Paths: []string{"a", "nope/*"}}); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("a pattern matching nothing: got %v, want ErrNoMatch", err)
	}
	if ents, _ := os.ReadDir(dst); len(ents) != 0 {
		t.Fatalf("a refused selection wrote %v", ents)
	}
	for _, bad := range []string{"../a", "/a", "a/../b", "[", ""} {
		if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{Paths: []string{bad}}); !errors.Is(err, ErrInvalidSelection) {
			t.Fatalf("pattern %q: got %v, want ErrInvalidSelection", bad, err)
		}
	}
	file, err := Push(context.Background(), strings.NewReader("x"), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PullPath(context.Background(), file.ManifestDigest, s, filepath.Join(dst, "x"), PullOptions{Paths: []string{"a"}}); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("a selection in a file pull: got %v, want ErrWrongKind", err)
	}
}

// TestVerifyTree: a clean tree verifies, reading every file's bytes; a
// damaged chunk fails it.
func TestVerifyTree(t *testing.T) {
	s := newMemStore()
	res := pushStreamTree(t, s, map[string]string{"a": string(randBytes(1, 30<<10)), "b/c": "c", "e": ""})
	got, err := VerifyTree(context.Background(), res.ManifestDigest, s, PullOptions{})
	if err != nil || got.Written != res.Size {
		t.Fatalf("VerifyTree = %+v, %v; want %d bytes read", got, err, res.Size)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	s.corrupt(m.Chunks[len(m.Chunks)-1].Digest)
	if _, err := VerifyTree(context.Background(), res.ManifestDigest, s, PullOptions{}); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("damaged chunk: got %v, want ErrMismatch", err)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestTreeSymlinks: links are stored as links (never followed), pulled
// back as links; --follow-symlinks stores what they point to; special
// files are skipped with a warning each, or refused with Strict.
func TestTreeSymlinks(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"lib/libfoo.so.1": "elf", "docs/index.html": "hi"}, nil)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{"lib/libfoo.so": "libfoo.so.1", "docs/up": "../lib", "dangling": "nowhere", "out": outside}
	for p, target := range links {
		if err := os.Symlink(target, filepath.Join(src, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	var skipped []string
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(),
		OnSkip: func(p, what string) { skipped = append(skipped, filepath.Base(p)+" "+what) }})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(skipped) != "[fifo named pipe]" {
		t.Fatalf("skipped %v, want the FIFO once", skipped)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	got := map[string]string{}
	for _, e := range m.Entries {
		if e.Type == content.EntrySymlink {
			got[e.Path] = e.Target
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(links) {
		t.Fatalf("stored links %v, want %v", got, links)
	}

	// The link to outside stops a pull, before it is created...
	dst := t.TempDir()
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{}); !errors.Is(err, ErrLinkOutside) {
		t.Fatalf("got %v, want ErrLinkOutside", err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "out")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the outside link was created: %v", err)
	}
	// ... unless links are trusted; the others are recreated as links.
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{TrustLinks: true}); err != nil {
		t.Fatal(err)
	}
	for p, target := range links {
		if got, err := os.Readlink(filepath.Join(dst, filepath.FromSlash(p))); err != nil || got != target {
			t.Fatalf("%s: link %q, %v; want %q", p, got, err, target)
		}
	}
	// A selection without the outside link pulls without trust, and a
	// pull again replaces the links it made.
	dst2 := t.TempDir()
	for range 2 {
		if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst2, PullOptions{Paths: []string{"lib", "docs"}}); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dst2, "docs", "up", "libfoo.so")); err != nil || string(b) != "elf" {
		t.Fatalf("through the pulled links: %q, %v", b, err)
	}

	// Following links stores what they point to; a dangling one fails.
	os.Remove(filepath.Join(src, "dangling"))
	fres, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), FollowSymlinks: true})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]content.EntryType{}
	for _, e := range manifestOf(t, s, fres.ManifestDigest).Entries {
		kinds[e.Path] = e.Type
	}
	if kinds["lib/libfoo.so"] != content.EntryFile || kinds["out/secret"] != content.EntryFile || kinds["docs/up/libfoo.so.1"] != content.EntryFile {
		t.Fatalf("followed entries %v", kinds)
	}

	// Strict refuses the FIFO.
	if _, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), Strict: true}); !errors.Is(err, ErrUnsupportedFileType) {
		t.Fatalf("strict: got %v, want ErrUnsupportedFileType", err)
	}
	// A link to a directory above it loops when followed.
	if err := os.Symlink("..", filepath.Join(src, "lib", "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), FollowSymlinks: true}); !errors.Is(err, ErrUnsupportedFileType) {
		t.Fatalf("a loop: got %v, want ErrUnsupportedFileType", err)
	}
}

// TestLinkInside: the text of a link decides whether it stays inside.
func TestLinkInside(t *testing.T) {
	for _, tc := range []struct {
		p, target string
		inside    bool
	}{
		{"libfoo.so", "libfoo.so.1", true},
		{"a/b/l", "../../x", true},
		{"a/b/l", "../../../x", false},
		{"l", "..", false},
		{"l", ".", true},
		{"a/l", "./../b//c", true},
		{"l", "/etc/passwd", false},
		{"a/l", "b/../../..", false},
		{"a/l", "b/..", false}, // b may be a link: ".." after a name is not judged
	} {
		if got := linkInside(tc.p, tc.target); got != tc.inside {
			t.Errorf("linkInside(%q, %q) = %v, want %v", tc.p, tc.target, got, tc.inside)
		}
	}
}

// TestPullTreeCraftedLinks: manifests a hostile writer could store are
// refused without writing outside the destination: an entry below a link
// does not parse, and a link that climbs out is not created.
func TestPullTreeCraftedLinks(t *testing.T) {
	s := newMemStore()
	chunk := []byte("payload")
	cd := storeRaw(s, chunk)
	craft := func(entries string, digest content.Digest) content.Digest {
		return storeRaw(s, []byte(`{"schema":2,"kind":"tree","size":7,"digest":"`+digest.String()+
			`","chunker":{"algorithm":"fastcdc-gear-v1","min":1024,"avg":4096,"max":16384},"chunks":[{"digest":"`+cd.String()+
			`","size":7}],"entries":[`+entries+`]}`))
	}
	file := func(p string) content.TreeEntry {
		return content.TreeEntry{Path: p, Type: content.EntryFile, Mode: 0o644, Size: 7, Digest: content.FromBytes(chunk)}
	}
	link := func(p, target string) content.TreeEntry {
		return content.TreeEntry{Path: p, Type: content.EntrySymlink, Target: target}
	}
	outside := t.TempDir()
	rel, err := filepath.Rel(t.TempDir(), outside)
	if err != nil {
		t.Fatal(err)
	}
	below := []content.TreeEntry{link("l", outside), file("l/evil")}
	climb := []content.TreeEntry{link("l", rel), file("x")}
	for _, tc := range []struct {
		name    string
		entries []content.TreeEntry
		json    string
		want    error
	}{
		{"entry below a link", below, `{"path":"l","type":"symlink","mode":0,"target":` + quote(outside) + `},{"path":"l/evil","type":"file","mode":420,"size":7,"digest":"` + content.FromBytes(chunk).String() + `"}`, content.ErrInvalidManifest},
		{"link climbing out", climb, `{"path":"l","type":"symlink","mode":0,"target":` + quote(rel) + `},{"path":"x","type":"file","mode":420,"size":7,"digest":"` + content.FromBytes(chunk).String() + `"}`, ErrLinkOutside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := craft(tc.json, content.TreeDigest(tc.entries))
			dst := t.TempDir()
			if _, err := PullTree(context.Background(), md, s, dst, PullOptions{}); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("the pull wrote outside the destination: %v", ents)
			}
			if _, err := os.Lstat(filepath.Join(dst, "l")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the link was created: %v", err)
			}
		})
	}
	// A file whose bytes do not match its digest (the chunk is fine) is
	// never renamed into place.
	e := file("f")
	e.Digest = content.FromBytes([]byte("other"))
	md := craft(`{"path":"f","type":"file","mode":420,"size":7,"digest":"`+e.Digest.String()+`"}`, content.TreeDigest([]content.TreeEntry{e}))
	dst := t.TempDir()
	if _, err := PullTree(context.Background(), md, s, dst, PullOptions{}); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("a file that does not match its digest: got %v, want ErrMismatch", err)
	}
	// VerifyTree finds it too, naming the file.
	if _, err := VerifyTree(context.Background(), md, s, PullOptions{}); !errors.Is(err, content.ErrMismatch) || !strings.Contains(err.Error(), ": f: ") {
		t.Fatalf("VerifyTree: got %v, want ErrMismatch naming f", err)
	}
	if ents, _ := os.ReadDir(dst); len(ents) != 0 {
		t.Fatalf("a failed pull left %v", ents)
	}
}

// TestPullTreePathsPerFileLayout: a selection in a per-file layout tree
// reads the manifests and chunks of the selected files only.
func TestPullTreePathsPerFileLayout(t *testing.T) {
	s := newMemStore()
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a/one.txt": "one", "a/two.txt": "two", "b/three.txt": "three"}, nil)
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeSchema: content.ManifestSchema})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	var mu sync.Mutex
	fetched := map[content.Digest]bool{}
	s.failGet = func(_ int, d content.Digest) error {
		mu.Lock()
		fetched[d] = true
		mu.Unlock()
		return nil
	}
	dst := t.TempDir()
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{Paths: []string{"a/t*"}}); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, dst)
	if got["a/two.txt"] != "-rw-r--r-- two" || got["a/one.txt"] != "" || got["b/three.txt"] != "" {
		t.Fatalf("wrote %v, want a/two.txt only", got)
	}
	for _, e := range m.Entries {
		if e.Type == content.EntryFile && fetched[e.Manifest] != (e.Path == "a/two.txt") {
			t.Errorf("%s: its manifest fetched %v", e.Path, fetched[e.Manifest])
		}
	}
}

// TestPullTreeLinkChecksOnlyOutsideNewDirectories: a pull looks for a
// link at an entry's path (one lstat each) only in directories it did not
// create: none for a new destination or a new subdirectory, one per file
// in directories that were already there. The count is what keeps the
// per-file cost of a pull into a new directory at its minimum.
func TestPullTreeLinkChecksOnlyOutsideNewDirectories(t *testing.T) {
	s := newMemStore()
	src := t.TempDir()
	paths := manyFiles(t, src, 60, 9) // 6 files in each of d0..d9
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	pull := func(dst string) int {
		t.Helper()
		st := &treePullStats{}
		if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{stats: st}); err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(p))); err != nil {
				t.Fatal(err)
			}
		}
		return st.linkChecks
	}
	if n := pull(filepath.Join(t.TempDir(), "new")); n != 0 {
		t.Errorf("pull into a new destination: %d link checks, want 0", n)
	}
	if n := pull(t.TempDir()); n != 0 {
		t.Errorf("pull into an empty destination: %d link checks, want 0 (its directories are new)", n)
	}
	dst := t.TempDir()
	for _, d := range []string{"d0", "d1"} {
		if err := os.Mkdir(filepath.Join(dst, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if n := pull(dst); n != 12 {
		t.Errorf("pull with d0 and d1 already there: %d link checks, want 12 (their files)", n)
	}
	// Again over the complete tree: every directory is already there.
	if n := pull(dst); n != len(paths) {
		t.Errorf("pull over the same tree: %d link checks, want %d", n, len(paths))
	}
}
