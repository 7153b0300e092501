package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/memtest"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/jackc/pgx/v5"
)

// blobs is an in-memory BlobChecker.
type blobs struct {
	mu    sync.Mutex
	have  map[content.Digest][]byte
	err   error
	asked int // digests passed to Missing
	gets  int
	onGet func(n int) // called with the running count before each Get
}

func (b *blobs) Missing(_ context.Context, ds []content.Digest) ([]content.Digest, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	b.asked += len(ds)
	var out []content.Digest
	for _, d := range ds {
		if _, ok := b.have[d]; !ok && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (b *blobs) Get(_ context.Context, d content.Digest, _ *content.Range) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gets++
	if b.onGet != nil {
		b.onGet(b.gets)
	}
	if b.err != nil {
		return nil, b.err
	}
	data, ok := b.have[d]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", d)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// put stores data and returns its digest.
func (b *blobs) put(data []byte) content.Digest {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := content.FromBytes(data)
	b.have[d] = data
	return d
}

// putManifest encodes and stores m.
func (b *blobs) putManifest(t testing.TB, m content.Manifest) content.Digest {
	t.Helper()
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b.put(data)
}

func (b *blobs) remove(d content.Digest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.have, d)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t     testing.TB
	r     *registry.Registry
	log   eventlog.Store
	blobs *blobs
	clock *clock
	// sql runs a statement on the log's database directly, as a faulty
	// tool or an attacker would.
	sql func(t testing.TB, stmts ...string)
}

// forEachStore runs fn against a SQLite store and, when configured, a
// PostgreSQL one.
func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newSQLiteEnv(t)) })
	t.Run("postgres", func(t *testing.T) {
		_, dsn := pgtest.Schema(t)
		s, err := postgres.Open(context.Background(), dsn, eventlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		e := newEnv(t, s)
		e.sql = func(t testing.TB, stmts ...string) {
			t.Helper()
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			for _, stmt := range stmts {
				if _, err := conn.Exec(context.Background(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
		}
		fn(t, e)
	})
}

// newSQLiteEnv returns an env over a new SQLite log.
func newSQLiteEnv(t testing.TB) *env {
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := sqlite.Open(context.Background(), path, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := newEnv(t, s)
	e.sql = func(t testing.TB, stmts ...string) {
		t.Helper()
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, stmt := range stmts {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	return e
}

func newEnv(t testing.TB, s eventlog.Store) *env {
	e := &env{t: t, log: s, blobs: &blobs{have: map[content.Digest][]byte{}}, clock: &clock{t: t0}}
	e.r = registry.New(s, e.blobs, e.clock.now)
	return e
}

func dg(s string) content.Digest { return content.FromBytes([]byte(s)) }

// req returns a register request for name whose blobs are present: the
// content "content <seed>" as two chunks and a file manifest.
func (e *env) req(name, seed string) registry.RegisterRequest {
	data := []byte("content " + seed)
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: content.FromBytes(data),
		Chunker: content.DefaultChunkerParams(), Chunks: []content.ChunkRef{
			{Digest: e.blobs.put(data[:4]), Size: 4}, {Digest: e.blobs.put(data[4:]), Size: int64(len(data) - 4)}}}
	return registry.RegisterRequest{
		Name: name, ContentDigest: m.Digest, Size: m.Size, ManifestDigest: e.blobs.putManifest(e.t, m),
		MediaType: "application/pdf",
	}
}

func (e *env) register(t *testing.T, r registry.RegisterRequest) registry.Artifact {
	t.Helper()
	a, err := e.r.Register(context.Background(), "alice", r)
	if err != nil {
		t.Fatalf("register %s: %v", r.Name, err)
	}
	e.clock.advance(time.Second)
	return a
}

func TestRegister(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a1 := e.register(t, e.req("reports/q", "1"))
		if a1.Version != "1" || a1.Name != "reports/q" || !a1.Created.Equal(t0) || a1.Creator != "alice" || !slices.Equal(a1.Tags, []string{"latest"}) {
			t.Errorf("first registration = %+v", a1)
		}
		r2 := e.req("reports/q", "2")
		r2.Labels = map[string]string{"env": "prod", "quarter": "q1"}
		r2.Tags = []string{"prod", "latest"}
		r2.Producer = eventlog.Producer{Tool: "make", GitCommit: "abc123", GitBranch: "main", CISystem: "github"}
		r2.Inputs = []registry.Input{{Ref: "reports/q:1", Role: "previous"}, {Digest: dg("raw data"), Role: "data"}}
		a2 := e.register(t, r2)
		wantInputs := []eventlog.Input{{Ref: "reports/q:1", ArtifactID: a1.ID, Digest: a1.ContentDigest, Role: "previous"}, {Digest: dg("raw data"), Role: "data"}}
		if a2.Version != "2" || !slices.Equal(a2.Tags, []string{"latest", "prod"}) || a2.Labels["env"] != "prod" ||
			!slices.Equal(a2.Provenance.Inputs, wantInputs) || a2.Provenance.Producer != r2.Producer {
			t.Errorf("second registration = %+v", a2)
		}
		if a, _ := e.r.Get(ctx, a1.ID); len(a.Tags) != 0 {
			t.Errorf("latest did not move off version 1: %v", a.Tags)
		}
		r3 := e.req("reports/q", "3")
		r3.Version, r3.NoLatest = "v3.0-rc1", true
		a3 := e.register(t, r3)
		if a3.Version != "v3.0-rc1" || len(a3.Tags) != 0 {
			t.Errorf("explicit version without latest = %+v", a3)
		}
		if a := e.register(t, e.req("reports/q", "4")); a.Version != "3" {
			t.Errorf("auto version after 2 and v3.0-rc1 = %q, want 3", a.Version)
		}

		missing := e.req("other", "m")
		notUploaded := content.FromBytes([]byte("ent m"))
		e.blobs.remove(notUploaded) // the second chunk
		noManifest := e.req("other", "n")
		e.blobs.remove(noManifest.ManifestDigest)
		notManifest := e.req("other", "o")
		notManifest.ManifestDigest = e.blobs.put([]byte(`{"not":"a manifest"}`))
		tests := []struct {
			name string
			mod  func(*registry.RegisterRequest)
			want error
		}{
			{"bad name", func(r *registry.RegisterRequest) { r.Name = "Reports" }, registry.ErrInvalid},
			{"bad version", func(r *registry.RegisterRequest) { r.Version = "-1" }, registry.ErrInvalid},
			{"numeric tag", func(r *registry.RegisterRequest) { r.Tags = []string{"12"} }, registry.ErrInvalid},
			{"bad tag", func(r *registry.RegisterRequest) { r.Tags = []string{"a b"} }, registry.ErrInvalid},
			{"no digest", func(r *registry.RegisterRequest) { r.ContentDigest = content.Digest{} }, registry.ErrInvalid},
			{"negative size", func(r *registry.RegisterRequest) { r.Size = -1 }, registry.ErrInvalid},
			{"bad label", func(r *registry.RegisterRequest) { r.Labels = map[string]string{"a b": "c"} }, registry.ErrInvalid},
			{"bad media type", func(r *registry.RegisterRequest) { r.MediaType = "a\nb" }, registry.ErrInvalid},
			{"huge command", func(r *registry.RegisterRequest) { r.Producer.Command = strings.Repeat("x", 5000) }, registry.ErrInvalid},
			{"bad UTF-8 host", func(r *registry.RegisterRequest) { r.Producer.Host = "\xff" }, registry.ErrInvalid},
			{"huge git branch", func(r *registry.RegisterRequest) { r.Producer.GitBranch = strings.Repeat("x", 5000) }, registry.ErrInvalid},
			{"bad UTF-8 git branch", func(r *registry.RegisterRequest) { r.Producer.GitBranch = "\xff" }, registry.ErrInvalid},
			{"too many tags", func(r *registry.RegisterRequest) {
				for i := range 65 {
					r.Tags = append(r.Tags, fmt.Sprintf("t%d", i))
				}
			}, registry.ErrInvalid},
			{"empty input", func(r *registry.RegisterRequest) { r.Inputs = []registry.Input{{Role: "x"}} }, registry.ErrInvalid},
			{"bad input ref", func(r *registry.RegisterRequest) { r.Inputs = []registry.Input{{Ref: "A:"}} }, registry.ErrInvalid},
			{"unknown input", func(r *registry.RegisterRequest) { r.Inputs = []registry.Input{{Ref: "nope:1"}} }, registry.ErrNotFound},
			{"input digest mismatch", func(r *registry.RegisterRequest) {
				r.Inputs = []registry.Input{{Ref: "reports/q:1", Digest: dg("other")}}
			}, registry.ErrConflict},
			{"existing version", func(r *registry.RegisterRequest) { r.Name, r.Version = "reports/q", "2" }, registry.ErrConflict},
			{"version is a tag", func(r *registry.RegisterRequest) { r.Name, r.Version = "reports/q", "prod" }, registry.ErrConflict},
			{"tag is a version", func(r *registry.RegisterRequest) { r.Name, r.Tags = "reports/q", []string{"v3.0-rc1"} }, registry.ErrConflict},
			{"missing blobs", func(r *registry.RegisterRequest) { *r = missing }, registry.ErrMissingBlobs},
			{"missing manifest", func(r *registry.RegisterRequest) { *r = noManifest }, registry.ErrMissingBlobs},
			{"not a manifest", func(r *registry.RegisterRequest) { *r = notManifest }, registry.ErrInvalid},
			{"content digest not the manifest's", func(r *registry.RegisterRequest) { r.ContentDigest = dg("other") }, registry.ErrInvalid},
			{"size not the manifest's", func(r *registry.RegisterRequest) { r.Size++ }, registry.ErrInvalid},
		}
		before, _ := e.log.Head(ctx)
		for _, tc := range tests {
			r := e.req("other", "x")
			tc.mod(&r)
			_, err := e.r.Register(ctx, "alice", r)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		var mb *registry.MissingBlobsError
		if _, err := e.r.Register(ctx, "alice", missing); !errors.As(err, &mb) || len(mb.Digests) != 1 || mb.Digests[0] != notUploaded {
			t.Errorf("missing blobs error = %v", err)
		}
		if _, err := e.r.Register(ctx, "", e.req("other", "y")); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("empty actor: %v", err)
		}
		e.blobs.err = errors.New("backend down")
		if _, err := e.r.Register(ctx, "alice", e.req("other", "z")); err == nil || errors.Is(err, registry.ErrMissingBlobs) {
			t.Errorf("blob checker failure: %v", err)
		}
		e.blobs.err = nil
		if after, _ := e.log.Head(ctx); after != before {
			t.Errorf("refused registrations appended events: head %d -> %d", before.Seq, after.Seq)
		}
		// A deleted version is never reused.
		if _, err := e.r.Delete(ctx, "alice", "reports/q:3", ""); err != nil {
			t.Fatal(err)
		}
		r := e.req("reports/q", "5")
		r.Version = "3"
		if _, err := e.r.Register(ctx, "alice", r); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("re-registering a deleted version: %v", err)
		}
		if a := e.register(t, e.req("reports/q", "6")); a.Version != "4" {
			t.Errorf("auto version after deleting 3 = %s, want 4", a.Version)
		}
	})
}

func TestConcurrentRegisterAssignsDistinctVersions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		const n = 12
		var wg sync.WaitGroup
		versions := make(chan string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			r := e.req("conc", fmt.Sprint(i))
			go func() {
				defer wg.Done()
				a, err := e.r.Register(context.Background(), "w", r)
				if err != nil {
					t.Error(err)
					return
				}
				versions <- a.Version
			}()
		}
		wg.Wait()
		close(versions)
		var got []string
		for v := range versions {
			got = append(got, v)
		}
		sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
		for i, v := range got {
			if v != fmt.Sprint(i+1) {
				t.Fatalf("versions %v are not 1..%d", got, n)
			}
		}
	})
}

func TestGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a1 := e.register(t, e.req("app", "1"))
		r2 := e.req("app", "2")
		r2.Tags = []string{"prod"}
		a2 := e.register(t, r2)
		r3 := e.req("app", "1") // same content as version 1
		r3.NoLatest = true
		a3 := e.register(t, r3)
		gone := e.register(t, e.req("gone", "g"))
		if _, err := e.r.Delete(ctx, "bob", "gone:1", "test"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			ref    string
			wantID string
			err    error
		}{
			{a1.ID, a1.ID, nil},
			{"app:1", a1.ID, nil},
			{"app:2", a2.ID, nil},
			{"app:prod", a2.ID, nil},
			{"app:latest", a2.ID, nil},
			{"app", a2.ID, nil},
			{"app@" + a1.ContentDigest.String(), a3.ID, nil}, // newest with that content
			{"app@" + dg("nothing").String(), "", registry.ErrNotFound},
			{gone.ID, gone.ID, nil}, // a tombstone, by ID
			{"gone:1", "", registry.ErrNotFound},
			{"gone", "", registry.ErrNotFound},
			{"app:9", "", registry.ErrNotFound},
			{"app:staging", "", registry.ErrNotFound},
			{"01JD5Q7Z3N8X9W2Y4K6M1P0R3S", "", registry.ErrNotFound},
			{"App", "", registry.ErrInvalid},
			{"", "", registry.ErrInvalid},
		}
		for _, tc := range tests {
			a, err := e.r.Get(ctx, tc.ref)
			if !errors.Is(err, tc.err) || a.ID != tc.wantID {
				t.Errorf("Get(%q) = %s, %v; want %s, %v", tc.ref, a.ID, err, tc.wantID, tc.err)
			}
		}
		if a, _ := e.r.Get(ctx, gone.ID); a.Deleted == nil || a.Deleted.By != "bob" || a.Deleted.Reason != "test" {
			t.Errorf("tombstone = %+v", a.Deleted)
		}
	})
}

