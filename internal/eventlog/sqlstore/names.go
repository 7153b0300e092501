package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// maxCompletions bounds Names, Catalog and Versions.
const maxCompletions = 1000

// Names implements eventlog.Views: a skip scan over live_names (a row per
// name with live artifacts, keyed in byte order), one probe per result. After a name the next probe
// starts past it; after a directory "a/b/" past every name under it, at
// "a/b0" ('0' follows '/' in byte order), so a directory of 100,000 names
// costs one probe like a single name.
func (v *views) Names(ctx context.Context, prefix string, limit int) ([]string, error) {
	if limit <= 0 || limit > maxCompletions {
		limit = maxCompletions
	}
	col := "name"
	if v.byteOrder != nil {
		col = v.byteOrder("name")
	}
	probe := func(op string) string {
		return `SELECT name FROM live_names WHERE ` + col + ` ` + op + ` $1 ORDER BY ` + col + ` LIMIT 1`
	}
	atOrAfter, after := probe(">="), probe(">")
	var out []string
	q, from := atOrAfter, prefix
	for len(out) < limit {
		var name string
		found := false
		err := v.each(ctx, func(r Rows) error { found = true; return r.Scan(&name) }, q, from)
		if err != nil {
			return nil, fmt.Errorf("read names under %q: %w", prefix, err)
		}
		if !found || !strings.HasPrefix(name, prefix) {
			break
		}
		if i := strings.IndexByte(name[len(prefix):], '/'); i >= 0 {
			dir := name[:len(prefix)+i+1]
			out = append(out, dir)
			q, from = atOrAfter, dir[:len(dir)-1]+"0"
			continue
		}
		out = append(out, name)
		q, from = after, name
	}
	return out, nil
}

// Catalog implements eventlog.Views: one range scan over live_names. The
// names that start with prefix are one run in byte order, so the scan
// starts at the prefix (or past after, when that is further) and stops at
// the first name without it.
func (v *views) Catalog(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if limit <= 0 || limit > maxCompletions {
		limit = maxCompletions
	}
	col := "name"
	if v.byteOrder != nil {
		col = v.byteOrder("name")
	}
	op, from := ">", after
	if prefix > after {
		op, from = ">=", prefix
	}
	var out []string
	stop := errors.New("past the prefix")
	err := v.each(ctx, func(r Rows) error {
		var name string
		if err := r.Scan(&name); err != nil {
			return err
		}
		if !strings.HasPrefix(name, prefix) {
			return stop
		}
		out = append(out, name)
		return nil
	}, `SELECT name FROM live_names WHERE `+col+` `+op+` $1 ORDER BY `+col+` LIMIT $2`, from, limit)
	if err != nil && !errors.Is(err, stop) {
		return nil, fmt.Errorf("read the names under %q after %q: %w", prefix, after, err)
	}
	return out, nil
}

// Versions implements eventlog.Views, newest first by the (name,
// version_num) index; a prefix is matched as the versions are walked.
func (v *views) Versions(ctx context.Context, name, prefix string, limit int) ([]string, error) {
	if limit <= 0 || limit > maxCompletions {
		limit = maxCompletions
	}
	var out []string
	err := v.each(ctx, func(r Rows) error {
		var ver string
		if err := r.Scan(&ver); err != nil {
			return err
		}
		out = append(out, ver)
		return nil
	}, `SELECT version FROM artifacts WHERE name = $1 AND deleted_seq = 0 AND version LIKE $2 ESCAPE '\'
		ORDER BY version_num DESC, seq DESC LIMIT $3`, name, EscapeLike(prefix)+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("read versions of %s: %w", name, err)
	}
	return out, nil
}

// Names implements eventlog.Views.
func (s *Store) Names(ctx context.Context, prefix string, limit int) (names []string, err error) {
	err = s.viewRead(ctx, func(v *views) error { names, err = v.Names(ctx, prefix, limit); return err })
	return names, err
}

// Catalog implements eventlog.Views.
func (s *Store) Catalog(ctx context.Context, prefix, after string, limit int) (names []string, err error) {
	err = s.viewRead(ctx, func(v *views) error { names, err = v.Catalog(ctx, prefix, after, limit); return err })
	return names, err
}

// Versions implements eventlog.Views.
func (s *Store) Versions(ctx context.Context, name, prefix string, limit int) (vs []string, err error) {
	err = s.viewRead(ctx, func(v *views) error { vs, err = v.Versions(ctx, name, prefix, limit); return err })
	return vs, err
}

var _ eventlog.Views = (*Store)(nil)
