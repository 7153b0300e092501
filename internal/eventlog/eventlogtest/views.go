package eventlogtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
)

// History appends a history touching every event type and every view
// table, with its clock starting at t0 and moving one minute per event.
func History(t testing.TB, s eventlog.Store) {
	t.Helper()
	ev := func(actor, subject string, p eventlog.Payload) eventlog.NewEvent { return Event(t, actor, subject, p) }
	at := func(i int, ne eventlog.NewEvent) eventlog.NewEvent {
		ne.Time = t0.Add(time.Duration(i) * time.Minute)
		return ne
	}
	evs := []eventlog.NewEvent{
		Registered(t, "SRC1", "src/lib", "1", map[string]string{"team": "core", "env": "dev"}),
		Registered(t, "SRC2", "src/lib", "2", map[string]string{"team": "core", "env": "prod"}),
		Registered(t, "CFG1", "cfg/main", "1", map[string]string{"team": "ops"}),
		Registered(t, "BIN1", "build/app", "1", map[string]string{"team": "core", "env": "prod", "arch": "amd64"},
			eventlog.Input{Ref: "src/lib:2", ArtifactID: "SRC2", Digest: Digest("content SRC2"), Role: "source"},
			eventlog.Input{Ref: "cfg/main:1", ArtifactID: "CFG1", Role: "config"},
			eventlog.Input{Ref: "sha256:...", Digest: Digest("raw toolchain"), Role: "toolchain"}),
		Registered(t, "BIN2", "build/app", "rc-2", map[string]string{"team": "core", "env": "staging"},
			eventlog.Input{ArtifactID: "SRC2", Role: "source"}),
		Registered(t, "REP1", "reports/q1", "1", map[string]string{"team": "finance"}, eventlog.Input{ArtifactID: "BIN1", Role: "subject"}),
		ev("bob", "BIN1", &eventlog.TagMoved{Name: "build/app", Tag: "prod", ArtifactID: "BIN1"}),
		ev("bob", "BIN2", &eventlog.TagMoved{Name: "build/app", Tag: "latest", ArtifactID: "BIN2"}),
		ev("bob", "BIN1", &eventlog.TagMoved{Name: "build/app", Tag: "latest", ArtifactID: "BIN1"}),
		ev("bob", "SRC1", &eventlog.TagMoved{Name: "src/lib", Tag: "old", ArtifactID: "SRC1"}),
		ev("bob", "", &eventlog.TagRemoved{Name: "src/lib", Tag: "old"}),
		ev("carol", "BIN1", &eventlog.LabelsChanged{ArtifactID: "BIN1", Set: map[string]string{"approved": "yes", "env": "production"}, Remove: []string{"arch"}}),
		ev("carol", "REP1", &eventlog.RetentionSet{ArtifactID: "REP1", ExpiresAt: t0.Add(24 * time.Hour), ImmutableUntil: t0.Add(2 * time.Hour)}),
		ev("legal", "REP1", &eventlog.HoldPlaced{ArtifactID: "REP1", Hold: "case-42", Reason: "litigation"}),
		ev("legal", "REP1", &eventlog.HoldPlaced{ArtifactID: "REP1", Hold: "audit"}),
		ev("legal", "REP1", &eventlog.HoldReleased{ArtifactID: "REP1", Hold: "audit"}),
		ev("dave", "BIN1", &eventlog.ArtifactRetrieved{ArtifactID: "BIN1", Bytes: 100, Client: "cli"}),
		ev("erin", "BIN1", &eventlog.ArtifactRetrieved{ArtifactID: "BIN1", Bytes: 10, Range: "0-9"}),
		ev("carol", "SRC1", &eventlog.ArtifactDeleted{ArtifactID: "SRC1", Reason: "superseded"}),
		ev("gc", "", &eventlog.BlobsCollected{Backend: "default", Digests: []content.Digest{Digest("content SRC1")}, Bytes: 4}),
	}
	for i := range evs {
		evs[i] = at(i, evs[i])
	}
	// In three batches, to exercise batch boundaries.
	appendOK(t, s, evs[:5]...)
	appendOK(t, s, evs[5:6]...)
	appendOK(t, s, evs[6:]...)
}

