package show

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdShowFiles(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *Options
	err := fakestore.Execute(NewCmdShow(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), "site:1", "--files")
	if err != nil || !got.Files || got.Ref != "site:1" {
		t.Fatalf("err = %v, options %+v", err, got)
	}
}

func TestShowFiles(t *testing.T) {
	entries := []client.TreeEntry{
		{Path: "bin", Type: client.EntryDir, Mode: "0750"},
		{Path: "bin/run", Type: client.EntryFile, Mode: "0755", Size: 2048, Digest: "sha256:" + strings.Repeat("ab", 32)},
		{Path: "link", Type: client.EntrySymlink, Mode: "0000", Target: "bin/run"},
		{Path: "odd\x1bname", Type: client.EntryFile, Mode: "0644"},
	}
	broken := errors.New("listing broke off")
	for _, tt := range []struct {
		name     string
		json     bool
		failAt   int // 0: never
		want     string
		wantCode int
	}{
		{name: "text", want: "drwxr-x---                                   bin/\n" +
			"-rwxr-xr-x     2.0 KiB  sha256:abababababab  bin/run\n" +
			"lrwxrwxrwx                                   link -> bin/run\n" +
			"-rw-r--r--         0 B                       odd\uFFFDname\n"},
		{name: "json", json: true, want: "[\n  {\n    \"path\": \"bin\",\n    \"type\": \"dir\",\n    \"mode\": \"0750\",\n    \"size\": 0\n  },\n" +
			"  {\n    \"path\": \"bin/run\",\n    \"type\": \"file\",\n    \"mode\": \"0755\",\n    \"size\": 2048,\n    \"digest\": \"sha256:" + strings.Repeat("ab", 32) + "\"\n  },\n" +
			"  {\n    \"path\": \"link\",\n    \"type\": \"symlink\",\n    \"mode\": \"0000\",\n    \"size\": 0,\n    \"target\": \"bin/run\"\n  },\n" +
			"  {\n    \"path\": \"odd\\u001bname\",\n    \"type\": \"file\",\n    \"mode\": \"0644\",\n    \"size\": 0\n  }\n]\n"},
		{name: "json broken", json: true, failAt: 2, want: "[\n  {\n    \"path\": \"bin\",", wantCode: cmdutil.ExitError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, _ := iostreams.Test()
			fake := &fakestore.Store{FilesFunc: func(_ context.Context, ref string, fn func(client.TreeEntry) error) error {
				for i, e := range entries {
					if i+1 == tt.failAt {
						return broken
					}
					if err := fn(e); err != nil {
						return err
					}
				}
				return nil
			}}
			err := showRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener(), Ref: "site", Files: true})
			if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				if !strings.HasPrefix(stdout.String(), tt.want) || strings.HasSuffix(stdout.String(), "]\n") {
					t.Fatalf("a listing that broke off printed\n%s\nwant an unterminated array starting\n%s", stdout, tt.want)
				}
				return
			}
			if stdout.String() != tt.want {
				t.Fatalf("stdout =\n%q\nwant\n%q", stdout, tt.want)
			}
		})
	}
}
