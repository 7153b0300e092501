package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/artifact-store/artstore/pkg/client"
)

// refs is the lineage path as references.
func (h *harness) refs() []string {
	out := make([]string, len(h.m.stack))
	for i, f := range h.m.stack {
		out[i] = f.art.Ref
	}
	return out
}

// selectRow moves the list or lineage cursor to the row showing ref.
func (h *harness) selectRelative(ref string) {
	h.t.Helper()
	f := h.m.top()
	if f == nil || f.rel == nil {
		h.t.Fatalf("no lineage panel open")
	}
	for i, r := range f.rel.items {
		if r.art != nil && r.art.Ref == ref {
			for f.rel.cursor < i {
				h.keys("j")
				f = h.m.top()
			}
			for f.rel.cursor > i {
				h.keys("k")
				f = h.m.top()
			}
			return
		}
	}
	h.t.Fatalf("%s is not in the lineage panel", ref)
}

func TestInitialLoadShowsFirstPage(t *testing.T) {
	store := seedStore(250)
	h := newHarness(t, store, 80, 24, Options{})
	golden(t, "list_80x24", h.view())

	// The first screen (20 rows, one screen of look-ahead) needs 3 pages
	// of 20, not the 13 the store holds.
	if got := len(store.listCalls); got != 3 {
		t.Fatalf("List called %d times for the first screen, want 3 (lazy paging)", got)
	}
	first := store.listCalls[0]
	if first.Cursor != "" || first.Limit != 20 || first.Pattern != "" || len(first.Selectors) != 0 {
		t.Errorf("first List query = %+v, want no cursor, limit 20, no filter", first)
	}
	if !strings.Contains(h.view(), "> build/app:12") {
		t.Errorf("first artifact is not selected:\n%s", h.view())
	}
}

func TestPagingFollowsCursorsAndStaysBounded(t *testing.T) {
	store := seedStore(250) // 258 artifacts: 13 pages of 20
	h := newHarness(t, store, 80, 24, Options{})
	// Every call after the first passes the NextCursor of the previous reply.
	checkCursors := func() {
		t.Helper()
		seen := map[string]bool{"": true}
		for i, q := range store.listCalls {
			if !seen[q.Cursor] {
				t.Errorf("List call %d used cursor %q that no reply handed out", i, q.Cursor)
			}
			seen[store.nextCursors[i]] = true
		}
	}

	// Page down until row 100: pages up to row 100 + a screen of look-ahead.
	for h.m.list.cursor < 100 {
		h.keys("pgdown")
	}
	calls := len(store.listCalls)
	if calls < 6 || calls > 8 {
		t.Errorf("after scrolling to row %d: %d List calls, want 6–8 (rows 0–%d plus a screen)", h.m.list.cursor, calls, h.m.list.cursor+40)
	}
	checkCursors()
	if store.listCalls[2].Cursor == "" {
		t.Errorf("third page fetched without a cursor")
	}

	// Scroll to the end of the store: it loads page by page and stops.
	for !h.m.list.done || h.m.list.cursor < h.m.list.total()-1 {
		before := len(store.listCalls)
		h.keys("end")
		if len(store.listCalls) == before && h.m.list.cursor == h.m.list.total()-1 && !h.m.list.done {
			t.Fatal("stuck before the end of the list")
		}
	}
	if got := h.m.list.total(); got != 258 {
		t.Errorf("list holds %d rows at the end, want 258", got)
	}
	if got := h.m.list.resident(); got > maxResident {
		t.Errorf("%d pages resident, want at most %d", got, maxResident)
	}
	if !strings.Contains(h.view(), "> toolchain/go:1.26") {
		t.Errorf("last artifact not selected at the end:\n%s", h.view())
	}
	checkCursors()

	// Back to the top: the evicted first page is fetched again with its
	// cursor, and shows.
	firstCalls := 0
	h.keys("home")
	for _, q := range store.listCalls {
		if q.Cursor == "" {
			firstCalls++
		}
	}
	if firstCalls != 2 {
		t.Errorf("first page fetched %d times, want 2 (once, then again after eviction)", firstCalls)
	}
	if v := h.view(); !strings.Contains(v, "> build/app:12") || strings.Contains(v, "…\n") {
		t.Errorf("top of the list not shown after scrolling back:\n%s", v)
	}
	checkCursors()
}

