// Package eventlogtest is the conformance suite every eventlog.Store
// implementation passes. A store package runs it in a few lines:
//
//	func TestConformance(t *testing.T) { eventlogtest.Run(t, newDB) }
package eventlogtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
)

// DB is one fresh, empty database for a test, with raw-SQL tampering that
// bypasses the append-only triggers.
type DB interface {
	// Open opens a store on the database. It may be called several times;
	// the stores share the database like separate processes would. The DB
	// closes them when the test ends.
	Open(t testing.TB, opts eventlog.Options) eventlog.Store
	// TamperBody changes one byte of event seq's stored body, leaving its
	// hash as it is.
	TamperBody(t testing.TB, seq int64)
	// TamperHash replaces event seq's stored hash.
	TamperHash(t testing.TB, seq int64)
	// TamperSubject replaces event seq's subject column (not its body).
	TamperSubject(t testing.TB, seq int64, subject string)
	// DeleteRow removes event seq.
	DeleteRow(t testing.TB, seq int64)
	// TryUpdate and TryDelete attempt a plain UPDATE / DELETE of event seq
	// (triggers in force) and return the database's error.
	TryUpdate(t testing.TB, seq int64) error
	TryDelete(t testing.TB, seq int64) error
	// ForgetTree drops the tables of migrations 2 and later and their
	// records, leaving the database as it was before the Merkle tree
	// existed (schema version 1).
	ForgetTree(t testing.TB)
	// RevertTree takes the database back to schema version 3, before
	// tree_nodes and live_names: those tables dropped, migration 0003's
	// index back, and migration 0002's merkle_nodes holding nodes (every
	// node and leaf, keyed by tlog.NodeKey).
	RevertTree(t testing.TB, nodes map[int64][]byte)
	// ReplaceEvents deletes the events with seq >= from and inserts rows;
	// with nodes not nil it also replaces every Merkle tree row with
	// nodes (tree_nodes rows keyed by seq, as TreeRows returns them).
	ReplaceEvents(t testing.TB, from int64, rows []eventlog.StoredRow, nodes map[int64][]byte)
}

// NewDB returns a fresh database for t and arranges its removal.
type NewDB func(t testing.TB) DB

// Run runs the conformance suite.
func Run(t *testing.T, newDB NewDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newDB NewDB)
	}{
		{"EmptyLog", testEmptyLog},
		{"AppendOrderAndGapless", testAppendOrder},
		{"ReadFromSeq", testReadFromSeq},
		{"ReadSubject", testReadSubject},
		{"ReadSubjectPrefix", testReadSubjectPrefix},
		{"InvalidEventsRejected", testInvalidEvents},
		{"FailedProjectionRollsBack", testFailedProjection},
		{"AppendFunc", testAppendFunc},
		{"ConcurrentAppenders", testConcurrent},
		{"VerifyDetectsTampering", testTamper},
		{"EventChecksItsNeighbours", testEvent},
		{"AppendOnlyEnforced", testAppendOnly},
		{"RebuildEqualsLive", testRebuild},
		{"Views", testViews},
		{"NamesAndVersions", testNames},
		{"OlderTypeVersionReplays", testOldVersion},
		{"RegisteredV1AndV2Replay", testRegisteredV1AndV2},
		{"RepairedIsAnAuditRecord", testRepaired},
		{"ImportedIsAnAuditRecord", testImported},
		{"RebuildIsStrict", testRebuildStrict},
		{"RetrievalBytesSaturate", testRetrievalBytesSaturate},
		{"TreeAndProofs", testTree},
		{"TreeProofSizes", testTreeSizes},
		{"TreeFailedAppend", testTreeFailedAppend},
		{"TreeNotAView", testTreeNotAView},
		{"TreeBuiltOnOpen", testTreeBuiltOnOpen},
		{"RewrittenHistory", testRewrittenHistory},
		{"DamagedTreeRows", testDamagedTreeRows},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDB) })
	}
}

// Fixed values for building events.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

// Digest returns a deterministic digest for test data named s.
func Digest(s string) content.Digest { return content.FromBytes([]byte(s)) }

