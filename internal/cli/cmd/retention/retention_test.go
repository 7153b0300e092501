package retention

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdSet(t *testing.T) {
	d90 := 90 * 24 * time.Hour
	at := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	until := time.Date(2027, 12, 31, 23, 59, 59, 0, time.UTC)
	tests := []struct {
		args      []string
		want      client.RetentionRequest
		wantUsage string
	}{
		{args: []string{"a:1", "--expire-after", "90d"}, want: client.RetentionRequest{ExpireAfter: &d90}},
		{args: []string{"a:1", "--expires-at", "2026-12-31", "--immutable-until", "2027-12-31T23:59:59Z"},
			want: client.RetentionRequest{ExpiresAt: &at, ImmutableUntil: &until}},
		{args: []string{"a:1"}, wantUsage: "give --expire-after"},
		{args: []string{"a:1", "--expire-after", "90d", "--expires-at", "2026-12-31"}, wantUsage: "not both"},
		{args: []string{"a:1", "--expire-after", "soon"}, wantUsage: "want days"},
		{args: []string{"a:1", "--expires-at", "tomorrow"}, wantUsage: "want a date"},
		{args: []string{"a:1", "--immutable-until", "1900-01-01"}, wantUsage: "between 1970"},
		{args: []string{"--expire-after", "1d"}, wantUsage: "artifact"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *SetOptions
		err := fakestore.Execute(NewCmdSet(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *SetOptions) error { got = o; return nil }), tt.args...)
		if tt.wantUsage != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantUsage) {
				t.Errorf("%v: err = %v, want a usage error about %q", tt.args, err, tt.wantUsage)
			}
			continue
		}
		if err != nil || got == nil || got.Ref != "a:1" || !sameReq(got.Req, tt.want) {
			t.Errorf("%v: options %+v, err %v", tt.args, got, err)
		}
	}
}

func sameReq(a, b client.RetentionRequest) bool {
	eqD := func(x, y *time.Duration) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqT := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return eqD(a.ExpireAfter, b.ExpireAfter) && eqT(a.ExpiresAt, b.ExpiresAt) && eqT(a.ImmutableUntil, b.ImmutableUntil)
}

func TestSetRun(t *testing.T) {
	exp := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	a := fakestore.Artifact("reports/q", "1")
	a.Retention.ExpiresAt = &exp
	for _, tt := range []struct {
		name    string
		json    bool
		err     error
		want    string
		wantErr int
	}{
		{name: "text", want: "set retention of reports/q:1: expires 2026-04-01T00:00:00Z, immutable until none\n"},
		{name: "json", json: true, want: `"expires_at": "2026-04-01T00:00:00Z"`},
		{name: "worm", err: errors.Join(errors.New("immutable until 2027"), client.ErrForbidden), wantErr: cmdutil.ExitCodeOf(client.ErrForbidden)},
	} {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{SetRetentionFunc: func(_ context.Context, ref string, _ client.RetentionRequest) (*client.Artifact, error) {
			if tt.err != nil {
				return nil, tt.err
			}
			return &a, nil
		}}
		err := setRun(context.Background(), &SetOptions{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener(), Ref: "reports/q:1"})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantErr {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantErr)
		}
		if !strings.Contains(stdout.String(), tt.want) || (tt.want == "" && stdout.Len() != 0) {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
	}
}

