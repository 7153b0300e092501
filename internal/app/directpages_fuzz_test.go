package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/transfer"
)

// listItem is one element of a manifest's list as jsonList reads it, with
// the separator before it.
type listItem struct {
	sep   int64
	chunk content.ChunkRef
	entry content.TreeEntry
}

// readList reads every element of l (of kind list) until its end or an
// error, and closes it.
func readList(l *jsonList, list string) ([]listItem, error) {
	defer l.Close()
	var out []listItem
	for {
		it := listItem{sep: l.sep}
		var v any = &it.chunk
		if list == listEntries {
			v = &it.entry
		}
		ok, err := l.next(v)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, it)
	}
}

// manifestSeeds pushes a small file and a small tree in both layouts and
// returns their manifests' bytes.
func manifestSeeds(f *testing.F) [][]byte {
	ctx := context.Background()
	dir := f.TempDir()
	be, err := local.New("seed", filepath.Join(dir, "blobs"))
	if err != nil {
		f.Fatal(err)
	}
	store := transfer.FromBackend(be)
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "d"), 0o755); err != nil {
		f.Fatal(err)
	}
	data := bytes.Repeat([]byte("seed bytes for the list reader, "), 200)
	for p, b := range map[string][]byte{"a": data, "d/b": data[:700], "e": nil} {
		if err := os.WriteFile(filepath.Join(src, p), b, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	chunker := content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 256, Max: 1024}
	var mds []content.Digest
	r, err := transfer.Push(ctx, bytes.NewReader(data), store, transfer.PushOptions{Chunker: chunker})
	if err != nil {
		f.Fatal(err)
	}
	mds = append(mds, r.ManifestDigest)
	for _, schema := range []int{content.StreamTreeSchema, content.ManifestSchema} {
		r, err := transfer.PushTree(ctx, src, store, transfer.PushOptions{Chunker: chunker, TreeSchema: schema})
		if err != nil {
			f.Fatal(err)
		}
		mds = append(mds, r.ManifestDigest)
	}
	var out [][]byte
	for _, md := range mds {
		rc, err := be.Get(ctx, md, nil)
		if err != nil {
			f.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzManifestList feeds arbitrary bytes to the list reader of PullURLs'
// pages: it never panics; on a valid manifest it reads exactly the chunks
// (a file, a stream-layout tree) or entries (a per-file layout tree) that
// ParseManifest finds, and resumed at any separator it noted it reads the
// rest of them.
func FuzzManifestList(f *testing.F) {
	for _, b := range manifestSeeds(f) {
		f.Add(b, uint16(0))
		f.Add(b, uint16(3))
		f.Add(b[:len(b)/2], uint16(1))
	}
	f.Add([]byte(`{"schema":1,"kind":"file","chunks":[,]}`), uint16(0))
	f.Add([]byte(`[]`), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		l, list, err := startList(io.NopCloser(bytes.NewReader(b)))
		var items []listItem
		if err == nil {
			items, err = readList(l, list)
		}
		if err != nil && !errors.Is(err, content.ErrInvalidManifest) {
			t.Fatalf("error %v does not wrap ErrInvalidManifest", err)
		}
		m, perr := content.ParseManifest(b)
		if perr != nil {
			return
		}
		if err != nil {
			t.Fatalf("a valid manifest: %v", err)
		}
		if !sameItems(m, list, items) {
			t.Fatalf("read %d %s; the manifest has %d chunks, %d entries", len(items), list, len(m.Chunks), len(m.Entries))
		}
		k := int(cut) % (len(items) + 1)
		sep := l.sep // after the last item: the list's end
		if k < len(items) {
			sep = items[k].sep
		}
		rl, err := resumeList(io.NopCloser(bytes.NewReader(b[sep:])), sep)
		if err != nil {
			t.Fatalf("resume at byte %d: %v", sep, err)
		}
		rest, err := readList(rl, list)
		if err != nil || len(rest) != len(items)-k {
			t.Fatalf("resume at item %d (byte %d): %d items, %v; want %d", k, sep, len(rest), err, len(items)-k)
		}
		for i := range rest {
			if rest[i] != items[k+i] {
				t.Fatalf("resume at item %d: item %d = %+v, want %+v", k, k+i, rest[i], items[k+i])
			}
		}
	})
}

// sameItems reports whether items are m's chunks or entries, as list says.
func sameItems(m content.Manifest, list string, items []listItem) bool {
	if list == listEntries {
		if m.Kind != content.KindTree || m.Stream() || len(items) != len(m.Entries) {
			return false
		}
		for i, e := range m.Entries {
			if items[i].entry != e {
				return false
			}
		}
		return true
	}
	if len(items) != len(m.Chunks) || (m.Kind == content.KindTree && !m.Stream()) {
		return false
	}
	for i, c := range m.Chunks {
		if items[i].chunk != c {
			return false
		}
	}
	return true
}
