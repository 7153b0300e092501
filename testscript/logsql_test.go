package testscript_test

import (
	"database/sql"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite" // the local store's log
)

// cmdLogSQL: logsql STMT... — run SQL statements against the local store's
// event log ($ARTSTORE_STORE/artstore.db), as an attacker or a faulty tool
// would: scripts use it to tamper with events and views.
func cmdLogSQL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: logsql STMT...")
	}
	db, err := sql.Open("sqlite", filepath.Join(ts.Getenv("ARTSTORE_STORE"), "artstore.db"))
	ts.Check(err)
	defer db.Close()
	for _, st := range args {
		if _, err := db.Exec(st); err != nil {
			ts.Fatalf("logsql %q: %v", st, err)
		}
	}
}
