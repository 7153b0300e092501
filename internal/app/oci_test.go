package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// ociBlob uploads b as an OCI blob of repo (as the /v2 upload routes do)
// and returns its descriptor.
func ociBlob(t *testing.T, svc *app.Service, blobs transfer.BlobStore, p app.Principal, repo, mediaType string, b []byte, annotations map[string]string) map[string]any {
	t.Helper()
	ctx := context.Background()
	res, err := transfer.Push(ctx, bytes.NewReader(b), blobs, transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := app.ParseOCIDigest(sha(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.OCILinkBlob(ctx, p, repo, d, app.OCIBlob{Size: res.Size, Content: res.ContentDigest, Manifest: res.ManifestDigest}); err != nil {
		t.Fatal(err)
	}
	desc := map[string]any{"mediaType": mediaType, "digest": sha(b), "size": len(b)}
	if annotations != nil {
		desc["annotations"] = annotations
	}
	return desc
}

func imageManifest(t *testing.T, config map[string]any, layers []map[string]any, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{"schemaVersion": 2, "mediaType": app.OCIManifestType, "config": config, "layers": layers}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ociCode(err error) (int, string) {
	var oe *app.OCIError
	if errors.As(err, &oe) {
		return oe.Status, oe.Code
	}
	return 0, ""
}

func TestOCIManifestRoundTrip(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "oci-user"}
	cfg := ociBlob(t, svc, blobs, p, "reports/q", "application/vnd.oci.empty.v1+json", []byte("{}"), nil)
	report := []byte("%PDF report bytes")
	layer := ociBlob(t, svc, blobs, p, "reports/q", "application/pdf", report, map[string]string{"org.opencontainers.image.title": "report.pdf"})
	// Whitespace and a custom field: the bytes are kept as pushed.
	body := append(imageManifest(t, cfg, []map[string]any{layer}, map[string]any{"artifactType": "application/x-report", "x-custom": 7}), ' ', '\n')
	put, err := svc.OCIPutManifest(ctx, p, "reports/q", "v1", app.OCIManifestType, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if put.Digest != sha(body) || len(put.Tags) != 1 || put.Tags[0] != "v1" {
		t.Fatalf("put = %+v", put)
	}
	for _, ref := range []string{"v1", put.Digest} {
		m, err := svc.OCIGetManifest(ctx, p, "reports/q", ref, true)
		if err != nil {
			t.Fatal(ref, err)
		}
		if !bytes.Equal(m.Body, body) || m.Digest != put.Digest || m.MediaType != app.OCIManifestType {
			t.Fatalf("GET %s = %q %s %s", ref, m.Body, m.Digest, m.MediaType)
		}
	}
	// The artifact's content is the one layer; show's labels name the OCI types.
	a, err := svc.Get(ctx, p, "reports/q:v1")
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentDigest != sha(report) || a.Size != int64(len(report)) || a.MediaType != "application/pdf" {
		t.Fatalf("artifact = %+v", a)
	}
	if a.Labels["oci.media_type"] != app.OCIManifestType || a.Labels["oci.artifact_type"] != "application/x-report" || a.Labels["oci.manifest"] != put.Digest {
		t.Fatalf("labels = %v", a.Labels)
	}
	// Pushing the same bytes under another tag moves the tag, no new version.
	if _, err := svc.OCIPutManifest(ctx, p, "reports/q", "stable", "", body, nil); err != nil {
		t.Fatal(err)
	}
	tags, more, err := svc.OCITags(ctx, p, "reports/q", -1, "")
	if err != nil || more || strings.Join(tags, ",") != "stable,v1" {
		t.Fatalf("tags = %v %v %v", tags, more, err)
	}
	if page, _ := svc.List(ctx, p, api.Query{Pattern: "reports/q"}); len(page.Artifacts) != 1 {
		t.Fatalf("%d artifacts, want 1", len(page.Artifacts))
	}
	tags, more, _ = svc.OCITags(ctx, p, "reports/q", 1, "")
	if !more || len(tags) != 1 || tags[0] != "stable" {
		t.Fatalf("page 1 = %v %v", tags, more)
	}
	tags, more, _ = svc.OCITags(ctx, p, "reports/q", 1, "stable")
	if more || len(tags) != 1 || tags[0] != "v1" {
		t.Fatalf("page 2 = %v %v", tags, more)
	}
	// The pull through /v2 and the push are events with the actor.
	evs, err := svc.Audit(ctx, app.Principal{Actor: "admin"}, api.AuditQuery{Actor: "oci-user"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Type] = true
	}
	for _, typ := range []string{"artifact.registered.v2", "artifact.retrieved.v1", "oci.blob.linked.v1"} {
		if !seen[typeWithoutVersion(typ, seen)] {
			t.Errorf("no %s event by the actor in %v", typ, seen)
		}
	}
}

// typeWithoutVersion finds in seen the event type typ names, whatever its
// version suffix.
func typeWithoutVersion(typ string, seen map[string]bool) string {
	base := typ[:strings.LastIndex(typ, ".")]
	for k := range seen {
		if strings.HasPrefix(k, base+".") {
			return k
		}
	}
	return typ
}

func TestOCIManifestRefusals(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "u"}
	cfg := ociBlob(t, svc, blobs, p, "r", "application/vnd.oci.empty.v1+json", []byte("{}"), nil)
	missing := map[string]any{"mediaType": "application/octet-stream", "digest": sha([]byte("never pushed")), "size": 12}
	good := imageManifest(t, cfg, []map[string]any{}, nil)
	sha512Hex := func(b []byte) string { s := sha512.Sum512(b); return "sha512:" + hex.EncodeToString(s[:]) }
	for _, tc := range []struct {
		name, ref, ct string
		body          []byte
		status        int
		code          string
	}{
		{"missing layer", "t", "", imageManifest(t, cfg, []map[string]any{missing}, nil), 400, "MANIFEST_BLOB_UNKNOWN"},
		{"missing child", "t", "", []byte(`{"schemaVersion":2,"mediaType":"` + app.OCIIndexType + `","manifests":[{"mediaType":"` + app.OCIManifestType + `","digest":"` + sha([]byte("x")) + `","size":1}]}`), 400, "MANIFEST_BLOB_UNKNOWN"},
		{"wrong digest", sha([]byte("other")), "", good, 400, "DIGEST_INVALID"},
		{"wrong sha512", sha512Hex([]byte("other")), "", good, 400, "DIGEST_INVALID"},
		{"too large", "t", "", bytes.Repeat([]byte(" "), app.MaxOCIManifest+1), 413, "SIZE_INVALID"},
		{"not json", "t", "", []byte("{"), 400, "MANIFEST_INVALID"},
		{"media type mismatch", "t", app.OCIIndexType, good, 400, "MANIFEST_INVALID"},
		{"bad tag", "-x", "", good, 400, "TAG_INVALID"},
		{"size mismatch", "t", "", imageManifest(t, map[string]any{"mediaType": "x/y", "digest": cfg["digest"], "size": 3}, []map[string]any{}, nil), 400, "MANIFEST_INVALID"},
	} {
		_, err := svc.OCIPutManifest(ctx, p, "r", tc.ref, tc.ct, tc.body, nil)
		if st, code := ociCode(err); st != tc.status || code != tc.code {
			t.Errorf("%s: %d %s (%v), want %d %s", tc.name, st, code, err, tc.status, tc.code)
		}
	}
	if page, _ := svc.List(ctx, p, api.Query{}); len(page.Artifacts) != 0 {
		t.Fatalf("refused pushes registered %d artifacts", len(page.Artifacts))
	}
	// sha512: pushed and pulled by its digest.
	d512 := sha512Hex(good)
	if _, err := svc.OCIPutManifest(ctx, p, "r", d512, "", good, []string{"by-param"}); err != nil {
		t.Fatal(err)
	}
	if m, err := svc.OCIGetManifest(ctx, p, "r", d512, false); err != nil || m.Digest != d512 || !bytes.Equal(m.Body, good) {
		t.Fatalf("sha512 GET: %v", err)
	}
	if m, err := svc.OCIGetManifest(ctx, p, "r", "by-param", false); err != nil || m.Digest != d512 {
		t.Fatalf("tag param GET: %v", err)
	}
	// The reserved labels cannot be set or changed by hand.
	if _, err := svc.Label(ctx, p, "r:by-param", map[string]string{"oci.manifest": "x"}, nil); !errors.Is(err, api.ErrInvalid) && app.Classify(err) != api.CodeInvalid {
		t.Fatalf("relabel: %v", err)
	}
}

func TestOCIReferrersAndDelete(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "u"}
	cfg := ociBlob(t, svc, blobs, p, "r", "application/vnd.oci.empty.v1+json", []byte("{}"), nil)
	subjectBody := imageManifest(t, cfg, []map[string]any{}, nil)
	subj, err := svc.OCIPutManifest(ctx, p, "r", "v1", "", subjectBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	sbom := ociBlob(t, svc, blobs, p, "r", "application/spdx+json", []byte(`{"spdx":true}`), nil)
	subjDesc := map[string]any{"mediaType": app.OCIManifestType, "digest": subj.Digest, "size": len(subjectBody)}
	for i, at := range []string{"application/spdx+json", "application/vnd.other"} {
		body := imageManifest(t, cfg, []map[string]any{sbom}, map[string]any{"artifactType": at, "subject": subjDesc, "annotations": map[string]string{"n": fmt.Sprint(i)}})
		res, err := svc.OCIPutManifest(ctx, p, "r", sha(body), "", body, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Subject != subj.Digest {
			t.Fatalf("subject %q", res.Subject)
		}
	}
	d, _ := app.ParseOCIDigest(subj.Digest)
	var idx struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			ArtifactType string            `json:"artifactType"`
			Annotations  map[string]string `json:"annotations"`
			Size         int64             `json:"size"`
		} `json:"manifests"`
	}
	body, err := svc.OCIReferrers(ctx, p, "r", d, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &idx); err != nil || idx.MediaType != app.OCIIndexType || len(idx.Manifests) != 2 {
		t.Fatalf("referrers = %s (%v)", body, err)
	}
	body, _ = svc.OCIReferrers(ctx, p, "r", d, "application/spdx+json")
	_ = json.Unmarshal(body, &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != "application/spdx+json" || idx.Manifests[0].Annotations["n"] != "0" || idx.Manifests[0].Size == 0 {
		t.Fatalf("filtered referrers = %s", body)
	}
	// Referrers are provenance: lineage down from the subject shows them.
	g, err := svc.Lineage(ctx, p, "r:v1", api.LineageOptions{Direction: api.Down})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.Nodes); n != 3 {
		t.Fatalf("lineage down has %d nodes, want the subject and its 2 referrers: %+v", n, g)
	}
	// A held manifest cannot be deleted: DENIED.
	if _, err := svc.Hold(ctx, p, "r:v1", "", "audit"); err != nil {
		t.Fatal(err)
	}
	if st, code := ociCode(svc.OCIDeleteManifest(ctx, p, "r", subj.Digest)); st != 0 || code != "" {
		t.Fatalf("got an OCI error %d %s; want the registry's refusal", st, code)
	} else if err := svc.OCIDeleteManifest(ctx, p, "r", subj.Digest); app.Classify(err) != api.CodeForbidden {
		t.Fatalf("delete of a held manifest: %v (class %s), want forbidden (DENIED)", err, app.Classify(err))
	}
	if _, err := svc.Release(ctx, p, "r:v1", "", "done"); err != nil {
		t.Fatal(err)
	}
	if err := svc.OCIDeleteManifest(ctx, p, "r", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OCIGetManifest(ctx, p, "r", "v1", false); func() int { s, _ := ociCode(err); return s }() != http.StatusNotFound {
		t.Fatalf("GET of a removed tag: %v", err)
	}
	if _, err := svc.OCIGetManifest(ctx, p, "r", subj.Digest, false); err != nil {
		t.Fatalf("removing the tag removed the manifest: %v", err)
	}
	if err := svc.OCIDeleteManifest(ctx, p, "r", subj.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OCIGetManifest(ctx, p, "r", subj.Digest, false); func() int { s, _ := ociCode(err); return s }() != http.StatusNotFound {
		t.Fatalf("GET of a deleted manifest: %v", err)
	}
}

// TestOCINativeManifest: a native artifact is served as a manifest whose
// digest is the same from every Service over the store, and its layer is
// readable as a blob of the repository.
func TestOCINativeManifest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *app.Service {
		svc, err := app.Open(ctx, app.Config{Log: filepath.Join(dir, "log.db"), Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := open()
	p := app.Principal{Actor: "u"}
	data := []byte("native report")
	a, err := push(t, svc, transfer.FromBackend(be), p, "reports/q", data)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := svc.OCIGetManifest(ctx, p, "reports/q", "latest", false)
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	svc = open()
	defer svc.Close()
	m2, err := svc.OCIGetManifest(ctx, p, "reports/q", m1.Digest, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.Body, m2.Body) || m1.Digest != m2.Digest || m2.Artifact.ID != a.ID {
		t.Fatalf("manifests differ across services:\n%s\n%s", m1.Body, m2.Body)
	}
	var doc struct {
		Layers []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(m1.Body, &doc); err != nil || len(doc.Layers) != 1 || doc.Layers[0].Digest != sha(data) || doc.Layers[0].Annotations["org.opencontainers.image.title"] != "q" {
		t.Fatalf("manifest %s (%v)", m1.Body, err)
	}
	d, _ := app.ParseOCIDigest(sha(data))
	b, err := svc.OCIBlobStat(ctx, p, "reports/q", d)
	if err != nil || b.Size != int64(len(data)) || b.Content != content.FromBytes(data) {
		t.Fatalf("native blob: %+v %v", b, err)
	}
	if _, err := svc.OCIBlobStat(ctx, p, "reports/other", d); func() string { _, c := ociCode(err); return c }() != "BLOB_UNKNOWN" {
		t.Fatalf("another repository reads the blob: %v", err)
	}
}

// newClaimedService is newService over a backend claimed for its log, so
// gc runs on it.
func newClaimedService(t *testing.T) (*app.Service, *local.Backend) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "log.db")
	svc, err := app.Open(ctx, app.Config{Log: logPath, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	self, err := storeid.LogOf(ctx, svc.Log(), storeid.KindSQLite, logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := storeid.Claim(ctx, be, self, time.Now()); err != nil {
		t.Fatal(err)
	}
	return svc, be
}

// TestOCIGCKeepsManifestBlobs: a live manifest keeps its config and layers
// and its own bytes through gc with no grace; deleting it frees them.
func TestOCIGCKeepsManifestBlobs(t *testing.T) {
	ctx := context.Background()
	svc, be := newClaimedService(t)
	blobs := transfer.FromBackend(be)
	p := app.Principal{Actor: "u"}
	cfg := ociBlob(t, svc, blobs, p, "r", "application/vnd.example.config", []byte(`{"config":"unique"}`), nil)
	l1 := ociBlob(t, svc, blobs, p, "r", "application/octet-stream", []byte("layer one"), map[string]string{"org.opencontainers.image.title": "a.txt"})
	l2 := ociBlob(t, svc, blobs, p, "r", "application/octet-stream", []byte("layer two"), map[string]string{"org.opencontainers.image.title": "b/c.txt"})
	body := imageManifest(t, cfg, []map[string]any{l1, l2}, nil)
	if _, err := svc.OCIPutManifest(ctx, p, "r", "v1", "", body, nil); err != nil {
		t.Fatal(err)
	}
	a, err := svc.Get(ctx, p, "r:v1")
	if err != nil || a.MediaType != api.TreeMediaType || a.Size != int64(len("layer one")+len("layer two")) {
		t.Fatalf("a manifest of two layers is a directory artifact: %+v %v", a, err)
	}
	if _, _, err := svc.GC(ctx, p, api.GCOptions{Grace: 0}); err != nil {
		t.Fatal(err)
	}
	for _, desc := range []map[string]any{cfg, l1, l2} {
		d, _ := app.ParseOCIDigest(desc["digest"].(string))
		if _, err := svc.OCIBlobStat(ctx, p, "r", d); err != nil {
			t.Fatalf("gc collected %s of a live manifest: %v", d, err)
		}
	}
	if m, err := svc.OCIGetManifest(ctx, p, "r", "v1", false); err != nil || !bytes.Equal(m.Body, body) {
		t.Fatalf("manifest after gc: %v", err)
	}
	if err := svc.OCIDeleteManifest(ctx, p, "r", sha(body)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, _, err := svc.GC(ctx, p, api.GCOptions{Grace: 0}); err != nil {
		t.Fatal(err)
	}
	d, _ := app.ParseOCIDigest(cfg["digest"].(string))
	if _, err := svc.OCIBlobStat(ctx, p, "r", d); func() string { _, c := ociCode(err); return c }() != "BLOB_UNKNOWN" {
		t.Fatalf("the config of a deleted manifest survived gc: %v", err)
	}
}

// TestOCIAllDigitTagNamesVersion: a push under an all-digit tag (a CI build
// number) registers that version; the same push again is accepted, another
// manifest under it is DENIED (versions never change), the tags list shows
// it, GET finds it, a deleted one is never reused, and DELETE of the tag
// deletes the version, as holds allow.
func TestOCIAllDigitTagNamesVersion(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "ci"}
	cfg := ociBlob(t, svc, blobs, p, "builds/app", "application/vnd.oci.empty.v1+json", []byte("{}"), nil)
	manifest := func(data string) []byte {
		layer := ociBlob(t, svc, blobs, p, "builds/app", "application/octet-stream", []byte(data), map[string]string{"org.opencontainers.image.title": "app.bin"})
		return imageManifest(t, cfg, []map[string]any{layer}, nil)
	}
	first, second := manifest("build 1234"), manifest("build 1235")

	put, err := svc.OCIPutManifest(ctx, p, "builds/app", "1234", "", first, []string{"stable"})
	if err != nil {
		t.Fatal(err)
	}
	if put.Artifact.Version != "1234" || strings.Join(put.Tags, ",") != "1234,stable" || put.Artifact.Labels["oci.tag"] != "1234" {
		t.Fatalf("put = %+v", put)
	}
	a, err := svc.Get(ctx, p, "builds/app:1234")
	if err != nil || a.ContentDigest != sha([]byte("build 1234")) {
		t.Fatalf("builds/app:1234 = %+v, %v", a, err)
	}
	// The same push again (a retry): accepted, nothing new.
	if again, err := svc.OCIPutManifest(ctx, p, "builds/app", "1234", "", first, nil); err != nil || again.Artifact.ID != put.Artifact.ID {
		t.Fatalf("repeated push = %+v, %v", again, err)
	}
	// Another manifest under the same number: DENIED.
	_, err = svc.OCIPutManifest(ctx, p, "builds/app", "1234", "", second, nil)
	if st, code := ociCode(err); st != http.StatusForbidden || code != "DENIED" || !strings.Contains(err.Error(), "versions never change") {
		t.Fatalf("push of another manifest as 1234: %d %s %v", st, code, err)
	}
	// Two all-digit tags in one push name two versions: refused.
	if _, err := svc.OCIPutManifest(ctx, p, "builds/app", sha(second), "", second, []string{"1", "2"}); func() string { _, c := ociCode(err); return c }() != "TAG_INVALID" {
		t.Fatalf("two all-digit tags: %v", err)
	}
	// The next automatic version continues after it.
	put2, err := svc.OCIPutManifest(ctx, p, "builds/app", "next", "", second, nil)
	if err != nil || put2.Artifact.Version != "1235" {
		t.Fatalf("push by a tag after version 1234 = %+v, %v", put2.Artifact, err)
	}
	tags, _, err := svc.OCITags(ctx, p, "builds/app", -1, "")
	if err != nil || strings.Join(tags, ",") != "1234,next,stable" {
		t.Fatalf("tags = %v, %v; want the version pushed as a tag, not the automatic one", tags, err)
	}
	if tags, more, _ := svc.OCITags(ctx, p, "builds/app", 1, "1234"); !more || strings.Join(tags, ",") != "next" {
		t.Fatalf("tags after 1234 = %v (more %v)", tags, more)
	}
	m, err := svc.OCIGetManifest(ctx, p, "builds/app", "1234", false)
	if err != nil || !bytes.Equal(m.Body, first) {
		t.Fatalf("GET 1234 = %q, %v", m.Body, err)
	}
	// DELETE of the tag deletes the version; a hold refuses it first.
	if _, err := svc.Hold(ctx, p, "builds/app:1234", "", "release audit"); err != nil {
		t.Fatal(err)
	}
	if err := svc.OCIDeleteManifest(ctx, p, "builds/app", "1234"); app.Classify(err) != api.CodeForbidden {
		t.Fatalf("delete of a held version: %v", err)
	}
	if _, err := svc.Release(ctx, p, "builds/app:1234", "", "done"); err != nil {
		t.Fatal(err)
	}
	if err := svc.OCIDeleteManifest(ctx, p, "builds/app", "1234"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OCIGetManifest(ctx, p, "builds/app", "1234", false); func() int { s, _ := ociCode(err); return s }() != http.StatusNotFound {
		t.Fatalf("GET of a deleted version: %v", err)
	}
	if err := svc.OCIDeleteManifest(ctx, p, "builds/app", "1234"); func() int { s, _ := ociCode(err); return s }() != http.StatusNotFound {
		t.Fatalf("second DELETE: %v", err)
	}
	// A deleted version is never reused.
	_, err = svc.OCIPutManifest(ctx, p, "builds/app", "1234", "", first, nil)
	if st, code := ociCode(err); st != http.StatusForbidden || code != "DENIED" || !strings.Contains(err.Error(), "never reused") {
		t.Fatalf("push of a deleted version: %d %s %v", st, code, err)
	}
}

// TestOCIAllDigitTagRacingPushes: pushes of one manifest under one
// all-digit tag at once (a retried CI job racing the first) all succeed,
// with one version between them.
func TestOCIAllDigitTagRacingPushes(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	p := app.Principal{Actor: "ci"}
	cfg := ociBlob(t, svc, blobs, p, "builds/race", "application/vnd.oci.empty.v1+json", []byte("{}"), nil)
	layer := ociBlob(t, svc, blobs, p, "builds/race", "application/octet-stream", []byte("build 77"), nil)
	body := imageManifest(t, cfg, []map[string]any{layer}, nil)
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			put, err := svc.OCIPutManifest(ctx, p, "builds/race", "77", "", body, nil)
			ids[i], errs[i] = put.Artifact.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] || ids[0] == "" {
			t.Fatalf("push %d: %q, %v (first %q)", i, ids[i], errs[i], ids[0])
		}
	}
	if page, _ := svc.List(ctx, p, api.Query{Pattern: "builds/race"}); len(page.Artifacts) != 1 || page.Artifacts[0].Version != "77" {
		t.Fatalf("artifacts after racing pushes: %+v", page.Artifacts)
	}
}
