// Package docgen renders artstore's man pages and shell completion scripts
// from the live command tree. Output is deterministic: it depends only on
// the tree and, for the man page date, on SOURCE_DATE_EPOCH when the caller
// passes it.
package docgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmd/completion"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ManHeader is the fixed part of every man page's title line.
type ManHeader struct {
	Section string    // "1"
	Date    time.Time // zero: no date (keeps generated pages stable)
	Source  string    // "artstore"
	Manual  string    // "artstore manual"
}

// DefaultManHeader returns the header artstore's pages use. A non-empty
// sourceDateEpoch (the SOURCE_DATE_EPOCH convention: seconds since 1970)
// sets the date; otherwise the pages carry none.
func DefaultManHeader(sourceDateEpoch string) (ManHeader, error) {
	h := ManHeader{Section: "1", Source: "artstore", Manual: "artstore manual"}
	if sourceDateEpoch != "" {
		var secs int64
		if _, err := fmt.Sscan(sourceDateEpoch, &secs); err != nil {
			return h, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", sourceDateEpoch)
		}
		h.Date = time.Unix(secs, 0).UTC()
	}
	return h, nil
}

// Documented reports whether cmd gets a man page: available, not hidden,
// not the help command.
func Documented(cmd *cobra.Command) bool {
	return cmd.IsAvailableCommand() && cmd.Name() != "help" || !cmd.HasParent()
}

// ManFileName is the page file of cmd: "artstore-backend-health.1".
func ManFileName(cmd *cobra.Command, section string) string {
	return strings.ReplaceAll(cmd.CommandPath(), " ", "-") + "." + section
}

// GenManTree writes a page for root and every documented command below it
// into dir, and removes pages in dir that belong to no command.
func GenManTree(root *cobra.Command, dir string, h ManHeader) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create man directory: %w", err)
	}
	want := map[string]bool{}
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !Documented(c) {
			return nil
		}
		name := ManFileName(c, h.Section)
		want[name] = true
		if err := os.WriteFile(filepath.Join(dir, name), GenMan(c, h), 0o644); err != nil {
			return fmt.Errorf("write man page: %w", err)
		}
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*."+h.Section))
	if err != nil {
		return fmt.Errorf("list man directory: %w", err)
	}
	for _, p := range old {
		if !want[filepath.Base(p)] {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove stale man page: %w", err)
			}
		}
	}
	return nil
}

