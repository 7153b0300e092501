package rebuild

import (
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdRebuild(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	if err := fakestore.Execute(NewCmdRebuild(&cmdutil.Factory{IO: ios}, func(context.Context, *Options) error { return nil }), "x"); !cmdutil.IsUsage(err) {
		t.Errorf("extra argument: err = %v, want usage", err)
	}
}

func TestRebuildRun(t *testing.T) {
	tests := []struct {
		name       string
		rebuildErr error
		rep        client.LogReport
		json       bool
		want       string
		wantCode   int
	}{
		{name: "text", rep: client.LogReport{OK: true, Events: 42, Head: "abc"}, want: "rebuilt the views from 42 events (head abc)\n"},
		{name: "empty", rep: client.LogReport{OK: true}, want: "rebuilt the views from 0 events (head empty log)\n"},
		{name: "json", rep: client.LogReport{OK: true, Events: 4, Head: "abc"}, json: true, want: "{\n  \"events\": 4,\n  \"head\": \"abc\"\n}\n"},
		{name: "rebuild fails", rebuildErr: errors.Join(errors.New("rebuild: locked"), client.ErrUnavailable), wantCode: cmdutil.ExitUnavailable},
		{name: "broken chain", rep: client.LogReport{FirstBad: 3, Problem: "p"}, wantCode: cmdutil.ExitIntegrity},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		rebuilt := false
		fake := &fakestore.Store{
			RebuildFunc:   func(context.Context) error { rebuilt = true; return tt.rebuildErr },
			VerifyLogFunc: func(context.Context) (*client.LogReport, error) { r := tt.rep; return &r, nil },
		}
		err := rebuildRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener()})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode || !rebuilt {
			t.Errorf("%s: exit %d (%v), rebuilt %v; want %d", tt.name, code, err, rebuilt, tt.wantCode)
		}
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
	}
}
