package bundle

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

func verify(t *testing.T, b []byte, key string) (*Report, error) {
	t.Helper()
	return Verify(bytes.NewReader(b), Options{Key: key})
}

func TestExportVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	b := f.export(t, ClosureAll, f.Release)
	rep, err := verify(t, b, f.S.Key.VerifierKey())
	if err != nil {
		t.Fatalf("Verify: %v\n%+v", err, rep)
	}
	if !rep.OK || rep.KeyFromBundle || rep.Size != int64(len(f.S.Log)) || rep.Origin != "artstore/test" {
		t.Fatalf("report header: %+v", rep)
	}
	var got []string
	for _, a := range rep.Artifacts {
		got = append(got, a.Ref+"@"+string(rune('0'+a.Depth)))
	}
	want := []string{"team/release:1@0", "team/build:1@1", "team/old:1@1", "team/src:1@2"}
	if !slices.Equal(got, want) {
		t.Fatalf("artifacts %v, want %v", got, want)
	}
	rel, bld, old, src := rep.Artifacts[0], rep.Artifacts[1], rep.Artifacts[2], rep.Artifacts[3]
	if !rel.Verified || rel.Kind != "file" || rel.By != "alice" || rel.Labels["audit"] != "2026" || !slices.Equal(rel.Tags, []string{"stable"}) ||
		rel.Events["artifact.retrieved.v1"] != 1 || len(rel.Inputs) != 3 {
		t.Errorf("release: %+v", rel)
	}
	if !bld.Verified || bld.Kind != "tree" || bld.Files != 3 {
		t.Errorf("build (stream tree): %+v", bld)
	}
	if !src.Verified || src.Files != 3 {
		t.Errorf("src (per-file tree): %+v", src)
	}
	if old.Verified || !old.Deleted {
		t.Errorf("old (deleted) should have events only: %+v", old)
	}
	// 9000 + 5701 + 3006 content bytes; the deleted artifact's are not in it.
	if rep.Bytes != 9000+5701+3006 || rep.Events != 8 {
		t.Errorf("bytes %d events %d", rep.Bytes, rep.Events)
	}
	if strings.Contains(string(b), "team/unused") {
		t.Error("an artifact outside the closure is in the bundle")
	}
	// Without a key the bundle's own is used, and the report says so.
	rep, err = verify(t, b, "")
	if err != nil || !rep.KeyFromBundle {
		t.Fatalf("verify with the bundle's key: %v %+v", err, rep)
	}
}

func TestExportDeterministic(t *testing.T) {
	f := newFixture(t)
	a, b := f.export(t, ClosureAll, f.Release), f.export(t, ClosureAll, f.Release)
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of the same state differ")
	}
}

func TestExportClosureDepth(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		closure int
		n       int
	}{{0, 1}, {1, 3}, {2, 4}, {ClosureAll, 4}} {
		rep, err := verify(t, f.export(t, tc.closure, f.Release), "")
		if err != nil || len(rep.Artifacts) != tc.n || rep.Closure != tc.closure {
			t.Errorf("closure %d: %v, %d artifacts", tc.closure, err, len(rep.Artifacts))
		}
	}
	// Two requested artifacts, one an input of the other: each once.
	rep, err := verify(t, f.export(t, ClosureAll, f.Build, f.Release, f.Build), "")
	if err != nil || len(rep.Artifacts) != 4 || rep.Artifacts[0].Ref != "team/build:1" || rep.Artifacts[1].Ref != "team/release:1" {
		t.Errorf("two requested: %v %+v", err, rep)
	}
}

// member is one tar member of a bundle, for tampering.
type member struct {
	name string
	data []byte
}

func members(t *testing.T, b []byte) []member {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []member
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{h.Name, data})
	}
}

func pack(t *testing.T, ms []member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		if err := tw.WriteHeader(header(m.name, int64(len(m.data)))); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	tw.Close()
	return b.Bytes()
}

func find(t *testing.T, ms []member, suffix string) int {
	t.Helper()
	for i, m := range ms {
		if strings.HasSuffix(m.name, suffix) {
			return i
		}
	}
	t.Fatalf("no member ending in %q", suffix)
	return -1
}

