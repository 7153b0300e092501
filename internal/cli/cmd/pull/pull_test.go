package pull

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
)

func TestNewCmdPull(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: []string{"r/q:1"}, want: Options{Ref: "r/q:1"}},
		{args: []string{"r/q", "-o", "-", "--range", "0-9", "-f"}, want: Options{Ref: "r/q", Output: "-", Range: "0-9", Force: true}},
		{args: []string{"r/q", "--output", "x", "--force"}, want: Options{Ref: "r/q", Output: "x", Force: true}},
		{args: nil, wantUsage: true},
		{args: []string{"a", "b"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdPull(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		g := *got
		g.IO, g.Config, g.Client = nil, nil, nil
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%v: options = %+v, want %+v", tt.args, g, tt.want)
		}
	}
}

func TestPullRun(t *testing.T) {
	file := fakestore.Artifact("reports/quarterly", "7")
	tree := fakestore.Artifact("sites/docs", "1")
	tree.Kind = "tree"
	removed := fakestore.Artifact("old/thing", "1")
	removed.Deleted = true
	arts := map[string]*client.Artifact{"reports/quarterly": &file, "sites/docs": &tree, "old/thing": &removed}

	tests := []struct {
		name      string
		opts      Options
		json      bool
		existing  string // a file to create first
		setup     func(t *testing.T)
		wantPath  string // PullToPath's path; "" when Pull (stdout) is expected
		wantOut   string
		wantErr   string
		wantCode  int
		wantCalls int // pull calls expected
	}{
		{name: "default path is the base name", opts: Options{Ref: "reports/quarterly"}, wantPath: "quarterly", wantCalls: 1},
		{name: "explicit path and range", opts: Options{Ref: "reports/quarterly", Output: "out.pdf", Range: "0-9"}, wantPath: "out.pdf", wantCalls: 1},
		{name: "stdout", opts: Options{Ref: "reports/quarterly", Output: "-"}, wantOut: "BYTES", wantCalls: 1},
		{name: "json", opts: Options{Ref: "reports/quarterly", Output: "j.pdf"}, json: true, wantPath: "j.pdf",
			wantOut: "{\n  \"ref\": \"reports/quarterly:7\",\n  \"id\": \"" + file.ID + "\",\n  \"content_digest\": \"" + file.ContentDigest + "\",\n  \"bytes\": 1536,\n  \"path\": \"j.pdf\",\n  \"kind\": \"file\"\n}\n", wantCalls: 1},
		{name: "existing file refused", opts: Options{Ref: "reports/quarterly"}, existing: "quarterly", wantErr: "quarterly already exists; use --force", wantCode: cmdutil.ExitConflict},
		{name: "existing file forced", opts: Options{Ref: "reports/quarterly", Force: true}, existing: "quarterly", wantPath: "quarterly", wantCalls: 1},
		{name: "json and stdout", opts: Options{Ref: "reports/quarterly", Output: "-"}, json: true, wantErr: "both want standard output", wantCode: cmdutil.ExitUsage},
		{name: "tree to stdout", opts: Options{Ref: "sites/docs", Output: "-"}, wantErr: "is a tree", wantCode: cmdutil.ExitUsage},
		{name: "tree range", opts: Options{Ref: "sites/docs", Range: "0-1"}, wantErr: "--range applies to files", wantCode: cmdutil.ExitUsage},
		{name: "tree to a directory", opts: Options{Ref: "sites/docs"}, wantPath: "docs", wantCalls: 1},
		{name: "file into an existing directory", opts: Options{Ref: "reports/quarterly", Output: "dir"}, existing: "dir/", wantPath: filepath.Join("dir", "quarterly"), wantCalls: 1},
		{name: "tree over an existing directory", opts: Options{Ref: "sites/docs", Output: "dir"}, existing: "dir/", wantErr: "dir already exists; use --force", wantCode: cmdutil.ExitConflict},
		{name: "named pipe: written in place without --force", opts: Options{Ref: "reports/quarterly", Output: "fifo"}, setup: mkfifo("fifo"), wantPath: "fifo", wantCalls: 1},
		{name: "link to a file refused", opts: Options{Ref: "reports/quarterly", Output: "link"}, existing: "real", setup: symlink("real", "link"),
			wantErr: "link (a link to ", wantCode: cmdutil.ExitConflict},
		{name: "link to a file forced", opts: Options{Ref: "reports/quarterly", Output: "link", Force: true}, existing: "real", setup: symlink("real", "link"), wantPath: "link", wantCalls: 1},
		{name: "dangling link: its target is created", opts: Options{Ref: "reports/quarterly", Output: "link"}, setup: symlink("new", "link"), wantPath: "link", wantCalls: 1},
		{name: "link to a directory: into it", opts: Options{Ref: "reports/quarterly", Output: "link"}, existing: "dir/", setup: symlink("dir", "link"), wantPath: filepath.Join("link", "quarterly"), wantCalls: 1},
		{name: "tree over a link to a directory", opts: Options{Ref: "sites/docs", Output: "link"}, existing: "dir/", setup: symlink("dir", "link"), wantErr: "link (a link to ", wantCode: cmdutil.ExitConflict},
		{name: "damaged bytes into a pipe", opts: Options{Ref: "reports/quarterly", Output: "bad.pdf"}, setup: mkfifo("bad.pdf"),
			wantErr: "do not match their digest, so the output written so far is incomplete", wantCode: cmdutil.ExitIntegrity, wantCalls: 1},
		{name: "removed", opts: Options{Ref: "old/thing"}, wantErr: "old/thing:1 was removed", wantCode: cmdutil.ExitNotFound},
		{name: "unknown", opts: Options{Ref: "nope"}, wantErr: "nope: not found", wantCode: cmdutil.ExitNotFound},
		{name: "damaged bytes", opts: Options{Ref: "reports/quarterly", Output: "bad.pdf"}, wantErr: "do not match their digest, so no file was written; run `artstore verify --deep`", wantCode: cmdutil.ExitIntegrity, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if strings.HasSuffix(tt.existing, "/") {
				if err := os.Mkdir(tt.existing, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if tt.existing != "" {
				if err := os.WriteFile(tt.existing, []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			ios, _, stdout, stderr := iostreams.Test()
			calls := 0
			var gotPath string
			res := func(ref string, opts client.PullOptions) *client.PullResult {
				a := arts["reports/quarterly"]
				if ref != a.ID && ref != arts["sites/docs"].ID {
					t.Errorf("pulled %q, want the resolved ID", ref)
				}
				return &client.PullResult{Ref: a.Ref, ID: a.ID, ContentDigest: a.ContentDigest, Bytes: a.Size, Range: opts.Range, Kind: "file"}
			}
			fake := &fakestore.Store{
				GetFunc: func(_ context.Context, ref string) (*client.Artifact, error) {
					if a, ok := arts[ref]; ok {
						return a, nil
					}
					return nil, fmt.Errorf("%s: %w", ref, client.ErrNotFound)
				},
				PullFunc: func(_ context.Context, ref string, w io.Writer, opts client.PullOptions) (*client.PullResult, error) {
					calls++
					_, _ = io.WriteString(w, "BYTES")
					return res(ref, opts), nil
				},
				PullToPathFunc: func(_ context.Context, ref, path string, opts client.PullOptions) (*client.PullResult, error) {
					calls++
					gotPath = path
					if path == "bad.pdf" {
						return nil, fmt.Errorf("pull: chunk 0: %w", client.ErrIntegrity)
					}
					if opts.Range != tt.opts.Range {
						t.Errorf("range %q, want %q", opts.Range, tt.opts.Range)
					}
					return res(ref, opts), nil
				},
			}
			opts := tt.opts
			opts.IO = ios
			opts.Client = fake.Opener()
			opts.Config = func() (*config.Config, error) { return &config.Config{Output: config.Output{JSON: tt.json}}, nil }
			err := pullRun(context.Background(), &opts)
			if calls != tt.wantCalls {
				t.Errorf("%d pull calls, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdutil.ExitCodeOf(err) != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want %q (exit %d)", err, cmdutil.ExitCodeOf(err), tt.wantErr, tt.wantCode)
				}
				if tt.existing != "" && !strings.HasSuffix(tt.existing, "/") {
					if b, _ := os.ReadFile(tt.existing); string(b) != "keep" {
						t.Error("existing file changed")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gotPath != tt.wantPath {
				t.Errorf("path %q, want %q", gotPath, tt.wantPath)
			}
			if tt.wantOut != "" && stdout.String() != tt.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantOut)
			}
			if !tt.json && tt.opts.Output != "-" {
				want := "pulled reports/quarterly:7 to " + filepath.Clean(tt.wantPath) + " (1.5 KiB, " + file.ContentDigest + ")\n"
				if stderr.String() != want || stdout.Len() != 0 {
					t.Errorf("stderr = %q, stdout = %q; want stderr %q", stderr, stdout, want)
				}
			}
			if !fake.Closed {
				t.Error("store not closed")
			}
		})
	}
}

func symlink(to, at string) func(*testing.T) {
	return func(t *testing.T) {
		if err := os.Symlink(to, at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPullProgress(t *testing.T) {
	tests := []struct {
		name      string
		size      int64
		tty, json bool
		wantBar   bool
	}{
		{name: "big on a terminal", size: 5 << 20, tty: true, wantBar: true},
		{name: "pipe", size: 5 << 20},
		{name: "json", size: 5 << 20, tty: true, json: true},
		{name: "small", size: 1 << 20, tty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			ios, _, _, stderr := iostreams.Test()
			ios.SetStderrTTY(tt.tty)
			a := fakestore.Artifact("big", "1")
			a.Size = tt.size
			hadProgress := false
			fake := &fakestore.Store{
				GetFunc: func(context.Context, string) (*client.Artifact, error) { return &a, nil },
				PullToPathFunc: func(_ context.Context, _, path string, o client.PullOptions) (*client.PullResult, error) {
					if o.Progress != nil {
						hadProgress = true
						o.Progress(tt.size)
					}
					return &client.PullResult{Ref: a.Ref, Bytes: tt.size, Path: path}, nil
				},
			}
			opts := &Options{IO: ios, Ref: "big", Client: fake.Opener(), Config: fakestore.Config(tt.json)}
			if err := pullRun(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			gotBar := strings.Contains(stderr.String(), "pull big:1")
			if hadProgress != tt.wantBar || gotBar != tt.wantBar {
				t.Errorf("progress callback %v, bar %v (stderr %q); want %v", hadProgress, gotBar, stderr, tt.wantBar)
			}
		})
	}
}
