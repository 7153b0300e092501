package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "2w", want: 14 * 24 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "0d", bad: true},
		{in: "-1d", bad: true},
		{in: "-5m", bad: true},
		{in: "d", bad: true},
		{in: "1.5d", bad: true},
		{in: "99999999999999999d", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := registry.ParseDuration(tt.in)
		if tt.bad {
			if !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("ParseDuration(%q) = %v, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if s := registry.FormatDuration(30 * 24 * time.Hour); s != "30d" {
		t.Errorf("FormatDuration(30d) = %q", s)
	}
	if s := registry.FormatDuration(36 * time.Hour); s != "36h0m0s" {
		t.Errorf("FormatDuration(36h) = %q", s)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90d", "2w", "36h", "-1d", "1e9d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := registry.ParseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v without error", s, d)
		}
	})
}

func TestRetentionRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		day := 24 * time.Hour
		// logs/app: four versions a day apart; logs/db: one; docs/x: one.
		var app []registry.Artifact
		for _, s := range []string{"1", "2", "3", "4"} {
			app = append(app, e.register(t, e.req("logs/app", s)))
			e.clock.advance(day)
		}
		db := e.register(t, e.req("logs/db", "db"))
		doc := e.register(t, e.req("docs/x", "doc"))

		r1, err := e.r.AddRule(ctx, "admin", "logs/**", 30*day, 2)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := e.r.AddRule(ctx, "admin", "docs/*", 0, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct {
			pattern string
			after   time.Duration
			keep    int
		}{{"", day, 0}, {"Logs/*", day, 0}, {"logs/*", 0, 0}, {"logs/*", -day, 0}, {"logs/*", day, -1}, {"logs/*", 1500 * time.Millisecond, 0}} {
			if _, err := e.r.AddRule(ctx, "admin", bad.pattern, bad.after, bad.keep); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("AddRule(%q, %v, %d) = %v, want ErrInvalid", bad.pattern, bad.after, bad.keep, err)
			}
		}
		rules, err := e.r.Rules(ctx)
		if err != nil || len(rules) != 2 || rules[0].ID != r1.ID || rules[1] != r2 || rules[0].By != "admin" {
			t.Fatalf("Rules = %+v, %v", rules, err)
		}

		// Nothing is due yet: the oldest is 5 days old.
		plan, err := e.r.PlanRetention(ctx)
		if err != nil || len(plan) != 0 {
			t.Fatalf("plan at day 5 = %+v, %v; want nothing", plan, err)
		}

		// Day 33: app 1 and 2 are past 30 days, not among the 2 newest;
		// app 3 is past too but kept; db is the newest of its name.
		e.clock.advance(28 * day)
		// A hold protects app 1; its own expiry puts doc first in line.
		if _, err := e.r.Hold(ctx, "alice", app[0].ID, "legal", "case 7"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.SetRetention(ctx, "alice", doc.ID, eventlog.Retention{ExpiresAt: e.clock.now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		plan, err = e.r.PlanRetention(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range plan {
			ids = append(ids, x.Artifact.ID)
		}
		if !slices.Equal(ids, []string{doc.ID, app[1].ID}) {
			t.Fatalf("plan = %v, want [doc app2]", plan)
		}
		if plan[0].Rule != "" || !strings.Contains(plan[0].Reason, "expires_at") ||
			plan[1].Rule != r1.ID || !strings.Contains(plan[1].Reason, r1.ID) || !plan[1].Deadline.Equal(app[1].Created.Add(30*day)) {
			t.Errorf("plan reasons = %+v", plan)
		}

		v, err := e.r.ExplainRetention(ctx, app[0].ID)
		if err != nil || v.Due || !slices.ContainsFunc(v.Lines, func(s string) bool { return strings.Contains(s, `legal hold "legal"`) }) {
			t.Errorf("explain held app1 = %+v, %v", v, err)
		}
		v, err = e.r.ExplainRetention(ctx, "logs/app:4")
		if err != nil || v.Due || !slices.ContainsFunc(v.Lines, func(s string) bool { return strings.Contains(s, "kept as one of the 2 newest") }) {
			t.Errorf("explain app4 = %+v, %v", v, err)
		}
		v, err = e.r.ExplainRetention(ctx, "logs/app:2")
		if err != nil || !v.Due {
			t.Errorf("explain app2 = %+v, %v", v, err)
		}

		done, err := e.r.ApplyRetention(ctx, "retention-bot")
		if err != nil || len(done) != 2 || !done[0].Deleted || !done[1].Deleted {
			t.Fatalf("apply = %+v, %v", done, err)
		}
		got, err := e.r.Get(ctx, app[1].ID)
		if err != nil || got.Deleted == nil || got.Deleted.By != "retention-bot" || got.Deleted.Reason != plan[1].Reason {
			t.Errorf("app2 after apply = %+v, %v", got.Deleted, err)
		}
		for _, a := range []registry.Artifact{app[0], app[2], app[3], db} {
			if got, err := e.r.Get(ctx, a.ID); err != nil || got.Deleted != nil {
				t.Errorf("%s deleted by apply: %+v, %v", a.Ref(), got.Deleted, err)
			}
		}
		// Applying again does nothing.
		if again, err := e.r.ApplyRetention(ctx, "retention-bot"); err != nil || len(again) != 0 {
			t.Errorf("second apply = %+v, %v", again, err)
		}

		// Removing the rule stops it; removing it twice is not found.
		if _, err := e.r.RemoveRule(ctx, "admin", r1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.RemoveRule(ctx, "admin", r1.ID); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("second removal: %v, want ErrNotFound", err)
		}
		if _, err := e.r.Release(ctx, "alice", app[0].ID, "legal", ""); err != nil {
			t.Fatal(err)
		}
		if plan, err := e.r.PlanRetention(ctx); err != nil || len(plan) != 0 {
			t.Errorf("plan without the rule = %+v, %v", plan, err)
		}
	})
}

func TestRetentionImmutableNeverExpires(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register(t, e.req("evidence/x", "1"))
		now := e.clock.now()
		if _, err := e.r.SetRetention(ctx, "alice", a.ID, eventlog.Retention{ExpiresAt: now.Add(time.Hour), ImmutableUntil: now.Add(48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(2 * time.Hour)
		if plan, err := e.r.PlanRetention(ctx); err != nil || len(plan) != 0 {
			t.Errorf("immutable artifact planned for expiry: %+v, %v", plan, err)
		}
		if _, err := e.r.Delete(ctx, "root", a.ID, ""); !errors.Is(err, registry.ErrForbiddenByRetention) {
			t.Errorf("delete before immutable-until: %v, want ErrForbiddenByRetention", err)
		}
		e.clock.advance(48 * time.Hour)
		plan, err := e.r.PlanRetention(ctx)
		if err != nil || len(plan) != 1 || plan[0].Artifact.ID != a.ID {
			t.Errorf("after immutable-until: plan = %+v, %v; want the artifact", plan, err)
		}
	})
}