func TestFilterIsServerSide(t *testing.T) {
	store := seedStore(250)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "logs/* env=prod !draft")
	golden(t, "filter_prompt", h.view())
	h.keys("enter")

	// The last query from the start of the list is the filter typed; page
	// 2 of it may have been fetched after it.
	want := client.Query{Pattern: "logs/*", Selectors: []string{"env=prod", "!draft"}, Newest: true, Limit: 20}
	if first := store.listCalls[0]; !first.Newest || first.Cursor != "" {
		t.Errorf("first List query = %+v; want newest first, from the start", first)
	}
	var last client.Query
	for _, q := range store.listCalls {
		if q.Cursor == "" {
			last = q
		}
	}
	if !reflect.DeepEqual(last, want) {
		t.Errorf("filtered List query = %+v, want %+v", last, want)
	}
	v := h.view()
	golden(t, "filter_applied", v)
	if strings.Contains(v, "env=ci") || strings.Contains(v, "build/app") {
		t.Errorf("filtered view shows artifacts outside the filter:\n%s", v)
	}

	// esc clears the filter: the next query has no pattern or selector.
	h.keys("esc")
	for _, q := range store.listCalls {
		if q.Pattern == "" && len(q.Selectors) == 0 && q.Cursor == "" {
			last = q
		}
	}
	if h.m.filterText != "" || last.Pattern != "" || len(last.Selectors) != 0 {
		t.Errorf("esc left filter %q, query %+v", h.m.filterText, last)
	}
	if !strings.Contains(h.view(), "> build/app:12") {
		t.Errorf("unfiltered list not back after esc:\n%s", h.view())
	}
}

// TestFilterNarrowsWhileTyping checks that the list follows the filter
// prompt key by key, before enter.
func TestFilterNarrowsWhileTyping(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "rep")
	v := h.view()
	if h.m.inputMode != inputFilter || h.m.filterText != "rep" {
		t.Fatalf("after typing rep: prompt open %v, filter %q", h.m.inputMode == inputFilter, h.m.filterText)
	}
	if !strings.Contains(v, "> reports/q:3") || strings.Contains(v, "build/app:12") || !strings.HasPrefix(v, "artstore · filter: rep ") {
		t.Errorf("the list did not narrow to rep while typing:\n%s", v)
	}
	h.keys("backspace", "backspace", "backspace", "logs/* env=ci")
	v = h.view()
	golden(t, "filter_typing", v)
	if strings.Contains(v, "env=prod") || !strings.Contains(v, "> logs/job:001") {
		t.Errorf("the list did not follow logs/* env=ci:\n%s", v)
	}
	// Text that is not a filter yet leaves the list as it was and says
	// why; no query is made for it.
	before := len(store.listCalls)
	h.keys(" ")
	h.keys("x")
	if len(store.listCalls) != before || h.m.filterText != "logs/* env=ci" {
		t.Errorf("a second name pattern reached the store or changed the filter to %q", h.m.filterText)
	}
	if v := h.view(); !strings.Contains(v, "not a filter yet: one name pattern only") || !strings.Contains(v, "> logs/job:001") {
		t.Errorf("an invalid filter is not explained, or the list changed:\n%s", v)
	}
}

// TestFilterTypingIsDebounced checks that only the latest edit of a burst
// of typing queries the store: ticks of earlier edits do nothing.
func TestFilterTypingIsDebounced(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{})
	h.m.filterDelay = time.Hour // ticks are delivered by hand below
	h.keys("/")
	for _, r := range "reports" {
		next, _ := h.m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		h.m = next.(Model)
	}
	before := len(store.listCalls)
	latest := h.m.filterEdit.seq
	h.send(filterTickMsg{seq: latest - 1})
	if len(store.listCalls) != before || h.m.filterText != "" {
		t.Fatalf("the tick of an earlier edit narrowed the list to %q", h.m.filterText)
	}
	h.send(filterTickMsg{seq: latest})
	if len(store.listCalls) == before || h.m.filterText != "reports" {
		t.Errorf("the latest edit's tick did not narrow the list (filter %q)", h.m.filterText)
	}
	if got := store.listCalls[before]; got.Pattern != "reports" {
		t.Errorf("query %+v, want pattern reports", got)
	}
	// A tick after the prompt closed does nothing either.
	h.keys("esc")
	calls := len(store.listCalls)
	h.send(filterTickMsg{seq: latest})
	if len(store.listCalls) != calls || h.m.filterText != "" {
		t.Errorf("a tick after esc changed the list (filter %q)", h.m.filterText)
	}
}

