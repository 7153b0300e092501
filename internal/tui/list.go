package tui

import (
	"github.com/artifact-store/artstore/pkg/client"
)

// The artifact list is a window over the store's List pages. Pages are
// fetched with the store's cursors only as the view approaches them, and at
// most maxResident pages of artifacts are held: a page far from the cursor is
// evicted (its length and cursor kept) and fetched again with the same cursor
// if the user scrolls back to it. Memory is therefore bounded however many
// artifacts the store holds.

const (
	defaultPageSize = 200
	maxResident     = 6
)

// page is one List page of the current query.
type page struct {
	cursor  string            // the Query.Cursor that fetches this page
	items   []client.Artifact // nil while not loaded or after eviction
	n       int               // rows the page had when last loaded
	loaded  bool              // fetched at least once
	loading bool
}

// pageReq asks for one page to be fetched.
type pageReq struct {
	gen    int
	index  int
	cursor string
	query  client.Query
}

// artifactList is the list screen's state.
type artifactList struct {
	query    client.Query // Pattern and Selectors; Limit and Cursor set per request
	pageSize int
	gen      int // bumped by reset; replies for older generations are dropped
	pages    []*page
	done     bool  // the last page has been seen
	err      error // the last page load failure, until reset
	cursor   int   // selected row
	offset   int   // first visible row
}

// reset starts the list over for a query.
func (l *artifactList) reset(q client.Query) {
	l.query = q
	l.gen++
	l.pages = []*page{{}}
	l.done = false
	l.err = nil
	l.cursor, l.offset = 0, 0
}

// total is the number of rows known so far (loaded or evicted).
func (l *artifactList) total() int {
	n := 0
	for _, p := range l.pages {
		n += p.n
	}
	return n
}

// loading reports whether any page fetch is in flight.
func (l *artifactList) loading() bool {
	for _, p := range l.pages {
		if p.loading {
			return true
		}
	}
	return false
}

// at returns row i, or nil when it is in an evicted page not yet fetched
// again (or out of range).
func (l *artifactList) at(i int) *client.Artifact {
	if i < 0 {
		return nil
	}
	for _, p := range l.pages {
		if i < p.n {
			if p.items == nil || i >= len(p.items) {
				return nil
			}
			return &p.items[i]
		}
		i -= p.n
	}
	return nil
}

// selected is the artifact under the cursor, or nil.
func (l *artifactList) selected() *client.Artifact { return l.at(l.cursor) }

// move moves the cursor by delta rows and scrolls so it stays visible.
func (l *artifactList) move(delta, visible int) {
	l.setCursor(l.cursor+delta, visible)
}

// setCursor puts the cursor on row i (clamped) and scrolls to it.
func (l *artifactList) setCursor(i, visible int) {
	total := l.total()
	if i >= total {
		i = total - 1
	}
	if i < 0 {
		i = 0
	}
	l.cursor = i
	l.scroll(visible)
}

// scroll adjusts offset so the cursor is among the visible rows.
func (l *artifactList) scroll(visible int) {
	if visible < 1 {
		visible = 1
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+visible {
		l.offset = l.cursor - visible + 1
	}
	if max := l.total() - visible; l.offset > max {
		l.offset = max
	}
	if l.offset < 0 {
		l.offset = 0
	}
}

// window is the range of rows worth holding: a screen above the view, the
// view, and a screen below it.
func (l *artifactList) window(visible int) (lo, hi int) {
	return l.offset - visible, l.offset + 2*visible
}

// ensure returns the page fetches the view needs now and marks them in
// flight: pages evicted from inside the window, and the next page when less
// than a screen of rows remains below the view. It never asks for a page
// that is already in flight, and stops after a failure until reset.
func (l *artifactList) ensure(visible int) []pageReq {
	if l.err != nil || len(l.pages) == 0 {
		return nil
	}
	var reqs []pageReq
	lo, hi := l.window(visible)
	start := 0
	for i, p := range l.pages {
		end := start + p.n
		if p.loaded && p.n > 0 && p.items == nil && !p.loading && start < hi && end > lo {
			reqs = append(reqs, l.request(i))
		}
		start = end
	}
	last := len(l.pages) - 1
	if p := l.pages[last]; !p.loaded && !p.loading && !l.done && hi >= start {
		reqs = append(reqs, l.request(last))
	}
	return reqs
}

func (l *artifactList) request(i int) pageReq {
	p := l.pages[i]
	p.loading = true
	q := l.query
	q.Cursor = p.cursor
	q.Limit = l.pageSize
	return pageReq{gen: l.gen, index: i, cursor: p.cursor, query: q}
}

// loaded records a fetched page. It reports false when the reply is stale
// (an older query, or a page the list has dropped).
func (l *artifactList) loaded(msg pageMsg, visible int) bool {
	if msg.req.gen != l.gen || msg.req.index >= len(l.pages) {
		return false
	}
	p := l.pages[msg.req.index]
	if p.cursor != msg.req.cursor {
		return false
	}
	p.loading = false
	if msg.err != nil {
		l.err = msg.err
		return true
	}
	p.items = msg.page.Artifacts
	if p.items == nil {
		p.items = []client.Artifact{}
	}
	p.n = len(p.items)
	first := !p.loaded
	p.loaded = true
	if first && msg.req.index == len(l.pages)-1 {
		if msg.page.NextCursor == "" {
			l.done = true
		} else {
			l.pages = append(l.pages, &page{cursor: msg.page.NextCursor})
		}
	}
	// A page fetched again may have changed length; keep the cursor valid.
	if t := l.total(); l.cursor >= t && t > 0 {
		l.cursor = t - 1
	}
	l.scroll(visible)
	l.evict(visible)
	return true
}

// evict drops the artifacts of pages outside the window, farthest from the
// cursor first, until at most maxResident pages hold artifacts.
func (l *artifactList) evict(visible int) {
	lo, hi := l.window(visible)
	for {
		resident, far, farDist := 0, -1, -1
		start := 0
		for i, p := range l.pages {
			end := start + p.n
			if p.items != nil && p.n > 0 {
				resident++
				inWindow := start < hi && end > lo
				if !inWindow {
					d := start - l.cursor
					if l.cursor >= end {
						d = l.cursor - end
					}
					if d > farDist {
						far, farDist = i, d
					}
				}
			}
			start = end
		}
		if resident <= maxResident || far < 0 {
			return
		}
		l.pages[far].items = nil
	}
}

// resident is the number of pages holding artifacts (for tests).
func (l *artifactList) resident() int {
	n := 0
	for _, p := range l.pages {
		if p.items != nil && p.n > 0 {
			n++
		}
	}
	return n
}
