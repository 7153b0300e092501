package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
)

// hostileBodies are request bodies no route may answer with a 5xx.
var hostileBodies = []string{
	"",
	"null",
	"[]",
	`"x"`,
	"{",
	`{"size":1e999,"bytes":99999999999999999999999,"limit":-1,"depth":1e300}`,
	`{"name":"a\u0000b","reason":"\u0000","hold":"\u0000","pattern":"\u0000","grace":"\u0000","expire_after":"\u0000"}`,
	`{"name":"` + strings.Repeat("n", 40<<10) + `","reason":"` + strings.Repeat("r", 40<<10) + `"}`,
	"{\"name\":\"\xff\xfe\",\"reason\":\"\xc3\x28\"}",
	`{"digests":["` + strings.Repeat("x", 100) + `",null,1]}`,
	`{"set":{"\u0000":"v"},"remove":[""]}`,
	`{"expires_at":"9999-99-99T99:99:99Z","immutable_until":"0000-01-01T00:00:00Z"}`,
	`{"ref":"\u0000","range":"bytes=99999999999999999999-"}`,
}

// hostileQueries are query strings no route may answer with a 5xx; one
// parameter each, so that no other one is refused first.
var hostileQueries = []string{
	"ref=%00", "pattern=%00", "pattern=a%00*", "label=%00", "label=k%3Da%00", "hold=%00", "reason=%00",
	"ref=%FF%FE", "ref=m/a%00:1", "pattern=a%FFb", "label=k%3D%FF", "direction=%FF", "hold=%FF",
	"after=99999999999999999999999", "limit=1e99", "limit=-1", "depth=-1", "depth=99999999999",
	"wait=9999999h", "from=-5", "from=99999999999999999999", "cursor=99999999999999999999", "cursor=%00",
	"since=%FF", "before=0000-00-00", "order=%00", "deleted=%00",
	"ref=" + strings.Repeat("a", 100<<10), "pattern=" + strings.Repeat("a", 100<<10),
	"label=" + strings.Repeat("k=v,", 1000),
}

// TestHostileInputsEveryRoute: every route of the route table, given
// hostile bodies and query strings (empty, null, arrays, huge numbers, NUL
// bytes, overlong strings, invalid UTF-8), answers below 500 and leaves no
// goroutine behind.
func TestHostileInputsEveryRoute(t *testing.T) {
	before := goleak.IgnoreCurrent()                   // the goroutines before the server's
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // runs after e's cleanups
	hostileInputs(t, newEnv(t))
}

// TestHostileInputsEveryRoutePostgres is TestHostileInputsEveryRoute over
// a PostgreSQL log, which refuses what SQLite stores (NUL in text).
func TestHostileInputsEveryRoutePostgres(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	log, err := postgres.Open(context.Background(), dsn, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	hostileInputs(t, newEnvLog(t, log))
}

func hostileInputs(t *testing.T, e *env) {
	e.register("m/a", []byte("abc"))
	// Path parameters: a digest of nothing stored, then hostile ones.
	params := map[string][]string{
		"{digest}": {"sha256:" + strings.Repeat("0", 64), "%00", "sha256:%FF", strings.Repeat("a", 10<<10)},
		"{tag}":    {"prod", "%00", "%FF", strings.Repeat("t", 10<<10)},
		"{id}":     {"01ARZ3NDEKTSV4RRFFQ69G5FAV", "%00", "%FF", strings.Repeat("i", 10<<10)},
	}
	for _, rt := range e.srv.routes {
		if rt.Method == "GET" && rt.Pattern == "/v1/events" {
			continue // long-polls; covered with hostile queries below
		}
		paths := []string{rt.Pattern}
		for p, vals := range params {
			if strings.Contains(rt.Pattern, p) {
				paths = nil
				for _, v := range vals {
					paths = append(paths, strings.Replace(rt.Pattern, p, v, 1))
				}
			}
		}
		bodiless := rt.Method == "GET" || rt.Method == "HEAD" || rt.Method == "DELETE"
		for _, path := range paths {
			if !bodiless {
				for _, body := range hostileBodies {
					e.checkNot5xx(t, rt.Method, path, body)
				}
			}
			for _, q := range hostileQueries {
				body := "{}"
				if bodiless {
					body = ""
				}
				e.checkNot5xx(t, rt.Method, path+"?"+q, body)
			}
		}
	}
	for _, q := range hostileQueries {
		e.checkNot5xx(t, "GET", "/v1/events?wait=0&"+q, "")
	}
}

func (e *env) checkNot5xx(t *testing.T, method, target, body string) {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+target, strings.NewReader(body))
	if err != nil {
		return // not a request a client can send
	}
	req.Header.Set("Authorization", "Bearer "+e.tok["admin"])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Errorf("%s %.120s: %v", method, target, err)
		return
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Errorf("%s %.120s body %.80q: %d %.300s", method, target, body, resp.StatusCode, b)
	}
}