// TestFilterEscPutsBackTheList checks that esc in the filter prompt puts
// back the filter, the rows and the selected row as they were when the
// prompt opened, and that enter keeps what was typed.
func TestFilterEscPutsBackTheList(t *testing.T) {
	store := seedStore(250)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "logs", "enter")
	for i := 0; i < 30; i++ {
		h.keys("j")
	}
	sel := h.m.list.selected().Ref
	h.keys("/", " env=prod")
	if h.m.filterText != "logs env=prod" {
		t.Fatalf("filter while typing = %q", h.m.filterText)
	}
	h.keys("esc")
	if h.m.filterText != "logs" || h.m.list.cursor != 30 || h.m.list.selected() == nil || h.m.list.selected().Ref != sel {
		t.Errorf("esc left filter %q, row %d; want logs, row 30 (%s)", h.m.filterText, h.m.list.cursor, sel)
	}
	if v := h.view(); !strings.Contains(v, "> "+sel) {
		t.Errorf("the row selected before the prompt is not shown:\n%s", v)
	}
	// The list put back still pages on, to its end.
	for i := 0; i < 50 && !h.m.list.done; i++ {
		h.keys("end")
	}
	if !h.m.list.done || h.m.list.total() != 250 {
		t.Errorf("after esc the list reached %d rows (done %v), want all 250 logs", h.m.list.total(), h.m.list.done)
	}

	// A page in flight when the list is narrowed: its reply arrives while
	// the other query is shown and is dropped; the list put back asks for
	// the page again instead of waiting for it for ever.
	h2 := newHarness(t, seedStore(250), 80, 24, Options{})
	next, held := h2.m.Update(tea.KeyMsg{Type: tea.KeyEnd})
	h2.m = next.(Model)
	h2.keys("/", "rep")
	h2.run(held)
	h2.keys("esc")
	for i := 0; i < 50 && !h2.m.list.done; i++ {
		h2.keys("end")
	}
	if !h2.m.list.done || h2.m.list.total() != 258 || h2.m.busy() {
		t.Errorf("the list put back stopped at %d rows (done %v, busy %v), want 258", h2.m.list.total(), h2.m.list.done, h2.m.busy())
	}

	// Enter keeps the filter typed; an empty one clears it.
	h.keys("/", " env=prod", "enter")
	if h.m.filterText != "logs env=prod" || h.m.inputMode != inputNone || h.m.status != "filter: logs env=prod" {
		t.Errorf("enter: filter %q, prompt open %v, status %q", h.m.filterText, h.m.inputMode != inputNone, h.m.status)
	}
	h.keys("/")
	h.m.input.SetValue("")
	h.keys("enter")
	if h.m.filterText != "" || h.m.status != "filter cleared" || !strings.Contains(h.view(), "> build/app:12") {
		t.Errorf("an empty filter did not clear: filter %q, status %q", h.m.filterText, h.m.status)
	}
}

func TestFilterRejectsBadInputWithoutQuerying(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "reports logs", "enter")
	for _, q := range store.listCalls {
		if q.Pattern == "logs" || q.Pattern == "reports logs" {
			t.Errorf("an invalid filter reached the store: %+v", q)
		}
	}
	// The prompt stays open with the text, and the footer says why.
	if h.m.inputMode != inputFilter || h.m.input.Value() != "reports logs" {
		t.Errorf("enter on an invalid filter closed the prompt (value %q)", h.m.input.Value())
	}
	if v := h.view(); !strings.Contains(v, "not a filter yet: one name pattern only") {
		t.Errorf("the filter error is not shown:\n%s", v)
	}
}

func TestFilterWithNoMatches(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "nothing/here", "enter")
	if v := h.view(); !strings.Contains(v, "no artifacts match nothing/here") {
		t.Errorf("empty result not explained:\n%s", v)
	}
}

func TestEnterShowsDetail(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "reports", "enter", "enter")
	if h.m.screen != screenDetail || !reflect.DeepEqual(h.refs(), []string{"reports/q:3"}) {
		t.Fatalf("screen %v, path %v after enter", h.m.screen, h.refs())
	}
	v := h.view()
	golden(t, "detail_80x24", v)
	for _, want := range []string{"binary: build/app:12", "env=prod", "latest, prod", "↓ 8 more lines", "\n  sha256:0000000000000000000000000000000000000000000000000000000000000005\n"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	// The rest scrolls into view.
	h.keys("end")
	v = h.view()
	for _, want := range []string{"legal hold held: audit 2026", "pulls      3 (4.5 MiB)", "last pull  2026-11-26 10:00 UTC (26h ago) by carol", "expires    2027-01-01"} {
		if !strings.Contains(v, want) {
			t.Errorf("scrolled detail lacks %q:\n%s", want, v)
		}
	}
	// esc returns to the list.
	h.keys("esc")
	if h.m.screen != screenList || len(h.m.stack) != 0 {
		t.Errorf("esc from the first step did not return to the list")
	}
}

