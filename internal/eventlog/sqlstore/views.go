package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
)

// defaultLimit is a Query's page size when it sets none; maxLimit caps it.
const (
	defaultLimit = 100
	maxLimit     = 10000
)

// views implements eventlog.Views over one transaction.
type views struct {
	q    Tx
	wrap func(error) error
	// mergeIntersect: see IntersectMerger.
	mergeIntersect bool
	// byteOrder: see ByteOrderer; nil when columns compare in byte order.
	byteOrder func(column string) string
}

var _ eventlog.Views = (*views)(nil)

const artifactCols = `a.seq, a.id, a.name, a.version, a.content_digest, a.size, a.manifest_digest, a.media_type, a.provenance,
	a.created_ns, a.created_by, a.updated_seq, a.expires_ns, a.immutable_ns, a.retrievals, a.retrieved_bytes,
	a.last_retrieved_ns, a.last_retrieved_by, a.deleted_seq, a.deleted_ns, a.deleted_by, a.delete_reason`

func scanArtifact(rows Rows) (eventlog.Artifact, error) {
	var (
		a                                   eventlog.Artifact
		cd, md, prov, lastBy, delBy, delWhy string
		created, expires, immutable, lastNS int64
		delSeq, delNS                       int64
	)
	if err := rows.Scan(&a.Seq, &a.ID, &a.Name, &a.Version, &cd, &a.Size, &md, &a.MediaType, &prov,
		&created, &a.Creator, &a.UpdatedSeq, &expires, &immutable, &a.Retrievals.Count, &a.Retrievals.Bytes,
		&lastNS, &lastBy, &delSeq, &delNS, &delBy, &delWhy); err != nil {
		return a, err
	}
	var err error
	if a.ContentDigest, err = content.ParseDigest(cd); err != nil {
		return a, fmt.Errorf("artifact %s: %w", a.ID, err)
	}
	if a.ManifestDigest, err = content.ParseDigest(md); err != nil {
		return a, fmt.Errorf("artifact %s: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(prov), &a.Provenance); err != nil {
		return a, fmt.Errorf("artifact %s: provenance: %w", a.ID, err)
	}
	a.Created = fromNS(created)
	a.Retention = eventlog.Retention{ExpiresAt: fromNS(expires), ImmutableUntil: fromNS(immutable)}
	a.Retrievals.Last, a.Retrievals.LastBy = fromNS(lastNS), lastBy
	if delSeq != 0 {
		a.Deleted = &eventlog.Deletion{Seq: delSeq, Time: fromNS(delNS), By: delBy, Reason: delWhy}
	}
	a.Labels = map[string]string{}
	a.Tags = []string{}
	a.Holds = []eventlog.Hold{}
	return a, nil
}

func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// queryArtifacts runs a query selecting artifactCols and fills in labels,
// tags and holds.
func (v *views) queryArtifacts(ctx context.Context, query string, args ...any) ([]eventlog.Artifact, error) {
	rows, err := v.q.Query(ctx, query, args...)
	if err != nil {
		return nil, v.wrap(err)
	}
	var out []eventlog.Artifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, v.wrap(err)
	}
	rows.Close()
	if len(out) > 0 {
		if err := v.fill(ctx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fill loads labels, tags and holds of as with one query each.
func (v *views) fill(ctx context.Context, as []eventlog.Artifact) error {
	bySeq := make(map[int64]*eventlog.Artifact, len(as))
	byID := make(map[string]*eventlog.Artifact, len(as))
	seqs := make([]any, len(as))
	ids := make([]any, len(as))
	for i := range as {
		bySeq[as[i].Seq], byID[as[i].ID] = &as[i], &as[i]
		seqs[i], ids[i] = as[i].Seq, as[i].ID
	}
	in := Placeholders(1, len(as))
	err := v.each(ctx, func(r Rows) error {
		var seq int64
		var k, val string
		if err := r.Scan(&seq, &k, &val); err != nil {
			return err
		}
		bySeq[seq].Labels[k] = val
		return nil
	}, `SELECT seq, key, value FROM labels WHERE seq IN (`+in+`)`, seqs...)
	if err != nil {
		return fmt.Errorf("read labels: %w", err)
	}
	err = v.each(ctx, func(r Rows) error {
		var id, tag string
		if err := r.Scan(&id, &tag); err != nil {
			return err
		}
		a := byID[id]
		a.Tags = append(a.Tags, tag)
		return nil
	}, `SELECT artifact_id, tag FROM tags WHERE artifact_id IN (`+in+`) ORDER BY artifact_id, tag`, ids...)
	if err != nil {
		return fmt.Errorf("read tags: %w", err)
	}
	err = v.each(ctx, func(r Rows) error {
		var id string
		var h eventlog.Hold
		var ns int64
		if err := r.Scan(&id, &h.Name, &h.Reason, &ns, &h.By); err != nil {
			return err
		}
		h.Placed = fromNS(ns)
		a := byID[id]
		a.Holds = append(a.Holds, h)
		return nil
	}, `SELECT artifact_id, hold, reason, placed_ns, placed_by FROM holds WHERE artifact_id IN (`+in+`) ORDER BY artifact_id, hold`, ids...)
	if err != nil {
		return fmt.Errorf("read holds: %w", err)
	}
	return nil
}

// each runs a query and calls fn for every row.
func (v *views) each(ctx context.Context, fn func(Rows) error, query string, args ...any) error {
	rows, err := v.q.Query(ctx, query, args...)
	if err != nil {
		return v.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return v.wrap(rows.Err())
}

// Placeholders returns "$from, ..., $(from+n-1)".
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// valuesList returns the VALUES list of an INSERT of rows rows of cols
// parameters each, numbered from $1: "($1, $2), ($3, $4)" for two rows of
// two.
func valuesList(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + Placeholders(r*cols+1, cols) + ")")
	}
	return b.String()
}

func (v *views) one(ctx context.Context, what string, query string, args ...any) (eventlog.Artifact, error) {
	as, err := v.queryArtifacts(ctx, query, args...)
	if err != nil {
		return eventlog.Artifact{}, fmt.Errorf("read %s: %w", what, err)
	}
	if len(as) == 0 {
		return eventlog.Artifact{}, fmt.Errorf("%s: %w", what, eventlog.ErrNotFound)
	}
	return as[0], nil
}

// Artifact implements eventlog.Views.
func (v *views) Artifact(ctx context.Context, id string) (eventlog.Artifact, error) {
	return v.one(ctx, "artifact "+id, `SELECT `+artifactCols+` FROM artifacts a WHERE a.id = $1`, id)
}

// ArtifactByVersion implements eventlog.Views.
func (v *views) ArtifactByVersion(ctx context.Context, name, version string) (eventlog.Artifact, error) {
	return v.one(ctx, "artifact "+name+":"+version, `SELECT `+artifactCols+` FROM artifacts a WHERE a.name = $1 AND a.version = $2`, name, version)
}

// ArtifactByDigest implements eventlog.Views.
func (v *views) ArtifactByDigest(ctx context.Context, name string, d content.Digest) (eventlog.Artifact, error) {
	return v.one(ctx, "artifact "+name+"@"+d.String(), `SELECT `+artifactCols+` FROM artifacts a
		WHERE a.name = $1 AND a.content_digest = $2 AND a.deleted_seq = 0 ORDER BY a.seq DESC LIMIT 1`, name, d.String())
}

func (v *views) tags(ctx context.Context, query string, args ...any) ([]eventlog.Tag, error) {
	out := []eventlog.Tag{}
	err := v.each(ctx, func(r Rows) error {
		var t eventlog.Tag
		var ns int64
		if err := r.Scan(&t.Name, &t.Tag, &t.ArtifactID, &t.MovedSeq, &ns, &t.By); err != nil {
			return err
		}
		t.Moved = fromNS(ns)
		out = append(out, t)
		return nil
	}, query, args...)
	return out, err
}

// Tag implements eventlog.Views.
func (v *views) Tag(ctx context.Context, name, tag string) (eventlog.Tag, error) {
	ts, err := v.tags(ctx, `SELECT name, tag, artifact_id, moved_seq, moved_ns, moved_by FROM tags WHERE name = $1 AND tag = $2`, name, tag)
	if err != nil {
		return eventlog.Tag{}, fmt.Errorf("read tag %s:%s: %w", name, tag, err)
	}
	if len(ts) == 0 {
		return eventlog.Tag{}, fmt.Errorf("tag %s:%s: %w", name, tag, eventlog.ErrNotFound)
	}
	return ts[0], nil
}

// Tags implements eventlog.Views.
func (v *views) Tags(ctx context.Context, name string) ([]eventlog.Tag, error) {
	ts, err := v.tags(ctx, `SELECT name, tag, artifact_id, moved_seq, moved_ns, moved_by FROM tags WHERE name = $1 ORDER BY tag`, name)
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", name, err)
	}
	return ts, nil
}

// MaxVersionNumber implements eventlog.Views.
func (v *views) MaxVersionNumber(ctx context.Context, name string) (int64, error) {
	var n int64
	err := v.each(ctx, func(r Rows) error { return r.Scan(&n) },
		`SELECT COALESCE(MAX(version_num), 0) FROM artifacts WHERE name = $1`, name)
	if err != nil {
		return 0, fmt.Errorf("read versions of %s: %w", name, err)
	}
	return n, nil
}

// Edges implements eventlog.Views.
func (v *views) Edges(ctx context.Context, id string, dir eventlog.Direction) ([]eventlog.Edge, error) {
	col := "child_id"
	if dir == eventlog.Children {
		col = "parent_id"
	}
	out := []eventlog.Edge{}
	err := v.each(ctx, func(r Rows) error {
		var e eventlog.Edge
		var d string
		if err := r.Scan(&e.Child, &e.Index, &e.Parent, &d, &e.Ref, &e.Role); err != nil {
			return err
		}
		if d != "" {
			var err error
			if e.Digest, err = content.ParseDigest(d); err != nil {
				return fmt.Errorf("lineage of %s: %w", e.Child, err)
			}
		}
		out = append(out, e)
		return nil
	}, `SELECT child_id, idx, parent_id, digest, ref, role FROM lineage WHERE `+col+` = $1 ORDER BY child_seq, idx`, id)
	if err != nil {
		return nil, fmt.Errorf("read lineage of %s: %w", id, err)
	}
	return out, nil
}

// Query implements eventlog.Views.
//
// When the query has an equality label selector, the scan is driven by the
// labels (key, value, seq) index in seq order, so a page of a label query
// costs about (page size / selectivity) index steps, not a table scan.
func (v *views) Query(ctx context.Context, q eventlog.Query) (eventlog.Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	if limit > maxLimit {
		return eventlog.Page{}, fmt.Errorf("%w: limit %d is above %d", eventlog.ErrInvalidQuery, limit, maxLimit)
	}
	var b queryBuilder
	from, seqCol, drive := b.source(q, v.mergeIntersect)
	if err := b.selectors(q.Selectors, drive); err != nil {
		return eventlog.Page{}, err
	}
	b.filters(q)
	order := seqCol
	if q.Newest {
		order += " DESC"
		if q.Cursor > 0 {
			b.conds = append(b.conds, seqCol+" < "+b.arg(q.Cursor))
		}
	} else if q.Cursor > 0 {
		b.conds = append(b.conds, seqCol+" > "+b.arg(q.Cursor))
	}
	where := ""
	if len(b.conds) > 0 {
		where = " WHERE " + strings.Join(b.conds, " AND ")
	}
	query := "SELECT " + artifactCols + " FROM " + from + where + " ORDER BY " + order + " LIMIT " + b.arg(int64(limit+1))
	as, err := v.queryArtifacts(ctx, query, b.args...)
	if err != nil {
		return eventlog.Page{}, fmt.Errorf("query artifacts: %w", err)
	}
	p := eventlog.Page{Artifacts: as}
	if p.Artifacts == nil {
		p.Artifacts = []eventlog.Artifact{}
	}
	if len(as) > limit {
		p.Artifacts = as[:limit]
		p.Next = as[limit-1].Seq
	}
	return p, nil
}

// queryBuilder collects the conditions of an artifact query and the
// arguments they bind, numbered $1, $2, ... in the order they are added.
type queryBuilder struct {
	args  []any
	conds []string
}

// arg binds x and returns its placeholder.
func (b *queryBuilder) arg(x any) string {
	b.args = append(b.args, x)
	return "$" + strconv.Itoa(len(b.args))
}

// source returns the FROM clause of q, the column its rows are ordered and
// paged by, and the index of the equality selector that drives the scan
// (-1 when none does: the artifacts table is scanned). With mergeIntersect
// (and oldest first), two or more equality selectors intersect their index
// ranges instead.
func (b *queryBuilder) source(q eventlog.Query, mergeIntersect bool) (from, seqCol string, drive int) {
	drive = slices.IndexFunc(q.Selectors, func(s eventlog.Selector) bool { return s.Op == eventlog.OpEquals })
	if drive < 0 {
		return "artifacts a", "a.seq", drive
	}
	if mergeIntersect && !q.Newest && slices.ContainsFunc(q.Selectors[drive+1:], func(s eventlog.Selector) bool { return s.Op == eventlog.OpEquals }) {
		// Two or more equality labels: intersect their (key, value, seq)
		// index ranges, merged in seq order, and fetch the artifact rows
		// of the seqs in all of them. Each range is walked once, at most
		// up to the page's last seq, whichever label is the rarer.
		var arms []string
		for _, s := range q.Selectors {
			if s.Op != eventlog.OpEquals {
				continue
			}
			arm := "SELECT seq FROM labels WHERE key = " + b.arg(s.Key) + " AND value = " + b.arg(s.Value)
			if q.Cursor > 0 {
				arm += " AND seq > " + b.arg(q.Cursor)
			}
			arms = append(arms, arm)
		}
		b.conds = append(b.conds, "a.seq = d.seq")
		return "(" + strings.Join(arms, " INTERSECT ") + " ORDER BY 1) d CROSS JOIN artifacts a", "d.seq", drive
	}
	// CROSS JOIN fixes SQLite's join order: walk the driving label's
	// index in seq order, probe the other equality labels by primary
	// key, and only then fetch the artifact row.
	s := q.Selectors[drive]
	from = "labels d"
	b.conds = append(b.conds, "d.key = "+b.arg(s.Key), "d.value = "+b.arg(s.Value))
	for i, s := range q.Selectors {
		if i != drive && s.Op == eventlog.OpEquals {
			l := "l" + strconv.Itoa(i)
			from += " CROSS JOIN labels " + l
			b.conds = append(b.conds, l+".seq = d.seq", l+".key = "+b.arg(s.Key), l+".value = "+b.arg(s.Value))
		}
	}
	b.conds = append(b.conds, "a.seq = d.seq")
	return from + " CROSS JOIN artifacts a", "d.seq", drive
}

// selectors adds the conditions of the label selectors the source does not
// join (every one but the equality selectors, which source joined).
func (b *queryBuilder) selectors(sels []eventlog.Selector, drive int) error {
	for i, s := range sels {
		if i == drive {
			continue
		}
		switch s.Op {
		case eventlog.OpEquals:
			// joined by source
		case eventlog.OpNotEquals:
			b.conds = append(b.conds, "NOT EXISTS (SELECT 1 FROM labels l WHERE l.seq = a.seq AND l.key = "+b.arg(s.Key)+" AND l.value = "+b.arg(s.Value)+")")
		case eventlog.OpExists:
			b.conds = append(b.conds, "EXISTS (SELECT 1 FROM labels l WHERE l.seq = a.seq AND l.key = "+b.arg(s.Key)+")")
		case eventlog.OpNotExists:
			b.conds = append(b.conds, "NOT EXISTS (SELECT 1 FROM labels l WHERE l.seq = a.seq AND l.key = "+b.arg(s.Key)+")")
		default:
			return fmt.Errorf("%w: unknown selector operator %d", eventlog.ErrInvalidQuery, s.Op)
		}
	}
	return nil
}

// filters adds the conditions on the artifact row: deleted, name, creation
// and expiry time.
func (b *queryBuilder) filters(q eventlog.Query) {
	if !q.IncludeDeleted {
		b.conds = append(b.conds, "a.deleted_seq = 0")
	}
	if q.Name != "" {
		b.conds = append(b.conds, "a.name = "+b.arg(q.Name))
	}
	if q.NamePrefix != "" {
		b.conds = append(b.conds, "a.name LIKE "+b.arg(EscapeLike(q.NamePrefix)+"%")+` ESCAPE '\'`)
	}
	if q.NameLike != "" {
		b.conds = append(b.conds, "a.name LIKE "+b.arg(q.NameLike)+` ESCAPE '\'`)
	}
	if !q.CreatedAfter.IsZero() {
		b.conds = append(b.conds, "a.created_ns > "+b.arg(q.CreatedAfter.UnixNano()))
	}
	if !q.CreatedBefore.IsZero() {
		b.conds = append(b.conds, "a.created_ns < "+b.arg(q.CreatedBefore.UnixNano()))
	}
	if !q.ExpiresBefore.IsZero() {
		b.conds = append(b.conds, "a.expires_ns > 0 AND a.expires_ns < "+b.arg(q.ExpiresBefore.UnixNano()))
	}
}

// EscapeLike escapes the LIKE metacharacters % and _ (and the escape
// character \) in s for a LIKE ... ESCAPE '\' pattern.
func EscapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
