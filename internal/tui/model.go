package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/artifact-store/artstore/pkg/client"
)

// Bounds of the client-side event scan behind the e key: client.Store.Events
// has no subject filter, so the browser reads the log forward in pages and
// keeps the artifact's events, stopping after eventsScanMax events.
const (
	eventsPageSize = 500
	eventsScanMax  = 20000
)

// screen is what the body shows.
type screen int

const (
	screenList screen = iota
	screenDetail
	screenEvents
)

// inputMode says which prompt, if any, owns the keyboard.
type inputMode int

const (
	inputNone inputMode = iota
	inputFilter
	inputPull
)

// relative is one row of the lineage panel: a parent (input) or a child
// (derived artifact) of the artifact in view.
type relative struct {
	id     string           // artifact ID; "" for a raw digest input
	art    *client.Artifact // nil when the graph did not include the node
	digest string           // for raw digest inputs
	role   string
}

// label is how the row names the relative.
func (r relative) label() string {
	switch {
	case r.art != nil:
		return r.art.Ref
	case r.id != "":
		return r.id
	default:
		return r.digest + " (raw input)"
	}
}

// relatives is the lineage panel of one frame.
type relatives struct {
	dir     client.LineageDirection
	items   []relative
	cursor  int
	offset  int
	loading bool
	err     error
}

// frame is one step of the lineage path: the artifact in view and its
// open lineage panel, if any.
type frame struct {
	art    client.Artifact
	rel    *relatives
	scroll int
}

// eventsView is the events screen's state.
type eventsView struct {
	art       client.Artifact
	items     []client.Event
	scanned   int
	truncated bool
	loading   bool
	err       error
	offset    int
}

// Messages the store commands send back to Update.
type (
	initMsg struct{}
	pageMsg struct {
		req  pageReq
		page *client.Page
		err  error
	}
	// openMsg carries an artifact fetched with Get to show at stack depth
	// level: replacing the stack (InitialRef, level 0), pushing onto it, or
	// refreshing the frame at that depth.
	openMsg struct {
		level   int
		parent  string // ID of the frame below level, "" for level 0
		refresh bool
		ref     string
		art     *client.Artifact
		err     error
	}
	lineageMsg struct {
		id    string
		level int
		dir   client.LineageDirection
		graph *client.LineageGraph
		err   error
	}
	eventsMsg struct {
		id        string
		events    []client.Event
		scanned   int
		truncated bool
		err       error
	}
	pullMsg struct {
		ref  string
		path string
		res  *client.PullResult
		err  error
	}
	clipMsg struct {
		what  string
		value string
		err   error
	}
)

// styles are the browser's lipgloss styles, built from one renderer so that
// NoColor really means no escape sequences.
type styles struct {
	title, bold, faint, selected, err, ok, section lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		title:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		bold:     r.NewStyle().Bold(true),
		faint:    r.NewStyle().Faint(true),
		selected: r.NewStyle().Reverse(true),
		err:      r.NewStyle().Foreground(lipgloss.Color("9")),
		ok:       r.NewStyle().Foreground(lipgloss.Color("10")),
		section:  r.NewStyle().Bold(true).Underline(true),
	}
}

// Model is the browser's bubbletea model. Build it with NewModel; Run wraps
// it in a program. Tests drive it by calling Update with key and window-size
// messages and running the commands it returns.
type Model struct {
	ctx   context.Context
	store client.Store
	opts  Options
	keys  keyMap
	st    styles
	help  help.Model
	spin  spinner.Model
	// animate sends spinner ticks; tests turn it off so that running every
	// returned command terminates.
	animate bool
	ticking bool
	now     func() time.Time

	width, height int
	screen        screen
	list          artifactList
	filterText    string
	stack         []frame
	events        *eventsView
	eventsBack    screen

	input      textinput.Model
	inputMode  inputMode
	pullTarget client.Artifact
	confirm    string // path the user was warned exists; enter again overwrites
	pulling    int
	opening    int

	showHelp  bool
	status    string
	statusErr bool
}

var _ tea.Model = Model{}

