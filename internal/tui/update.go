package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

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
			m.stack[0].direct = true
			return m.openRelatives(client.Up)
		case key.Matches(msg, m.keys.Children):
			m.stack[0].direct = true
			return m.openRelatives(client.Down)
		}
	case key.Matches(msg, m.keys.Filter):
		return m.openFilter()
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
		m.input.Prompt = "pull " + textfmt.Sanitize(a.Ref) + " to: "
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
		return m.back()
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
