// Package pgtest gives tests a throwaway PostgreSQL schema.
//
// The server comes from ARTSTORE_TEST_POSTGRES (a DSN). When it is unset
// the test is skipped with a message, unless CI is set: then it fails, so a
// CI run can never silently skip the PostgreSQL half of a suite.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the test server's DSN.
const EnvDSN = "ARTSTORE_TEST_POSTGRES"

// ServerDSN returns the test server's DSN, skipping (or, under CI, failing)
// t when it is not configured.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set but CI is: the PostgreSQL tests must run in CI", EnvDSN)
		}
		t.Skipf("%s is not set; skipping PostgreSQL tests (e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvDSN, EnvDSN)
	}
	return dsn
}

// Schema creates a fresh schema on the test server, drops it (with
// everything in it) when the test ends, and returns the schema name and a
// DSN whose search_path selects it. Cleanups registered after Schema (such
// as closing stores) run before the drop.
func Schema(t testing.TB) (name, dsn string) {
	t.Helper()
	server := ServerDSN(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name = "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name, WithSearchPath(t, server, name)
}

// WithSearchPath returns dsn with its search_path set to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	out, err := SearchPath(dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SearchPath returns dsn (a URL or keyword/value DSN) with its
// search_path set to schema.
func SearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}
