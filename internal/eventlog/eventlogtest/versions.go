package eventlogtest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// Payloads of artifact.registered.v1 exactly as artstore wrote them before
// v2 (json.Marshal of the v1 struct, printed by the last v1-only build): one
// with every producer member v1 had, one with no provenance at all (the
// form the fast decoder takes).
const (
	v1FullID      = "01J0V1OLDARTIFACT000000000"
	v1FullPayload = `{"id":"01J0V1OLDARTIFACT000000000","name":"legacy/app","version":"1","content_digest":"sha256:8f83184121b08eedc2577df73b932a9f9696739e1965e17100c0da5936d233a8","size":10,"manifest_digest":"sha256:d1c701395def37791dbb5b2918fcfeda3e26fab62c89037644ea0f4531770763","media_type":"application/gzip","labels":{"env":"prod"},"provenance":{"producer":{"tool":"make","command":"make release","host":"ci-7","user":"bob","git_repo":"acme/app","git_commit":"0123abc","git_dirty":true,"ci_system":"github-actions","ci_job":"release","ci_run":"77","ci_url":"https://ci/77"}},"tags":["latest"]}`
	v1BareID      = "01J0V1OLDARTIFACT000000001"
	v1BarePayload = `{"id":"01J0V1OLDARTIFACT000000001","name":"legacy/app","version":"2","content_digest":"sha256:6eb04ba643503dc1e29a4cde2791834da645a967942f9c8ea12c192801456639","size":11,"manifest_digest":"sha256:2614fb4bf75b9ac6af554dec30c839a8ea04725e19a613c45883ca21ad658ee0"}`
)

// testRegisteredV1AndV2 is a store an older artstore wrote
// artifact.registered.v1 events to and a newer one then appended v2 events
// to: the log verifies, rebuilds to the live views, and both versions'
// artifacts read back, the v1 ones without a branch.
func testRegisteredV1AndV2(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	old := appendOK(t, s,
		eventlog.NewEvent{Time: t0, Actor: "old-artstore", Type: eventlog.TypeArtifactRegisteredV1, Subject: v1FullID, Payload: json.RawMessage(v1FullPayload)},
		eventlog.NewEvent{Time: t0, Actor: "old-artstore", Type: eventlog.TypeArtifactRegisteredV1, Subject: v1BareID, Payload: json.RawMessage(v1BarePayload)})
	// The stored bodies are byte for byte what the old artstore stored.
	wantBody := `{"v":1,"seq":1,"time":"2026-01-02T03:04:05.123456789Z","actor":"old-artstore","type":"artifact.registered.v1","subject":"` + v1FullID + `","payload":` + v1FullPayload + `}`
	if string(old[0].Body) != wantBody {
		t.Fatalf("v1 body =\n%s\nwant\n%s", old[0].Body, wantBody)
	}

	withBranch := &eventlog.ArtifactRegistered{
		ID: "NEW", Name: "legacy/app", Version: "3", ContentDigest: Digest("content NEW"), Size: 3, ManifestDigest: Digest("manifest NEW"),
		Provenance: eventlog.Provenance{
			Producer: eventlog.Producer{Tool: "make", GitRepo: "acme/app", GitCommit: "4567def", GitBranch: "release/2.x"},
			Inputs:   []eventlog.Input{{Ref: "legacy/app:1", ArtifactID: v1FullID, Digest: Digest("content v1")}},
		},
		Tags: []string{"latest"},
	}
	newer := appendOK(t, s,
		Event(t, "alice", "NEW", withBranch),
		Registered(t, "NEW2", "other/app", "1", map[string]string{"k": "v"}),
		Event(t, "alice", v1FullID, &eventlog.TagMoved{Name: "legacy/app", Tag: "stable", ArtifactID: v1FullID}),
		Event(t, "alice", v1BareID, &eventlog.LabelsChanged{ArtifactID: v1BareID, Set: map[string]string{"migrated": "yes"}}))
	if newer[0].Type != "artifact.registered.v2" || !strings.Contains(string(newer[0].Payload), `"git_branch":"release/2.x"`) {
		t.Fatalf("new registration = %s %s, want artifact.registered.v2 with git_branch", newer[0].Type, newer[0].Payload)
	}

	check := func(s eventlog.Store, when string) {
		t.Helper()
		a, err := s.ArtifactByVersion(ctx, "legacy/app", "1")
		wantProducer := eventlog.Producer{Tool: "make", Command: "make release", Host: "ci-7", User: "bob", GitRepo: "acme/app", GitCommit: "0123abc",
			GitDirty: true, CISystem: "github-actions", CIJob: "release", CIRun: "77", CIURL: "https://ci/77"}
		if err != nil || a.ID != v1FullID || a.ContentDigest != Digest("content v1") || a.MediaType != "application/gzip" || a.Labels["env"] != "prod" ||
			!reflect.DeepEqual(a.Provenance.Producer, wantProducer) || !slices.Equal(a.Tags, []string{"stable"}) || a.Creator != "old-artstore" {
			t.Errorf("%s: v1 artifact = %+v, %v", when, a, err)
		}
		if a, err := s.Artifact(ctx, v1BareID); err != nil || a.Version != "2" || a.Labels["migrated"] != "yes" || !reflect.DeepEqual(a.Provenance, eventlog.Provenance{}) {
			t.Errorf("%s: bare v1 artifact = %+v, %v", when, a, err)
		}
		if a, err := s.Artifact(ctx, "NEW"); err != nil || !reflect.DeepEqual(a.Provenance, withBranch.Provenance) || !slices.Equal(a.Tags, []string{"latest"}) {
			t.Errorf("%s: v2 artifact = %+v, %v; want provenance %+v", when, a, err, withBranch.Provenance)
		}
	}
	check(s, "live")
	live := dump(t, s)
	if rep := verifyOK(t, s, 1); rep.Checked != 6 {
		t.Errorf("verify checked %d events, want 6", rep.Checked)
	}
	if n, err := s.Rebuild(ctx); err != nil || n != 6 {
		t.Fatalf("rebuild of a v1 and v2 log = %d, %v", n, err)
	}
	if got := dump(t, s); got != live {
		t.Errorf("rebuild differs:\n%s\nwant\n%s", got, live)
	}
	check(s, "after rebuild")
	// Another process (a fresh store on the same database) reads the same.
	check(db.Open(t, eventlog.Options{}), "second store")

	// v1 stays strict: a v1 event can still be appended (an older artstore
	// sharing the log), but never with the v2 member.
	tooNew := strings.Replace(v1BarePayload, `"id":"01J0V1OLDARTIFACT000000001"`, `"id":"X"`, 1)
	tooNew = strings.Replace(tooNew, `"version":"2"`, `"version":"9","provenance":{"producer":{"git_branch":"main"}}`, 1)
	if _, err := s.Append(ctx, []eventlog.NewEvent{{Actor: "a", Type: eventlog.TypeArtifactRegisteredV1, Subject: "X", Payload: json.RawMessage(tooNew)}}); !errors.Is(err, eventlog.ErrInvalidEvent) {
		t.Errorf("v1 event with git_branch: %v, want ErrInvalidEvent", err)
	}
	if h := head(t, s); h.Seq != 6 {
		t.Errorf("refused append moved the head to %d", h.Seq)
	}
}