func testRebuild(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	History(t, s)
	// Plus enough generated artifacts to cross every batching boundary of
	// the rebuild (pages of events, buffered multi-row inserts).
	Fill(t, s, 2500, 500)
	live := dump(t, s)
	for _, table := range []string{"# artifacts", "# labels", "# tags", "# lineage", "# holds"} {
		if !strings.Contains(live, table+"\n[") {
			t.Errorf("dump has no rows under %q:\n%s", table, live)
		}
	}
	n, err := s.Rebuild(ctx)
	if err != nil || n != 2520 {
		t.Fatalf("rebuild = %d, %v; want 2520 events", n, err)
	}
	if rebuilt := dump(t, s); rebuilt != live {
		t.Fatalf("rebuilt views differ from live ones:\nrebuilt:\n%s\nlive:\n%s", rebuilt, live)
	}
	// A second store on the same database sees the same views.
	if other := dump(t, db.Open(t, eventlog.Options{})); other != live {
		t.Errorf("second store's dump differs")
	}
	// The store still appends after a rebuild.
	appendOK(t, s, Registered(t, "NEW", "build/app", "3", nil))
	verifyOK(t, s, 1)
}

func testViews(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := newDB(t).Open(t, eventlog.Options{})
	History(t, s)

	bin1, err := s.Artifact(ctx, "BIN1")
	if err != nil {
		t.Fatal(err)
	}
	want := eventlog.Artifact{
		ID: "BIN1", Name: "build/app", Version: "1", Seq: 4,
		ContentDigest: Digest("content BIN1"), Size: 4, ManifestDigest: Digest("manifest BIN1"), MediaType: "text/plain",
		Labels: map[string]string{"team": "core", "env": "production", "approved": "yes"},
		Tags:   []string{"latest", "prod"},
		Provenance: eventlog.Provenance{Producer: eventlog.Producer{Tool: "test", GitCommit: "abc"}, Inputs: []eventlog.Input{
			{Ref: "src/lib:2", ArtifactID: "SRC2", Digest: Digest("content SRC2"), Role: "source"},
			{Ref: "cfg/main:1", ArtifactID: "CFG1", Role: "config"},
			{Ref: "sha256:...", Digest: Digest("raw toolchain"), Role: "toolchain"}}},
		Created: t0.Add(3 * time.Minute), Creator: "alice", UpdatedSeq: 12,
		Holds:      []eventlog.Hold{},
		Retrievals: eventlog.RetrievalStats{Count: 2, Bytes: 110, Last: t0.Add(17 * time.Minute), LastBy: "erin"},
	}
	if !reflect.DeepEqual(bin1, want) {
		t.Errorf("Artifact(BIN1) =\n%+v\nwant\n%+v", bin1, want)
	}
	rep1, err := s.ArtifactByVersion(ctx, "reports/q1", "1")
	if err != nil {
		t.Fatal(err)
	}
	wantRet := eventlog.Retention{ExpiresAt: t0.Add(24 * time.Hour), ImmutableUntil: t0.Add(2 * time.Hour)}
	wantHolds := []eventlog.Hold{{Name: "case-42", Reason: "litigation", Placed: t0.Add(13 * time.Minute), By: "legal"}}
	if rep1.ID != "REP1" || rep1.Retention != wantRet || !reflect.DeepEqual(rep1.Holds, wantHolds) {
		t.Errorf("reports/q1:1 = %+v", rep1)
	}
	src1, err := s.Artifact(ctx, "SRC1")
	if err != nil || src1.Deleted == nil || *src1.Deleted != (eventlog.Deletion{Seq: 19, Time: t0.Add(18 * time.Minute), By: "carol", Reason: "superseded"}) {
		t.Errorf("deleted SRC1 = %+v, %v", src1.Deleted, err)
	}
	if len(src1.Tags) != 0 {
		t.Errorf("deleted artifact keeps tags %v", src1.Tags)
	}
	if a, err := s.ArtifactByDigest(ctx, "src/lib", Digest("content SRC2")); err != nil || a.ID != "SRC2" {
		t.Errorf("by digest = %v, %v", a.ID, err)
	}
	if _, err := s.ArtifactByDigest(ctx, "src/lib", Digest("content SRC1")); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("by digest of a deleted artifact: %v, want ErrNotFound", err)
	}
	for _, get := range []func() (eventlog.Artifact, error){
		func() (eventlog.Artifact, error) { return s.Artifact(ctx, "NOPE") },
		func() (eventlog.Artifact, error) { return s.ArtifactByVersion(ctx, "build/app", "9") },
	} {
		if _, err := get(); !errors.Is(err, eventlog.ErrNotFound) {
			t.Errorf("missing artifact: %v, want ErrNotFound", err)
		}
	}
	if tag, err := s.Tag(ctx, "build/app", "latest"); err != nil || tag.ArtifactID != "BIN1" || tag.By != "bob" || !tag.Moved.Equal(t0.Add(8*time.Minute)) || tag.MovedSeq != 9 {
		t.Errorf("tag latest = %+v, %v", tag, err)
	}
	if _, err := s.Tag(ctx, "src/lib", "old"); !errors.Is(err, eventlog.ErrNotFound) {
		t.Errorf("removed tag: %v", err)
	}
	if tags, err := s.Tags(ctx, "build/app"); err != nil || len(tags) != 2 || tags[0].Tag != "latest" || tags[1].Tag != "prod" || tags[1].MovedSeq != 7 {
		t.Errorf("tags = %+v, %v", tags, err)
	}
	for name, want := range map[string]int64{"src/lib": 2, "build/app": 1, "none": 0} {
		if n, err := s.MaxVersionNumber(ctx, name); err != nil || n != want {
			t.Errorf("max version of %s = %d, %v; want %d", name, n, err, want)
		}
	}

	checkEdges(t, s)
	checkQueries(t, s)
}

