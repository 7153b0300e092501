package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/api"
)

// registerTree stores a tree of the given files (path -> content) and
// registers it under name.
func (e *env) registerTree(name string, files map[string]string, paths ...string) api.Artifact {
	e.t.Helper()
	var entries []content.TreeEntry
	var size int64
	for _, p := range paths {
		data := []byte(files[p])
		d := e.putBlob(data)
		m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: d, Chunker: content.DefaultChunkerParams(),
			Chunks: []content.ChunkRef{{Digest: d, Size: int64(len(data))}}}
		mb, err := m.Encode()
		if err != nil {
			e.t.Fatal(err)
		}
		entries = append(entries, content.TreeEntry{Path: p, Type: content.EntryFile, Mode: 0o644, Size: int64(len(data)), Digest: d, Manifest: e.putBlob(mb)})
		size += int64(len(data))
	}
	tm := content.Manifest{Kind: content.KindTree, Size: size, Digest: content.TreeDigest(entries), Entries: entries}
	tb, err := tm.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	md := e.putBlob(tb)
	var a api.Artifact
	e.doJSON("POST", "/v1/artifacts", "admin", api.RegisterRequest{Name: name, ContentDigest: tm.Digest.String(), ManifestDigest: md.String(),
		Size: size, MediaType: api.TreeMediaType}, http.StatusCreated, &a)
	return a
}

func TestFilesRoute(t *testing.T) {
	e := newEnv(t)
	tree := e.registerTree("other/site", map[string]string{"a.txt": "alpha", "b.txt": "beta"}, "a.txt", "b.txt")
	file := e.register("other/file", []byte("one file"))

	var got []api.TreeEntry
	e.doJSON("GET", "/v1/artifact/files?ref="+url.QueryEscape(tree.Ref), "read", nil, http.StatusOK, &got)
	if len(got) != 2 || got[0].Path != "a.txt" || got[0].Size != 5 || got[0].Mode != "0644" || got[1].Digest != content.FromBytes([]byte("beta")).String() {
		t.Fatalf("entries %+v", got)
	}
	resp := e.request("GET", "/v1/artifact/files?ref="+url.QueryEscape(file.Ref), "read", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "only a directory artifact has entries to list") {
		t.Fatalf("a file artifact: %d %s, want 400", resp.StatusCode, body)
	}
	// A tree manifest missing from the backend is an error response, not
	// an empty or broken listing.
	if _, err := e.srv.backend.Delete(t.Context(), content.MustParseDigest(tree.ManifestDigest)); err != nil {
		t.Fatal(err)
	}
	resp = e.request("GET", "/v1/artifact/files?ref="+url.QueryEscape(tree.Ref), "read", nil, nil)
	var er api.ErrorResponse
	err := json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusInternalServerError || er.Error.Code != string(api.CodeIntegrity) {
		t.Fatalf("a missing tree manifest: %d %+v (%v), want 500 integrity", resp.StatusCode, er, err)
	}
}
