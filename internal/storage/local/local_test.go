package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return newLocal(t) }, storagetest.Options{
		CapacityKnown: true,
		Vanish: func(t *testing.T, b storage.Backend) {
			if err := os.RemoveAll(b.(*local.Backend).Root()); err != nil {
				t.Fatal(err)
			}
		},
		PlantJunk: plantJunk,
		RawExists: func(t *testing.T, b storage.Backend, key string) bool {
			_, err := os.Lstat(filepath.Join(b.(*local.Backend).Root(), filepath.FromSlash(key)))
			return err == nil
		},
	})
}

func newLocal(t testing.TB) *local.Backend {
	t.Helper()
	b, err := local.New("test", filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blobPath is where the local layout keeps d.
func blobPath(b *local.Backend, d content.Digest) string {
	return filepath.Join(b.Root(), filepath.FromSlash(d.Key()))
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// plantJunk fills the root with everything Walk must not report.
func plantJunk(t *testing.T, sb storage.Backend) {
	b := sb.(*local.Backend)
	root := b.Root()
	j := content.FromBytes([]byte("junk")).Hex()
	k := content.FromBytes([]byte("junk2")).Hex()
	files := []string{
		"README",
		"sha256/" + j,               // wrong depth
		"sha256/" + j[:2] + "/" + j, // wrong depth
		"sha256/" + j[:2] + "/" + j[2:4] + "/not-a-digest",  // bad name
		"sha256/" + j[:2] + "/" + j[2:4] + "/" + j + ".tmp", // suffix
		"sha256/" + j[:2] + "/" + j[2:4] + "/" + strings.ToUpper(j),
		"sha256/zz/" + j[2:4] + "/" + j,                      // shard mismatch
		"sha256/" + j[2:4] + "/" + j[:2] + "/" + j,           // swapped shards
		"sha256/" + j[:2] + "/" + j[2:4] + "/ef/" + j,        // too deep
		"sha256/" + k[:2] + "/" + k[2:4] + "/" + k + "/" + k, // a directory where a blob belongs
		"sha512/" + j[:2] + "/" + j[2:4] + "/" + j,           // unknown algorithm
		"tmp/put-" + j[:16] + "-LEFTOVER",                    // upload in progress
		"tmp/sha256/" + j[:2] + "/" + j[2:4] + "/" + j,       // valid key, but inside tmp/
	}
	for _, f := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(f)), []byte("junk"))
	}
	// Links are never reported, whether they point inside the root or out.
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "ab", "blob"), []byte("outside"))
	l := content.FromBytes([]byte("link")).Hex()
	m := content.FromBytes([]byte("link2")).Hex()
	var some content.Digest
	if err := b.Walk(t.Context(), func(i storage.Info) error { some = i.Digest; return nil }); err != nil || some.IsZero() {
		t.Fatalf("PlantJunk needs a blob to link to: %v", err)
	}
	symlink(t, blobPath(b, some), filepath.Join(root, "sha256", l[:2], l[2:4], l))
	symlink(t, outside, filepath.Join(root, "sha256", m[:2]))
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)

	b, err := local.New("default", filepath.Join("a", "b", "..", "b", "store"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "a", "b", "store"); b.Root() != want {
		t.Errorf("Root() = %q, want %q", b.Root(), want)
	}
	if b.ID() != "default" {
		t.Errorf("ID() = %q", b.ID())
	}
	for _, p := range []string{b.Root(), filepath.Join(b.Root(), "tmp")} {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			t.Errorf("New did not create directory %s: %v", p, err)
		}
	}
	// Opening an existing root again is fine and keeps its blobs.
	d := content.FromBytes([]byte("x"))
	if _, err := b.Put(t.Context(), d, 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	b2, err := local.New("again", b.Root())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Head(t.Context(), d); err != nil {
		t.Errorf("blob not visible through a second backend on the same root: %v", err)
	}

	writeFile(t, filepath.Join(dir, "file"), []byte("not a dir"))
	for _, c := range []struct {
		id, root, want string
	}{
		{"", dir, "empty ID"},
		{"x", "", "no root directory"},
		{"x", filepath.Join(dir, "file"), "create root directory"},
		{"x", filepath.Join(dir, "file", "sub"), "create root directory"},
	} {
		if _, err := local.New(c.id, c.root); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %q) error = %v; want it to contain %q", c.id, c.root, err, c.want)
		}
	}
}

