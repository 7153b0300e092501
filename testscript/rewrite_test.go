package testscript_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
)

// cmdRewriteLog: rewrite-log DB drop SEQ | rewrite-log DB keep N — rewrite
// the SQLite event log DB (relative to $WORK) as an attacker with write
// access to the database would, leaving a hash chain that verifies and a
// Merkle tree that matches it: drop removes event SEQ and seals every
// later event again; keep cuts the log to its first N events (a
// rollback). Only a checkpoint saved earlier can tell.
func cmdRewriteLog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 || (args[1] != "drop" && args[1] != "keep") {
		ts.Fatalf("usage: rewrite-log DB drop SEQ | rewrite-log DB keep N")
	}
	n, err := strconv.ParseInt(args[2], 10, 64)
	if err != nil || n < 0 {
		ts.Fatalf("rewrite-log: %q is not a number", args[2])
	}
	path := ts.MkAbs(args[0])
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, eventlog.Options{})
	ts.Check(err)
	var evs []eventlog.Event
	err = st.Read(ctx, 0, func(e eventlog.Event) error { evs = append(evs, e); return nil })
	st.Close()
	ts.Check(err)
	var rows []eventlog.StoredRow
	var nodes map[int64][]byte
	from := n
	if args[1] == "drop" {
		rows, nodes, err = eventlogtest.RewriteWithout(evs, n)
	} else {
		if n > int64(len(evs)) {
			ts.Fatalf("rewrite-log: the log has %d events, fewer than %d", len(evs), n)
		}
		from = n + 1
		nodes, err = eventlogtest.TreeRows(evs[:n])
	}
	ts.Check(err)
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	ts.Check(err)
	defer db.Close()
	tx, err := db.Begin()
	ts.Check(err)
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			ts.Fatalf("rewrite-log: %s: %v", q, err)
		}
	}
	triggers := []string{"events_no_update BEFORE UPDATE ON events", "events_no_delete BEFORE DELETE ON events",
		"tree_nodes_no_update BEFORE UPDATE ON tree_nodes", "tree_nodes_no_delete BEFORE DELETE ON tree_nodes"}
	for _, tr := range triggers {
		name, _, _ := strings.Cut(tr, " ")
		exec("DROP TRIGGER " + name)
	}
	exec(`DELETE FROM events WHERE seq >= ?`, from)
	for _, r := range rows {
		exec(`INSERT INTO events (seq, time_ns, actor, type, subject, body, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.TimeNS, r.Actor, r.Type, r.Subject, r.Body, r.Prev, r.Hash)
	}
	exec(`DELETE FROM tree_nodes`)
	for seq, hs := range nodes {
		exec(`INSERT INTO tree_nodes (seq, hashes) VALUES (?, ?)`, seq, hs)
	}
	for _, tr := range triggers {
		exec("CREATE TRIGGER " + tr + " BEGIN SELECT RAISE(ABORT, 'append-only'); END")
	}
	ts.Check(tx.Commit())
}