func TestLineageWalkUpAndDown(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3"})
	if got := h.refs(); !reflect.DeepEqual(got, []string{"reports/q:3"}) {
		t.Fatalf("InitialRef opened %v", got)
	}

	h.keys("u")
	golden(t, "lineage_inputs", h.view())
	h.selectRelative("build/app:12")
	h.keys("enter")
	h.keys("u")
	h.selectRelative("src/tarball:5")
	h.keys("enter")
	want := []string{"reports/q:3", "build/app:12", "src/tarball:5"}
	if got := h.refs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("path after two steps up = %v, want %v", got, want)
	}
	v := h.view()
	golden(t, "lineage_two_up", v)
	if !strings.HasPrefix(v, "artstore · reports/q:3 › build/app:12 › src/tarball:5") {
		t.Errorf("breadcrumb wrong:\n%s", v)
	}
	for i, c := range store.lineageCalls {
		if c.opts.Depth != 1 || c.opts.Direction != client.Up {
			t.Errorf("lineage call %d = %+v, want Up with depth 1", i, c)
		}
	}

	// Back one step with backspace, then down again from build/app:12 to
	// what was derived from it: reports/q:3, already on the path, is a
	// step of its own, so esc can return to build/app:12's panel.
	h.keys("backspace")
	if got := h.refs(); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("path after backspace = %v, want %v", got, want[:2])
	}
	h.keys("d")
	if c := store.lineageCalls[len(store.lineageCalls)-1]; c.opts.Direction != client.Down || c.opts.Depth != 1 {
		t.Errorf("d asked for %+v, want Down with depth 1", c.opts)
	}
	h.selectRelative("reports/q:3")
	h.keys("enter")
	down := []string{"reports/q:3", "build/app:12", "reports/q:3"}
	if got := h.refs(); !reflect.DeepEqual(got, down) {
		t.Fatalf("path after going down to reports/q:3 = %v, want %v", got, down)
	}

	// Further down: release/bundle:1 was derived from the report.
	h.keys("d")
	h.selectRelative("release/bundle:1")
	h.keys("enter")
	if got := h.refs(); !reflect.DeepEqual(got, append(down, "release/bundle:1")) {
		t.Fatalf("path after going down = %v", got)
	}
	// Back returns to the panel the step was taken from, then closes it,
	// then leaves the step; five more reach the list.
	h.keys("esc")
	if f := h.m.top(); len(h.m.stack) != 3 || f.rel == nil || f.rel.dir != client.Down {
		t.Errorf("esc did not return to the derived panel of reports/q:3")
	}
	h.keys("esc", "esc")
	if got := h.where(); got != "reports/q:3 › build/app:12 | derived > reports/q:3" {
		t.Errorf("esc three times from depth 4: %q, want build/app:12's derived panel", got)
	}
	h.keys("esc", "esc", "esc", "esc", "esc")
	if h.m.screen != screenList {
		t.Errorf("esc did not reach the list: %q", h.where())
	}
}

func TestLineageRawDigestInputIsNotNavigable(t *testing.T) {
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "build/app:12"})
	h.keys("u")
	f := h.m.top()
	idx := -1
	for i, r := range f.rel.items {
		if r.digest != "" {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("raw digest input not listed: %+v", f.rel.items)
	}
	for h.m.top().rel.cursor < idx {
		h.keys("j")
	}
	h.keys("enter")
	if len(h.m.stack) != 1 || !strings.Contains(h.m.status, "raw digest") {
		t.Errorf("entering a raw digest input: path %v, status %q", h.refs(), h.m.status)
	}
}

// TestLineageCycleDoesNotTrap goes round a two-artifact cycle: every
// step is on the path, esc unwinds them one by one, and the path never
// holds more than maxPath steps.
func TestLineageCycleDoesNotTrap(t *testing.T) {
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "cyc/a:1"})
	want := []string{"cyc/a:1"}
	for i := 0; i < 3; i++ {
		for _, next := range []string{"cyc/b:1", "cyc/a:1"} {
			h.keys("u")
			h.selectRelative(next)
			h.keys("enter")
			want = append(want, next)
		}
	}
	if got := h.refs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("path round the cycle = %v, want %v", got, want)
	}
	for i := len(want) - 1; i > 0; i-- {
		h.keys("esc", "esc") // the panel the step was taken from, then the step
		if got := h.refs(); !reflect.DeepEqual(got, want[:i]) {
			t.Fatalf("esc back to step %d: path %v, want %v", i, got, want[:i])
		}
	}
	h.keys("esc")
	if h.m.screen != screenList {
		t.Errorf("esc did not return to the list")
	}

	// Round and round: the path keeps its last maxPath steps, and the
	// breadcrumb shows that older ones were dropped.
	h.keys("/", "cyc/a", "enter", "enter")
	for i := 0; i < maxPath; i++ {
		h.keys("u", "enter")
	}
	if got := len(h.m.stack); got != maxPath {
		t.Errorf("path holds %d steps after %d, want %d", got, maxPath+1, maxPath)
	}
	if v := h.view(); !strings.HasPrefix(v, "artstore · … › ") {
		t.Errorf("breadcrumb of a long path:\n%s", v)
	}
}

func TestInitialRefNotFound(t *testing.T) {
	h := newHarness(t, seedStore(0), 80, 24, Options{InitialRef: "nope:1"})
	if h.m.screen != screenList || !h.m.statusErr || !strings.Contains(h.m.status, "could not open nope:1") {
		t.Errorf("screen %v status %q", h.m.screen, h.m.status)
	}
}

