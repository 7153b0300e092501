package tui

import (
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/artifact-store/artstore/pkg/client"
)

// Bounds of the client-side event scan behind the e key: client.Store.Events
// has no subject filter, so the browser reads the log forward in pages and
// keeps the artifact's events, stopping after eventsScanMax events.
const (
	eventsPageSize = 500
	eventsScanMax  = 20000
)

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
