package completion

import (
	"bytes"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/spf13/cobra"
)

func TestNewCmdCompletion(t *testing.T) {
	tests := []struct {
		args      []string
		wantShell string
		wantUsage string
	}{
		{args: []string{"bash"}, wantShell: "bash"},
		{args: []string{"powershell"}, wantShell: "powershell"},
		{args: nil, wantUsage: "missing argument: one of bash, zsh, fish, powershell"},
		{args: []string{"tcsh"}, wantUsage: `"tcsh" is not one of bash, zsh, fish, powershell`},
		{args: []string{"bash", "zsh"}, wantUsage: "too many arguments"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		root := &cobra.Command{Use: "artstore"}
		cmd := NewCmdCompletion(&cmdutil.Factory{IO: ios}, func(o *Options) error { got = o; return nil })
		root.AddCommand(cmd)
		root.SetArgs(append([]string{"completion"}, tt.args...))
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		err := root.Execute()
		if tt.wantUsage != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantUsage) {
				t.Errorf("%v: err = %v, want usage error containing %q", tt.args, err, tt.wantUsage)
			}
			continue
		}
		if err != nil || got.Shell != tt.wantShell || got.Root != root {
			t.Errorf("%v: err = %v, options = %+v", tt.args, err, got)
		}
		if !cmdutil.SkipsConfig(cmd) {
			t.Error("completion must not need the configuration")
		}
	}
}

func TestCompletionRun(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "__artstore_",
		"zsh":        "#compdef artstore",
		"fish":       "complete -c artstore",
		"powershell": "Register-ArgumentCompleter",
	} {
		ios, _, stdout, _ := iostreams.Test()
		root := &cobra.Command{Use: "artstore"}
		root.AddCommand(&cobra.Command{Use: "version", Run: func(*cobra.Command, []string) {}})
		if err := completionRun(&Options{IO: ios, Shell: shell, Root: root}); err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(stdout.String(), marker) {
			t.Errorf("%s script lacks %q", shell, marker)
		}
	}
	if err := Generate(&cobra.Command{Use: "artstore"}, "tcsh", &bytes.Buffer{}); !cmdutil.IsUsage(err) {
		t.Errorf("Generate(tcsh) = %v, want usage error", err)
	}
}
