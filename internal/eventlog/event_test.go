package eventlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func seal(t *testing.T, seq int64, prev string, ne NewEvent) Event {
	t.Helper()
	ev, err := Seal(seq, prev, ne, t0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestSealEncoding(t *testing.T) {
	ne := NewEvent{Actor: "alice", Type: "tag.moved.v1", Subject: "S", Payload: json.RawMessage(`{ "name": "x",
		"tag":"prod", "artifact_id":"S" }`), Time: t0.In(time.FixedZone("Z", 7200))}
	ev := seal(t, 7, strings.Repeat("a", 64), ne)
	want := `{"v":1,"seq":7,"time":"2026-01-02T03:04:05.000000006Z","actor":"alice","type":"tag.moved.v1","subject":"S","payload":{"name":"x","tag":"prod","artifact_id":"S"}}`
	if string(ev.Body) != want {
		t.Errorf("body =\n%s\nwant\n%s", ev.Body, want)
	}
	sum := sha256.Sum256([]byte(strings.Repeat("a", 64) + want))
	if ev.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s is not sha256(prev || body)", ev.Hash)
	}
	if ev.Seq != 7 || !ev.Time.Equal(t0) || ev.Time.Location() != time.UTC || string(ev.Payload) != `{"name":"x","tag":"prod","artifact_id":"S"}` {
		t.Errorf("event = %+v", ev)
	}
	if ev := seal(t, 1, "", NewEvent{Actor: "a", Type: "x.v1", Payload: json.RawMessage(`{}`)}); !ev.Time.Equal(t0) || ev.Prev != "" {
		t.Errorf("zero time not replaced by now: %+v", ev)
	}
}

func TestSealRejects(t *testing.T) {
	ok := NewEvent{Actor: "a", Type: "x.v1", Payload: json.RawMessage(`{}`)}
	tests := []struct {
		name string
		mod  func(*NewEvent)
	}{
		{"empty actor", func(e *NewEvent) { e.Actor = "" }},
		{"long actor", func(e *NewEvent) { e.Actor = strings.Repeat("a", maxActorLen+1) }},
		{"invalid UTF-8 actor", func(e *NewEvent) { e.Actor = "\xff" }},
		{"upper-case type", func(e *NewEvent) { e.Type = "X.v1" }},
		{"empty type", func(e *NewEvent) { e.Type = "" }},
		{"control char in subject", func(e *NewEvent) { e.Subject = "a\x00" }},
		{"array payload", func(e *NewEvent) { e.Payload = json.RawMessage(`[]`) }},
		{"empty payload", func(e *NewEvent) { e.Payload = nil }},
		{"broken payload", func(e *NewEvent) { e.Payload = json.RawMessage(`{"a":}`) }},
	}
	for _, tc := range tests {
		ne := ok
		tc.mod(&ne)
		if _, err := Seal(1, "", ne, t0); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", tc.name, err)
		}
	}
}

func chain(t *testing.T, n int) []StoredRow {
	t.Helper()
	var rows []StoredRow
	prev := ""
	for i := 1; i <= n; i++ {
		ev := seal(t, int64(i), prev, NewEvent{Actor: "a", Type: "x.v1", Subject: "s", Payload: json.RawMessage(`{"i":1}`)})
		rows = append(rows, StoredRow{Seq: ev.Seq, TimeNS: ev.Time.UnixNano(), Actor: ev.Actor, Type: ev.Type, Subject: ev.Subject, Body: ev.Body, Prev: ev.Prev, Hash: ev.Hash})
		prev = ev.Hash
	}
	return rows
}