// checkEdges checks the lineage edges of the History log.
func checkEdges(t *testing.T, s eventlog.Store) {
	ctx := context.Background()
	edgeIDs := func(id string, dir eventlog.Direction) []string {
		es, err := s.Edges(ctx, id, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s<-%s/%s/%s", e.Child, e.Parent, e.Role, e.Digest.Short()))
		}
		return out
	}
	toolchain := Digest("raw toolchain").Short()
	if got, want := edgeIDs("BIN1", eventlog.Parents), []string{"BIN1<-SRC2/source/" + Digest("content SRC2").Short(), "BIN1<-CFG1/config/", "BIN1<-/toolchain/" + toolchain}; !slices.Equal(got, want) {
		t.Errorf("parents of BIN1 = %v, want %v", got, want)
	}
	if got, want := edgeIDs("SRC2", eventlog.Children), []string{"BIN1<-SRC2/source/" + Digest("content SRC2").Short(), "BIN2<-SRC2/source/"}; !slices.Equal(got, want) {
		t.Errorf("children of SRC2 = %v, want %v", got, want)
	}

}

// checkQueries checks artifact queries and paging over the History log.
func checkQueries(t *testing.T, s eventlog.Store) {
	ctx := context.Background()
	ids := func(q eventlog.Query) []string {
		t.Helper()
		p, err := s.Query(ctx, q)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		var out []string
		for _, a := range p.Artifacts {
			out = append(out, a.ID)
		}
		return out
	}
	queries := []struct {
		name string
		q    eventlog.Query
		want []string
	}{
		{"all live", eventlog.Query{}, []string{"SRC2", "CFG1", "BIN1", "BIN2", "REP1"}},
		{"with deleted", eventlog.Query{IncludeDeleted: true}, []string{"SRC1", "SRC2", "CFG1", "BIN1", "BIN2", "REP1"}},
		{"newest first", eventlog.Query{Newest: true}, []string{"REP1", "BIN2", "BIN1", "CFG1", "SRC2"}},
		{"name", eventlog.Query{Name: "build/app"}, []string{"BIN1", "BIN2"}},
		{"prefix", eventlog.Query{NamePrefix: "src/"}, []string{"SRC2"}},
		{"prefix is literal", eventlog.Query{NamePrefix: "s%"}, nil},
		{"like", eventlog.Query{NameLike: "%/app"}, []string{"BIN1", "BIN2"}},
		{"label equals", eventlog.Query{Selectors: []eventlog.Selector{{Key: "team", Value: "core"}}}, []string{"SRC2", "BIN1", "BIN2"}},
		{"two labels", eventlog.Query{Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "env", Value: "prod"}}}, []string{"SRC2"}},
		{"two labels, other order", eventlog.Query{Selectors: []eventlog.Selector{{Key: "env", Value: "prod"}, {Key: "team", Value: "core"}}}, []string{"SRC2"}},
		{"two labels of a deleted artifact", eventlog.Query{Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "env", Value: "dev"}}}, nil},
		{"two labels with deleted", eventlog.Query{IncludeDeleted: true, Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "env", Value: "dev"}}}, []string{"SRC1"}},
		{"two labels and a name", eventlog.Query{Name: "build/app", Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "env", Value: "prod"}}}, nil},
		{"three labels", eventlog.Query{Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "env", Value: "production"}, {Key: "approved", Value: "yes"}}}, []string{"BIN1"}},
		{"two labels and not equals", eventlog.Query{Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "env", Op: eventlog.OpNotEquals, Value: "staging"}, {Key: "approved", Value: "yes"}}}, []string{"BIN1"}},
		{"two labels, newest first", eventlog.Query{Newest: true, Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "team", Value: "core"}}}, []string{"BIN2", "BIN1", "SRC2"}},
		{"not equals", eventlog.Query{Selectors: []eventlog.Selector{{Key: "env", Op: eventlog.OpNotEquals, Value: "prod"}}}, []string{"CFG1", "BIN1", "BIN2", "REP1"}},
		{"exists", eventlog.Query{Selectors: []eventlog.Selector{{Key: "approved", Op: eventlog.OpExists}}}, []string{"BIN1"}},
		{"not exists", eventlog.Query{Selectors: []eventlog.Selector{{Key: "env", Op: eventlog.OpNotExists}}}, []string{"CFG1", "REP1"}},
		{"equals and not exists", eventlog.Query{Selectors: []eventlog.Selector{{Key: "team", Value: "core"}, {Key: "approved", Op: eventlog.OpNotExists}}}, []string{"SRC2", "BIN2"}},
		{"created after", eventlog.Query{CreatedAfter: t0.Add(3 * time.Minute)}, []string{"BIN2", "REP1"}},
		{"created before", eventlog.Query{CreatedBefore: t0.Add(2 * time.Minute)}, []string{"SRC2"}},
		{"expires before", eventlog.Query{ExpiresBefore: t0.Add(25 * time.Hour)}, []string{"REP1"}},
		{"expires before (none yet)", eventlog.Query{ExpiresBefore: t0.Add(23 * time.Hour)}, nil},
	}
	for _, tc := range queries {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// Paging, both orders, with and without a driving label selector, and
	// with two equality selectors (intersected).
	core := eventlog.Selector{Key: "team", Value: "core"}
	for _, q := range []eventlog.Query{{}, {Newest: true}, {Selectors: []eventlog.Selector{core}}, {Newest: true, Selectors: []eventlog.Selector{core}},
		{Selectors: []eventlog.Selector{core, core}}, {Newest: true, Selectors: []eventlog.Selector{core, core}}} {
		all := ids(q)
		var paged []string
		q.Limit = 2
		for pages := 0; ; pages++ {
			p, err := s.Query(ctx, q)
			if err != nil || pages > 10 {
				t.Fatalf("paging %+v: %v", q, err)
			}
			for _, a := range p.Artifacts {
				paged = append(paged, a.ID)
			}
			if p.Next == 0 {
				break
			}
			q.Cursor = p.Next
		}
		if !slices.Equal(paged, all) || len(all) < 3 {
			t.Errorf("paged %v, unpaged %v", paged, all)
		}
	}
	if _, err := s.Query(ctx, eventlog.Query{Limit: 1 << 20}); !errors.Is(err, eventlog.ErrInvalidQuery) {
		t.Errorf("huge limit: %v, want ErrInvalidQuery", err)
	}
}

