package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every binding of the browser. The help overlay and the footer
// are generated from it, so a key and its help text cannot drift apart.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Enter, Back                             key.Binding
	Filter, Reload                          key.Binding
	Parents, Children                       key.Binding
	Pull, CopyRef, CopyDigest, Events       key.Binding
	Help, Quit                              key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:        key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last loaded")),
		Enter:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:       key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Reload:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Parents:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "inputs")),
		Children:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "derived")),
		Pull:       key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pull")),
		CopyRef:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy ref")),
		CopyDigest: key.NewBinding(key.WithKeys("Y"), key.WithHelp("Y", "copy digest")),
		Events:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "events")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// fullHelp is the help overlay's columns.
func (k keyMap) fullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Enter, k.Back, k.Parents, k.Children, k.Filter, k.Reload},
		{k.Pull, k.CopyRef, k.CopyDigest, k.Events, k.Help, k.Quit},
	}
}

// shortHelp is the footer line's keys for a screen, most useful first;
// the footer shows as many as fit, then help and quit.
func (k keyMap) shortHelp(s screen) []key.Binding {
	switch s {
	case screenDetail:
		return []key.Binding{k.Parents, k.Children, k.Back, k.Pull, k.CopyRef, k.Events}
	case screenEvents:
		return []key.Binding{k.Up, k.Down, k.Back}
	default:
		return []key.Binding{k.Enter, k.Parents, k.Children, k.Filter, k.Pull, k.Events, k.CopyRef}
	}
}