func TestNewCmdRuleAdd(t *testing.T) {
	tests := []struct {
		args      []string
		want      client.RetentionRuleRequest
		wantUsage bool
	}{
		{args: []string{"logs/*", "--expire-after", "30d", "--keep-last", "10"}, want: client.RetentionRuleRequest{Pattern: "logs/*", ExpireAfter: "30d", KeepLast: 10}},
		{args: []string{"tmp/*", "--keep-last", "1"}, want: client.RetentionRuleRequest{Pattern: "tmp/*", KeepLast: 1}},
		{args: []string{"logs/*"}, wantUsage: true},
		{args: []string{"logs/*", "--keep-last", "-1"}, wantUsage: true},
		{args: []string{"logs/*", "--expire-after", "1x"}, wantUsage: true},
		{args: []string{"--keep-last", "1"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *RuleOptions
		err := fakestore.Execute(NewCmdRuleAdd(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *RuleOptions) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got == nil || got.Req != tt.want {
			t.Errorf("%v: options %+v, err %v; want %+v", tt.args, got, err, tt.want)
		}
	}
	for _, c := range []*cobra.Command{NewCmdRuleRm(&cmdutil.Factory{}, func(context.Context, *RuleOptions) error { return nil }),
		NewCmdRuleLs(&cmdutil.Factory{}, func(context.Context, *RuleOptions) error { return nil })} {
		args := []string{"a", "b"}
		if err := fakestore.Execute(c, args...); !cmdutil.IsUsage(err) {
			t.Errorf("%s %v: err = %v, want usage", c.Name(), args, err)
		}
	}
}

func TestRuleRuns(t *testing.T) {
	added := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rule := client.RetentionRule{ID: "01RULE", Pattern: "logs/*", ExpireAfter: "30d", ExpireAfterSeconds: 2592000, KeepLast: 10, AddedAt: added, AddedBy: "alice"}
	keepOnly := client.RetentionRule{ID: "02RULE", Pattern: "tmp/*", KeepLast: 1, AddedAt: added, AddedBy: "bob"}
	fake := &fakestore.Store{
		AddRetentionRuleFunc: func(_ context.Context, req client.RetentionRuleRequest) (*client.RetentionRule, error) {
			if req.Pattern != "logs/*" {
				return nil, errors.Join(errors.New("bad pattern"), client.ErrInvalid)
			}
			return &rule, nil
		},
		RetentionRulesFunc: func(context.Context) ([]client.RetentionRule, error) {
			return []client.RetentionRule{rule, keepOnly}, nil
		},
		RemoveRetentionRuleFunc: func(_ context.Context, id string) (*client.RetentionRule, error) {
			if id != rule.ID {
				return nil, errors.Join(errors.New("no such rule"), client.ErrNotFound)
			}
			return &rule, nil
		},
	}
	empty := &fakestore.Store{RetentionRulesFunc: func(context.Context) ([]client.RetentionRule, error) { return nil, nil }}
	tests := []struct {
		name    string
		run     func(*RuleOptions) error
		opts    RuleOptions
		store   *fakestore.Store
		json    bool
		want    string
		stderr  string
		wantErr int
	}{
		{name: "add", run: func(o *RuleOptions) error { return ruleAddRun(context.Background(), o) }, opts: RuleOptions{Req: client.RetentionRuleRequest{Pattern: "logs/*"}},
			want: "added rule 01RULE (logs/*: expire-after 30d, keep-last 10)\n"},
		{name: "add invalid", run: func(o *RuleOptions) error { return ruleAddRun(context.Background(), o) }, opts: RuleOptions{Req: client.RetentionRuleRequest{Pattern: "X"}},
			wantErr: cmdutil.ExitCodeOf(client.ErrInvalid)},
		{name: "ls", run: func(o *RuleOptions) error { return ruleLsRun(context.Background(), o) },
			want: "ID      PATTERN  EXPIRE AFTER  KEEP LAST  ADDED                 BY\n01RULE  logs/*   30d           10         2026-03-01T12:00:00Z  alice\n02RULE  tmp/*    -             1          2026-03-01T12:00:00Z  bob\n"},
		{name: "ls json empty", store: empty, json: true, run: func(o *RuleOptions) error { return ruleLsRun(context.Background(), o) }, want: "[]\n"},
		{name: "ls empty", store: empty, run: func(o *RuleOptions) error { return ruleLsRun(context.Background(), o) }, stderr: "no retention rules\n"},
		{name: "rm", run: func(o *RuleOptions) error { return ruleRmRun(context.Background(), o) }, opts: RuleOptions{ID: "01RULE"},
			want: "removed rule 01RULE (logs/*: expire-after 30d, keep-last 10)\n"},
		{name: "rm unknown", run: func(o *RuleOptions) error { return ruleRmRun(context.Background(), o) }, opts: RuleOptions{ID: "nope"},
			wantErr: cmdutil.ExitCodeOf(client.ErrNotFound)},
	}
	for _, tt := range tests {
		ios, _, stdout, stderr := iostreams.Test()
		st := tt.store
		if st == nil {
			st = fake
		}
		o := tt.opts
		o.IO, o.Config, o.Client = ios, fakestore.Config(tt.json), st.Opener()
		err := tt.run(&o)
		if code := cmdutil.ExitCodeOf(err); code != tt.wantErr {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantErr)
		}
		if stdout.String() != tt.want || stderr.String() != tt.stderr {
			t.Errorf("%s: stdout = %q, stderr = %q; want %q, %q", tt.name, stdout, stderr, tt.want, tt.stderr)
		}
	}
}

func TestApply(t *testing.T) {
	a := fakestore.Artifact("logs/app", "2")
	b := fakestore.Artifact("logs/app", "1")
	rep := client.RetentionReport{Expired: []client.Expiry{
		{Artifact: a, Rule: "R", Reason: "retention: rule R (logs/*: keep-last 1): not among the 1 newest versions of logs/app", Deleted: true},
		{Artifact: b, Reason: "retention: expires_at 2026-01-01T00:00:00Z passed", Skipped: "forbidden: legal hold \"legal\" is placed"},
	}}
	tests := []struct {
		name    string
		opts    ApplyOptions
		json    bool
		quiet   bool
		rep     client.RetentionReport
		want    string
		note    string // on stderr
		wantErr int
	}{
		{name: "apply", rep: rep, want: "removed logs/app:2 (id " + a.ID + "): retention: rule R (logs/*: keep-last 1): not among the 1 newest versions of logs/app\n" +
			"kept logs/app:1 (id " + b.ID + "): forbidden: legal hold \"legal\" is placed\n"},
		{name: "dry run", opts: ApplyOptions{DryRun: true}, rep: client.RetentionReport{DryRun: true, Expired: rep.Expired[1:]},
			want: "would remove logs/app:1 (id " + b.ID + "): retention: expires_at 2026-01-01T00:00:00Z passed\n"},
		{name: "nothing due", rep: client.RetentionReport{Expired: []client.Expiry{}}, want: "", note: "removed nothing: no artifact's retention has run out\n"},
		{name: "dry run with nothing due says so", opts: ApplyOptions{DryRun: true}, rep: client.RetentionReport{DryRun: true},
			note: "nothing to remove: no artifact's retention has run out\n"},
		{name: "quiet: no confirmations", quiet: true, rep: rep, want: ""},
		{name: "quiet dry run still lists", quiet: true, opts: ApplyOptions{DryRun: true}, rep: client.RetentionReport{DryRun: true, Expired: rep.Expired[1:]},
			want: "would remove logs/app:1 (id " + b.ID + "): retention: expires_at 2026-01-01T00:00:00Z passed\n"},
		{name: "quiet nothing due", quiet: true, rep: client.RetentionReport{DryRun: true}, opts: ApplyOptions{DryRun: true}},
		{name: "json", json: true, rep: client.RetentionReport{Expired: []client.Expiry{}}, want: "{\n  \"dry_run\": false,\n  \"expired\": []\n}\n"},
		{name: "explain", opts: ApplyOptions{Explain: "logs/app:1"},
			want: "logs/app:1 (id " + b.ID + ")\n  no expires_at of its own\n  not due: retention apply keeps it\n"},
	}
	for _, tt := range tests {
		ios, _, stdout, stderr := iostreams.Test()
		ios.SetQuiet(tt.quiet)
		var gotDry *bool
		fake := &fakestore.Store{
			ApplyRetentionFunc: func(_ context.Context, dry bool) (*client.RetentionReport, error) {
				gotDry = &dry
				r := tt.rep
				return &r, nil
			},
			ExplainRetentionFunc: func(_ context.Context, ref string) (*client.RetentionExplanation, error) {
				return &client.RetentionExplanation{Artifact: b, Lines: []string{"no expires_at of its own", "not due: retention apply keeps it"}}, nil
			},
		}
		o := tt.opts
		out := config.Output{JSON: tt.json, Quiet: tt.quiet}
		o.IO, o.Client = ios, fake.Opener()
		o.Config = func() (*config.Config, error) { return &config.Config{Output: out}, nil }
		err := applyRun(context.Background(), &o)
		if stderr.String() != tt.note {
			t.Errorf("%s: stderr = %q, want %q", tt.name, stderr, tt.note)
		}
		if code := cmdutil.ExitCodeOf(err); code != tt.wantErr {
			t.Errorf("%s: exit %d (%v)", tt.name, code, err)
		}
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
		if tt.opts.Explain == "" && (gotDry == nil || *gotDry != tt.opts.DryRun) {
			t.Errorf("%s: ApplyRetention dry run = %v, want %v", tt.name, gotDry, tt.opts.DryRun)
		}
	}
	ios, _, _, _ := iostreams.Test()
	err := fakestore.Execute(NewCmdApply(&cmdutil.Factory{IO: ios}, func(context.Context, *ApplyOptions) error { return nil }), "--explain", "x", "--dry-run")
	if !cmdutil.IsUsage(err) {
		t.Errorf("--explain with --dry-run: err = %v, want usage", err)
	}
}
