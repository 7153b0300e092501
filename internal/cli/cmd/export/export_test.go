package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdExport(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage string
	}{
		{args: []string{"r/q:1", "-o", "b.tar"}, want: Options{Refs: []string{"r/q:1"}, Output: "b.tar"}},
		{args: []string{"a:1", "b:2", "-o", "-", "--closure"}, want: Options{Refs: []string{"a:1", "b:2"}, Output: "-", Closure: client.ClosureAll}},
		{args: []string{"a:1", "-o", "x", "--depth", "2", "--closure", "--at", "40", "-f"}, want: Options{Refs: []string{"a:1"}, Output: "x", Closure: 2, At: 40, Force: true}},
		{args: []string{"a:1", "-o", "x", "--depth", "0"}, want: Options{Refs: []string{"a:1"}, Output: "x"}},
		{args: []string{"-o", "x"}, wantUsage: "missing argument"},
		{args: []string{"a:1"}, wantUsage: "-o FILE is required"},
		{args: []string{"a:1", "-o", "x", "--depth", "-1"}, wantUsage: "--depth -1"},
		{args: []string{"a:1", "-o", "x", "--at", "-3"}, wantUsage: "--at -3"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdExport(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.wantUsage != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantUsage) {
				t.Errorf("%v: err = %v, want usage error containing %q", tt.args, err, tt.wantUsage)
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

func TestExportRun(t *testing.T) {
	sum := &client.ExportSummary{Origin: "artstore/x", Size: 42, Events: 7, Bytes: 2048,
		Artifacts: []client.ExportedArtifact{{ID: "01A", Ref: "r/q:1", Digest: "sha256:ab", Size: 2048, Bytes: true},
			{ID: "01B", Ref: "r/in:1", Digest: "sha256:cd", Depth: 1}}}
	tests := []struct {
		name     string
		opts     Options
		json     bool
		existing bool
		fail     bool // the export fails after writing part of the bundle
		wantFile string
		wantOut  string
		wantErr  string
		wantCode int
		wantInfo string
	}{
		{name: "file", opts: Options{Refs: []string{"r/q:1"}, Output: "b.tar"}, wantFile: "TAR",
			wantInfo: "wrote b.tar: 2 artifacts, 7 events, 2.0 KiB of content, proved against the checkpoint of 42 events"},
		{name: "stdout", opts: Options{Refs: []string{"r/q:1"}, Output: "-"}, wantOut: "TAR", wantInfo: "r/in:1  sha256:cd  (input, depth 1, removed: events only)"},
		{name: "json", opts: Options{Refs: []string{"r/q:1"}, Output: "b.tar"}, json: true, wantFile: "TAR", wantOut: `"file": "b.tar"`},
		{name: "json and stdout", opts: Options{Refs: []string{"r/q:1"}, Output: "-"}, json: true, wantErr: "both want standard output", wantCode: cmdutil.ExitUsage},
		{name: "existing refused", opts: Options{Refs: []string{"r/q:1"}, Output: "b.tar"}, existing: true, wantFile: "keep",
			wantErr: "b.tar already exists; use --force", wantCode: cmdutil.ExitConflict},
		{name: "existing forced", opts: Options{Refs: []string{"r/q:1"}, Output: "b.tar", Force: true}, existing: true, wantFile: "TAR"},
		{name: "failed export leaves nothing", opts: Options{Refs: []string{"r/q:1"}, Output: "b.tar"}, fail: true,
			wantErr: "export: the bundle broke off", wantCode: cmdutil.ExitUnavailable},
		{name: "failed export keeps the old file", opts: Options{Refs: []string{"r/q:1"}, Output: "b.tar", Force: true}, existing: true, fail: true, wantFile: "keep",
			wantErr: "broke off", wantCode: cmdutil.ExitUnavailable},
		{name: "unknown ref", opts: Options{Refs: []string{"nope:1"}, Output: "b.tar"}, wantErr: "nope:1: not found", wantCode: cmdutil.ExitNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tt.existing {
				if err := os.WriteFile("b.tar", []byte("keep"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ios, _, stdout, stderr := iostreams.Test()
			fake := &fakestore.Store{ExportFunc: func(_ context.Context, req client.ExportRequest, w io.Writer) (*client.ExportSummary, error) {
				if req.Refs[0] == "nope:1" {
					return nil, fmt.Errorf("export: %s: %w", req.Refs[0], client.ErrNotFound)
				}
				_, _ = io.WriteString(w, "TAR")
				if tt.fail {
					return nil, fmt.Errorf("the bundle broke off: %w", client.ErrUnavailable)
				}
				s := *sum
				return &s, nil
			}}
			opts := tt.opts
			opts.IO = ios
			opts.Config = func() (*config.Config, error) { return &config.Config{Output: config.Output{JSON: tt.json}}, nil }
			opts.Client = func(context.Context) (client.Store, error) { return fake, nil }
			err := exportRun(context.Background(), &opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdutil.ExitCodeOf(err) != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want %q (exit %d)", err, cmdutil.ExitCodeOf(err), tt.wantErr, tt.wantCode)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			b, ferr := os.ReadFile("b.tar")
			switch {
			case tt.wantFile == "" && !errors.Is(ferr, os.ErrNotExist):
				t.Errorf("b.tar = %q, %v; want no file", b, ferr)
			case tt.wantFile != "" && string(b) != tt.wantFile:
				t.Errorf("b.tar = %q, %v; want %q", b, ferr, tt.wantFile)
			}
			if entries, _ := os.ReadDir("."); len(entries) > 1 {
				t.Errorf("files left behind: %v", entries)
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantInfo) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantInfo)
			}
		})
	}
}