func TestPackIsExport(t *testing.T) {
	f := newFixture(t)
	b := f.export(t, ClosureAll, f.Release)
	if !bytes.Equal(pack(t, members(t, b)), b) {
		t.Fatal("re-packing an untouched bundle changes it: the tamper tests would test the packer")
	}
}

// TestVerifyTamper changes one thing at a time; Verify must fail naming
// the member that changed (or the one the change shows in) and why.
func TestVerifyTamper(t *testing.T) {
	f := newFixture(t)
	good := f.export(t, ClosureAll, f.Release)
	key := f.S.Key.VerifierKey()
	other, err := tlog.GenerateKey(filepath.Join(t.TempDir(), "other"), "artstore/test")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(suffix string, at func(n int) int) func([]member) []member {
		return func(ms []member) []member {
			i := find(t, ms, suffix)
			ms[i].data = bytes.Clone(ms[i].data)
			ms[i].data[at(len(ms[i].data))] ^= 1
			return ms
		}
	}
	mid := func(n int) int { return n / 2 }
	cases := []struct {
		name    string
		change  func([]member) []member
		raw     func([]byte) []byte
		key     string
		member  string
		problem string
	}{
		{name: "byte of a file's chunk", change: flip(f.Release+"/content", mid), member: f.Release + "/content", problem: "chunk"},
		{name: "byte of a stream tree's file", change: flip(f.Build+"/files/bin/tool", mid), member: "files/bin/tool", problem: "chunk"},
		{name: "byte of a per-file tree's file", change: flip(f.Src+"/files/dir/b.bin", mid), member: "files/dir/b.bin", problem: "chunk"},
		{name: "manifest", change: flip(f.Release+"/manifest", mid), member: f.Release + "/manifest", problem: "registered"},
		{name: "file manifest", change: flip("file-manifests/a.txt", mid), member: "file-manifests/a.txt", problem: "registered"},
		{name: "event body", change: func(ms []member) []member {
			i := find(t, ms, "00000000000000000005.body")
			ms[i].data = bytes.Replace(ms[i].data, []byte(`"alice"`), []byte(`"mallory"`), 1)
			return ms
		}, member: "00000000000000000005.proof", problem: "not proved"},
		{name: "prev of an event", change: flip("00000000000000000004.proof", func(int) int { return 6 }), member: "00000000000000000004.proof", problem: "not proved"},
		{name: "proof node", change: flip("00000000000000000004.proof", func(n int) int { return n - 5 }), member: "00000000000000000004.proof", problem: ""},
		{name: "checkpoint signature", change: flip("/checkpoint", func(n int) int { return n - 3 }), member: "checkpoint", problem: "does not verify"},
		{name: "key replaced, none given", change: func(ms []member) []member {
			ms[find(t, ms, "/key.pub")].data = []byte(other.VerifierKey() + "\n")
			return ms
		}, key: "", member: "checkpoint", problem: "does not verify"},
		{name: "key replaced, the store's given", change: func(ms []member) []member {
			ms[find(t, ms, "/key.pub")].data = []byte(other.VerifierKey() + "\n")
			return ms
		}, key: key, member: "key.pub", problem: "not the key you gave"},
		{name: "the wrong key given", change: func(ms []member) []member { return ms }, key: other.VerifierKey(), member: "key.pub", problem: "not the key you gave"},
		{name: "dropped input", change: func(ms []member) []member { return dropArtifact(t, ms, f.Src) }, member: "bundle.json", problem: "closure is incomplete"},
		{name: "event order", change: func(ms []member) []member {
			i, j := find(t, ms, "00000000000000000004.body"), find(t, ms, "00000000000000000005.body")
			ms[i], ms[j] = ms[j], ms[i]
			return ms
		}, member: "00000000000000000005.body", problem: "should be"},
		{name: "file order", change: func(ms []member) []member {
			i, j := find(t, ms, "files/bin/tool"), find(t, ms, "files/lib/x.so")
			ms[i], ms[j] = ms[j], ms[i]
			return ms
		}, member: "files/lib/x.so", problem: "should be"},
		{name: "README", change: func(ms []member) []member {
			ms[0].data = append(bytes.Clone(ms[0].data), " "...)
			return ms
		}, member: "README.txt", problem: "edited"},
		{name: "index whitespace", change: func(ms []member) []member {
			ms[1].data = append([]byte(" "), ms[1].data...)
			return ms
		}, member: "bundle.json", problem: "one form"},
		{name: "dropped event", change: func(ms []member) []member {
			i := find(t, ms, "00000000000000000009.body")
			return slices.Delete(ms, i, i+2)
		}, member: "", problem: "should be"},
		{name: "extra member", change: func(ms []member) []member {
			return append(ms, member{Dir + "extra", []byte("x")})
		}, member: "extra", problem: "extra member"},
		{name: "truncated", raw: func(b []byte) []byte { return b[:len(b)/2] }, problem: ""},
		{name: "modification time", raw: func(b []byte) []byte {
			var out bytes.Buffer
			tr, tw := tar.NewReader(bytes.NewReader(b)), tar.NewWriter(&out)
			for i := 0; ; i++ {
				h, err := tr.Next()
				if err != nil {
					break
				}
				if i == 2 {
					h.ModTime = h.ModTime.Add(1e9)
				}
				tw.WriteHeader(h)
				io.Copy(tw, tr)
			}
			tw.Close()
			return out.Bytes()
		}, member: "checkpoint", problem: "header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := good
			if tc.change != nil {
				b = pack(t, tc.change(members(t, good)))
			}
			if tc.raw != nil {
				b = tc.raw(bytes.Clone(good))
			}
			k := key
			if tc.key != "" || strings.HasPrefix(tc.name, "key replaced, none") {
				k = tc.key
			}
			rep, err := verify(t, b, k)
			if !errors.Is(err, ErrInvalid) || rep.OK {
				t.Fatalf("Verify = %v, OK %v; want ErrInvalid", err, rep.OK)
			}
			t.Log(err)
			if !strings.Contains(rep.Member, tc.member) || !strings.Contains(rep.Problem, tc.problem) {
				t.Fatalf("failure names member %q: %q; want %q: %q", rep.Member, rep.Problem, tc.member, tc.problem)
			}
			if !strings.Contains(err.Error(), rep.Problem) {
				t.Fatalf("error %q does not say the problem %q", err, rep.Problem)
			}
		})
	}
}

