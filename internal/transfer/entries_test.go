package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/memtest"
)

func TestEachTreeEntryListsThePushedTree(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"a.txt":      "sorts after a/",
		"a/x":        "x",
		"bin/run.sh": "#!/bin/sh\n",
		"empty/":     "",
	}, map[string]fs.FileMode{"bin/run.sh": 0o755})
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	var got []content.TreeEntry
	err = EachTreeEntry(context.Background(), res.ManifestDigest, s, PullOptions{}, func(e content.TreeEntry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := manifestOf(t, s, res.ManifestDigest).Entries
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("entries\n%v\nwant the manifest's\n%v", got, want)
	}
	if len(got) != 6 || got[0].Path != "a" || got[1].Path != "a.txt" || got[3].Mode != 0o755 {
		t.Fatalf("entries %v: want a, a.txt, a/x, bin, bin/run.sh (0755), empty in path order", got)
	}

	stop := errors.New("stop")
	n := 0
	err = EachTreeEntry(context.Background(), res.ManifestDigest, s, PullOptions{}, func(content.TreeEntry) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn's error: got %v after %d calls, want stop after 1", err, n)
	}
}

func TestEachTreeEntryRefuses(t *testing.T) {
	s := newMemStore()
	file, err := Push(context.Background(), bytes.NewReader([]byte("one file")), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	fn := func(content.TreeEntry) error { called = true; return nil }
	if err := EachTreeEntry(context.Background(), file.ManifestDigest, s, PullOptions{}, fn); !errors.Is(err, ErrWrongKind) || called {
		t.Fatalf("a file manifest: %v (fn called: %v), want ErrWrongKind before any entry", err, called)
	}
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f": "data"}, nil)
	tree, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	b := s.blobs[tree.ManifestDigest]
	b[len(b)/2] ^= 1
	s.mu.Unlock()
	err = EachTreeEntry(context.Background(), tree.ManifestDigest, s, PullOptions{Retry: RetryPolicy{MaxAttempts: 1}}, fn)
	if !errors.Is(err, content.ErrMismatch) || called {
		t.Fatalf("a damaged manifest: %v (fn called: %v), want a mismatch before any entry", err, called)
	}
	checked := errors.New("registered as something else")
	err = EachTreeEntry(context.Background(), file.ManifestDigest, s, PullOptions{Check: func(content.Manifest) error { return checked }}, fn)
	if !errors.Is(err, checked) || called {
		t.Fatalf("Check's refusal: %v (fn called: %v)", err, called)
	}
}

// TestEachTreeEntryMemoryDoesNotGrow walks a tree manifest of 100,000
// entries and measures the live heap after 10,000 and after 90,000: an
// entry (a path and two digests) kept per file would add several MiB.
func TestEachTreeEntryMemoryDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a manifest of 100,000 entries")
	}
	t.Setenv("TMPDIR", t.TempDir())
	const files = 100_000
	var list bytes.Buffer
	enc := content.NewTreeEntryEncoder(&list)
	fileDigest := content.FromBytes([]byte("same content"))
	for i := range files {
		if i%1000 == 0 {
			if err := enc.Add(content.TreeEntry{Path: fmt.Sprintf("d%03d", i/1000), Type: content.EntryDir, Mode: 0o755}); err != nil {
				t.Fatal(err)
			}
		}
		e := content.TreeEntry{Path: fmt.Sprintf("d%03d/f%06d", i/1000, i), Type: content.EntryFile, Mode: 0o644,
			Size: 12, Digest: fileDigest, Manifest: fileDigest}
		if err := enc.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	_, head, tail, err := content.TreeManifestFrame("", enc)
	if err != nil {
		t.Fatal(err)
	}
	raw := append(append(head, list.Bytes()...), tail...)
	list = bytes.Buffer{}
	md := content.FromBytes(raw)
	s := newMemStore()
	s.blobs[md] = raw
	raw = nil

	var at10k, at90k int64
	n := 0
	err = EachTreeEntry(context.Background(), md, s, PullOptions{}, func(e content.TreeEntry) error {
		if e.Type != content.EntryFile {
			return nil
		}
		switch n++; n {
		case 10_000:
			at10k = memtest.LiveHeap()
		case 90_000:
			at90k = memtest.LiveHeap()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != files {
		t.Fatalf("walked %d files, want %d", n, files)
	}
	t.Logf("live heap at 10,000 entries %d bytes, at 90,000 %d", at10k, at90k)
	if grew := at90k - at10k; grew > 1<<20 {
		t.Fatalf("live heap grew by %d bytes from 10,000 to 90,000 entries: the walk keeps something per entry", grew)
	}
}