// NewModel returns the browser's model for store. The model does nothing
// until its Init command runs; all store calls use ctx. Options are
// defaulted as Run does, except that the terminal is not checked.
func NewModel(ctx context.Context, store client.Store, opts Options) Model {
	opts = opts.withDefaults()
	r := lipgloss.NewRenderer(opts.Out)
	if opts.NoColor {
		r.SetColorProfile(termenv.Ascii)
	}
	st := newStyles(r)

	h := help.New()
	h.Styles = help.Styles{
		Ellipsis:       st.faint,
		ShortKey:       st.bold,
		ShortDesc:      st.faint,
		ShortSeparator: st.faint,
		FullKey:        st.bold,
		FullDesc:       r.NewStyle(),
		FullSeparator:  st.faint,
	}
	h.ShortSeparator = "  "

	ti := textinput.New()
	ti.Cursor.SetMode(cursor.CursorStatic)
	ti.Cursor.Style = r.NewStyle().Reverse(true)
	ti.Cursor.TextStyle = r.NewStyle()
	ti.PromptStyle = st.bold
	ti.TextStyle = r.NewStyle()
	ti.PlaceholderStyle = st.faint
	ti.CompletionStyle = st.faint

	m := Model{
		ctx:     ctx,
		store:   store,
		opts:    opts,
		keys:    defaultKeys(),
		st:      st,
		help:    h,
		spin:    spinner.New(spinner.WithSpinner(spinner.Line), spinner.WithStyle(r.NewStyle())),
		animate: true,
		now:     time.Now,
		width:   opts.Width,
		height:  opts.Height,
		input:   ti,
	}
	m.list.pageSize = opts.PageSize
	m.resize(opts.Width, opts.Height)
	return m
}

// Init starts loading the first page (and InitialRef, if set).
func (m Model) Init() tea.Cmd {
	return func() tea.Msg { return initMsg{} }
}

