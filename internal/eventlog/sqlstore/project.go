package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// apply projects one event onto the view tables. It is strict: an event that
// does not fit the views (unknown artifact, tag of another name, missing
// hold) fails with eventlog.ErrProjection, so a live store and a rebuilt one
// can never silently diverge.
//
// During Rebuild, f is non-nil and st is the event's step, computed by a
// ledger in order before: its checks' outcome and the rows of a new
// artifact. The ledger keeps tags and retrieval statistics, rows that a log
// rewrites over and over ("latest" moves on every push), to write them once
// at the end: rewriting one row thousands of times in one transaction is
// quadratic in PostgreSQL (every version stays visible to the unique-index
// checks until commit).
func apply(ctx context.Context, tx Tx, ev eventlog.Event, p eventlog.Payload, f *fold, st step) error {
	seq, ns, by := ev.Seq, ev.Time.UnixNano(), ev.Actor
	if f != nil {
		if st.err != nil {
			if st.flushFirst {
				return f.fail(ctx, tx, st.err)
			}
			return st.err
		}
		if err := f.prepare(ctx, tx, p); err != nil {
			return err
		}
	}
	switch p := p.(type) {
	case *eventlog.ArtifactRegistered:
		return applyRegistered(ctx, tx, ev, p, f, st)

	case *eventlog.TagMoved:
		if f != nil {
			return nil // in the ledger
		}
		return tx.ExecOne(ctx, fmt.Sprintf("artifact %s of %s does not exist or is deleted", p.ArtifactID, p.Name),
			`INSERT INTO tags (name, tag, artifact_id, moved_seq, moved_ns, moved_by)
			 SELECT $1, $2, id, CAST($4 AS BIGINT), CAST($5 AS BIGINT), $6 FROM artifacts WHERE id = $3 AND name = $1 AND deleted_seq = 0
			 ON CONFLICT (name, tag) DO UPDATE SET artifact_id = excluded.artifact_id, moved_seq = excluded.moved_seq, moved_ns = excluded.moved_ns, moved_by = excluded.moved_by`,
			p.Name, p.Tag, p.ArtifactID, seq, ns, by)

	case *eventlog.TagRemoved:
		if f != nil {
			return nil // in the ledger
		}
		return tx.ExecOne(ctx, fmt.Sprintf("tag %s:%s does not exist", p.Name, p.Tag),
			`DELETE FROM tags WHERE name = $1 AND tag = $2`, p.Name, p.Tag)

	case *eventlog.LabelsChanged:
		if err := touchLive(ctx, tx, p.ArtifactID, seq); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(p.Set)) {
			if err := tx.Exec(ctx, `INSERT INTO labels (seq, key, value) SELECT seq, $2, $3 FROM artifacts WHERE id = $1
				ON CONFLICT (seq, key) DO UPDATE SET value = excluded.value`, p.ArtifactID, k, p.Set[k]); err != nil {
				return err
			}
		}
		for _, k := range p.Remove {
			if err := tx.ExecOne(ctx, fmt.Sprintf("label %q of artifact %s is not set", k, p.ArtifactID),
				`DELETE FROM labels WHERE key = $2 AND seq = (SELECT seq FROM artifacts WHERE id = $1)`, p.ArtifactID, k); err != nil {
				return err
			}
		}
		return nil

	case *eventlog.RetentionSet:
		return tx.ExecOne(ctx, liveMsg(p.ArtifactID),
			`UPDATE artifacts SET expires_ns = $2, immutable_ns = $3, updated_seq = $4 WHERE id = $1 AND deleted_seq = 0`,
			p.ArtifactID, unixNano(p.ExpiresAt), unixNano(p.ImmutableUntil), seq)

	case *eventlog.HoldPlaced:
		if err := touchLive(ctx, tx, p.ArtifactID, seq); err != nil {
			return err
		}
		return tx.Exec(ctx, `INSERT INTO holds (artifact_id, hold, reason, placed_seq, placed_ns, placed_by) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ArtifactID, p.Hold, p.Reason, seq, ns, by)

	case *eventlog.HoldReleased:
		if err := tx.ExecOne(ctx, fmt.Sprintf("hold %q is not placed on artifact %s", p.Hold, p.ArtifactID),
			`DELETE FROM holds WHERE artifact_id = $1 AND hold = $2`, p.ArtifactID, p.Hold); err != nil {
			return err
		}
		return tx.ExecOne(ctx, liveMsg(p.ArtifactID), `UPDATE artifacts SET updated_seq = $2 WHERE id = $1`, p.ArtifactID, seq)

	case *eventlog.ArtifactDeleted:
		if err := tx.ExecOne(ctx, liveMsg(p.ArtifactID),
			`UPDATE artifacts SET deleted_seq = $2, deleted_ns = $3, deleted_by = $4, delete_reason = $5, updated_seq = $2 WHERE id = $1 AND deleted_seq = 0`,
			p.ArtifactID, seq, ns, by, p.Reason); err != nil {
			return err
		}
		if f != nil {
			return nil // the ledger drops its tags; Rebuild counts live names at the end
		}
		if err := st.live.flush(ctx, tx); err != nil {
			return err
		}
		if err := unliveName(ctx, tx, p.ArtifactID); err != nil {
			return err
		}
		return tx.Exec(ctx, `DELETE FROM tags WHERE artifact_id = $1`, p.ArtifactID)

	case *eventlog.ArtifactRetrieved:
		if f != nil {
			return nil // in the ledger
		}
		// The byte sum saturates at MaxInt64 (see addBytes), in SQL so
		// that neither database overflows: PostgreSQL would fail the
		// append, SQLite would turn the column into a REAL.
		return tx.ExecOne(ctx, fmt.Sprintf("artifact %s does not exist", p.ArtifactID),
			`UPDATE artifacts SET retrievals = retrievals + 1,
				retrieved_bytes = CASE WHEN $2 > 9223372036854775807 - retrieved_bytes THEN 9223372036854775807 ELSE retrieved_bytes + $2 END,
				last_retrieved_ns = $3, last_retrieved_by = $4 WHERE id = $1`,
			p.ArtifactID, retrievedBytes(p.Bytes), ns, by)

	case *eventlog.BlobsCollected, *eventlog.ArtifactRepaired, *eventlog.ArtifactImported:
		return nil // an audit record only (the registry checked the artifact before the append)

	case *eventlog.TokenCreated, *eventlog.TokenRevoked:
		return nil // the daemon folds token events into its own table

	case *eventlog.OCIBlobLinked, *eventlog.OCIBlobUnlinked:
		return nil // the daemon folds OCI blob events into its own index

	case *eventlog.RetentionRuleAdded, *eventlog.RetentionRuleRemoved:
		return nil // the registry folds rules from the log

	default:
		return fmt.Errorf("%w: no projection for payload %T of type %s", eventlog.ErrUnknownType, p, ev.Type)
	}
}

func applyRegistered(ctx context.Context, tx Tx, ev eventlog.Event, p *eventlog.ArtifactRegistered, f *fold, st step) error {
	if f != nil {
		rows := st.rows
		f.pending[p.ID] = true
		f.artifacts.add(rows.artifact...)
		f.labels.add(rows.labels...)
		f.lineage.add(rows.lineage...)
		return f.flushFull(ctx, tx)
	}
	prov, err := json.Marshal(p.Provenance)
	if err != nil {
		return fmt.Errorf("encode provenance: %w", err)
	}
	if err := tx.Exec(ctx, `INSERT INTO artifacts (seq, id, name, version, version_num, content_digest, size, manifest_digest, media_type, provenance, created_ns, created_by, updated_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $1)`,
		ev.Seq, p.ID, p.Name, p.Version, VersionNumber(p.Version), p.ContentDigest.String(), p.Size, p.ManifestDigest.String(),
		p.MediaType, string(prov), ev.Time.UnixNano(), ev.Actor); err != nil {
		return err
	}
	if len(p.Labels) > 0 {
		// One multi-row statement: far cheaper than one per label.
		q := "INSERT INTO labels (seq, key, value) VALUES "
		args := []any{ev.Seq}
		for i, k := range slices.Sorted(maps.Keys(p.Labels)) {
			if i > 0 {
				q += ", "
			}
			q += fmt.Sprintf("($1, $%d, $%d)", len(args)+1, len(args)+2)
			args = append(args, k, p.Labels[k])
		}
		if err := tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	for i, in := range p.Provenance.Inputs {
		if in.ArtifactID == "" {
			if err := tx.Exec(ctx, `INSERT INTO lineage (child_id, idx, child_seq, parent_id, digest, ref, role) VALUES ($1, $2, $3, '', $4, $5, $6)`,
				p.ID, int64(i), ev.Seq, in.Digest.String(), in.Ref, in.Role); err != nil {
				return err
			}
			continue
		}
		if err := tx.ExecOne(ctx, fmt.Sprintf("input %d: artifact %s does not exist", i, in.ArtifactID),
			`INSERT INTO lineage (child_id, idx, child_seq, parent_id, digest, ref, role)
			 SELECT $1, CAST($2 AS BIGINT), CAST($3 AS BIGINT), id, $5, $6, $7 FROM artifacts WHERE id = $4 AND id <> $1`,
			p.ID, int64(i), ev.Seq, in.ArtifactID, in.Digest.String(), in.Ref, in.Role); err != nil {
			return err
		}
	}
	st.live[p.Name]++
	for _, tag := range p.Tags {
		if err := tx.Exec(ctx, `INSERT INTO tags (name, tag, artifact_id, moved_seq, moved_ns, moved_by) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (name, tag) DO UPDATE SET artifact_id = excluded.artifact_id, moved_seq = excluded.moved_seq, moved_ns = excluded.moved_ns, moved_by = excluded.moved_by`,
			p.Name, tag, p.ID, ev.Seq, ev.Time.UnixNano(), ev.Actor); err != nil {
			return err
		}
	}
	return nil
}

// liveCounts buffers the registrations of an append by name, until flush
// adds them to live_names: an append of many versions of a few names then
// updates each name's row once (in PostgreSQL every update of a row writes
// a new version of it, and one per registration wrote more than an index
// entry per artifact did).
type liveCounts map[string]int64

// liveChunk is the number of names one INSERT adds.
const liveChunk = 128

// flush adds the buffered counts to live_names. It runs before anything
// else changes live_names and before the append commits.
func (c liveCounts) flush(ctx context.Context, tx Tx) error {
	names := slices.Sorted(maps.Keys(c))
	for len(names) > 0 {
		n := min(len(names), liveChunk)
		args := make([]any, 0, 2*n)
		for _, name := range names[:n] {
			args = append(args, name, c[name])
		}
		if err := tx.Exec(ctx, `INSERT INTO live_names (name, live) VALUES `+valuesList(n, 2)+
			` ON CONFLICT (name) DO UPDATE SET live = live_names.live + excluded.live`, args...); err != nil {
			return fmt.Errorf("count live names: %w", err)
		}
		names = names[n:]
	}
	clear(c)
	return nil
}

// unliveName takes the deleted artifact id's name's live count down by one,
// dropping the name from live_names at zero.
func unliveName(ctx context.Context, tx Tx, id string) error {
	if err := tx.Exec(ctx, `DELETE FROM live_names WHERE name = (SELECT name FROM artifacts WHERE id = $1) AND live <= 1`, id); err != nil {
		return err
	}
	return tx.Exec(ctx, `UPDATE live_names SET live = live - 1 WHERE name = (SELECT name FROM artifacts WHERE id = $1)`, id)
}

// countLiveNames fills live_names from the artifacts table, as Rebuild's
// last step (its replay leaves the table empty).
func countLiveNames(ctx context.Context, tx Tx) error {
	return tx.Exec(ctx, `INSERT INTO live_names (name, live) SELECT name, COUNT(*) FROM artifacts WHERE deleted_seq = 0 GROUP BY name`)
}

// registeredRows are the artifact, label and lineage rows (column values
// in rowBuffer order) that Rebuild inserts for an artifact.registered
// event. Rebuild computes them on the goroutine that decodes the log, so
// that the one applying events only appends them to its buffers.
type registeredRows struct {
	artifact, labels, lineage []any
}

// rowsOfRegistered returns the rows the live projection of p would insert
// (lineage rows as if every input artifact exists: Rebuild checks that
// separately, in order).
func rowsOfRegistered(ev eventlog.Event, p *eventlog.ArtifactRegistered) (registeredRows, error) {
	prov, err := json.Marshal(p.Provenance)
	if err != nil {
		return registeredRows{}, fmt.Errorf("encode provenance: %w", err)
	}
	ns := ev.Time.UnixNano()
	r := registeredRows{
		artifact: []any{ev.Seq, p.ID, p.Name, p.Version, VersionNumber(p.Version), p.ContentDigest.String(), p.Size,
			p.ManifestDigest.String(), p.MediaType, string(prov), ns, ev.Actor, ev.Seq},
	}
	if len(p.Labels) > 0 {
		r.labels = make([]any, 0, 3*len(p.Labels))
		for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
			r.labels = append(r.labels, ev.Seq, k, p.Labels[k])
		}
	}
	if len(p.Provenance.Inputs) > 0 {
		r.lineage = make([]any, 0, 7*len(p.Provenance.Inputs))
		for i, in := range p.Provenance.Inputs {
			// The live projection copies the parent's id from its row:
			// the same string as the input's.
			r.lineage = append(r.lineage, p.ID, int64(i), ev.Seq, in.ArtifactID, in.Digest.String(), in.Ref, in.Role)
		}
	}
	return r, nil
}

// touchLive records seq as the artifact's last change, failing when it does
// not exist or is deleted.
func touchLive(ctx context.Context, tx Tx, id string, seq int64) error {
	return tx.ExecOne(ctx, liveMsg(id), `UPDATE artifacts SET updated_seq = $2 WHERE id = $1 AND deleted_seq = 0`, id, seq)
}

func liveMsg(id string) string { return fmt.Sprintf("artifact %s does not exist or is deleted", id) }

// VersionNumber returns the value of a purely numeric version without
// leading zeros ("7" -> 7), and 0 for any other version. Automatic version
// numbers continue after the largest such value.
func VersionNumber(v string) int64 {
	if v == "" || v[0] == '0' || len(v) > 18 {
		return 0
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0
		}
	}
	n, _ := strconv.ParseInt(v, 10, 64) // at most 18 digits: cannot fail
	return n
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fold is the state of a Rebuild on the goroutine that writes the views:
// buffers of new artifact, label and lineage rows (inserted many rows per
// statement) and the artifacts whose rows they hold.
type fold struct {
	pending map[string]bool // artifacts whose rows are still buffered

	artifacts, labels, lineage *rowBuffer
}

// ledger is the state of a Rebuild kept in memory, on the goroutine that
// reads the log: tags and retrieval statistics (written once at the end),
// and the existence, name and liveness of every artifact seen so far (so
// the projector's checks need no query). It assumes that the SQL of every
// event before the one it checks succeeds: Rebuild stops at the first that
// fails.
type ledger struct {
	tags       map[tagKey]tagRow
	byArtifact map[string][]tagKey // the tags on each artifact
	stats      map[string]*retrievalRow

	arts  map[string]artState
	names map[string]string // interned artifact names
}

// step is the part of an event's projection that a ledger computed.
type step struct {
	rows *registeredRows // of an artifact.registered event
	// err is the event's failure; with flushFirst, the rows buffered
	// for earlier events are written first, and their failure reported
	// instead, as it comes first in the log.
	err        error
	flushFirst bool
	// live buffers the live_names additions of an append (nil in Rebuild,
	// which counts the table at its end).
	live liveCounts
}

func newLedger() *ledger {
	return &ledger{
		tags: map[tagKey]tagRow{}, byArtifact: map[string][]tagKey{}, stats: map[string]*retrievalRow{},
		arts: map[string]artState{}, names: map[string]string{},
	}
}

// check folds ev into the ledger, checking it as the live projector would.
func (l *ledger) check(ev eventlog.Event, p eventlog.Payload) step {
	seq, ns, by := ev.Seq, ev.Time.UnixNano(), ev.Actor
	switch p := p.(type) {
	case *eventlog.ArtifactRegistered:
		for i, in := range p.Provenance.Inputs {
			if in.ArtifactID == "" {
				continue
			}
			if _, ok := l.arts[in.ArtifactID]; !ok || in.ArtifactID == p.ID {
				return step{err: fmt.Errorf("%w: input %d: artifact %s does not exist", eventlog.ErrProjection, i, in.ArtifactID), flushFirst: true}
			}
		}
		rows, err := rowsOfRegistered(ev, p)
		if err != nil {
			return step{err: err}
		}
		l.arts[p.ID] = artState{name: l.intern(p.Name)}
		for _, tag := range p.Tags {
			l.moveTag(p.Name, tag, tagRow{p.ID, seq, ns, by})
		}
		return step{rows: &rows}

	case *eventlog.TagMoved:
		if a, ok := l.arts[p.ArtifactID]; !ok || a.deleted || a.name != p.Name {
			return step{err: fmt.Errorf("%w: artifact %s of %s does not exist or is deleted", eventlog.ErrProjection, p.ArtifactID, p.Name), flushFirst: true}
		}
		l.moveTag(p.Name, p.Tag, tagRow{p.ArtifactID, seq, ns, by})

	case *eventlog.TagRemoved:
		if err := l.removeTag(p.Name, p.Tag); err != nil {
			return step{err: err}
		}

	case *eventlog.ArtifactDeleted:
		// The projector's UPDATE checks that it exists and is live.
		l.arts[p.ArtifactID] = artState{name: l.arts[p.ArtifactID].name, deleted: true}
		l.untagArtifact(p.ArtifactID)

	case *eventlog.ArtifactRetrieved:
		if _, ok := l.arts[p.ArtifactID]; !ok {
			return step{err: fmt.Errorf("%w: artifact %s does not exist", eventlog.ErrProjection, p.ArtifactID), flushFirst: true}
		}
		l.retrieved(p.ArtifactID, p.Bytes, ns, by)
	}
	return step{}
}

// artState is what the projector's checks need to know of an artifact.
type artState struct {
	name    string
	deleted bool
}

func (l *ledger) intern(name string) string {
	if n, ok := l.names[name]; ok {
		return n
	}
	l.names[name] = name
	return name
}

// prepare flushes the buffered rows when p's projection runs SQL that reads
// or changes a row still in the buffers (the rows of an artifact registered
// since the last flush).
func (f *fold) prepare(ctx context.Context, tx Tx, p eventlog.Payload) error {
	var id string
	switch p := p.(type) {
	case *eventlog.ArtifactRegistered, *eventlog.TagMoved, *eventlog.TagRemoved, *eventlog.ArtifactRetrieved,
		*eventlog.BlobsCollected, *eventlog.ArtifactRepaired, *eventlog.ArtifactImported, *eventlog.TokenCreated, *eventlog.TokenRevoked,
		*eventlog.OCIBlobLinked, *eventlog.OCIBlobUnlinked,
		*eventlog.RetentionRuleAdded, *eventlog.RetentionRuleRemoved:
		return nil // in memory, or no view change
	case *eventlog.LabelsChanged:
		id = p.ArtifactID
	case *eventlog.RetentionSet:
		id = p.ArtifactID
	case *eventlog.HoldPlaced:
		id = p.ArtifactID
	case *eventlog.HoldReleased:
		id = p.ArtifactID
	case *eventlog.ArtifactDeleted:
		id = p.ArtifactID
	default:
		return f.flushRows(ctx, tx)
	}
	if f.pending[id] {
		return f.flushRows(ctx, tx)
	}
	return nil
}

// fail returns err, the failure of the event being applied, unless
// writing the buffered rows of earlier events fails: then that failure,
// which comes first in the log, is returned.
func (f *fold) fail(ctx context.Context, tx Tx, err error) error {
	if ferr := f.flushRows(ctx, tx); ferr != nil {
		return ferr
	}
	// A Tx may defer statements until its next query (PostgreSQL queues
	// them): run one, so that their failure shows now.
	rows, qerr := tx.Query(ctx, `SELECT 1`)
	if qerr != nil {
		return qerr
	}
	if cerr := rows.Close(); cerr != nil {
		return cerr
	}
	return err
}

// flushFull flushes the row buffers when one is full.
func (f *fold) flushFull(ctx context.Context, tx Tx) error {
	for _, b := range []*rowBuffer{f.artifacts, f.labels, f.lineage} {
		if b.full() {
			return f.flushRows(ctx, tx)
		}
	}
	return nil
}

// flushRows inserts the buffered rows (artifacts first: the others refer to
// them).
func (f *fold) flushRows(ctx context.Context, tx Tx) error {
	for _, b := range []*rowBuffer{f.artifacts, f.labels, f.lineage} {
		if err := b.flush(ctx, tx); err != nil {
			return err
		}
	}
	clear(f.pending)
	return nil
}

// rowBuffer collects rows for one multi-row INSERT.
type rowBuffer struct {
	table string
	cols  int
	vals  []any
	stmts map[int]string // INSERT statements by number of rows
}

// maxBufferedParams keeps statements well under SQLite's and PostgreSQL's
// parameter limits.
const maxBufferedParams = 2000

func (b *rowBuffer) add(vals ...any) { b.vals = append(b.vals, vals...) }
func (b *rowBuffer) full() bool      { return len(b.vals)+b.cols > maxBufferedParams }

func (b *rowBuffer) flush(ctx context.Context, tx Tx) error {
	if len(b.vals) == 0 {
		return nil
	}
	n := len(b.vals) / b.cols
	q, ok := b.stmts[n]
	if !ok {
		q = "INSERT INTO " + b.table + " VALUES " + valuesList(n, b.cols)
		if b.stmts == nil {
			b.stmts = map[int]string{}
		}
		b.stmts[n] = q
	}
	// A fresh slice for the next rows: the Tx may keep these arguments
	// until it sends them (PostgreSQL queues statements).
	vals := b.vals
	b.vals = make([]any, 0, maxBufferedParams)
	err := tx.Exec(ctx, q, vals...)
	if err != nil {
		return fmt.Errorf("insert %s rows: %w", b.table, err)
	}
	return nil
}

type tagKey struct{ name, tag string }

type tagRow struct {
	artifactID string
	seq, ns    int64
	by         string
}

type retrievalRow struct {
	count, bytes, lastNS int64
	lastBy               string
}

func newFold() *fold {
	return &fold{
		pending: map[string]bool{},
		artifacts: &rowBuffer{table: `artifacts (seq, id, name, version, version_num, content_digest, size, manifest_digest,
			media_type, provenance, created_ns, created_by, updated_seq)`, cols: 13},
		labels:  &rowBuffer{table: "labels (seq, key, value)", cols: 3},
		lineage: &rowBuffer{table: "lineage (child_id, idx, child_seq, parent_id, digest, ref, role)", cols: 7},
	}
}

func (l *ledger) moveTag(name, tag string, r tagRow) {
	k := tagKey{name, tag}
	if old, ok := l.tags[k]; ok {
		l.untag(old.artifactID, k)
	}
	l.tags[k] = r
	l.byArtifact[r.artifactID] = append(l.byArtifact[r.artifactID], k)
}

// untag removes k from the tags of artifact id.
func (l *ledger) untag(id string, k tagKey) {
	ks := slices.DeleteFunc(l.byArtifact[id], func(x tagKey) bool { return x == k })
	if len(ks) == 0 {
		delete(l.byArtifact, id)
		return
	}
	l.byArtifact[id] = ks
}

func (l *ledger) removeTag(name, tag string) error {
	k := tagKey{name, tag}
	old, ok := l.tags[k]
	if !ok {
		return fmt.Errorf("%w: tag %s:%s does not exist", eventlog.ErrProjection, name, tag)
	}
	l.untag(old.artifactID, k)
	delete(l.tags, k)
	return nil
}

func (l *ledger) untagArtifact(id string) {
	for _, k := range l.byArtifact[id] {
		delete(l.tags, k)
	}
	delete(l.byArtifact, id)
}

// retrievedBytes is the byte count a retrieval event adds to its
// artifact's sum: a negative count (which no version of artstore writes)
// adds nothing.
func retrievedBytes(n int64) int64 { return max(n, 0) }

// addBytes adds two non-negative byte counts, saturating at MaxInt64: a
// retrieval sum is a statistic, and an event with an absurd count (a log
// written before the daemon computed the counts itself) must still replay
// and read back. Saturation gives the same sum whatever the order of
// additions, so the live projection and a rebuild agree.
func addBytes(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

func (l *ledger) retrieved(id string, n, ns int64, by string) {
	st := l.stats[id]
	if st == nil {
		st = &retrievalRow{}
		l.stats[id] = st
	}
	st.count++
	st.bytes = addBytes(st.bytes, retrievedBytes(n))
	st.lastNS, st.lastBy = ns, by
}

// flush writes the buffered rows, then the tags and retrieval statistics
// of l, in a fixed order.
func (f *fold) flush(ctx context.Context, tx Tx, l *ledger) error {
	if err := f.flushRows(ctx, tx); err != nil {
		return err
	}
	keys := slices.SortedFunc(maps.Keys(l.tags), func(a, b tagKey) int {
		if a.name != b.name {
			return strings.Compare(a.name, b.name)
		}
		return strings.Compare(a.tag, b.tag)
	})
	for _, k := range keys {
		r := l.tags[k]
		if err := tx.Exec(ctx, `INSERT INTO tags (name, tag, artifact_id, moved_seq, moved_ns, moved_by) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.name, k.tag, r.artifactID, r.seq, r.ns, r.by); err != nil {
			return fmt.Errorf("write tag %s:%s: %w", k.name, k.tag, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(l.stats)) {
		st := l.stats[id]
		if err := tx.ExecOne(ctx, fmt.Sprintf("retrieved artifact %s does not exist", id),
			`UPDATE artifacts SET retrievals = $2, retrieved_bytes = $3, last_retrieved_ns = $4, last_retrieved_by = $5 WHERE id = $1`,
			id, st.count, st.bytes, st.lastNS, st.lastBy); err != nil {
			return err
		}
	}
	return nil
}
