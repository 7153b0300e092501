package fsck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

func TestEachFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	file := f.pushFile(t, "f", []byte("one file"))
	dir := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(dir, "a.txt"), []byte("a"))
	writeFile(t, filepath.Join(dir, "sub/b.txt"), []byte("b"))
	writeFile(t, filepath.Join(dir, "sub/c.txt"), []byte("c"))
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree := f.pushTree(t, "t", dir)
	tm := f.manifest(t, tree.ManifestDigest)
	a := entry(t, tm, "a.txt")
	read := func(ctx context.Context, d content.Digest) (content.Manifest, error) {
		return f.manifest(t, d), nil
	}

	t.Run("file", func(t *testing.T) {
		fm := f.manifest(t, file.ManifestDigest)
		var got []File
		err := EachFile(ctx, file.ManifestDigest, fm, func(context.Context, content.Digest) (content.Manifest, error) {
			t.Error("a file artifact's manifest is read again")
			return content.Manifest{}, nil
		}, func(f File) error { got = append(got, f); return nil })
		if err != nil || len(got) != 1 || got[0].Path != "" || got[0].Digest != file.ManifestDigest || got[0].Manifest.Digest != fm.Digest ||
			got[0].What() != "manifest" || got[0].Mismatch() != "" {
			t.Fatalf("EachFile = %+v, %v", got, err)
		}
	})
	t.Run("tree", func(t *testing.T) {
		var paths []string
		err := EachFile(ctx, tree.ManifestDigest, tm, read, func(f File) error {
			paths = append(paths, f.Path)
			if f.Err != nil || f.Manifest.Kind != content.KindFile || f.Manifest.Digest != f.Listed.Digest || f.Mismatch() != "" {
				t.Errorf("file %+v", f)
			}
			return nil
		})
		if want := []string{"a.txt", "sub/b.txt", "sub/c.txt"}; err != nil || !slices.Equal(paths, want) {
			t.Fatalf("EachFile visited %v, %v; want %v (regular files only, in the tree's order)", paths, err, want)
		}
	})
	t.Run("unreadable file manifest", func(t *testing.T) {
		broken := errors.New("disk error")
		bad := a.Manifest
		var errs []error
		err := EachFile(ctx, tree.ManifestDigest, tm, func(ctx context.Context, d content.Digest) (content.Manifest, error) {
			if d == bad {
				return content.Manifest{Kind: content.KindFile}, broken
			}
			return read(ctx, d)
		}, func(f File) error {
			errs = append(errs, f.Err)
			if f.Err != nil && (f.Manifest.Kind != "" || f.Mismatch() != "" || f.What() != "manifest of a.txt") {
				t.Errorf("unreadable file: %+v", f)
			}
			return nil
		})
		if err != nil || len(errs) != 3 || errs[0] != broken || errs[1] != nil {
			t.Fatalf("EachFile: %v, errors passed %v; want the walk to go on past the unreadable manifest", err, errs)
		}
	})
	t.Run("stops on the callback's error", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := EachFile(ctx, tree.ManifestDigest, tm, read, func(File) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("EachFile = %v after %d calls; want the callback's error after one", err, n)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		e := a
		fm := f.manifest(t, e.Manifest)
		for _, tc := range []struct {
			name string
			edit func(*content.TreeEntry)
		}{
			{"digest", func(e *content.TreeEntry) { e.Digest = content.FromBytes([]byte("other")) }},
			{"size", func(e *content.TreeEntry) { e.Size++ }},
		} {
			listed := e
			tc.edit(&listed)
			got := File{Path: e.Path, Digest: e.Manifest, Manifest: fm, Listed: listed}.Mismatch()
			if !strings.HasPrefix(got, "manifest of a.txt "+e.Manifest.Short()+" does not describe the file the tree lists") {
				t.Errorf("%s: Mismatch() = %q", tc.name, got)
			}
		}
		tree := File{Path: e.Path, Digest: tree.ManifestDigest, Manifest: tm, Listed: e}
		if tree.Mismatch() == "" {
			t.Error("a tree manifest listed as a file matches")
		}
	})
}

func TestReferences(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(dir, "a.txt"), []byte("a"))
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	tm := f.manifest(t, f.pushTree(t, "t", dir).ManifestDigest)
	a := entry(t, tm, "a.txt")
	fm := f.manifest(t, f.pushFile(t, "f", randomBytes(3, 3<<20)).ManifestDigest)
	for _, tc := range []struct {
		m    content.Manifest
		want []content.Digest
	}{
		{tm, []content.Digest{a.Manifest}},
		{fm, func() (ds []content.Digest) {
			for _, c := range fm.Chunks {
				ds = append(ds, c.Digest)
			}
			return ds
		}()},
	} {
		var got []content.Digest
		References(tc.m, func(d content.Digest) { got = append(got, d) })
		if !slices.Equal(got, tc.want) || len(got) == 0 {
			t.Errorf("References(%s manifest) = %v, want %v", tc.m.Kind, got, tc.want)
		}
	}
}

// entry returns the entry of tree manifest m for path.
func entry(t *testing.T, m content.Manifest, path string) content.TreeEntry {
	t.Helper()
	i := slices.IndexFunc(m.Entries, func(e content.TreeEntry) bool { return e.Path == path })
	if i < 0 {
		t.Fatalf("no entry %s in %+v", path, m.Entries)
	}
	return m.Entries[i]
}
