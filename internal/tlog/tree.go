// Package tlog is the Merkle tree over the event log and the evidence built
// on it: RFC 6962 leaf and node hashing, the compact range a store keeps
// up to date as it appends, inclusion and consistency proofs (built from
// stored nodes, verified from hashes alone), and checkpoints: the tree's
// size and root hash as a note signed with the store's ed25519 key
// (C2SP tlog-checkpoint, golang.org/x/mod/sumdb/note).
//
// Leaf i of the tree (0-based) is event i+1; its leaf data are the 32 bytes
// of the event's chain hash (the hex string stored as events.hash decoded),
// so the leaf hash is SHA-256(0x00 || hash) and a node hash is
// SHA-256(0x01 || left || right).
//
// A store keeps every complete subtree above the leaves with the event
// whose append completes it (EventRow, CompletingEvent) and reads a leaf
// from its event's hash. A proof or a root of any size then reads O(log n)
// rows.
package tlog

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of a tree hash (SHA-256).
const HashSize = 32

// Hash is a leaf, node or root hash.
type Hash [HashSize]byte

// String returns h in standard base64, as checkpoints and proofs write it.
func (h Hash) String() string { return base64.StdEncoding.EncodeToString(h[:]) }

// Sentinel errors callers branch on.
var (
	// ErrInvalidProof: a proof does not verify against the given roots.
	ErrInvalidProof = errors.New("merkle proof does not verify")
	// ErrMalformed: a checkpoint, proof, key or hash is not well formed.
	ErrMalformed = errors.New("malformed")
	// ErrSize: a requested tree size or index is out of range.
	ErrSize = errors.New("tree size out of range")
)

// Node identifies a complete subtree: the 2^Level leaves from
// Index*2^Level.
type Node = compact.NodeID

// NodeKey returns a key for node n, as an in-memory store of every node
// files it: its position in an in-order walk of the infinite tree (Index<<(Level+1) + 2^Level - 1), one
// integer for every node of any level, growing with the log. It is defined
// for trees of up to 2^62 leaves.
func NodeKey(n Node) int64 {
	return int64(n.Index<<(n.Level+1) + (uint64(1)<<n.Level - 1))
}

// KeyNode is the inverse of NodeKey.
func KeyNode(k int64) Node {
	level := uint(bits.TrailingZeros64(^uint64(k)))
	return Node{Level: level, Index: uint64(k) >> (level + 1)}
}

// CompletingEvent returns the event whose append completes node n, of
// level 1 or above, and n's position in that event's row (EventRow): node
// (level l, index i) covers events i*2^l+1 to (i+1)*2^l and is complete
// once the last of them is appended, as the (l-1)-th node of its row.
func CompletingEvent(n Node) (seq int64, pos int) {
	return int64((n.Index + 1) << n.Level), int(n.Level) - 1
}

// RowNodes returns how many nodes the append of event seq completes, the
// number of hashes in its row: one per trailing zero bit of seq (none for
// an odd seq, half of all events).
func RowNodes(seq int64) int {
	if seq <= 0 {
		return 0
	}
	return bits.TrailingZeros64(uint64(seq))
}

// LeafHash returns the leaf hash of an event whose chain hash is the hex
// string eventHash.
func LeafHash(eventHash string) (Hash, error) {
	var raw [HashSize]byte
	if len(eventHash) != 2*HashSize {
		return Hash{}, fmt.Errorf("%w: event hash %.80q is not %d hex digits", ErrMalformed, eventHash, 2*HashSize)
	}
	if _, err := hex.Decode(raw[:], []byte(eventHash)); err != nil {
		return Hash{}, fmt.Errorf("%w: event hash %.80q: %v", ErrMalformed, eventHash, err)
	}
	return Hash(rfc6962.DefaultHasher.HashLeaf(raw[:])), nil
}

// NodeHash returns the hash of the node whose children hash to l and r.
func NodeHash(l, r Hash) Hash {
	return Hash(rfc6962.DefaultHasher.HashChildren(l[:], r[:]))
}

// EmptyRoot is the root hash of the empty tree, SHA-256 of nothing.
func EmptyRoot() Hash { return Hash(rfc6962.DefaultHasher.EmptyRoot()) }

// Head is a tree size and its root hash.
type Head struct {
	Size int64
	Root Hash
}

// NodeReader returns the stored hashes of nodes, in order (level-0 nodes
// are the leaf hashes of events Index+1). It fails when one is missing.
type NodeReader func(nodes []Node) ([]Hash, error)

// FrontierNodes returns the nodes of the compact range of a tree of size
// leaves, left to right: one complete subtree per bit set in size.
func FrontierNodes(size int64) []Node {
	if size <= 0 {
		return nil
	}
	return compact.RangeNodes(0, uint64(size), nil)
}

// Tree is a tree being appended to: the compact range of its leaves.
type Tree struct {
	r *compact.Range
}

var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// NewTree returns the tree of size leaves whose frontier (FrontierNodes)
// hashes are frontier.
func NewTree(size int64, frontier []Hash) (*Tree, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: size %d", ErrSize, size)
	}
	hs := make([][]byte, len(frontier))
	for i := range frontier {
		hs[i] = frontier[i][:]
	}
	r, err := rangeFactory.NewRange(0, uint64(size), hs)
	if err != nil {
		return nil, fmt.Errorf("%w: frontier of a tree of %d: %v", ErrMalformed, size, err)
	}
	return &Tree{r: r}, nil
}