func TestPullCallsPullToPath(t *testing.T) {
	dir := t.TempDir()
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3", PullDir: dir})
	report := store.mustRef("reports/q:3")

	h.keys("p")
	if got, want := h.m.input.Value(), filepath.Join(dir, "q"); got != want {
		t.Fatalf("pull prompt prefilled with %q, want %q", got, want)
	}
	h.keys("enter")
	want := []pullCall{{report.ID, filepath.Join(dir, "q")}}
	if !reflect.DeepEqual(store.pullCalls, want) {
		t.Fatalf("PullToPath calls = %+v, want %+v", store.pullCalls, want)
	}
	if !strings.Contains(h.m.status, "pulled reports/q:3 to "+filepath.Join(dir, "q")+" (1.5 MiB") {
		t.Errorf("status %q", h.m.status)
	}

	// An existing file is replaced only after a second enter.
	existing := filepath.Join(dir, "old")
	if err := os.WriteFile(existing, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.keys("p")
	h.m.input.SetValue(existing)
	h.keys("enter")
	if len(store.pullCalls) != 1 || !strings.Contains(h.m.status, "exists") {
		t.Fatalf("pull over an existing file was not confirmed first: calls %v, status %q", store.pullCalls, h.m.status)
	}
	h.keys("enter")
	if len(store.pullCalls) != 2 || store.pullCalls[1].path != existing {
		t.Fatalf("confirmed pull not made: %v", store.pullCalls)
	}

	// A directory receives the artifact under its base name; esc cancels.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	h.keys("p")
	h.m.input.SetValue(sub)
	h.keys("enter")
	if got := store.pullCalls[len(store.pullCalls)-1].path; got != filepath.Join(sub, "q") {
		t.Errorf("pull into a directory went to %q", got)
	}
	h.keys("p", "esc")
	if len(store.pullCalls) != 3 || h.m.inputMode != inputNone {
		t.Errorf("esc did not cancel the pull prompt")
	}
}

func TestPullDefaultPathIsRelative(t *testing.T) {
	h := newHarness(t, seedStore(0), 80, 24, Options{InitialRef: "release/bundle:1"})
	h.keys("p")
	if got := h.m.input.Value(); got != "./bundle" {
		t.Errorf("prompt prefilled with %q, want ./bundle", got)
	}
	golden(t, "pull_prompt", h.view())
}

func TestCopyUsesClipboard(t *testing.T) {
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{})
	a := store.mustRef("build/app:12")
	h.keys("y", "Y")
	if want := []string{"build/app:12", a.ContentDigest}; !reflect.DeepEqual(h.clips, want) {
		t.Errorf("clipboard got %q, want %q", h.clips, want)
	}
	if !strings.Contains(h.m.status, "copied digest "+a.ContentDigest) {
		t.Errorf("status %q", h.m.status)
	}

	// A failing clipboard still shows what would have been copied.
	h2 := newHarness(t, store, 80, 24, Options{Clipboard: func(string) error { return errors.New("no display") }})
	h2.keys("y")
	if !h2.m.statusErr || !strings.Contains(h2.m.status, "no display") || !strings.Contains(h2.m.status, "build/app:12") {
		t.Errorf("status %q", h2.m.status)
	}
}

func TestOSC52Clipboard(t *testing.T) {
	var b strings.Builder
	if err := osc52Clipboard(&b)("reports/q:3"); err != nil {
		t.Fatal(err)
	}
	if want := "\x1b]52;c;cmVwb3J0cy9xOjM=\x07"; b.String() != want {
		t.Errorf("OSC 52 sequence = %q, want %q", b.String(), want)
	}
}

func TestEventsOfArtifact(t *testing.T) {
	store := seedStore(10)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3"})
	h.keys("e")
	if h.m.screen != screenEvents {
		t.Fatalf("e did not open the events screen")
	}
	report := store.mustRef("reports/q:3")
	for _, e := range h.m.events.items {
		if e.Subject != report.ID {
			t.Errorf("event #%d of %s shown for %s", e.Seq, e.Subject, report.ID)
		}
	}
	if len(h.m.events.items) != 2 {
		t.Errorf("%d events shown, want 2 (registered, retrieved)", len(h.m.events.items))
	}
	golden(t, "events", h.view())
	h.keys("esc")
	if h.m.screen != screenDetail {
		t.Errorf("esc from events went to %v, want the detail", h.m.screen)
	}
}

func TestEventsScanIsBounded(t *testing.T) {
	store := seedStore(0)
	for i := len(store.events); i < eventsScanMax+2*eventsPageSize; i++ {
		store.events = append(store.events, client.Event{Seq: int64(i + 1), Type: "noise", Subject: "other"})
	}
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("e")
	if want := eventsScanMax / eventsPageSize; store.eventCalls != want {
		t.Errorf("Events called %d times, want %d (the scan bound)", store.eventCalls, want)
	}
	if !h.m.events.truncated || !strings.Contains(h.view(), "scan limit reached") {
		t.Errorf("bounded scan not reported:\n%s", h.view())
	}
}

