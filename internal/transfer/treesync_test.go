package transfer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestPullTreeFailedSyncLeavesNoFile: when the fsync of any file of a
// stream-layout tree fails, the pull fails with that error and no file is
// left under its final name (nor any temporary file): a file is renamed
// into place only once every file of its batch is durable.
func TestPullTreeFailedSyncLeavesNoFile(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("d%d/f%02d.txt", i%4, i)] = string(randBytes(uint64(i), 3000+i))
	}
	writeTree(t, src, files, nil)
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeSchema: content.StreamTreeSchema})
	if err != nil {
		t.Fatal(err)
	}
	errDisk := errors.New("simulated I/O error")
	for _, failAt := range []int64{1, 17, 40} {
		t.Run(fmt.Sprintf("sync %d of 40 fails", failAt), func(t *testing.T) {
			var calls atomic.Int64
			opts := PullOptions{dirtyBytes: unknownDirty, syncFile: func(f outFile) error {
				if calls.Add(1) == failAt {
					return errDisk
				}
				return f.Sync()
			}}
			dst := t.TempDir()
			if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, opts); !errors.Is(err, errDisk) {
				t.Fatalf("got %v, want the sync's error", err)
			}
			if n := calls.Load(); n < failAt {
				t.Fatalf("%d syncs, want at least %d", n, failAt)
			}
			var left []string
			err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() {
					left = append(left, p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Fatalf("a pull whose sync failed left %v", left)
			}
		})
	}
}

// TestPullTreeSyncsFilesAndDirs: a stream-layout tree pull fsyncs every
// file it writes and every directory it changed (each file's, and the
// destination that names them).
func TestPullTreeSyncsFilesAndDirs(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a/x": "x", "a/b/y": "y", "z": "z"}, nil)
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeSchema: content.StreamTreeSchema})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		dirty func() (int64, bool)
		want  int64
	}{
		// 3 files; directories ".", "a", "a/b".
		{"dirty data unknown", unknownDirty, 6},
		{"others' dirty data", func() (int64, bool) { return 1 << 30, true }, 6},
		{"nothing else dirty: one syncfs where there is one", func() (int64, bool) { return 0, true }, map[bool]int64{true: 0, false: 6}[haveSyncfs]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int64
			opts := PullOptions{dirtyBytes: c.dirty, syncFile: func(f outFile) error { calls.Add(1); return f.Sync() }}
			dst := t.TempDir()
			if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, opts); err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != c.want {
				t.Fatalf("%d fsyncs, want %d", n, c.want)
			}
			if b, err := os.ReadFile(filepath.Join(dst, "a", "b", "y")); err != nil || string(b) != "y" {
				t.Fatalf("a/b/y: %q, %v", b, err)
			}
		})
	}
}

func unknownDirty() (int64, bool) { return 0, false }

// TestSyncPlan: one syncfs when the dirty data beyond the pull's own costs
// less than the files' fsyncs; an fsync per file otherwise, or when the
// dirty data is unknown.
func TestSyncPlan(t *testing.T) {
	cases := []struct {
		dirty      int64
		known      bool
		files      int
		own        int64
		wantSyncfs bool
	}{
		{0, true, 4096, 40 << 20, true},
		{40<<20 + syncfsSlack, true, 4096, 40 << 20, true},
		{40<<20 + 4096*syncfsBytesPerFile + syncfsSlack + 1, true, 4096, 40 << 20, false},
		{100 << 20, true, 10, 100 << 10, false},
		{1 << 20, true, 0, 0, true},
		{0, false, 4096, 40 << 20, false},
	}
	for _, c := range cases {
		p := syncPlan{dirty: func() (int64, bool) { return c.dirty, c.known }}
		if got := p.syncfs(c.files, c.own); got != (c.wantSyncfs && haveSyncfs) {
			t.Errorf("dirty %d (known %v), %d files of %d bytes: syncfs = %v, want %v", c.dirty, c.known, c.files, c.own, got, c.wantSyncfs)
		}
	}
}

// TestParseMeminfo: Dirty and Writeback are summed in bytes; text without
// both, or with a value that is not a count of kB, is not known.
func TestParseMeminfo(t *testing.T) {
	cases := []struct {
		text  string
		want  int64
		known bool
	}{
		{"MemTotal:        8000000 kB\nDirty:             34396 kB\nWriteback:             4 kB\nWritebackTmp:   9 kB\n", (34396 + 4) << 10, true},
		{"Dirty: 0 kB\nWriteback: 0 kB", 0, true},
		{"Dirty: 10 kB\n", 0, false},
		{"Dirty: x kB\nWriteback: 0 kB\n", 0, false},
		{"Dirty: -1 kB\nWriteback: 0 kB\n", 0, false},
		{"Dirty: 1 MB\nWriteback: 0 kB\n", 0, false},
		{"Dirty: 9223372036854775807 kB\nWriteback: 0 kB\n", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		got, known := parseMeminfo([]byte(c.text))
		if got != c.want || known != c.known {
			t.Errorf("parseMeminfo(%q) = %d, %v; want %d, %v", c.text, got, known, c.want, c.known)
		}
	}
}

func FuzzParseMeminfo(f *testing.F) {
	f.Add([]byte("Dirty:             34396 kB\nWriteback:             0 kB\n"))
	f.Add([]byte("Dirty: 9007199254740991 kB\nWriteback: 9007199254740991 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, known := parseMeminfo(b)
		if n < 0 || (!known && n != 0) {
			t.Fatalf("parseMeminfo(%q) = %d, %v", b, n, known)
		}
	})
}
