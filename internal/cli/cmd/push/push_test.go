package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
	"github.com/spf13/cobra"
)

func TestNewCmdPush(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      Options
		wantUsage bool
	}{
		{name: "path only", args: []string{"a.pdf"}, want: Options{Path: "a.pdf"}},
		{name: "everything", args: []string{"-", "--name", "r/q", "--version", "3", "-t", "prod", "--tag", "x",
			"-l", "a=1", "--label", "b=2", "--input", "src:1=source", "--media-type", "text/plain", "--no-latest", "--producer", "make all"},
			want: Options{Path: "-", Name: "r/q", Version: "3", Tags: []string{"prod", "x"}, Labels: []string{"a=1", "b=2"},
				Inputs: []string{"src:1=source"}, MediaType: "text/plain", NoLatest: true, Producer: "make all"}},
		{name: "directory flags", args: []string{"site", "--follow-symlinks", "--strict", "--no-cache"},
			want: Options{Path: "site", FollowSymlinks: true, Strict: true, NoCache: true}},
		{name: "no path", args: nil, wantUsage: true},
		{name: "two paths", args: []string{"a", "b"}, wantUsage: true},
		{name: "unknown flag", args: []string{"a", "--nmae", "x"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IO: ios}
			var got *Options
			cmd := NewCmdPush(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.FlagErrorWrap(err) })
			err := cmd.Execute()
			if tt.wantUsage {
				if !cmdutil.IsUsage(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := *got
			g.IO, g.Config, g.Client, g.Detect, g.Host, g.User = nil, nil, nil, nil, "", ""
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("options = %+v, want %+v", g, tt.want)
			}
		})
	}
}

func result() *client.PushResult {
	return &client.PushResult{Artifact: fakestore.Artifact("reports/q3.pdf", "2"), UploadedBytes: 512, DeduplicatedBytes: 1024, Chunks: 2}
}

func TestPushRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Q3 Report.PDF")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		opts      Options
		json      bool
		cacheDir  string // config.Config.CacheDir
		quiet     bool
		stdin     string
		wantReq   client.PushRequest
		wantOut   string
		wantErr   string
		wantCode  int
		wantNoRun bool
	}{
		{name: "file with derived name, text",
			opts: Options{Path: file},
			wantReq: client.PushRequest{Path: file, Name: "q3-report.pdf", Labels: map[string]string{client.LabelFileName: "Q3 Report.PDF"},
				Producer: client.Producer{GitRepo: "repo", Host: "h", User: "u"}},
			wantOut: "pushed reports/q3.pdf:2\n  content digest  sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\n  size            1.5 KiB (1536 bytes)\n  uploaded        512 B, deduplicated 1.0 KiB\n"},
		{name: "everything, quiet",
			opts: Options{Path: file, Name: "r/q", Version: "3", Tags: []string{"prod"}, Labels: []string{"a=1", "b=x=y"},
				Inputs: []string{"src:1=source", "sha256:" + strings.Repeat("0", 64)}, MediaType: "text/plain", NoLatest: true, Producer: "make  all"},
			quiet: true,
			wantReq: client.PushRequest{Path: file, Name: "r/q", Version: "3", Tags: []string{"prod"}, NoLatest: true, MediaType: "text/plain",
				Labels:   map[string]string{"a": "1", "b": "x=y", client.LabelFileName: "Q3 Report.PDF"},
				Inputs:   []client.Input{{Ref: "src:1", Role: "source"}, {Digest: "sha256:" + strings.Repeat("0", 64)}},
				Producer: client.Producer{GitRepo: "repo", Host: "h", User: "u", Tool: "make", Command: "make  all"}},
			wantOut: "reports/q3.pdf:2\n"},
		{name: "stdin json",
			opts:    Options{Path: "-", Name: "piped"},
			json:    true,
			stdin:   "data",
			wantReq: client.PushRequest{Name: "piped", Producer: client.Producer{GitRepo: "repo", Host: "h", User: "u"}},
			wantOut: `"uploaded_bytes": 512,`},
		{name: "a --label of the file name wins",
			opts: Options{Path: file, Labels: []string{client.LabelFileName + "=q3.pdf"}},
			wantReq: client.PushRequest{Path: file, Name: "q3-report.pdf", Labels: map[string]string{client.LabelFileName: "q3.pdf"},
				Producer: client.Producer{GitRepo: "repo", Host: "h", User: "u"}},
			quiet:   true,
			wantOut: "reports/q3.pdf:2\n"},
		{name: "the tree cache under the cache directory",
			opts: Options{Path: file}, cacheDir: "/cache/artstore", quiet: true,
			wantReq: client.PushRequest{Path: file, Name: "q3-report.pdf", Labels: map[string]string{client.LabelFileName: "Q3 Report.PDF"},
				Producer: client.Producer{GitRepo: "repo", Host: "h", User: "u"}, TreeCacheDir: filepath.Join("/cache/artstore", "trees")},
			wantOut: "reports/q3.pdf:2\n"},
		{name: "--no-cache: no tree cache",
			opts: Options{Path: file, NoCache: true}, cacheDir: "/cache/artstore", quiet: true,
			wantReq: client.PushRequest{Path: file, Name: "q3-report.pdf", Labels: map[string]string{client.LabelFileName: "Q3 Report.PDF"},
				Producer: client.Producer{GitRepo: "repo", Host: "h", User: "u"}},
			wantOut: "reports/q3.pdf:2\n"},
		{name: "stdin without a name", opts: Options{Path: "-"}, wantErr: "pushing standard input needs --name", wantCode: cmdutil.ExitUsage, wantNoRun: true},
		{name: "bad label", opts: Options{Path: file, Labels: []string{"x"}}, wantErr: `label "x": want KEY=VALUE`, wantCode: cmdutil.ExitUsage, wantNoRun: true},
		{name: "bad input", opts: Options{Path: file, Inputs: []string{"=r"}}, wantErr: "want REF or REF=ROLE", wantCode: cmdutil.ExitUsage, wantNoRun: true},
		{name: "underivable name", opts: Options{Path: filepath.Join(dir, "(((")}, wantErr: "give a name explicitly (--name)", wantCode: cmdutil.ExitUsage, wantNoRun: true},
		{name: "missing file", opts: Options{Path: filepath.Join(dir, "nope.bin")}, wantErr: "nope.bin does not exist", wantCode: cmdutil.ExitNotFound, wantNoRun: true},
		{name: "store conflict passes through", opts: Options{Path: file, Version: "1"}, wantErr: "exists", wantCode: cmdutil.ExitConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, stdin, stdout, stderr := iostreams.Test()
			ios.SetQuiet(tt.quiet)
			stdin.WriteString(tt.stdin)
			var gotReq *client.PushRequest
			fake := &fakestore.Store{PushFunc: func(_ context.Context, req client.PushRequest) (*client.PushResult, error) {
				gotReq = &req
				if req.Version == "1" {
					return nil, errors.Join(errors.New("push r: reports/q3:1 exists"), client.ErrConflict)
				}
				return result(), nil
			}}
			opts := tt.opts
			opts.IO = ios
			opts.Config = func() (*config.Config, error) {
				return &config.Config{Output: config.Output{JSON: tt.json}, CacheDir: tt.cacheDir}, nil
			}
			opts.Client = fake.Opener()
			opts.Detect = func(context.Context) client.Producer { return client.Producer{GitRepo: "repo"} }
			opts.Host, opts.User = "h", "u"
			err := pushRun(context.Background(), &opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdutil.ExitCodeOf(err) != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want %q (exit %d)", err, cmdutil.ExitCodeOf(err), tt.wantErr, tt.wantCode)
				}
				if tt.wantNoRun && (gotReq != nil || fake.Closed) {
					t.Error("the store was used despite a usage error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !fake.Closed {
				t.Error("store not closed")
			}
			if gotReq.Reader != nil {
				if tt.opts.Path != "-" {
					t.Error("a reader for a file push")
				}
				gotReq.Reader = nil
			} else if tt.opts.Path == "-" {
				t.Error("no reader for a stdin push")
			}
			onSkip := gotReq.OnSkip
			if onSkip == nil {
				t.Fatal("no OnSkip: skipped special files would go unreported")
			}
			gotReq.OnSkip = nil
			if !reflect.DeepEqual(*gotReq, tt.wantReq) {
				t.Errorf("request =\n%+v\nwant\n%+v", *gotReq, tt.wantReq)
			}
			if tt.json {
				if !strings.Contains(stdout.String(), tt.wantOut) || !strings.HasPrefix(stdout.String(), "{\n") {
					t.Errorf("stdout = %s, want JSON with %q", stdout, tt.wantOut)
				}
			} else if stdout.String() != tt.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantOut)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q (no progress bar off a terminal)", stderr)
			}
			// A skipped special file is a warning, even with --quiet.
			onSkip("d/fifo", "named pipe")
			if want := "warning: skipped d/fifo: a named pipe"; !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("stderr = %q, want %q", stderr, want)
			}
		})
	}
}

