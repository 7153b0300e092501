package tlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// memTree is a tree built with Tree.Append whose stored nodes and leaves
// are kept in maps, as a store keeps them in tables.
type memTree struct {
	t     *Tree
	nodes map[int64]Hash
}

func newMemTree() *memTree {
	t, err := NewTree(0, nil)
	if err != nil {
		panic(err)
	}
	return &memTree{t: t, nodes: map[int64]Hash{}}
}

func (m *memTree) add(leaf Hash) {
	m.t.Append(leaf, func(n Node, h Hash) {
		k := NodeKey(n)
		if _, dup := m.nodes[k]; dup {
			panic(fmt.Sprintf("node %v stored twice", n))
		}
		m.nodes[k] = h
	})
}

// read is the NodeReader over the maps; it counts the nodes read.
func (m *memTree) read(count *int) NodeReader {
	return func(ns []Node) ([]Hash, error) {
		out := make([]Hash, len(ns))
		for i, n := range ns {
			*count++
			h, ok := m.nodes[NodeKey(n)]
			if !ok {
				return nil, fmt.Errorf("node %v missing", n)
			}
			out[i] = h
		}
		return out, nil
	}
}

// TestRFC6962Vectors checks roots against the RFC 6962 test vectors (the
// certificate-transparency reference values), including the published
// root of the eight-leaf tree.
func TestRFC6962Vectors(t *testing.T) {
	m := newMemTree()
	roots := testonly.RootHashes()
	for i, in := range testonly.LeafInputs() {
		m.add(Hash(rfc6962.DefaultHasher.HashLeaf(in)))
		if got := m.t.Head(); got.Size != int64(i+1) || string(got.Root[:]) != string(roots[i+1]) {
			t.Errorf("root of %d leaves = %x, want %x", i+1, got.Root[:], roots[i+1])
		}
		var n int
		if got, err := RootAt(int64(i+1), m.read(&n)); err != nil || string(got.Root[:]) != string(roots[i+1]) {
			t.Errorf("RootAt(%d) = %x, %v; want %x", i+1, got.Root[:], err, roots[i+1])
		}
	}
	const root8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
	if r := m.t.Head().Root; hex.EncodeToString(r[:]) != root8 {
		got := hex.EncodeToString(r[:])
		t.Errorf("root of 8 = %s, want %s", got, root8)
	}
	if e, _ := NewTree(0, nil); e.Head().Root != Hash(sha256.Sum256(nil)) {
		t.Errorf("empty root = %x", e.Head().Root)
	}
}

// TestProofsMatchReference builds proofs from the stored nodes for every
// index, size and pair of sizes up to 70 and compares them with the
// reference tree's, verifies them, and checks they read O(log n) nodes.
func TestProofsMatchReference(t *testing.T) {
	const n = 70
	ref := testonly.New(rfc6962.DefaultHasher)
	m := newMemTree()
	for i := range n {
		leaf := Hash(rfc6962.DefaultHasher.HashLeaf(fmt.Appendf(nil, "leaf %d", i)))
		ref.Append(leaf[:])
		m.add(leaf)
	}
	// Every complete subtree: n leaves and n - popcount(n) above them.
	if got, want := len(m.nodes), 2*n-bits.OnesCount(n); got != want {
		t.Errorf("%d nodes stored, want %d", got, want)
	}
	for size := int64(1); size <= n; size++ {
		head := Head{Size: size, Root: Hash(ref.HashAt(uint64(size)))}
		for i := range size {
			var reads int
			p, err := InclusionProof(i, size, m.read(&reads))
			if err != nil {
				t.Fatalf("inclusion %d/%d: %v", i, size, err)
			}
			want, _ := ref.InclusionProof(uint64(i), uint64(size))
			if !equal(p, want) {
				t.Errorf("inclusion %d/%d = %v, want %x", i, size, p, want)
			}
			if reads > 2*64 {
				t.Errorf("inclusion %d/%d read %d nodes", i, size, reads)
			}
			if err := proofVerifies(m.nodes[NodeKey(Node{Index: uint64(i)})], i, head, p); err != nil {
				t.Errorf("inclusion %d/%d: %v", i, size, err)
			}
		}
		for old := int64(0); old <= size; old++ {
			var reads int
			p, err := ConsistencyProof(old, size, m.read(&reads))
			if err != nil {
				t.Fatalf("consistency %d/%d: %v", old, size, err)
			}
			want, _ := ref.ConsistencyProof(uint64(old), uint64(size))
			if !equal(p, want) {
				t.Errorf("consistency %d/%d = %v, want %x", old, size, p, want)
			}
			oldHead := Head{Size: old, Root: EmptyRoot()}
			if old > 0 {
				oldHead.Root = Hash(ref.HashAt(uint64(old)))
			}
			if err := VerifyConsistency(oldHead, head, p); err != nil {
				t.Errorf("consistency %d/%d: %v", old, size, err)
			}
		}
	}
}