func TestVerifier(t *testing.T) {
	tests := []struct {
		name   string
		mod    func([]StoredRow) []StoredRow
		bad    int64
		reason string
	}{
		{"intact", func(r []StoredRow) []StoredRow { return r }, 0, ""},
		{"body byte", func(r []StoredRow) []StoredRow {
			r[2].Body = []byte(strings.Replace(string(r[2].Body), `"i":1`, `"i":2`, 1))
			return r
		}, 3, "does not match sha256"},
		{"hash", func(r []StoredRow) []StoredRow { r[2].Hash = strings.Repeat("0", 64); return r }, 3, "does not match sha256"},
		{"prev", func(r []StoredRow) []StoredRow { r[2].Prev = strings.Repeat("0", 64); return r }, 3, "prev"},
		{"missing row", func(r []StoredRow) []StoredRow { return append(r[:2], r[3:]...) }, 3, "missing"},
		{"actor column", func(r []StoredRow) []StoredRow { r[1].Actor = "mallory"; return r }, 2, "columns"},
		{"time column", func(r []StoredRow) []StoredRow { r[1].TimeNS++; return r }, 2, "time column"},
		{"seq column", func(r []StoredRow) []StoredRow { r[3].Seq, r[4].Seq = 5, 4; r[3], r[4] = r[4], r[3]; return r }, 4, "prev"},
		{"rehashed body with wrong seq", func(r []StoredRow) []StoredRow {
			r[0].Body = []byte(strings.Replace(string(r[0].Body), `"seq":1`, `"seq":9`, 1))
			r[0].Hash = Hash("", r[0].Body)
			return r
		}, 1, "body says seq 9"},
	}
	for _, tc := range tests {
		rows := tc.mod(chain(t, 5))
		v := NewVerifier(1, "")
		var err error
		for _, r := range rows {
			if err = v.Check(r); err != nil {
				break
			}
		}
		var ce *ChainError
		switch {
		case tc.bad == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad != 0 && (!errors.As(err, &ce) || ce.Seq != tc.bad || !strings.Contains(ce.Reason, tc.reason) || !errors.Is(err, ErrTampered)):
			t.Errorf("%s: %v, want first bad %d (%s)", tc.name, err, tc.bad, tc.reason)
		}
	}
}

func TestTypesDecode(t *testing.T) {
	ty := DefaultTypes()
	p, err := ty.Decode(TypeTagMoved, json.RawMessage(`{"name":"n","tag":"t","artifact_id":"A"}`))
	if err != nil || *p.(*TagMoved) != (TagMoved{Name: "n", Tag: "t", ArtifactID: "A"}) {
		t.Errorf("decode = %#v, %v", p, err)
	}
	if _, err := ty.Decode("tag.moved.v9", json.RawMessage(`{}`)); !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
	for _, raw := range []string{`{"name":"n","tag":"t"}`, `{"name":"n","tag":"t","artifact_id":"A","x":1}`, `[]`} {
		if _, err := ty.Decode(TypeTagMoved, json.RawMessage(raw)); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("decode %s: %v, want ErrInvalidEvent", raw, err)
		}
	}
	ext := ty.With("test.v1", func(json.RawMessage) (Payload, error) { return &BlobsCollected{}, nil })
	if _, err := ext.Decode("test.v1", nil); err != nil {
		t.Errorf("extended table: %v", err)
	}
	for _, raw := range []string{`{"id":"R","pattern":"x"}`, `{"id":"R","pattern":"x","keep_last":-1}`, `{"pattern":"x","keep_last":1}`} {
		if _, err := ty.Decode(TypeRetentionRuleAdded, json.RawMessage(raw)); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("decode rule %s: %v, want ErrInvalidEvent", raw, err)
		}
	}
	for _, raw := range []string{`{"artifact_id":"A","missing":1,"damaged":0,"blobs":1,"bytes":1}`,
		`{"artifact_id":"A","source":"file x","missing":-1,"damaged":0,"blobs":1,"bytes":1}`,
		`{"artifact_id":"A","source":"file x","missing":1,"damaged":0,"blobs":1,"bytes":1,"digests":[]}`} {
		if _, err := ty.Decode(TypeArtifactRepaired, json.RawMessage(raw)); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("decode repair %s: %v, want ErrInvalidEvent", raw, err)
		}
	}
	if _, err := ty.Decode(TypeRetentionRuleRemoved, json.RawMessage(`{}`)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("decode rule removal without id: %v, want ErrInvalidEvent", err)
	}
	for _, c := range []struct{ typ, raw string }{
		{TypeOCIBlobLinked, `{"repository":"r","digest":"md5:aa","size":1,"content":"` + mustDigest().String() + `","manifest":"` + mustDigest().String() + `"}`},
		{TypeOCIBlobLinked, `{"repository":"r","digest":"` + mustDigest().String() + `","size":-1,"content":"` + mustDigest().String() + `","manifest":"` + mustDigest().String() + `"}`},
		{TypeOCIBlobLinked, `{"repository":"r","digest":"` + mustDigest().String() + `","size":1}`},
		{TypeOCIBlobUnlinked, `{"repository":"","digest":"` + mustDigest().String() + `"}`},
		{TypeOCIBlobUnlinked, `{"repository":"r","digest":"sha256"}`},
	} {
		if _, err := ty.Decode(c.typ, json.RawMessage(c.raw)); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("decode %s %s: %v, want ErrInvalidEvent", c.typ, c.raw, err)
		}
	}
	if _, err := ty.Decode("test.v1", nil); !errors.Is(err, ErrUnknownType) {
		t.Errorf("With mutated the original table: %v", err)
	}
	if (Types{}).Names()[0] != TypeArtifactDeleted || len(Types{}.Names()) != 19 {
		t.Errorf("zero Types names = %v", Types{}.Names())
	}
	// Every default type's payload struct round-trips and names its type.
	for _, p := range []Payload{&ArtifactRegistered{ID: "A", Name: "n", Version: "1", ContentDigest: mustDigest(), ManifestDigest: mustDigest()},
		&TagMoved{Name: "n", Tag: "t", ArtifactID: "A"}, &TagRemoved{Name: "n", Tag: "t"}, &LabelsChanged{ArtifactID: "A"},
		&RetentionSet{ArtifactID: "A", ExpiresAt: t0}, &HoldPlaced{ArtifactID: "A", Hold: "h"}, &HoldReleased{ArtifactID: "A", Hold: "h"},
		&ArtifactDeleted{ArtifactID: "A"}, &ArtifactRetrieved{ArtifactID: "A"}, &BlobsCollected{},
		&ArtifactRepaired{ArtifactID: "A", Source: "file a.bin", Missing: 1, Blobs: 2, Bytes: 3},
		&TokenCreated{ID: "T", Name: "ci", Scope: "read", SecretHash: strings.Repeat("a", 64)}, &TokenRevoked{ID: "T"},
		&RetentionRuleAdded{ID: "R", Pattern: "logs/*", KeepLast: 3}, &RetentionRuleRemoved{ID: "R"},
		&OCIBlobLinked{Repository: "r", Digest: "sha512:" + strings.Repeat("a", 128), Size: 1, Content: mustDigest(), Manifest: mustDigest()},
		&OCIBlobUnlinked{Repository: "r", Digest: mustDigest().String()}} {
		ne, err := New("a", "", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ty.Decode(ne.Type, ne.Payload); err != nil {
			t.Errorf("%s does not round-trip: %v", ne.Type, err)
		}
	}
}

