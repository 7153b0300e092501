package ls

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdLs(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: nil, want: Options{Limit: DefaultLimit}},
		{args: []string{"reports/*", "-l", "env=prod", "--label", "!old", "--since", "7d", "-n", "5", "--all"},
			want: Options{Pattern: "reports/*", Selectors: []string{"env=prod", "!old"}, Since: "7d", Limit: 5, LimitGiven: true, All: true}},
		{args: []string{"--limit", "0"}, want: Options{Limit: 0, LimitGiven: true}},
		{args: []string{"--newest"}, want: Options{Limit: DefaultLimit, Newest: true}},
		{args: []string{"--limit", "-1"}, wantUsage: true},
		{args: []string{"--limit", "x"}, wantUsage: true},
		{args: []string{"a", "b"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdLs(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
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
		g.IO, g.Config, g.Client, g.Now = nil, nil, nil, nil
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%v: options = %+v, want %+v", tt.args, g, tt.want)
		}
	}
}

// pagedStore serves n artifacts in pages of at most 2, honouring Limit.
func pagedStore(n int, queries *[]client.Query) *fakestore.Store {
	return &fakestore.Store{ListFunc: func(_ context.Context, q client.Query) (*client.Page, error) {
		*queries = append(*queries, q)
		start := 0
		if q.Cursor != "" {
			fmt.Sscan(q.Cursor, &start)
		}
		end := min(start+min(q.Limit, 2), n)
		p := &client.Page{}
		for i := start; i < end; i++ {
			a := fakestore.Artifact("logs/build", fmt.Sprint(i+1))
			if i == 1 {
				a.Deleted = true
			}
			p.Artifacts = append(p.Artifacts, a)
		}
		if end < n {
			p.NextCursor = fmt.Sprint(end)
		}
		return p, nil
	}}
}

func TestLsRun(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		opts      Options
		n         int
		json      bool
		quiet     bool
		wantOut   string
		wantErr   string
		wantNote  string
		wantQuery client.Query // of the first call
		wantCalls int
		wantRefs  int // with json: how many elements
	}{
		{name: "table over pages", opts: Options{Limit: 0, Pattern: "logs/*", Selectors: []string{"a=b"}, All: true}, n: 3,
			wantOut: "REF           SIZE     CREATED               TAGS\n" +
				"logs/build:1  1.5 KiB  2026-11-27T10:00:00Z  latest\n" +
				"logs/build:2  1.5 KiB  2026-11-27T10:00:00Z  (removed)\n" +
				"logs/build:3  1.5 KiB  2026-11-27T10:00:00Z  latest\n",
			wantQuery: client.Query{Pattern: "logs/*", Selectors: []string{"a=b"}, IncludeDeleted: true, Limit: pageSize}, wantCalls: 2},
		{name: "limit stops early and says so", opts: Options{Limit: 2}, n: 5,
			wantOut:  "REF           SIZE     CREATED               TAGS\nlogs/build:1  1.5 KiB  2026-11-27T10:00:00Z  latest\nlogs/build:2  1.5 KiB  2026-11-27T10:00:00Z  (removed)\n",
			wantNote: "showing the first 2; use --newest for the latest, --limit N or --limit 0 for more\n", wantQuery: client.Query{Limit: 2}, wantCalls: 1},
		{name: "newest asks the store for newest first", opts: Options{Limit: 2, Newest: true}, n: 5,
			wantOut:  "REF           SIZE     CREATED               TAGS\nlogs/build:1  1.5 KiB  2026-11-27T10:00:00Z  latest\nlogs/build:2  1.5 KiB  2026-11-27T10:00:00Z  (removed)\n",
			wantNote: "showing the latest 2; use --limit N or --limit 0 for more\n", wantQuery: client.Query{Limit: 2, Newest: true}, wantCalls: 1},
		{name: "since as an age", opts: Options{Limit: 10, Since: "24h"}, n: 0, wantNote: "no artifacts match\n",
			wantQuery: client.Query{Since: now.Add(-24 * time.Hour), Limit: 10}, wantCalls: 1},
		{name: "json array", opts: Options{Limit: 10, LimitGiven: true}, n: 1, json: true, wantOut: "[\n  {\n    \"id\": ", wantCalls: 1, wantQuery: client.Query{Limit: 10}},
		{name: "json empty array", opts: Options{Limit: 10, LimitGiven: true}, n: 0, json: true, wantOut: "[]\n", wantCalls: 1, wantQuery: client.Query{Limit: 10}},
		{name: "json lists everything without --limit", opts: Options{Limit: 2}, n: 5, json: true, wantOut: "[\n  {\n    \"id\": ",
			wantCalls: 3, wantQuery: client.Query{Limit: pageSize}, wantRefs: 5},
		{name: "json honours a given --limit silently", opts: Options{Limit: 3, LimitGiven: true}, n: 5, json: true, wantOut: "[\n  {\n    \"id\": ",
			wantCalls: 2, wantQuery: client.Query{Limit: 3}, wantRefs: 3, wantNote: "showing the first 3; use --newest for the latest, --limit N or --limit 0 for more\n"},
		{name: "quiet prints references, all of them", opts: Options{Limit: 2}, n: 3, quiet: true,
			wantOut: "logs/build:1\nlogs/build:2\nlogs/build:3\n", wantCalls: 2, wantQuery: client.Query{Limit: pageSize}},
		{name: "quiet with nothing prints nothing", opts: Options{Limit: 2}, n: 0, quiet: true, wantCalls: 1, wantQuery: client.Query{Limit: pageSize}},
		{name: "bad since", opts: Options{Since: "soon"}, wantErr: `time "soon": want a date`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, stderr := iostreams.Test()
			var queries []client.Query
			fake := pagedStore(tt.n, &queries)
			opts := tt.opts
			ios.SetQuiet(tt.quiet)
			opts.IO, opts.Client, opts.Now = ios, fake.Opener(), func() time.Time { return now }
			opts.Config = func() (*config.Config, error) {
				return &config.Config{Output: config.Output{JSON: tt.json, Quiet: tt.quiet}}, nil
			}
			err := lsRun(context.Background(), &opts)
			if tt.wantErr != "" {
				if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) != tt.wantCalls || !reflect.DeepEqual(queries[0], tt.wantQuery) {
				t.Errorf("queries = %+v, want %d starting with %+v", queries, tt.wantCalls, tt.wantQuery)
			}
			if tt.json && !strings.HasPrefix(stdout.String(), tt.wantOut) || !tt.json && stdout.String() != tt.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantOut)
			}
			if tt.json {
				var got []client.Artifact
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
				}
				if tt.wantRefs != 0 && len(got) != tt.wantRefs {
					t.Errorf("got %d artifacts, want %d", len(got), tt.wantRefs)
				}
			}
			if stderr.String() != tt.wantNote {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantNote)
			}
		})
	}
}