// dropArtifact removes an artifact from a bundle consistently: its index
// entry, events and bytes, with README.txt and bundle.json rewritten, as
// someone hiding an input would.
func dropArtifact(t *testing.T, ms []member, id string) []member {
	t.Helper()
	var ix Index
	if err := json.Unmarshal(ms[1].data, &ix); err != nil {
		t.Fatal(err)
	}
	drop := map[string]bool{}
	var out []member
	for _, m := range ms {
		if strings.HasSuffix(m.name, ".body") && bytes.Contains(m.data, []byte(`"subject":"`+id+`"`)) {
			drop[strings.TrimSuffix(m.name, ".body")] = true
		}
	}
	ix.Events = nil
	for _, m := range ms {
		base := strings.TrimSuffix(strings.TrimSuffix(m.name, ".body"), ".proof")
		switch {
		case drop[base], strings.Contains(m.name, "/artifacts/"+id+"/"):
			continue
		case strings.HasSuffix(m.name, ".body"):
			var seq int64
			if err := json.Unmarshal(m.data[strings.Index(string(m.data), `"seq":`)+6:][:strings.IndexByte(string(m.data[strings.Index(string(m.data), `"seq":`)+6:]), ',')], &seq); err != nil {
				t.Fatal(err)
			}
			ix.Events = append(ix.Events, seq)
		}
		out = append(out, m)
	}
	ix.Artifacts = slices.DeleteFunc(ix.Artifacts, func(a Artifact) bool { return a.ID == id })
	b, err := ix.encode()
	if err != nil {
		t.Fatal(err)
	}
	out[1].data = b
	out[0].data = readme(&ix, strings.TrimSpace(string(out[find(t, out, "/key.pub")].data)))
	return out
}