func mustDigest() content.Digest { return content.FromBytes([]byte("x")) }

// FuzzDecodeStored feeds arbitrary stored bytes (an exported or damaged log)
// to the body decoder and the verifier: they must never panic, and a body
// that decodes and verifies must re-verify identically.
func FuzzDecodeStored(f *testing.F) {
	f.Add([]byte(`{"v":1,"seq":1,"time":"2026-01-02T03:04:05Z","actor":"a","type":"x.v1","subject":"","payload":{}}`), int64(1))
	f.Add([]byte(`{"v":2}`), int64(1))
	f.Add([]byte(`{"v":1,"seq":1,"time":"bad"}`), int64(1))
	f.Add([]byte(`not json`), int64(3))
	f.Fuzz(func(t *testing.T, body []byte, seq int64) {
		ev, err := DecodeStored(seq, body, "", Hash("", body))
		if err != nil {
			return
		}
		row := StoredRow{Seq: seq, TimeNS: ev.Time.UnixNano(), Actor: ev.Actor, Type: ev.Type, Subject: ev.Subject, Body: body, Hash: Hash("", body)}
		err1 := NewVerifier(seq, "").Check(row)
		err2 := NewVerifier(seq, "").Check(row)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("verifier is not deterministic: %v / %v", err1, err2)
		}
		if err1 == nil && ev.Seq != seq {
			t.Fatalf("verified a body with seq %d as event %d", ev.Seq, seq)
		}
		_, _ = DefaultTypes().Decode(ev.Type, ev.Payload)
	})
}

