package eventlogtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// refTree is the Merkle tree of events, built in memory from their hashes
// as a client that read the whole log would build it, with every node.
type refTree struct {
	t     *tlog.Tree
	heads []tlog.Head // heads[n] is the tree of the first n events
	nodes map[int64][]byte
}

func newRefTree(t testing.TB, evs []eventlog.Event) *refTree {
	t.Helper()
	tr, err := tlog.NewTree(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &refTree{t: tr, heads: []tlog.Head{tr.Head()}, nodes: map[int64][]byte{}}
	for _, ev := range evs {
		leaf, err := tlog.LeafHash(ev.Hash)
		if err != nil {
			t.Fatalf("event %d: %v", ev.Seq, err)
		}
		tr.Append(leaf, func(n tlog.Node, h tlog.Hash) { r.nodes[tlog.NodeKey(n)] = h[:] })
		r.heads = append(r.heads, tr.Head())
	}
	return r
}

func treeHead(t testing.TB, s eventlog.Store) tlog.Head {
	t.Helper()
	h, err := s.TreeHead(context.Background())
	if err != nil {
		t.Fatalf("tree head: %v", err)
	}
	return h
}

// checkProofs checks the store's tree head against ref, and that its
// inclusion proofs (events of trees of several sizes) and
// consistency proofs (between several sizes) verify against ref's roots.
func checkProofs(t *testing.T, s eventlog.Store, evs []eventlog.Event) {
	t.Helper()
	ctx := context.Background()
	ref := newRefTree(t, evs)
	n := int64(len(evs))
	if got := treeHead(t, s); got != ref.heads[n] {
		t.Fatalf("tree head = %d %s, want %d %s", got.Size, got.Root, n, ref.heads[n].Root)
	}
	for _, size := range []int64{0, 1, 2, 3, n / 2, n - 1, n} {
		if size < 0 || size > n {
			continue
		}
		got, err := s.TreeHeadAt(ctx, size)
		if err != nil {
			t.Fatalf("tree head at %d: %v", size, err)
		}
		if got != ref.heads[size] {
			t.Errorf("tree head at %d = %d %s, want %d %s", size, got.Size, got.Root, size, ref.heads[size].Root)
		}
	}
	sizes := []int64{1, 2, 3, n / 2, n - 1, n}
	for _, size := range sizes {
		if size < 1 || size > n {
			continue
		}
		// Every event of small trees, about 50 spread over large ones.
		for seq := int64(1); seq <= size; seq += max(1, size/50) {
			p, err := s.InclusionProof(ctx, seq, size)
			if err != nil {
				t.Fatalf("inclusion proof of %d in %d: %v", seq, size, err)
			}
			if err := tlog.VerifyInclusion(evs[seq-1].Hash, seq-1, ref.heads[size], p); err != nil {
				t.Errorf("inclusion proof of %d in %d: %v", seq, size, err)
			}
		}
		for _, old := range append([]int64{0}, sizes...) {
			if old < 0 || old > size {
				continue
			}
			p, err := s.ConsistencyProof(ctx, old, size)
			if err != nil {
				t.Fatalf("consistency proof from %d to %d: %v", old, size, err)
			}
			if err := tlog.VerifyConsistency(ref.heads[old], ref.heads[size], p); err != nil {
				t.Errorf("consistency proof from %d to %d: %v", old, size, err)
			}
		}
	}
}

// testTree appends batches of several sizes (so the tree's frontier is
// carried from one append to the next in every shape) and checks the tree
// and its proofs after each.
func testTree(t *testing.T, newDB NewDB) {
	db := newDB(t)
	s := db.Open(t, eventlog.Options{})
	if h := treeHead(t, s); h.Size != 0 || h.Root != tlog.EmptyRoot() {
		t.Errorf("empty log's tree head = %d %s, want 0 and the empty root", h.Size, h.Root)
	}
	var evs []eventlog.Event
	next, prev := 1, ""
	for _, batch := range []int{1, 1, 2, 5, 1, 13, 8, 3, 30, 300} {
		nes := Artifacts(t, next, batch, prev)
		next, prev = next+batch, nes[batch-1].Subject
		evs = append(evs, appendOK(t, s, nes...)...)
		checkProofs(t, s, evs)
	}
	// A second store on the same database (another process) sees the same
	// tree and appends to it; the first then continues the tree from the
	// stored nodes, not from what it had after its own last append.
	s2 := db.Open(t, eventlog.Options{})
	nes := Artifacts(t, next, 3, prev)
	next, prev = next+3, nes[2].Subject
	evs = append(evs, appendOK(t, s2, nes...)...)
	checkProofs(t, s, evs)
	evs = append(evs, appendOK(t, s, Artifacts(t, next, 2, prev)...)...)
	checkProofs(t, s2, evs)
	verifyOK(t, s, 1)
	verifyOK(t, s, 40)
}

func testTreeSizes(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := newDB(t).Open(t, eventlog.Options{})
	appendOK(t, s, Artifacts(t, 1, 5, "")...)
	for _, tc := range []struct{ seq, size int64 }{{0, 5}, {6, 5}, {5, 6}, {-1, 3}, {1, 0}} {
		if _, err := s.InclusionProof(ctx, tc.seq, tc.size); !errors.Is(err, tlog.ErrSize) {
			t.Errorf("inclusion proof of %d in %d: %v, want ErrSize", tc.seq, tc.size, err)
		}
	}
	for _, tc := range []struct{ a, b int64 }{{3, 2}, {1, 6}, {-1, 2}} {
		if _, err := s.ConsistencyProof(ctx, tc.a, tc.b); !errors.Is(err, tlog.ErrSize) {
			t.Errorf("consistency proof from %d to %d: %v, want ErrSize", tc.a, tc.b, err)
		}
	}
	for _, size := range []int64{-1, 6} {
		if _, err := s.TreeHeadAt(ctx, size); !errors.Is(err, tlog.ErrSize) {
			t.Errorf("tree head at %d: %v, want ErrSize", size, err)
		}
	}
	if p, err := s.ConsistencyProof(ctx, 5, 5); err != nil || len(p) != 0 {
		t.Errorf("consistency proof from 5 to 5 = %v, %v; want an empty proof", p, err)
	}
}

// testTreeFailedAppend: an append that fails leaves the tree as it was.
func testTreeFailedAppend(t *testing.T, newDB NewDB) {
	s := newDB(t).Open(t, eventlog.Options{})
	evs := appendOK(t, s, Artifacts(t, 1, 3, "")...)
	before := treeHead(t, s)
	// The second event registers the same name:version again: a conflict.
	dup := Artifacts(t, 4, 1, "")
	if _, err := s.Append(context.Background(), append(dup, Artifacts(t, 4, 1, "")...)); err == nil {
		t.Fatal("append of a duplicate version succeeded")
	}
	if got := treeHead(t, s); got != before {
		t.Errorf("tree head after a failed append = %d %s, want %d %s", got.Size, got.Root, before.Size, before.Root)
	}
	checkProofs(t, s, append(evs, appendOK(t, s, Artifacts(t, 4, 2, "")...)...))
}

// testTreeNotAView: Rebuild leaves the tree as it is.
func testTreeNotAView(t *testing.T, newDB NewDB) {
	s := newDB(t).Open(t, eventlog.Options{})
	History(t, s)
	before := treeHead(t, s)
	if _, err := s.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := treeHead(t, s); got != before {
		t.Errorf("tree head after rebuild = %d %s, want %d %s", got.Size, got.Root, before.Size, before.Root)
	}
	checkProofs(t, s, readAll(t, s, 0))
}

// testTreeBuiltOnOpen: a log from before the tree, or from before
// tree_nodes (with every node in merkle_nodes), gets the tree built from
// its events when a store opens it.
func testTreeBuiltOnOpen(t *testing.T, newDB NewDB) {
	for _, from := range []string{"no tree", "merkle_nodes"} {
		t.Run(from, func(t *testing.T) {
			db := newDB(t)
			s := db.Open(t, eventlog.Options{})
			Fill(t, s, 2500, 1000) // more than one page of the backfill
			want := treeHead(t, s)
			views := dump(t, s)
			if from == "no tree" {
				db.ForgetTree(t)
			} else {
				db.RevertTree(t, newRefTree(t, readAll(t, s, 0)).nodes)
			}
			s2 := db.Open(t, eventlog.Options{})
			if got := treeHead(t, s2); got != want {
				t.Errorf("tree head after the backfill = %d %s, want %d %s", got.Size, got.Root, want.Size, want.Root)
			}
			checkProofs(t, s2, readAll(t, s2, 0))
			verifyOK(t, s2, 1)
			if got := dump(t, s2); got != views {
				t.Errorf("views after the migrations differ from the live projection's:\n%s\nwant:\n%s", got, views)
			}
		})
	}
}

// rewrite returns the log evs without event del, every later event sealed
// again with its new seq and prev: a history an attacker with write
// access to the database could substitute, whose hash chain verifies.
func rewrite(t testing.TB, evs []eventlog.Event, del int64) []eventlog.StoredRow {
	t.Helper()
	var rows []eventlog.StoredRow
	prev := evs[del-2].Hash
	for _, e := range evs[del:] {
		ne := eventlog.NewEvent{Time: e.Time, Actor: e.Actor, Type: e.Type, Subject: e.Subject, Payload: e.Payload}
		ev, err := eventlog.Seal(e.Seq-1, prev, ne, e.Time)
		if err != nil {
			t.Fatalf("reseal %d: %v", e.Seq, err)
		}
		rows = append(rows, eventlog.StoredRow{Seq: ev.Seq, TimeNS: ev.Time.UnixNano(), Actor: ev.Actor, Type: ev.Type,
			Subject: ev.Subject, Body: ev.Body, Prev: ev.Prev, Hash: ev.Hash})
		prev = ev.Hash
	}
	return rows
}

// testRewrittenHistory: a checkpoint saved earlier catches a history
// rewritten with recomputed hashes, which the hash chain alone does not.
// If the rewriter leaves the stored tree as it was, Verify finds that it does
// not match the events; if it rebuilds the tree too, Verify passes
// and the consistency proof to the checkpoint fails.
func testRewrittenHistory(t *testing.T, newDB NewDB) {
	for _, rebuildTree := range []bool{false, true} {
		t.Run(fmt.Sprintf("rebuiltTree=%v", rebuildTree), func(t *testing.T) {
			ctx := context.Background()
			db := newDB(t)
			s := db.Open(t, eventlog.Options{})
			key, err := tlog.GenerateKey(filepath.Join(t.TempDir(), "checkpoint.key"), "artstore.test/log")
			if err != nil {
				t.Fatal(err)
			}
			appendOK(t, s, Artifacts(t, 1, 10, "")...)
			signed, _, err := tlog.SignedCheckpoint(ctx, s, key)
			if err != nil {
				t.Fatal(err)
			}
			saved, err := tlog.OpenCheckpoint(signed, key.VerifierKey())
			if err != nil {
				t.Fatal(err)
			}
			appendOK(t, s, Artifacts(t, 11, 5, "")...)
			if _, err := tlog.CheckConsistent(ctx, s, saved); err != nil {
				t.Fatalf("honest log against its checkpoint: %v", err)
			}

			evs := readAll(t, s, 0)
			rows := rewrite(t, evs, 4)
			var nodes map[int64][]byte
			if rebuildTree {
				kept := append([]eventlog.Event{}, evs[:3]...)
				for _, r := range rows {
					ev, err := eventlog.DecodeStored(r.Seq, r.Body, r.Prev, r.Hash)
					if err != nil {
						t.Fatal(err)
					}
					kept = append(kept, ev)
				}
				if nodes, err = TreeRows(kept); err != nil {
					t.Fatal(err)
				}
			}
			db.ReplaceEvents(t, 4, rows, nodes)

			rep, err := s.Verify(ctx, 1)
			if !rebuildTree {
				if !errors.Is(err, eventlog.ErrTampered) {
					t.Fatalf("verify of a rewritten log with the old tree: %+v, %v; want ErrTampered", rep, err)
				}
				return
			}
			if err != nil || rep.Checked != 14 {
				t.Fatalf("verify of the rewritten log with its tree rebuilt: %+v, %v; want it to pass (the chain is consistent)", rep, err)
			}
			if _, err := tlog.CheckConsistent(ctx, s, saved); !errors.Is(err, tlog.ErrInvalidProof) {
				t.Errorf("rewritten log against the earlier checkpoint: %v, want ErrInvalidProof", err)
			}
		})
	}
}

// RewriteWithout returns what an attacker with write access to the
// database substitutes for evs (a whole log, oldest first) to remove event
// del without a trace in the hash chain: the events after it sealed again
// with their new seq and prev (rows, from seq del on), and the Merkle
// tree of the result as a store keeps it (TreeRows). With del 0
// nothing is removed. Tests and scripts write them with raw SQL.
func RewriteWithout(evs []eventlog.Event, del int64) ([]eventlog.StoredRow, map[int64][]byte, error) {
	if del < 0 || del > int64(len(evs)) {
		return nil, nil, fmt.Errorf("rewrite: no event %d in a log of %d", del, len(evs))
	}
	if del == 0 {
		nodes, err := TreeRows(evs)
		return nil, nodes, err
	}
	kept := append([]eventlog.Event{}, evs[:del-1]...)
	var rows []eventlog.StoredRow
	prev := evs[0].Prev // the first event's
	if del > 1 {
		prev = evs[del-2].Hash
	}
	for _, e := range evs[del:] {
		ne := eventlog.NewEvent{Time: e.Time, Actor: e.Actor, Type: e.Type, Subject: e.Subject, Payload: e.Payload}
		ev, err := eventlog.Seal(e.Seq-1, prev, ne, e.Time)
		if err != nil {
			return nil, nil, fmt.Errorf("rewrite: reseal %d: %w", e.Seq, err)
		}
		rows = append(rows, eventlog.StoredRow{Seq: ev.Seq, TimeNS: ev.Time.UnixNano(), Actor: ev.Actor, Type: ev.Type,
			Subject: ev.Subject, Body: ev.Body, Prev: ev.Prev, Hash: ev.Hash})
		kept = append(kept, ev)
		prev = ev.Hash
	}
	nodes, err := TreeRows(kept)
	return rows, nodes, err
}

// TreeRows returns the Merkle tree over evs as a store keeps it: the
// tree_nodes rows (tlog.EventRow), keyed by seq.
func TreeRows(evs []eventlog.Event) (map[int64][]byte, error) {
	tr, err := tlog.NewTree(0, nil)
	if err != nil {
		return nil, err
	}
	rows := map[int64][]byte{}
	for _, ev := range evs {
		leaf, err := tlog.LeafHash(ev.Hash)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		if row := tr.EventRow(leaf); row != nil {
			rows[ev.Seq] = row
		}
	}
	return rows, nil
}

// testDamagedTreeRows: a tree row that is missing, or of the wrong length,
// fails Verify and the reads that need it, naming the event whose row it
// is; none of them returns a hash made from a damaged row.
func testDamagedTreeRows(t *testing.T, newDB NewDB) {
	cases := []struct {
		name   string
		damage func(rows map[int64][]byte)
		reason string
	}{
		{"missing", func(rows map[int64][]byte) { delete(rows, 8) }, "no tree row for event 8"},
		{"short", func(rows map[int64][]byte) { rows[8] = rows[8][:40] }, "row of event 8 has 40 bytes"},
		{"long", func(rows map[int64][]byte) { rows[8] = append(rows[8], 0) }, "row of event 8 has 97 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := newDB(t)
			s := db.Open(t, eventlog.Options{})
			evs := appendOK(t, s, Artifacts(t, 1, 10, "")...)
			rows, err := TreeRows(evs)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(rows)
			db.ReplaceEvents(t, 11, nil, rows)
			s = db.Open(t, eventlog.Options{}) // no cached frontier
			rep, err := s.Verify(ctx, 1)
			if !errors.Is(err, eventlog.ErrTampered) || !strings.Contains(rep.Reason, tc.reason) {
				t.Errorf("verify: %+v, %v; want ErrTampered, %q", rep, err, tc.reason)
			}
			if _, err := s.TreeHead(ctx); !errors.Is(err, eventlog.ErrTampered) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("tree head: %v; want ErrTampered, %q", err, tc.reason)
			}
			if _, err := s.InclusionProof(ctx, 1, 10); !errors.Is(err, eventlog.ErrTampered) {
				t.Errorf("inclusion proof through the damaged row: %v; want ErrTampered", err)
			}
			if _, err := s.Append(ctx, Artifacts(t, 11, 1, "")); !errors.Is(err, eventlog.ErrTampered) {
				t.Errorf("append on a tree whose frontier is damaged: %v; want ErrTampered", err)
			}
		})
	}
}

// RevertTreeSQL returns the statements of DB.RevertTree for a database
// whose migrations are in fsys: it drops tree_nodes and live_names, runs
// migrations 0002 (merkle_nodes) and 0003 (the index of live names) again,
// forgets migrations 4 and later, and fills merkle_nodes with nodes, each
// hash written as an SQL literal by lit.
func RevertTreeSQL(t testing.TB, fsys fs.FS, lit func([]byte) string, nodes map[int64][]byte) []string {
	t.Helper()
	stmts := []string{`DROP TABLE tree_nodes`, `DROP TABLE live_names`, `DROP INDEX events_subject`}
	for _, m := range []string{"0002_merkle_tree.up.sql", "0003_live_names.up.sql"} {
		script, err := fs.ReadFile(fsys, m)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(script))
	}
	stmts = append(stmts, `DELETE FROM schema_migrations WHERE version >= 4`)
	values := make([]string, 0, len(nodes))
	for k, h := range nodes {
		values = append(values, fmt.Sprintf("(%d, %s)", k, lit(h)))
	}
	if len(values) > 0 {
		stmts = append(stmts, `INSERT INTO merkle_nodes (id, hash) VALUES `+strings.Join(values, ", "))
	}
	return stmts
}
