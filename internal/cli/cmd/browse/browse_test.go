package browse

import (
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/tui"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdBrowse(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want      string
		wantUsage bool
	}{{args: nil}, {args: []string{"a:1"}, want: "a:1"}, {args: []string{"a", "b"}, wantUsage: true}} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdBrowse(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got.Ref != tt.want {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func TestBrowseRun(t *testing.T) {
	tests := []struct {
		name        string
		tty         bool
		runErr      error
		wantCode    int
		wantRun     bool
		wantNoColor bool
	}{
		{name: "not a terminal: usage error before opening the store", tty: false, wantCode: cmdutil.ExitUsage},
		{name: "terminal", tty: true, wantRun: true, wantNoColor: true},
		{name: "tui says not a terminal", tty: true, runErr: tui.ErrNotTerminal, wantRun: true, wantCode: cmdutil.ExitUsage, wantNoColor: true},
		{name: "interrupted", tty: true, runErr: context.Canceled, wantRun: true, wantCode: cmdutil.ExitInterrupted, wantNoColor: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		ios.SetStdoutTTY(tt.tty)
		ios.SetNoColor(true)
		opened, ran := false, false
		var got tui.Options
		fake := &fakestore.Store{}
		opts := &Options{IO: ios, Ref: "a:1",
			Client: func(context.Context) (client.Store, error) { opened = true; return fake, nil },
			Run: func(_ context.Context, s client.Store, o tui.Options) error {
				ran, got = true, o
				return tt.runErr
			}}
		err := browseRun(context.Background(), opts)
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		if tt.wantCode == cmdutil.ExitUsage && !errors.Is(err, tui.ErrNotTerminal) {
			t.Errorf("%s: err = %v, want the TUI's explanation", tt.name, err)
		}
		if ran != tt.wantRun || opened != tt.wantRun {
			t.Errorf("%s: ran %v, opened %v; want %v", tt.name, ran, opened, tt.wantRun)
		}
		if ran && (got.InitialRef != "a:1" || got.In != ios.In || got.Out != ios.Out || got.NoColor != tt.wantNoColor || !fake.Closed) {
			t.Errorf("%s: tui options %+v, closed %v", tt.name, got, fake.Closed)
		}
	}
}
