package local

import (
	"strings"
	"testing"
)

// TestTempFileOwner: the owner ID survives the round trip through a
// temporary file's name, and names without one (random names, other
// files, near misses) have none.
func TestTempFileOwner(t *testing.T) {
	for _, id := range []uint64{0, 1, 0xabc, 1<<62 - 1, newOwnerID()} {
		o := newTempOwner(id, nil)
		for range 3 {
			name := tmpPrefix + "0123456789abcdef-" + o.name()
			if got, ok := tempFileOwner(name); !ok || got != id {
				t.Errorf("tempFileOwner(%q) = %x, %v; want %x", name, got, ok, id)
			}
		}
	}
	var none *tempOwner
	for _, name := range []string{
		tmpPrefix + "0123456789abcdef-" + none.name(), // no owner: random
		"put-0123456789abcdef-killed",
		"put-0123456789abcdef-0000000000000001",
		"put-0123456789abcdef-0000000000000001-",
		"put-0123456789abcdef-0000000000000001-x",
		"put-0123456789abcdef-000000000000001-1",
		"put-0123456789abcdef-000000000000000G-1",
		"put-0123456789abcdef-00000000000000A1-1",
		"put-0123456789abcdef-4000000000000000-1", // 1<<62: not an ID
		"put-0123456789abcdef-0000000000000001-1-1",
		"owners.lock",
		"xput-0123456789abcdef-0000000000000001-1",
	} {
		if id, ok := tempFileOwner(name); ok {
			t.Errorf("tempFileOwner(%q) = %x; want no owner", name, id)
		}
	}
}

func FuzzTempFileOwner(f *testing.F) {
	f.Add("put-0123456789abcdef-0000000000000001-1")
	f.Add("put-0123456789abcdef-LTA45RFNJCWRAIAGH4X7YISOSC")
	f.Add("owners.lock")
	f.Fuzz(func(t *testing.T, name string) {
		id, ok := tempFileOwner(name)
		if !ok {
			return
		}
		if id >= 1<<62 {
			t.Fatalf("owner %x out of range", id)
		}
		if !strings.Contains(name, "-"+formatOwner(id)+"-") {
			t.Fatalf("owner %x is not spelled in %q", id, name)
		}
	})
}

// TestSyncDirOfARemovedDirectory: a directory a Put renamed into can be
// removed before its fsync only once it is empty again, that is after a
// collection deleted the new blob (an unreferenced blob older than the
// grace; registration then finds it missing and the push uploads it
// again). There is nothing left to make durable, so that is no error.
func TestSyncDirOfARemovedDirectory(t *testing.T) {
	b, err := New("t", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	osRoot, err := b.openRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer osRoot.Close()
	if err := osRoot.MkdirAll("sha256/0c/f6", dirMode); err != nil {
		t.Fatal(err)
	}
	root := opRoot{osRoot, b.dirs.use(osRoot)}
	for _, dir := range []string{"sha256/0c/f6", "sha256/0c"} {
		if err := root.syncDir(dir); err != nil { // cached, if there is a cache
			t.Fatalf("syncDir(%s): %v", dir, err)
		}
	}
	if err := osRoot.RemoveAll("sha256/0c"); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"sha256/0c/f6", "sha256/0c"} {
		if err := root.syncDir(dir); err != nil {
			t.Errorf("syncDir(%s) after its removal: %v; want nil", dir, err)
		}
	}
	for _, dir := range []string{"sha256/0d/f6", "sha256/0d"} { // never cached
		if err := root.syncDir(dir); err != nil {
			t.Errorf("syncDir(%s) of a missing directory: %v; want nil", dir, err)
		}
	}
}
