package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestTwoDaemonsOnePostgres: two daemons share one PostgreSQL schema and one
// blob directory; pushers on both, racing for the same names' version
// numbers, end with one gapless, verifiable log in which every push is
// registered exactly once and each name's versions are 1..n.
func TestTwoDaemonsOnePostgres(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	ctx := context.Background()
	blobs := t.TempDir()
	var urls []string
	var logs []eventlog.Store
	var secret string
	for i := range 2 {
		log, err := postgres.Open(ctx, dsn, eventlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		be, err := local.New("shared", filepath.Join(blobs, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Options{Registry: registry.New(log, app.Checker(be), nil), Log: log, Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// A token created through one daemon works on the other.
			if secret, _, err = srv.Tokens().Create(ctx, "test", auth.Spec{Name: "pusher", Scope: auth.ScopeWrite}); err != nil {
				t.Fatal(err)
			}
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		urls = append(urls, ts.URL)
		logs = append(logs, log)
	}

	const pushers, pushes, names = 8, 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, pushers*pushes)
	for p := range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := client.OpenRemote(ctx, client.RemoteOptions{URL: urls[p%2], Token: secret, BaseDelay: time.Millisecond})
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			for i := range pushes {
				// Shared chunks across pushers (dedup races) plus a unique tail.
				body := append(bytes.Repeat([]byte{byte(i)}, 64<<10), fmt.Sprintf("pusher %d push %d", p, i)...)
				if _, err := r.Push(ctx, client.PushRequest{Reader: bytes.NewReader(body), Name: fmt.Sprintf("shared/n%d", i%names)}); err != nil {
					errs <- fmt.Errorf("pusher %d push %d: %w", p, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	log := logs[0]
	rep, err := log.Verify(ctx, 1)
	if err != nil || !rep.OK() {
		t.Fatalf("log verify: %+v, %v", rep, err)
	}
	var seq int64
	registered := 0
	versions := map[string][]string{}
	err = log.Read(ctx, 0, func(ev eventlog.Event) error {
		seq++
		if ev.Seq != seq {
			return fmt.Errorf("seq %d after %d: the log has a gap", ev.Seq, seq-1)
		}
		if ev.Type == eventlog.TypeArtifactRegistered {
			registered++
			if ev.Actor != "pusher" {
				return fmt.Errorf("event %d by %q, want the token's subject", ev.Seq, ev.Actor)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if registered != pushers*pushes {
		t.Errorf("%d artifacts registered, want %d", registered, pushers*pushes)
	}
	if h, _ := logs[1].Head(ctx); h.Seq != seq || h.Hash != rep.Head.Hash {
		t.Errorf("daemon 2 sees head %+v, daemon 1 %d %s", h, seq, rep.Head.Hash)
	}
	reg := registry.New(log, nil, nil)
	res, err := reg.List(ctx, registry.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Artifacts {
		versions[a.Name] = append(versions[a.Name], a.Version)
	}
	for n, vs := range versions {
		for i, v := range vs {
			if v != fmt.Sprint(i+1) {
				t.Errorf("%s versions %v, want 1..%d in order", n, vs, len(vs))
				break
			}
		}
	}
	// The views equal a replay of the log.
	var before, after bytes.Buffer
	if err := log.ViewDump(ctx, &before); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if err := log.ViewDump(ctx, &after); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.Bytes(), after.Bytes()) {
		t.Error("the live views differ from a rebuild")
	}
}
