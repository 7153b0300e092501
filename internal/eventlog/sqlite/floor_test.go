package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
)

// BenchmarkRebuildSQLFloor100k measures the SQL that a rebuild of 100,000
// artifact.registered events cannot avoid, with none of the rest: the view
// rows a real rebuild wrote are read into memory first, and each timed
// round runs, in one write transaction on the same driver and settings,
// what Rebuild runs once the log is decoded: empty the views, drop their
// secondary indexes, insert the rows with multi-row INSERTs of up to 2,000
// parameters, create the indexes again, commit. No log is read, decoded,
// verified or folded. Its events/s is the ceiling of BenchmarkRebuild100k
// for this schema and driver on the machine at hand; the gap between the
// two is what the replay's Go side costs.
func BenchmarkRebuildSQLFloor100k(b *testing.B) {
	const n = 100_000
	d := newDB(b).(*db)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, d.path, eventlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	eventlogtest.Fill(b, s, n, 1000)
	if _, err := s.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}

	conn, err := sql.Open("sqlite", d.path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"+
		"&_pragma=cache_size(-32768)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	tables := []string{"artifacts", "labels", "tags", "lineage", "holds"}
	type table struct {
		name string
		cols int
		vals []any
	}
	var data []table
	for _, name := range tables {
		t := table{name: name}
		rows, err := conn.QueryContext(ctx, "SELECT * FROM "+name)
		if err != nil {
			b.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			b.Fatal(err)
		}
		t.cols = len(cols)
		for rows.Next() {
			row := make([]any, t.cols)
			ptrs := make([]any, t.cols)
			for i := range row {
				ptrs[i] = &row[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			t.vals = append(t.vals, row...)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		data = append(data, t)
	}
	type index struct{ name, def string }
	var indexes []index
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
		AND tbl_name IN ('`+strings.Join(tables, "', '")+`') ORDER BY name`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			b.Fatal(err)
		}
		indexes = append(indexes, index{name, def})
	}
	rows.Close()
	if len(data[0].vals) != n*data[0].cols || len(indexes) == 0 {
		b.Fatalf("setup: %d artifact values, %d indexes", len(data[0].vals), len(indexes))
	}

	insert := func(tx *sql.Tx, t table) error {
		per := 2000 / t.cols
		stmts := map[int]*sql.Stmt{}
		for off := 0; off < len(t.vals); off += per * t.cols {
			vals := t.vals[off:min(len(t.vals), off+per*t.cols)]
			k := len(vals) / t.cols
			st, ok := stmts[k]
			if !ok {
				row := "(?" + strings.Repeat(", ?", t.cols-1) + ")"
				q := "INSERT INTO " + t.name + " VALUES " + row + strings.Repeat(", "+row, k-1)
				var err error
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return fmt.Errorf("prepare insert %s: %w", t.name, err)
				}
				stmts[k] = st
			}
			if _, err := st.ExecContext(ctx, vals...); err != nil {
				return fmt.Errorf("insert %s: %w", t.name, err)
			}
		}
		return nil
	}
	// phases: emptying and dropping, inserting, creating indexes, commit.
	var phase [4]time.Duration
	round := func() error {
		t0 := time.Now()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
				return err
			}
		}
		for _, ix := range indexes {
			if _, err := tx.ExecContext(ctx, "DROP INDEX "+ix.name); err != nil {
				return err
			}
		}
		t1 := time.Now()
		for _, t := range data {
			if err := insert(tx, t); err != nil {
				return err
			}
		}
		t2 := time.Now()
		for _, ix := range indexes {
			if _, err := tx.ExecContext(ctx, ix.def); err != nil {
				return err
			}
		}
		t3 := time.Now()
		err = tx.Commit()
		for i, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), time.Since(t3)} {
			phase[i] += d
		}
		return err
	}
	var spent time.Duration
	var total int
	for b.Loop() {
		start := time.Now()
		if err := round(); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
		total += n
	}
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM labels").Scan(&got); err != nil || got != 2*n {
		b.Fatalf("labels after the last round: %d, %v (want %d)", got, err, 2*n)
	}
	b.ReportMetric(float64(total)/spent.Seconds(), "events/s")
	rounds := float64(total / n)
	for i, unit := range []string{"empty-s/op", "insert-s/op", "index-s/op", "commit-s/op"} {
		b.ReportMetric(phase[i].Seconds()/rounds, unit)
	}
}