// TestVerifyHandsOverBlobs: with Options.Blob, Verify hands over every
// manifest and chunk of the artifacts with bytes, each verified, which is
// what an import needs to store them; its error stops the check and is
// not the bundle's.
func TestVerifyHandsOverBlobs(t *testing.T) {
	f := newFixture(t)
	b := f.export(t, ClosureAll, f.Release)
	got := map[content.Digest]bool{}
	rep, err := Verify(bytes.NewReader(b), Options{Blob: func(d content.Digest, size int64, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil || int64(len(data)) != size || content.FromBytes(data) != d {
			t.Errorf("blob %s: %d bytes of %d, err %v", d, len(data), size, err)
		}
		got[d] = true
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for d := range f.S.Blobs() {
		// Every blob of the store but the deleted and unrelated artifacts'.
		if !got[d] && !f.IsBlobOf(d, f.Old, f.Unused) {
			t.Errorf("blob %s not handed over", d)
		}
	}
	if len(rep.Artifacts[0].Proved) != 4 || rep.Artifacts[0].Registration.Name != "team/release" || len(rep.Checkpoint) == 0 {
		t.Errorf("evidence not kept: %+v", rep.Artifacts[0])
	}
	boom := errors.New("disk full")
	_, err = Verify(bytes.NewReader(b), Options{Blob: func(content.Digest, int64, io.Reader) error { return boom }})
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
		t.Fatalf("Blob's error: %v", err)
	}
}

// TestImportRecordVerifies: the evidence an import keeps verifies on its
// own, and any change to it does not.
func TestImportRecordVerifies(t *testing.T) {
	f := newFixture(t)
	rep, err := Verify(bytes.NewReader(f.export(t, ClosureAll, f.Release)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := ImportRecord(rep, &rep.Artifacts[0], false)
	got, err := VerifyForeign(rec)
	if err != nil || got.Registered.Name != "team/release" || got.Checkpoint.Size != 9 || len(rec.Events) != 4 {
		t.Fatalf("VerifyForeign = %+v, %v", got, err)
	}
	for name, change := range map[string]func(r *eventlog.ArtifactImported){
		"body": func(r *eventlog.ArtifactImported) {
			r.Events[1].Body = strings.Replace(r.Events[1].Body, "alice", "alicf", 1)
		},
		"prev":  func(r *eventlog.ArtifactImported) { r.Events[0].Prev = strings.Repeat("0", 64) },
		"proof": func(r *eventlog.ArtifactImported) { r.Events[0].Proof[0] = r.Events[0].Proof[1] },
		"key": func(r *eventlog.ArtifactImported) {
			r.Key = "artstore/test+01234567+AXmA3Zxp9fMsnUqUStWV71Kb3d3nB+2EBhdkTK2WwZ7g"
		},
		"origin":     func(r *eventlog.ArtifactImported) { r.Origin = "artstore/other" },
		"foreign id": func(r *eventlog.ArtifactImported) { r.ForeignID = f.Build },
		"order":      func(r *eventlog.ArtifactImported) { r.Events[0], r.Events[1] = r.Events[1], r.Events[0] },
	} {
		r := ImportRecord(rep, &rep.Artifacts[0], false)
		change(r)
		if _, err := VerifyForeign(r); !errors.Is(err, ErrForeign) {
			t.Errorf("%s changed: %v, want ErrForeign", name, err)
		}
	}
}

// TestVerifyBoundsEvents: the events a verifier keeps are bounded; a
// bundle with more fails, naming the event where the bound was passed.
func TestVerifyBoundsEvents(t *testing.T) {
	f := newFixture(t)
	b := f.export(t, ClosureAll, f.Release)
	rep, err := Verify(bytes.NewReader(b), Options{maxEvents: 1000})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(rep.Problem, "more than 1000 bytes") || !strings.HasSuffix(rep.Member, ".body") {
		t.Fatalf("Verify = %v (%s: %s)", err, rep.Member, rep.Problem)
	}
}

// TestVerifyReaderFails: a reader that fails midway (a cut connection) is
// its own error, not a bundle that does not verify.
func TestVerifyReaderFails(t *testing.T) {
	f := newFixture(t)
	b := f.export(t, ClosureAll, f.Release)
	cut := errors.New("connection reset")
	_, err := Verify(io.MultiReader(bytes.NewReader(b[:len(b)/2]), iotest.ErrReader(cut)), Options{})
	if !errors.Is(err, cut) || errors.Is(err, ErrInvalid) {
		t.Fatalf("Verify = %v, want the reader's error", err)
	}
	// A bundle that merely ends early is the bundle's fault.
	if _, err := Verify(bytes.NewReader(b[:len(b)/2]), Options{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("truncated: %v", err)
	}
}