func TestVanishedRoot(t *testing.T) {
	b := newLocal(t)
	data := []byte("kept")
	d := content.FromBytes(data)
	if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(b.Root()); err != nil {
		t.Fatal(err)
	}

	h := b.Health(t.Context())
	if h.Healthy || !strings.Contains(h.Detail, "missing") || !strings.Contains(h.Detail, b.Root()) {
		t.Errorf("Health = %+v; want unhealthy, naming the missing root", h)
	}
	other := []byte("new")
	_, err := b.Put(t.Context(), content.FromBytes(other), 3, bytes.NewReader(other))
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Put = %v; want ErrUnavailable saying the root is missing", err)
	}
	if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Head = %v; want ErrUnavailable", err)
	}
	if _, err := os.Stat(b.Root()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the root was recreated (stat: %v); it must stay missing", err)
	}

	// A root replaced by a file is just as unusable.
	writeFile(t, b.Root(), []byte("oops"))
	if h := b.Health(t.Context()); h.Healthy || !strings.Contains(h.Detail, "not a directory") {
		t.Errorf("Health with a file as root = %+v", h)
	}
	if _, err := b.Put(t.Context(), content.FromBytes(other), 3, bytes.NewReader(other)); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Put with a file as root = %v; want ErrUnavailable", err)
	}
	if err := b.Walk(t.Context(), func(storage.Info) error { return nil }); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Walk with a file as root = %v; want ErrUnavailable", err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	data := []byte("secret outside the root")
	d := content.FromBytes(data)
	h := d.Hex()

	tests := []struct {
		name string
		// plant builds the links; it returns the outside file Get must not
		// serve (or "") and the outside directory Put must not write into.
		plant func(t *testing.T, root, outside string)
	}{
		{"absolute link for the first shard", func(t *testing.T, root, outside string) {
			symlink(t, outside, filepath.Join(root, "sha256", h[:2]))
		}},
		{"relative link for the second shard", func(t *testing.T, root, outside string) {
			rel, err := filepath.Rel(filepath.Join(root, "sha256", h[:2]), outside)
			if err != nil {
				t.Fatal(err)
			}
			symlink(t, rel, filepath.Join(root, "sha256", h[:2], h[2:4]))
		}},
		{"link for the algorithm directory", func(t *testing.T, root, outside string) {
			os.RemoveAll(filepath.Join(root, "sha256"))
			symlink(t, outside, filepath.Join(root, "sha256"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLocal(t)
			outside := t.TempDir()
			tt.plant(t, b.Root(), outside)
			// Lay the blob out below every possible link target, so a backend
			// that followed a link would find it.
			for _, p := range []string{
				filepath.Join(outside, h[:2], h[2:4], h),
				filepath.Join(outside, h[2:4], h),
				filepath.Join(outside, h),
			} {
				writeFile(t, p, data)
			}
			before := listTree(t, outside)

			if rc, err := b.Get(t.Context(), d, nil); !errors.Is(err, storage.ErrInvalidKey) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("Get through the link = %v; want ErrInvalidKey", err)
			}
			if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Head through the link = %v; want ErrInvalidKey", err)
			}
			if created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); !errors.Is(err, storage.ErrInvalidKey) || created {
				t.Errorf("Put through the link = %v, %v; want ErrInvalidKey", created, err)
			}
			if removed, err := b.Delete(t.Context(), d); !errors.Is(err, storage.ErrInvalidKey) || removed {
				t.Errorf("Delete through the link = %v, %v; want ErrInvalidKey", removed, err)
			}
			if after := listTree(t, outside); after != before {
				t.Errorf("the outside directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			wantNoTemp(t, b)
		})
	}

	t.Run("blob file is a link out of the root", func(t *testing.T) {
		b := newLocal(t)
		outside := filepath.Join(t.TempDir(), "blob")
		writeFile(t, outside, data)
		symlink(t, outside, blobPath(b, d))
		if rc, err := b.Get(t.Context(), d, nil); !errors.Is(err, storage.ErrInvalidKey) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get = %v; want ErrInvalidKey", err)
		}
		if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Head = %v; want ErrInvalidKey", err)
		}
	})

	t.Run("tmp is a link out of the root", func(t *testing.T) {
		b := newLocal(t)
		outside := t.TempDir()
		os.RemoveAll(filepath.Join(b.Root(), "tmp"))
		symlink(t, outside, filepath.Join(b.Root(), "tmp"))
		if created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); !errors.Is(err, storage.ErrInvalidKey) || created {
			t.Errorf("Put = %v, %v; want ErrInvalidKey", created, err)
		}
		if tree := listTree(t, outside); tree != "" {
			t.Errorf("Put wrote outside the root:\n%s", tree)
		}
	})
}