func TestTagAndUntag(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a1 := e.register(t, e.req("app", "1"))
		a2 := e.register(t, e.req("app", "2"))
		if a, err := e.r.Tag(ctx, "bob", "app:1", "prod"); err != nil || !slices.Equal(a.Tags, []string{"prod"}) {
			t.Fatalf("tag = %v, %v", a.Tags, err)
		}
		if a, err := e.r.Tag(ctx, "bob", "app:2", "prod"); err != nil || !slices.Equal(a.Tags, []string{"latest", "prod"}) {
			t.Fatalf("move tag = %v, %v", a.Tags, err)
		}
		if a, _ := e.r.Get(ctx, a1.ID); len(a.Tags) != 0 {
			t.Errorf("tag not moved off app:1: %v", a.Tags)
		}
		head, _ := e.log.Head(ctx)
		if _, err := e.r.Tag(ctx, "bob", "app:2", "prod"); err != nil {
			t.Fatal(err)
		}
		if h, _ := e.log.Head(ctx); h != head {
			t.Error("re-tagging with the same tag appended an event")
		}
		for _, tc := range []struct {
			ref, tag string
			want     error
		}{
			{"app:1", "7", registry.ErrInvalid},
			{"app:1", "", registry.ErrInvalid},
			{"app:1", "2", registry.ErrInvalid},
			{"nope:1", "prod", registry.ErrNotFound},
			{"app:x", "prod", registry.ErrNotFound},
		} {
			if _, err := e.r.Tag(ctx, "bob", tc.ref, tc.tag); !errors.Is(err, tc.want) {
				t.Errorf("Tag(%s, %s) = %v, want %v", tc.ref, tc.tag, err, tc.want)
			}
		}
		r := e.req("app", "3")
		r.Version = "stable"
		e.register(t, r)
		if _, err := e.r.Tag(ctx, "bob", "app:1", "stable"); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("tag named like a version: %v", err)
		}
		tags, err := e.r.Tags(ctx, "app")
		if err != nil || len(tags) != 2 || tags[0].Tag != "latest" || tags[1].Tag != "prod" || tags[1].ArtifactID != a2.ID || tags[1].By != "bob" {
			t.Errorf("tags = %+v, %v", tags, err)
		}
		if err := e.r.Untag(ctx, "bob", "app", "prod"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.Get(ctx, "app:prod"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("untagged ref: %v", err)
		}
		if err := e.r.Untag(ctx, "bob", "app", "prod"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("untag twice: %v", err)
		}
		if err := e.r.Untag(ctx, "bob", "App", "prod"); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("untag bad name: %v", err)
		}
	})
}

func TestLabel(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.req("app", "1")
		r.Labels = map[string]string{"env": "dev", "team": "core"}
		e.register(t, r)
		a, err := e.r.Label(ctx, "bob", "app:1", map[string]string{"env": "prod", "approved": "yes"}, []string{"team", "absent"})
		if err != nil || len(a.Labels) != 2 || a.Labels["env"] != "prod" || a.Labels["approved"] != "yes" {
			t.Fatalf("label = %v, %v", a.Labels, err)
		}
		head, _ := e.log.Head(ctx)
		if _, err := e.r.Label(ctx, "bob", "app:1", map[string]string{"env": "prod"}, []string{"team"}); err != nil {
			t.Fatal(err)
		}
		if h, _ := e.log.Head(ctx); h != head {
			t.Error("a label change that changes nothing appended an event")
		}
		for _, tc := range []struct {
			name   string
			set    map[string]string
			remove []string
			ref    string
			want   error
		}{
			{"bad key", map[string]string{"a b": "x"}, nil, "app:1", registry.ErrInvalid},
			{"bad value", map[string]string{"k": "a\x00"}, nil, "app:1", registry.ErrInvalid},
			{"bad remove key", nil, []string{"-x"}, "app:1", registry.ErrInvalid},
			{"set and remove", map[string]string{"k": "v"}, []string{"k"}, "app:1", registry.ErrInvalid},
			{"unknown artifact", map[string]string{"k": "v"}, nil, "app:2", registry.ErrNotFound},
		} {
			if _, err := e.r.Label(ctx, "bob", tc.ref, tc.set, tc.remove); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
	})
}

func TestRetentionHoldsAndDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.register(t, e.req("rep", "1"))
		now := e.clock.now()
		ret := eventlog.Retention{ExpiresAt: now.Add(48 * time.Hour), ImmutableUntil: now.Add(time.Hour)}
		a, err := e.r.SetRetention(ctx, "carol", "rep:1", ret)
		if err != nil || a.Retention != ret {
			t.Fatalf("set retention = %+v, %v", a.Retention, err)
		}
		if _, err := e.r.SetRetention(ctx, "carol", "rep:1", eventlog.Retention{ImmutableUntil: now.Add(time.Minute)}); !errors.Is(err, registry.ErrForbiddenByRetention) {
			t.Errorf("shortening immutability: %v", err)
		}
		if _, err := e.r.SetRetention(ctx, "carol", "rep:1", eventlog.Retention{}); !errors.Is(err, registry.ErrForbiddenByRetention) {
			t.Errorf("clearing immutability: %v", err)
		}
		if _, err := e.r.Delete(ctx, "carol", "rep:1", ""); !errors.Is(err, registry.ErrForbiddenByRetention) {
			t.Errorf("delete before immutable-until: %v", err)
		}
		e.clock.advance(2 * time.Hour)
		if _, err := e.r.Hold(ctx, "legal", "rep:1", "case-42", "litigation"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.Hold(ctx, "legal", "rep:1", "case-42", ""); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("hold twice: %v", err)
		}
		if _, err := e.r.Hold(ctx, "legal", "rep:1", "bad hold", ""); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("bad hold name: %v", err)
		}
		if _, err := e.r.Delete(ctx, "carol", "rep:1", ""); !errors.Is(err, registry.ErrForbiddenByRetention) {
			t.Errorf("delete under hold: %v", err)
		}
		if _, err := e.r.Release(ctx, "legal", "rep:1", "other", ""); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("release of a hold not placed: %v", err)
		}
		a, err = e.r.Release(ctx, "legal", "rep:1", "case-42", "settled")
		if err != nil || len(a.Holds) != 0 {
			t.Fatalf("release = %+v, %v", a.Holds, err)
		}
		// Immutability has passed, so it may now be changed.
		if _, err := e.r.SetRetention(ctx, "carol", "rep:1", eventlog.Retention{}); err != nil {
			t.Errorf("clearing a past immutability: %v", err)
		}
		a, err = e.r.Delete(ctx, "carol", "rep:1", "expired")
		if err != nil || a.Deleted == nil || a.Deleted.Reason != "expired" || len(a.Tags) != 0 {
			t.Fatalf("delete = %+v, %v", a, err)
		}
		for name, err := range map[string]error{
			"delete twice":      errOnly(e.r.Delete(ctx, "carol", "rep:1", "")),
			"delete by id":      errOnly(e.r.Delete(ctx, "carol", a.ID, "")),
			"hold deleted":      errOnly(e.r.Hold(ctx, "legal", a.ID, "h", "")),
			"retention deleted": errOnly(e.r.SetRetention(ctx, "carol", a.ID, eventlog.Retention{})),
		} {
			if !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", name, err)
			}
		}
		if _, err := e.r.Delete(ctx, "carol", "rep:1", "a\nb"); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("bad reason: %v", err)
		}
	})
}

func errOnly(_ registry.Artifact, err error) error { return err }

func TestRecordRetrieval(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register(t, e.req("app", "1"))
		if err := e.r.RecordRetrieval(ctx, "dave", "app:1", registry.Retrieval{Bytes: a.Size, Client: "artstore/1.0"}); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Minute)
		if err := e.r.RecordRetrieval(ctx, "erin", "app", registry.Retrieval{Bytes: 4, Range: "0-3"}); err != nil {
			t.Fatal(err)
		}
		for _, rec := range []registry.Retrieval{{Bytes: a.Size + 1}, {Bytes: math.MaxInt64}, {Bytes: 5, Range: "0-3"}, {Bytes: 1, Range: "5-100"}} {
			if err := e.r.RecordRetrieval(ctx, "mallory", a.ID, rec); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("retrieval %+v of %d bytes: %v, want ErrInvalid", rec, a.Size, err)
			}
		}
		got, _ := e.r.Get(ctx, a.ID)
		if want := (eventlog.RetrievalStats{Count: 2, Bytes: a.Size + 4, Last: e.clock.now(), LastBy: "erin"}); got.Retrievals != want {
			t.Errorf("stats = %+v, want %+v", got.Retrievals, want)
		}
		if _, err := e.r.Delete(ctx, "x", a.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.r.RecordRetrieval(ctx, "dave", a.ID, registry.Retrieval{Bytes: 1}); err != nil {
			t.Errorf("retrieval of a just-deleted artifact by ID: %v", err)
		}
		if err := e.r.RecordRetrieval(ctx, "dave", "app:1", registry.Retrieval{Bytes: 1}); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("retrieval of deleted by name: %v", err)
		}
		if err := e.r.RecordRetrieval(ctx, "dave", a.ID, registry.Retrieval{Bytes: -1}); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("negative bytes: %v", err)
		}
		evs, err := e.r.Events(ctx, 0, 0)
		if err != nil || len(evs) != 5 || evs[1].Type != eventlog.TypeArtifactRetrieved || evs[1].Actor != "dave" || evs[1].Subject != a.ID {
			t.Errorf("events = %+v, %v", evs, err)
		}
	})
}