// Update handles one message. It never blocks: store calls are returned as
// commands.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	tick := m.tick()
	return m, tea.Batch(cmd, tick)
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case initMsg:
		m.list.reset(client.Query{})
		cmds := []tea.Cmd{m.ensurePages()}
		if m.opts.InitialRef != "" {
			m.opening++
			cmds = append(cmds, m.getCmd(openMsg{level: 0, ref: m.opts.InitialRef}))
		}
		return tea.Batch(cmds...)
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m.ensurePages()
	case spinner.TickMsg:
		if !m.busy() {
			m.ticking = false
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case pageMsg:
		if !m.list.loaded(msg, m.listRows()) {
			return nil
		}
		if msg.err != nil {
			m.setError(fmt.Sprintf("could not list artifacts: %v (r retries)", msg.err))
			return nil
		}
		return m.ensurePages()
	case openMsg:
		return m.opened(msg)
	case lineageMsg:
		m.lineageLoaded(msg)
		return nil
	case eventsMsg:
		if ev := m.events; ev != nil && ev.art.ID == msg.id && ev.loading {
			ev.loading = false
			ev.items, ev.scanned, ev.truncated, ev.err = msg.events, msg.scanned, msg.truncated, msg.err
			if msg.err != nil {
				m.setError(fmt.Sprintf("could not read events: %v", msg.err))
			}
		}
		return nil
	case pullMsg:
		m.pulling--
		if msg.err != nil {
			m.setError(fmt.Sprintf("pull %s to %s failed: %v", msg.ref, msg.path, msg.err))
			return nil
		}
		where := msg.path
		if msg.res != nil && msg.res.Path != "" {
			where = msg.res.Path
		}
		var size int64
		var digest string
		if msg.res != nil {
			size, digest = msg.res.Bytes, msg.res.ContentDigest
		}
		m.setStatus(fmt.Sprintf("pulled %s to %s (%s, %s)", msg.ref, where, humanSize(size), shortDigest(digest)))
		return nil
	case clipMsg:
		if msg.err != nil {
			m.setError(fmt.Sprintf("clipboard unavailable (%v); %s: %s", msg.err, msg.what, msg.value))
			return nil
		}
		m.setStatus(fmt.Sprintf("copied %s %s", msg.what, msg.value))
		return nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

// tick starts the spinner when something is in flight and it is not
// already running.
func (m *Model) tick() tea.Cmd {
	if !m.animate || m.ticking || !m.busy() {
		return nil
	}
	m.ticking = true
	return m.spin.Tick
}

// busy reports whether any store call is in flight.
func (m *Model) busy() bool {
	if m.list.loading() || m.pulling > 0 || m.opening > 0 {
		return true
	}
	if f := m.top(); f != nil && f.rel != nil && f.rel.loading {
		return true
	}
	return m.events != nil && m.events.loading
}

func (m *Model) setStatus(s string) { m.status, m.statusErr = s, false }
func (m *Model) setError(s string)  { m.status, m.statusErr = s, true }

// resize records the terminal size and fits the widgets to it.
func (m *Model) resize(w, h int) {
	if w < 1 {
		w = 1
	}
	if h < 1 {
		h = 1
	}
	m.width, m.height = w, h
	m.help.Width = w
	m.fitInput()
	m.list.scroll(m.listRows())
}

// top is the frame in view on the detail screen, or nil.
func (m *Model) top() *frame {
	if len(m.stack) == 0 {
		return nil
	}
	return &m.stack[len(m.stack)-1]
}

// ensurePages turns the list's page needs into store calls.
func (m *Model) ensurePages() tea.Cmd {
	reqs := m.list.ensure(m.listRows())
	cmds := make([]tea.Cmd, 0, len(reqs))
	for _, r := range reqs {
		cmds = append(cmds, m.listCmd(r))
	}
	return tea.Batch(cmds...)
}

func (m *Model) listCmd(r pageReq) tea.Cmd {
	ctx, store := m.ctx, m.store
	return func() tea.Msg {
		p, err := store.List(ctx, r.query)
		if err == nil && p == nil {
			err = errors.New("store returned no page")
		}
		return pageMsg{req: r, page: p, err: err}
	}
}

func (m *Model) getCmd(msg openMsg) tea.Cmd {
	ctx, store := m.ctx, m.store
	return func() tea.Msg {
		a, err := store.Get(ctx, msg.ref)
		if err == nil && a == nil {
			err = fmt.Errorf("%s: %w", msg.ref, client.ErrNotFound)
		}
		msg.art, msg.err = a, err
		return msg
	}
}

func (m *Model) lineageCmd(id string, level int, dir client.LineageDirection) tea.Cmd {
	ctx, store := m.ctx, m.store
	return func() tea.Msg {
		g, err := store.Lineage(ctx, id, client.LineageOptions{Direction: dir, Depth: 1})
		if err == nil && g == nil {
			err = errors.New("store returned no lineage graph")
		}
		return lineageMsg{id: id, level: level, dir: dir, graph: g, err: err}
	}
}

// eventsCmd reads the log forward and keeps the events whose subject is id,
// stopping at the end of the log or after eventsScanMax events.
func (m *Model) eventsCmd(id string) tea.Cmd {
	ctx, store := m.ctx, m.store
	return func() tea.Msg {
		var after int64
		var found []client.Event
		scanned := 0
		for scanned < eventsScanMax {
			evs, err := store.Events(ctx, after, eventsPageSize, 0)
			if err != nil {
				return eventsMsg{id: id, err: fmt.Errorf("read events after #%d: %w", after, err)}
			}
			if len(evs) == 0 {
				return eventsMsg{id: id, events: found, scanned: scanned}
			}
			scanned += len(evs)
			for _, e := range evs {
				if e.Subject == id {
					found = append(found, e)
				}
			}
			last := evs[len(evs)-1].Seq
			if last <= after {
				return eventsMsg{id: id, err: fmt.Errorf("event log did not advance past #%d", after)}
			}
			after = last
		}
		return eventsMsg{id: id, events: found, scanned: scanned, truncated: true}
	}
}

func (m *Model) pullCmd(a client.Artifact, dst string) tea.Cmd {
	ctx, store := m.ctx, m.store
	return func() tea.Msg {
		res, err := store.PullToPath(ctx, a.ID, dst, client.PullOptions{})
		return pullMsg{ref: a.Ref, path: dst, res: res, err: err}
	}
}

func (m *Model) copyCmd(what, value string) tea.Cmd {
	clip := m.opts.Clipboard
	return func() tea.Msg {
		return clipMsg{what: what, value: value, err: clip(value)}
	}
}

// opened handles a Get reply.
func (m *Model) opened(msg openMsg) tea.Cmd {
	m.opening--
	if msg.err != nil {
		m.setError(fmt.Sprintf("could not open %s: %v", msg.ref, msg.err))
		return nil
	}
	switch {
	case msg.refresh:
		if msg.level < len(m.stack) && m.stack[msg.level].art.ID == msg.art.ID {
			m.stack[msg.level].art = *msg.art
			m.setStatus("reloaded " + msg.art.Ref)
		}
	case msg.level == 0:
		if len(m.stack) > 0 {
			return nil // the user opened something else meanwhile
		}
		m.visit(*msg.art)
		m.screen = screenDetail
	case msg.level == len(m.stack) && m.stack[msg.level-1].art.ID == msg.parent:
		m.visit(*msg.art)
	}
	return nil
}

// visit moves the lineage path to a: when a is already on the path, the
// path is cut back to it (so a cycle in the lineage can never trap the
// user); otherwise a is pushed.
func (m *Model) visit(a client.Artifact) {
	for i := range m.stack {
		if m.stack[i].art.ID == a.ID {
			m.stack = m.stack[:i+1]
			m.stack[i].rel = nil
			m.stack[i].scroll = 0
			m.setStatus(fmt.Sprintf("%s is already on the path: went back to it", a.Ref))
			return
		}
	}
	m.stack = append(m.stack, frame{art: a})
}

// lineageLoaded fills the lineage panel the reply belongs to.
func (m *Model) lineageLoaded(msg lineageMsg) {
	if msg.level >= len(m.stack) {
		return
	}
	f := &m.stack[msg.level]
	if f.art.ID != msg.id || f.rel == nil || f.rel.dir != msg.dir || !f.rel.loading {
		return
	}
	f.rel.loading = false
	if msg.err != nil {
		f.rel.err = msg.err
		m.setError(fmt.Sprintf("could not load lineage of %s: %v", f.art.Ref, msg.err))
		return
	}
	f.rel.items = relativesOf(msg.graph, msg.id, msg.dir)
}

// relativesOf extracts the depth-1 neighbours of id from a lineage graph,
// sorted by role and then by reference.
func relativesOf(g *client.LineageGraph, id string, dir client.LineageDirection) []relative {
	if g.Root != "" {
		id = g.Root
	}
	nodes := make(map[string]*client.Artifact, len(g.Nodes))
	for i := range g.Nodes {
		nodes[g.Nodes[i].ID] = &g.Nodes[i]
	}
	var out []relative
	seen := make(map[relative]bool)
	for _, e := range g.Edges {
		var r relative
		switch {
		case dir == client.Up && e.From == id:
			r = relative{id: e.To, digest: e.Digest, role: e.Role}
		case dir == client.Down && e.To == id && e.From != "":
			r = relative{id: e.From, role: e.Role}
		default:
			continue
		}
		if r.id == "" && r.digest == "" {
			continue
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		r.art = nodes[r.id]
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].role != out[j].role {
			return out[i].role < out[j].role
		}
		return out[i].label() < out[j].label()
	})
	return out
}

