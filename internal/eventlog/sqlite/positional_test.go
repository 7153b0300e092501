package sqlite

import "testing"

func TestPositional(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"INSERT INTO t VALUES ($1, $2), ($3, $4)", "INSERT INTO t VALUES (?, ?), (?, ?)"},
		{"SELECT a FROM t WHERE b = $1 AND c = $10", "SELECT a FROM t WHERE b = $1 AND c = $10"}, // out of order
		{"VALUES ($1, $2, $1)", "VALUES ($1, $2, $1)"},                                           // reused
		{"SELECT '$1', \"$2\" FROM t WHERE a = $1", "SELECT '$1', \"$2\" FROM t WHERE a = ?"},    // quoted
		{"SELECT 'it''s $1' WHERE a LIKE $1 ESCAPE '\\'", "SELECT 'it''s $1' WHERE a LIKE ? ESCAPE '\\'"},
		{"SELECT 'open $1", "SELECT 'open $1"},
		{"SELECT $2", "SELECT $2"},
	} {
		if got := positional(tc.in); got != tc.want {
			t.Errorf("positional(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