// Event builds a NewEvent for p, failing t on error.
func Event(t testing.TB, actor, subject string, p eventlog.Payload) eventlog.NewEvent {
	t.Helper()
	ne, err := eventlog.New(actor, subject, p)
	if err != nil {
		t.Fatal(err)
	}
	return ne
}

// Registered returns an ArtifactRegistered event for id name:version.
func Registered(t testing.TB, id, name, version string, labels map[string]string, inputs ...eventlog.Input) eventlog.NewEvent {
	return Event(t, "alice", id, &eventlog.ArtifactRegistered{
		ID: id, Name: name, Version: version,
		ContentDigest: Digest("content " + id), Size: int64(len(id)),
		ManifestDigest: Digest("manifest " + id), MediaType: "text/plain",
		Labels:     labels,
		Provenance: eventlog.Provenance{Producer: eventlog.Producer{Tool: "test", GitCommit: "abc"}, Inputs: inputs},
		Tags:       []string{"latest"},
	})
}

func appendOK(t testing.TB, s eventlog.Store, evs ...eventlog.NewEvent) []eventlog.Event {
	t.Helper()
	out, err := s.Append(context.Background(), evs)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if len(out) != len(evs) {
		t.Fatalf("append returned %d events, want %d", len(out), len(evs))
	}
	return out
}

func readAll(t testing.TB, s eventlog.Store, after int64) []eventlog.Event {
	t.Helper()
	var out []eventlog.Event
	if err := s.Read(context.Background(), after, func(e eventlog.Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatalf("read: %v", err)
	}
	return out
}

func head(t testing.TB, s eventlog.Store) eventlog.Head {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func verifyOK(t testing.TB, s eventlog.Store, from int64) eventlog.VerifyReport {
	t.Helper()
	rep, err := s.Verify(context.Background(), from)
	if err != nil || !rep.OK() {
		t.Fatalf("verify from %d: %+v, %v", from, rep, err)
	}
	return rep
}

func dump(t testing.TB, s eventlog.Store) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.ViewDump(context.Background(), &b); err != nil {
		t.Fatalf("view dump: %v", err)
	}
	return b.String()
}

func testEmptyLog(t *testing.T, newDB NewDB) {
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	if h := head(t, s); h != (eventlog.Head{}) {
		t.Errorf("head of empty log = %+v", h)
	}
	if evs := readAll(t, s, 0); len(evs) != 0 {
		t.Errorf("read of empty log returned %d events", len(evs))
	}
	if rep := verifyOK(t, s, 1); rep.Checked != 0 {
		t.Errorf("verify of empty log checked %d", rep.Checked)
	}
	if out, err := s.Append(context.Background(), nil); err != nil || len(out) != 0 {
		t.Errorf("empty append = %v, %v", out, err)
	}
	if n, err := s.Rebuild(context.Background()); err != nil || n != 0 {
		t.Errorf("rebuild of empty log = %d, %v", n, err)
	}
}

func testAppendOrder(t *testing.T, newDB NewDB) {
	db := newDB(t)
	s := db.Open(t, eventlog.Options{Now: func() time.Time { return t0 }})
	var want []eventlog.Event
	for batch := 1; batch <= 4; batch++ {
		var evs []eventlog.NewEvent
		for i := 0; i < batch; i++ {
			id := fmt.Sprintf("A%d_%d", batch, i)
			evs = append(evs, Registered(t, id, "reports/x", id, map[string]string{"batch": fmt.Sprint(batch)}))
		}
		evs[0].Time = t0.Add(time.Hour).In(time.FixedZone("X", 3600))
		want = append(want, appendOK(t, s, evs...)...)
	}
	for i, e := range want {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i+1, e.Seq)
		}
		if i > 0 && e.Prev != want[i-1].Hash {
			t.Fatalf("event %d prev %q != hash of %d", e.Seq, e.Prev, i)
		}
		if e.Hash != eventlog.Hash(e.Prev, e.Body) {
			t.Fatalf("event %d hash does not cover prev||body", e.Seq)
		}
	}
	if want[0].Prev != "" || want[0].Time != t0.Add(time.Hour) || want[2].Time != t0 {
		t.Errorf("first events: prev %q, times %v %v", want[0].Prev, want[0].Time, want[2].Time)
	}
	got := readAll(t, s, 0)
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC || g.Actor != w.Actor || g.Type != w.Type ||
			g.Subject != w.Subject || g.Prev != w.Prev || g.Hash != w.Hash || !bytes.Equal(g.Body, w.Body) || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("read event %d = %+v\nappended %+v", i+1, g, w)
		}
	}
	if h := head(t, s); h.Seq != 10 || h.Hash != want[9].Hash {
		t.Errorf("head = %+v", h)
	}
	if rep := verifyOK(t, s, 0); rep.Checked != 10 || rep.Head.Seq != 10 {
		t.Errorf("verify report %+v", rep)
	}
}