// registeredV0 is the shape of a pretend older version of
// artifact.registered, to prove that an old type version still replays once
// a newer one exists: its decoder upcasts it into the current struct.
type registeredV0 struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Digest   string `json:"digest"`
	Size     int64  `json:"size"`
	Manifest string `json:"manifest"`
}

// TypeRegisteredV0 is the name of the test-only old type.
const TypeRegisteredV0 = "artifact.registered.v0"

// DecodeRegisteredV0 upcasts a registeredV0 payload.
func DecodeRegisteredV0(raw json.RawMessage) (eventlog.Payload, error) {
	var v registeredV0
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	p := &eventlog.ArtifactRegistered{ID: v.ID, Name: v.Name, Version: v.Version, Size: v.Size, MediaType: "application/octet-stream"}
	var err error
	if p.ContentDigest, err = content.ParseDigest(v.Digest); err != nil {
		return nil, err
	}
	if p.ManifestDigest, err = content.ParseDigest(v.Manifest); err != nil {
		return nil, err
	}
	return p, nil
}

func testOldVersion(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	db := newDB(t)
	types := eventlog.DefaultTypes().With(TypeRegisteredV0, DecodeRegisteredV0)
	s := db.Open(t, eventlog.Options{Types: types})
	old, err := json.Marshal(registeredV0{ID: "OLD", Name: "legacy/thing", Version: "1", Digest: Digest("c").String(), Size: 1, Manifest: Digest("m").String()})
	if err != nil {
		t.Fatal(err)
	}
	appendOK(t, s,
		eventlog.NewEvent{Actor: "old-artstore", Type: TypeRegisteredV0, Subject: "OLD", Payload: old},
		Registered(t, "NEW", "legacy/thing", "2", nil))
	appendOK(t, s, Event(t, "a", "OLD", &eventlog.TagMoved{Name: "legacy/thing", Tag: "stable", ArtifactID: "OLD"}))
	live := dump(t, s)
	if n, err := s.Rebuild(ctx); err != nil || n != 3 {
		t.Fatalf("rebuild with an old type version = %d, %v", n, err)
	}
	if got := dump(t, s); got != live {
		t.Errorf("rebuild differs:\n%s\nwant\n%s", got, live)
	}
	a, err := s.ArtifactByVersion(ctx, "legacy/thing", "1")
	if err != nil || a.ID != "OLD" || a.ContentDigest != Digest("c") || a.MediaType != "application/octet-stream" || !slices.Equal(a.Tags, []string{"stable"}) {
		t.Errorf("old-version artifact = %+v, %v", a, err)
	}
	// A store that does not know the type (an older artstore reading a
	// newer log) still verifies the chain but refuses to project.
	plain := db.Open(t, eventlog.Options{})
	verifyOK(t, plain, 1)
	if _, err := plain.Rebuild(ctx); !errors.Is(err, eventlog.ErrUnknownType) {
		t.Errorf("rebuild with an unknown type: %v, want ErrUnknownType", err)
	}
	if got := dump(t, plain); got != live {
		t.Errorf("failed rebuild changed the views")
	}
	if _, err := plain.Append(ctx, []eventlog.NewEvent{{Actor: "a", Type: TypeRegisteredV0, Payload: old}}); !errors.Is(err, eventlog.ErrUnknownType) {
		t.Errorf("append of an unknown type: %v", err)
	}
}

