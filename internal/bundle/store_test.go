package bundle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// memStore is a log, its Merkle tree, blobs and a signing key in memory:
// a Source for tests.
type memStore struct {
	t      testing.TB
	events []eventlog.Event
	mtree  *tlog.Tree
	nodes  map[int64]tlog.Hash
	blobs  map[content.Digest][]byte
	key    *tlog.Key
	params content.ChunkerParams
	now    time.Time
}

func newMemStore(t testing.TB) *memStore {
	t.Helper()
	tree, err := tlog.NewTree(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := tlog.GenerateKey(filepath.Join(t.TempDir(), "key"), "artstore/test")
	if err != nil {
		t.Fatal(err)
	}
	return &memStore{
		t: t, mtree: tree, nodes: map[int64]tlog.Hash{}, blobs: map[content.Digest][]byte{}, key: k,
		params: content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 256, Max: 1024},
		now:    time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	}
}

func (s *memStore) append(actor, subject string, p eventlog.Payload) eventlog.Event {
	s.t.Helper()
	ne, err := eventlog.New(actor, subject, p)
	if err != nil {
		s.t.Fatal(err)
	}
	prev := ""
	if n := len(s.events); n > 0 {
		prev = s.events[n-1].Hash
	}
	s.now = s.now.Add(time.Minute)
	e, err := eventlog.Seal(int64(len(s.events)+1), prev, ne, s.now)
	if err != nil {
		s.t.Fatal(err)
	}
	leaf, err := tlog.LeafHash(e.Hash)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mtree.Append(leaf, func(n tlog.Node, h tlog.Hash) { s.nodes[tlog.NodeKey(n)] = h })
	s.events = append(s.events, e)
	return e
}

func (s *memStore) put(b []byte) content.Digest {
	d := content.FromBytes(b)
	s.blobs[d] = bytes.Clone(b)
	return d
}

// chunks stores data's chunks and returns their list.
func (s *memStore) chunks(data []byte) []content.ChunkRef {
	s.t.Helper()
	c, err := content.NewChunker(bytes.NewReader(data), s.params)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []content.ChunkRef
	for {
		ch, err := c.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, content.ChunkRef{Digest: s.put(ch.Data), Size: int64(len(ch.Data))})
	}
}

func (s *memStore) manifest(m content.Manifest) content.Digest {
	s.t.Helper()
	b, err := m.Encode()
	if err != nil {
		s.t.Fatal(err)
	}
	return s.put(b)
}

func (s *memStore) file(data []byte) (content.Digest, content.Manifest) {
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: content.FromBytes(data), Chunker: s.params, Chunks: s.chunks(data)}
	return s.manifest(m), m
}

type testFile struct {
	path string
	data []byte
}

// tree stores files (in path order) in the stream layout, or in the
// per-file layout when perFile.
func (s *memStore) tree(files []testFile, perFile bool) (content.Digest, content.Manifest) {
	var entries []content.TreeEntry
	var stream []byte
	var size int64
	for _, f := range files {
		e := content.TreeEntry{Path: f.path, Type: content.EntryFile, Mode: 0o644, Size: int64(len(f.data)), Digest: content.FromBytes(f.data)}
		if perFile {
			e.Manifest, _ = s.file(f.data)
		} else {
			e.Offset = int64(len(stream))
			stream = append(stream, f.data...)
		}
		size += e.Size
		entries = append(entries, e)
	}
	m := content.Manifest{Kind: content.KindTree, Size: size, Digest: content.TreeDigest(entries), Entries: entries}
	if !perFile {
		m.Schema, m.Chunker, m.Chunks = content.StreamTreeSchema, s.params, s.chunks(stream)
	}
	return s.manifest(m), m
}

