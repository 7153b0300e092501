package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestRemoteVerifyFindsDamage: verify through the daemon's blob API walks
// a tree's file manifests and reports a file manifest that is gone and a
// chunk that is gone, each once, in the tree's order, and goes on past
// them; with a token limited to a name prefix too, through the blob route
// scoped to the artifact and its missing check, or a HEAD per blob where
// the daemon has no such check.
func TestRemoteVerifyFindsDamage(t *testing.T) {
	ctx := context.Background()
	// The daemon counts the requests of the scoped route, and with old set
	// answers its missing check as a daemon without that route does.
	var old atomic.Bool
	var heads, posts atomic.Int64
	d := startDaemon(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "POST" && r.URL.Path == "/v1/artifact/blobs/missing":
				posts.Add(1)
				if old.Load() {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusNotFound)
					fmt.Fprintf(w, `{"error":{"code":"not_found","message":"no route %s %s"}}`, r.Method, r.URL.Path)
					return
				}
			case r.Method == "HEAD" && strings.HasPrefix(r.URL.Path, "/v1/artifact/blobs/"):
				heads.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	r := d.open(t, "write")
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	randomFile(t, src, "a.bin", 300<<10, 4)
	randomFile(t, filepath.Join(src, "sub"), "b.txt", 10, 5)
	randomFile(t, filepath.Join(src, "sub"), "c.txt", 20, 6)
	// The stream layout: a chunk of the tree's stream gone.
	stream, err := r.Push(ctx, client.PushRequest{Path: src, Name: "trees/stream"})
	if err != nil {
		t.Fatal(err)
	}
	// The per-file layout, which trees pushed before the stream layout use.
	client.SetTreeSchema(r, content.ManifestSchema)
	res, err := r.Push(ctx, client.PushRequest{Path: src, Name: "trees/damaged"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(d2 content.Digest) content.Manifest {
		t.Helper()
		rc, err := d.be.Get(ctx, d2, nil)
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
	files := map[string]content.TreeEntry{}
	for _, e := range read(content.MustParseDigest(res.ManifestDigest)).Entries {
		files[e.Path] = e
	}
	chunk := read(files["a.bin"].Manifest).Chunks[0].Digest
	for _, gone := range []content.Digest{chunk, files["sub/b.txt"].Manifest} {
		if _, err := d.be.Delete(ctx, gone); err != nil {
			t.Fatal(err)
		}
	}
	sm := read(content.MustParseDigest(stream.ManifestDigest))
	last := sm.Chunks[len(sm.Chunks)-1].Digest // a.bin is below the chunker's minimum: packed with the others
	if _, err := d.be.Delete(ctx, last); err != nil {
		t.Fatal(err)
	}
	// A token limited to trees/ reads the blobs through the route scoped
	// to the artifact, and finds the same.
	secret, _, err := d.srv.Tokens().Create(ctx, "test", auth.Spec{Name: "trees-reader", Scope: auth.ScopeRead, Prefix: "trees/"})
	if err != nil {
		t.Fatal(err)
	}
	d.token["trees"] = secret
	for _, who := range []string{"write", "trees", "trees, old daemon"} {
		old.Store(who == "trees, old daemon")
		heads.Store(0)
		posts.Store(0)
		c := d.open(t, strings.TrimSuffix(who, ", old daemon"))
		rep, err := c.Verify(ctx, client.VerifyOptions{Ref: "trees/damaged"})
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		var kinds []string
		for _, p := range rep.Problems {
			kinds = append(kinds, p.Kind)
		}
		if rep.OK || !slices.Equal(kinds, []string{client.ProblemMissing, client.ProblemMissing}) ||
			!strings.Contains(rep.Problems[0].Message, "chunk "+chunk.Short()) ||
			!strings.Contains(rep.Problems[1].Message, "file manifest "+files["sub/b.txt"].Manifest.Short()) {
			t.Fatalf("%s: verify = %+v; want the missing chunk of a.bin, then the missing manifest of sub/b.txt", who, rep)
		}
		// c.txt, after the missing manifest, was checked: its chunk counts.
		if rep.Blobs < 2 || rep.Artifacts != 1 {
			t.Errorf("%s: verify counted %d blobs of %d artifacts; want a.bin's and c.txt's chunks of one", who, rep.Blobs, rep.Artifacts)
		}
		rep, err = c.Verify(ctx, client.VerifyOptions{Ref: "trees/stream"})
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Kind != client.ProblemMissing || !strings.Contains(rep.Problems[0].Message, "chunk "+last.Short()) {
			t.Fatalf("%s: verify of the stream tree = %+v; want its chunk missing", who, rep)
		}
		// A prefixed token asks the scoped missing check, once per tree
		// here, and a HEAD per blob only of a daemon without it.
		h, p := heads.Load(), posts.Load()
		switch who {
		case "write":
			if h != 0 || p != 0 {
				t.Errorf("%s: %d HEADs and %d missing checks on the scoped route, want none", who, h, p)
			}
		case "trees":
			if h != 0 || p == 0 {
				t.Errorf("%s: %d HEADs and %d missing checks on the scoped route, want missing checks alone", who, h, p)
			}
		default:
			if h == 0 {
				t.Errorf("%s: no HEAD on the scoped route after the missing check was refused", who)
			}
		}
	}
}