// GenMan renders cmd's man page (roff).
func GenMan(cmd *cobra.Command, h ManHeader) []byte {
	cmd.InitDefaultHelpFlag()
	var b bytes.Buffer
	title := strings.ToUpper(strings.ReplaceAll(cmd.CommandPath(), " ", "-"))
	date := ""
	if !h.Date.IsZero() {
		date = h.Date.Format("Jan 2006")
	}
	fmt.Fprintf(&b, "%% %q %q %q %q %q\n", title, h.Section, date, h.Source, h.Manual)

	b.WriteString("# NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n\n", strings.ReplaceAll(cmd.CommandPath(), " ", "-"), escape(cmd.Short))

	b.WriteString("# SYNOPSIS\n")
	fmt.Fprintf(&b, "**%s**\n\n", escape(cmd.UseLine()))

	b.WriteString("# DESCRIPTION\n")
	long := cmd.Long
	if long == "" {
		long = cmd.Short
	}
	if i := strings.Index(long, "\n\nEXIT STATUS\n"); i >= 0 {
		long = long[:i] // rendered as its own section below
	}
	b.WriteString(prose(long))

	if cmd.HasAvailableSubCommands() {
		b.WriteString("# COMMANDS\n")
		for _, sub := range cmd.Commands() {
			if Documented(sub) {
				fmt.Fprintf(&b, "**%s**\n: %s (see **%s**(%s))\n\n", escape(sub.Name()), escape(sub.Short),
					escape(strings.ReplaceAll(sub.CommandPath(), " ", "-")), h.Section)
			}
		}
	}

	writeFlags(&b, "OPTIONS", cmd.NonInheritedFlags())
	writeFlags(&b, "OPTIONS INHERITED FROM PARENT COMMANDS", cmd.InheritedFlags())

	if cmd.Example != "" {
		b.WriteString("# EXAMPLES\n")
		// A fenced block keeps the examples verbatim.
		fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.TrimRight(cmd.Example, "\n"))
	}

	if !cmd.HasParent() {
		b.WriteString("# ENVIRONMENT\n")
		for _, s := range config.Settings() {
			if s.Env == "" {
				continue
			}
			fmt.Fprintf(&b, "**%s**\n: %s", s.Env, escape(s.PlainUsage()))
			if s.Key != "" && s.InFile {
				fmt.Fprintf(&b, " (config key *%s*)", escape(s.Key))
			}
			b.WriteString("\n\n")
		}
		b.WriteString("**NO\\_COLOR**\n: when set to anything, no colour in the output\n\n")
		b.WriteString("# FILES\n")
		b.WriteString("**$XDG\\_CONFIG\\_HOME/artstore/config.yaml**\n: the config file (default **~/.config/artstore/config.yaml**); see docs/configuration.md\n\n")
		b.WriteString("**$XDG\\_DATA\\_HOME/artstore**\n: the local store (default **~/.local/share/artstore**)\n\n")
	}

	b.WriteString("# EXIT STATUS\n")
	for _, s := range cmdutil.ExitCodes() {
		fmt.Fprintf(&b, "**%d**\n: %s\n\n", s.Code, escape(s.Meaning))
	}

	var see []string
	if cmd.HasParent() {
		see = append(see, ref(cmd.Parent(), h.Section))
	}
	for _, sub := range cmd.Commands() {
		if Documented(sub) {
			see = append(see, ref(sub, h.Section))
		}
	}
	if len(see) > 0 {
		b.WriteString("# SEE ALSO\n")
		b.WriteString(strings.Join(see, ", "))
		b.WriteString("\n")
	}
	return md2man.Render(b.Bytes())
}

func ref(cmd *cobra.Command, section string) string {
	return fmt.Sprintf("**%s**(%s)", escape(strings.ReplaceAll(cmd.CommandPath(), " ", "-")), section)
}

func writeFlags(b *bytes.Buffer, title string, fs *pflag.FlagSet) {
	var flags []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			flags = append(flags, f)
		}
	})
	if len(flags) == 0 {
		return
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	fmt.Fprintf(b, "# %s\n", title)
	for _, f := range flags {
		name, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() == "bool" {
			name = ""
		}
		var head string
		if f.Shorthand != "" {
			head = fmt.Sprintf("**-%s**, ", f.Shorthand)
		}
		head += "**--" + escape(f.Name) + "**"
		if name != "" {
			head += " *" + escape(name) + "*"
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %s)", escape(f.DefValue))
		}
		fmt.Fprintf(b, "%s\n: %s%s\n\n", head, escape(usage), def)
	}
}

// prose renders hand-wrapped help text: paragraphs stay paragraphs, lines
// indented by two or more spaces stay verbatim.
func prose(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(para, "\n")
		if strings.HasPrefix(lines[0], "  ") {
			fmt.Fprintf(&b, "```\n%s\n```\n\n", para)
			continue
		}
		for i, l := range lines {
			lines[i] = escape(strings.TrimSpace(l))
		}
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteString("\n\n")
	}
	return b.String()
}

// escape protects markdown's special characters in plain text.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()#+-.!<>|~", r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CompletionFiles maps each shell to the file its script is written to
// under completions/.
func CompletionFiles() map[string]string {
	return map[string]string{
		"bash":       "artstore.bash",
		"zsh":        "artstore.zsh",
		"fish":       "artstore.fish",
		"powershell": "artstore.ps1",
	}
}

// GenCompletions writes the completion script of every shell into dir.
func GenCompletions(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create completions directory: %w", err)
	}
	for _, shell := range completion.Shells() {
		var b bytes.Buffer
		if err := completion.Generate(root, shell, &b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, CompletionFiles()[shell]), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s completion: %w", shell, err)
		}
	}
	return nil
}
