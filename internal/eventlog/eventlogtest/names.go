package eventlogtest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// testNames checks Views.Names and Views.Versions (shell completion): names
// in byte order, cut after the next '/', deleted artifacts left out, the
// limit kept; versions newest first, by prefix. It checks Views.Catalog
// too: whole names by prefix, paged by the last name seen. Names that only a
// collation other than byte order would sort apart ("a-b", "a/b", "a.b",
// "ab") check that the skip over a directory holds in every database.
func testNames(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := newDB(t).Open(t, eventlog.Options{})
	var evs []eventlog.NewEvent
	for i, n := range []string{"a-b", "a/b", "a/c/d", "a/c/e", "a.b", "ab", "reports/q1", "reports/q2", "reports", "zed", "gone/x", "a/gone"} {
		evs = append(evs, Registered(t, fmt.Sprintf("N%02d", i), n, "1", nil))
	}
	for v := 2; v <= 12; v++ {
		evs = append(evs, Registered(t, fmt.Sprintf("V%02d", v), "reports/q1", fmt.Sprint(v), nil))
	}
	evs = append(evs, Registered(t, "VRC", "reports/q1", "rc-1", nil),
		Event(t, "carol", "N10", &eventlog.ArtifactDeleted{ArtifactID: "N10"}),
		Event(t, "carol", "N11", &eventlog.ArtifactDeleted{ArtifactID: "N11"}),
		Event(t, "carol", "V12", &eventlog.ArtifactDeleted{ArtifactID: "V12"}))
	appendOK(t, s, evs...)

	for _, tt := range []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"", 100, []string{"a-b", "a.b", "a/", "ab", "reports", "reports/", "zed"}},
		{"a", 100, []string{"a-b", "a.b", "a/", "ab"}},
		{"a/", 100, []string{"a/b", "a/c/"}},
		{"a/c/", 100, []string{"a/c/d", "a/c/e"}},
		{"rep", 100, []string{"reports", "reports/"}},
		{"reports/", 100, []string{"reports/q1", "reports/q2"}},
		{"g", 100, nil},
		{"nothing", 100, nil},
		{"", 3, []string{"a-b", "a.b", "a/"}},
	} {
		got, err := s.Names(ctx, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("Names(%q): %v", tt.prefix, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Names(%q, %d) = %q, want %q", tt.prefix, tt.limit, got, tt.want)
		}
	}
	for _, tt := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 100, []string{"a-b", "a.b", "a/b", "a/c/d", "a/c/e", "ab", "reports", "reports/q1", "reports/q2", "zed"}},
		{"", "", 3, []string{"a-b", "a.b", "a/b"}},
		{"", "a/b", 3, []string{"a/c/d", "a/c/e", "ab"}},
		{"", "a/bz", 2, []string{"a/c/d", "a/c/e"}},
		{"", "zed", 100, nil},
		{"a/", "", 100, []string{"a/b", "a/c/d", "a/c/e"}},
		{"a/", "a/b", 100, []string{"a/c/d", "a/c/e"}},
		{"a/", "a/c/e", 100, nil},
		{"a/c/", "a", 100, []string{"a/c/d", "a/c/e"}},
		{"reports", "", 100, []string{"reports", "reports/q1", "reports/q2"}},
		{"reports/", "reports/q1", 1, []string{"reports/q2"}},
		{"g", "", 100, nil},
		{"nothing", "", 100, nil},
	} {
		got, err := s.Catalog(ctx, tt.prefix, tt.after, tt.limit)
		if err != nil {
			t.Fatalf("Catalog(%q, %q): %v", tt.prefix, tt.after, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Catalog(%q, %q, %d) = %q, want %q", tt.prefix, tt.after, tt.limit, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name, prefix string
		limit        int
		want         []string
	}{
		{"reports/q1", "", 100, []string{"11", "10", "9", "8", "7", "6", "5", "4", "3", "2", "1", "rc-1"}},
		{"reports/q1", "1", 100, []string{"11", "10", "1"}},
		{"reports/q1", "r", 100, []string{"rc-1"}},
		{"reports/q1", "", 2, []string{"11", "10"}},
		{"reports/q1", "12", 100, nil},
		{"gone/x", "", 100, nil},
		{"nope", "", 100, nil},
		{"reports/q1", "%", 100, nil},
	} {
		got, err := s.Versions(ctx, tt.name, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("Versions(%q, %q): %v", tt.name, tt.prefix, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Versions(%q, %q, %d) = %q, want %q", tt.name, tt.prefix, tt.limit, got, tt.want)
		}
	}
	// One append that registers and deletes: a name registered and deleted
	// in it is not live; a name whose old version it deletes while it
	// registers a new one still is; so is one registered twice and
	// deleted once.
	appendOK(t, s,
		Registered(t, "S1", "solo", "1", nil), Event(t, "carol", "S1", &eventlog.ArtifactDeleted{ArtifactID: "S1"}),
		Registered(t, "M2", "zed", "2", nil), Event(t, "carol", "N09", &eventlog.ArtifactDeleted{ArtifactID: "N09"}),
		Registered(t, "T1", "twice", "1", nil), Registered(t, "T2", "twice", "2", nil),
		Event(t, "carol", "T1", &eventlog.ArtifactDeleted{ArtifactID: "T1"}))
	wantAll := []string{"a-b", "a.b", "a/", "ab", "reports", "reports/", "twice", "zed"}
	if got, err := s.Names(ctx, "", 100); err != nil || !reflect.DeepEqual(got, wantAll) {
		t.Errorf("Names after registering and deleting in one append = %q, %v; want %q", got, err, wantAll)
	}
	wantCatalog := []string{"a-b", "a.b", "a/b", "a/c/d", "a/c/e", "ab", "reports", "reports/q1", "reports/q2", "twice", "zed"}
	if got, err := s.Catalog(ctx, "", "", 100); err != nil || !reflect.DeepEqual(got, wantCatalog) {
		t.Errorf("Catalog after registering and deleting in one append = %q, %v; want %q", got, err, wantCatalog)
	}
	// The names are a view: a rebuild keeps the answers.
	before := dump(t, s)
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Names(ctx, "", 100); err != nil || !reflect.DeepEqual(got, wantAll) {
		t.Errorf("Names after a rebuild = %q, %v; want %q", got, err, wantAll)
	}
	if got, err := s.Catalog(ctx, "", "", 100); err != nil || !reflect.DeepEqual(got, wantCatalog) {
		t.Errorf("Catalog after a rebuild = %q, %v; want %q", got, err, wantCatalog)
	}
	if after := dump(t, s); after != before {
		t.Errorf("views after a rebuild:\n%s\nbefore:\n%s", after, before)
	}
}

// BenchNames measures the completion queries over 100,000 live artifacts in
// two shapes: 100,000 distinct names in 100 directories (t00/app00000 ..
// t99/app99999), and 100 names of 1,000 versions each (Fill). Each
// sub-benchmark runs one completion: names under "" (100 directories), under
// a directory (200 of its 1,000 names, the CLI's limit), names by a longer
// prefix, and the newest 200 versions of a name.
func BenchNames(b *testing.B, db DB) {
	ctx := context.Background()
	s := db.Open(b, eventlog.Options{})
	const n = 100_000
	var evs []eventlog.NewEvent
	for i := range n {
		evs = append(evs, Registered(b, fmt.Sprintf("D%06d", i), fmt.Sprintf("t%02d/app%05d", i%100, i), "1", nil))
		if len(evs) == 1000 {
			appendOK(b, s, evs...)
			evs = evs[:0]
		}
	}
	Fill(b, s, n, 1000)
	for _, c := range []struct {
		name    string
		run     func() ([]string, error)
		atLeast int
	}{
		{"names-top", func() ([]string, error) { return s.Names(ctx, "", 200) }, 101},
		{"names-dir", func() ([]string, error) { return s.Names(ctx, "t42/", 200) }, 200},
		{"names-prefix", func() ([]string, error) { return s.Names(ctx, "t42/app0004", 200) }, 1},
		{"versions", func() ([]string, error) { return s.Versions(ctx, "bench/n7", "", 200) }, 200},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				got, err := c.run()
				if err != nil || len(got) < c.atLeast {
					b.Fatalf("%d results (%v), want at least %d", len(got), err, c.atLeast)
				}
			}
		})
	}
}