func TestHelpOverlayToggles(t *testing.T) {
	h := newHarness(t, seedStore(10), 80, 24, Options{})
	h.keys("?")
	v := h.view()
	golden(t, "help", v)
	if !h.m.showHelp || !strings.Contains(v, "copy digest") {
		t.Fatalf("help overlay not shown:\n%s", v)
	}
	// Keys other than ?, esc and q do nothing while help is up.
	h.keys("j")
	if h.m.list.cursor != 0 {
		t.Errorf("j moved the list under the help overlay")
	}
	h.keys("?")
	if h.m.showHelp || strings.Contains(h.view(), "copy digest") {
		t.Errorf("? did not close the help overlay")
	}
	h.keys("?", "esc")
	if h.m.showHelp {
		t.Errorf("esc did not close the help overlay")
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		t.Run(k, func(t *testing.T) {
			h := newHarness(t, seedStore(0), 80, 24, Options{InitialRef: "reports/q:3"})
			h.keys(k)
			if !h.quit {
				t.Errorf("%s did not quit", k)
			}
		})
	}
	t.Run("q types in a prompt", func(t *testing.T) {
		h := newHarness(t, seedStore(0), 80, 24, Options{})
		h.keys("/", "q")
		if h.quit || h.m.input.Value() != "q" {
			t.Errorf("q in the filter prompt: quit=%v value=%q", h.quit, h.m.input.Value())
		}
		h.keys("ctrl+c")
		if !h.quit {
			t.Errorf("ctrl+c in a prompt did not quit")
		}
	})
}

// TestLayoutFits renders every screen at several sizes and checks that no
// line is wider than the screen and the view is never taller.
func TestLayoutFits(t *testing.T) {
	screens := []struct {
		name string
		keys []string
	}{
		{"list", nil},
		{"filter prompt", []string{"/", strings.Repeat("x", 200)}},
		{"filter error", []string{"/", "reports logs"}},
		{"detail", []string{"enter"}},
		{"detail scrolled", []string{"enter", "end"}},
		{"inputs", []string{"enter", "u"}},
		{"derived", []string{"enter", "d"}},
		{"events", []string{"e"}},
		{"help", []string{"?"}},
		{"pull prompt", []string{"p"}},
	}
	sizes := [][2]int{{80, 24}, {120, 40}, {60, 20}, {100, 30}, {40, 12}, {20, 5}}
	for _, s := range screens {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s %dx%d", s.name, sz[0], sz[1]), func(t *testing.T) {
				store := seedStore(100)
				// A long reference and many labels, selected first.
				store.add("aaa/"+strings.Repeat("very-long-name-", 8)+":1", 1, 1,
					map[string]string{"a": strings.Repeat("v", 90), "b": "c"}, [2]string{"reports/q:3", strings.Repeat("role", 10)})
				h := newHarness(t, store, sz[0], sz[1], Options{})
				h.keys(s.keys...)
				h.view()
				// Resizing keeps it within bounds too.
				h.send(tea.WindowSizeMsg{Width: sz[0]/2 + 10, Height: sz[1]/2 + 3})
				h.view()
				h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				h.view()
			})
		}
	}
}

func TestResizeGoldens(t *testing.T) {
	h := newHarness(t, seedStore(250), 80, 24, Options{})
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	golden(t, "list_120x40", h.view())
	h.send(tea.WindowSizeMsg{Width: 60, Height: 20})
	golden(t, "list_60x20", h.view())

	// Growing the window fetches the rows that now fit.
	store := seedStore(250)
	h = newHarness(t, store, 80, 10, Options{})
	before := len(store.listCalls)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 60})
	if len(store.listCalls) <= before {
		t.Errorf("a taller window fetched no more rows")
	}
	if got := strings.Count(h.view(), "logs/job:"); got < 50 {
		t.Errorf("only %d rows shown in a 60-line window", got)
	}
}

func TestStalePageIsDropped(t *testing.T) {
	store := seedStore(50)
	h := newHarness(t, store, 80, 24, Options{})
	// Start a reload but hold its commands: a reply still in flight.
	next, held := h.m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	h.m = next.(Model)
	h.keys("/", "reports", "enter")
	h.run(held) // the old query's page arrives late
	if v := h.view(); strings.Contains(v, "logs/job") || !strings.Contains(v, "reports/q:3") {
		t.Errorf("a stale page leaked into the filtered list:\n%s", v)
	}
}

func TestListErrorIsShownAndRetried(t *testing.T) {
	store := seedStore(10)
	store.listErr = fmt.Errorf("daemon: %w", client.ErrUnavailable)
	h := newHarness(t, store, 80, 24, Options{})
	if v := h.view(); !strings.Contains(v, "could not list artifacts: daemon: unavailable (r retries)") {
		t.Errorf("list error not shown:\n%s", v)
	}
	calls := len(store.listCalls)
	h.keys("j", "j") // no retry storm on movement
	if len(store.listCalls) != calls {
		t.Errorf("a failed list was retried without asking")
	}
	store.listErr = nil
	h.keys("r")
	if !strings.Contains(h.view(), "> build/app:12") {
		t.Errorf("r did not reload:\n%s", h.view())
	}
}

