package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// migrate applies the driver's pending migrations, all in one serialised
// write transaction, recording each in schema_migrations. Several processes
// opening a new store at once are safe: the second waits for the first and
// then finds nothing to do.
func (s *Store) migrate(ctx context.Context) error {
	type migration struct {
		version int64
		name    string
	}
	fsys := s.d.Migrations()
	names, err := fs.Glob(fsys, "*.up.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var ms []migration
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return fmt.Errorf("migrate: migration file %q is not named NNNN_name.up.sql", n)
		}
		ms = append(ms, migration{v, n})
	}
	slices.SortFunc(ms, func(a, b migration) int { return int(a.version - b.version) })

	tx, err := s.d.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", s.d.WrapError(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if err := tx.Script(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ns BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", s.d.WrapError(err))
	}
	var current int64
	rows, err := tx.Query(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", s.d.WrapError(err))
	}
	for rows.Next() {
		if err := rows.Scan(&current); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
	}
	rows.Close()
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("migrate: the database is at schema version %d but this artstore knows only up to %d; upgrade artstore", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		b, err := fs.ReadFile(fsys, m.name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := tx.Script(ctx, string(b)); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.name, s.d.WrapError(err))
		}
		if strings.HasSuffix(m.name, treeMigration) {
			if err := s.backfillTree(ctx, tx); err != nil {
				return fmt.Errorf("migrate: apply %s: %w", m.name, s.d.WrapError(err))
			}
		}
		if err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1, $2, $3)`,
			m.version, m.name, s.now().UnixNano()); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.name, s.d.WrapError(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", s.d.WrapError(err))
	}
	return nil
}