func TestList(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		mk := func(name string, labels map[string]string) registry.Artifact {
			r := e.req(name, name+fmt.Sprint(len(labels))+fmt.Sprint(e.clock.now().Unix()))
			r.Labels = labels
			return e.register(t, r)
		}
		a := mk("reports/q_1", map[string]string{"env": "prod", "team": "fin"})
		b := mk("reports/qx1", map[string]string{"env": "dev", "team": "fin"})
		c := mk("builds/app", map[string]string{"env": "prod"})
		d := mk("builds/app", nil)
		if _, err := e.r.Delete(ctx, "x", d.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.SetRetention(ctx, "x", b.ID, eventlog.Retention{ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		sel := func(s string) []eventlog.Selector {
			out, err := registry.ParseSelectors(s)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		tests := []struct {
			name string
			opts registry.ListOptions
			want []string
		}{
			{"all", registry.ListOptions{}, []string{a.ID, b.ID, c.ID}},
			{"with deleted newest first", registry.ListOptions{IncludeDeleted: true, Newest: true}, []string{d.ID, c.ID, b.ID, a.ID}},
			{"name", registry.ListOptions{Name: "builds/app"}, []string{c.ID}},
			{"prefix", registry.ListOptions{NamePrefix: "reports/"}, []string{a.ID, b.ID}},
			{"glob star", registry.ListOptions{NameGlob: "*/app"}, []string{c.ID}},
			{"glob underscore is literal", registry.ListOptions{NameGlob: "reports/q_*"}, []string{a.ID}},
			{"glob question mark", registry.ListOptions{NameGlob: "reports/q?1"}, []string{a.ID, b.ID}},
			{"two labels", registry.ListOptions{Selectors: sel("env=prod,team=fin")}, []string{a.ID}},
			{"not equal", registry.ListOptions{Selectors: sel("env!=prod")}, []string{b.ID}},
			{"not exists", registry.ListOptions{Selectors: sel("!team")}, []string{c.ID}},
			{"created after", registry.ListOptions{CreatedAfter: t0}, []string{b.ID, c.ID}},
			{"created before", registry.ListOptions{CreatedBefore: t0.Add(time.Second)}, []string{a.ID}},
			{"expired", registry.ListOptions{ExpiresBefore: t0.Add(2 * time.Hour)}, []string{b.ID}},
			{"not yet expired", registry.ListOptions{ExpiresBefore: t0.Add(time.Hour)}, nil},
		}
		for _, tc := range tests {
			res, err := e.r.List(ctx, tc.opts)
			var got []string
			for _, x := range res.Artifacts {
				got = append(got, x.ID)
			}
			if err != nil || !slices.Equal(got, tc.want) || res.Next != "" {
				t.Errorf("%s: %v (next %q), %v; want %v", tc.name, got, res.Next, err, tc.want)
			}
		}
		var paged []string
		opts := registry.ListOptions{Limit: 1}
		for i := 0; i < 5; i++ {
			res, err := e.r.List(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range res.Artifacts {
				paged = append(paged, x.ID)
			}
			if res.Next == "" {
				break
			}
			opts.Cursor = res.Next
		}
		if !slices.Equal(paged, []string{a.ID, b.ID, c.ID}) {
			t.Errorf("paged = %v", paged)
		}
		for name, opts := range map[string]registry.ListOptions{
			"bad glob":     {NameGlob: "A*"},
			"bad name":     {Name: "A"},
			"bad cursor":   {Cursor: "x"},
			"bad limit":    {Limit: -1},
			"huge limit":   {Limit: 1 << 20},
			"bad selector": {Selectors: []eventlog.Selector{{Key: " "}}},
		} {
			if _, err := e.r.List(ctx, opts); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
}

func TestLineage(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// src -> lib -> app <- cfg ; src -> app (diamond); app -> report
		with := func(name string, inputs ...string) registry.Artifact {
			r := e.req(name, name)
			for _, in := range inputs {
				r.Inputs = append(r.Inputs, registry.Input{Ref: in, Role: "input"})
			}
			return e.register(t, r)
		}
		src := with("src")
		cfg := with("cfg")
		lib := with("lib", "src")
		r := e.req("app", "app")
		r.Inputs = []registry.Input{{Ref: "lib", Role: "lib"}, {Ref: "src:1", Role: "src"}, {Ref: cfg.ID, Role: "cfg"}, {Digest: dg("toolchain"), Role: "tool"}}
		app := e.register(t, r)
		rep := with("report", "app")

		ids := func(l registry.Lineage) []string {
			var out []string
			for id := range l.Nodes {
				out = append(out, id)
			}
			slices.Sort(out)
			return out
		}
		sorted := func(xs ...string) []string { slices.Sort(xs); return xs }
		tests := []struct {
			name  string
			ref   string
			dir   eventlog.Direction
			depth int
			nodes []string
			edges int
		}{
			{"ancestors depth 1", "report", eventlog.Parents, 1, sorted(rep.ID, app.ID), 1},
			{"ancestors depth 2", "report", eventlog.Parents, 2, sorted(rep.ID, app.ID, lib.ID, src.ID, cfg.ID), 5},
			{"all ancestors (diamond visited once)", "report", eventlog.Parents, 0, sorted(rep.ID, app.ID, lib.ID, src.ID, cfg.ID), 6},
			{"descendants", "src", eventlog.Children, 0, sorted(src.ID, lib.ID, app.ID, rep.ID), 4},
			{"leaf", "report", eventlog.Children, 0, []string{rep.ID}, 0},
		}
		for _, tc := range tests {
			l, err := e.r.Lineage(ctx, tc.ref, tc.dir, tc.depth)
			if err != nil || !slices.Equal(ids(l), tc.nodes) || len(l.Edges) != tc.edges {
				t.Errorf("%s: nodes %v, %d edges, %v; want %v, %d edges", tc.name, ids(l), len(l.Edges), err, tc.nodes, tc.edges)
			}
		}
		if _, err := e.r.Lineage(ctx, "nope", eventlog.Parents, 0); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("lineage of unknown: %v", err)
		}
		if _, err := e.r.Lineage(ctx, "app", eventlog.Direction(7), 0); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("bad direction: %v", err)
		}
	})
}

func TestLogOperations(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := 0; i < 5; i++ {
			e.register(t, e.req("app", fmt.Sprint(i)))
		}
		evs, err := e.r.Events(ctx, 2, 2)
		if err != nil || len(evs) != 2 || evs[0].Seq != 3 || evs[1].Seq != 4 {
			t.Errorf("events after 2, limit 2 = %v, %v", evs, err)
		}
		if evs, err := e.r.Events(ctx, 5, 10); err != nil || len(evs) != 0 {
			t.Errorf("events at head = %v, %v", evs, err)
		}
		if _, err := e.r.Events(ctx, -1, 10); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("negative after: %v", err)
		}
		rep, err := e.r.VerifyLog(ctx, 1)
		if err != nil || rep.Checked != 5 {
			t.Errorf("verify = %+v, %v", rep, err)
		}
		if n, err := e.r.Rebuild(ctx); err != nil || n != 5 {
			t.Errorf("rebuild = %d, %v", n, err)
		}
		if err := e.r.RecordBlobsCollected(ctx, "gc", "default", []content.Digest{dg("a"), dg("b")}, 10); err != nil {
			t.Fatal(err)
		}
		if err := e.r.RecordBlobsCollected(ctx, "gc", "default", nil, 0); err != nil {
			t.Errorf("empty collection: %v", err)
		}
		if err := e.r.RecordBlobsCollected(ctx, "gc", "default", []content.Digest{{}}, 0); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("zero digest: %v", err)
		}
		if evs, err := e.r.Events(ctx, 5, 0); err != nil || len(evs) != 1 || evs[0].Type != eventlog.TypeBlobsCollected || evs[0].Subject != "default" {
			t.Errorf("collection event = %+v, %v", evs, err)
		}
		if h, err := e.r.Head(ctx); err != nil || h.Seq != 6 {
			t.Errorf("head = %+v, %v", h, err)
		}
		if a, err := e.r.Get(ctx, "app"); err != nil || a.Version != "5" {
			t.Errorf("after rebuild app = %s, %v", a.Version, err)
		}
	})
}

