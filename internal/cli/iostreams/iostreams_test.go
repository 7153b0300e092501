package iostreams

import (
	"bytes"
	"os"
	"testing"
)

func TestNewDetection(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name      string
		env       map[string]string
		stdoutTTY bool
		wantColor bool
	}{
		{name: "plain file is not a terminal", wantColor: false},
		{name: "terminal allows colour", stdoutTTY: true, wantColor: true},
		{name: "NO_COLOR", env: map[string]string{"NO_COLOR": "1"}, stdoutTTY: true, wantColor: false},
		{name: "empty NO_COLOR is ignored", env: map[string]string{"NO_COLOR": ""}, stdoutTTY: true, wantColor: true},
		{name: "TERM=dumb", env: map[string]string{"TERM": "dumb"}, stdoutTTY: true, wantColor: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(&bytes.Buffer{}, f, f, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if s.IsStdoutTTY() || s.IsStderrTTY() || s.IsStdinTTY() {
				t.Fatal("a regular file or buffer was detected as a terminal")
			}
			s.SetStdoutTTY(tt.stdoutTTY)
			if got := s.ColorEnabled(); got != tt.wantColor {
				t.Errorf("ColorEnabled() = %v, want %v", got, tt.wantColor)
			}
		})
	}
}

func TestQuietVerboseProgress(t *testing.T) {
	tests := []struct {
		quiet, verbose, stderrTTY bool
		wantErr                   string
		wantProgress              bool
	}{
		{wantErr: "info 1\n"},
		{quiet: true, wantErr: ""},
		{verbose: true, wantErr: "info 1\ndebug: detail 2\n"},
		{stderrTTY: true, wantErr: "info 1\n", wantProgress: true},
		{stderrTTY: true, quiet: true, wantErr: "", wantProgress: false},
	}
	for _, tt := range tests {
		s, _, _, stderr := Test()
		s.SetQuiet(tt.quiet)
		s.SetVerbose(tt.verbose)
		s.SetStderrTTY(tt.stderrTTY)
		s.Infof("info %d", 1)
		s.Debugf("detail %d\n", 2)
		if got := stderr.String(); got != tt.wantErr {
			t.Errorf("%+v: stderr = %q, want %q", tt, got, tt.wantErr)
		}
		if got := s.ProgressEnabled(); got != tt.wantProgress {
			t.Errorf("%+v: ProgressEnabled() = %v", tt, got)
		}
		if s.Quiet() != tt.quiet || s.Verbose() != tt.verbose {
			t.Errorf("Quiet/Verbose not recorded")
		}
	}
}

func TestCanPrompt(t *testing.T) {
	s, _, _, _ := Test()
	if s.CanPrompt() {
		t.Fatal("buffers can prompt")
	}
	s.SetStdinTTY(true)
	s.SetStderrTTY(true)
	if !s.CanPrompt() {
		t.Fatal("terminals cannot prompt")
	}
}
