package rm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdRm(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: []string{"a:1"}, want: Options{Ref: "a:1"}},
		{args: []string{"a:1", "--dry-run"}, want: Options{Ref: "a:1", DryRun: true}},
		{args: []string{"-n", "a:1"}, want: Options{Ref: "a:1", DryRun: true}},
		{args: nil, wantUsage: true},
		{args: []string{"a:1", "b:1"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdRm(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got.Ref != tt.want.Ref || got.DryRun != tt.want.DryRun {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func TestRmRun(t *testing.T) {
	tests := []struct {
		name       string
		ref        string
		dryRun     bool
		json       bool
		quiet      bool
		want       string
		wantCode   int
		wantDelete bool
		exact      bool // stdout is want, not only starts with it
	}{
		{name: "remove", ref: "a:1", wantDelete: true,
			want: "removed a:1 (id 01JDQ000000000000000000001, 1.5 KiB, sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae)\n" +
				"  its tags went with it: latest (artstore tag a:VERSION TAG points one at another version)\n", exact: true},
		{name: "remove an untagged version", ref: "untagged:1", wantDelete: true, exact: true,
			want: "removed untagged:1 (id 01JDQ000000000000000000008, 1.5 KiB, sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae)\n"},
		{name: "a tag the version no longer held is not named", ref: "moved:1", wantDelete: true, exact: true,
			want: "removed moved:1 (id 01JDQ000000000000000000099, 1.5 KiB, sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae)\n"},
		{name: "dry run removes nothing", ref: "a:1", dryRun: true, exact: true,
			want: "would remove a:1 (id 01JDQ000000000000000000001, 1.5 KiB, sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae)\n" +
				"  its tags would go with it: latest (artstore tag a:VERSION TAG points one at another version)\n"},
		{name: "quiet: no confirmation", ref: "a:1", quiet: true, wantDelete: true},
		{name: "quiet dry run still says what it would remove", ref: "a:1", quiet: true, dryRun: true,
			want: "would remove a:1 (id 01JDQ000000000000000000001, 1.5 KiB, sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae)\n"},
		{name: "json", ref: "a:1", json: true, wantDelete: true, want: "{\n  \"dry_run\": false,\n  \"removed\": {\n    \"id\": \"01JDQ000000000000000000001\","},
		{name: "json dry run", ref: "a:1", json: true, dryRun: true, want: "{\n  \"dry_run\": true,\n  \"removed\": {"},
		{name: "dry run of a removed version", ref: "gone:1", dryRun: true, wantCode: cmdutil.ExitNotFound},
		{name: "held", ref: "held:1", wantCode: cmdutil.ExitForbidden, wantDelete: true},
		{name: "unknown", ref: "x:1", wantCode: cmdutil.ExitNotFound, wantDelete: true},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		deleted := false
		fake := &fakestore.Store{
			GetFunc: func(_ context.Context, ref string) (*client.Artifact, error) {
				a := fakestore.Artifact(strings.TrimSuffix(ref, ":1"), "1")
				a.Deleted = ref == "gone:1"
				if ref == "untagged:1" {
					a.Tags = nil
				}
				return &a, nil
			},
			DeleteFunc: func(_ context.Context, ref string) (*client.Artifact, error) {
				deleted = true
				switch ref {
				case "held:1":
					return nil, fmt.Errorf("%s is under legal hold: %w", ref, client.ErrForbidden)
				case "x:1":
					return nil, fmt.Errorf("%s: %w", ref, client.ErrNotFound)
				}
				a := fakestore.Artifact(strings.TrimSuffix(ref, ":1"), "1")
				a.Deleted, a.Tags = true, nil
				if ref == "moved:1" {
					a.ID = "01JDQ000000000000000000099" // another artifact than the one looked at first
				}
				return &a, nil
			},
		}
		err := rmRun(context.Background(), &Options{IO: ios, Config: fakestore.ConfigOutput(config.Output{JSON: tt.json, Quiet: tt.quiet}), Client: fake.Opener(), Ref: tt.ref, DryRun: tt.dryRun})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
			continue
		}
		if deleted != tt.wantDelete {
			t.Errorf("%s: Delete called %v, want %v", tt.name, deleted, tt.wantDelete)
		}
		if tt.quiet && stdout.String() != tt.want {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
		if tt.exact && stdout.String() != tt.want {
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.name, stdout, tt.want)
		}
		if tt.wantCode == 0 && !strings.HasPrefix(stdout.String(), tt.want) {
			t.Errorf("%s: stdout =\n%s\nwant prefix\n%s", tt.name, stdout, tt.want)
		}
	}
}