// LoadTree reads the frontier of the tree of size leaves through read.
func LoadTree(size int64, read NodeReader) (*Tree, error) {
	hs, err := read(FrontierNodes(size))
	if err != nil {
		return nil, err
	}
	return NewTree(size, hs)
}

// Append adds the leaf hash leaf and calls store for the leaf and each
// node that it completes, lowest first.
func (t *Tree) Append(leaf Hash, store func(n Node, h Hash)) {
	var visit compact.VisitFn
	if store != nil {
		visit = func(id compact.NodeID, h []byte) { store(id, Hash(h)) }
	}
	// Append fails only on a hash of the wrong size; Hash has the right one.
	if err := t.r.Append(leaf[:], visit); err != nil {
		panic(fmt.Sprintf("tlog: append: %v", err))
	}
}

// EventRow is Append for a store: it appends leaf and returns the hashes
// of the nodes of level 1 and above that it completes, lowest first,
// concatenated (RowNodes(t.Size()) of them; nil when there are none).
// Leaves are not in rows: a store reads them from the events.
func (t *Tree) EventRow(leaf Hash) []byte {
	var row []byte
	if k := RowNodes(t.Size() + 1); k > 0 {
		row = make([]byte, 0, k*HashSize)
	}
	t.Append(leaf, func(n Node, h Hash) {
		if n.Level > 0 {
			row = append(row, h[:]...)
		}
	})
	return row
}

// Frontier returns the hashes of the tree's FrontierNodes, left to right
// (what NewTree takes to continue it).
func (t *Tree) Frontier() []Hash {
	hs := t.r.Hashes()
	out := make([]Hash, len(hs))
	for i := range hs {
		out[i] = Hash(hs[i])
	}
	return out
}

// Size returns the number of leaves.
func (t *Tree) Size() int64 { return int64(t.r.End()) }

// Head returns the tree's size and root hash.
func (t *Tree) Head() Head {
	if t.r.End() == 0 {
		return Head{Root: EmptyRoot()}
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		panic(fmt.Sprintf("tlog: root: %v", err)) // only for an empty range
	}
	return Head{Size: t.Size(), Root: Hash(root)}
}

// RootAt returns the head of the tree's first size leaves, reading
// O(log size) nodes.
func RootAt(size int64, read NodeReader) (Head, error) {
	t, err := LoadTree(size, read)
	if err != nil {
		return Head{}, err
	}
	return t.Head(), nil
}

// InclusionProof returns the proof that leaf index (event index+1) is in
// the tree of size leaves, reading O(log size) nodes.
func InclusionProof(index, size int64, read NodeReader) (Proof, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("%w: leaf %d is not in a tree of %d", ErrSize, index, size)
	}
	ns, err := proof.Inclusion(uint64(index), uint64(size))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSize, err)
	}
	return rehash(ns, read)
}

// ConsistencyProof returns the proof that the tree of size1 leaves is a
// prefix of the tree of size2, reading O(log size2) nodes.
func ConsistencyProof(size1, size2 int64, read NodeReader) (Proof, error) {
	if size1 < 0 || size1 > size2 {
		return nil, fmt.Errorf("%w: consistency from %d to %d", ErrSize, size1, size2)
	}
	ns, err := proof.Consistency(uint64(size1), uint64(size2))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSize, err)
	}
	return rehash(ns, read)
}

func rehash(ns proof.Nodes, read NodeReader) (Proof, error) {
	if len(ns.IDs) == 0 {
		return Proof{}, nil
	}
	hs, err := read(ns.IDs)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, len(hs))
	for i := range hs {
		raw[i] = hs[i][:]
	}
	raw, err = ns.Rehash(raw, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("build proof: %w", err)
	}
	p := make(Proof, len(raw))
	for i := range raw {
		p[i] = Hash(raw[i])
	}
	return p, nil
}

// VerifyInclusion checks that p proves the event whose chain hash is
// eventHash to be leaf index of the tree head. The error matches
// ErrInvalidProof when it does not.
func VerifyInclusion(eventHash string, index int64, head Head, p Proof) error {
	leaf, err := LeafHash(eventHash)
	if err != nil {
		return err
	}
	return verifyInclusionLeaf(leaf, index, head, p)
}

func verifyInclusionLeaf(leaf Hash, index int64, head Head, p Proof) error {
	if index < 0 || index >= head.Size {
		return fmt.Errorf("%w: leaf %d is not in a tree of %d", ErrInvalidProof, index, head.Size)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(head.Size), leaf[:], p.raw(), head.Root[:]); err != nil {
		return fmt.Errorf("%w: event %d in the tree of %d: %v", ErrInvalidProof, index+1, head.Size, err)
	}
	return nil
}

// VerifyConsistency checks that p proves the tree old to be a prefix of the
// tree new. The error matches ErrInvalidProof when it does not.
func VerifyConsistency(old, new Head, p Proof) error {
	if old.Size < 0 || old.Size > new.Size {
		return fmt.Errorf("%w: a tree of %d cannot extend a tree of %d", ErrInvalidProof, new.Size, old.Size)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(new.Size), p.raw(), old.Root[:], new.Root[:]); err != nil {
		return fmt.Errorf("%w: the tree of %d is not a prefix of the tree of %d: %v", ErrInvalidProof, old.Size, new.Size, err)
	}
	return nil
}