func TestPushProgress(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, make([]byte, 5<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.bin", "sub/b.bin"} {
		if err := os.WriteFile(filepath.Join(tree, name), make([]byte, 3<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	small := filepath.Join(dir, "small.bin")
	if err := os.WriteFile(small, make([]byte, 10), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		path             string
		tty, json, quiet bool
		wantBar          bool
	}{
		{name: "big file on a terminal", path: big, tty: true, wantBar: true},
		{name: "not a terminal", path: big},
		{name: "json", path: big, tty: true, json: true},
		{name: "quiet", path: big, tty: true, quiet: true},
		{name: "small file", path: small, tty: true},
		{name: "directory over the threshold in total", path: tree, tty: true, wantBar: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, stderr := iostreams.Test()
			ios.SetStderrTTY(tt.tty)
			ios.SetQuiet(tt.quiet)
			hadProgress := false
			fake := &fakestore.Store{PushFunc: func(_ context.Context, req client.PushRequest) (*client.PushResult, error) {
				if req.Progress != nil {
					hadProgress = true
					req.Progress(5<<20, 5<<20)
				}
				return result(), nil
			}}
			opts := &Options{IO: ios, Path: tt.path, Client: fake.Opener(),
				Config: func() (*config.Config, error) { return &config.Config{Output: config.Output{JSON: tt.json}}, nil }}
			if err := pushRun(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if hadProgress != tt.wantBar || (stderr.Len() > 0) != tt.wantBar {
				t.Errorf("progress callback %v, stderr %q; want bar %v", hadProgress, stderr, tt.wantBar)
			}
		})
	}
}

// TestPushRunInterrupted: an interrupted push says that what was uploaded is
// kept and how to resume, and still returns the cancellation (exit 130).
func TestPushRunInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.bin")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	ios, _, _, stderr := iostreams.Test()
	fake := &fakestore.Store{PushFunc: func(context.Context, client.PushRequest) (*client.PushResult, error) {
		return nil, fmt.Errorf("push a.bin: %w", context.Canceled)
	}}
	opts := &Options{IO: ios, Path: path, Client: fake.Opener(),
		Config: func() (*config.Config, error) { return &config.Config{}, nil }}
	err := pushRun(context.Background(), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
	if !strings.Contains(stderr.String(), "run the same push again to resume") {
		t.Errorf("stderr = %q; want the resume hint", stderr)
	}
}

// TestDefaultNameIsTheAPIs checks that push without --name names the
// artifact exactly as the Go API does (client.DeriveName), including the
// cases where one rule once gave a name and the other refused, or gave
// another name.
func TestDefaultNameIsTheAPIs(t *testing.T) {
	for _, path := range []string{
		"Отчёт 2026.pdf", ".env", "x. y.tar.gz", "日本語.txt", "Q3 Report (final).PDF",
		"Résumé déjà vu.txt", "file. .txt", "--x--", "(((", "my_file-v2.tar.gz",
		strings.Repeat("a", 300) + ".bin",
	} {
		want, wantErr := client.DeriveName(path)
		req, _, err := buildRequest(context.Background(), &Options{Path: path})
		switch {
		case wantErr != nil:
			if !cmdutil.IsUsage(err) || !errors.Is(err, client.ErrInvalid) {
				t.Errorf("push %q: name %q, err %v; the API refuses it (%v)", path, req.Name, err, wantErr)
			}
		case err != nil || req.Name != want:
			t.Errorf("push %q: name %q, err %v; the API names it %q", path, req.Name, err, want)
		}
	}
}