// TestRegisterChecksTreeBlobs: for a tree, Register reads each file's
// manifest and checks it and its chunks, and that it describes the file
// the tree lists.
func TestRegisterChecksTreeBlobs(t *testing.T) {
	e := newSQLiteEnv(t)
	ctx := context.Background()
	// tree returns a registration of a tree holding the file entry file
	// and a subdirectory; file returns an entry "a" holding data.
	tree := func(name string, file content.TreeEntry) registry.RegisterRequest {
		m, err := content.NewTreeManifest([]content.TreeEntry{file, {Path: "sub", Type: content.EntryDir, Mode: 0o755}}, "")
		if err != nil {
			t.Fatal(err)
		}
		return registry.RegisterRequest{Name: name, ContentDigest: m.Digest, Size: m.Size, ManifestDigest: e.blobs.putManifest(t, m)}
	}
	file := func(data string) (content.TreeEntry, content.Digest) {
		chunk := e.blobs.put([]byte(data))
		m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: chunk, Chunker: content.DefaultChunkerParams(),
			Chunks: []content.ChunkRef{{Digest: chunk, Size: int64(len(data))}}}
		return content.TreeEntry{Path: "a", Type: content.EntryFile, Mode: 0o644, Size: m.Size, Digest: m.Digest, Manifest: e.blobs.putManifest(t, m)}, chunk
	}

	good, _ := file("tree file")
	if _, err := e.r.Register(ctx, "alice", tree("tree-ok", good)); err != nil {
		t.Fatalf("complete tree: %v", err)
	}

	noChunk, chunk := file("chunk gone")
	e.blobs.remove(chunk)
	var mb *registry.MissingBlobsError
	if _, err := e.r.Register(ctx, "alice", tree("tree-no-chunk", noChunk)); !errors.As(err, &mb) || mb.Digests[0] != chunk {
		t.Fatalf("file chunk missing: %v", err)
	}

	noManifest, _ := file("manifest gone")
	e.blobs.remove(noManifest.Manifest)
	if _, err := e.r.Register(ctx, "alice", tree("tree-no-manifest", noManifest)); !errors.As(err, &mb) || mb.Digests[0] != noManifest.Manifest {
		t.Fatalf("file manifest missing: %v", err)
	}

	wrong, _ := file("listed wrong")
	other, _ := file("another file")
	wrong.Manifest = other.Manifest // a valid manifest, of other bytes
	if _, err := e.r.Register(ctx, "alice", tree("tree-wrong", wrong)); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("file manifest of other content: %v, want ErrInvalid", err)
	}

	// A damaged manifest blob is an integrity error, not an invalid
	// manifest, even when the damage breaks its JSON.
	damaged, _ := file("damaged")
	mb2 := slices.Clone(e.blobs.have[damaged.Manifest])
	mb2[5] ^= 0xff
	e.blobs.have[damaged.Manifest] = mb2
	if _, err := e.r.Register(ctx, "alice", tree("tree-damaged", damaged)); !errors.Is(err, content.ErrMismatch) || errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("damaged file manifest: %v, want content.ErrMismatch", err)
	}
}

