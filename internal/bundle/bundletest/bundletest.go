// Package bundletest is a store in memory for tests of evidence bundles:
// a log with its Merkle tree and signing key, blobs, and a Fixture with a
// small provenance graph. It implements bundle.Source.
package bundletest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// Store is a log, its Merkle tree, blobs and a signing key in memory:
// a Source for tests.
type Store struct {
	t testing.TB
	// Log is the log, Key its signing key.
	Log   []eventlog.Event
	mtree *tlog.Tree
	nodes map[int64]tlog.Hash
	blobs map[content.Digest][]byte
	// owner is the artifact each blob was first stored for; pending the
	// blobs stored since the last registration.
	owner   map[content.Digest]string
	pending []content.Digest
	Key     *tlog.Key
	params  content.ChunkerParams
	now     time.Time
}

func NewStore(t testing.TB) *Store {
	t.Helper()
	tree, err := tlog.NewTree(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := tlog.GenerateKey(filepath.Join(t.TempDir(), "key"), "artstore/test")
	if err != nil {
		t.Fatal(err)
	}
	return &Store{
		t: t, mtree: tree, nodes: map[int64]tlog.Hash{}, blobs: map[content.Digest][]byte{}, owner: map[content.Digest]string{}, Key: k,
		params: content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 256, Max: 1024},
		now:    time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	}
}

func (s *Store) Append(actor, subject string, p eventlog.Payload) eventlog.Event {
	s.t.Helper()
	ne, err := eventlog.New(actor, subject, p)
	if err != nil {
		s.t.Fatal(err)
	}
	prev := ""
	if n := len(s.Log); n > 0 {
		prev = s.Log[n-1].Hash
	}
	s.now = s.now.Add(time.Minute)
	e, err := eventlog.Seal(int64(len(s.Log)+1), prev, ne, s.now)
	if err != nil {
		s.t.Fatal(err)
	}
	leaf, err := tlog.LeafHash(e.Hash)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mtree.Append(leaf, func(n tlog.Node, h tlog.Hash) { s.nodes[tlog.NodeKey(n)] = h })
	s.Log = append(s.Log, e)
	return e
}

func (s *Store) Put(b []byte) content.Digest {
	d := content.FromBytes(b)
	s.blobs[d] = bytes.Clone(b)
	s.pending = append(s.pending, d)
	return d
}

// chunks stores data's chunks and returns their list.
func (s *Store) Chunks(data []byte) []content.ChunkRef {
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
		out = append(out, content.ChunkRef{Digest: s.Put(ch.Data), Size: int64(len(ch.Data))})
	}
}

func (s *Store) Manifest(m content.Manifest) content.Digest {
	s.t.Helper()
	b, err := m.Encode()
	if err != nil {
		s.t.Fatal(err)
	}
	return s.Put(b)
}

func (s *Store) PutFile(data []byte) (content.Digest, content.Manifest) {
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: content.FromBytes(data), Chunker: s.params, Chunks: s.Chunks(data)}
	return s.Manifest(m), m
}

type File struct {
	Path string
	Data []byte
}

// tree stores files (in path order) in the stream layout, or in the
// per-file layout when perFile.
func (s *Store) PutTree(files []File, perFile bool) (content.Digest, content.Manifest) {
	var entries []content.TreeEntry
	var stream []byte
	var size int64
	for _, f := range files {
		e := content.TreeEntry{Path: f.Path, Type: content.EntryFile, Mode: 0o644, Size: int64(len(f.Data)), Digest: content.FromBytes(f.Data)}
		if perFile {
			e.Manifest, _ = s.PutFile(f.Data)
		} else {
			e.Offset = int64(len(stream))
			stream = append(stream, f.Data...)
		}
		size += e.Size
		entries = append(entries, e)
	}
	m := content.Manifest{Kind: content.KindTree, Size: size, Digest: content.TreeDigest(entries), Entries: entries}
	if !perFile {
		m.Schema, m.Chunker, m.Chunks = content.StreamTreeSchema, s.params, s.Chunks(stream)
	}
	return s.Manifest(m), m
}