// testReadSubject: ReadSubject gives what a Read filtered by subject
// gives, over several pages and any range, and refuses a row whose
// subject column disagrees with its body.
func testReadSubject(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	evs := []eventlog.NewEvent{Registered(t, "A", "r/a", "1", nil), Registered(t, "B", "r/b", "1", nil)}
	for i := range 2600 { // several pages of A's events, with others between them
		subject := "A"
		switch i % 5 {
		case 3:
			subject = "B"
		case 4:
			evs = append(evs, Event(t, "gc", "", &eventlog.BlobsCollected{Digests: []content.Digest{Digest(fmt.Sprint(i))}, Bytes: 1}))
			continue
		}
		evs = append(evs, Event(t, "ci", subject, &eventlog.ArtifactRetrieved{ArtifactID: subject, Bytes: int64(i)}))
	}
	appendOK(t, s, evs...)
	head := int64(len(evs))
	filtered := func(subject string, after, upTo int64) []int64 {
		var out []int64
		for _, e := range readAll(t, s, after) {
			if e.Subject == subject && e.Seq <= upTo {
				out = append(out, e.Seq)
			}
		}
		return out
	}
	for _, subject := range []string{"A", "B", "", "C"} {
		for _, r := range [][2]int64{{0, head}, {0, 1000}, {1, 1500}, {1500, head}, {head - 3, head}, {head, head}, {10, 5}, {0, head + 10}} {
			var got []int64
			err := s.ReadSubject(ctx, subject, r[0], r[1], func(e eventlog.Event) error {
				if e.Subject != subject || e.Hash == "" || e.Payload == nil {
					t.Fatalf("ReadSubject(%q) gave %+v", subject, e)
				}
				got = append(got, e.Seq)
				return nil
			})
			if err != nil {
				t.Fatalf("ReadSubject(%q, %d, %d): %v", subject, r[0], r[1], err)
			}
			if want := filtered(subject, r[0], r[1]); !reflect.DeepEqual(got, want) {
				t.Errorf("ReadSubject(%q, %d, %d): %d events, want %d", subject, r[0], r[1], len(got), len(want))
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.ReadSubject(ctx, "A", 0, head, func(eventlog.Event) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ReadSubject with a failing callback = %v after %d calls", err, calls)
	}
	db.TamperSubject(t, 5, "B")
	if err := s.ReadSubject(ctx, "B", 0, head, func(eventlog.Event) error { return nil }); !errors.Is(err, eventlog.ErrTampered) {
		t.Errorf("ReadSubject over a row indexed under another subject: %v, want ErrTampered", err)
	}
}

// testReadSubjectPrefix: ReadSubjectPrefix gives what a Read filtered by
// the subject's prefix gives, in seq order, over several pages and any
// range, in byte order whatever the database's collation (subjects that
// differ from the prefix only in punctuation or case are not in it), and
// refuses a row whose subject column is in the range but whose body is
// not.
func testReadSubjectPrefix(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	subjects := []string{"rule:b", "rule:a", "rule-x", "rulex", "rule;", "Rule:c", "rule", "rule:", "rule:a:b", "rules"}
	var evs []eventlog.NewEvent
	for i := range 1300 { // rule:a and rule:b take several pages
		subject := subjects[i%len(subjects)]
		if i%len(subjects) >= 2 && i >= 20 {
			subject = subjects[i%2]
		}
		evs = append(evs, Event(t, "admin", subject, &eventlog.RetentionRuleAdded{ID: fmt.Sprint(i), Pattern: "p/*", KeepLast: 1}))
	}
	appendOK(t, s, evs...)
	head := int64(len(evs))
	filtered := func(prefix string, after, upTo int64) []int64 {
		var out []int64
		for _, e := range readAll(t, s, after) {
			if strings.HasPrefix(e.Subject, prefix) && e.Seq <= upTo {
				out = append(out, e.Seq)
			}
		}
		return out
	}
	for _, prefix := range []string{"rule:", "rule:a", "rule", "Rule:", "r", "x", "rule;"} {
		for _, r := range [][2]int64{{0, head}, {0, 15}, {3, 700}, {700, head}, {head - 3, head}, {head, head}, {10, 5}} {
			var got []int64
			err := s.ReadSubjectPrefix(ctx, prefix, r[0], r[1], func(e eventlog.Event) error {
				if !strings.HasPrefix(e.Subject, prefix) || e.Hash == "" || e.Payload == nil {
					t.Fatalf("ReadSubjectPrefix(%q) gave %+v", prefix, e)
				}
				got = append(got, e.Seq)
				return nil
			})
			if err != nil {
				t.Fatalf("ReadSubjectPrefix(%q, %d, %d): %v", prefix, r[0], r[1], err)
			}
			if want := filtered(prefix, r[0], r[1]); !reflect.DeepEqual(got, want) {
				t.Errorf("ReadSubjectPrefix(%q, %d, %d): %v, want %v", prefix, r[0], r[1], clip(got), clip(want))
			}
		}
	}
	if err := s.ReadSubjectPrefix(ctx, "", 0, head, func(eventlog.Event) error { return nil }); !errors.Is(err, eventlog.ErrInvalidQuery) {
		t.Errorf("ReadSubjectPrefix with no prefix: %v, want ErrInvalidQuery", err)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.ReadSubjectPrefix(ctx, "rule:", 0, head, func(eventlog.Event) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ReadSubjectPrefix with a failing callback = %v after %d calls", err, calls)
	}
	db.TamperSubject(t, 3, "rule:zz") // event 3 is about rule-x
	if err := s.ReadSubjectPrefix(ctx, "rule:", 0, head, func(eventlog.Event) error { return nil }); !errors.Is(err, eventlog.ErrTampered) {
		t.Errorf("ReadSubjectPrefix over a row indexed under another subject: %v, want ErrTampered", err)
	}
}

// clip shortens a list of seqs for a message.
func clip(seqs []int64) string {
	if len(seqs) <= 12 {
		return fmt.Sprint(seqs)
	}
	return fmt.Sprintf("%v ... %v (%d)", seqs[:6], seqs[len(seqs)-6:], len(seqs))
}

func testReadFromSeq(t *testing.T, newDB NewDB) {
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	const n = 2503 // several pages
	evs := make([]eventlog.NewEvent, n)
	for i := range evs {
		evs[i] = Event(t, "gc", "", &eventlog.BlobsCollected{Digests: []content.Digest{Digest(fmt.Sprint(i))}, Bytes: int64(i)})
	}
	appendOK(t, s, evs...)
	for _, after := range []int64{0, 1, 999, 1000, 2502, 2503, 5000} {
		got := readAll(t, s, after)
		wantN := max(0, n-after)
		if int64(len(got)) != wantN {
			t.Errorf("read after %d: %d events, want %d", after, len(got), wantN)
			continue
		}
		for i, e := range got {
			if e.Seq != after+1+int64(i) {
				t.Fatalf("read after %d: event %d has seq %d", after, i, e.Seq)
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Read(context.Background(), 0, func(eventlog.Event) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("read with failing callback = %v after %d calls", err, calls)
	}
	if rep := verifyOK(t, s, 1500); rep.Checked != n-1499 {
		t.Errorf("verify from 1500 checked %d", rep.Checked)
	}
}

func testInvalidEvents(t *testing.T, newDB NewDB) {
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	appendOK(t, s, Registered(t, "A", "x", "1", nil))
	good := Registered(t, "B", "x", "2", nil)
	tests := []struct {
		name string
		mod  func(*eventlog.NewEvent)
		want error
	}{
		{"empty actor", func(e *eventlog.NewEvent) { e.Actor = "" }, eventlog.ErrInvalidEvent},
		{"control char in actor", func(e *eventlog.NewEvent) { e.Actor = "a\nb" }, eventlog.ErrInvalidEvent},
		{"bad type name", func(e *eventlog.NewEvent) { e.Type = "Artifact Registered" }, eventlog.ErrInvalidEvent},
		{"unknown type", func(e *eventlog.NewEvent) { e.Type = "artifact.exploded.v9" }, eventlog.ErrUnknownType},
		{"payload not an object", func(e *eventlog.NewEvent) { e.Payload = json.RawMessage(`[1]`) }, eventlog.ErrInvalidEvent},
		{"payload not JSON", func(e *eventlog.NewEvent) { e.Payload = json.RawMessage(`{"id":`) }, eventlog.ErrInvalidEvent},
		{"unknown payload member", func(e *eventlog.NewEvent) { e.Payload = json.RawMessage(`{"id":"B","nope":1}`) }, eventlog.ErrInvalidEvent},
		{"payload fails validation", func(e *eventlog.NewEvent) { e.Payload = json.RawMessage(`{"id":"B"}`) }, eventlog.ErrInvalidEvent},
	}
	for _, tc := range tests {
		ev := good
		tc.mod(&ev)
		// A valid event first: the whole batch must be refused.
		_, err := s.Append(context.Background(), []eventlog.NewEvent{Registered(t, "C", "y", "1", nil), ev})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if h := head(t, s); h.Seq != 1 {
		t.Errorf("head after refused appends = %d, want 1", h.Seq)
	}
	if _, err := s.ArtifactByVersion(context.Background(), "y", "1"); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("artifact of a refused batch is visible: %v", err)
	}
}

func testFailedProjection(t *testing.T, newDB NewDB) {
	db := newDB(t)
	ctx := context.Background()
	s := db.Open(t, eventlog.Options{})
	appendOK(t, s, Registered(t, "A", "x", "1", nil))
	before := dump(t, s)
	tests := []struct {
		name string
		ev   eventlog.NewEvent
		want error
	}{
		{"duplicate version", Registered(t, "B", "x", "1", nil), eventlog.ErrConflict},
		{"duplicate id", Registered(t, "A", "z", "1", nil), eventlog.ErrConflict},
		{"tag of unknown artifact", Event(t, "a", "Z", &eventlog.TagMoved{Name: "x", Tag: "prod", ArtifactID: "Z"}), eventlog.ErrProjection},
		{"tag across names", Event(t, "a", "A", &eventlog.TagMoved{Name: "other", Tag: "prod", ArtifactID: "A"}), eventlog.ErrProjection},
		{"remove missing tag", Event(t, "a", "A", &eventlog.TagRemoved{Name: "x", Tag: "nope"}), eventlog.ErrProjection},
		{"labels of unknown artifact", Event(t, "a", "Z", &eventlog.LabelsChanged{ArtifactID: "Z", Set: map[string]string{"k": "v"}}), eventlog.ErrProjection},
		{"remove missing label", Event(t, "a", "A", &eventlog.LabelsChanged{ArtifactID: "A", Remove: []string{"k"}}), eventlog.ErrProjection},
		{"release missing hold", Event(t, "a", "A", &eventlog.HoldReleased{ArtifactID: "A", Hold: "h"}), eventlog.ErrProjection},
		{"delete unknown", Event(t, "a", "Z", &eventlog.ArtifactDeleted{ArtifactID: "Z"}), eventlog.ErrProjection},
		{"input unknown", Registered(t, "B", "x", "2", nil, eventlog.Input{ArtifactID: "Z"}), eventlog.ErrProjection},
	}
	for _, tc := range tests {
		// A valid event first: it must be rolled back with the failing one.
		_, err := s.Append(ctx, []eventlog.NewEvent{
			Event(t, "a", "A", &eventlog.LabelsChanged{ArtifactID: "A", Set: map[string]string{"rolled": "back"}}), tc.ev})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if h := head(t, s); h.Seq != 1 {
			t.Fatalf("%s: head = %d after failed append, want 1", tc.name, h.Seq)
		}
		if after := dump(t, s); after != before {
			t.Fatalf("%s: views changed by a failed append:\n%s\nwant\n%s", tc.name, after, before)
		}
	}
	// Placing the same hold twice conflicts.
	appendOK(t, s, Event(t, "a", "A", &eventlog.HoldPlaced{ArtifactID: "A", Hold: "h"}))
	if _, err := s.Append(ctx, []eventlog.NewEvent{Event(t, "a", "A", &eventlog.HoldPlaced{ArtifactID: "A", Hold: "h"})}); !errors.Is(err, eventlog.ErrConflict) {
		t.Errorf("second hold: %v, want ErrConflict", err)
	}
	verifyOK(t, s, 1)
}

func testAppendFunc(t *testing.T, newDB NewDB) {
	db := newDB(t)
	ctx := context.Background()
	s := db.Open(t, eventlog.Options{})
	appendOK(t, s, Registered(t, "A", "x", "1", nil))
	mine := errors.New("mine")
	_, err := s.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
		if _, err := v.ArtifactByVersion(ctx, "x", "1"); err != nil {
			t.Errorf("view inside AppendFunc: %v", err)
		}
		return []eventlog.NewEvent{Registered(t, "B", "x", "2", nil)}[:0], mine
	})
	if err != mine {
		t.Errorf("AppendFunc returned %v, want the callback's error unchanged", err)
	}
	out, err := s.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
		n, err := v.MaxVersionNumber(ctx, "x")
		if err != nil {
			return nil, err
		}
		return []eventlog.NewEvent{Registered(t, "B", "x", fmt.Sprint(n+1), nil)}, nil
	})
	if err != nil || len(out) != 1 || out[0].Seq != 2 {
		t.Fatalf("AppendFunc = %+v, %v", out, err)
	}
	if a, err := s.ArtifactByVersion(ctx, "x", "2"); err != nil || a.ID != "B" {
		t.Errorf("x:2 = %+v, %v", a, err)
	}
	if out, err := s.AppendFunc(ctx, func(context.Context, eventlog.Views) ([]eventlog.NewEvent, error) { return nil, nil }); err != nil || out != nil {
		t.Errorf("AppendFunc with no events = %v, %v", out, err)
	}
}

// testConcurrent appends from several goroutines through two stores open on
// the same database (as two processes or daemons would), each append
// computing the next version inside AppendFunc: versions must come out
// unique and gapless, and the log gapless and verified.
func testConcurrent(t *testing.T, newDB NewDB) {
	db := newDB(t)
	ctx := context.Background()
	stores := []eventlog.Store{db.Open(t, eventlog.Options{}), db.Open(t, eventlog.Options{})}
	const workers, perWorker = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := 0; i < perWorker; i++ {
				_, err := s.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
					n, err := v.MaxVersionNumber(ctx, "c")
					if err != nil {
						return nil, err
					}
					id := fmt.Sprintf("W%dI%d", w, i)
					return []eventlog.NewEvent{
						Registered(t, id, "c", fmt.Sprint(n+1), nil),
						Event(t, "a", id, &eventlog.LabelsChanged{ArtifactID: id, Set: map[string]string{"w": fmt.Sprint(w)}}),
					}, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	const total = workers * perWorker
	evs := readAll(t, stores[1], 0)
	if len(evs) != 2*total {
		t.Fatalf("log has %d events, want %d", len(evs), 2*total)
	}
	for i := 0; i < len(evs); i += 2 {
		if evs[i].Type != eventlog.TypeArtifactRegistered || evs[i+1].Subject != evs[i].Subject {
			t.Fatalf("batch at seq %d was interleaved: %s %s / %s %s", evs[i].Seq, evs[i].Type, evs[i].Subject, evs[i+1].Type, evs[i+1].Subject)
		}
	}
	if n, err := stores[0].MaxVersionNumber(ctx, "c"); err != nil || n != total {
		t.Errorf("max version = %d, %v; want %d", n, err, total)
	}
	verifyOK(t, stores[0], 1)
}

func tamperedReport(t *testing.T, s eventlog.Store, from int64) eventlog.VerifyReport {
	t.Helper()
	rep, err := s.Verify(context.Background(), from)
	var ce *eventlog.ChainError
	if !errors.As(err, &ce) || !errors.Is(err, eventlog.ErrTampered) {
		t.Fatalf("verify of tampered log: %+v, %v; want a *ChainError", rep, err)
	}
	if rep.OK() || rep.FirstBad != ce.Seq || rep.Reason != ce.Reason {
		t.Errorf("report %+v does not match error %v", rep, ce)
	}
	return rep
}

func testTamper(t *testing.T, newDB NewDB) {
	tests := []struct {
		name   string
		tamper func(DB, testing.TB)
		bad    int64
	}{
		{"changed body", func(db DB, t testing.TB) { db.TamperBody(t, 3) }, 3},
		{"changed hash", func(db DB, t testing.TB) { db.TamperHash(t, 3) }, 3},
		{"removed row", func(db DB, t testing.TB) { db.DeleteRow(t, 3) }, 3},
		{"changed first body", func(db DB, t testing.TB) { db.TamperBody(t, 1) }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			s := db.Open(t, eventlog.Options{})
			for i := 1; i <= 5; i++ {
				appendOK(t, s, Registered(t, fmt.Sprint("A", i), "x", fmt.Sprint(i), nil))
			}
			verifyOK(t, s, 1)
			tc.tamper(db, t)
			if rep := tamperedReport(t, s, 1); rep.FirstBad != tc.bad {
				t.Errorf("first bad = %d (%s), want %d", rep.FirstBad, rep.Reason, tc.bad)
			}
			if tc.bad > 1 {
				if rep := tamperedReport(t, s, tc.bad); rep.FirstBad != tc.bad {
					t.Errorf("from %d: first bad = %d (%s)", tc.bad, rep.FirstBad, rep.Reason)
				}
			}
			// Events after the damage still chain to each other.
			verifyOK(t, s, tc.bad+2)
		})
	}
}

func testEvent(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	var want []eventlog.Event
	for i := 1; i <= 6; i++ {
		want = append(want, appendOK(t, s, Registered(t, fmt.Sprint("A", i), "x", fmt.Sprint(i), nil))...)
	}
	for _, seq := range []int64{1, 3, 6} {
		ev, err := s.Event(ctx, seq)
		if err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		w := want[seq-1]
		if ev.Seq != seq || ev.Hash != w.Hash || ev.Prev != w.Prev || !bytes.Equal(ev.Body, w.Body) || ev.Subject != w.Subject {
			t.Errorf("event %d = %+v, want %+v", seq, ev, w)
		}
	}
	for _, seq := range []int64{0, 7} {
		if _, err := s.Event(ctx, seq); !errors.Is(err, eventlog.ErrNotFound) {
			t.Errorf("event %d: %v, want ErrNotFound", seq, err)
		}
	}
	// Damage to the event or to a neighbour is found; damage further
	// away is not looked at.
	db.TamperBody(t, 3)
	for _, seq := range []int64{2, 3, 4} {
		var ce *eventlog.ChainError
		if _, err := s.Event(ctx, seq); !errors.As(err, &ce) || ce.Seq != 3 {
			t.Errorf("event %d next to a changed body: %v, want a *ChainError at 3", seq, err)
		}
	}
	if _, err := s.Event(ctx, 5); err != nil {
		t.Errorf("event 5, two away from the damage: %v", err)
	}
	db.DeleteRow(t, 5)
	for _, seq := range []int64{5, 6} {
		var ce *eventlog.ChainError
		if _, err := s.Event(ctx, seq); !errors.As(err, &ce) || ce.Seq != 5 {
			t.Errorf("event %d next to a removed row: %v, want a *ChainError at 5", seq, err)
		}
	}
}

func testAppendOnly(t *testing.T, newDB NewDB) {
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	appendOK(t, s, Registered(t, "A", "x", "1", nil), Registered(t, "B", "x", "2", nil))
	if err := db.TryUpdate(t, 1); err == nil {
		t.Error("UPDATE of an event succeeded")
	}
	if err := db.TryDelete(t, 2); err == nil {
		t.Error("DELETE of an event succeeded")
	}
	if rep := verifyOK(t, s, 1); rep.Checked != 2 {
		t.Errorf("verify checked %d events after refused changes, want 2", rep.Checked)
	}
}