// key handles a key press.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	if m.inputMode != inputNone {
		return m.inputKey(msg)
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, m.keys.Quit):
			return tea.Quit
		case key.Matches(msg, m.keys.Help), key.Matches(msg, m.keys.Back):
			m.showHelp = false
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.showHelp = true
		return nil
	}
	switch m.screen {
	case screenDetail:
		return m.detailKey(msg)
	case screenEvents:
		return m.eventsKey(msg)
	default:
		return m.listKey(msg)
	}
}

// moveKey maps navigation keys to a row delta for a pane of rows rows; ok
// is false for other keys. Top and Bottom return ±huge deltas that callers
// clamp.
func (m *Model) moveKey(msg tea.KeyMsg, rows int) (delta int, ok bool) {
	const far = 1 << 30
	switch {
	case key.Matches(msg, m.keys.Up):
		return -1, true
	case key.Matches(msg, m.keys.Down):
		return 1, true
	case key.Matches(msg, m.keys.PageUp):
		return -max(rows-1, 1), true
	case key.Matches(msg, m.keys.PageDown):
		return max(rows-1, 1), true
	case key.Matches(msg, m.keys.Top):
		return -far, true
	case key.Matches(msg, m.keys.Bottom):
		return far, true
	}
	return 0, false
}

func (m *Model) listKey(msg tea.KeyMsg) tea.Cmd {
	rows := m.listRows()
	if d, ok := m.moveKey(msg, rows); ok {
		m.list.move(d, rows)
		return m.ensurePages()
	}
	switch {
	case key.Matches(msg, m.keys.Enter), key.Matches(msg, m.keys.Parents), key.Matches(msg, m.keys.Children):
		a := m.list.selected()
		if a == nil {
			m.setStatus("still loading…")
			return nil
		}
		m.stack = []frame{{art: *a}}
		m.screen = screenDetail
		m.status = ""
		switch {
		case key.Matches(msg, m.keys.Parents):
			return m.openRelatives(client.Up)
		case key.Matches(msg, m.keys.Children):
			return m.openRelatives(client.Down)
		}
	case key.Matches(msg, m.keys.Filter):
		m.inputMode = inputFilter
		m.input.Prompt = "/ "
		m.input.Placeholder = "name glob or prefix, k=v, k!=v, !k"
		m.input.SetValue(m.filterText)
		m.input.CursorEnd()
		m.fitInput()
		return m.input.Focus()
	case key.Matches(msg, m.keys.Back):
		if m.filterText != "" {
			return m.applyFilter("")
		}
	case key.Matches(msg, m.keys.Reload):
		return m.reloadList()
	default:
		return m.actionKey(msg, m.list.selected())
	}
	return nil
}

