package importcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdImport(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantUsage bool
	}{
		{args: []string{"b.tar"}},
		{args: []string{"b.tar", "--key", "k"}},
		{args: nil, wantUsage: true},
		{args: []string{"a.tar", "b.tar"}, wantUsage: true},
		{args: []string{"b.tar", "--key", "k", "--key-file", "f"}, wantUsage: true},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdImport(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got.File != "b.tar" {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func TestImportRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "b.tar")
	os.WriteFile(file, []byte("BUNDLE"), 0o644)
	keyFile := filepath.Join(dir, "other.pub")
	os.WriteFile(keyFile, []byte("artstore/x+01234567+KEY\n"), 0o644)
	res := &client.ImportResult{Origin: "artstore/x", Key: "artstore/x+01234567+KEY", KeyGiven: true, Events: 9, Bytes: 2048, Artifacts: []client.ImportedArtifact{
		{Ref: "team/release:1", ID: "L1", ForeignID: "F1", Status: "imported"},
		{Ref: "team/src:1", ID: "L2", ForeignID: "F2", Status: "present"},
		{Ref: "team/old:1", ForeignID: "F3", Status: "deleted"},
	}}
	for _, tt := range []struct {
		name     string
		opts     Options
		json     bool
		want     []string
		wantCode int
	}{
		{name: "text", opts: Options{File: file, KeyFile: keyFile}, want: []string{
			"imported team/release:1 (L1), from artstore/x where it is F1\n",
			"already here: team/src:1 (L2), same content\n",
			"not imported: team/old:1 was deleted in artstore/x",
			"1 artifact imported, 1 already here; 2.0 KiB, 9 events verified\n"}},
		{name: "json", opts: Options{File: file, Key: "artstore/x+01234567+KEY"}, json: true, want: []string{`"status": "present"`}},
		{name: "missing file", opts: Options{File: filepath.Join(dir, "none.tar")}, wantCode: cmdutil.ExitNotFound},
		{name: "damaged", opts: Options{File: file, Key: "bad"}, wantCode: cmdutil.ExitIntegrity},
	} {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{ImportFunc: func(_ context.Context, r io.Reader, key string) (*client.ImportResult, error) {
			b, _ := io.ReadAll(r)
			if string(b) != "BUNDLE" {
				return nil, fmt.Errorf("read %q", b)
			}
			if key != "artstore/x+01234567+KEY" {
				return nil, fmt.Errorf("import: bundle does not verify: %w", client.ErrIntegrity)
			}
			return res, nil
		}}
		tt.opts.IO, tt.opts.Config, tt.opts.Client = ios, fakestore.Config(tt.json), fake.Opener()
		err := run(context.Background(), &tt.opts)
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%s: stdout lacks %q:\n%s", tt.name, w, stdout)
			}
		}
	}
}