// TestRegisterChecksStreamTree: a stream-layout tree lists its chunks
// itself: complete, it registers; with a chunk gone, the chunk is
// reported missing.
func TestRegisterChecksStreamTree(t *testing.T) {
	e := newSQLiteEnv(t)
	ctx := context.Background()
	tree := func(name string, a, b string) (registry.RegisterRequest, content.Digest) {
		ca, cb := e.blobs.put([]byte(a+b)), e.blobs.put([]byte("tail"))
		entries := []content.TreeEntry{
			{Path: "a", Type: content.EntryFile, Mode: 0o644, Size: int64(len(a)), Digest: content.FromBytes([]byte(a))},
			{Path: "b", Type: content.EntryFile, Mode: 0o644, Size: int64(len(b) + 4), Digest: content.FromBytes([]byte(b + "tail")), Offset: int64(len(a))},
			{Path: "l", Type: content.EntrySymlink, Target: "a"},
		}
		size := int64(len(a) + len(b) + 4)
		m := content.Manifest{Schema: content.StreamTreeSchema, Kind: content.KindTree, Size: size, Digest: content.TreeDigest(entries),
			Chunker: content.DefaultChunkerParams(), Entries: entries,
			Chunks: []content.ChunkRef{{Digest: ca, Size: int64(len(a + b))}, {Digest: cb, Size: 4}}}
		return registry.RegisterRequest{Name: name, ContentDigest: m.Digest, Size: m.Size, ManifestDigest: e.blobs.putManifest(t, m)}, ca
	}
	ok, _ := tree("stream-ok", "first file", "second")
	if _, err := e.r.Register(ctx, "alice", ok); err != nil {
		t.Fatalf("complete stream tree: %v", err)
	}
	gone, chunk := tree("stream-gone", "another", "tree")
	e.blobs.remove(chunk)
	var mb *registry.MissingBlobsError
	if _, err := e.r.Register(ctx, "alice", gone); !errors.As(err, &mb) || mb.Count != 1 || mb.Digests[0] != chunk {
		t.Fatalf("stream tree chunk missing: %v", err)
	}
}

// TestRegisterChecksManyTreeFiles: a tree of more files than one check
// batch holds is checked group by group, every file's manifest and chunk:
// complete, it registers; with a chunk gone in the first group and a file
// manifest gone in the last, both are reported.
func TestRegisterChecksManyTreeFiles(t *testing.T) {
	e := newSQLiteEnv(t)
	ctx := context.Background()
	const n = 600 // over two batches of 256
	var entries []content.TreeEntry
	var chunks []content.Digest
	for i := range n {
		data := []byte(fmt.Sprintf("file %d", i))
		chunk := e.blobs.put(data)
		m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: chunk, Chunker: content.DefaultChunkerParams(),
			Chunks: []content.ChunkRef{{Digest: chunk, Size: int64(len(data))}}}
		entries = append(entries, content.TreeEntry{Path: fmt.Sprintf("f%04d", i), Type: content.EntryFile, Mode: 0o644,
			Size: m.Size, Digest: m.Digest, Manifest: e.blobs.putManifest(t, m)})
		chunks = append(chunks, chunk)
	}
	m, err := content.NewTreeManifest(slices.Clone(entries), "")
	if err != nil {
		t.Fatal(err)
	}
	req := registry.RegisterRequest{Name: "many", ContentDigest: m.Digest, Size: m.Size, ManifestDigest: e.blobs.putManifest(t, m)}
	if _, err := e.r.Register(ctx, "alice", req); err != nil {
		t.Fatalf("complete tree of %d files: %v", n, err)
	}
	// One blob gone at a time: a chunk of the first group, a chunk of the
	// last (partial) group, a file manifest of the last group.
	for i, gone := range []content.Digest{chunks[3], chunks[n-1], entries[n-2].Manifest} {
		saved := e.blobs.have[gone]
		e.blobs.remove(gone)
		req.Name = fmt.Sprintf("many-broken-%d", i)
		var mb *registry.MissingBlobsError
		if _, err := e.r.Register(ctx, "alice", req); !errors.As(err, &mb) || mb.Count != 1 || mb.Digests[0] != gone {
			t.Fatalf("tree with %s gone: %v; want it reported", gone.Short(), err)
		}
		e.blobs.have[gone] = saved
	}
}

// TestRegisterTreeMemory: the check of a tree of 60,000 files (all the
// same file, so one file manifest to store) does not hold the file list:
// the live heap halfway through the file manifests' reads is within a few
// MiB of the heap before the registration (+1.2 MB; holding the entries
// took +17.8 MB).
func TestRegisterTreeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("checks a tree of 60,000 files")
	}
	e := newSQLiteEnv(t)
	const n = 60_000
	req := registerManyFiles(t, e, n)
	before := memtest.LiveHeap()
	var during int64
	e.blobs.onGet = func(i int) {
		if i == n/2 {
			during = memtest.LiveHeap()
		}
	}
	if _, err := e.r.Register(context.Background(), "alice", req); err != nil {
		t.Fatal(err)
	}
	e.blobs.onGet = nil
	t.Logf("live heap before the registration %d bytes, halfway through the files %d", before, during)
	if during == 0 {
		t.Fatal("the file manifests were not read")
	}
	if grew := during - before; grew > 3<<20 {
		t.Fatalf("live heap grew by %d bytes while checking the tree: the check holds its file list", grew)
	}
}

// registerManyFiles stores a tree of n entries of one file and returns its
// registration. (A function of its own, so that the entries are garbage
// once it returns.)
func registerManyFiles(t *testing.T, e *env, n int) registry.RegisterRequest {
	t.Helper()
	data := []byte("the same file")
	chunk := e.blobs.put(data)
	fm := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: chunk, Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: chunk, Size: int64(len(data))}}}
	fmd := e.blobs.putManifest(t, fm)
	entries := make([]content.TreeEntry, n)
	for i := range entries {
		entries[i] = content.TreeEntry{Path: fmt.Sprintf("f%06d", i), Type: content.EntryFile, Mode: 0o644, Size: fm.Size, Digest: fm.Digest, Manifest: fmd}
	}
	m, err := content.NewTreeManifest(entries, "")
	if err != nil {
		t.Fatal(err)
	}
	return registry.RegisterRequest{Name: "many-files", ContentDigest: m.Digest, Size: m.Size, ManifestDigest: e.blobs.putManifest(t, m)}
}

