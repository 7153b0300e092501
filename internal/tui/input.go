package tui

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/pkg/client"
)

// inputKey handles keys while a prompt is open.
func (m *Model) inputKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc:
		if m.inputMode == inputFilter {
			return m.cancelFilter()
		}
		m.closeInput()
		return nil
	case tea.KeyEnter:
		value := m.input.Value()
		switch m.inputMode {
		case inputFilter:
			return m.submitFilter(value)
		case inputPull:
			return m.submitPull(value)
		}
		return nil
	}
	var cmd tea.Cmd
	before := m.input.Value()
	m.input, cmd = m.input.Update(msg)
	m.confirm = ""
	if e := m.filterEdit; m.inputMode == inputFilter && e != nil && m.input.Value() != before {
		e.seq++
		return tea.Batch(cmd, m.filterTick(e.seq))
	}
	return cmd
}

func (m *Model) closeInput() {
	m.inputMode = inputNone
	m.input.Blur()
	m.input.SetValue("")
	m.filterEdit = nil
}

// filterDelay is how long the filter prompt waits after a key press before
// it narrows the list: a burst of typing costs one query, not one per key.
const filterDelay = 150 * time.Millisecond

// filterEdit is the state of the open filter prompt, which narrows the list
// as the user types and puts it back as it was on esc.
type filterEdit struct {
	before string        // the filter applied when the prompt opened
	saved  *artifactList // the list before the first narrowing; nil until then
	seq    int           // bumped by every edit; only the latest one's tick narrows
	err    error         // why the text typed is not a filter, if it is not
}

// filterTickMsg fires filterDelay after the edit numbered seq.
type filterTickMsg struct{ seq int }

// openFilter opens the filter prompt on the filter applied now.
func (m *Model) openFilter() tea.Cmd {
	m.inputMode = inputFilter
	m.filterEdit = &filterEdit{before: m.filterText}
	m.input.Prompt = "/ "
	m.input.Placeholder = "name glob or prefix, k=v, k!=v, !k"
	m.input.SetValue(m.filterText)
	m.input.CursorEnd()
	m.fitInput()
	return m.input.Focus()
}

// filterTick waits filterDelay (the model's: tests set 0), then reports
// that edit seq is due.
func (m *Model) filterTick(seq int) tea.Cmd {
	if m.filterDelay <= 0 {
		return func() tea.Msg { return filterTickMsg{seq} }
	}
	return tea.Tick(m.filterDelay, func(time.Time) tea.Msg { return filterTickMsg{seq} })
}

// filterTicked narrows the list to what the prompt holds, if the tick is
// for the latest edit of a prompt still open.
func (m *Model) filterTicked(msg filterTickMsg) tea.Cmd {
	if e := m.filterEdit; m.inputMode != inputFilter || e == nil || msg.seq != e.seq {
		return nil
	}
	return m.narrow(m.input.Value())
}

// narrow restarts the list with the filter text while the prompt is open,
// keeping the list as it was before the first narrowing for esc. Text that
// is not a filter (yet) leaves the list as it is and says why in the
// footer.
func (m *Model) narrow(text string) tea.Cmd {
	e := m.filterEdit
	f, err := parseFilter(text)
	e.err = err
	if err != nil || f.String() == m.filterText {
		return nil
	}
	if e.saved == nil {
		saved := m.list
		e.saved = &saved
	}
	m.filterText = f.String()
	m.list.reset(client.Query{Pattern: f.Pattern, Selectors: f.Selectors, Newest: true})
	return m.ensurePages()
}

// submitFilter is enter in the filter prompt: the text typed becomes the
// filter, or, when it is not a filter, the prompt stays open with the
// reason in the footer.
func (m *Model) submitFilter(text string) tea.Cmd {
	cmd := m.narrow(text)
	if m.filterEdit.err != nil {
		return nil
	}
	m.closeInput()
	if m.filterText == "" {
		m.setStatus("filter cleared")
	} else {
		m.setStatus("filter: " + m.filterText)
	}
	return cmd
}

// cancelFilter is esc in the filter prompt: it closes the prompt and puts
// back the filter and the list (rows loaded, selected row, scroll) as they
// were when it opened.
func (m *Model) cancelFilter() tea.Cmd {
	e := m.filterEdit
	m.closeInput()
	if e == nil || e.saved == nil {
		return nil
	}
	m.filterText = e.before
	// Replies to the saved list's requests in flight were dropped while
	// another query was shown: a new generation asks for them again.
	gen := m.list.gen + 1
	m.list = *e.saved
	m.list.gen = gen
	for _, p := range m.list.pages {
		p.loading = false
	}
	m.list.scroll(m.listRows())
	return m.ensurePages()
}

// applyFilter parses text and, if it is valid, restarts the list with it.
func (m *Model) applyFilter(text string) tea.Cmd {
	f, err := parseFilter(text)
	if err != nil {
		m.setError("filter: " + err.Error())
		return nil
	}
	m.filterText = f.String()
	m.list.reset(client.Query{Pattern: f.Pattern, Selectors: f.Selectors, Newest: true})
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
	// As `artstore pull`: a regular file (or one a link points to) is
	// replaced only once confirmed; a device or pipe is written in place.
	if t, err := outpath.Resolve(dst); err == nil && t.Exists() && m.confirm != dst {
		m.confirm = dst
		m.setError(t.Describe() + " exists: enter replaces it, esc cancels")
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
