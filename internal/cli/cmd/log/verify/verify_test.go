package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/tlog"
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

// TestVerifyCheckpoint: --checkpoint checks the saved checkpoint against
// the store's current one, with the store's key or --key; a log shorter
// than the checkpoint, or a checkpoint another key signed, is exit 4.
func TestVerifyCheckpoint(t *testing.T) {
	dir := t.TempDir()
	key, err := tlog.GenerateKey(filepath.Join(dir, "k"), "artstore/test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlog.GenerateKey(filepath.Join(dir, "o"), "artstore/other")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *tlog.Key, size int64) []byte {
		b, err := k.Sign(tlog.Head{Size: size, Root: tlog.Hash{byte(size)}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	saved := filepath.Join(dir, "saved")
	if err := os.WriteFile(saved, sign(key, 5), 0o644); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "other.pub")
	if err := os.WriteFile(keyFile, []byte(other.VerifierKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		size     int64
		key      string
		want     string
		wantCode int
	}{
		{name: "same", size: 5, want: "ok: the log of 5 events extends the checkpoint of 5 events"},
		{name: "rolled back", size: 3, want: "NOT CONSISTENT with the checkpoint of 5 events", wantCode: cmdutil.ExitIntegrity},
		{name: "other key", size: 5, key: other.VerifierKey(), want: "not signed by this key", wantCode: cmdutil.ExitIntegrity},
		{name: "other key file", size: 5, key: keyFile, want: "not signed by this key", wantCode: cmdutil.ExitIntegrity},
	} {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{
			VerifyLogFunc: func(context.Context) (*client.LogReport, error) {
				return &client.LogReport{OK: true, Events: tt.size}, nil
			},
			LogKeyFunc: func(context.Context) (*client.LogKey, error) {
				return &client.LogKey{VerifierKey: key.VerifierKey()}, nil
			},
			CheckpointFunc: func(context.Context) (*client.Checkpoint, error) {
				return &client.Checkpoint{Size: tt.size, Signed: string(sign(key, tt.size))}, nil
			},
			ConsistencyFunc: func(_ context.Context, old, new int64) (*client.ConsistencyProof, error) {
				return &client.ConsistencyProof{Old: old, New: new, Proof: []string{}}, nil
			},
		}
		err := verifyRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(false), Client: fake.Opener(), Checkpoint: saved, Key: tt.key})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		if !strings.Contains(stdout.String(), tt.want) {
			t.Errorf("%s: stdout =\n%s\nwant it to say %q", tt.name, stdout, tt.want)
		}
	}
}