// listTree lists every path below dir with its size.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "%s %v %d\n", strings.TrimPrefix(p, dir), fi.Mode(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

func wantNoTemp(t *testing.T, b *local.Backend) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(b.Root(), "tmp"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "owners.lock" { // the writers' lock file, kept (tempowner.go)
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// tempFiles lists the upload files in b's temporary directory.
func tempFiles(t *testing.T, b *local.Backend) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(b.Root(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "put-") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestNoTempLeftovers(t *testing.T) {
	b := newLocal(t)
	data := storagetest.Blob(1, 300<<10)
	d := content.FromBytes(data)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	attempts := []struct {
		name string
		put  func() error
	}{
		{"mismatch", func() error {
			_, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(storagetest.Blob(2, len(data))))
			return err
		}},
		{"short", func() error {
			_, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data[:1000]))
			return err
		}},
		{"cancelled", func() error {
			_, err := b.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
			return err
		}},
		{"success", func() error {
			_, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
			return err
		}},
		{"re-put", func() error {
			_, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
			return err
		}},
		{"re-put with wrong bytes", func() error {
			_, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(storagetest.Blob(2, len(data))))
			return err
		}},
	}
	for _, a := range attempts {
		err := a.put()
		if wantErr := a.name != "success" && a.name != "re-put"; wantErr != (err != nil) {
			t.Errorf("%s: Put error = %v", a.name, err)
		}
		wantNoTemp(t, b)
	}
	// Blobs are read-only files.
	fi, err := os.Stat(blobPath(b, d))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("blob mode %v is writable", fi.Mode())
	}
}

func TestPutVerifiedNoTempLeftovers(t *testing.T) {
	b := newLocal(t)
	data := storagetest.Blob(3, 300<<10)
	d := content.FromBytes(data)
	n := int64(len(data))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, a := range []struct {
		name    string
		ctx     context.Context
		size    int64
		r       io.Reader
		wantErr bool
	}{
		{"short", t.Context(), n, bytes.NewReader(data[:1000]), true},
		{"long", t.Context(), n - 1, bytes.NewReader(data), true},
		{"cancelled", ctx, n, bytes.NewReader(data), true},
		{"success", t.Context(), n, bytes.NewReader(data), false},
		{"re-put", t.Context(), n, bytes.NewReader(data), false},
		{"re-put, short", t.Context(), n, bytes.NewReader(data[:1000]), true},
	} {
		_, err := b.PutVerified(a.ctx, d, a.size, a.r)
		if a.wantErr != (err != nil) {
			t.Errorf("%s: PutVerified error = %v", a.name, err)
		}
		wantNoTemp(t, b)
	}
	got, err := os.ReadFile(blobPath(b, d))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored blob: %d bytes, %v; want the %d bytes put", len(got), err, n)
	}
	fi, err := os.Stat(blobPath(b, d))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("blob mode %v is writable", fi.Mode())
	}
}

// sharingPrefix returns n distinct blobs whose hex digests share the first
// prefixLen characters.
func sharingPrefix(t *testing.T, n, prefixLen int) [][]byte {
	t.Helper()
	byPrefix := map[string][][]byte{}
	for i := range 1 << 24 {
		data := []byte(fmt.Sprintf("blob %d", i))
		p := content.FromBytes(data).Hex()[:prefixLen]
		byPrefix[p] = append(byPrefix[p], data)
		if len(byPrefix[p]) == n {
			return byPrefix[p]
		}
	}
	t.Fatal("no digests sharing a prefix")
	return nil
}

