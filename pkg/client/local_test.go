package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
)

// testClock is a settable clock for events.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore opens a local store in a fresh temporary directory, with
// retrieval records on and a clock the test controls.
func newStore(t *testing.T, mod ...func(*LocalOptions)) (*Local, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts := LocalOptions{Dir: filepath.Join(t.TempDir(), "store"), Actor: "tester@host", RetrievalRecords: true, Now: clock.Now}
	for _, m := range mod {
		m(&opts)
	}
	l, err := OpenLocal(context.Background(), opts)
	if err != nil {
		t.Fatalf("OpenLocal: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l, clock
}

// randomBytes returns n bytes from a PRNG stream named by seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 0x5a})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func writeFile(t *testing.T, path string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func mustPush(t *testing.T, l *Local, req PushRequest) *PushResult {
	t.Helper()
	res, err := l.Push(context.Background(), req)
	if err != nil {
		t.Fatalf("Push(%s): %v", req.Name, err)
	}
	return res
}

func pushBytes(t *testing.T, l *Local, name string, data []byte) *PushResult {
	t.Helper()
	return mustPush(t, l, PushRequest{Reader: bytes.NewReader(data), Name: name})
}

// manifestOf reads the manifest of an artifact straight from the backend.
func manifestOf(t *testing.T, l *Local, a Artifact) content.Manifest {
	t.Helper()
	d := content.MustParseDigest(a.ManifestDigest)
	rc, err := l.backend.Get(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := content.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// blobPath is where the default local backend keeps blob d.
func blobPath(l *Local, d content.Digest) string {
	return filepath.Join(l.dir, DefaultBlobDir, filepath.FromSlash(d.Key()))
}

// corruptBlob flips one byte of a stored blob in place.
func corruptBlob(t *testing.T, l *Local, d content.Digest) {
	t.Helper()
	p := blobPath(l, d)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func countBlobs(t *testing.T, l *Local) int {
	t.Helper()
	n := 0
	if err := l.backend.Walk(context.Background(), func(storage.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPushFilePullRoundTrip(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	data := randomBytes(1, 3<<20+12345)
	src := filepath.Join(t.TempDir(), "Q3 Report (final).PDF")
	writeFile(t, src, data, 0o644)

	var lastRead, lastUp int64
	res, err := l.Push(ctx, PushRequest{Path: src, Labels: map[string]string{"team": "finance"},
		Producer: Producer{Tool: "test", GitBranch: "main", GitCommit: "abc"},
		Progress: func(read, up int64) { lastRead, lastUp = read, up }})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	want := Artifact{Name: "q3-report-final.pdf", Version: "1", Ref: "q3-report-final.pdf:1", Kind: KindFile,
		ContentDigest: sha256Hex(data), Size: int64(len(data)), MediaType: "application/pdf"}
	if res.Name != want.Name || res.Version != want.Version || res.Ref != want.Ref || res.Kind != want.Kind ||
		res.ContentDigest != want.ContentDigest || res.Size != want.Size || res.MediaType != want.MediaType {
		t.Fatalf("Push result = %+v, want %+v", res.Artifact, want)
	}
	if res.UploadedBytes != res.Size || res.DeduplicatedBytes != 0 || res.Chunks < 1 {
		t.Errorf("uploaded %d, deduplicated %d, chunks %d; want %d, 0, >0", res.UploadedBytes, res.DeduplicatedBytes, res.Chunks, res.Size)
	}
	if lastRead != res.Size || lastUp != res.Size {
		t.Errorf("last progress = (%d, %d), want (%d, %d)", lastRead, lastUp, res.Size, res.Size)
	}
	if !slices.Equal(res.Tags, []string{"latest"}) || res.CreatedBy != "tester@host" || res.Labels["team"] != "finance" {
		t.Errorf("tags %v, creator %q, labels %v", res.Tags, res.CreatedBy, res.Labels)
	}

	got, err := l.Get(ctx, "q3-report-final.pdf")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != res.ID || got.ManifestDigest != res.ManifestDigest || got.Provenance.Producer.GitCommit != "abc" || got.Provenance.Producer.Tool != "test" {
		t.Errorf("Get = %+v, want the pushed artifact", got)
	}

	var buf bytes.Buffer
	var progressed int64
	pr, err := l.Pull(ctx, "q3-report-final.pdf:1", &buf, PullOptions{Progress: func(n int64) { progressed = n }})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("pulled bytes differ from the pushed ones")
	}
	if pr.Bytes != int64(len(data)) || pr.ContentDigest != sha256Hex(data) || pr.Kind != KindFile || pr.ID != res.ID || progressed != pr.Bytes {
		t.Errorf("Pull result = %+v (progress %d)", pr, progressed)
	}

	out := filepath.Join(t.TempDir(), "copy.pdf")
	pr, err = l.PullToPath(ctx, res.ID, out, PullOptions{})
	if err != nil {
		t.Fatalf("PullToPath: %v", err)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("PullToPath wrote different bytes (err %v)", err)
	}
	if pr.Path != out {
		t.Errorf("PullResult.Path = %q, want %q", pr.Path, out)
	}
}

// TestGitBranchRecorded: the branch a push detects is recorded in the log
// (artifact.registered.v2), so Get returns it, before and after a rebuild,
// with the other producer fields.
func TestGitBranchRecorded(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	prod := Producer{Tool: "make", Command: "make release", Host: "ci-7", User: "bob", GitRepo: "acme/app", GitCommit: "0123abc", GitBranch: "release/2.x",
		GitDirty: true, CISystem: "github-actions", CIJob: "release", CIRun: "77", CIURL: "https://ci/77"}
	res := mustPush(t, l, PushRequest{Reader: strings.NewReader("built"), Name: "builds/app", Producer: prod})
	if res.Provenance.Producer != prod {
		t.Errorf("push result producer = %+v, want %+v", res.Provenance.Producer, prod)
	}
	check := func(when string) {
		t.Helper()
		got, err := l.Get(ctx, "builds/app:1")
		if err != nil {
			t.Fatalf("%s: Get: %v", when, err)
		}
		if got.Provenance.Producer != prod {
			t.Errorf("%s: Get producer = %+v, want %+v", when, got.Provenance.Producer, prod)
		}
	}
	check("live")
	if err := l.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	check("after rebuild")
	evs, err := l.Events(ctx, 0, 1, 0)
	if err != nil || len(evs) != 1 || evs[0].Type != "artifact.registered.v2" {
		t.Fatalf("events = %+v, %v; want one artifact.registered.v2", evs, err)
	}
	if pr, _ := evs[0].Payload["provenance"].(map[string]any); pr == nil || pr["producer"].(map[string]any)["git_branch"] != "release/2.x" {
		t.Errorf("event payload provenance = %v, want git_branch release/2.x", evs[0].Payload["provenance"])
	}
}

func TestPushMediaTypeDetection(t *testing.T) {
	l, _ := newStore(t)
	dir := t.TempDir()
	pdfMagic := []byte("%PDF-1.7\n")
	tests := []struct {
		file      string // "" pushes from a reader
		data      []byte
		mediaType string // given
		want      string
	}{
		{file: "a.json", data: []byte(`{"a":1}`), want: "application/json"},
		{file: "noext", data: pdfMagic, want: "application/pdf"},
		{file: "", data: []byte("plain text\n"), want: "text/plain; charset=utf-8"},
		{file: "", data: pdfMagic, want: "application/pdf"},
		{file: "", data: nil, want: "text/plain; charset=utf-8"},
		{file: "b.json", data: pdfMagic, mediaType: "application/x-custom", want: "application/x-custom"},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			req := PushRequest{Name: fmt.Sprintf("m%d", i), MediaType: tc.mediaType}
			if tc.file != "" {
				req.Path = filepath.Join(dir, tc.file)
				writeFile(t, req.Path, tc.data, 0o644)
			} else {
				req.Reader = bytes.NewReader(tc.data)
			}
			res := mustPush(t, l, req)
			if res.MediaType != tc.want {
				t.Errorf("media type = %q, want %q", res.MediaType, tc.want)
			}
			var buf bytes.Buffer
			if _, err := l.Pull(context.Background(), res.Ref, &buf, PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), tc.data) {
				t.Errorf("round trip after sniffing: err %v, equal %v", err, bytes.Equal(buf.Bytes(), tc.data))
			}
		})
	}
}

func TestPushStdin(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	data := randomBytes(2, 100000)
	res := mustPush(t, l, PushRequest{Reader: bytes.NewReader(data), Name: "logs/build"})
	if res.Ref != "logs/build:1" || res.ContentDigest != sha256Hex(data) {
		t.Errorf("stdin push = %s %s", res.Ref, res.ContentDigest)
	}
	var buf bytes.Buffer
	if _, err := l.Pull(ctx, "logs/build", &buf, PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Pull: %v", err)
	}

	before := countBlobs(t, l)
	_, err := l.Push(ctx, PushRequest{Reader: bytes.NewReader(data)})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--name") {
		t.Errorf("stdin push without a name: %v, want ErrInvalid naming --name", err)
	}
	if n := countBlobs(t, l); n != before {
		t.Errorf("a refused push stored %d blobs", n-before)
	}
}

func TestPushRefusesBadInputBeforeReading(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	pushBytes(t, l, "x", []byte("one"))
	dir := t.TempDir()
	tests := []struct {
		name string
		req  PushRequest
		want error
		msg  string
	}{
		{"no source", PushRequest{Name: "a"}, ErrInvalid, "exactly one"},
		{"both sources", PushRequest{Name: "a", Path: "f", Reader: strings.NewReader("")}, ErrInvalid, "exactly one"},
		{"bad name", PushRequest{Name: "Bad Name"}, ErrInvalid, "a-z"},
		{"bad version", PushRequest{Name: "a", Version: "-1"}, ErrInvalid, "version"},
		{"all-digit tag", PushRequest{Name: "a", Tags: []string{"123"}}, ErrInvalid, "digits"},
		{"bad label", PushRequest{Name: "a", Labels: map[string]string{"bad key": "v"}}, ErrInvalid, "label key"},
		{"unknown input", PushRequest{Name: "a", Inputs: []Input{{Ref: "nope:1"}}}, ErrNotFound, "input 1"},
		{"bad input digest", PushRequest{Name: "a", Inputs: []Input{{Digest: "sha256:xyz"}}}, ErrInvalid, "input 1"},
		{"reserved media type", PushRequest{Name: "a", MediaType: TreeMediaType}, ErrInvalid, "reserved"},
		{"bad media type", PushRequest{Name: "a", MediaType: "not a type"}, ErrInvalid, "media type"},
		{"existing version", PushRequest{Name: "x", Version: "1"}, ErrConflict, "exists"},
		{"version is a tag", PushRequest{Name: "x", Version: "latest"}, ErrConflict, "is a tag"},
		{"missing file", PushRequest{Path: filepath.Join(dir, "absent.txt")}, ErrNotFound, "absent.txt"},
		{"underivable name", PushRequest{Path: filepath.Join(dir, "отчёт.txt")}, ErrInvalid, "--name"},
	}
	before := countBlobs(t, l)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if req.Path == "" && req.Reader == nil && tc.name != "no source" {
				req.Reader = strings.NewReader("content that must not be stored")
			}
			_, err := l.Push(ctx, req)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Push: %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
	if n := countBlobs(t, l); n != before {
		t.Errorf("refused pushes stored %d blobs", n-before)
	}
}

func TestPushDirectoryRoundTrip(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	src := filepath.Join(t.TempDir(), "Site")
	files := map[string]struct {
		data []byte
		mode fs.FileMode
	}{
		"index.html":           {[]byte("<html></html>"), 0o644},
		"bin/run.sh":           {[]byte("#!/bin/sh\necho hi\n"), 0o755},
		"a/b/c/deep.bin":       {randomBytes(3, 700000), 0o600},
		"a/b/empty":            {nil, 0o640},
		"names/ünïcode ok.txt": {[]byte("x"), 0o644},
	}
	for p, f := range files {
		writeFile(t, filepath.Join(src, filepath.FromSlash(p)), f.data, f.mode)
	}
	if err := os.MkdirAll(filepath.Join(src, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "a", "b"), 0o750); err != nil {
		t.Fatal(err)
	}

	res := mustPush(t, l, PushRequest{Path: src})
	if res.Name != "site" || res.Kind != KindTree || res.MediaType != TreeMediaType {
		t.Fatalf("tree push = name %q kind %q media type %q", res.Name, res.Kind, res.MediaType)
	}
	var total int64
	for _, f := range files {
		total += int64(len(f.data))
	}
	if res.Size != total {
		t.Errorf("tree size = %d, want %d", res.Size, total)
	}
	if got, _ := l.Get(ctx, "site"); got.Kind != KindTree {
		t.Errorf("Get kind = %q, want tree", got.Kind)
	}

	var buf bytes.Buffer
	if _, err := l.Pull(ctx, "site", &buf, PullOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "-o DIR") {
		t.Errorf("Pull of a tree to a writer: %v, want ErrInvalid saying -o DIR", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Pull of a tree wrote %d bytes", buf.Len())
	}
	if _, err := l.PullToPath(ctx, "site", t.TempDir(), PullOptions{Range: "0-1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("range pull of a tree: %v, want ErrInvalid", err)
	}

	out := filepath.Join(t.TempDir(), "restored")
	pr, err := l.PullToPath(ctx, "site", out, PullOptions{})
	if err != nil {
		t.Fatalf("PullToPath: %v", err)
	}
	if pr.Kind != KindTree || pr.Bytes != total {
		t.Errorf("PullResult = %+v", pr)
	}
	for p, f := range files {
		full := filepath.Join(out, filepath.FromSlash(p))
		b, err := os.ReadFile(full)
		if err != nil || !bytes.Equal(b, f.data) {
			t.Errorf("%s: content differs (err %v)", p, err)
			continue
		}
		if st, _ := os.Stat(full); st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), f.mode)
		}
	}
	if st, err := os.Stat(filepath.Join(out, "a", "b")); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("directory a/b: %v, %v; want mode 0750", st, err)
	}
	if st, err := os.Stat(filepath.Join(out, "emptydir")); err != nil || !st.IsDir() {
		t.Errorf("empty directory not recreated: %v", err)
	}

	// Same tree again: everything deduplicated, same content digest.
	again := mustPush(t, l, PushRequest{Path: src, Name: "site"})
	if again.Version != "2" || again.ContentDigest != res.ContentDigest || again.UploadedBytes != 0 || again.DeduplicatedBytes != total {
		t.Errorf("re-push of the tree: version %s digest %s uploaded %d dedup %d", again.Version, again.ContentDigest, again.UploadedBytes, again.DeduplicatedBytes)
	}
	if _, err := l.Push(ctx, PushRequest{Path: src, Name: "site", MediaType: "text/html"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("tree push with a media type: %v, want ErrInvalid", err)
	}
}

func TestPushTwiceDeduplicates(t *testing.T) {
	l, _ := newStore(t)
	data := randomBytes(4, 5<<20)
	first := pushBytes(t, l, "data", data)
	second := pushBytes(t, l, "data", data)
	if second.Version != "2" || first.Version != "1" {
		t.Errorf("versions = %s, %s; want 1, 2", first.Version, second.Version)
	}
	if second.UploadedBytes != 0 || second.DeduplicatedBytes != int64(len(data)) {
		t.Errorf("second push uploaded %d, deduplicated %d; want 0, %d", second.UploadedBytes, second.DeduplicatedBytes, len(data))
	}
	if second.ManifestDigest != first.ManifestDigest || second.ContentDigest != first.ContentDigest {
		t.Error("the same content got a different manifest or content digest")
	}
	if second.ID == first.ID {
		t.Error("two versions share an ID")
	}
}

func TestTagsLabelsLatest(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	v1 := mustPush(t, l, PushRequest{Reader: strings.NewReader("one"), Name: "app", Tags: []string{"stable"}})
	v2 := mustPush(t, l, PushRequest{Reader: strings.NewReader("two"), Name: "app", NoLatest: true})
	v3 := mustPush(t, l, PushRequest{Reader: strings.NewReader("three"), Name: "app", Version: "3.0-rc1", Labels: map[string]string{"env": "dev", "owner": "me"}})

	resolve := func(ref string) string {
		a, err := l.Get(ctx, ref)
		if err != nil {
			t.Fatalf("Get(%s): %v", ref, err)
		}
		return a.Version
	}
	if got := resolve("app"); got != "3.0-rc1" {
		t.Errorf("app (latest) = %s, want 3.0-rc1", got)
	}
	if got := resolve("app:stable"); got != "1" {
		t.Errorf("app:stable = %s, want 1", got)
	}
	if got := resolve("app:2"); got != "2" || len(v2.Tags) != 0 {
		t.Errorf("app:2 = %s with tags %v; want 2 without tags", got, v2.Tags)
	}
	if got := resolve("app@" + v1.ContentDigest); got != "1" {
		t.Errorf("app@digest = %s, want 1", got)
	}

	a, err := l.Tag(ctx, "app:2", "prod")
	if err != nil || !slices.Contains(a.Tags, "prod") {
		t.Fatalf("Tag: %v, tags %v", err, a.Tags)
	}
	if a, err = l.Tag(ctx, "app:1", "prod"); err != nil || a.Version != "1" || resolve("app:prod") != "1" {
		t.Fatalf("moving prod: %v", err)
	}
	if a, _ := l.Get(ctx, "app:2"); slices.Contains(a.Tags, "prod") {
		t.Error("prod still on app:2 after moving")
	}
	if _, err := l.Tag(ctx, "app:1", "3.0-rc1"); !errors.Is(err, ErrConflict) {
		t.Errorf("tag named like a version: %v, want ErrConflict", err)
	}
	if _, err := l.Tag(ctx, "app:1", "42"); !errors.Is(err, ErrInvalid) {
		t.Errorf("all-digit tag: %v, want ErrInvalid", err)
	}

	a, err = l.Label(ctx, v3.Ref, map[string]string{"env": "prod", "tier": "1"}, []string{"owner"})
	if err != nil {
		t.Fatalf("Label: %v", err)
	}
	if want := map[string]string{"env": "prod", "tier": "1"}; fmt.Sprint(a.Labels) != fmt.Sprint(want) {
		t.Errorf("labels = %v, want %v", a.Labels, want)
	}
	if _, err := l.Label(ctx, v3.Ref, map[string]string{"k": "v"}, []string{"k"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("set and remove the same label: %v, want ErrInvalid", err)
	}
}

func TestInputsAndLineage(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	src := pushBytes(t, l, "src", []byte("source"))
	cfg := pushBytes(t, l, "cfg", []byte("config"))
	raw := sha256Hex([]byte("raw input"))
	bin := mustPush(t, l, PushRequest{Reader: strings.NewReader("binary"), Name: "bin", Inputs: []Input{
		{Ref: "src:1", Role: "source"}, {Ref: cfg.ID, Role: "config"}, {Ref: raw, Role: "vendor"}}})
	pkg := mustPush(t, l, PushRequest{Reader: strings.NewReader("package"), Name: "pkg", Inputs: []Input{{Ref: "bin", Role: "payload"}}})

	got, _ := l.Get(ctx, "bin")
	ins := got.Provenance.Inputs
	if len(ins) != 3 || ins[0].ArtifactID != src.ID || ins[0].Digest != src.ContentDigest || ins[1].ArtifactID != cfg.ID ||
		ins[2].ArtifactID != "" || ins[2].Digest != raw || ins[2].Role != "vendor" {
		t.Fatalf("inputs = %+v", ins)
	}

	up, err := l.Lineage(ctx, "pkg", LineageOptions{})
	if err != nil {
		t.Fatalf("Lineage up: %v", err)
	}
	ids := func(g *LineageGraph) []string {
		var out []string
		for _, n := range g.Nodes {
			out = append(out, n.Name)
		}
		return out
	}
	if up.Root != pkg.ID || !slices.Equal(ids(up), []string{"pkg", "bin", "src", "cfg"}) {
		t.Errorf("up nodes = %v", ids(up))
	}
	wantEdges := []LineageEdge{
		{From: pkg.ID, To: bin.ID, Digest: bin.ContentDigest, Role: "payload", Depth: 1},
		{From: bin.ID, To: src.ID, Digest: src.ContentDigest, Role: "source", Depth: 2},
		{From: bin.ID, To: cfg.ID, Digest: cfg.ContentDigest, Role: "config", Depth: 2},
		{From: bin.ID, To: "", Digest: raw, Role: "vendor", Depth: 2},
	}
	if !slices.Equal(up.Edges, wantEdges) {
		t.Errorf("up edges = %+v\nwant %+v", up.Edges, wantEdges)
	}

	one, err := l.Lineage(ctx, "pkg", LineageOptions{Direction: Up, Depth: 1})
	if err != nil || len(one.Edges) != 1 || len(one.Nodes) != 2 {
		t.Errorf("depth 1: %v, %d edges, %d nodes", err, len(one.Edges), len(one.Nodes))
	}

	down, err := l.Lineage(ctx, "src", LineageOptions{Direction: Down})
	if err != nil {
		t.Fatalf("Lineage down: %v", err)
	}
	if !slices.Equal(ids(down), []string{"src", "bin", "pkg"}) || len(down.Edges) != 2 ||
		down.Edges[0] != (LineageEdge{From: bin.ID, To: src.ID, Digest: src.ContentDigest, Role: "source", Depth: 1}) ||
		down.Edges[1].From != pkg.ID || down.Edges[1].Depth != 2 {
		t.Errorf("down = nodes %v edges %+v", ids(down), down.Edges)
	}
	if _, err := l.Lineage(ctx, "src", LineageOptions{Direction: "sideways"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad direction: %v", err)
	}
}

func TestCorruptedChunk(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	data := randomBytes(5, 3<<20)
	res := pushBytes(t, l, "victim", data)
	m := manifestOf(t, l, res.Artifact)
	corruptBlob(t, l, m.Chunks[len(m.Chunks)-1].Digest)

	var buf bytes.Buffer
	if _, err := l.Pull(ctx, "victim", &buf, PullOptions{}); !errors.Is(err, ErrIntegrity) || !errors.Is(err, content.ErrMismatch) {
		t.Errorf("Pull of a corrupted artifact: %v, want ErrIntegrity", err)
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	if _, err := l.PullToPath(ctx, "victim", out, PullOptions{}); !errors.Is(err, ErrIntegrity) {
		t.Errorf("PullToPath of a corrupted artifact: %v, want ErrIntegrity", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("PullToPath left %v behind", entries)
	}
	if a, _ := l.Get(ctx, "victim"); a.Retrievals.Count != 0 {
		t.Errorf("failed pulls recorded %d retrievals", a.Retrievals.Count)
	}

	if err := os.Remove(blobPath(l, m.Chunks[0].Digest)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PullToPath(ctx, "victim", out, PullOptions{}); !errors.Is(err, ErrIntegrity) {
		t.Errorf("PullToPath with a missing chunk: %v, want ErrIntegrity", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output file exists after a failed pull: %v", err)
	}
}

func TestRangePull(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	data := randomBytes(6, 6<<20)
	res := pushBytes(t, l, "big", data)
	m := manifestOf(t, l, res.Artifact)
	if len(m.Chunks) < 2 {
		t.Fatalf("want a multi-chunk artifact, got %d chunks", len(m.Chunks))
	}
	boundary := m.Chunks[0].Size
	n := int64(len(data))
	tests := []struct {
		rng        string
		start, end int64
	}{
		{"0-9", 0, 9},
		{fmt.Sprintf("%d-%d", boundary-5, boundary+5), boundary - 5, boundary + 5},
		{fmt.Sprintf("%d-", n-100), n - 100, n - 1},
		{"-7", n - 7, n - 1},
		{fmt.Sprintf("0-%d", n-1), 0, n - 1},
	}
	for _, tc := range tests {
		t.Run(tc.rng, func(t *testing.T) {
			var buf bytes.Buffer
			pr, err := l.Pull(ctx, "big", &buf, PullOptions{Range: tc.rng})
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), data[tc.start:tc.end+1]) {
				t.Errorf("range %s: wrong bytes", tc.rng)
			}
			if want := fmt.Sprintf("%d-%d", tc.start, tc.end); pr.Range != want || pr.Bytes != tc.end-tc.start+1 {
				t.Errorf("result range %q bytes %d, want %q %d", pr.Range, pr.Bytes, want, tc.end-tc.start+1)
			}
		})
	}
	for _, bad := range []string{fmt.Sprintf("0-%d", n), "9-3", "x", fmt.Sprintf("%d-", n)} {
		if _, err := l.Pull(ctx, "big", io.Discard, PullOptions{Range: bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("range %q: %v, want ErrInvalid", bad, err)
		}
	}
	evs, err := l.Events(ctx, 0, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ranges []string
	for _, e := range evs {
		if e.Type == eventlog.TypeArtifactRetrieved {
			r, _ := e.Payload["range"].(string)
			ranges = append(ranges, r)
		}
	}
	if len(ranges) != len(tests) || ranges[0] != "0-9" {
		t.Errorf("retrieval ranges = %v", ranges)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	l, clock := newStore(t)
	keep := pushBytes(t, l, "keep", []byte("keep"))
	gone := pushBytes(t, l, "gone", []byte("gone"))
	clock.Advance(time.Minute)
	d, err := l.Delete(ctx, "gone")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if !d.Deleted || d.DeletedAt == nil || !d.DeletedAt.Equal(clock.Now()) {
		t.Errorf("deleted artifact = deleted %v at %v", d.Deleted, d.DeletedAt)
	}
	for _, ref := range []string{"gone", "gone:1", "gone:latest"} {
		if _, err := l.Get(ctx, ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) after delete: %v, want ErrNotFound", ref, err)
		}
	}
	a, err := l.Get(ctx, gone.ID)
	if err != nil || !a.Deleted {
		t.Errorf("Get by ID after delete: %v, deleted %v", err, a != nil && a.Deleted)
	}
	if _, err := l.Pull(ctx, gone.ID, io.Discard, PullOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Pull of a deleted artifact: %v, want ErrNotFound", err)
	}
	if _, err := l.Delete(ctx, gone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	p, err := l.List(ctx, Query{})
	if err != nil || len(p.Artifacts) != 1 || p.Artifacts[0].ID != keep.ID {
		t.Errorf("List after delete: %v, %+v", err, p)
	}
	p, err = l.List(ctx, Query{IncludeDeleted: true})
	if err != nil || len(p.Artifacts) != 2 || !p.Artifacts[1].Deleted {
		t.Errorf("List with deleted: %v, %+v", err, p)
	}
	// A new push of the name gets the next number; the deleted one stays taken.
	if again := pushBytes(t, l, "gone", []byte("again")); again.Version != "2" {
		t.Errorf("version after delete = %s, want 2", again.Version)
	}
	if _, err := l.Push(ctx, PushRequest{Reader: strings.NewReader("x"), Name: "gone", Version: "1"}); !errors.Is(err, ErrConflict) {
		t.Errorf("reusing a deleted version: %v, want ErrConflict", err)
	}
}

func TestRetrievalRecords(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			l, _ := newStore(t, func(o *LocalOptions) { o.RetrievalRecords = on })
			data := []byte("audited content")
			res := pushBytes(t, l, "audit", data)
			if _, err := l.Pull(ctx, "audit", io.Discard, PullOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.PullToPath(ctx, "audit", filepath.Join(t.TempDir(), "f"), PullOptions{Range: "0-4"}); err != nil {
				t.Fatal(err)
			}
			evs, err := l.Events(ctx, 0, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []Event
			for _, e := range evs {
				if e.Type == eventlog.TypeArtifactRetrieved {
					got = append(got, e)
				}
			}
			a, _ := l.Get(ctx, "audit")
			if !on {
				if len(got) != 0 || a.Retrievals.Count != 0 {
					t.Errorf("retrieval records off: %d events, count %d", len(got), a.Retrievals.Count)
				}
				return
			}
			if len(got) != 2 {
				t.Fatalf("%d retrieval events, want 2", len(got))
			}
			e := got[0]
			if e.Actor != "tester@host" || e.Subject != res.ID || fmt.Sprint(e.Payload["bytes"]) != fmt.Sprint(len(data)) {
				t.Errorf("retrieval event = %+v", e)
			}
			if got[1].Payload["range"] != "0-4" || fmt.Sprint(got[1].Payload["bytes"]) != "5" {
				t.Errorf("range retrieval payload = %v", got[1].Payload)
			}
			if a.Retrievals.Count != 2 || a.Retrievals.Bytes != int64(len(data))+5 || a.Retrievals.LastBy != "tester@host" || a.Retrievals.LastAt == nil {
				t.Errorf("retrieval stats = %+v", a.Retrievals)
			}
		})
	}
}

// cancelAfterPuts cancels a context once n blob uploads have succeeded.
type cancelAfterPuts struct {
	transfer.BlobStore
	n      int32
	puts   atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelAfterPuts) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) error {
	err := c.BlobStore.Put(ctx, d, size, r)
	if err == nil && c.puts.Add(1) == c.n {
		c.cancel()
	}
	return err
}

func TestInterruptedPushResumes(t *testing.T) {
	l, _ := newStore(t)
	data := randomBytes(7, 24<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	orig := l.blobs
	l.blobs = &cancelAfterPuts{BlobStore: orig, n: 2, cancel: cancel}
	_, err := l.Push(ctx, PushRequest{Reader: bytes.NewReader(data), Name: "resumable"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted push: %v, want context.Canceled", err)
	}
	if p, err := l.List(context.Background(), Query{}); err != nil || len(p.Artifacts) != 0 {
		t.Fatalf("an interrupted push registered something: %v %+v", err, p)
	}
	if countBlobs(t, l) < 2 {
		t.Fatal("the interrupted push stored fewer than 2 chunks")
	}

	l.blobs = orig
	res := pushBytes(t, l, "resumable", data)
	if res.UploadedBytes >= res.Size || res.DeduplicatedBytes == 0 || res.UploadedBytes+res.DeduplicatedBytes != res.Size {
		t.Errorf("resumed push uploaded %d and deduplicated %d of %d bytes", res.UploadedBytes, res.DeduplicatedBytes, res.Size)
	}
	var buf bytes.Buffer
	if _, err := l.Pull(context.Background(), "resumable", &buf, PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("pull after resume: %v", err)
	}
}

func TestUnknownAndMalformedRefs(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	pushBytes(t, l, "there", []byte("x"))
	calls := map[string]func(ref string) error{
		"Get":  func(r string) error { _, err := l.Get(ctx, r); return err },
		"Pull": func(r string) error { _, err := l.Pull(ctx, r, io.Discard, PullOptions{}); return err },
		"PullToPath": func(r string) error {
			_, err := l.PullToPath(ctx, r, filepath.Join(t.TempDir(), "x"), PullOptions{})
			return err
		},
		"Tag":       func(r string) error { _, err := l.Tag(ctx, r, "t"); return err },
		"Label":     func(r string) error { _, err := l.Label(ctx, r, map[string]string{"a": "b"}, nil); return err },
		"Lineage":   func(r string) error { _, err := l.Lineage(ctx, r, LineageOptions{}); return err },
		"Delete":    func(r string) error { _, err := l.Delete(ctx, r); return err },
		"Hold":      func(r string) error { _, err := l.Hold(ctx, r, "why"); return err },
		"Release":   func(r string) error { _, err := l.Release(ctx, r); return err },
		"Retention": func(r string) error { _, err := l.SetRetention(ctx, r, RetentionRequest{}); return err },
		"Verify":    func(r string) error { _, err := l.Verify(ctx, VerifyOptions{Ref: r}); return err },
	}
	for name, call := range calls {
		for ref, want := range map[string]error{"there:9": ErrNotFound, "nope": ErrNotFound, "01ARZ3NDEKTSV4RRFFQ69G5FAV": ErrNotFound,
			"Bad Ref": ErrInvalid, "there@sha256:00": ErrInvalid} {
			if err := call(ref); !errors.Is(err, want) {
				t.Errorf("%s(%q): %v, want %v", name, ref, err, want)
			}
		}
	}
}

func TestVersionConflict(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	mustPush(t, l, PushRequest{Reader: strings.NewReader("a"), Name: "rel", Version: "1.0"})
	_, err := l.Push(ctx, PushRequest{Reader: strings.NewReader("b"), Name: "rel", Version: "1.0"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "rel:1.0") {
		t.Errorf("second push of rel:1.0: %v, want ErrConflict naming it", err)
	}
	// Numeric versions continue after the largest number, ignoring others.
	if res := pushBytes(t, l, "rel", []byte("c")); res.Version != "1" {
		t.Errorf("auto version = %s, want 1", res.Version)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	l, clock := newStore(t)
	names := []string{"reports/q1", "reports/q2", "reports/sub/q3", "logs/a", "reportsx"}
	var t2 time.Time
	for i, n := range names {
		if i == 2 {
			t2 = clock.Now()
		}
		mustPush(t, l, PushRequest{Reader: strings.NewReader(n), Name: n, Labels: map[string]string{"idx": fmt.Sprint(i), "even": fmt.Sprint(i%2 == 0)}})
		clock.Advance(time.Second)
	}
	list := func(q Query) []string {
		t.Helper()
		p, err := l.List(ctx, q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		var out []string
		for _, a := range p.Artifacts {
			out = append(out, a.Name)
		}
		return out
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, names},
		{"glob", Query{Pattern: "reports/*"}, []string{"reports/q1", "reports/q2", "reports/sub/q3"}},
		{"glob one char", Query{Pattern: "reports/q?"}, []string{"reports/q1", "reports/q2"}},
		{"prefix", Query{Pattern: "reports"}, []string{"reports/q1", "reports/q2", "reports/sub/q3", "reportsx"}},
		{"selector", Query{Selectors: []string{"even=true"}}, []string{"reports/q1", "reports/sub/q3", "reportsx"}},
		{"two selectors", Query{Selectors: []string{"even=true", "idx!=0"}}, []string{"reports/sub/q3", "reportsx"}},
		{"comma selectors", Query{Selectors: []string{"even=true,idx!=0"}}, []string{"reports/sub/q3", "reportsx"}},
		{"since inclusive", Query{Since: t2}, []string{"reports/sub/q3", "logs/a", "reportsx"}},
		{"before exclusive", Query{Before: t2}, []string{"reports/q1", "reports/q2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	var paged []string
	cursor := ""
	for range 10 {
		p, err := l.List(ctx, Query{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Artifacts {
			paged = append(paged, a.Name)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, names) {
		t.Errorf("paged = %v", paged)
	}
	for _, q := range []Query{{Selectors: []string{"bad key=x"}}, {Pattern: "Upper*"}, {Cursor: "garbage"}, {Limit: -1}} {
		if _, err := l.List(ctx, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("List(%+v): %v, want ErrInvalid", q, err)
		}
	}
}

func TestHoldsAndRetention(t *testing.T) {
	ctx := context.Background()
	l, clock := newStore(t)
	a := pushBytes(t, l, "evidence", []byte("exhibit A"))

	h, err := l.Hold(ctx, "evidence", "case 42")
	if err != nil || !h.Retention.LegalHold || h.Retention.HoldReason != "case 42" {
		t.Fatalf("Hold: %v, %+v", err, h)
	}
	if _, err := l.Hold(ctx, "evidence", "again"); !errors.Is(err, ErrConflict) {
		t.Errorf("second Hold: %v, want ErrConflict", err)
	}
	if _, err := l.Delete(ctx, "evidence"); !errors.Is(err, ErrForbidden) {
		t.Errorf("Delete under hold: %v, want ErrForbidden", err)
	}
	if r, err := l.Release(ctx, "evidence"); err != nil || r.Retention.LegalHold {
		t.Fatalf("Release: %v", err)
	}
	if _, err := l.Release(ctx, "evidence"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Release: %v, want ErrNotFound", err)
	}

	week := 7 * 24 * time.Hour
	clock.Advance(time.Hour)
	r, err := l.SetRetention(ctx, "evidence", RetentionRequest{ExpireAfter: &week})
	if err != nil || r.Retention.ExpiresAt == nil || !r.Retention.ExpiresAt.Equal(a.CreatedAt.Add(week)) {
		t.Fatalf("SetRetention ExpireAfter: %v, %+v (created %v)", err, r.Retention, a.CreatedAt)
	}
	until := clock.Now().Add(24 * time.Hour)
	r, err = l.SetRetention(ctx, "evidence", RetentionRequest{ImmutableUntil: &until})
	if err != nil || r.Retention.ImmutableUntil == nil || !r.Retention.ImmutableUntil.Equal(until) || r.Retention.ExpiresAt == nil {
		t.Fatalf("SetRetention ImmutableUntil: %v, %+v", err, r.Retention)
	}
	earlier := until.Add(-time.Hour)
	if _, err := l.SetRetention(ctx, "evidence", RetentionRequest{ImmutableUntil: &earlier}); !errors.Is(err, ErrForbidden) {
		t.Errorf("shortening immutability: %v, want ErrForbidden", err)
	}
	if _, err := l.Delete(ctx, "evidence"); !errors.Is(err, ErrForbidden) {
		t.Errorf("Delete while immutable: %v, want ErrForbidden", err)
	}
	var zero time.Time
	if r, err = l.SetRetention(ctx, "evidence", RetentionRequest{ExpiresAt: &zero}); err != nil || r.Retention.ExpiresAt != nil {
		t.Errorf("clearing expiry: %v, %+v", err, r.Retention)
	}
	if _, err := l.SetRetention(ctx, "evidence", RetentionRequest{ExpireAfter: &week, ExpiresAt: &until}); !errors.Is(err, ErrInvalid) {
		t.Errorf("both expiry forms: %v, want ErrInvalid", err)
	}
	clock.Advance(25 * time.Hour)
	if _, err := l.Delete(ctx, "evidence"); err != nil {
		t.Errorf("Delete after immutability ended: %v", err)
	}
}

func TestEventsLogAndRebuild(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	a := pushBytes(t, l, "e", []byte("e"))
	if _, err := l.Tag(ctx, "e", "prod"); err != nil {
		t.Fatal(err)
	}
	evs, err := l.Events(ctx, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Seq != 1 || evs[0].Type != eventlog.TypeArtifactRegistered || evs[0].Subject != a.ID ||
		evs[0].Prev != "" || evs[1].Prev != evs[0].Hash || evs[1].Type != eventlog.TypeTagMoved {
		t.Fatalf("events = %+v", evs)
	}
	if evs[0].Payload["size"] != json.Number("1") {
		t.Errorf("size payload = %#v, want a json.Number", evs[0].Payload["size"])
	}
	after, err := l.Events(ctx, 1, 10, 0)
	if err != nil || len(after) != 1 || after[0].Seq != 2 {
		t.Errorf("Events after 1: %v %+v", err, after)
	}
	// Long-poll with nothing new: returns empty once the wait is over.
	none, err := l.Events(ctx, 2, 10, time.Millisecond)
	if err != nil || len(none) != 0 {
		t.Errorf("long-poll: %v %+v", err, none)
	}
	// Long-poll that an append ends.
	done := make(chan []Event)
	go func() {
		evs, _ := l.Events(ctx, 2, 10, time.Hour)
		done <- evs
	}()
	if _, err := l.Tag(ctx, "e", "stable"); err != nil {
		t.Fatal(err)
	}
	if got := <-done; len(got) != 1 || got[0].Seq != 3 {
		t.Errorf("long-poll woke with %+v", got)
	}

	rep, err := l.VerifyLog(ctx)
	if err != nil || !rep.OK || rep.Events != 3 || rep.Head == "" {
		t.Errorf("VerifyLog: %v %+v", err, rep)
	}
	if err := l.Rebuild(ctx); err != nil {
		t.Errorf("Rebuild: %v", err)
	}
	if got, err := l.Get(ctx, "e:prod"); err != nil || got.ID != a.ID {
		t.Errorf("after rebuild: %v", err)
	}
	hs, err := l.Health(ctx)
	if err != nil || len(hs) != 1 || !hs[0].Healthy || hs[0].ID != DefaultBackendID || hs[0].Type != "local" {
		t.Errorf("Health: %v %+v", err, hs)
	}
}

// TestVerify covers what Local.Verify adds to internal/fsck (whose tests
// damage stores in every way it reports): the arguments, the reference
// resolved as the other commands resolve it, the store's own backend and
// log checked, and the log file named in the hint of a broken chain.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	l, _ := newStore(t)
	f := pushBytes(t, l, "f", randomBytes(8, 4<<20))
	dir := filepath.Join(t.TempDir(), "tree")
	writeFile(t, filepath.Join(dir, "x/y.bin"), randomBytes(9, 200000), 0o644)
	mustPush(t, l, PushRequest{Path: dir, Name: "t"})
	gone := pushBytes(t, l, "gone", []byte("deleted but not collected"))
	if _, err := l.Delete(ctx, gone.Ref); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Tag(ctx, "f", "prod"); err != nil {
		t.Fatal(err)
	}

	rep, err := l.Verify(ctx, VerifyOptions{All: true, Deep: true})
	if err != nil || !rep.OK || rep.Artifacts != 2 || len(rep.Problems) != 0 || rep.Problems == nil {
		t.Fatalf("verify --all --deep of a clean store: %+v, %v", rep, err)
	}
	fileM := manifestOf(t, l, f.Artifact)
	if err := os.Remove(blobPath(l, fileM.Chunks[1].Digest)); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"f", "f:prod", f.ID} {
		rep, err := l.Verify(ctx, VerifyOptions{Ref: ref})
		if err != nil || rep.OK || rep.Artifacts != 1 || len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemMissing || rep.Problems[0].Ref != "f:1" {
			t.Errorf("verify %s with a chunk gone: %+v, %v; want one missing chunk of f:1", ref, rep, err)
		}
	}
	if rep, err := l.Verify(ctx, VerifyOptions{Ref: "t"}); err != nil || !rep.OK || rep.Artifacts != 1 {
		t.Errorf("verify t: %+v, %v", rep, err)
	}
	for _, ref := range []string{"nothing", gone.Ref} {
		if _, err := l.Verify(ctx, VerifyOptions{Ref: ref}); !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "verify: ") {
			t.Errorf("verify %s: %v, want ErrNotFound", ref, err)
		}
	}
	for _, o := range []VerifyOptions{{}, {Ref: "x", All: true}} {
		if _, err := l.Verify(ctx, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(%+v): %v, want ErrInvalid", o, err)
		}
	}

	execSQL(l, "DROP TRIGGER events_no_update", "UPDATE events SET actor = 'mallory' WHERE seq = 2")(t)
	rep, err = l.Verify(ctx, VerifyOptions{All: true})
	if err != nil || rep.OK || len(rep.Problems) < 2 || rep.Problems[1].Kind != ProblemChain ||
		!strings.Contains(rep.Problems[1].Hint, "restore "+filepath.Join(l.dir, LogFileName)+" from a backup") {
		t.Errorf("verify --all of a tampered log: %+v, %v; want a chain problem naming the log file", rep, err)
	}
}

// execSQL returns a damage step that runs statements on the store's SQLite
// database behind artstore's back.
func execSQL(l *Local, stmts ...string) func(t *testing.T) {
	return func(t *testing.T) {
		db, err := sql.Open("sqlite", filepath.Join(l.dir, LogFileName))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, st := range stmts {
			if _, err := db.Exec(st); err != nil {
				t.Fatalf("%s: %v", st, err)
			}
		}
	}
}

func TestDeriveName(t *testing.T) {
	tests := []struct {
		path, want string
		err        bool
	}{
		{"report.pdf", "report.pdf", false},
		{"/tmp/x/Report.PDF", "report.pdf", false},
		{"Q3 Report (final).pdf", "q3-report-final.pdf", false},
		{"Résumé déjà vu.txt", "resume-deja-vu.txt", false},
		{"my_file-v2.tar.gz", "my_file-v2.tar.gz", false},
		{".env", "env", false},
		{"dir/sub/", "sub", false},
		{"a  &  b", "a-b", false},
		{"file. .txt", "file..txt", false},
		{"отчёт.pdf", "", true},
		{"数据.csv", "", true},
		{"(((", "", true},
		{"...", "", true},
		{strings.Repeat("a", 300) + ".bin", strings.Repeat("a", 200), false},
	}
	for _, tc := range tests {
		got, err := DeriveName(tc.path)
		if tc.err {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "a-z") {
				t.Errorf("DeriveName(%q) = %q, %v; want ErrInvalid saying what is allowed", tc.path, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DeriveName(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}

func FuzzDeriveName(f *testing.F) {
	for _, s := range []string{"report.pdf", "Q3 Report (final).pdf", "Résumé.txt", "отчёт.pdf", "...", "a/b/c", "-x-", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		name, err := DeriveName(path)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DeriveName(%q): error %v does not match ErrInvalid", path, err)
			}
			return
		}
		if err := registry.ValidateName(name); err != nil {
			t.Fatalf("DeriveName(%q) = %q, which the registry refuses: %v", path, name, err)
		}
		if again, err := DeriveName(name); err != nil || again != name {
			t.Fatalf("DeriveName is not idempotent: %q -> %q -> %q (%v)", path, name, again, err)
		}
	})
}

func TestMapErr(t *testing.T) {
	tests := []struct {
		in   error
		want error
	}{
		{registry.ErrNotFound, ErrNotFound},
		{registry.ErrConflict, ErrConflict},
		{registry.ErrInvalid, ErrInvalid},
		{registry.ErrForbiddenByRetention, ErrForbidden},
		{&registry.MissingBlobsError{Digests: []content.Digest{content.FromBytes(nil)}}, ErrIntegrity},
		{&content.MismatchError{Expected: content.FromBytes(nil)}, ErrIntegrity},
		{content.ErrInvalidManifest, ErrIntegrity},
		{storage.ErrNotFound, ErrIntegrity},
		{storage.ErrUnavailable, ErrUnavailable},
		{eventlog.ErrBusy, ErrUnavailable},
		{&eventlog.ChainError{Seq: 3}, ErrIntegrity},
		{content.ErrInvalidRange, ErrInvalid},
		{content.ErrInvalidDigest, ErrInvalid},
		{transfer.ErrUnsupportedFileType, ErrInvalid},
		{fs.ErrNotExist, ErrNotFound},
	}
	for _, tc := range tests {
		wrapped := fmt.Errorf("context: %w", tc.in)
		got := mapErr(wrapped)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.in) || got.Error() != wrapped.Error() {
			t.Errorf("mapErr(%v) = %v; want it to match %v and the original, with the original message", wrapped, got, tc.want)
		}
		if again := mapErr(got); again != got {
			t.Errorf("mapErr is not idempotent for %v", tc.in)
		}
	}
	for _, e := range []error{nil, context.Canceled, errors.New("plain")} {
		if got := mapErr(e); got != e {
			t.Errorf("mapErr(%v) = %v, want it unchanged", e, got)
		}
	}
}

func TestOpenLocal(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "store")
	l, err := OpenLocal(ctx, LocalOptions{Dir: dir})
	if err != nil {
		t.Fatalf("OpenLocal: %v", err)
	}
	if !strings.Contains(l.Actor(), "@") {
		t.Errorf("default actor = %q, want user@host", l.Actor())
	}
	res := pushBytes(t, l, "persist", []byte("kept across opens"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{LogFileName, filepath.Join(DefaultBlobDir, filepath.FromSlash(content.MustParseDigest(res.ManifestDigest).Key()))} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("store layout: %v", err)
		}
	}

	l, err = OpenLocal(ctx, LocalOptions{Dir: dir, Actor: "second@host"})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer l.Close()
	a, err := l.Get(ctx, "persist")
	if err != nil || a.ID != res.ID || a.CreatedBy != res.CreatedBy {
		t.Fatalf("after reopen: %v %+v", err, a)
	}
	var buf bytes.Buffer
	if _, err := l.Pull(ctx, "persist", &buf, PullOptions{}); err != nil || buf.String() != "kept across opens" {
		t.Errorf("pull after reopen: %v %q", err, buf.String())
	}

	for _, bad := range []LocalOptions{
		{},
		{Dir: t.TempDir(), Backend: BackendConfig{ID: "x", Type: "ftp"}},
		{Dir: t.TempDir(), Backend: BackendConfig{ID: "s3", Type: "s3"}},
	} {
		if l, err := OpenLocal(ctx, bad); err == nil {
			l.Close()
			t.Errorf("OpenLocal(%+v) succeeded", bad)
		}
	}
}

func TestLocalWithS3Backend(t *testing.T) {
	ctx := context.Background()
	mem := s3mem.New()
	if err := mem.CreateBucket("artifacts"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(ts.Close)
	l, _ := newStore(t, func(o *LocalOptions) {
		o.Backend = BackendConfig{ID: "s3-test", Type: "s3", Bucket: "artifacts", Prefix: "as/", Region: "us-east-1",
			Endpoint: ts.URL, PathStyle: true, AccessKeyID: "k", SecretAccessKey: "s"}
	})
	data := randomBytes(10, 1<<20)
	res := pushBytes(t, l, "remote/blob", data)
	if _, err := mem.HeadObject("artifacts", "as/"+content.MustParseDigest(res.ManifestDigest).Key()); err != nil {
		t.Errorf("manifest not in the bucket under the prefix: %v", err)
	}
	var buf bytes.Buffer
	if _, err := l.Pull(ctx, "remote/blob", &buf, PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("pull through S3: %v", err)
	}
	rep, err := l.Verify(ctx, VerifyOptions{All: true, Deep: true})
	if err != nil || !rep.OK {
		t.Errorf("verify through S3: %v %+v", err, rep)
	}
	hs, err := l.Health(ctx)
	if err != nil || len(hs) != 1 || hs[0].ID != "s3-test" || hs[0].Type != "s3" || !hs[0].Healthy {
		t.Errorf("Health: %v %+v", err, hs)
	}
}

func TestConcurrentPushes(t *testing.T) {
	l, _ := newStore(t)
	const n = 6
	var wg sync.WaitGroup
	versions := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := l.Push(context.Background(), PushRequest{Reader: bytes.NewReader(randomBytes(uint64(100+i), 50000)), Name: "race"})
			if err == nil {
				versions[i] = res.Version
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(versions)
	if want := []string{"1", "2", "3", "4", "5", "6"}; !slices.Equal(versions, want) {
		t.Errorf("versions = %v, want %v", versions, want)
	}
}

// stallingReader yields its data slowly (a chunk of step bytes per pause)
// and then, at stallAt, blocks until release is closed, as a process frozen
// mid-push would; it then fails.
type stallingReader struct {
	data    []byte
	off     int
	step    int
	pause   time.Duration
	stallAt int
	stalled chan struct{}
	release chan struct{}
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.off >= r.stallAt {
		close(r.stalled)
		<-r.release
		return 0, errors.New("killed")
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), r.step, r.stallAt-r.off)], r.data[r.off:])
	r.off += n
	return n, nil
}

// TestKilledPushResumes: a push killed hard (no deferred commit, as with
// kill -9) leaves its staged chunks unpublished; what it had committed
// before is all a rerun can skip. Chunks are committed at least every
// DefaultCommitInterval, so a push that ran a few seconds leaves most of
// its work for the rerun, not nothing.
func TestKilledPushResumes(t *testing.T) {
	l, _ := newStore(t)
	data := randomBytes(11, 24<<20)
	r := &stallingReader{data: data, step: 1 << 20, pause: 120 * time.Millisecond, stallAt: 20 << 20,
		stalled: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = l.Push(context.Background(), PushRequest{Reader: r, Name: "killed"})
	}()
	defer func() { close(r.release); <-done }()
	<-r.stalled
	time.Sleep(100 * time.Millisecond) // let the uploads of what was read finish

	// The "killed" push never commits again: a second process pushes.
	l2, err := OpenLocal(context.Background(), LocalOptions{Dir: l.Dir(), Actor: "second@host"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	res := pushBytes(t, l2, "killed", data)
	if res.UploadedBytes > res.Size*3/4 {
		t.Errorf("the rerun uploaded %d of %d bytes; the killed push had read %d and should have committed most of them",
			res.UploadedBytes, res.Size, r.stallAt)
	}
}
