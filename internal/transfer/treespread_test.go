package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestSpreadDirs: spreadDirs marks the directory +T (where the filesystem
// has the flag) and its undo gives the directory back its flags; a tree
// pull into a new directory leaves no flag behind, and one into an
// existing directory never touches its flags.
func TestSpreadDirs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	before, err := dirFlags(root)
	if err != nil {
		t.Skipf("the filesystem of %s has no inode flags: %v", dir, err)
	}
	undo := spreadDirs(root)
	during, _ := dirFlags(root)
	undo()
	after, _ := dirFlags(root)
	if during&fsTopdirFL == 0 {
		t.Skipf("the filesystem of %s does not keep FS_TOPDIR_FL (flags %#x)", dir, during)
	}
	if after != before {
		t.Fatalf("flags %#x after undo, %#x before", after, before)
	}

	src := t.TempDir()
	writeTree(t, src, map[string]string{"a/x": "x", "b/c/y": "y", "z": "z"}, nil)
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeSchema: content.StreamTreeSchema})
	if err != nil {
		t.Fatal(err)
	}
	for _, fresh := range []bool{true, false} {
		dst := filepath.Join(t.TempDir(), "out")
		if !fresh {
			if err := os.Mkdir(dst, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{}); err != nil {
			t.Fatal(err)
		}
		r, err := os.OpenRoot(dst)
		if err != nil {
			t.Fatal(err)
		}
		flags, err := dirFlags(r)
		r.Close()
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Fatal(err)
		}
		if flags != before {
			t.Errorf("fresh=%v: the destination's flags are %#x after the pull; want %#x", fresh, flags, before)
		}
		if b, err := os.ReadFile(filepath.Join(dst, "b", "c", "y")); err != nil || string(b) != "y" {
			t.Fatalf("b/c/y: %q, %v", b, err)
		}
	}
}