// FuzzDecodeCanonical checks the fast body decoder against json.Unmarshal:
// whatever it accepts, json.Unmarshal accepts with the same result.
func FuzzDecodeCanonical(f *testing.F) {
	f.Add([]byte(`{"v":1,"seq":1,"time":"2026-01-02T03:04:05Z","actor":"a","type":"x.v1","subject":"","payload":{}}`))
	f.Add([]byte(`{"v":1,"seq":12,"time":"t","actor":"é","type":"x.v1","subject":"s","payload":{"a":[1,"}"]}}`))
	f.Add([]byte(`{"v":1,"seq":012,"time":"t","actor":"a","type":"x","subject":"s","payload":{}}`))
	f.Add([]byte(`{"v":1,"seq":1,"time":"t","actor":"a\"b","type":"x","subject":"s","payload":{}}`))
	f.Add([]byte(`{"v":1,"seq":1,"time":"t","actor":"a","type":"x","subject":"s","payload":{}} `))
	f.Add([]byte(`{"v":1,"seq":1,"time":"t","actor":"a","type":"x","subject":"s","payload":{},"seq":2}`))
	f.Add([]byte(`{"v":1,"seq":1,"time":"t","actor":"\xff","type":"x","subject":"s","payload":{}}`))
	f.Add([]byte(`{"v":1,"seq":1e3,"time":"t","actor":"a","type":"x","subject":"s","payload":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeCanonical(b)
		if !ok {
			return
		}
		var slow body
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast decoder accepted %q, json.Unmarshal: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, json.Unmarshal %+v", b, fast, slow)
		}
	})
}

func TestSealedBodiesDecodeFast(t *testing.T) {
	for _, ne := range []NewEvent{
		{Actor: "alice", Type: "x.v1", Subject: "A", Payload: json.RawMessage(`{"a": [1, "x"], "b": {}}`)},
		{Actor: "zoë", Type: "x.v1", Payload: json.RawMessage(`{}`)},
	} {
		ev, err := Seal(7, "", ne, time.Unix(1, 5).UTC())
		if err != nil {
			t.Fatal(err)
		}
		bd, ok := decodeCanonical(ev.Body)
		if !ok || bd.Seq != 7 || bd.Actor != ne.Actor || string(bd.Payload) != string(ev.Payload) {
			t.Errorf("decodeCanonical(%s) = %+v, %v", ev.Body, bd, ok)
		}
	}
	// A body in another valid form still decodes (through json.Unmarshal).
	ev, err := DecodeStored(3, []byte(`{ "seq": 3, "v": 1, "time": "2026-01-02T03:04:05Z", "actor": "a\u0062", "type": "x.v1", "subject": "", "payload": {} }`), "", "")
	if err != nil || ev.Seq != 3 || ev.Actor != "ab" || string(ev.Payload) != "{}" {
		t.Errorf("non-canonical body = %+v, %v", ev, err)
	}
}

func TestOptionsPayloadTypes(t *testing.T) {
	if got := (Options{}).PayloadTypes().Names(); !slices.Equal(got, DefaultTypes().Names()) {
		t.Errorf("zero Options decode %v, want the default types", got)
	}
	custom := DefaultTypes().With("x.y.v1", func(json.RawMessage) (Payload, error) { return &BlobsCollected{}, nil })
	if got := (Options{Types: custom}).PayloadTypes().Names(); !slices.Contains(got, "x.y.v1") {
		t.Errorf("custom types lost: %v", got)
	}
}

// FuzzDecodeRegistered checks the fast artifact.registered decoder against
// the strict generic one: whatever it accepts decodes to the same value.
func FuzzDecodeRegistered(f *testing.F) {
	d := content.FromBytes([]byte("x")).String()
	for _, p := range []ArtifactRegistered{
		{ID: "A", Name: "n", Version: "1", ContentDigest: mustDigest(), ManifestDigest: mustDigest()},
		{ID: "A", Name: "n", Version: "1", ContentDigest: mustDigest(), Size: 12, ManifestDigest: mustDigest(), MediaType: "a/b",
			Labels: map[string]string{"env": "prod", "team": "t1", "": "e"}, Tags: []string{"latest", "x"}},
		{ID: "A", Name: "n", Version: "1", ContentDigest: mustDigest(), ManifestDigest: mustDigest(),
			Provenance: Provenance{Inputs: []Input{{ArtifactID: "B"}}}},
	} {
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"A","name":"n","version":"1","content_digest":"` + d + `","size":1,"manifest_digest":"` + d + `","labels":{"b":"1","a":"2"}}`))
	f.Add([]byte(`{"id":"A","name":"n","version":"1","content_digest":"` + d + `","size":1,"manifest_digest":"` + d + `","labels":{"a":"1","a":"2"}}`))
	f.Add([]byte(`{"id":"A","name":"n","version":"1","content_digest":"","size":1,"manifest_digest":"` + d + `","tags":[]}`))
	f.Add([]byte(`{"id":"A","name":"n","version":"1","content_digest":"` + d + `","size":01,"manifest_digest":"` + d + `"}x`))
	f.Add([]byte(`{"id":"A","name":"n","version":"1","content_digest":"` + d + `","size":1,"manifest_digest":"` + d + `","provenance":{"producer":{"git_commit":"c","git_branch":"main"}}}`))
	f.Add([]byte(`{"id":"A","name":"n","version":"1","content_digest":"` + d + `","size":1,"manifest_digest":"` + d + `","provenance":{"producer":{"GIT_Branch":""}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// v1 never had git_branch, so whatever its strict decoder accepts
		// the v2 one accepts too, with the same value.
		v1, err1 := decodeRegisteredV1Strict(raw)
		v2, err2 := decodeAs[ArtifactRegistered](raw)
		if err1 == nil && (err2 != nil || !reflect.DeepEqual(v1, v2)) {
			t.Fatalf("%q: v1 decodes to %+v, v2 to %+v, %v", raw, v1, v2, err2)
		}
		fast, ok := fastRegistered(raw)
		if !ok {
			return
		}
		// The fast path serves both versions: the strict decoder of each
		// accepts what it accepts, with the same value (before validation,
		// which both apply after).
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var slow ArtifactRegistered
		if err := dec.Decode(&slow); err != nil {
			t.Fatalf("fast decoder accepted %q, the strict v2 decoder: %v", raw, err)
		}
		if !reflect.DeepEqual(*fast, slow) {
			t.Fatalf("%q: fast %+v, strict v2 %+v", raw, *fast, slow)
		}
		var old registeredV1
		if err := decodeStrict(raw, &old); err != nil {
			t.Fatalf("fast decoder accepted %q, the strict v1 decoder: %v", raw, err)
		}
		if up := old.upcast(); !reflect.DeepEqual(*fast, *up) {
			t.Fatalf("%q: fast %+v, strict v1 %+v", raw, *fast, *up)
		}
	})
}

// TestRegisteredVersions: artifact.registered.v2 is v1 plus the producer's
// git_branch. A v1 payload, as artstore wrote it before v2, decodes under
// either name to the same value; v1 stays strict and refuses git_branch.
func TestRegisteredVersions(t *testing.T) {
	const v1, v2 = "artifact.registered.v1", "artifact.registered.v2"
	if got := (ArtifactRegistered{}).EventType(); got != v2 || TypeArtifactRegistered != v2 || TypeArtifactRegisteredV1 != v1 {
		t.Errorf("ArtifactRegistered is %s (constants %s, %s), want %s", got, TypeArtifactRegistered, TypeArtifactRegisteredV1, v2)
	}
	ty := DefaultTypes()
	// json.Marshal of the v1 struct, with every producer member v1 had.
	old := `{"id":"A","name":"legacy/app","version":"1","content_digest":"` + mustDigest().String() + `","size":10,"manifest_digest":"` + mustDigest().String() +
		`","media_type":"application/gzip","labels":{"env":"prod"},"provenance":{"producer":{"tool":"make","command":"make release","host":"ci-7","user":"bob",` +
		`"git_repo":"acme/app","git_commit":"0123abc","git_dirty":true,"ci_system":"github-actions","ci_job":"release","ci_run":"77","ci_url":"https://ci/77"},` +
		`"inputs":[{"ref":"src/app:1","artifact_id":"B","digest":"` + mustDigest().String() + `","role":"source"}]},"tags":["latest"]}`
	want := &ArtifactRegistered{ID: "A", Name: "legacy/app", Version: "1", ContentDigest: mustDigest(), Size: 10, ManifestDigest: mustDigest(),
		MediaType: "application/gzip", Labels: map[string]string{"env": "prod"},
		Provenance: Provenance{Producer: Producer{Tool: "make", Command: "make release", Host: "ci-7", User: "bob", GitRepo: "acme/app", GitCommit: "0123abc",
			GitDirty: true, CISystem: "github-actions", CIJob: "release", CIRun: "77", CIURL: "https://ci/77"},
			Inputs: []Input{{Ref: "src/app:1", ArtifactID: "B", Digest: mustDigest(), Role: "source"}}},
		Tags: []string{"latest"}}
	for _, typ := range []string{v1, v2} {
		if p, err := ty.Decode(typ, json.RawMessage(old)); err != nil || !reflect.DeepEqual(p, want) {
			t.Errorf("%s of a v1 payload = %+v, %v; want %+v", typ, p, err, want)
		}
	}
	branch := strings.Replace(old, `"git_commit":"0123abc",`, `"git_commit":"0123abc","git_branch":"release/2.x",`, 1)
	want.Provenance.Producer.GitBranch = "release/2.x"
	if p, err := ty.Decode(v2, json.RawMessage(branch)); err != nil || !reflect.DeepEqual(p, want) {
		t.Errorf("v2 with a branch = %+v, %v; want %+v", p, err, want)
	}
	// What New writes for the struct is v2 and reads back whole.
	ne, err := New("a", "A", want)
	if err != nil || ne.Type != v2 || !bytes.Contains(ne.Payload, []byte(`"git_branch":"release/2.x"`)) {
		t.Fatalf("New = %+v, %v", ne, err)
	}
	if p, err := ty.Decode(ne.Type, ne.Payload); err != nil || !reflect.DeepEqual(p, want) {
		t.Errorf("v2 round trip = %+v, %v", p, err)
	}
	// v1 never had a git_branch member, whatever its value or spelling
	// (encoding/json matches member names case-insensitively).
	for _, member := range []string{`"git_branch":"release/2.x"`, `"git_branch":""`, `"Git_Branch":"x"`} {
		raw := strings.Replace(old, `"git_commit":"0123abc"`, `"git_commit":"0123abc",`+member, 1)
		if _, err := ty.Decode(v1, json.RawMessage(raw)); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("v1 with %s: %v, want ErrInvalidEvent", member, err)
		}
	}
	// Both stay strict and validate, on the fast path and off it.
	for _, typ := range []string{v1, v2} {
		for _, raw := range []string{
			strings.Replace(old, `"tags"`, `"bogus":1,"tags"`, 1),
			strings.Replace(old, `"size":10`, `"size":-10`, 1),
			strings.Replace(old, `"id":"A"`, `"id":""`, 1),
			strings.Replace(old, `"artifact_id":"B","digest":"`+mustDigest().String()+`",`, ``, 1),
			`{"id":"A","name":"n","version":"1","content_digest":"` + mustDigest().String() + `","size":-1,"manifest_digest":"` + mustDigest().String() + `"}`,
			`{"id":"","name":"n","version":"1","content_digest":"` + mustDigest().String() + `","size":1,"manifest_digest":"` + mustDigest().String() + `"}`,
		} {
			if _, err := ty.Decode(typ, json.RawMessage(raw)); !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("%s %s: %v, want ErrInvalidEvent", typ, raw, err)
			}
		}
	}
}

func TestRegisteredDecodesFast(t *testing.T) {
	p := ArtifactRegistered{ID: "A", Name: "n", Version: "1", ContentDigest: mustDigest(), Size: 3, ManifestDigest: mustDigest(),
		MediaType: "a/b", Labels: map[string]string{"env": "prod", "team": "t1"}, Tags: []string{"latest"}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := fastRegistered(b); !ok || !reflect.DeepEqual(*got, p) {
		t.Errorf("fastRegistered(%s) = %+v, %v", b, got, ok)
	}
	// Still strict: an unknown member, and validation.
	if _, err := DefaultTypes().Decode(TypeArtifactRegistered, json.RawMessage(`{"id":"A","name":"n","version":"1","bogus":1}`)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("unknown member: %v", err)
	}
	neg := append([]byte(nil), b...)
	neg = bytes.Replace(neg, []byte(`"size":3`), []byte(`"size":-3`), 1)
	if _, err := DefaultTypes().Decode(TypeArtifactRegistered, neg); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("negative size: %v", err)
	}
	noID := bytes.Replace(b, []byte(`"id":"A"`), []byte(`"id":""`), 1)
	if _, err := DefaultTypes().Decode(TypeArtifactRegistered, noID); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("empty id: %v", err)
	}
}

// FuzzAppendJSONString checks that Seal encodes strings exactly as
// json.Marshal does (the hashes cover those bytes).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "alice", `a"b`, `a\b`, "<script>", "a&b", "tab\t", "é", "\xff", "\u2028", "~\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}
