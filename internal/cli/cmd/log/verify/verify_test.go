package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdVerify(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	ran := false
	if err := fakestore.Execute(NewCmdVerify(&cmdutil.Factory{IO: ios}, func(context.Context, *Options) error { ran = true; return nil })); err != nil || !ran {
		t.Errorf("err = %v, ran = %v", err, ran)
	}
	if err := fakestore.Execute(NewCmdVerify(&cmdutil.Factory{IO: ios}, nil), "x"); !cmdutil.IsUsage(err) {
		t.Errorf("extra argument: err = %v, want usage", err)
	}
}

func TestVerifyRun(t *testing.T) {
	tests := []struct {
		name     string
		rep      client.LogReport
		json     bool
		want     string
		wantCode int
	}{
		{name: "ok", rep: client.LogReport{OK: true, Events: 12, Head: "abc"}, want: "ok: 12 events, head abc\n"},
		{name: "empty", rep: client.LogReport{OK: true}, want: "ok: 0 events, head (empty log)\n"},
		{name: "broken", rep: client.LogReport{Events: 12, FirstBad: 7, Problem: "hash mismatch"}, want: "BROKEN at event 7: hash mismatch\n", wantCode: cmdutil.ExitIntegrity},
		{name: "json", rep: client.LogReport{OK: true, Events: 1, Head: "abc"}, json: true, want: "{\n  \"ok\": true,\n  \"events\": 1,\n  \"head\": \"abc\"\n}\n"},
		{name: "json broken", rep: client.LogReport{FirstBad: 2, Problem: "p"}, json: true, want: "{\n  \"ok\": false,\n  \"events\": 0,\n  \"head\": \"\",\n  \"first_bad\": 2,\n  \"problem\": \"p\"\n}\n", wantCode: cmdutil.ExitIntegrity},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{VerifyLogFunc: func(context.Context) (*client.LogReport, error) { r := tt.rep; return &r, nil }}
		err := verifyRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener()})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		if err != nil && !strings.Contains(err.Error(), "restore it from a backup") {
			t.Errorf("%s: error %q does not say what to do", tt.name, err)
		}
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.name, stdout, tt.want)
		}
	}
}
