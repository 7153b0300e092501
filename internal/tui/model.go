package tui

import (
	"context"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
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
	filterEdit    *filterEdit
	// filterDelay is how long the filter prompt waits for more typing
	// before it narrows the list; tests set 0.
	filterDelay time.Duration
	stack       []frame
	events      *eventsView
	eventsBack  screen

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
		ctx:         ctx,
		store:       store,
		opts:        opts,
		keys:        defaultKeys(),
		st:          st,
		help:        h,
		spin:        spinner.New(spinner.WithSpinner(spinner.Line), spinner.WithStyle(r.NewStyle())),
		animate:     true,
		now:         time.Now,
		filterDelay: filterDelay,
		width:       opts.Width,
		height:      opts.Height,
		input:       ti,
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
		m.list.reset(client.Query{Newest: true})
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
	case filterTickMsg:
		return m.filterTicked(msg)
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
		m.setStatus(fmt.Sprintf("pulled %s to %s (%s, %s)", msg.ref, where, textfmt.Bytes(size), shortDigest(digest)))
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

func (m *Model) setError(s string) { m.status, m.statusErr = s, true }

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

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
