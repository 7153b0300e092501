package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// pageSize is how many events Read, Verify and Rebuild fetch per query.
const pageSize = 1000

// Store implements eventlog.Store over a Driver.
type Store struct {
	d     Driver
	types eventlog.Types
	now   func() time.Time
	// frontier is the Merkle tree's frontier after the last append.
	frontier frontierCache
}

var _ eventlog.Store = (*Store)(nil)

// New returns a store over d, applying d's pending migrations first.
func New(ctx context.Context, d Driver, opts eventlog.Options) (*Store, error) {
	s := &Store{d: d, types: opts.PayloadTypes(), now: opts.Clock()}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Driver returns the store's driver.
func (s *Store) Driver() Driver { return s.d }

// Close implements eventlog.Store.
func (s *Store) Close() error { return s.d.Close() }

// Append implements eventlog.Store.
func (s *Store) Append(ctx context.Context, evs []eventlog.NewEvent) ([]eventlog.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	return s.AppendFunc(ctx, func(context.Context, eventlog.Views) ([]eventlog.NewEvent, error) { return evs, nil })
}

// AppendFunc implements eventlog.Store.
func (s *Store) AppendFunc(ctx context.Context, fn func(context.Context, eventlog.Views) ([]eventlog.NewEvent, error)) ([]eventlog.Event, error) {
	tx, err := s.d.BeginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("append: begin: %w", s.d.WrapError(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	evs, err := fn(ctx, s.views(tx))
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, nil
	}
	head, err := headOf(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("append: %w", s.d.WrapError(err))
	}
	tree, err := s.newTreeAppender(ctx, tx, head)
	if err != nil {
		return nil, fmt.Errorf("append: %w", s.d.WrapError(err))
	}
	out := make([]eventlog.Event, 0, len(evs))
	live := liveCounts{}
	now := s.now()
	for _, ne := range evs {
		ev, err := eventlog.Seal(head.Seq+1, head.Hash, ne, now)
		if err != nil {
			return nil, fmt.Errorf("append: %w", err)
		}
		if err := s.insertAndApply(ctx, tx, ev, live); err != nil {
			return nil, fmt.Errorf("append: %w", err)
		}
		if err := tree.add(ev.Seq, ev.Hash); err != nil {
			return nil, fmt.Errorf("append: event %d: %w", ev.Seq, s.d.WrapError(err))
		}
		head = eventlog.Head{Seq: ev.Seq, Hash: ev.Hash}
		out = append(out, ev)
	}
	if err := live.flush(ctx, tx); err != nil {
		return nil, fmt.Errorf("append: %w", s.d.WrapError(err))
	}
	if err := tree.flush(); err != nil {
		return nil, fmt.Errorf("append: %w", s.d.WrapError(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("append: commit: %w", s.d.WrapError(err))
	}
	s.frontier.put(head, tree.t.Frontier())
	return out, nil
}

// insertAndApply stores one sealed event and projects it.
func (s *Store) insertAndApply(ctx context.Context, tx Tx, ev eventlog.Event, live liveCounts) error {
	p, err := s.types.Decode(ev.Type, ev.Payload)
	if err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	if err := tx.Exec(ctx, `INSERT INTO events (seq, time_ns, actor, type, subject, body, prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		ev.Seq, ev.Time.UnixNano(), ev.Actor, ev.Type, ev.Subject, ev.Body, ev.Prev, ev.Hash); err != nil {
		return fmt.Errorf("event %d: insert: %w", ev.Seq, s.d.WrapError(err))
	}
	if err := apply(ctx, tx, ev, p, nil, step{live: live}); err != nil {
		return fmt.Errorf("event %d (%s): %w", ev.Seq, ev.Type, s.d.WrapError(err))
	}
	return nil
}

func headOf(ctx context.Context, q Tx) (eventlog.Head, error) {
	rows, err := q.Query(ctx, `SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return eventlog.Head{}, fmt.Errorf("read head: %w", err)
	}
	defer rows.Close()
	var h eventlog.Head
	if rows.Next() {
		if err := rows.Scan(&h.Seq, &h.Hash); err != nil {
			return h, fmt.Errorf("read head: %w", err)
		}
	}
	return h, rows.Err()
}

// Head implements eventlog.Store.
func (s *Store) Head(ctx context.Context) (eventlog.Head, error) {
	var h eventlog.Head
	err := s.read(ctx, func(tx Tx) error {
		var err error
		h, err = headOf(ctx, tx)
		return err
	})
	return h, err
}

// read runs fn in a read transaction.
func (s *Store) read(ctx context.Context, fn func(Tx) error) error {
	tx, err := s.d.BeginRead(ctx)
	if err != nil {
		return fmt.Errorf("begin read: %w", s.d.WrapError(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	if err := fn(tx); err != nil {
		return s.d.WrapError(err)
	}
	return s.d.WrapError(tx.Commit(ctx))
}

// rowsPage reads up to pageSize events rows with seq >= from.
func rowsPage(ctx context.Context, q Tx, from int64) ([]eventlog.StoredRow, error) {
	return rowsFrom(ctx, q, from, pageSize)
}

// rowsFrom reads up to n events rows with seq >= from.
func rowsFrom(ctx context.Context, q Tx, from int64, n int) ([]eventlog.StoredRow, error) {
	rows, err := q.Query(ctx, `SELECT seq, time_ns, actor, type, subject, body, prev, hash FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, int64(n))
	if err != nil {
		return nil, fmt.Errorf("read events from %d: %w", from, err)
	}
	defer rows.Close()
	var out []eventlog.StoredRow
	for rows.Next() {
		var r eventlog.StoredRow
		if err := rows.Scan(&r.Seq, &r.TimeNS, &r.Actor, &r.Type, &r.Subject, &r.Body, &r.Prev, &r.Hash); err != nil {
			return nil, fmt.Errorf("read events from %d: %w", from, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events from %d: %w", from, err)
	}
	return out, nil
}

// bodyPage reads the seq and body of up to pageSize events with seq >=
// from: all that Rebuild needs (it takes every field from the body).
func bodyPage(ctx context.Context, q Tx, from int64) ([]eventlog.StoredRow, error) {
	rows, err := q.Query(ctx, `SELECT seq, body FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, int64(pageSize))
	if err != nil {
		return nil, fmt.Errorf("read events from %d: %w", from, err)
	}
	defer rows.Close()
	out := make([]eventlog.StoredRow, 0, pageSize)
	for rows.Next() {
		var r eventlog.StoredRow
		if err := rows.Scan(&r.Seq, &r.Body); err != nil {
			return nil, fmt.Errorf("read events from %d: %w", from, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events from %d: %w", from, err)
	}
	return out, nil
}

// Read implements eventlog.Store. Each page is read in its own short read
// transaction, so fn runs with no transaction open.
func (s *Store) Read(ctx context.Context, afterSeq int64, fn func(eventlog.Event) error) error {
	if afterSeq < 0 {
		afterSeq = 0
	}
	var end int64
	if err := s.read(ctx, func(tx Tx) error {
		h, err := headOf(ctx, tx)
		end = h.Seq
		return err
	}); err != nil {
		return err
	}
	next := afterSeq + 1
	for next <= end {
		var page []eventlog.StoredRow
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			page, err = rowsPage(ctx, tx, next)
			return err
		}); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, r := range page {
			if r.Seq > end {
				return nil
			}
			ev, err := eventlog.DecodeStored(r.Seq, r.Body, r.Prev, r.Hash)
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			if err := fn(ev); err != nil {
				return err
			}
			next = r.Seq + 1
		}
	}
	return nil
}

// ReadSubject implements eventlog.Store through the index events_subject,
// a page per short read transaction as Read reads.
func (s *Store) ReadSubject(ctx context.Context, subject string, afterSeq, upToSeq int64, fn func(eventlog.Event) error) error {
	col := s.byteOrder("subject")
	return s.readIndexed(ctx, "the events of "+subject, afterSeq, upToSeq,
		`SELECT seq, body, prev, hash FROM events WHERE `+col+` = $1 AND seq > $2 AND seq <= $3 ORDER BY `+col+`, seq LIMIT $4`,
		[]any{subject}, func(got string) bool { return got == subject }, fn)
}

// ReadSubjectPrefix implements eventlog.Store through the index
// events_subject: one range of it, in byte order, sorted by seq a page at
// a time. The unary + on seq keeps the seq bounds and order from the
// primary key: without it SQLite walks the whole table in seq order,
// filtering by subject, to save the sort.
func (s *Store) ReadSubjectPrefix(ctx context.Context, prefix string, afterSeq, upToSeq int64, fn func(eventlog.Event) error) error {
	end, ok := prefixEnd(prefix)
	if !ok {
		return fmt.Errorf("read the events of subjects %q...: %w: give a prefix of text that does not end in byte 0xff", prefix, eventlog.ErrInvalidQuery)
	}
	col := s.byteOrder("subject")
	return s.readIndexed(ctx, "the events of subjects "+prefix+"...", afterSeq, upToSeq,
		`SELECT seq, body, prev, hash FROM events WHERE `+col+` >= $1 AND `+col+` < $2 AND +seq > $3 AND +seq <= $4 ORDER BY +seq LIMIT $5`,
		[]any{prefix, end}, func(got string) bool { return strings.HasPrefix(got, prefix) }, fn)
}

// prefixEnd returns the least string greater than every string that
// starts with prefix: prefix with its last byte incremented (ok is false
// when prefix is empty or ends in 0xff, where there is none such).
func prefixEnd(prefix string) (string, bool) {
	if prefix == "" || prefix[len(prefix)-1] == 0xff {
		return "", false
	}
	return prefix[:len(prefix)-1] + string([]byte{prefix[len(prefix)-1] + 1}), true
}

// byteOrder returns column compared in byte order, as the index on it
// holds it (ByteOrderer).
func (s *Store) byteOrder(column string) string {
	if bo, ok := s.d.(ByteOrderer); ok {
		return bo.ByteOrder(column)
	}
	return column
}

// readIndexed calls fn for each events row query selects, a page per short
// read transaction as Read reads: query takes args, then the seq after
// which and up to which to read, then the page size, and orders by seq
// within what it selects. A row whose body names a subject that does not
// belong (want) is refused as tampering: the row is indexed under a
// subject its body does not name.
func (s *Store) readIndexed(ctx context.Context, what string, afterSeq, upToSeq int64, query string, args []any, want func(subject string) bool, fn func(eventlog.Event) error) error {
	next := max(afterSeq, 0)
	for next < upToSeq {
		var page []eventlog.StoredRow
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			page, err = indexedPage(ctx, tx, what, query, append(slices.Clone(args), next, upToSeq, int64(pageSize)))
			return err
		}); err != nil {
			return err
		}
		for _, r := range page {
			ev, err := eventlog.DecodeStored(r.Seq, r.Body, r.Prev, r.Hash)
			if err != nil {
				return fmt.Errorf("read %s: %w", what, err)
			}
			if !want(ev.Subject) {
				return fmt.Errorf("read %s: %w: event %d is indexed as one of them but its body names subject %q (artstore log verify checks the whole log)",
					what, eventlog.ErrTampered, ev.Seq, ev.Subject)
			}
			if err := fn(ev); err != nil {
				return err
			}
			next = r.Seq
		}
		if len(page) < pageSize {
			return nil
		}
	}
	return nil
}

// indexedPage runs query with args and reads the events rows it selects.
func indexedPage(ctx context.Context, q Tx, what, query string, args []any) ([]eventlog.StoredRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	var out []eventlog.StoredRow
	for rows.Next() {
		var r eventlog.StoredRow
		if err := rows.Scan(&r.Seq, &r.Body, &r.Prev, &r.Hash); err != nil {
			return nil, fmt.Errorf("read %s: %w", what, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return out, nil
}

// Event implements eventlog.Store: one query reads events seq-1 to seq+1,
// which are checked as Verify checks them.
func (s *Store) Event(ctx context.Context, seq int64) (eventlog.Event, error) {
	if seq < 1 {
		return eventlog.Event{}, fmt.Errorf("event %d: %w", seq, eventlog.ErrNotFound)
	}
	var rows []eventlog.StoredRow
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		rows, err = rowsFrom(ctx, tx, max(seq-1, 1), 3)
		return err
	}); err != nil {
		return eventlog.Event{}, fmt.Errorf("read event %d: %w", seq, err)
	}
	i := slices.IndexFunc(rows, func(r eventlog.StoredRow) bool { return r.Seq == seq })
	switch {
	case i < 0 && (len(rows) == 0 || rows[len(rows)-1].Seq < seq):
		return eventlog.Event{}, fmt.Errorf("event %d: %w", seq, eventlog.ErrNotFound)
	case i < 0:
		return eventlog.Event{}, &eventlog.ChainError{Seq: seq, Reason: fmt.Sprintf("event %d is missing", seq)}
	case seq > 1 && (i == 0 || rows[i-1].Seq != seq-1):
		return eventlog.Event{}, &eventlog.ChainError{Seq: seq - 1, Reason: fmt.Sprintf("event %d is missing", seq-1)}
	}
	start := max(i-1, 0)
	v := eventlog.NewVerifier(rows[start].Seq, rows[start].Prev)
	for _, r := range rows[start:] {
		if err := v.Check(r); err != nil {
			return eventlog.Event{}, err
		}
	}
	r := rows[i]
	ev, err := eventlog.DecodeStored(r.Seq, r.Body, r.Prev, r.Hash)
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("read event %d: %w", seq, err)
	}
	return ev, nil
}

// Verify implements eventlog.Store. It runs in one read transaction so the
// whole check sees one snapshot.
func (s *Store) Verify(ctx context.Context, fromSeq int64) (eventlog.VerifyReport, error) {
	if fromSeq < 1 {
		fromSeq = 1
	}
	rep := eventlog.VerifyReport{FromSeq: fromSeq}
	var chainErr *eventlog.ChainError
	err := s.read(ctx, func(tx Tx) error {
		h, err := headOf(ctx, tx)
		if err != nil {
			return err
		}
		rep.Head = h
		if fromSeq > h.Seq {
			return nil
		}
		prev := ""
		if fromSeq > 1 {
			page, err := rowsPage(ctx, tx, fromSeq-1)
			if err != nil {
				return err
			}
			if len(page) == 0 || page[0].Seq != fromSeq-1 {
				return &eventlog.ChainError{Seq: fromSeq - 1, Reason: fmt.Sprintf("event %d is missing", fromSeq-1)}
			}
			prev = page[0].Hash
		}
		v := eventlog.NewVerifier(fromSeq, prev)
		tree, err := tlog.LoadTree(fromSeq-1, nodeReader(ctx, tx))
		if err != nil {
			return err
		}
		for next := fromSeq; next <= h.Seq; {
			page, err := rowsPage(ctx, tx, next)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				return &eventlog.ChainError{Seq: next, Reason: fmt.Sprintf("events %d to %d are missing", next, h.Seq)}
			}
			for _, r := range page[:min(len(page), int(h.Seq-next+1))] {
				if err := v.Check(r); err != nil {
					return err
				}
				leaf, err := tlog.LeafHash(r.Hash)
				if err != nil {
					return &eventlog.ChainError{Seq: r.Seq, Reason: err.Error()}
				}
				tree.Append(leaf, nil)
				rep.Checked++
				next = r.Seq + 1
			}
		}
		return checkTreeRoot(ctx, tx, tree)
	})
	if errors.As(err, &chainErr) {
		err = nil
	}
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	if chainErr != nil {
		rep.FirstBad, rep.Reason = chainErr.Seq, chainErr.Reason
		return rep, chainErr
	}
	return rep, nil
}

// viewTable is a view table with its dump columns and row order.
type viewTable struct{ name, cols, order string }

// viewTables lists the view tables.
func viewTables() []viewTable {
	return []viewTable{
		{"artifacts", "seq, id, name, version, version_num, content_digest, size, manifest_digest, media_type, provenance, created_ns, created_by, updated_seq, expires_ns, immutable_ns, retrievals, retrieved_bytes, last_retrieved_ns, last_retrieved_by, deleted_seq, deleted_ns, deleted_by, delete_reason", "seq"},
		{"labels", "seq, key, value", "seq, key"},
		{"tags", "name, tag, artifact_id, moved_seq, moved_ns, moved_by", "name, tag"},
		{"lineage", "child_id, idx, child_seq, parent_id, digest, ref, role", "child_id, idx"},
		{"holds", "artifact_id, hold, reason, placed_seq, placed_ns, placed_by", "artifact_id, hold"},
		{"live_names", "name, live", "name"},
	}
}

// Rebuild implements eventlog.Store.
func (s *Store) Rebuild(ctx context.Context) (int64, error) {
	tx, err := s.d.BeginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("rebuild: begin: %w", s.d.WrapError(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	for _, t := range viewTables() {
		if err := tx.Exec(ctx, s.d.EmptyTable(t.name)); err != nil {
			return 0, fmt.Errorf("rebuild: empty %s: %w", t.name, s.d.WrapError(err))
		}
	}
	// Secondary indexes are dropped and built again after the replay:
	// one sort beats a hundred thousand scattered B-tree inserts.
	indexes, err := secondaryIndexes(ctx, tx, s.d)
	if err != nil {
		return 0, fmt.Errorf("rebuild: %w", s.d.WrapError(err))
	}
	for _, ix := range indexes {
		if err := tx.Exec(ctx, "DROP INDEX "+ix.name); err != nil {
			return 0, fmt.Errorf("rebuild: drop index %s: %w", ix.name, s.d.WrapError(err))
		}
	}
	// The log is read, decoded, checked and turned into view rows on
	// another goroutine, in its own read transaction (it sees every event:
	// this transaction holds the write lock, so none can be appended),
	// while this one runs the SQL: SQL and Go then share the replay's time.
	var n int64
	f, l := newFold(), newLedger()
	pages, stop := s.readLog(ctx, l)
	defer stop()
	for evs := range pages {
		if evs.err != nil {
			return n, fmt.Errorf("rebuild: %w", evs.err)
		}
		for i, ev := range evs.events {
			if err := apply(ctx, tx, ev, evs.payloads[i], f, evs.steps[i]); err != nil {
				return n, fmt.Errorf("rebuild: event %d (%s): %w", ev.Seq, ev.Type, s.d.WrapError(err))
			}
			n++
		}
	}
	// The log's end: the reader is done with l.
	if err := f.flush(ctx, tx, l); err != nil {
		return n, fmt.Errorf("rebuild: %w", s.d.WrapError(err))
	}
	if err := countLiveNames(ctx, tx); err != nil {
		return n, fmt.Errorf("rebuild: count live names: %w", s.d.WrapError(err))
	}
	for _, ix := range indexes {
		if err := tx.Exec(ctx, ix.def); err != nil {
			return n, fmt.Errorf("rebuild: create index %s: %w", ix.name, s.d.WrapError(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return n, fmt.Errorf("rebuild: commit: %w", s.d.WrapError(err))
	}
	return n, nil
}

// ViewDump implements eventlog.Store.
func (s *Store) ViewDump(ctx context.Context, w io.Writer) error {
	return s.read(ctx, func(tx Tx) error {
		for _, t := range viewTables() {
			if _, err := fmt.Fprintf(w, "# %s\n", t.name); err != nil {
				return err
			}
			if err := dumpTable(ctx, tx, w, t.name, t.cols, t.order); err != nil {
				return fmt.Errorf("dump %s: %w", t.name, err)
			}
		}
		return nil
	})
}

func dumpTable(ctx context.Context, tx Tx, w io.Writer, table, cols, order string) error {
	var casts []byte
	n := 0
	for i, c := range splitCols(cols) {
		if i > 0 {
			casts = append(casts, ", "...)
		}
		casts = append(casts, "CAST("+c+" AS TEXT)"...)
		n++
	}
	rows, err := tx.Query(ctx, "SELECT "+string(casts)+" FROM "+table+" ORDER BY "+order)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]string, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		b, err := json.Marshal(vals)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return rows.Err()
}

func splitCols(cols string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(cols); i++ {
		if i == len(cols) || cols[i] == ',' {
			c := cols[start:i]
			for len(c) > 0 && c[0] == ' ' {
				c = c[1:]
			}
			out = append(out, c)
			start = i + 1
		}
	}
	return out
}

// Views implementation on the store: each call is one read transaction.

// views returns the views over tx.
func (s *Store) views(tx Tx) *views {
	m, ok := s.d.(IntersectMerger)
	v := &views{q: tx, wrap: s.d.WrapError, mergeIntersect: ok && m.MergesIntersect()}
	if bo, ok := s.d.(ByteOrderer); ok {
		v.byteOrder = bo.ByteOrder
	}
	return v
}

// viewRead runs fn with views over one read transaction.
func (s *Store) viewRead(ctx context.Context, fn func(v *views) error) error {
	return s.read(ctx, func(tx Tx) error { return fn(s.views(tx)) })
}

// Artifact implements eventlog.Views.
func (s *Store) Artifact(ctx context.Context, id string) (a eventlog.Artifact, err error) {
	err = s.viewRead(ctx, func(v *views) error { a, err = v.Artifact(ctx, id); return err })
	return a, err
}

// ArtifactByVersion implements eventlog.Views.
func (s *Store) ArtifactByVersion(ctx context.Context, name, version string) (a eventlog.Artifact, err error) {
	err = s.viewRead(ctx, func(v *views) error { a, err = v.ArtifactByVersion(ctx, name, version); return err })
	return a, err
}

// ArtifactByDigest implements eventlog.Views.
func (s *Store) ArtifactByDigest(ctx context.Context, name string, d content.Digest) (a eventlog.Artifact, err error) {
	err = s.viewRead(ctx, func(v *views) error { a, err = v.ArtifactByDigest(ctx, name, d); return err })
	return a, err
}

// Tag implements eventlog.Views.
func (s *Store) Tag(ctx context.Context, name, tag string) (t eventlog.Tag, err error) {
	err = s.viewRead(ctx, func(v *views) error { t, err = v.Tag(ctx, name, tag); return err })
	return t, err
}

// Tags implements eventlog.Views.
func (s *Store) Tags(ctx context.Context, name string) (t []eventlog.Tag, err error) {
	err = s.viewRead(ctx, func(v *views) error { t, err = v.Tags(ctx, name); return err })
	return t, err
}

// MaxVersionNumber implements eventlog.Views.
func (s *Store) MaxVersionNumber(ctx context.Context, name string) (n int64, err error) {
	err = s.viewRead(ctx, func(v *views) error { n, err = v.MaxVersionNumber(ctx, name); return err })
	return n, err
}

// Query implements eventlog.Views.
// A driver that is a QueryLimiter bounds the query's database time; a
// query cut off by that bound is ErrInvalidQuery.
func (s *Store) Query(ctx context.Context, q eventlog.Query) (p eventlog.Page, err error) {
	lim, limited := s.d.(QueryLimiter)
	err = s.viewRead(ctx, func(v *views) error {
		if limited {
			if err := lim.LimitQuery(ctx, v.q); err != nil {
				return fmt.Errorf("bound the query: %w", err)
			}
		}
		p, err = v.Query(ctx, q)
		return err
	})
	if err != nil && limited && lim.QueryTimedOut(err) {
		return p, fmt.Errorf("%w: the listing took longer than the database allows a query; narrow it with a name pattern, fewer label selectors or a time range (%w)", eventlog.ErrInvalidQuery, err)
	}
	return p, err
}

// Edges implements eventlog.Views.
func (s *Store) Edges(ctx context.Context, id string, dir eventlog.Direction) (e []eventlog.Edge, err error) {
	err = s.viewRead(ctx, func(v *views) error { e, err = v.Edges(ctx, id, dir); return err })
	return e, err
}

type index struct{ name, def string }

// secondaryIndexes lists the view tables' indexes that Driver.Indexes
// reports as droppable, with their definitions.
func secondaryIndexes(ctx context.Context, tx Tx, d Driver) ([]index, error) {
	var names []any
	for _, t := range viewTables() {
		names = append(names, t.name)
	}
	q := d.IndexesQuery(len(names))
	rows, err := tx.Query(ctx, q, names...)
	if err != nil {
		return nil, fmt.Errorf("list view indexes: %w", err)
	}
	defer rows.Close()
	var out []index
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.def); err != nil {
			return nil, fmt.Errorf("list view indexes: %w", err)
		}
		out = append(out, ix)
	}
	return out, rows.Err()
}

type decodedPage struct {
	events   []eventlog.Event
	payloads []eventlog.Payload
	steps    []step
	err      error
}

// readLog reads the log from its start in a read transaction on a new
// goroutine, and sends it decoded, page by page, with each event's step
// from l. It stops after a failure, sent as the last page, or a failing
// step. The caller may use l once pages is closed, having received no
// failure. stop ends the goroutine and waits for it (its transaction is
// then closed).
func (s *Store) readLog(ctx context.Context, l *ledger) (pages <-chan decodedPage, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	c := make(chan decodedPage, 2)
	done := make(chan struct{})
	send := func(d decodedPage) bool {
		select {
		case c <- d:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(done)
		defer close(c)
		err := s.read(ctx, func(tx Tx) error {
			for next := int64(1); ; {
				page, err := bodyPage(ctx, tx, next)
				if err != nil || len(page) == 0 {
					return err
				}
				d := s.decodePage(page, l)
				if !send(d) {
					return ctx.Err()
				}
				if d.err != nil || slices.ContainsFunc(d.steps, func(st step) bool { return st.err != nil }) {
					return nil
				}
				next = page[len(page)-1].Seq + 1
			}
		})
		if err != nil {
			send(decodedPage{err: err})
		}
	}()
	return c, func() { cancel(); <-done }
}

// decodePage decodes rows and folds them into l, until a step fails.
func (s *Store) decodePage(rows []eventlog.StoredRow, l *ledger) decodedPage {
	d := decodedPage{
		events:   make([]eventlog.Event, 0, len(rows)),
		payloads: make([]eventlog.Payload, 0, len(rows)),
		steps:    make([]step, 0, len(rows)),
	}
	for _, r := range rows {
		ev, err := eventlog.DecodeStored(r.Seq, r.Body, r.Prev, r.Hash)
		if err != nil {
			return decodedPage{err: err}
		}
		p, err := s.types.Decode(ev.Type, ev.Payload)
		if err != nil {
			return decodedPage{err: fmt.Errorf("event %d: %w", ev.Seq, err)}
		}
		st := l.check(ev, p)
		d.events, d.payloads, d.steps = append(d.events, ev), append(d.payloads, p), append(d.steps, st)
		if st.err != nil {
			break // the rebuild stops there
		}
	}
	return d
}
