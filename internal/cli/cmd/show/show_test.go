package show

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdShow(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantUsage bool
	}{{args: []string{"a:1"}}, {args: nil, wantUsage: true}, {args: []string{"a", "b"}, wantUsage: true}} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdShow(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage != cmdutil.IsUsage(err) || (!tt.wantUsage && (err != nil || got.Ref != tt.args[0])) {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func full() client.Artifact {
	a := fakestore.Artifact("releases/app", "2.4.0")
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	a.Tags = []string{"prod", "latest"}
	a.Labels = map[string]string{"team": "x", "env": "prod"}
	a.Provenance = client.Provenance{
		Producer: client.Producer{Tool: "make", Command: "make release", Host: "ci-7", GitRepo: "acme/app", GitCommit: "0123abc", GitBranch: "main", GitDirty: true,
			CISystem: "github-actions", CIJob: "release", CIRun: "77", CIURL: "https://ci/77"},
		Inputs: []client.Input{{Ref: "src/app:41", Role: "source"}, {Digest: "sha256:" + strings.Repeat("4", 64), Role: "config"}},
	}
	a.Retention = client.Retention{LegalHold: true, HoldReason: "audit 2026", ImmutableUntil: &until, ExpiresAt: &until}
	a.Retrievals = client.RetrievalStats{Count: 3, Bytes: 4608, LastAt: &at, LastBy: "bob@laptop"}
	return a
}

func TestShowRun(t *testing.T) {
	minimal := fakestore.Artifact("a", "1")
	minimal.Tags = nil
	removedAt := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	removed := fakestore.Artifact("gone", "1")
	removed.Deleted, removed.DeletedAt = true, &removedAt
	arts := map[string]client.Artifact{"full": full(), "minimal": minimal, "removed": removed}
	tests := []struct {
		ref, want string
		json      bool
		wantCode  int
	}{
		{ref: "full", want: `releases/app:2.4.0
  id              01JDQ000000000000000000012
  kind            file
  content digest  sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
  manifest        sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9
  size            1.5 KiB (1536 bytes)
  media type      application/pdf
  created         2026-11-27T10:00:00Z by alice@host
  tags            latest, prod
  labels          env=prod
                  team=x
  producer        tool make
                  command make release
                  host ci-7
                  git acme/app @ 0123abc (main) with uncommitted changes
                  ci github-actions release run 77
                  ci url https://ci/77
  inputs          src/app:41 (source)
                  sha256:4444444444444444444444444444444444444444444444444444444444444444 (config)
  retention       legal hold: audit 2026
                  immutable until 2027-01-01T00:00:00Z
                  expires 2027-01-01T00:00:00Z
  retrievals      3 (4.5 KiB), last 2026-11-28T09:00:00Z by bob@laptop
`},
		{ref: "minimal", want: `a:1
  id              01JDQ000000000000000000001
  kind            file
  content digest  sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
  manifest        sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9
  size            1.5 KiB (1536 bytes)
  media type      application/pdf
  created         2026-11-27T10:00:00Z by alice@host
  tags            (none)
  labels          (none)
  producer        (unknown)
  inputs          (none)
  retention       (none: kept until removed)
  retrievals      0
`},
		{ref: "removed", want: "  removed         2026-11-29T00:00:00Z\n"},
		{ref: "minimal", json: true, want: "{\n  \"id\": \"01JDQ000000000000000000001\",\n  \"name\": \"a\",\n  \"version\": \"1\",\n  \"ref\": \"a:1\",\n  \"kind\": \"file\","},
		{ref: "nope", wantCode: cmdutil.ExitNotFound},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{GetFunc: func(_ context.Context, ref string) (*client.Artifact, error) {
			if a, ok := arts[ref]; ok {
				return &a, nil
			}
			return nil, fmt.Errorf("%s: %w", ref, client.ErrNotFound)
		}}
		err := showRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener(), Ref: tt.ref})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.ref, code, err, tt.wantCode)
			continue
		}
		switch {
		case tt.wantCode != 0:
		case tt.ref == "removed" || tt.json:
			if !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("%s: stdout =\n%s\nlacks\n%s", tt.ref, stdout, tt.want)
			}
		case stdout.String() != tt.want:
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.ref, stdout, tt.want)
		}
	}
}

func TestPrintCleansControlCharacters(t *testing.T) {
	a := fakestore.Artifact("a", "1")
	a.Provenance.Producer.Command = "make \x1b[2J\u009b1m\x9b\r\n"
	a.Labels = map[string]string{"k": "v\x07"}
	var b strings.Builder
	if err := Print(&b, &a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "command make \uFFFD[2J\uFFFD1m\uFFFD  \n") || !strings.Contains(b.String(), "k=v\uFFFD\n") {
		t.Errorf("output =\n%s", b.String())
	}
}

func TestPrintDeterministic(t *testing.T) {
	a := full()
	var b1, b2 strings.Builder
	if err := Print(&b1, &a); err != nil {
		t.Fatal(err)
	}
	if err := Print(&b2, &a); err != nil {
		t.Fatal(err)
	}
	if b1.String() != b2.String() {
		t.Error("Print is not deterministic (map order leaked)")
	}
}

func TestInput(t *testing.T) {
	for _, tt := range []struct {
		in   client.Input
		want string
	}{
		{client.Input{Ref: "src/a:1", ArtifactID: "01ID", Digest: "sha256:aa", Role: "source"}, "src/a:1 (source)"},
		{client.Input{Digest: "sha256:aa"}, "sha256:aa"},
		{client.Input{ArtifactID: "01ID", Role: "base"}, "01ID [withheld: outside the token's prefix] (base)"},
	} {
		if got := Input(tt.in); got != tt.want {
			t.Errorf("Input(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintImported(t *testing.T) {
	a := fakestore.Artifact("a", "1")
	a.Imported = &client.ImportOrigin{Seq: 12, Origin: "artstore/ab12", ForeignID: "F1", ForeignSeq: 5, RegisteredBy: "alice\x1b[2J",
		RegisteredAt: time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC), CheckpointSize: 9, Key: "artstore/ab12+01234567+K", Events: 4, Verified: true}
	var b strings.Builder
	if err := Print(&b, &a); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  imported from   artstore/ab12, as F1\n",
		"registered there 2026-12-01T10:05:00Z by alice\uFFFD[2J (event 5)\n",
		"4 events proved in its checkpoint of 9 events, signed by\n",
		"artstore/ab12+01234567+K (the bundle's own: no key was given at import)\n",
		"import record: event 12 here",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	a.Imported = &client.ImportOrigin{Seq: 12, Origin: "artstore/ab12", ForeignID: "F1", Problem: "foreign evidence does not verify: event 5 is not proved"}
	b.Reset()
	Print(&b, &a)
	if !strings.Contains(b.String(), "EVIDENCE DOES NOT VERIFY: foreign evidence does not verify: event 5") {
		t.Errorf("output:\n%s", b.String())
	}
}
