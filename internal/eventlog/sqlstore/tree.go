package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// The Merkle tree over the log (see internal/tlog) lives in tree_nodes:
// one row per event whose append completes nodes above the leaves (every
// even seq), holding their hashes (tlog.EventRow); a leaf is read from its
// event's hash. That is about half a row per event: the rows and their
// index entries, not the hashing, are what the tree costs an append. An
// append continues the tree from its frontier (at most one node per bit of
// the log's length: cached from this store's last append, else one query),
// appends the new events' leaves and inserts the rows they complete, in
// the append's transaction. A root, or an inclusion or consistency proof,
// reads O(log n) rows in one query.
//
// The tree is part of the log, not a view: Rebuild does not touch it, and
// it is filled from the stored events by the migration that creates it.

// treeMigration is the name suffix of the migration that creates
// tree_nodes; after its script runs, the tree is built from the events
// already in the log, in the same transaction.
const treeMigration = "_tree_rows.up.sql"

// nodeReader returns a tlog.NodeReader over q: leaves from events, other
// nodes from the rows of the events that complete them, in one query. A
// missing or damaged node is a *eventlog.ChainError.
func nodeReader(ctx context.Context, q Tx) tlog.NodeReader {
	return func(ns []tlog.Node) ([]tlog.Hash, error) {
		if len(ns) == 0 {
			return nil, nil
		}
		var leaves, rows []any
		for _, n := range ns {
			if n.Level == 0 {
				leaves = append(leaves, int64(n.Index)+1)
			} else {
				seq, _ := tlog.CompletingEvent(n)
				rows = append(rows, seq)
			}
		}
		got, err := readTreeRows(ctx, q, leaves, rows)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(ns))
		for i, n := range ns {
			if out[i], err = got.node(n); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// treeRows holds what readTreeRows read: event hashes by seq, and
// tree_nodes rows by seq.
type treeRows struct {
	leaves map[int64]string
	rows   map[int64][]byte
}

// node returns node n's hash from r.
func (r treeRows) node(n tlog.Node) (tlog.Hash, error) {
	if n.Level == 0 {
		seq := int64(n.Index) + 1
		h, ok := r.leaves[seq]
		if !ok {
			return tlog.Hash{}, &eventlog.ChainError{Seq: seq, Reason: fmt.Sprintf("event %d, a leaf of the Merkle tree, is missing", seq)}
		}
		leaf, err := tlog.LeafHash(h)
		if err != nil {
			return tlog.Hash{}, &eventlog.ChainError{Seq: seq, Reason: fmt.Sprintf("stored hash: %v", err)}
		}
		return leaf, nil
	}
	seq, pos := tlog.CompletingEvent(n)
	row, ok := r.rows[seq]
	if !ok {
		first, end := n.Coverage()
		return tlog.Hash{}, &eventlog.ChainError{Seq: int64(first) + 1, Reason: fmt.Sprintf("the Merkle tree node over events %d to %d is missing (no tree row for event %d)", first+1, end, seq)}
	}
	if len(row) != tlog.RowNodes(seq)*tlog.HashSize {
		return tlog.Hash{}, &eventlog.ChainError{Seq: seq, Reason: fmt.Sprintf("the Merkle tree row of event %d has %d bytes, want %d hashes of %d", seq, len(row), tlog.RowNodes(seq), tlog.HashSize)}
	}
	return tlog.Hash(row[pos*tlog.HashSize:][:tlog.HashSize]), nil
}

// readTreeRows reads the hashes of the events leaves and the tree rows of
// the events rows (seqs, either list may be empty), in one query.
func readTreeRows(ctx context.Context, q Tx, leaves, rows []any) (treeRows, error) {
	r := treeRows{leaves: make(map[int64]string, len(leaves)), rows: make(map[int64][]byte, len(rows))}
	var parts []string
	if len(leaves) > 0 {
		parts = append(parts, `SELECT 0, seq, hash, NULL FROM events WHERE seq IN (`+Placeholders(1, len(leaves))+`)`)
	}
	if len(rows) > 0 {
		parts = append(parts, `SELECT 1, seq, '', hashes FROM tree_nodes WHERE seq IN (`+Placeholders(len(leaves)+1, len(rows))+`)`)
	}
	res, err := q.Query(ctx, strings.Join(parts, " UNION ALL "), append(leaves, rows...)...)
	if err != nil {
		return r, fmt.Errorf("read Merkle tree nodes: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var (
			kind, seq int64
			hash      string
			hashes    []byte
		)
		if err := res.Scan(&kind, &seq, &hash, &hashes); err != nil {
			return r, fmt.Errorf("read Merkle tree nodes: %w", err)
		}
		if kind == 0 {
			r.leaves[seq] = hash
		} else {
			r.rows[seq] = hashes
		}
	}
	if err := res.Err(); err != nil {
		return r, fmt.Errorf("read Merkle tree nodes: %w", err)
	}
	return r, nil
}

// treeAppender appends events' leaves to the tree and queues the inserts
// of the rows they complete on a write transaction, rowChunk rows to an
// INSERT statement.
type treeAppender struct {
	t       *tlog.Tree
	pending []any // seq, hashes of each row not yet inserted
	insert  func(rows []any) error
}

// rowChunk is the number of rows one INSERT stores; fewer are inserted in
// chunks of descending powers of two (see flush), so an append uses at
// most nine distinct statements however many rows it stores.
const rowChunk = 256

// frontierCache remembers the tree's frontier after this store's last
// append, with the log's head then. An append whose transaction finds the
// same head (no other process appended since) continues the tree from it
// instead of reading the frontier's nodes: one or two queries less per
// append, a round trip each in PostgreSQL.
type frontierCache struct {
	mu     sync.Mutex
	head   eventlog.Head
	hashes []tlog.Hash
}

// get returns the frontier of the tree of head.Seq leaves, if cached for
// that head.
func (c *frontierCache) get(head eventlog.Head) ([]tlog.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.head != head || head.Seq == 0 {
		return nil, false
	}
	return c.hashes, true
}

// put records the frontier of a committed append.
func (c *frontierCache) put(head eventlog.Head, hashes []tlog.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.head, c.hashes = head, hashes
}

// newTreeAppender continues the tree of the log whose head is head: from
// the cached frontier when it is for that head, else from the stored
// nodes.
func (s *Store) newTreeAppender(ctx context.Context, tx Tx, head eventlog.Head) (*treeAppender, error) {
	var t *tlog.Tree
	var err error
	if hs, ok := s.frontier.get(head); ok {
		t, err = tlog.NewTree(head.Seq, hs)
	} else {
		t, err = tlog.LoadTree(head.Seq, nodeReader(ctx, tx))
	}
	if err != nil {
		return nil, fmt.Errorf("load the Merkle tree: %w", err)
	}
	return newTreeAppender(ctx, tx, t), nil
}

// newTreeAppender appends to t, inserting rows on tx.
func newTreeAppender(ctx context.Context, tx Tx, t *tlog.Tree) *treeAppender {
	return &treeAppender{
		t:       t,
		pending: make([]any, 0, 2*rowChunk),
		insert: func(rows []any) error {
			return tx.Exec(ctx, `INSERT INTO tree_nodes (seq, hashes) VALUES `+valuesList(len(rows)/2, 2), rows...)
		},
	}
}

// add appends the leaf of the event seq whose chain hash is hash.
func (a *treeAppender) add(seq int64, hash string) error {
	if a.t.Size() != seq-1 {
		return fmt.Errorf("merkle tree: event %d follows a tree of %d", seq, a.t.Size())
	}
	leaf, err := tlog.LeafHash(hash)
	if err != nil {
		return &eventlog.ChainError{Seq: seq, Reason: fmt.Sprintf("stored hash: %v", err)}
	}
	row := a.t.EventRow(leaf)
	if row == nil {
		return nil
	}
	a.pending = append(a.pending, seq, row)
	if len(a.pending) == 2*rowChunk {
		if err := a.insert(a.pending); err != nil {
			return fmt.Errorf("merkle tree: insert rows: %w", err)
		}
		// Exec may keep the arguments until the transaction's next
		// statement: a new slice for the next chunk.
		a.pending = make([]any, 0, 2*rowChunk)
	}
	return nil
}

// flush inserts the rows still queued, in chunks of descending powers of
// two below rowChunk. It must run before the transaction commits or reads
// tree_nodes.
func (a *treeAppender) flush() error {
	rows := a.pending
	a.pending = nil
	for n := rowChunk / 2; len(rows) > 0; n /= 2 {
		if len(rows) < 2*n {
			continue
		}
		if err := a.insert(rows[:2*n]); err != nil {
			return fmt.Errorf("merkle tree: insert rows: %w", err)
		}
		rows = rows[2*n:]
	}
	return nil
}

// backfillTree builds tree_nodes from the events in the log, a page at a
// time, inside the migration's transaction.
func (s *Store) backfillTree(ctx context.Context, tx Tx) error {
	empty, err := tlog.NewTree(0, nil)
	if err != nil {
		return err
	}
	a := newTreeAppender(ctx, tx, empty)
	for next := int64(1); ; {
		rows, err := tx.Query(ctx, `SELECT seq, hash FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2`, next, int64(pageSize))
		if err != nil {
			return fmt.Errorf("build the Merkle tree: %w", err)
		}
		type row struct {
			seq  int64
			hash string
		}
		page := make([]row, 0, pageSize)
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.seq, &r.hash); err != nil {
				rows.Close()
				return fmt.Errorf("build the Merkle tree: %w", err)
			}
			page = append(page, r)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("build the Merkle tree: %w", err)
		}
		if len(page) == 0 {
			return a.flush()
		}
		for _, r := range page {
			if r.seq != next {
				return fmt.Errorf("build the Merkle tree: %w", &eventlog.ChainError{Seq: next, Reason: fmt.Sprintf("event %d is missing", next)})
			}
			if err := a.add(r.seq, r.hash); err != nil {
				return fmt.Errorf("build the Merkle tree: %w", err)
			}
			next++
		}
	}
}