func TestStoreTextIsSanitized(t *testing.T) {
	store := seedStore(0)
	store.add("evil/x:1", 1, 1, map[string]string{"k": "\x1b]52;c;ZXZpbA==\x07\x1b[2J"})
	h := newHarness(t, store, 120, 40, Options{})
	h.keys("/", "evil", "enter")
	if v := h.view(); strings.Contains(v, "\x1b") || !strings.Contains(v, "\uFFFD") {
		t.Errorf("control characters from the store reached the screen: %q", v)
	}
}

// TestSpinnerTicksOnlyWhileBusy checks that the spinner animates while a
// store call is in flight and stops asking for ticks when nothing is.
func TestSpinnerTicksOnlyWhileBusy(t *testing.T) {
	store := seedStore(30)
	h := &harness{t: t, store: store}
	h.m = NewModel(context.Background(), store, Options{NoColor: true, PageSize: 20})
	h.m.now = func() time.Time { return baseTime }

	next, cmd := h.m.Update(initMsg{})
	h.m = next.(Model)
	var tick tea.Msg
	var pages []tea.Msg
	for _, msg := range h.exec(cmd) {
		if _, ok := msg.(spinner.TickMsg); ok {
			tick = msg
		} else {
			pages = append(pages, msg)
		}
	}
	if tick == nil || !h.m.ticking {
		t.Fatal("loading did not start the spinner")
	}
	// While loading, a tick schedules the next one (not run here: it waits
	// for the frame interval).
	next, cmd = h.m.Update(tick)
	h.m = next.(Model)
	if cmd == nil {
		t.Error("spinner stopped while a page was loading")
	}
	// Deliver the pages; ticking is on, so their commands are page loads.
	for len(pages) > 0 {
		msg := pages[0]
		pages = pages[1:]
		next, cmd = h.m.Update(msg)
		h.m = next.(Model)
		pages = append(pages, h.exec(cmd)...)
	}
	if h.m.busy() {
		t.Fatal("still busy after every page arrived")
	}
	next, cmd = h.m.Update(tick)
	h.m = next.(Model)
	if cmd != nil || h.m.ticking {
		t.Error("spinner kept ticking with nothing in flight")
	}
}

func TestLineageFromList(t *testing.T) {
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{})
	h.keys("/", "reports", "enter", "d")
	f := h.m.top()
	if h.m.screen != screenDetail || f == nil || f.rel == nil || f.rel.dir != client.Down {
		t.Fatalf("d on the list did not open the derived panel")
	}
	if len(f.rel.items) != 1 || f.rel.items[0].art.Ref != "release/bundle:1" {
		t.Errorf("derived from reports/q:3 = %+v", f.rel.items)
	}
}

func TestBreadcrumbDropsOldestSteps(t *testing.T) {
	h := newHarness(t, seedStore(0), 80, 24, Options{})
	for _, ref := range []string{"reports/q:3", "build/app:12", "src/tarball:5"} {
		h.m.stack = append(h.m.stack, frame{art: h.store.mustRef(ref)})
	}
	tests := []struct {
		w    int
		want string
	}{
		{100, "reports/q:3 › build/app:12 › src/tarball:5"},
		{41, "… › build/app:12 › src/tarball:5"},
		{20, "… › src/tarball:5"},
		{10, "src/…all:5"}, // the version stays
		{16, "… › src/t…ball:5"},
	}
	for _, tt := range tests {
		if got := h.m.breadcrumb(tt.w); got != tt.want {
			t.Errorf("breadcrumb(%d) = %q, want %q", tt.w, got, tt.want)
		}
	}
}

func TestLineageNodeMissingIsFetched(t *testing.T) {
	store := seedStore(0)
	store.omitNodes = true
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3"})
	h.keys("u")
	app := store.mustRef("build/app:12")
	if got := h.m.top().rel.items[0]; got.art != nil || got.id != app.ID {
		t.Fatalf("first input = %+v, want build/app:12 by ID only", got)
	}
	if v := h.view(); !strings.Contains(v, app.ID) {
		t.Errorf("an input without its node is not listed by ID:\n%s", v)
	}
	h.keys("enter")
	if got := h.refs(); !reflect.DeepEqual(got, []string{"reports/q:3", "build/app:12"}) {
		t.Errorf("path = %v", got)
	}
	if last := store.getCalls[len(store.getCalls)-1]; last != app.ID {
		t.Errorf("Get called with %q, want the input's ID %q", last, app.ID)
	}
}

func TestDetailReload(t *testing.T) {
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3"})
	report := store.mustRef("reports/q:3")
	store.arts[store.byID[report.ID]].Retrievals.Count = 9
	h.keys("r")
	if got := h.m.top().art.Retrievals.Count; got != 9 {
		t.Errorf("after r the detail shows %d retrievals, want 9", got)
	}
	if last := store.getCalls[len(store.getCalls)-1]; last != report.ID {
		t.Errorf("reload fetched %q, want %q", last, report.ID)
	}
}

