package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/registry"
)

// TestErrorsNameTheRefOnce checks that a failed change names its operation
// and reference once: "hold a:9: no such version or tag", not
// "hold a:9: a:9: no such version or tag".
func TestErrorsNameTheRefOnce(t *testing.T) {
	e := newSQLiteEnv(t)
	ctx := context.Background()
	e.register(t, e.req("a", "1"))
	_, errTag := e.r.Tag(ctx, "alice", "a:9", "prod")
	_, errHold := e.r.Hold(ctx, "alice", "a:9", "legal", "case 7")
	_, errRelease := e.r.Release(ctx, "alice", "a:9", "legal", "")
	for _, tt := range []struct {
		err  error
		want string
	}{
		{errTag, "tag a:9: no such version or tag"},
		{errHold, "hold a:9: no such version or tag"},
		{errRelease, "release hold on a:9: no such version or tag"},
	} {
		if tt.err == nil || !errors.Is(tt.err, registry.ErrNotFound) || !strings.HasPrefix(tt.err.Error(), tt.want) {
			t.Errorf("err = %v, want %q...", tt.err, tt.want)
		}
	}
	// An error that does not name the reference gets it.
	_, err := e.r.Hold(ctx, "alice", "a:1", "legal", "x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.r.Hold(ctx, "alice", "a:1", "legal", "x")
	if err == nil || !strings.HasPrefix(err.Error(), "hold a:1: ") {
		t.Errorf("err = %v", err)
	}
}

// TestAuditForward checks paging through the whole trail with Forward.
func TestAuditForward(t *testing.T) {
	e := newSQLiteEnv(t)
	ctx := context.Background()
	for range 5 {
		e.register(t, e.req("a", "x"))
	}
	var seqs []int64
	f := registry.AuditFilter{Forward: true, Limit: 2, Types: []string{"artifact.registered"}}
	for {
		evs, err := e.r.Audit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			seqs = append(seqs, ev.Seq)
			f.After = ev.Seq
		}
		if len(evs) < f.Limit {
			break
		}
	}
	if len(seqs) != 5 || seqs[0] != 1 || seqs[4] != 5 {
		t.Errorf("seqs = %v, want 1..5", seqs)
	}
	// Without Forward: the newest Limit, oldest first.
	evs, err := e.r.Audit(ctx, registry.AuditFilter{Limit: 2})
	if err != nil || len(evs) != 2 || evs[0].Seq != 4 {
		t.Errorf("newest: %v, %v", evs, err)
	}
}

// TestProtectedTags checks that a tag matching a protected pattern is set
// once and then never moved or removed.
func TestProtectedTags(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.r.ProtectTags([]string{"v*", "release-*"}); err != nil {
			t.Fatal(err)
		}
		e.register(t, e.req("app", "1"))
		e.register(t, e.req("app", "2"))
		if _, err := e.r.Tag(ctx, "alice", "app:1", "v1.0"); err != nil {
			t.Fatalf("first tag: %v", err)
		}
		if _, err := e.r.Tag(ctx, "alice", "app:1", "v1.0"); err != nil {
			t.Errorf("tagging the same version again: %v", err)
		}
		_, err := e.r.Tag(ctx, "alice", "app:2", "v1.0")
		if !errors.Is(err, registry.ErrConflict) || !strings.Contains(err.Error(), `tag app:v1.0 is protected (tags.protected "v*") and points at app:1`) {
			t.Errorf("moving a protected tag: %v", err)
		}
		if err := e.r.Untag(ctx, "alice", "app", "v1.0"); !errors.Is(err, registry.ErrConflict) {
			t.Errorf("removing a protected tag: %v", err)
		}
		if a, err := e.r.Get(ctx, "app:v1.0"); err != nil || a.Version != "1" {
			t.Errorf("app:v1.0 = %v, %v; want app:1", a.Ref(), err)
		}
		// Other tags still move.
		for _, ref := range []string{"app:1", "app:2"} {
			if _, err := e.r.Tag(ctx, "alice", ref, "prod"); err != nil {
				t.Errorf("tag %s prod: %v", ref, err)
			}
		}
		if err := e.r.ProtectTags([]string{"[x"}); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("bad pattern: %v", err)
		}
	})
}

// TestNotFoundNamesTheNewestVersion: a reference to a version or tag that
// does not exist says which version of the name is newest, so a bare name
// whose latest went with the version it named (removed) points the user
// at what is left; a name with no live version says so.
func TestNotFoundNamesTheNewestVersion(t *testing.T) {
	e := newSQLiteEnv(t)
	ctx := context.Background()
	e.register(t, e.req("a", "1"))
	e.register(t, e.req("a", "2"))
	a3 := e.register(t, e.req("a", "3"))
	if _, err := e.r.Delete(ctx, "alice", a3.ID, "bad build"); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"a":      "a:latest: no such version or tag (the newest version of a is a:2; artstore ls a lists them): not found",
		"a:prod": "a:prod: no such version or tag (the newest version of a is a:2; artstore ls a lists them): not found",
		"b:1":    "b:1: no such version or tag (no live artifact is named b): not found",
	} {
		_, err := e.r.Get(ctx, ref)
		if !errors.Is(err, registry.ErrNotFound) || err.Error() != want {
			t.Errorf("Get(%q) = %v, want %q", ref, err, want)
		}
	}
	if _, err := e.r.Get(ctx, "a:3"); err == nil || !strings.Contains(err.Error(), "was deleted") {
		t.Errorf("Get(a:3) = %v, want deleted", err)
	}
}
