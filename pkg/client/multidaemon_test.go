package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestTwoDaemonsDirectS3 runs two daemons on one PostgreSQL log
// (ARTSTORE_TEST_POSTGRES) and one bucket of a real S3 server
// (ARTSTORE_TEST_S3_ENDPOINT: Ceph RGW in CI), with direct transfers on:
// pushers on both daemons (sharing chunks, so they race to deduplicate),
// pullers on both, and garbage collections with no grace on the first
// daemon while pushes go through the second. Then the log verifies and
// has no gap, each name's versions are 1..n, every artifact pulls back
// byte-identical through either daemon and every blob it names is stored,
// and neither daemon moved blob bytes itself.
func TestTwoDaemonsDirectS3(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	srv := realS3(t)
	ctx := context.Background()
	var urls []string
	var logs []eventlog.Store
	tokens := map[string]string{}
	for i := range 2 {
		log, err := postgres.Open(ctx, dsn, eventlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		be, err := backends.Open(ctx, backends.Spec{ID: "shared", Type: "s3", Bucket: srv.bucket, Prefix: "two/", Region: srv.region,
			Endpoint: srv.endpoint, PathStyle: true, AccessKeyID: srv.access, SecretAccessKey: srv.secret})
		if err != nil {
			t.Fatal(err)
		}
		d, err := server.New(server.Options{Registry: registry.New(log, app.Checker(be), nil), Log: log, Backend: be,
			LogKind: "postgres", LogLocation: "test", Direct: true})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Direct() {
			t.Fatalf("daemon %d: direct transfers off against %s", i, srv.endpoint)
		}
		if i == 0 {
			for _, s := range []auth.Scope{auth.ScopeWrite, auth.ScopeAdmin} {
				if tokens[s.String()], _, err = d.Tokens().Create(ctx, "test", auth.Spec{Name: s.String() + "-bot", Scope: s}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ts := httptest.NewServer(d)
		t.Cleanup(ts.Close)
		urls = append(urls, ts.URL)
		logs = append(logs, log)
	}
	open := func(i int, tok string) *client.Remote {
		r, err := client.OpenRemote(ctx, client.RemoteOptions{URL: urls[i], Token: tokens[tok], BaseDelay: time.Millisecond, MaxDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}

	var mu sync.Mutex
	want := map[string][32]byte{} // artifact ID -> SHA-256 of its bytes
	var moved, again atomic.Int64
	dir := t.TempDir()
	// push pushes body from a file (so the client pushes again by itself
	// when a collection took a blob it deduplicated against), and once
	// more, as a user would, when that happened twice.
	push := func(r *client.Remote, name string, body []byte) error {
		path := filepath.Join(dir, fmt.Sprintf("%x", sha256.Sum256(body)))
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
		var res *client.PushResult
		var err error
		for attempt := range 3 {
			var re *client.RemoteError
			if res, err = r.Push(ctx, client.PushRequest{Path: path, Name: name}); err == nil || !errors.As(err, &re) || re.Code != "missing_blobs" || attempt == 2 {
				break
			}
			again.Add(1)
		}
		if err != nil {
			return err
		}
		mu.Lock()
		want[res.ID] = sha256.Sum256(body)
		mu.Unlock()
		moved.Add(int64(len(body)))
		return nil
	}
	// Bodies share whole chunks (1 MiB, the chunker's minimum cut at 512
	// KiB keeps them apart) and end in a unique tail.
	shared := make([][]byte, 4)
	for i := range shared {
		shared[i] = make([]byte, 1<<20)
		rand.NewChaCha8([32]byte{byte(i), 1}).Read(shared[i])
	}
	body := func(p, i int) []byte {
		b := append(append([]byte(nil), shared[(p+i)%4]...), shared[(p+i+1)%4]...)
		return append(b, fmt.Sprintf("pusher %d push %d", p, i)...)
	}
	if err := push(open(0, "write"), "seed/a", body(9, 9)); err != nil {
		t.Fatal(err)
	}

	const pushers, pushes, names = 6, 4, 3
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	done := make(chan struct{})
	for p := range pushers {
		wg.Go(func() {
			r := open(p%2, "write")
			for i := range pushes {
				if err := push(r, fmt.Sprintf("shared/n%d", i%names), body(p, i)); err != nil {
					errs <- fmt.Errorf("pusher %d push %d through daemon %d: %w", p, i, p%2, err)
				}
			}
		})
	}
	var gcRuns atomic.Int32
	var side sync.WaitGroup
	side.Go(func() { // collections on daemon 0 while pushes go on
		r := open(0, "admin")
		for {
			if _, err := r.GC(ctx, client.GCOptions{Grace: 0}); err != nil {
				errs <- fmt.Errorf("gc: %w", err)
			}
			gcRuns.Add(1)
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	for q := range 2 {
		side.Go(func() { // pulls through both daemons while pushes go on
			r := open(q, "write")
			for {
				var buf bytes.Buffer
				if _, err := r.Pull(ctx, "seed/a:1", &buf, client.PullOptions{}); err != nil {
					errs <- fmt.Errorf("pull through daemon %d: %w", q, err)
				} else if sha256.Sum256(buf.Bytes()) != sha256.Sum256(body(9, 9)) {
					errs <- fmt.Errorf("pull through daemon %d: wrong bytes", q)
				}
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
	wg.Wait()
	close(done)
	side.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if gcRuns.Load() < 2 {
		t.Errorf("%d collections ran during the pushes; want several", gcRuns.Load())
	}
	t.Logf("%d collections during the pushes; %d pushes lost a deduplicated blob to one twice and were run again", gcRuns.Load(), again.Load())

	// Every artifact pulls back whole through either daemon.
	for i, id := range sortedKeys(want) {
		r := open(i%2, "write")
		var buf bytes.Buffer
		if _, err := r.Pull(ctx, id, &buf, client.PullOptions{}); err != nil {
			t.Errorf("pull %s: %v", id, err)
		} else if sha256.Sum256(buf.Bytes()) != want[id] {
			got := sha256.Sum256(buf.Bytes())
			t.Errorf("pull %s: bytes hash to %s", id, hex.EncodeToString(got[:]))
		}
	}
	for i, u := range urls {
		in, out := metricAt(t, u, "artstore_blob_bytes_in_total"), metricAt(t, u, "artstore_blob_bytes_out_total")
		if in != 0 || out != 0 {
			t.Errorf("daemon %d moved %d blob bytes in and %d out of %d pushed; want none with direct transfers", i, in, out, moved.Load())
		}
	}
	checkSharedLog(t, logs, pushers*pushes+1)
	rep, err := open(1, "write").Verify(ctx, client.VerifyOptions{All: true})
	if err != nil || !rep.OK {
		t.Fatalf("verify --all: %+v, %v", rep, err)
	}
}

// checkSharedLog checks the log the daemons share: it verifies, has no
// gap, both daemons see the same head, registered artifacts number n, and
// each name's versions are 1..k.
func checkSharedLog(t *testing.T, logs []eventlog.Store, n int) {
	t.Helper()
	ctx := context.Background()
	rep, err := logs[0].Verify(ctx, 1)
	if err != nil || !rep.OK() {
		t.Fatalf("log verify: %+v, %v", rep, err)
	}
	var seq int64
	registered := 0
	err = logs[0].Read(ctx, 0, func(ev eventlog.Event) error {
		seq++
		if ev.Seq != seq {
			return fmt.Errorf("seq %d after %d: the log has a gap", ev.Seq, seq-1)
		}
		if ev.Type == eventlog.TypeArtifactRegistered {
			registered++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if registered != n {
		t.Errorf("%d artifacts registered, want %d", registered, n)
	}
	if h, _ := logs[1].Head(ctx); h.Seq != seq {
		t.Errorf("daemon 2 sees head %d, daemon 1 %d", h.Seq, seq)
	}
	res, err := registry.New(logs[0], nil, nil).List(ctx, registry.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string][]string{}
	for _, a := range res.Artifacts {
		versions[a.Name] = append(versions[a.Name], a.Version)
	}
	for name, vs := range versions {
		for i, v := range vs {
			if v != fmt.Sprint(i+1) {
				t.Errorf("%s versions %v, want 1..%d", name, vs, len(vs))
				break
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