// register appends the registration of an artifact stored under md.
func (s *memStore) register(id, ref string, md content.Digest, m content.Manifest, inputs ...eventlog.Input) string {
	name, version, _ := bytes.Cut([]byte(ref), []byte(":"))
	s.append("alice", id, &eventlog.ArtifactRegistered{
		ID: id, Name: string(name), Version: string(version), ContentDigest: m.Digest, Size: m.Size, ManifestDigest: md,
		Provenance: eventlog.Provenance{Producer: eventlog.Producer{Tool: "make", GitCommit: "abc123"}, Inputs: inputs},
	})
	return id
}

func (s *memStore) checkpoint() []byte {
	s.t.Helper()
	b, err := s.key.Sign(s.mtree.Head())
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *memStore) Events(_ context.Context, id string, size int64) ([]eventlog.Event, error) {
	var out []eventlog.Event
	for _, e := range s.events[:size] {
		if e.Subject == id {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) InclusionProof(_ context.Context, seq, size int64) (tlog.Proof, error) {
	return tlog.InclusionProof(seq-1, size, func(ns []tlog.Node) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ns))
		for i, n := range ns {
			h, ok := s.nodes[tlog.NodeKey(n)]
			if !ok {
				return nil, fmt.Errorf("no node %v", n)
			}
			out[i] = h
		}
		return out, nil
	})
}

func (s *memStore) Open(_ context.Context, d content.Digest) (io.ReadCloser, error) {
	b, ok := s.blobs[d]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", d)
	}
	return io.NopCloser(content.NewVerifyingReader(bytes.NewReader(b), d, int64(len(b)))), nil
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fixture is a store with a small provenance graph:
//
//	release:1 (file) <- build:1 (stream tree) <- src:1 (per-file tree)
//	                 <- old:1 (file, deleted)
//	                 <- raw input by digest
type fixture struct {
	s                                *memStore
	release, build, src, old, unused string
}

func newFixture(t testing.TB) *fixture {
	s := newMemStore(t)
	f := &fixture{s: s}
	md, m := s.tree([]testFile{{"a.txt", []byte("hello\n")}, {"dir/b.bin", randBytes(1, 3000)}, {"empty", nil}}, true)
	f.src = s.register("01SRC0000000000000000000AA", "team/src:1", md, m)
	md, m = s.tree([]testFile{{"bin/tool", randBytes(2, 5000)}, {"lib/x.so", randBytes(3, 700)}, {"z", []byte("z")}}, false)
	f.build = s.register("01BLD0000000000000000000AA", "team/build:1", md, m, eventlog.Input{Ref: "team/src:1", ArtifactID: f.src, Role: "source"})
	md, m = s.file(randBytes(4, 2000))
	f.old = s.register("01OLD0000000000000000000AA", "team/old:1", md, m)
	s.append("bob", f.old, &eventlog.ArtifactDeleted{ArtifactID: f.old, Reason: "superseded"})
	md, m = s.file(randBytes(5, 9000))
	f.release = s.register("01REL0000000000000000000AA", "team/release:1", md, m,
		eventlog.Input{Ref: "team/build:1", ArtifactID: f.build, Role: "build"},
		eventlog.Input{Ref: "team/old:1", ArtifactID: f.old},
		eventlog.Input{Digest: content.FromBytes([]byte("raw")), Role: "config"})
	s.append("alice", f.release, &eventlog.TagMoved{Name: "team/release", Tag: "stable", ArtifactID: f.release})
	s.append("carol", f.release, &eventlog.LabelsChanged{ArtifactID: f.release, Set: map[string]string{"audit": "2026"}})
	md, m = s.file([]byte("unrelated"))
	f.unused = s.register("01UNU0000000000000000000AA", "team/unused:1", md, m)
	s.append("dave", f.release, &eventlog.ArtifactRetrieved{ArtifactID: f.release, Bytes: 9000, Client: "cli"})
	return f
}

// export writes the bundle of ids with closure, at the store's head.
func (f *fixture) export(t testing.TB, closure int, ids ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Export(context.Background(), f.s, Request{IDs: ids, Closure: closure, Checkpoint: f.s.checkpoint(), Key: f.s.key.VerifierKey()}, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
