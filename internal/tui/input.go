package tui

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/pkg/client"
)

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