// TreeHead returns the size and root hash of the log's Merkle tree (the
// empty tree's root for an empty log), reading O(log n) nodes.
func (s *Store) TreeHead(ctx context.Context) (tlog.Head, error) {
	var h tlog.Head
	err := s.read(ctx, func(tx Tx) error {
		head, err := headOf(ctx, tx)
		if err != nil {
			return err
		}
		h, err = tlog.RootAt(head.Seq, nodeReader(ctx, tx))
		return err
	})
	if err != nil {
		return tlog.Head{}, fmt.Errorf("tree head: %w", err)
	}
	return h, nil
}

// TreeHeadAt returns the size and root hash of the tree of the log's first
// size events. The error matches tlog.ErrSize unless 0 <= size <= the
// log's length.
func (s *Store) TreeHeadAt(ctx context.Context, size int64) (tlog.Head, error) {
	if size < 0 {
		return tlog.Head{}, fmt.Errorf("tree head at %d: %w: a size is not negative", size, tlog.ErrSize)
	}
	var h tlog.Head
	err := s.read(ctx, func(tx Tx) error {
		if err := checkSize(ctx, tx, size); err != nil {
			return err
		}
		var err error
		h, err = tlog.RootAt(size, nodeReader(ctx, tx))
		return err
	})
	if err != nil {
		return tlog.Head{}, fmt.Errorf("tree head at %d: %w", size, err)
	}
	return h, nil
}

