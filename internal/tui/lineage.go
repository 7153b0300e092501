package tui

import (
	"fmt"
	"sort"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/artifact-store/artstore/pkg/client"
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
	// direct is set when the frame was opened with its panel (u or d on
	// the list): its detail alone was never shown, so esc on the panel
	// leaves the frame instead of closing the panel.
	direct bool
}

// maxPath bounds the lineage path. Every step is a key press, so only a
// walk round and round a cycle reaches it; the oldest steps are dropped.
const maxPath = 100

// top is the frame in view on the detail screen, or nil.
func (m *Model) top() *frame {
	if len(m.stack) == 0 {
		return nil
	}
	return &m.stack[len(m.stack)-1]
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

// visit pushes a onto the lineage path. The frames below keep their panel
// and selected row, so esc returns to exactly the view the step was taken
// from. An artifact already on the path is pushed again rather than the
// path cut back to it: cutting would make esc skip the views in between.
// Past maxPath steps the oldest is dropped.
func (m *Model) visit(a client.Artifact) {
	if len(m.stack) >= maxPath {
		m.stack = append(m.stack[:0], m.stack[len(m.stack)-maxPath+1:]...)
	}
	m.stack = append(m.stack, frame{art: a})
}

// back leaves the view in front: it closes the panel of the frame in view,
// or leaves the frame when it has no panel or was opened with it (u or d
// on the list); leaving the first frame returns to the list.
func (m *Model) back() tea.Cmd {
	m.status = ""
	f := m.top()
	if f.rel != nil && !f.direct {
		f.rel = nil
		return nil
	}
	m.stack = m.stack[:len(m.stack)-1]
	if len(m.stack) == 0 {
		m.screen = screenList
		return m.ensurePages()
	}
	return nil
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