func TestDeletePrunesShardDirs(t *testing.T) {
	b := newLocal(t)
	blobs := sharingPrefix(t, 2, 2) // same first shard; second shard differs unless unlucky
	da, db := content.FromBytes(blobs[0]), content.FromBytes(blobs[1])
	for _, data := range blobs {
		if _, err := b.Put(t.Context(), content.FromBytes(data), int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(p string) bool {
		_, err := os.Lstat(filepath.Join(b.Root(), filepath.FromSlash(p)))
		return err == nil
	}
	first := "sha256/" + da.Hex()[:2]
	if removed, err := b.Delete(t.Context(), da); err != nil || !removed {
		t.Fatalf("Delete = %v, %v", removed, err)
	}
	if da.Hex()[2:4] != db.Hex()[2:4] && exists(first+"/"+da.Hex()[2:4]) {
		t.Error("emptied second-level shard directory left behind")
	}
	if !exists(first + "/" + db.Hex()[2:4] + "/" + db.Hex()) {
		t.Fatal("Delete of one blob removed its neighbour")
	}
	if removed, err := b.Delete(t.Context(), db); err != nil || !removed {
		t.Fatalf("Delete = %v, %v", removed, err)
	}
	if exists(first) {
		t.Error("emptied first-level shard directory left behind")
	}
	if !exists("sha256") || !exists("tmp") {
		t.Error("Delete removed the algorithm or tmp directory")
	}
}

// TestPutDeleteRace puts and deletes blobs sharing both shard directories
// concurrently, so Delete's pruning races Put's rename into the same
// directory. No Put may fail and no blob may be lost.
func TestPutDeleteRace(t *testing.T) {
	b := newLocal(t)
	blobs := sharingPrefix(t, 4, 4)
	var wg sync.WaitGroup
	errs := make(chan error, len(blobs))
	for _, data := range blobs {
		wg.Go(func() {
			d := content.FromBytes(data)
			for i := range 100 {
				if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
					errs <- fmt.Errorf("put %d: %w", i, err)
					return
				}
				if _, err := b.Head(t.Context(), d); err != nil {
					errs <- fmt.Errorf("head after put %d: %w", i, err)
					return
				}
				if removed, err := b.Delete(t.Context(), d); err != nil || !removed {
					errs <- fmt.Errorf("delete %d = %v, %w", i, removed, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantNoTemp(t, b)
}

func TestRePutRefreshesModTime(t *testing.T) {
	b := newLocal(t)
	data := []byte("refresh me")
	d := content.FromBytes(data)
	if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(blobPath(b, d), old, old); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
	if err != nil || created {
		t.Fatalf("re-put = %v, %v", created, err)
	}
	info, err := b.Head(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if info.ModTime.Before(start) {
		t.Errorf("ModTime %s after re-put is before its start %s", info.ModTime, start)
	}

	// A re-put whose bytes are wrong fails, and must not have been needed to
	// keep the blob: the blob is intact.
	if _, err := b.Put(t.Context(), d, int64(len(data)), strings.NewReader("refresh mE")); !errors.Is(err, storage.ErrDigestMismatch) {
		t.Errorf("re-put with wrong bytes = %v; want ErrDigestMismatch", err)
	}
}

func TestPutRepairsWrongSizeFile(t *testing.T) {
	b := newLocal(t)
	data := storagetest.Blob(3, 10000)
	d := content.FromBytes(data)
	// A truncated file under the final name, as a careless copy would leave.
	writeFile(t, blobPath(b, d), data[:5000])
	created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
	if err != nil || !created {
		t.Fatalf("Put over a truncated file = %v, %v; want created", created, err)
	}
	rc, err := b.Get(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, data) {
		t.Error("truncated file not replaced by the verified upload")
	}
}

func TestCleanTemp(t *testing.T) {
	b := newLocal(t)
	tmp := filepath.Join(b.Root(), "tmp")
	old := time.Now().Add(-25 * time.Hour)
	files := map[string]bool{ // name -> removed by CleanTemp(24h)
		"put-aaaa-old":   true,
		"put-bbbb-fresh": false,
		"other-old":      false, // not ours
	}
	for name := range files {
		writeFile(t, filepath.Join(tmp, name), []byte("partial"))
		if strings.HasSuffix(name, "old") {
			if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Mkdir(filepath.Join(tmp, "put-dir-old"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(tmp, "put-dir-old"), old, old)

	n, err := b.CleanTemp(local.StaleTempAge)
	if err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d, %v; want 1, nil", n, err)
	}
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(tmp, name))
		if gone := errors.Is(err, fs.ErrNotExist); gone != removed {
			t.Errorf("%s: removed=%v, want %v", name, gone, removed)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "put-dir-old")); err != nil {
		t.Error("CleanTemp removed a directory")
	}

	// New cleans up too.
	writeFile(t, filepath.Join(tmp, "put-cccc-old"), nil)
	os.Chtimes(filepath.Join(tmp, "put-cccc-old"), old, old)
	if _, err := local.New("again", b.Root()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "put-cccc-old")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New left a stale temporary file: %v", err)
	}
	if n, err := b.CleanTemp(0); err != nil || n != 1 {
		t.Errorf("CleanTemp(0) = %d, %v; want the fresh file removed", n, err)
	}
}

func TestHealth(t *testing.T) {
	b := newLocal(t)
	h := b.Health(t.Context())
	if !h.Healthy || !strings.Contains(h.Detail, b.Root()) || !strings.Contains(h.Detail, "free of") {
		t.Errorf("Health = %+v", h)
	}
	if err := os.Remove(filepath.Join(b.Root(), "tmp")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.Root(), "tmp"), nil)
	if h := b.Health(t.Context()); h.Healthy || !strings.Contains(h.Detail, "uploads cannot be staged") {
		t.Errorf("Health with a file as tmp = %+v", h)
	}
}

// Several OS processes put the same blob at once: every Put succeeds and the
// stored bytes are intact. The test re-executes its own binary; a child
// recognises itself by the environment variable.
const childRootEnv = "ARTSTORE_LOCAL_TEST_CHILD_ROOT"

func TestMultiProcessPut(t *testing.T) {
	data := storagetest.Blob(42, 2<<20+1)
	d := content.FromBytes(data)
	if root := os.Getenv(childRootEnv); root != "" {
		b, err := local.New("child", root)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for range 4 {
					if _, err := b.Put(context.Background(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		return
	}

	b := newLocal(t)
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*bytes.Buffer, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestMultiProcessPut$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), childRootEnv+"="+b.Root())
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	rc, err := b.Get(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("content after concurrent multi-process puts: %d bytes, %v", len(got), err)
	}
	wantNoTemp(t, b)
	n := 0
	if err := b.Walk(t.Context(), func(storage.Info) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("Walk found %d blobs, %v; want 1", n, err)
	}
}

// TestMarker: the store marker is <root>/artstore-store.json, replaced
// atomically, and Walk never reports it as a blob.
func TestMarker(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b, err := local.New("m", root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadMarker(ctx); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadMarker before any: %v, want ErrNotFound", err)
	}
	for _, want := range []string{`{"format":1}`, `{"format":2}`} {
		if err := b.WriteMarker(ctx, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(root, storage.MarkerName)); err != nil || string(got) != want {
			t.Fatalf("marker file = %q, %v; want %q", got, err, want)
		}
		if got, err := b.ReadMarker(ctx); err != nil || string(got) != want {
			t.Fatalf("ReadMarker = %q, %v; want %q", got, err, want)
		}
	}
	if left, err := os.ReadDir(filepath.Join(root, "tmp")); err != nil || len(left) != 0 {
		t.Errorf("tmp/ after writing the marker: %v %v", left, err)
	}
	n := 0
	if err := b.Walk(ctx, func(storage.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Walk saw %d blobs, %v; want none (the marker is not a blob)", n, err)
	}
}
