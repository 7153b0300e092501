package log

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

func TestNewCmdLog(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: nil, want: Options{}},
		{args: []string{"--after", "5", "-n", "3", "--follow"}, want: Options{After: 5, Limit: 3, Follow: true}},
		{args: []string{"--after", "-1"}, wantUsage: true},
		{args: []string{"--limit", "-1"}, wantUsage: true},
		{args: []string{"extra"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdLog(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got.After != tt.want.After || got.Limit != tt.want.Limit || got.Follow != tt.want.Follow {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

// logStore holds n events and, when following, cancels ctx once the
// events are used up and a long-poll is asked for.
type logStore struct {
	n      int64
	calls  []string
	cancel context.CancelFunc
}

func (s *logStore) events(ctx context.Context, after int64, limit int, wait time.Duration) ([]client.Event, error) {
	s.calls = append(s.calls, fmt.Sprintf("after=%d limit=%d wait=%v", after, limit, wait))
	var out []client.Event
	for seq := after + 1; seq <= s.n && len(out) < limit; seq++ {
		out = append(out, client.Event{Seq: seq, Time: time.Date(2026, 11, 27, 10, 0, int(seq), 0, time.UTC), Actor: "alice@h",
			Type: "tag.moved.v1", Subject: "01J", Payload: map[string]any{"name": "a", "tag": "prod"}, Hash: fmt.Sprintf("h%d", seq)})
	}
	if len(out) == 0 && wait > 0 && s.cancel != nil {
		s.cancel()
		return nil, fmt.Errorf("events: %w", ctx.Err())
	}
	return out, nil
}

func TestLogRun(t *testing.T) {
	line := func(seq int) string {
		return fmt.Sprintf("%6d  2026-11-27T10:00:%02dZ  tag.moved.v1            01J  alice@h  a tag=prod\n", seq, seq)
	}
	tests := []struct {
		name      string
		opts      Options
		n         int64
		json      bool
		want      string
		wantCalls []string
	}{
		{name: "all, in batches", opts: Options{}, n: 3, want: line(1) + line(2) + line(3), wantCalls: []string{"after=0 limit=1000 wait=0s"}},
		{name: "window", opts: Options{After: 1, Limit: 1}, n: 3, want: line(2), wantCalls: []string{"after=1 limit=1 wait=0s"}},
		{name: "json array", opts: Options{Limit: 1}, n: 3, json: true, want: "[\n  {\n    \"seq\": 1,\n    \"time\": \"2026-11-27T10:00:01Z\",\n    \"actor\": \"alice@h\",\n    \"type\": \"tag.moved.v1\",\n    \"subject\": \"01J\",\n    \"payload\": {\n      \"name\": \"a\",\n      \"tag\": \"prod\"\n    },\n    \"prev\": \"\",\n    \"hash\": \"h1\"\n  }\n]\n"},
		{name: "json empty", opts: Options{}, n: 0, json: true, want: "[]\n"},
		{name: "follow until interrupted", opts: Options{Follow: true}, n: 2, want: line(1) + line(2),
			wantCalls: []string{"after=0 limit=1000 wait=30s", "after=2 limit=1000 wait=30s"}},
		{name: "follow as JSON lines", opts: Options{Follow: true}, n: 1, json: true,
			want: `{"seq":1,"time":"2026-11-27T10:00:01Z","actor":"alice@h","type":"tag.moved.v1","subject":"01J","payload":{"name":"a","tag":"prod"},"prev":"","hash":"h1"}` + "\n"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithCancel(context.Background())
		ios, _, stdout, _ := iostreams.Test()
		ls := &logStore{n: tt.n, cancel: cancel}
		fake := &fakestore.Store{EventsFunc: ls.events}
		opts := tt.opts
		opts.IO, opts.Config, opts.Client = ios, fakestore.Config(tt.json), fake.Opener()
		if err := logRun(ctx, &opts); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		cancel()
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.name, stdout, tt.want)
		}
		if tt.wantCalls != nil && strings.Join(ls.calls, "; ") != strings.Join(tt.wantCalls, "; ") {
			t.Errorf("%s: calls %q, want %q", tt.name, ls.calls, tt.wantCalls)
		}
	}
}

func TestLogRunError(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	fake := &fakestore.Store{EventsFunc: func(context.Context, int64, int, time.Duration) ([]client.Event, error) {
		return nil, fmt.Errorf("log store: %w", client.ErrUnavailable)
	}}
	err := logRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(false), Client: fake.Opener()})
	if cmdutil.ExitCodeOf(err) != cmdutil.ExitUnavailable {
		t.Errorf("err = %v, want unavailable", err)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		p    map[string]any
		want string
	}{
		{map[string]any{"name": "r/q", "version": "3", "size": float64(1536), "content_digest": "sha256:x", "id": "01J"}, "r/q:3 size=1536"},
		{map[string]any{"name": "r/q", "tag": "prod", "artifact_id": "01J"}, "r/q tag=prod"},
		{map[string]any{"set": map[string]any{"b": "2", "a": "1"}, "remove": []any{"old"}}, "+a=1 +b=2 -old"},
		{map[string]any{"bytes": float64(10), "range": "0-9", "client": "x"}, "bytes=10 range=0-9"},
		{map[string]any{"reason": "audit\x1b[2J"}, "reason=audit\uFFFD[2J"},
		{map[string]any{"reason": strings.Repeat("x", 200)}, "reason=" + strings.Repeat("x", 92) + "…"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Summary(tt.p); got != tt.want {
			t.Errorf("Summary(%v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
