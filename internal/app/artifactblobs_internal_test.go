package app

import (
	"fmt"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestBlobSetsEvict: the cache keeps its digests under the bound by
// dropping the least recently used sets, loads a set once while it is
// kept, and keeps a set larger than the bound alone.
func TestBlobSetsEvict(t *testing.T) {
	var c blobSets
	loads := map[string]int{}
	set := func(id string, n int) func() (map[content.Digest]struct{}, error) {
		return func() (map[content.Digest]struct{}, error) {
			loads[id]++
			s := map[content.Digest]struct{}{}
			for i := range n {
				s[content.FromBytes(fmt.Appendf(nil, "%s %d", id, i))] = struct{}{}
			}
			return s, nil
		}
	}
	third := maxBlobSetDigests / 3
	in := content.FromBytes([]byte("a 0"))
	for _, id := range []string{"a", "b", "a", "c", "a"} {
		if _, err := c.holds(id, in, set(id, third)); err != nil {
			t.Fatal(err)
		}
	}
	// d pushes out the least recently used of b and c: b.
	if _, err := c.holds("d", in, set("d", third)); err != nil {
		t.Fatal(err)
	}
	if held, _ := c.holds("a", in, set("a", third)); !held || loads["a"] != 1 {
		t.Errorf("a: held %v, loaded %d times; want held, loaded once", held, loads["a"])
	}
	if _, ok := c.sets["b"]; ok || c.size > maxBlobSetDigests {
		t.Errorf("after d: sets %d, digests %d; want b gone and at most %d", len(c.sets), c.size, maxBlobSetDigests)
	}
	if _, err := c.holds("huge", in, set("huge", maxBlobSetDigests+1)); err != nil {
		t.Fatal(err)
	}
	if len(c.sets) != 1 || len(c.order) != 1 || c.size != maxBlobSetDigests+1 {
		t.Errorf("after a set over the bound: %d sets, %d digests; want it alone", len(c.sets), c.size)
	}
}
