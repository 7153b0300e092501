// Package storeid records which event log a blob backend belongs to, and
// refuses to pair a backend with another log.
//
// Blobs are only garbage relative to the log whose artifacts reference
// them: a local command that opened a daemon's store directory with a new,
// empty SQLite log would see every blob as an orphan, and gc would delete
// them all. So the backend carries a marker (storage.Marker: the object
// artstore-store.json beside the blobs, in a local root or an S3 prefix)
// naming its log: the kind (sqlite or postgres), the log's ID, and where it
// is, for messages. The log's ID is the hash of its first event, which
// every copy of the log (and every daemon sharing one PostgreSQL database)
// has; a log that has no event yet has no ID, and its marker is completed
// by the first Claim that finds one.
//
// Claim is called wherever a log and a backend are opened together (local
// mode, the daemon): it writes the marker when there is none and the
// backend may be adopted, and refuses a backend another log has claimed.
// Check is the read-only form gc runs before it sweeps.
package storeid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
)

// Log kinds.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// ErrForeignLog is matched by errors for a backend whose marker names
// another event log than the one it is opened with.
var ErrForeignLog = errors.New("the blob backend belongs to another event log")

// ErrUnclaimed is matched by errors for a backend that holds blobs but no
// marker, opened with a log that has no event: nothing says the log ever
// saw those blobs, so they must not be taken for garbage.
var ErrUnclaimed = errors.New("the blob backend holds blobs that no event log has claimed")

// Log identifies an event log.
type Log struct {
	// Kind is KindSQLite or KindPostgres; "" when unknown (it then
	// matches any kind: only the ID is compared).
	Kind string `json:"kind"`
	// ID is the hash of the log's first event; "" for a log with none.
	ID string `json:"id"`
	// Location says where the log is, for people: a SQLite file's path or
	// a PostgreSQL DSN without its password.
	Location string `json:"location"`
}

func (l Log) String() string {
	name := "the event log"
	switch l.Kind {
	case KindSQLite:
		name = "the SQLite log"
	case KindPostgres:
		name = "the PostgreSQL log"
	}
	if l.Location != "" {
		name += " " + l.Location
	}
	if l.ID != "" {
		name += " (first event " + shortID(l.ID) + ")"
	}
	return name
}

func shortID(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}

// Marker is the content of the store marker.
type Marker struct {
	Format  int       `json:"format"`
	Log     Log       `json:"log"`
	Created time.Time `json:"created"`
}

// markerFormat is the marker's format version.
const markerFormat = 1

// LogOf returns the identity of log, whose kind and location the caller
// knows.
func LogOf(ctx context.Context, log eventlog.Store, kind, location string) (Log, error) {
	id := ""
	stop := errors.New("first event read")
	err := log.Read(ctx, 0, func(e eventlog.Event) error {
		id = e.Hash
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return Log{}, fmt.Errorf("read the first event of the log: %w", err)
	}
	return Log{Kind: kind, ID: id, Location: location}, nil
}

// Read returns backend b's marker; ok is false when there is none or b
// cannot keep one.
func Read(ctx context.Context, b storage.Backend) (m Marker, ok bool, err error) {
	mk, can := b.(storage.Marker)
	if !can {
		return Marker{}, false, nil
	}
	data, err := mk.ReadMarker(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		return Marker{}, false, nil
	}
	if err != nil {
		return Marker{}, false, err
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Format < 1 {
		return Marker{}, false, fmt.Errorf("backend %s: the store marker %s is damaged (%v); restore it or remove it (the next open writes it again)", b.ID(), storage.MarkerName, err)
	}
	return m, true, nil
}

// HasBlobs reports whether backend b holds at least one blob.
func HasBlobs(ctx context.Context, b storage.Backend) (bool, error) {
	found := errors.New("found a blob")
	err := b.Walk(ctx, func(storage.Info) error { return found })
	if errors.Is(err, found) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("backend %s: look for blobs: %w", b.ID(), err)
	}
	return false, nil
}

// Check reports whether backend b may be used with self, without writing
// anything: nil when its marker names self (or names a log of self's kind
// that had no event when it was written, unless self has none either, is
// at another location, and b now holds blobs), or when b holds no blob; an error matching
// ErrForeignLog when the marker names another log; one matching
// ErrUnclaimed when b holds blobs that self cannot have seen.
func Check(ctx context.Context, b storage.Backend, self Log) error {
	m, ok, err := Read(ctx, b)
	if err != nil {
		return err
	}
	if ok {
		if err := compare(b, m, self); err != nil {
			return err
		}
		// Neither log has an event: the same log (a new store whose first
		// push is in flight) may hold the blobs, another may not.
		if m.Log.ID != "" || self.ID != "" || sameLocation(m.Log, self) {
			return nil
		}
	} else if _, can := b.(storage.Marker); !can {
		return nil // nothing to check against
	}
	has, err := HasBlobs(ctx, b)
	if err != nil || !has {
		return err
	}
	if ok {
		return fmt.Errorf("backend %s holds blobs, but its store marker was written while its log had no event, and %s has none either, so it has never seen them (it would take every one for garbage): %w",
			b.ID(), self, ErrUnclaimed)
	}
	return fmt.Errorf("backend %s holds blobs but no store marker (%s) saying which event log they belong to, and %s has never seen them (it would take every one for garbage): %w",
		b.ID(), storage.MarkerName, self, ErrUnclaimed)
}

// sameLocation reports whether a and b name the same log by kind and
// location (a SQLite path, a redacted DSN).
func sameLocation(a, b Log) bool {
	return a.Kind != "" && a.Kind == b.Kind && a.Location != "" && a.Location == b.Location
}

// compare checks marker m against self.
func compare(b storage.Backend, m Marker, self Log) error {
	kind := m.Log.Kind == self.Kind || m.Log.Kind == "" || self.Kind == ""
	same := kind && (m.Log.ID == self.ID || m.Log.ID == "")
	if same {
		return nil
	}
	return fmt.Errorf("backend %s belongs to %s, not to %s: %w", b.ID(), m.Log, self, ErrForeignLog)
}

// Claim makes backend b belong to self: it writes the marker when there is
// none and b holds no blob, or b holds blobs and self has events (a store
// from before markers existed is adopted by its own log), and completes a
// marker written while the log had no event. It refuses, with Check's
// errors, a backend another log has claimed, and blobs self cannot have
// seen (self has no event). A backend that cannot keep a marker is
// accepted as it is.
func Claim(ctx context.Context, b storage.Backend, self Log, now time.Time) error {
	mk, can := b.(storage.Marker)
	if !can {
		return nil
	}
	if self.ID == "" {
		if err := Check(ctx, b, self); err != nil {
			return err
		}
	}
	m, ok, err := Read(ctx, b)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		m = Marker{Format: markerFormat, Log: self, Created: now.UTC()}
	case compare(b, m, self) != nil:
		return compare(b, m, self)
	case m.Log.ID != "" || self.ID == "":
		return nil
	default:
		m.Log.ID = self.ID // the log's first event came after the marker
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := mk.WriteMarker(ctx, append(data, '\n')); err != nil {
		return fmt.Errorf("backend %s: record its event log: %w", b.ID(), err)
	}
	return nil
}