// TestRegisterAsksRepeatedChunksOnce: a chunk a manifest lists many times
// (a run of zeros, say) is asked about once, not once per mention.
func TestRegisterAsksRepeatedChunksOnce(t *testing.T) {
	e := newSQLiteEnv(t)
	chunk := e.blobs.put([]byte("zzzz"))
	m := content.Manifest{Kind: content.KindFile, Size: 4 * 100, Digest: content.FromBytes(bytes.Repeat([]byte("zzzz"), 100)),
		Chunker: content.DefaultChunkerParams()}
	for range 100 {
		m.Chunks = append(m.Chunks, content.ChunkRef{Digest: chunk, Size: 4})
	}
	md := e.blobs.putManifest(t, m)
	if _, err := e.r.Register(context.Background(), "alice", registry.RegisterRequest{Name: "zeros", ContentDigest: m.Digest, Size: m.Size, ManifestDigest: md}); err != nil {
		t.Fatal(err)
	}
	if e.blobs.asked != 2 { // the manifest, then the chunk
		t.Fatalf("asked about %d digests for a manifest and one chunk listed 100 times; want 2", e.blobs.asked)
	}
}

// TestGetAtTags resolves references through tags as they stood after the
// log's first size events: moved, removed, gone with their artifact, or
// created since, and a version named like a tag that no longer exists.
func TestGetAtTags(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		size := func() int64 {
			h, err := e.log.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return h.Seq
		}
		a1 := e.register(t, e.req("app", "1"))
		if _, err := e.r.Tag(ctx, "bob", "app:1", "prod"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.Tag(ctx, "bob", "app:1", "rc"); err != nil {
			t.Fatal(err)
		}
		s1 := size() // app:1 is latest, prod and rc
		a2 := e.register(t, e.req("app", "2"))
		if _, err := e.r.Tag(ctx, "bob", "app:2", "prod"); err != nil {
			t.Fatal(err)
		}
		if err := e.r.Untag(ctx, "bob", "app", "rc"); err != nil {
			t.Fatal(err)
		}
		s2 := size() // app:2 is latest and prod; rc is gone
		if _, err := e.r.Tag(ctx, "bob", "app:1", "prod"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.Tag(ctx, "bob", "app:2", "beta"); err != nil {
			t.Fatal(err)
		}
		s3 := size() // prod is back on app:1; beta on app:2
		if _, err := e.r.Delete(ctx, "bob", "app:1", "superseded"); err != nil {
			t.Fatal(err)
		}
		// "rc" was a tag at s1; it is a version now.
		r := e.req("app", "rc")
		r.Version = "rc"
		rc := e.register(t, r)
		// Noise that must not count: another name's tags, retrievals.
		other := e.register(t, e.req("other", "1"))
		if _, err := e.r.Tag(ctx, "bob", "other:1", "prod"); err != nil {
			t.Fatal(err)
		}
		if err := e.r.RecordRetrieval(ctx, "bob", a2.ID, registry.Retrieval{Bytes: 1}); err != nil {
			t.Fatal(err)
		}
		now := size()

		for _, tc := range []struct {
			ref  string
			size int64
			want string // artifact ID; "" for not found
		}{
			{"app:prod", s1, a1.ID},
			{"app:rc", s1, a1.ID},
			{"app", s1, a1.ID},
			{"app:latest", s1, a1.ID},
			{"app:beta", s1, ""},
			{"app:prod", s2, a2.ID},
			// A version registered since is returned, for the caller
			// to refuse with its registration's seq.
			{"app:rc", s2, rc.ID},
			{"app", s2, a2.ID},
			{"app:prod", s3, a1.ID},
			{"app:beta", s3, a2.ID},
			{"app:prod", now, ""}, // went with app:1
			{"app:rc", now, rc.ID},
			{"app:latest", now, latestOf(t, e, "app")},
			{"other:prod", s3, ""},
			{"other:prod", now, other.ID},
			{"app:1", s1, a1.ID},
			{"app:1", now, ""},
			{a1.ID, now, a1.ID},
		} {
			a, err := e.r.GetAt(ctx, tc.ref, tc.size)
			switch {
			case tc.want == "" && !errors.Is(err, registry.ErrNotFound):
				t.Errorf("GetAt(%s, %d) = %s, %v; want not found", tc.ref, tc.size, a.ID, err)
			case tc.want != "" && (err != nil || a.ID != tc.want):
				t.Errorf("GetAt(%s, %d) = %s, %v; want %s", tc.ref, tc.size, a.ID, err, tc.want)
			}
		}
	})
}

// latestOf returns the ID the latest tag of name points at now.
func latestOf(t *testing.T, e *env, name string) string {
	t.Helper()
	a, err := e.r.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestGetAtTagPages replays a tag whose history spans more than one page
// of the name's artifacts: latest pointed at the 1,001st version, on the
// second page, before it was moved back to the first.
func TestGetAtTagPages(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 1,001 versions; skipped with -short")
	}
	e := newSQLiteEnv(t)
	ctx := context.Background()
	var last registry.Artifact
	for i := range 1001 {
		last = e.register(t, e.req("app", strconv.Itoa(i)))
	}
	h, err := e.log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Tag(ctx, "bob", "app:1", "latest"); err != nil {
		t.Fatal(err)
	}
	if a, err := e.r.GetAt(ctx, "app", h.Seq); err != nil || a.ID != last.ID {
		t.Errorf("GetAt(app, %d) = %s (%s), %v; want %s (app:1001)", h.Seq, a.ID, a.Ref(), err, last.ID)
	}
}