// actionKey handles the keys that act on one artifact: pull, copy, events.
func (m *Model) actionKey(msg tea.KeyMsg, a *client.Artifact) tea.Cmd {
	isAction := key.Matches(msg, m.keys.Pull) || key.Matches(msg, m.keys.CopyRef) ||
		key.Matches(msg, m.keys.CopyDigest) || key.Matches(msg, m.keys.Events)
	if !isAction {
		return nil
	}
	if a == nil {
		m.setStatus("nothing selected")
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Pull):
		m.inputMode = inputPull
		m.pullTarget = *a
		m.confirm = ""
		m.input.Prompt = "pull " + sanitize(a.Ref) + " to: "
		m.input.Placeholder = ""
		m.input.SetValue(m.defaultPullPath(*a))
		m.input.CursorEnd()
		m.fitInput()
		return m.input.Focus()
	case key.Matches(msg, m.keys.CopyRef):
		return m.copyCmd("reference", a.Ref)
	case key.Matches(msg, m.keys.CopyDigest):
		if a.ContentDigest == "" {
			m.setStatus(a.Ref + " has no content digest to copy")
			return nil
		}
		return m.copyCmd("digest", a.ContentDigest)
	default: // Events
		m.eventsBack = m.screen
		m.screen = screenEvents
		m.events = &eventsView{art: *a, loading: true}
		return m.eventsCmd(a.ID)
	}
}

func (m *Model) detailKey(msg tea.KeyMsg) tea.Cmd {
	f := m.top()
	if f == nil {
		m.screen = screenList
		return nil
	}
	rows := m.bodyRows()
	if d, ok := m.moveKey(msg, rows); ok {
		if f.rel != nil {
			f.rel.move(d, rows-1)
		} else {
			f.scroll = clamp(f.scroll+d, 0, max(len(m.detailLines(&f.art, m.width))-rows, 0))
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Parents):
		return m.openRelatives(client.Up)
	case key.Matches(msg, m.keys.Children):
		return m.openRelatives(client.Down)
	case key.Matches(msg, m.keys.Enter):
		if f.rel == nil {
			return m.openRelatives(client.Up)
		}
		return m.enterRelative()
	case key.Matches(msg, m.keys.Back):
		m.status = ""
		if f.rel != nil {
			f.rel = nil
			return nil
		}
		m.stack = m.stack[:len(m.stack)-1]
		if len(m.stack) == 0 {
			m.screen = screenList
			return m.ensurePages()
		}
	case key.Matches(msg, m.keys.Reload):
		m.opening++
		return m.getCmd(openMsg{level: len(m.stack) - 1, refresh: true, ref: f.art.ID})
	default:
		target := &f.art
		if f.rel != nil {
			target = nil
			if r := f.rel.selected(); r != nil {
				target = r.art
			}
		}
		return m.actionKey(msg, target)
	}
	return nil
}

// openRelatives shows the inputs (Up) or derived artifacts (Down) of the
// artifact in view, fetching one level of lineage.
func (m *Model) openRelatives(dir client.LineageDirection) tea.Cmd {
	f := m.top()
	f.rel = &relatives{dir: dir, loading: true}
	return m.lineageCmd(f.art.ID, len(m.stack)-1, dir)
}

