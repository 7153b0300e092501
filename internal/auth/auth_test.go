package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
)

func openLog(t *testing.T, path string) eventlog.Store {
	t.Helper()
	log, err := sqlite.Open(context.Background(), path, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return log
}

func TestGenerateParse(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, id, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseSecret(s)
		if err != nil || got != id {
			t.Fatalf("ParseSecret(%q) = %q, %v; want %q", s, got, err, id)
		}
		if seen[s] {
			t.Fatal("Generate repeated a token")
		}
		seen[s] = true
	}
	good, _, _ := Generate()
	for _, bad := range []string{"", "art_", "token", good[:len(good)-1], good + "x", strings.ToUpper(good),
		"art_aaaaaaaaaaaaaaa1_" + strings.Repeat("a", 43), "art_aaaaaaaaaaaaaaaa-" + strings.Repeat("a", 43),
		"art_aaaaaaaaaaaaaaaa_" + strings.Repeat("a", 42) + "!"} {
		if _, err := ParseSecret(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSecret(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestScopes(t *testing.T) {
	for _, s := range []string{"read", "write", "admin"} {
		sc, err := ParseScope(s)
		if err != nil || sc.String() != s {
			t.Errorf("ParseScope(%q) = %v, %v", s, sc, err)
		}
	}
	if _, err := ParseScope("root"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseScope(root) = %v", err)
	}
	tok := Token{Scope: ScopeWrite, Prefix: "team/"}
	for _, c := range []struct {
		s    Scope
		name string
		want bool
	}{
		{ScopeRead, "team/a", true}, {ScopeWrite, "team/a", true}, {ScopeAdmin, "team/a", false},
		{ScopeRead, "other/a", false}, {ScopeRead, "team", false}, {ScopeRead, "", false},
	} {
		if got := tok.Allows(c.s, c.name); got != c.want {
			t.Errorf("Allows(%s, %q) = %v, want %v", c.s, c.name, got, c.want)
		}
	}
}

// TestBookAcrossProcesses: two books over one log (two daemons) see each
// other's tokens; a revocation through one is honoured by the other after
// its refresh interval; expiry follows the clock.
func TestBookAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "log.db")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := NewBook(openLog(t, path), clock, time.Hour)
	b := NewBook(openLog(t, path), clock, time.Nanosecond)

	secret, tok, err := a.Create(ctx, "alice", Spec{Scope: ScopeRead, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name != "token-"+tok.ID || tok.CreatedBy != "alice" || !tok.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Errorf("token = %+v", tok)
	}
	// b has never seen it: an unknown ID makes it refresh at once.
	got, err := b.Authenticate(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Subject() != tok.Name {
		t.Fatalf("b.Authenticate = %+v, %v", got, err)
	}
	// Revoked through b; a (refreshing hourly) notices once refreshed.
	if _, err := b.Revoke(ctx, "bob", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("b after revoke: %v", err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a after revoke: %v", err)
	}
	// Expiry.
	s2, _, err := a.Create(ctx, "alice", Spec{Name: "short", Scope: ScopeAdmin, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, s2); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := a.Authenticate(ctx, s2); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("after expiry: %v", err)
	}
	// A wrong secret for a known ID, and an unknown ID.
	id, _ := ParseSecret(s2)
	if _, err := a.Authenticate(ctx, "art_"+id+"_"+strings.Repeat("A", 43)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("wrong secret: %v", err)
	}
	list, err := b.List(ctx)
	if err != nil || len(list) != 2 || list[0].RevokedBy != "bob" {
		t.Errorf("list = %+v, %v", list, err)
	}
	if _, err := a.Revoke(ctx, "x", "nosuchtoken00000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	for _, bad := range []Spec{{}, {Scope: ScopeRead, Prefix: "A B"}, {Scope: ScopeRead, TTL: -time.Second}, {Scope: ScopeRead, Secret: "nope"},
		{Scope: ScopeRead, Name: "bad\nname"}} {
		if _, _, err := a.Create(ctx, "x", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	book := NewBook(openLog(t, filepath.Join(dir, "log.db")), nil, 0)
	path, created, err := book.Bootstrap(ctx, dir, "")
	if err != nil || !created || path != filepath.Join(dir, BootstrapFile) {
		t.Fatalf("Bootstrap = %q, %v, %v", path, created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap file mode = %v, %v; want 0600", st.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	tok, err := book.Authenticate(ctx, strings.TrimSpace(string(b)))
	if err != nil || tok.Scope != ScopeAdmin || tok.Name != "bootstrap" {
		t.Fatalf("bootstrap token = %+v, %v", tok, err)
	}
	// Not again once a token exists.
	if _, created, err := book.Bootstrap(ctx, dir, ""); created || err != nil {
		t.Errorf("second Bootstrap created=%v err=%v", created, err)
	}

	// From the environment: no file is written.
	dir2 := t.TempDir()
	book2 := NewBook(openLog(t, filepath.Join(dir2, "log.db")), nil, 0)
	env, _, _ := Generate()
	path, created, err = book2.Bootstrap(ctx, dir2, env)
	if err != nil || !created || path != "" {
		t.Fatalf("env Bootstrap = %q, %v, %v", path, created, err)
	}
	if _, err := os.Stat(filepath.Join(dir2, BootstrapFile)); !os.IsNotExist(err) {
		t.Errorf("a bootstrap file was written for an environment token: %v", err)
	}
	if _, err := book2.Authenticate(ctx, env); err != nil {
		t.Error(err)
	}
	dir3 := t.TempDir()
	book3 := NewBook(openLog(t, filepath.Join(dir3, "log.db")), nil, 0)
	if _, _, err := book3.Bootstrap(ctx, dir3, "not-a-token"); !errors.Is(err, ErrInvalid) {
		t.Errorf("malformed env token: %v", err)
	}
}

// FuzzParseSecret: any string either parses into a 16-character ID that
// it starts with, or fails with ErrInvalid; it never panics.
func FuzzParseSecret(f *testing.F) {
	good, _, _ := Generate()
	for _, s := range []string{good, "", "art_", "art_aaaaaaaaaaaaaaaa_", good + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSecret(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if len(id) != 16 || !strings.HasPrefix(s, "art_"+id+"_") {
			t.Fatalf("ParseSecret(%q) = %q", s, id)
		}
	})
}
