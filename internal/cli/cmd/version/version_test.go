package version

import (
	"bytes"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/build"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
)

func TestNewCmdVersion(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{name: "no arguments"},
		{name: "an argument is a usage error", args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IO: ios, BuildInfo: build.Read,
				Output: func() (config.Output, error) { return config.Output{}, nil }}
			var got *Options
			cmd := NewCmdVersion(f, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr {
				if !cmdutil.IsUsage(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.IO != ios || got.Output == nil || got.BuildInfo == nil {
				t.Fatalf("options not filled: %+v", got)
			}
		})
	}
}

func TestVersionRun(t *testing.T) {
	info := build.Info{Version: "v1.2.3", Commit: "abc123", Go: "go1.26.8", Platform: "linux/amd64"}
	tests := []struct {
		name string
		json bool
		want string
	}{
		{name: "text", want: "artstore v1.2.3 (abc123, go1.26.8, linux/amd64)\n"},
		{name: "json", json: true, want: `{
  "version": "v1.2.3",
  "commit": "abc123",
  "go": "go1.26.8",
  "platform": "linux/amd64"
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, stderr := iostreams.Test()
			opts := &Options{IO: ios,
				Output:    func() (config.Output, error) { return config.Output{JSON: tt.json}, nil },
				BuildInfo: func() build.Info { return info }}
			if err := versionRun(opts); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.want {
				t.Errorf("stdout = %q, want %q", stdout, tt.want)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}