// typeProbe is a test-only event type: appended as a no-op, it is replayed
// by Rebuild as the payload a test chooses, one the live projector would
// have refused.
const typeProbe = "test.probe.v1"

// testRebuildStrict checks that Rebuild refuses, and rolls back, a log whose
// replay does not fit the views, exactly where the live projector would
// have refused the event: rebuilt views never silently differ from live
// ones.
func testRebuildStrict(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	noop := func(json.RawMessage) (eventlog.Payload, error) { return &eventlog.BlobsCollected{}, nil }
	tests := []struct {
		name string
		// before and after are appended around the probe.
		before, after []eventlog.NewEvent
		probe         eventlog.Payload
		want          error
	}{
		{name: "tag of unknown artifact", probe: &eventlog.TagMoved{Name: "x", Tag: "t", ArtifactID: "Z"}, want: eventlog.ErrProjection},
		{name: "tag across names", probe: &eventlog.TagMoved{Name: "y", Tag: "t", ArtifactID: "A"}, want: eventlog.ErrProjection},
		{name: "tag of deleted artifact",
			before: []eventlog.NewEvent{Event(t, "a", "B", &eventlog.ArtifactDeleted{ArtifactID: "B"})},
			probe:  &eventlog.TagMoved{Name: "x", Tag: "t", ArtifactID: "B"}, want: eventlog.ErrProjection},
		{name: "tag of artifact registered later", probe: &eventlog.TagMoved{Name: "x", Tag: "t", ArtifactID: "C"},
			after: []eventlog.NewEvent{Registered(t, "C", "x", "3", nil)}, want: eventlog.ErrProjection},
		{name: "remove missing tag", probe: &eventlog.TagRemoved{Name: "x", Tag: "nope"}, want: eventlog.ErrProjection},
		{name: "retrieval of unknown artifact", probe: &eventlog.ArtifactRetrieved{ArtifactID: "Z", Bytes: 1}, want: eventlog.ErrProjection},
		{name: "retrieval of artifact registered later", probe: &eventlog.ArtifactRetrieved{ArtifactID: "C", Bytes: 1},
			after: []eventlog.NewEvent{Registered(t, "C", "x", "3", nil)}, want: eventlog.ErrProjection},
		{name: "unknown input", probe: &eventlog.ArtifactRegistered{ID: "C", Name: "x", Version: "3", ContentDigest: Digest("c"), ManifestDigest: Digest("c"),
			Provenance: eventlog.Provenance{Inputs: []eventlog.Input{{ArtifactID: "Z"}}}}, want: eventlog.ErrProjection},
		{name: "input is itself", probe: &eventlog.ArtifactRegistered{ID: "C", Name: "x", Version: "3", ContentDigest: Digest("c"), ManifestDigest: Digest("c"),
			Provenance: eventlog.Provenance{Inputs: []eventlog.Input{{ArtifactID: "C"}}}}, want: eventlog.ErrProjection},
		{name: "duplicate id", probe: &eventlog.ArtifactRegistered{ID: "A", Name: "z", Version: "1", ContentDigest: Digest("c"), ManifestDigest: Digest("c")},
			want: eventlog.ErrConflict},
		{name: "duplicate version", probe: &eventlog.ArtifactRegistered{ID: "C", Name: "x", Version: "1", ContentDigest: Digest("c"), ManifestDigest: Digest("c")},
			want: eventlog.ErrConflict},
		{name: "conflict before a failed check", // the buffered conflict comes first in the log
			probe: &eventlog.ArtifactRegistered{ID: "A", Name: "z", Version: "1", ContentDigest: Digest("c"), ManifestDigest: Digest("c")},
			after: []eventlog.NewEvent{Event(t, "a", "A", &eventlog.TagMoved{Name: "x", Tag: "t", ArtifactID: "A"})},
			want:  eventlog.ErrConflict},
		{name: "labels of artifact registered just before", // its rows are still buffered
			before: []eventlog.NewEvent{Registered(t, "C", "x", "3", nil)},
			probe:  &eventlog.LabelsChanged{ArtifactID: "C", Remove: []string{"k"}}, want: eventlog.ErrProjection},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			s := db.Open(t, eventlog.Options{Types: eventlog.DefaultTypes().With(typeProbe, noop)})
			appendOK(t, s, Registered(t, "A", "x", "1", nil), Registered(t, "B", "x", "2", nil))
			if len(tc.before) > 0 {
				appendOK(t, s, tc.before...)
			}
			appendOK(t, s, eventlog.NewEvent{Actor: "a", Type: typeProbe, Payload: json.RawMessage(`{}`)})
			if len(tc.after) > 0 {
				appendOK(t, s, tc.after...)
			}
			live := dump(t, s)
			probe := tc.probe
			replay := db.Open(t, eventlog.Options{Types: eventlog.DefaultTypes().With(typeProbe, func(json.RawMessage) (eventlog.Payload, error) { return probe, nil })})
			if _, err := replay.Rebuild(ctx); !errors.Is(err, tc.want) {
				t.Errorf("rebuild: %v, want %v", err, tc.want)
			}
			if got := dump(t, replay); got != live {
				t.Errorf("a failed rebuild changed the views:\n%s\nwant\n%s", got, live)
			}
		})
	}
}

