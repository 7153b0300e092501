package tui

import (
	"fmt"
	"testing"
	"time"

	"github.com/artifact-store/artstore/pkg/client"
)

// bulkStore holds n plain artifacts, already in List order.
func bulkStore(n int) *fakeStore {
	f := newFakeStore()
	f.arts = make([]client.Artifact, n)
	for i := range f.arts {
		id := fmt.Sprintf("01JBULK%019d", i)
		f.arts[i] = client.Artifact{
			ID: id, Name: "bulk/item", Version: fmt.Sprintf("%06d", i), Ref: fmt.Sprintf("bulk/item:%06d", i),
			Kind: "file", Size: int64(i), CreatedAt: baseTime.Add(-time.Duration(i) * time.Minute),
			Labels: map[string]string{"shard": fmt.Sprint(i % 16)},
		}
		f.byID[id] = i
	}
	return f
}

// TestScrollWholeLargeStore scrolls to the end of 100,000 artifacts and back
// and checks that the list fetched each page once on the way down, never
// held more than maxResident pages, and fetched the first page again on
// the way back.
func TestScrollWholeLargeStore(t *testing.T) {
	const n = 100000
	store := bulkStore(n)
	h := newHarness(t, store, 80, 24, Options{PageSize: 200})
	for !h.m.list.done || h.m.list.cursor < h.m.list.total()-1 {
		before := len(store.listCalls)
		h.keys("end")
		if len(store.listCalls) == before && !h.m.list.done {
			t.Fatalf("stuck at row %d of %d", h.m.list.cursor, h.m.list.total())
		}
		if r := h.m.list.resident(); r > maxResident {
			t.Fatalf("%d pages resident at row %d, want at most %d", r, h.m.list.cursor, maxResident)
		}
	}
	if got, want := len(store.listCalls), n/200; got != want {
		t.Errorf("%d List calls to reach the end, want %d (one per page)", got, want)
	}
	if got := h.m.list.total(); got != n {
		t.Errorf("list knows %d rows, want %d", got, n)
	}
	h.view()
	h.keys("home")
	if a := h.m.list.selected(); a == nil || a.Ref != "bulk/item:000000" {
		t.Errorf("top row after scrolling back = %v", a)
	}
	if got := len(store.listCalls); got != n/200+1 {
		t.Errorf("%d List calls after returning to the top, want %d", got, n/200+1)
	}
}

// BenchmarkScroll measures one key press and redraw deep inside a list of
// 100,000 artifacts, pages fetched as needed.
func BenchmarkScroll(b *testing.B) {
	store := bulkStore(100000)
	h := newHarness(b, store, 120, 40, Options{PageSize: 200})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if h.m.list.cursor >= 99990 {
			h.keys("home")
		}
		h.keys("j")
		_ = h.m.View()
	}
}