func TestPullFailureIsReported(t *testing.T) {
	store := seedStore(0)
	store.pullErr = fmt.Errorf("chunk 3: %w", client.ErrIntegrity)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3", PullDir: t.TempDir()})
	h.keys("p", "enter")
	if !h.m.statusErr || !strings.Contains(h.m.status, "pull reports/q:3 to ") ||
		!strings.Contains(h.m.status, "failed: chunk 3: integrity check failed") {
		t.Errorf("status %q", h.m.status)
	}
	if h.m.busy() {
		t.Errorf("still busy after the pull failed")
	}
}

func TestLineageErrorAndStaleReply(t *testing.T) {
	store := seedStore(0)
	store.lineageErr = fmt.Errorf("daemon: %w", client.ErrUnavailable)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3"})
	h.keys("u")
	if v := h.view(); !strings.Contains(v, "could not load lineage: daemon: unavailable") {
		t.Errorf("lineage error not shown:\n%s", v)
	}
	store.lineageErr = nil

	// A reply that arrives after the user left that panel is dropped.
	next, held := h.m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("d")})
	h.m = next.(Model)
	h.keys("esc", "u") // close the derived panel, open inputs instead
	h.run(held)
	f := h.m.top()
	if f.rel.dir != client.Up || len(f.rel.items) != 2 || f.rel.items[0].art.Ref != "build/app:12" {
		t.Errorf("a stale derived reply replaced the inputs panel: %+v", f.rel)
	}
}

func TestLineagePanelScrolls(t *testing.T) {
	store := seedStore(0)
	for i := 0; i < 30; i++ {
		store.add(fmt.Sprintf("derived/d:%02d", i), 1, 1, nil, [2]string{"src/tarball:5", "source"})
	}
	h := newHarness(t, store, 80, 12, Options{InitialRef: "src/tarball:5"})
	h.keys("d")
	if n := len(h.m.top().rel.items); n != 31 { // build/app:12 and the 30
		t.Fatalf("%d derived artifacts listed, want 31", n)
	}
	h.keys("end")
	if v := h.view(); !strings.Contains(v, "> source derived/d:29") {
		t.Errorf("last derived artifact not selected and visible:\n%s", v)
	}
	h.keys("pgup")
	if v := h.view(); !strings.Contains(v, ">") || strings.Contains(v, "derived/d:29") {
		t.Errorf("pgup did not scroll the panel:\n%s", v)
	}
	h.keys("home")
	if v := h.view(); !strings.Contains(v, "> source build/app:12") {
		t.Errorf("home did not return to the first row:\n%s", v)
	}
}

// TestSizeAsTheCLIPrintsIt checks that the browser writes a size the way
// `artstore ls` and `show` do (one formatter): 5000016 bytes are 4.77 MiB,
// which reads 4.8 MiB, in the list and in the detail panel.
func TestSizeAsTheCLIPrintsIt(t *testing.T) {
	store := newFakeStore()
	store.add("reports/big:1", 5000016, 1, nil)
	h := newHarness(t, store, 120, 40, Options{})
	if v := h.view(); !strings.Contains(v, " 4.8 MiB ") {
		t.Errorf("the list does not show 4.8 MiB:\n%s", v)
	}
	h.keys("enter")
	if v := h.view(); !strings.Contains(v, "4.8 MiB (5000016 bytes)") {
		t.Errorf("the detail panel does not show 4.8 MiB (5000016 bytes):\n%s", v)
	}
}

// TestFooterShowsLineageKeys checks that the list's footer names u and d,
// which work on the list, and that every footer keeps ? and q in sight
// however narrow the screen, leaving out other keys instead.
func TestFooterShowsLineageKeys(t *testing.T) {
	for _, w := range []int{60, 80, 120} {
		h := newHarness(t, seedStore(10), w, 24, Options{})
		for _, screen := range []struct {
			name string
			keys []string
			want []string
		}{
			{"list", nil, []string{"enter open", "u inputs", "d derived", "/ filter"}},
			{"detail", []string{"enter"}, []string{"u inputs", "d derived", "esc back"}},
			{"events", []string{"e"}, []string{"esc back"}},
		} {
			h.keys(screen.keys...)
			lines := strings.Split(h.view(), "\n")
			footer := lines[len(lines)-1]
			for _, want := range screen.want {
				if !strings.Contains(footer, want) {
					t.Errorf("%d columns, %s: footer %q lacks %q", w, screen.name, footer, want)
				}
			}
			if !strings.HasSuffix(footer, "? help  q quit") {
				t.Errorf("%d columns, %s: footer %q does not end with ? help  q quit", w, screen.name, footer)
			}
		}
	}
}