// proofVerifies is VerifyInclusion from a leaf hash instead of an event
// hash (the reference leaves are not event hashes).
func proofVerifies(leaf Hash, i int64, head Head, p Proof) error {
	return verifyInclusionLeaf(leaf, i, head, p)
}

func equal(p Proof, want [][]byte) bool {
	if len(p) != len(want) {
		return false
	}
	for i := range p {
		if string(p[i][:]) != string(want[i]) {
			return false
		}
	}
	return true
}

func TestLeafHashOfEventHash(t *testing.T) {
	ev := sha256.Sum256([]byte("event"))
	got, err := LeafHash(hex.EncodeToString(ev[:]))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(append([]byte{0}, ev[:]...)); got != Hash(want) {
		t.Errorf("LeafHash = %x, want sha256(0x00 || hash) = %x", got, want)
	}
	for _, bad := range []string{"", "ab", hex.EncodeToString(ev[:]) + "00", "zz" + hex.EncodeToString(ev[1:])} {
		if _, err := LeafHash(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("LeafHash(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

// TestVerifyRejectsWrongProofs: a proof checked against another leaf,
// index or root, or altered, fails with ErrInvalidProof.
func TestVerifyRejectsWrongProofs(t *testing.T) {
	m := newMemTree()
	var evHashes []string
	for i := range 13 {
		e := sha256.Sum256(fmt.Appendf(nil, "event %d", i))
		evHashes = append(evHashes, hex.EncodeToString(e[:]))
		l, _ := LeafHash(evHashes[i])
		m.add(l)
	}
	var n int
	head := m.t.Head()
	p, err := InclusionProof(5, 13, m.read(&n))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyInclusion(evHashes[5], 5, head, p); err != nil {
		t.Fatalf("good proof: %v", err)
	}
	bad := append(Proof{}, p...)
	bad[1][0] ^= 1
	other := head
	other.Root[0] ^= 1
	for name, err := range map[string]error{
		"other event":  VerifyInclusion(evHashes[6], 5, head, p),
		"other index":  VerifyInclusion(evHashes[5], 4, head, p),
		"index > size": VerifyInclusion(evHashes[5], 13, head, p),
		"altered":      VerifyInclusion(evHashes[5], 5, head, bad),
		"short":        VerifyInclusion(evHashes[5], 5, head, p[1:]),
		"other root":   VerifyInclusion(evHashes[5], 5, other, p),
	} {
		if !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", name, err)
		}
	}
	old, err := RootAt(7, m.read(&n))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ConsistencyProof(7, 13, m.read(&n))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(old, head, cp); err != nil {
		t.Fatalf("good consistency proof: %v", err)
	}
	for name, err := range map[string]error{
		"other new root": VerifyConsistency(old, other, cp),
		"shrunk":         VerifyConsistency(head, old, cp),
		"same size":      VerifyConsistency(head, other, nil),
	} {
		if !errors.Is(err, ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", name, err)
		}
	}
	if _, err := InclusionProof(13, 13, m.read(&n)); !errors.Is(err, ErrSize) {
		t.Errorf("inclusion of leaf 13 in 13: %v, want ErrSize", err)
	}
	if _, err := ConsistencyProof(14, 13, m.read(&n)); !errors.Is(err, ErrSize) {
		t.Errorf("consistency 14 -> 13: %v, want ErrSize", err)
	}
}

func TestNodeKeyIsInOrder(t *testing.T) {
	// Leaves at even keys, level-1 nodes between them, and so on.
	for _, tc := range []struct {
		n    Node
		want int64
	}{
		{Node{Level: 0, Index: 0}, 0}, {Node{Level: 0, Index: 1}, 2}, {Node{Level: 1, Index: 0}, 1},
		{Node{Level: 1, Index: 1}, 5}, {Node{Level: 2, Index: 0}, 3}, {Node{Level: 3, Index: 1}, 23},
	} {
		if got := NodeKey(tc.n); got != tc.want {
			t.Errorf("NodeKey(%+v) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestKeyNodeInvertsNodeKey(t *testing.T) {
	for level := uint(0); level < 20; level++ {
		for _, idx := range []uint64{0, 1, 2, 3, 1000, 1 << 30} {
			n := Node{Level: level, Index: idx}
			if got := KeyNode(NodeKey(n)); got != n {
				t.Errorf("KeyNode(NodeKey(%+v)) = %+v", n, got)
			}
		}
	}
}

// BenchmarkTreeAppend is the CPU the tree adds to an append, per event:
// the leaf hash, the nodes it completes (one on average) and the visit.
// BenchmarkTreeAppend measures what a store's append spends on the tree per
// event: the leaf hash, the nodes it completes and its row (EventRow).
func BenchmarkTreeAppend(b *testing.B) {
	t, _ := NewTree(0, nil)
	var leaf Hash
	stored := 0
	for b.Loop() {
		leaf[0]++
		stored += len(t.EventRow(Hash(rfc6962.DefaultHasher.HashLeaf(leaf[:])))) / HashSize
	}
	b.ReportMetric(float64(stored)/float64(b.N), "nodes/op")
}

// TestEventRowsHoldEveryNodeAboveTheLeaves checks the store layout: the
// rows EventRow returns, read at CompletingEvent, hold exactly the nodes of
// level 1 and above that Append reports, each in the row of the event
// that completes it, and RowNodes gives each row's length.
func TestEventRowsHoldEveryNodeAboveTheLeaves(t *testing.T) {
	ref := newMemTree()
	tr, err := NewTree(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int64][]byte{}
	const n = 300
	for i := range n {
		leaf := Hash(sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
		ref.add(leaf)
		seq := int64(i + 1)
		row := tr.EventRow(leaf)
		if len(row) != RowNodes(seq)*HashSize {
			t.Fatalf("event %d: row of %d bytes, want %d nodes", seq, len(row), RowNodes(seq))
		}
		if row != nil {
			rows[seq] = row
		}
	}
	if tr.Head() != ref.t.Head() {
		t.Fatalf("EventRow's tree head %v, Append's %v", tr.Head(), ref.t.Head())
	}
	stored := 0
	for k, want := range ref.nodes {
		nd := KeyNode(k)
		if nd.Level == 0 {
			continue
		}
		stored++
		seq, pos := CompletingEvent(nd)
		row, ok := rows[seq]
		if !ok || len(row) < (pos+1)*HashSize {
			t.Fatalf("node %+v: no hash %d in the row of event %d (%d bytes)", nd, pos, seq, len(row))
		}
		if got := Hash(row[pos*HashSize:][:HashSize]); got != want {
			t.Errorf("node %+v: row of event %d holds %s at %d, want %s", nd, seq, got, pos, want)
		}
	}
	total := 0
	for _, row := range rows {
		total += len(row) / HashSize
	}
	if total != stored || stored != n-bits.OnesCount(n) {
		t.Errorf("rows hold %d nodes, the tree has %d above its leaves (want %d)", total, stored, n-bits.OnesCount(n))
	}
	if RowNodes(0) != 0 || RowNodes(1) != 0 || RowNodes(8) != 3 || RowNodes(12) != 2 {
		t.Errorf("RowNodes(0, 1, 8, 12) = %d, %d, %d, %d; want 0, 0, 3, 2", RowNodes(0), RowNodes(1), RowNodes(8), RowNodes(12))
	}
}
