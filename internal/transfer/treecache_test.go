package transfer

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
)

// later is a clock an hour ahead, so that the files a test has just
// written are old enough to be cached (see TreeCache.Now).
func later() time.Time { return time.Now().Add(time.Hour) }

func needTreeCache(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the tree cache's stat walk is Linux-only")
	}
}

// cachedPush pushes src with the tree cache in cache.
func cachedPush(t *testing.T, src string, s *memStore, cache *TreeCache) PushResult {
	t.Helper()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams(), TreeCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTreeCacheReusesUnchangedTree: a second push of an unchanged tree
// reads no file and stores nothing: it asks the store about the previous
// manifest once and returns it.
func TestTreeCacheReusesUnchangedTree(t *testing.T) {
	needTreeCache(t)
	src := t.TempDir()
	manyFiles(t, src, 50, 1)
	if err := os.Symlink("d1/f0001.bin", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	cache := &TreeCache{Dir: t.TempDir(), Store: "mem", Now: later}
	first := cachedPush(t, src, s, cache)
	puts, missing := s.putCalls, s.missingCalls
	again := cachedPush(t, src, s, cache)
	if again.ManifestDigest != first.ManifestDigest || again.ContentDigest != first.ContentDigest || again.Size != first.Size {
		t.Fatalf("cached push = %+v, want the first push's %+v", again, first)
	}
	if s.putCalls != puts || s.missingCalls != missing+1 {
		t.Fatalf("cached push: %d Put and %d Missing calls, want 0 and 1", s.putCalls-puts, s.missingCalls-missing)
	}
	if again.UploadedBytes != 0 || again.DeduplicatedBytes != again.Size {
		t.Fatalf("cached push reports %d uploaded, %d deduplicated of %d", again.UploadedBytes, again.DeduplicatedBytes, again.Size)
	}
	// Without the cache, the same tree reads everything again.
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil || res.ManifestDigest != first.ManifestDigest {
		t.Fatalf("uncached push: %v, %s", err, res.ManifestDigest)
	}
}

// TestTreeCacheSeesEveryChange: any change to an entry (content edited
// with size and modification time kept, mode, a new or removed file, a
// link retargeted) makes the push read the tree again and yields the
// manifest an uncached push yields.
func TestTreeCacheSeesEveryChange(t *testing.T) {
	needTreeCache(t)
	edits := map[string]func(t *testing.T, src string){
		"same size and mtime": func(t *testing.T, src string) {
			p := filepath.Join(src, "d3", "f0003.bin")
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			b[0] ^= 0xff
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil { // touch -d
				t.Fatal(err)
			}
		},
		"mode": func(t *testing.T, src string) {
			if err := os.Chmod(filepath.Join(src, "d2", "f0002.bin"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"new file": func(t *testing.T, src string) {
			if err := os.WriteFile(filepath.Join(src, "d2", "new"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"removed file": func(t *testing.T, src string) {
			if err := os.Remove(filepath.Join(src, "d4", "f0004.bin")); err != nil {
				t.Fatal(err)
			}
		},
		"link retargeted": func(t *testing.T, src string) {
			l := filepath.Join(src, "link")
			if err := os.Remove(l); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("d2/f0002.bin", l); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			manyFiles(t, src, 20, 2)
			if err := os.Symlink("d1/f0001.bin", filepath.Join(src, "link")); err != nil {
				t.Fatal(err)
			}
			s := newMemStore()
			cache := &TreeCache{Dir: t.TempDir(), Store: "mem", Now: later}
			first := cachedPush(t, src, s, cache)
			// The test clock disables the racy-window check, which in a
			// real push covers an edit in the clock tick of the walk's
			// stat: let one tick (at most 10 ms) pass instead.
			time.Sleep(20 * time.Millisecond)
			edit(t, src)
			again := cachedPush(t, src, s, cache)
			want, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
			if err != nil {
				t.Fatal(err)
			}
			if again.ManifestDigest == first.ManifestDigest || again.ManifestDigest != want.ManifestDigest {
				t.Fatalf("after the edit the cached push gave %s; first push %s, uncached push %s",
					again.ManifestDigest.Short(), first.ManifestDigest.Short(), want.ManifestDigest.Short())
			}
		})
	}
}

// TestTreeCacheSkipsRecentFiles: a tree with an entry changed within
// racyWindow of the push is not cached (an edit in the same clock tick
// would leave its times unchanged), so the next push reads it again.
func TestTreeCacheSkipsRecentFiles(t *testing.T) {
	needTreeCache(t)
	src := t.TempDir()
	manyFiles(t, src, 5, 3)
	s := newMemStore()
	cache := &TreeCache{Dir: t.TempDir(), Store: "mem"} // the real clock: the files are new
	cachedPush(t, src, s, cache)
	if ents, _ := os.ReadDir(cache.Dir); len(ents) != 0 {
		t.Fatalf("a tree of files written just now was cached: %v", ents)
	}
}

// TestTreeCacheManifestCollected: when the cached manifest is no longer in
// the store, the push reads and stores the tree again.
func TestTreeCacheManifestCollected(t *testing.T) {
	needTreeCache(t)
	src := t.TempDir()
	manyFiles(t, src, 20, 4)
	s := newMemStore()
	cache := &TreeCache{Dir: t.TempDir(), Store: "mem", Now: later}
	first := cachedPush(t, src, s, cache)
	s.mu.Lock()
	delete(s.blobs, first.ManifestDigest)
	s.mu.Unlock()
	cachedPush(t, src, s, cache)
	if _, ok := s.blobs[first.ManifestDigest]; !ok {
		t.Fatal("the collected manifest was not stored again")
	}
}

// TestTreeCacheKeys: the cache is per store, per directory and per
// chunking: another store or other chunker parameters push in full.
func TestTreeCacheKeys(t *testing.T) {
	needTreeCache(t)
	src := t.TempDir()
	manyFiles(t, src, 20, 5)
	dir := t.TempDir()
	s := newMemStore()
	cachedPush(t, src, s, &TreeCache{Dir: dir, Store: "a", Now: later})
	other := newMemStore()
	res, err := PushTree(context.Background(), src, other, PushOptions{Chunker: smallParams(), TreeCache: &TreeCache{Dir: dir, Store: "b", Now: later}})
	if err != nil || other.putOK == 0 {
		t.Fatalf("push to another store: %v, %d blobs stored", err, other.putOK)
	}
	if _, ok := other.blobs[res.ManifestDigest]; !ok {
		t.Fatal("the other store lacks the manifest")
	}
	p := smallParams()
	p.Avg *= 2
	p.Max *= 2
	puts := s.putOK
	if _, err := PushTree(context.Background(), src, s, PushOptions{Chunker: p, TreeCache: &TreeCache{Dir: dir, Store: "a", Now: later}}); err != nil {
		t.Fatal(err)
	}
	if s.putOK == puts {
		t.Fatal("other chunker parameters reused the cached manifest")
	}
}

// TestTreeCacheIgnoresBadFiles: a cache file that is corrupt, truncated or
// of another format version is ignored (the push reads the tree) and
// replaced.
func TestTreeCacheIgnoresBadFiles(t *testing.T) {
	needTreeCache(t)
	for name, mangle := range map[string]func(string) string{
		"garbage":   func(string) string { return "\x00\xff not a cache" },
		"truncated": func(s string) string { return s[:len(s)/2] },
		"version":   func(s string) string { return strings.Replace(s, treeCacheMagic+" 1", treeCacheMagic+" 99", 1) },
		"digest":    func(s string) string { return strings.Replace(s, "manifest sha256:", "manifest sha256:00", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			manyFiles(t, src, 10, 6)
			s := newMemStore()
			cache := &TreeCache{Dir: t.TempDir(), Store: "mem", Now: later}
			first := cachedPush(t, src, s, cache)
			ents, err := os.ReadDir(cache.Dir)
			if err != nil || len(ents) != 1 {
				t.Fatalf("cache dir: %v, %v", ents, err)
			}
			p := filepath.Join(cache.Dir, ents[0].Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(mangle(string(b))), 0o600); err != nil {
				t.Fatal(err)
			}
			again := cachedPush(t, src, s, cache)
			if again.ManifestDigest != first.ManifestDigest {
				t.Fatalf("manifest %s, want %s", again.ManifestDigest.Short(), first.ManifestDigest.Short())
			}
			// A push that trusted the file would not have rewritten it.
			if b2, _ := os.ReadFile(p); string(b2) != string(b) {
				t.Fatalf("the damaged cache file was not replaced:\n%s", b2)
			}
		})
	}
}

// TestTreeCacheFollowSymlinksUncached: with FollowSymlinks the tree is
// never cached (what a link points to may be anywhere).
func TestTreeCacheFollowSymlinksUncached(t *testing.T) {
	needTreeCache(t)
	src := t.TempDir()
	manyFiles(t, src, 5, 7)
	cache := &TreeCache{Dir: t.TempDir(), Store: "mem", Now: later}
	if _, err := PushTree(context.Background(), src, newMemStore(), PushOptions{Chunker: smallParams(), TreeCache: cache, FollowSymlinks: true}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(cache.Dir); len(ents) != 0 {
		t.Fatalf("a push following links was cached: %v", ents)
	}
}

func TestTreeCacheRecordRoundTrip(t *testing.T) {
	r := treeCacheRecord{
		Key:         content.FromSHA256([32]byte{1}),
		Fingerprint: content.FromSHA256([32]byte{2}),
		Manifest:    content.FromSHA256([32]byte{3}),
		Content:     content.FromSHA256([32]byte{4}),
		Size:        12345,
		Chunks:      7,
	}
	got, err := parseTreeCacheRecord(r.encode())
	if err != nil || got != r {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, r)
	}
}

// FuzzParseTreeCacheRecord: the cache file parser never panics, and what
// it accepts encodes back to the same bytes (one spelling per record).
func FuzzParseTreeCacheRecord(f *testing.F) {
	r := treeCacheRecord{Key: content.FromSHA256([32]byte{1}), Fingerprint: content.FromSHA256([32]byte{2}),
		Manifest: content.FromSHA256([32]byte{3}), Content: content.FromSHA256([32]byte{4}), Size: 9, Chunks: 1}
	f.Add(r.encode())
	f.Add([]byte(treeCacheMagic + " 1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseTreeCacheRecord(b)
		if err != nil {
			return
		}
		if enc := got.encode(); string(enc) != string(b) {
			t.Fatalf("accepted %q, which encodes as %q", b, enc)
		}
	})
}
