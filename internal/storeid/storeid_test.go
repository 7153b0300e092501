package storeid_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storeid"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newLog opens a SQLite log in a fresh directory, with n events.
func newLog(t *testing.T, n int) (eventlog.Store, storeid.Log) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "artstore.db")
	log, err := sqlite.Open(ctx, path, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	for i := range n {
		id := string(rune('A'+i)) + "0000000000000000000000000"
		if _, err := log.Append(ctx, []eventlog.NewEvent{eventlogtest.Registered(t, id, "x/a", string(rune('1'+i)), nil)}); err != nil {
			t.Fatal(err)
		}
	}
	self, err := storeid.LogOf(ctx, log, storeid.KindSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	return log, self
}

// newBackend opens a local backend, holding one blob when withBlob.
func newBackend(t *testing.T, withBlob bool) *local.Backend {
	t.Helper()
	be, err := local.New("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if withBlob {
		data := []byte("a blob")
		if _, err := be.Put(context.Background(), content.FromBytes(data), int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	return be
}

func TestClaim(t *testing.T) {
	ctx := context.Background()

	t.Run("an empty backend is claimed by an empty log, and the ID is completed later", func(t *testing.T) {
		be := newBackend(t, false)
		_, empty := newLog(t, 0)
		if err := storeid.Claim(ctx, be, empty, now); err != nil {
			t.Fatal(err)
		}
		m, ok, err := storeid.Read(ctx, be)
		if err != nil || !ok || m.Log.Kind != storeid.KindSQLite || m.Log.ID != "" {
			t.Fatalf("marker %+v %v %v", m, ok, err)
		}
		_, full := newLog(t, 1)
		if err := storeid.Claim(ctx, be, full, now); err != nil {
			t.Fatal(err)
		}
		if m, _, _ := storeid.Read(ctx, be); m.Log.ID != full.ID || full.ID == "" {
			t.Fatalf("marker ID %q, want the first event's hash %q", m.Log.ID, full.ID)
		}
		// From now on, an empty log (a new SQLite file) is refused.
		if err := storeid.Claim(ctx, be, empty, now); !errors.Is(err, storeid.ErrForeignLog) {
			t.Fatalf("empty log on a claimed backend: %v, want ErrForeignLog", err)
		}
	})

	t.Run("a marker written by an empty log does not let another empty log take later blobs", func(t *testing.T) {
		be := newBackend(t, false)
		_, empty := newLog(t, 0)
		if err := storeid.Claim(ctx, be, empty, now); err != nil {
			t.Fatal(err)
		}
		data := []byte("pushed after the marker")
		if _, err := be.Put(ctx, content.FromBytes(data), int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		_, another := newLog(t, 0)
		if err := storeid.Claim(ctx, be, another, now); !errors.Is(err, storeid.ErrUnclaimed) {
			t.Fatalf("Claim: %v, want ErrUnclaimed", err)
		}
		if err := storeid.Check(ctx, be, storeid.Log{}); !errors.Is(err, storeid.ErrUnclaimed) {
			t.Fatalf("Check (gc, empty log): %v, want ErrUnclaimed", err)
		}
		// The same log (a second process while the first push of a new
		// store is in flight, or its rerun after a kill) is accepted.
		if err := storeid.Claim(ctx, be, empty, now); err != nil {
			t.Fatalf("Claim by the marker's own empty log: %v", err)
		}
	})

	t.Run("a store from before markers is adopted by its own log", func(t *testing.T) {
		be := newBackend(t, true)
		_, self := newLog(t, 2)
		if err := storeid.Claim(ctx, be, self, now); err != nil {
			t.Fatal(err)
		}
		if m, ok, _ := storeid.Read(ctx, be); !ok || m.Log.ID != self.ID {
			t.Fatalf("marker %+v %v after adoption", m, ok)
		}
		if err := storeid.Check(ctx, be, self); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unclaimed blobs are refused by an empty log, and nothing is written", func(t *testing.T) {
		be := newBackend(t, true)
		_, empty := newLog(t, 0)
		if err := storeid.Claim(ctx, be, empty, now); !errors.Is(err, storeid.ErrUnclaimed) {
			t.Fatalf("Claim: %v, want ErrUnclaimed", err)
		}
		if err := storeid.Check(ctx, be, empty); !errors.Is(err, storeid.ErrUnclaimed) {
			t.Fatalf("Check: %v, want ErrUnclaimed", err)
		}
		if _, ok, _ := storeid.Read(ctx, be); ok {
			t.Fatal("a marker was written")
		}
	})

	t.Run("a backend claimed by another log is refused, kind or ID", func(t *testing.T) {
		be := newBackend(t, true)
		_, mine := newLog(t, 1)
		if err := storeid.Claim(ctx, be, mine, now); err != nil {
			t.Fatal(err)
		}
		other := mine
		other.ID = "sha256:" + "ab"
		pg := mine
		pg.Kind = storeid.KindPostgres
		for name, l := range map[string]storeid.Log{"other ID": other, "other kind": pg} {
			if err := storeid.Check(ctx, be, l); !errors.Is(err, storeid.ErrForeignLog) {
				t.Errorf("%s: Check: %v, want ErrForeignLog", name, err)
			}
			if err := storeid.Claim(ctx, be, l, now); !errors.Is(err, storeid.ErrForeignLog) {
				t.Errorf("%s: Claim: %v, want ErrForeignLog", name, err)
			}
		}
		// An unknown kind (gc's check) compares the ID only.
		if err := storeid.Check(ctx, be, storeid.Log{ID: mine.ID}); err != nil {
			t.Errorf("ID-only check: %v", err)
		}
	})
}