// enterRelative moves the path to the selected relative.
func (m *Model) enterRelative() tea.Cmd {
	f := m.top()
	r := f.rel.selected()
	switch {
	case r == nil:
		return nil
	case r.art != nil:
		m.status = ""
		m.visit(*r.art)
		return nil
	case r.id != "":
		m.opening++
		return m.getCmd(openMsg{level: len(m.stack), parent: f.art.ID, ref: r.id})
	default:
		m.setStatus("a raw digest input is not an artifact: nothing to open")
		return nil
	}
}

func (r *relatives) selected() *relative {
	if r.cursor < 0 || r.cursor >= len(r.items) {
		return nil
	}
	return &r.items[r.cursor]
}

func (r *relatives) move(d, rows int) {
	r.cursor = clamp(r.cursor+d, 0, max(len(r.items)-1, 0))
	rows = max(rows, 1)
	if r.cursor < r.offset {
		r.offset = r.cursor
	}
	if r.cursor >= r.offset+rows {
		r.offset = r.cursor - rows + 1
	}
}

func (m *Model) eventsKey(msg tea.KeyMsg) tea.Cmd {
	ev := m.events
	rows := m.bodyRows() - 1
	if d, ok := m.moveKey(msg, rows); ok {
		ev.offset = clamp(ev.offset+d, 0, max(len(ev.items)-rows, 0))
		return nil
	}
	if key.Matches(msg, m.keys.Back) {
		m.screen = m.eventsBack
		m.events = nil
		if m.screen == screenList {
			return m.ensurePages()
		}
	}
	return nil
}

// inputKey handles keys while a prompt is open.
func (m *Model) inputKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc:
		mode := m.inputMode
		m.closeInput()
		if mode == inputFilter && m.filterText != "" {
			return m.applyFilter("")
		}
		return nil
	case tea.KeyEnter:
		value := m.input.Value()
		switch m.inputMode {
		case inputFilter:
			m.closeInput()
			return m.applyFilter(value)
		case inputPull:
			return m.submitPull(value)
		}
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	m.confirm = ""
	return cmd
}

func (m *Model) closeInput() {
	m.inputMode = inputNone
	m.input.Blur()
	m.input.SetValue("")
}

// applyFilter parses text and, if it is valid, restarts the list with it.
func (m *Model) applyFilter(text string) tea.Cmd {
	f, err := parseFilter(text)
	if err != nil {
		m.setError("filter: " + err.Error())
		return nil
	}
	m.filterText = f.String()
	m.list.reset(client.Query{Pattern: f.Pattern, Selectors: f.Selectors})
	if f.empty() {
		m.setStatus("filter cleared")
	} else {
		m.setStatus("filter: " + m.filterText)
	}
	return m.ensurePages()
}

func (m *Model) reloadList() tea.Cmd {
	m.list.reset(m.list.query)
	m.setStatus("reloading…")
	return m.ensurePages()
}

// defaultPullPath proposes <PullDir>/<last name segment>.
func (m *Model) defaultPullPath(a client.Artifact) string {
	base := path.Base(a.Name)
	if base == "." || base == "/" || base == "" {
		base = a.ID
	}
	dir := m.opts.PullDir
	if dir == "" || dir == "." {
		return "./" + base
	}
	return filepath.Join(dir, base)
}

// submitPull resolves the typed path and starts the pull. An existing
// directory receives the artifact under its base name; an existing file
// is only replaced after the user presses enter a second time.
func (m *Model) submitPull(value string) tea.Cmd {
	dst := strings.TrimSpace(value)
	if dst == "" {
		m.setError("type a path to pull to, or esc to cancel")
		return nil
	}
	if rest, ok := strings.CutPrefix(dst, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			dst = filepath.Join(home, rest)
		}
	}
	a := m.pullTarget
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, path.Base(m.defaultPullPath(a)))
	}
	if _, err := os.Lstat(dst); err == nil && m.confirm != dst {
		m.confirm = dst
		m.setError(dst + " exists: enter replaces it, esc cancels")
		return nil
	}
	m.closeInput()
	m.confirm = ""
	m.pulling++
	m.setStatus(fmt.Sprintf("pulling %s to %s…", a.Ref, dst))
	return m.pullCmd(a, dst)
}

// fitInput sizes the prompt's text field to the screen.
func (m *Model) fitInput() {
	m.input.Width = max(m.width-lipgloss.Width(m.input.Prompt)-1, 1)
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
