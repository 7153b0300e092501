package audit

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdAudit(t *testing.T) {
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		args      []string
		want      client.AuditQuery
		wantUsage bool
	}{
		{args: nil, want: client.AuditQuery{}},
		{args: []string{"a:1", "--actor", "bob", "--since", "7d", "--type", "artifact.deleted", "--type", "hold.placed", "--limit", "5"},
			want: client.AuditQuery{Ref: "a:1", Actor: "bob", Since: now.Add(-7 * 24 * time.Hour), Types: []string{"artifact.deleted", "hold.placed"}, Limit: 5}},
		{args: []string{"--since", "2026-03-01"}, want: client.AuditQuery{Since: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{args: []string{"--since", "someday"}, wantUsage: true},
		{args: []string{"--limit", "-1"}, wantUsage: true},
		{args: []string{"a", "b"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		f := &cmdutil.Factory{IO: ios, Now: func() time.Time { return now }}
		err := fakestore.Execute(NewCmdAudit(f, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		q := got.Query
		if err != nil || q.Ref != tt.want.Ref || q.Actor != tt.want.Actor || !q.Since.Equal(tt.want.Since) || !slices.Equal(q.Types, tt.want.Types) || q.Limit != tt.want.Limit {
			t.Errorf("%v: query %+v, err %v; want %+v", tt.args, q, err, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	name := func(id string) string { return "ref-of-" + id }
	tests := []struct {
		typ     string
		subject string
		payload map[string]any
		want    string
	}{
		{"artifact.registered.v1", "A", map[string]any{"id": "A", "name": "r/q", "version": "1"}, "pushed r/q:1 (id A)"},
		{"artifact.registered.v2", "A", map[string]any{"id": "A", "name": "r/q", "version": "2"}, "pushed r/q:2 (id A)"},
		{"artifact.retrieved.v1", "A", map[string]any{"artifact_id": "A", "bytes": json.Number("2048"), "range": "0-9"}, "pulled ref-of-A (2.0 KiB, bytes 0-9)"},
		{"artifact.retrieved.v1", "A", map[string]any{"artifact_id": "A", "bytes": float64(10)}, "pulled ref-of-A (10 B)"},
		{"tag.moved.v1", "A", map[string]any{"name": "r/q", "tag": "prod", "artifact_id": "A"}, "tagged ref-of-A as r/q:prod"},
		{"tag.removed.v1", "A", map[string]any{"name": "r/q", "tag": "prod"}, "removed tag r/q:prod"},
		{"labels.changed.v1", "A", map[string]any{"artifact_id": "A", "set": map[string]any{"b": "2", "a": "1"}, "remove": []any{"c"}}, "labelled ref-of-A: a=1 b=2 -c"},
		{"retention.set.v1", "A", map[string]any{"artifact_id": "A", "expires_at": "2026-04-01T00:00:00Z"}, "set retention of ref-of-A: expires 2026-04-01T00:00:00Z, immutable until none"},
		{"hold.placed.v1", "A", map[string]any{"artifact_id": "A", "hold": "legal", "reason": "case 7"}, `placed hold "legal" on ref-of-A: case 7`},
		{"hold.released.v1", "A", map[string]any{"artifact_id": "A", "hold": "legal"}, `released hold "legal" on ref-of-A`},
		{"artifact.deleted.v1", "A", map[string]any{"artifact_id": "A", "reason": "retention: expired"}, "deleted ref-of-A: retention: expired"},
		{"artifact.repaired.v1", "A1", map[string]any{"artifact_id": "A1", "source": "file q.pdf", "missing": json.Number("2"), "damaged": json.Number("1"), "blobs": json.Number("5"), "bytes": float64(2048)},
			"repaired ref-of-A1 from file q.pdf (2 missing, 1 damaged blobs; 5 blobs, 2.0 KiB verified)"},
		{"artifact.imported.v1", "A", map[string]any{"artifact_id": "A", "origin": "artstore/ab12", "foreign_id": "F1", "events": []any{map[string]any{}, map[string]any{}}},
			"imported ref-of-A from artstore/ab12, where it is F1 (2 events of its evidence kept)"},
		{"blobs.collected.v1", "default", map[string]any{"backend": "default", "digests": []any{"x", "y"}, "bytes": json.Number("3072")}, "collected 2 blobs (3.0 KiB) from backend default"},
		{"retention.rule.added.v1", "rule:R", map[string]any{"id": "R", "pattern": "logs/*", "expire_after_seconds": json.Number("3600"), "keep_last": json.Number("2")}, "added retention rule R for logs/*, expire-after 1h0m0s, keep-last 2"},
		{"retention.rule.removed.v1", "rule:R", map[string]any{"id": "R"}, "removed retention rule R"},
		{"token.created.v1", "token:T", map[string]any{"id": "T", "name": "ci", "scope": "write"}, "created write token ci (T)"},
		{"token.revoked.v1", "token:T", map[string]any{"id": "T"}, "revoked token T"},
		{"future.thing.v9", "S", map[string]any{}, "future.thing.v9 S"},
	}
	for _, tt := range tests {
		if got := Describe(client.Event{Type: tt.typ, Subject: tt.subject, Payload: tt.payload}, name); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.typ, got, tt.want)
		}
	}
}

func TestAuditRun(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := fakestore.Artifact("r/q", "1")
	evs := []client.Event{{Seq: 1, Time: t0, Actor: "alice", Type: "artifact.registered.v1", Subject: a.ID, Payload: map[string]any{"id": a.ID, "name": "r/q", "version": "1"}},
		{Seq: 2, Time: t0.Add(time.Hour), Actor: "bob", Type: "artifact.deleted.v1", Subject: a.ID, Payload: map[string]any{"artifact_id": a.ID}}}
	for _, tt := range []struct {
		name    string
		json    bool
		evs     []client.Event
		err     error
		want    string
		stderr  string
		wantErr int
	}{
		{name: "text", evs: evs, want: "TIME                  ACTOR  WHAT\n2026-03-01T12:00:00Z  alice  pushed r/q:1 (id " + a.ID + ")\n2026-03-01T13:00:00Z  bob    deleted r/q:1 (id " + a.ID + ")\n"},
		{name: "none", stderr: "no matching events\n"},
		{name: "json none", json: true, want: "[]\n"},
		{name: "not found", err: errors.Join(errors.New("no such"), client.ErrNotFound), wantErr: cmdutil.ExitCodeOf(client.ErrNotFound)},
	} {
		ios, _, stdout, stderr := iostreams.Test()
		fake := &fakestore.Store{
			AuditFunc: func(context.Context, client.AuditQuery) ([]client.Event, error) { return tt.evs, tt.err },
			GetFunc:   func(context.Context, string) (*client.Artifact, error) { return &a, nil },
		}
		err := auditRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener()})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantErr {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantErr)
		}
		if stdout.String() != tt.want || stderr.String() != tt.stderr {
			t.Errorf("%s: stdout %q stderr %q; want %q, %q", tt.name, stdout, stderr, tt.want, tt.stderr)
		}
	}
}

// pagedAudit serves n events, Forward pages of at most q.Limit after q.After.
func pagedAudit(n int, queries *[]client.AuditQuery, ignoreAfter bool) *fakestore.Store {
	return &fakestore.Store{AuditFunc: func(_ context.Context, q client.AuditQuery) ([]client.Event, error) {
		*queries = append(*queries, q)
		var out []client.Event
		after := q.After
		if ignoreAfter {
			after = 0
		}
		for seq := after + 1; seq <= int64(n) && len(out) < q.Limit; seq++ {
			out = append(out, client.Event{Seq: seq, Type: "artifact.registered.v1", Payload: map[string]any{}})
		}
		return out, nil
	}}
}

func TestAuditJSONListsEverything(t *testing.T) {
	n := 2*pageSize + 3
	ios, _, stdout, _ := iostreams.Test()
	var queries []client.AuditQuery
	err := auditRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(true), Client: pagedAudit(n, &queries, false).Opener(), Query: client.AuditQuery{Actor: "ci"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []client.Event
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(got) != n || got[n-1].Seq != int64(n) {
		t.Fatalf("got %d events, want %d", len(got), n)
	}
	if len(queries) != 3 || !queries[0].Forward || queries[1].After != pageSize || queries[2].Actor != "ci" {
		t.Errorf("queries = %+v", queries)
	}

	// --limit keeps the newest N, in one call.
	queries = nil
	ios, _, stdout, _ = iostreams.Test()
	err = auditRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(true), Client: pagedAudit(n, &queries, false).Opener(), Query: client.AuditQuery{Limit: 5}, LimitGiven: true})
	if err != nil || len(queries) != 1 || queries[0].Forward {
		t.Fatalf("err %v, queries %+v", err, queries)
	}
	got = nil
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 5 {
		t.Errorf("--limit 5: %d events (%v)", len(got), err)
	}

	// A daemon that ignores after= is an error, not an endless loop.
	queries = nil
	err = auditRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(true), Client: pagedAudit(n, &queries, true).Opener()})
	if err == nil || !strings.Contains(err.Error(), "does not page") {
		t.Errorf("err = %v", err)
	}
}