// register appends the registration of an artifact stored under md.
func (s *Store) Register(id, ref string, md content.Digest, m content.Manifest, inputs ...eventlog.Input) string {
	for _, d := range s.pending {
		if s.owner[d] == "" {
			s.owner[d] = id
		}
	}
	s.pending = nil
	name, version, _ := bytes.Cut([]byte(ref), []byte(":"))
	s.Append("alice", id, &eventlog.ArtifactRegistered{
		ID: id, Name: string(name), Version: string(version), ContentDigest: m.Digest, Size: m.Size, ManifestDigest: md,
		Provenance: eventlog.Provenance{Producer: eventlog.Producer{Tool: "make", GitCommit: "abc123"}, Inputs: inputs},
	})
	return id
}

func (s *Store) Checkpoint() []byte {
	s.t.Helper()
	b, err := s.Key.Sign(s.mtree.Head())
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *Store) Events(_ context.Context, id string, size int64) ([]eventlog.Event, error) {
	var out []eventlog.Event
	for _, e := range s.Log[:size] {
		if e.Subject == id {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *Store) InclusionProof(_ context.Context, seq, size int64) (tlog.Proof, error) {
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

func (s *Store) Open(_ context.Context, d content.Digest) (io.ReadCloser, error) {
	b, ok := s.blobs[d]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", d)
	}
	return io.NopCloser(content.NewVerifyingReader(bytes.NewReader(b), d, int64(len(b)))), nil
}

func RandBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Fixture is a store with a small provenance graph:
//
//	release:1 (file) <- build:1 (stream tree) <- src:1 (per-file tree)
//	                 <- old:1 (file, deleted)
//	                 <- raw input by digest
type Fixture struct {
	S                                *Store
	Release, Build, Src, Old, Unused string
}

func NewFixture(t testing.TB) *Fixture {
	s := NewStore(t)
	f := &Fixture{S: s}
	md, m := s.PutTree([]File{{"a.txt", []byte("hello\n")}, {"dir/b.bin", RandBytes(1, 3000)}, {"empty", nil}}, true)
	f.Src = s.Register("01SRC0000000000000000000AA", "team/src:1", md, m)
	md, m = s.PutTree([]File{{"bin/tool", RandBytes(2, 5000)}, {"lib/x.so", RandBytes(3, 700)}, {"z", []byte("z")}}, false)
	f.Build = s.Register("01BLD0000000000000000000AA", "team/build:1", md, m, eventlog.Input{Ref: "team/src:1", ArtifactID: f.Src, Role: "source"})
	md, m = s.PutFile(RandBytes(4, 2000))
	f.Old = s.Register("01OLD0000000000000000000AA", "team/old:1", md, m)
	s.Append("bob", f.Old, &eventlog.ArtifactDeleted{ArtifactID: f.Old, Reason: "superseded"})
	md, m = s.PutFile(RandBytes(5, 9000))
	f.Release = s.Register("01REL0000000000000000000AA", "team/release:1", md, m,
		eventlog.Input{Ref: "team/build:1", ArtifactID: f.Build, Role: "build"},
		eventlog.Input{Ref: "team/old:1", ArtifactID: f.Old},
		eventlog.Input{Digest: content.FromBytes([]byte("raw")), Role: "config"})
	s.Append("alice", f.Release, &eventlog.TagMoved{Name: "team/release", Tag: "stable", ArtifactID: f.Release})
	s.Append("carol", f.Release, &eventlog.LabelsChanged{ArtifactID: f.Release, Set: map[string]string{"audit": "2026"}})
	md, m = s.PutFile([]byte("unrelated"))
	f.Unused = s.Register("01UNU0000000000000000000AA", "team/unused:1", md, m)
	s.Append("dave", f.Release, &eventlog.ArtifactRetrieved{ArtifactID: f.Release, Bytes: 9000, Client: "cli"})
	return f
}

// Blobs returns every stored blob's digest.
func (s *Store) Blobs() map[content.Digest][]byte { return s.blobs }

// IsBlobOf reports whether d is a blob (manifest or chunk) only the
// artifacts ids reference.
func (f *Fixture) IsBlobOf(d content.Digest, ids ...string) bool {
	return slices.Contains(ids, f.S.owner[d])
}
