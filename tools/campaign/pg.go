package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// pgSchema creates a fresh schema on the PostgreSQL server dsn, adds its
// drop to cleanups, and returns a DSN whose search_path selects it.
func pgSchema(ctx context.Context, dsn string, cleanups *[]func()) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	schema := "campaign_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	*cleanups = append(*cleanups, func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "campaign: drop schema %s: %v\n", schema, err)
		}
	})
	return pgtest.SearchPath(dsn, schema)
}