// testRetrievalBytesSaturate checks that retrieval events whose byte
// counts add up past MaxInt64 (an old log holding a count a client
// invented) project, read back and rebuild: the sum saturates at
// MaxInt64, live and rebuilt alike.
func testRetrievalBytesSaturate(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := newDB(t).Open(t, eventlog.Options{})
	huge := int64(math.MaxInt64 - 1)
	appendOK(t, s, Registered(t, "A", "team/x", "1", nil))
	for _, n := range []int64{huge, huge, 5} {
		appendOK(t, s, Event(t, "mallory", "A", &eventlog.ArtifactRetrieved{ArtifactID: "A", Bytes: n}))
	}
	check := func(when string) {
		t.Helper()
		a, err := s.Artifact(ctx, "A")
		if err != nil {
			t.Fatalf("%s: get: %v", when, err)
		}
		if a.Retrievals.Count != 3 || a.Retrievals.Bytes != math.MaxInt64 {
			t.Errorf("%s: retrievals = %+v, want 3 of MaxInt64 bytes", when, a.Retrievals)
		}
		p, err := s.Query(ctx, eventlog.Query{NamePrefix: "team/"})
		if err != nil || len(p.Artifacts) != 1 || p.Artifacts[0].Retrievals.Bytes != math.MaxInt64 {
			t.Errorf("%s: list = %+v, %v", when, p.Artifacts, err)
		}
	}
	check("live")
	live := dump(t, s)
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	check("rebuilt")
	if rebuilt := dump(t, s); rebuilt != live {
		t.Errorf("rebuilt views differ from live ones:\nrebuilt:\n%s\nlive:\n%s", rebuilt, live)
	}
}