// BenchReadSubject measures reading one artifact's events from a log of
// 300,000 (3,000 artifacts with 99 retrieval records each): ReadSubject
// through the index by subject, against a Read of the whole log filtered
// by subject (how an export and an artifact's audit trail read them
// without the index); and reading the 30 retention rule events among them
// (subjects "rule:<ID>"): ReadSubjectPrefix, against a Read filtered by
// the prefix (how the retention rules were folded before).
func BenchReadSubject(b *testing.B, db DB) {
	ctx := context.Background()
	s := db.Open(b, eventlog.Options{})
	var evs []eventlog.NewEvent
	for i := range 3000 {
		id := fmt.Sprintf("S%06d", i)
		evs = append(evs, Registered(b, id, fmt.Sprintf("s/x%d", i%100), fmt.Sprint(i+1), nil))
		for range 99 {
			evs = append(evs, Event(b, "ci", id, &eventlog.ArtifactRetrieved{ArtifactID: id, Bytes: 10}))
		}
		if i%100 == 0 {
			rule := fmt.Sprintf("R%06d", i)
			evs = append(evs, Event(b, "admin", "rule:"+rule, &eventlog.RetentionRuleAdded{ID: rule, Pattern: "s/*", KeepLast: 5}))
		}
		if len(evs) >= 5000 {
			appendOK(b, s, evs...)
			evs = evs[:0]
		}
	}
	appendOK(b, s, evs...)
	h, err := s.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const subject, rules = "S000005", "rule:"
	scan := func(match func(string) bool) func(fn func(eventlog.Event) error) error {
		return func(fn func(eventlog.Event) error) error {
			return s.Read(ctx, 0, func(e eventlog.Event) error {
				if match(e.Subject) {
					return fn(e)
				}
				return nil
			})
		}
	}
	for _, c := range []struct {
		name string
		want int
		read func(fn func(eventlog.Event) error) error
	}{
		{"index", 100, func(fn func(eventlog.Event) error) error { return s.ReadSubject(ctx, subject, 0, h.Seq, fn) }},
		{"scan", 100, scan(func(s string) bool { return s == subject })},
		{"prefix-index", 30, func(fn func(eventlog.Event) error) error { return s.ReadSubjectPrefix(ctx, rules, 0, h.Seq, fn) }},
		{"prefix-scan", 30, scan(func(s string) bool { return strings.HasPrefix(s, rules) })},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				n := 0
				if err := c.read(func(eventlog.Event) error { n++; return nil }); err != nil || n != c.want {
					b.Fatalf("%d events (%v), want %d", n, err, c.want)
				}
			}
		})
	}
}
