package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
	"github.com/spf13/cobra"
)

func TestExitCodeOf(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("doing something: %w", err) }
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("boom"), ExitError},
		{"flag error", FlagErrorf("bad %s", "flag"), ExitUsage},
		{"wrapped flag error", wrap(FlagErrorWrap(errors.New("x"))), ExitUsage},
		{"config", wrap(config.ErrInvalid), ExitUsage},
		{"config error type", &config.Error{}, ExitUsage},
		{"client invalid", wrap(client.ErrInvalid), ExitUsage},
		{"invalid range", wrap(content.ErrInvalidRange), ExitUsage},
		{"unknown backend", wrap(storage.ErrUnknownBackend), ExitUsage},
		{"client not found", wrap(client.ErrNotFound), ExitNotFound},
		// A missing blob is an integrity failure (app.Classify): the CLI only
		// meets one through a reference that resolved.
		{"blob not found", wrap(storage.ErrNotFound), ExitIntegrity},
		{"client integrity", wrap(client.ErrIntegrity), ExitIntegrity},
		// the store marks a blob missing under an existing artifact as
		// integrity while keeping storage.ErrNotFound in the chain
		{"missing blob of an artifact", fmt.Errorf("%w: %w", client.ErrIntegrity, wrap(storage.ErrNotFound)), ExitIntegrity},
		{"digest mismatch", wrap(storage.ErrDigestMismatch), ExitIntegrity},
		{"conflict", wrap(client.ErrConflict), ExitConflict},
		{"client unavailable", wrap(client.ErrUnavailable), ExitUnavailable},
		{"backend unavailable", wrap(storage.ErrUnavailable), ExitUnavailable},
		{"marked", Mark(errors.New("disk gone"), storage.ErrUnavailable), ExitUnavailable},
		{"cancelled", wrap(context.Canceled), ExitInterrupted},
		{"silent", &SilentError{Code: ExitIntegrity}, ExitIntegrity},
		{"ErrSilent", ErrSilent, ExitError},
		{"forbidden", wrap(client.ErrForbidden), ExitForbidden},
		{"unauthorized", wrap(client.ErrUnauthorized), ExitForbidden},
	}
	for _, tt := range tests {
		if got := ExitCodeOf(tt.err); got != tt.want {
			t.Errorf("%s: ExitCodeOf(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestExitCodesDocumented(t *testing.T) {
	seen := map[int]bool{}
	for _, s := range ExitCodes() {
		if s.Meaning == "" || seen[s.Code] {
			t.Errorf("exit status %d: empty or duplicate", s.Code)
		}
		seen[s.Code] = true
	}
	for _, c := range []int{ExitOK, ExitError, ExitUsage, ExitNotFound, ExitIntegrity, ExitConflict, ExitUnavailable, ExitForbidden, ExitInterrupted} {
		if !seen[c] {
			t.Errorf("exit status %d is not documented", c)
		}
	}
}

func TestMarkKeepsMessage(t *testing.T) {
	base := errors.New("disk gone")
	err := Mark(base, storage.ErrUnavailable)
	if err.Error() != "disk gone" || !errors.Is(err, base) || !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Mark = %q", err)
	}
	if Mark(nil, storage.ErrUnavailable) != nil {
		t.Fatal("Mark(nil) != nil")
	}
}

func TestArgs(t *testing.T) {
	cmd := &cobra.Command{Use: "x", ValidArgs: []string{"bash", "zsh"}}
	tests := []struct {
		name string
		fn   cobra.PositionalArgs
		args []string
		want string // "" = ok
	}{
		{"NoArgs ok", NoArgs, nil, ""},
		{"NoArgs extra", NoArgs, []string{"a"}, `x takes no arguments, got "a"`},
		{"ExactArgs ok", ExactArgs(1, "a reference"), []string{"a"}, ""},
		{"ExactArgs missing", ExactArgs(1, "a reference"), nil, "x: missing argument: a reference"},
		{"ExactArgs extra", ExactArgs(1, "a reference"), []string{"a", "b"}, "x: too many arguments (takes 1, got 2: a b)"},
		{"MinimumNArgs ok", MinimumNArgs(1, "refs"), []string{"a", "b"}, ""},
		{"MinimumNArgs missing", MinimumNArgs(1, "refs"), nil, "x: missing argument: refs"},
		{"MaximumNArgs ok", MaximumNArgs(1), []string{"a"}, ""},
		{"MaximumNArgs extra", MaximumNArgs(1), []string{"a", "b"}, "takes at most 1"},
		{"OneOf ok", OneOf, []string{"zsh"}, ""},
		{"OneOf bad", OneOf, []string{"tcsh"}, `"tcsh" is not one of bash, zsh`},
	}
	for _, tt := range tests {
		err := tt.fn(cmd, tt.args)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want usage error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestMakeParent(t *testing.T) {
	root := &cobra.Command{Use: "artstore"}
	parent := &cobra.Command{Use: "backend"}
	MakeParent(parent)
	parent.AddCommand(&cobra.Command{Use: "health", Run: func(*cobra.Command, []string) {}})
	root.AddCommand(parent)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)

	root.SetArgs([]string{"backend", "helth"})
	err := root.Execute()
	if !IsUsage(err) || !strings.Contains(err.Error(), "unknown command \"helth\" for \"artstore backend\"\n\nDid you mean this?\n\thealth") {
		t.Fatalf("err = %v", err)
	}
	root.SetArgs([]string{"backend"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "Available Commands") {
		t.Fatalf("backend alone: err = %v, output %q", err, out.String())
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, "id", "detail")
	tb.Row("default", "multi\nline\tcell")
	tb.Row("s3", "ok")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "ID       DETAIL\ndefault  multi line cell\ns3       ok\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestLazy(t *testing.T) {
	var calls atomic.Int32
	f := Lazy(func() (int, error) { calls.Add(1); return 7, nil })
	g := LazyCtx(func(context.Context) (int, error) { calls.Add(1); return 8, nil })
	for range 3 {
		if v, _ := f(); v != 7 {
			t.Fatal(v)
		}
		if v, _ := g(context.Background()); v != 8 {
			t.Fatal(v)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("builders called %d times, want 2", calls.Load())
	}
}

func TestOpenBackends(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present")
	if err := os.Mkdir(present, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	cfg := &config.Config{Backends: map[string]config.Backend{
		"default": {Spec: backends.Spec{ID: "default", Type: "local", Root: present}},
		"gone":    {Spec: backends.Spec{ID: "gone", Type: "local", Root: missing}},
		"broken":  {Spec: backends.Spec{ID: "broken", Type: "ftp"}},
	}}
	reg := OpenBackends(context.Background(), cfg)
	if got := strings.Join(reg.IDs(), ","); got != "broken,default,gone" {
		t.Fatalf("IDs = %s", got)
	}
	ctx := context.Background()
	ok, _ := reg.Get("default")
	if h := ok.Health(ctx); !h.Healthy {
		t.Errorf("present root unhealthy: %+v", h)
	}
	gone, _ := reg.Get("gone")
	if h := gone.Health(ctx); h.Healthy || !strings.Contains(h.Detail, "root directory "+missing+" does not exist") {
		t.Errorf("missing root: %+v", h)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("opening a backend recreated its missing root (stat: %v)", err)
	}
	if _, err := gone.Head(ctx, content.FromBytes(nil)); !errors.Is(err, storage.ErrUnavailable) || ExitCodeOf(err) != ExitUnavailable {
		t.Errorf("Head on missing root = %v, want ErrUnavailable", err)
	}
	broken, _ := reg.Get("broken")
	if h := broken.Health(ctx); h.Healthy || !strings.Contains(h.Detail, `unknown type "ftp"`) {
		t.Errorf("broken: %+v", h)
	}
	for _, call := range []func() error{
		func() error { _, err := broken.Put(ctx, content.FromBytes(nil), 0, strings.NewReader("")); return err },
		func() error { _, err := broken.Get(ctx, content.FromBytes(nil), nil); return err },
		func() error { _, err := broken.Delete(ctx, content.FromBytes(nil)); return err },
		func() error { return broken.Walk(ctx, func(storage.Info) error { return nil }) },
	} {
		if err := call(); !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "backend broken:") {
			t.Errorf("stand-in error = %v", err)
		}
	}
}

func TestFactoryBackendsUsesConfig(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := New(ios, func(string) (string, bool) { return "", false })
	if _, err := f.Backends(context.Background()); err == nil {
		t.Fatal("Backends without Config succeeded")
	}
	f = New(ios, nil)
	want := errors.New("bad config")
	f.Config = func() (*config.Config, error) { return nil, want }
	if _, err := f.Backends(context.Background()); !errors.Is(err, want) {
		t.Fatalf("Backends = %v, want the config error", err)
	}
}
