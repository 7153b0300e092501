//go:build linux

package local

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestDirCacheBounded puts blobs into far more shard directories than the
// cache holds, from several goroutines, and checks that the cache keeps
// at most dirCacheMax handles and the process no more descriptors than
// that, and that every handle is closed once the cache is.
func TestDirCacheBounded(t *testing.T) {
	before := openFDs(t)
	b, err := New("t", filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				data := []byte(fmt.Sprintf("blob %d/%d", g, i))
				if _, err := b.Put(t.Context(), content.FromBytes(data), int64(len(data)), bytes.NewReader(data)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.dirs.mu.Lock()
	cached, listed := len(b.dirs.dirs), b.dirs.lru.Len()
	b.dirs.mu.Unlock()
	if cached != listed || cached > dirCacheMax || cached < dirCacheMax/2 {
		t.Errorf("cache holds %d handles (%d listed); want between %d and %d", cached, listed, dirCacheMax/2, dirCacheMax)
	}
	if n := openFDs(t) - before; n > dirCacheMax+8 {
		t.Errorf("%d more descriptors open than before; the cache may hold %d", n, dirCacheMax)
	}
	b.dirs.close()
	if n := openFDs(t) - before; n > 4 {
		t.Errorf("%d more descriptors open than before once the cache is closed", n)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}