// InclusionProof returns the proof that event seq is in the tree of the
// log's first size events. The error matches tlog.ErrSize unless
// 1 <= seq <= size <= the log's length.
func (s *Store) InclusionProof(ctx context.Context, seq, size int64) (tlog.Proof, error) {
	var p tlog.Proof
	err := s.read(ctx, func(tx Tx) error {
		if err := checkSize(ctx, tx, size); err != nil {
			return err
		}
		var err error
		p, err = tlog.InclusionProof(seq-1, size, nodeReader(ctx, tx))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of event %d in %d: %w", seq, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of the log's first
// size1 events is a prefix of the tree of its first size2. The error
// matches tlog.ErrSize unless 0 <= size1 <= size2 <= the log's length.
func (s *Store) ConsistencyProof(ctx context.Context, size1, size2 int64) (tlog.Proof, error) {
	var p tlog.Proof
	err := s.read(ctx, func(tx Tx) error {
		if err := checkSize(ctx, tx, size2); err != nil {
			return err
		}
		var err error
		p, err = tlog.ConsistencyProof(size1, size2, nodeReader(ctx, tx))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("consistency proof from %d to %d: %w", size1, size2, err)
	}
	return p, nil
}

// checkSize fails with tlog.ErrSize when the log has fewer than size
// events.
func checkSize(ctx context.Context, tx Tx, size int64) error {
	h, err := headOf(ctx, tx)
	if err != nil {
		return err
	}
	if size > h.Seq {
		return fmt.Errorf("%w: the log has %d events", tlog.ErrSize, h.Seq)
	}
	return nil
}

// checkTreeRoot compares the root of tree, recomputed from the events, with
// the root of the same size read from the stored nodes.
func checkTreeRoot(ctx context.Context, tx Tx, tree *tlog.Tree) error {
	want := tree.Head()
	got, err := tlog.RootAt(want.Size, nodeReader(ctx, tx))
	if err != nil {
		return err
	}
	if got.Root != want.Root {
		return &eventlog.ChainError{Seq: want.Size, Reason: fmt.Sprintf(
			"the stored Merkle tree's root over events 1 to %d is %s, the events hash to %s: the tree does not match the log", want.Size, got.Root, want.Root)}
	}
	return nil
}
