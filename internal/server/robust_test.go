package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/registry"
)

// lostLog is an event log whose queries fail the way PostgreSQL fails a
// connection it terminates during a restart.
type lostLog struct {
	eventlog.Store
	code string
}

func (l lostLog) Query(context.Context, eventlog.Query) (eventlog.Page, error) {
	return eventlog.Page{}, postgres.WrapError(&pgconn.PgError{Severity: "FATAL", Code: l.code, Message: "terminating connection due to administrator command"})
}

// TestLogConnectionLost: a query on a connection PostgreSQL terminated
// (57P01) or refused while starting up (57P03) is answered 503
// "unavailable", which clients retry, not 500.
func TestLogConnectionLost(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"57P01", "57P03", "08006"} {
		log := lostLog{Store: e.log, code: code}
		srv, err := New(Options{Registry: registry.New(log, app.Checker(e.backend), nil), Log: log, Backend: e.backend, Tokens: e.srv.Tokens()})
		if err != nil {
			t.Fatal(err)
		}
		resp := e.requestTo(srv, "GET", "/v1/artifacts", "read")
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("SQLSTATE %s: status %d, want 503", code, resp.StatusCode)
		}
		if got := errorCode(t, resp); got != "unavailable" {
			t.Errorf("SQLSTATE %s: code %q, want unavailable", code, got)
		}
	}
}

// TestListHostileQueries: 300 label selectors, a NUL or invalid UTF-8 in
// the pattern are refused 400 "invalid", quickly and without SQL text in
// the message.
func TestListHostileQueries(t *testing.T) {
	e := newEnv(t)
	e.register("m/a", []byte("abc"))
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("label=k%d=v", i))
	}
	for name, q := range map[string]string{
		"300 selector parameters": strings.Join(many, "&"),
		"300 selectors in one":    "label=" + strings.Repeat("k=v,", 299) + "k=v",
		"NUL in pattern":          "pattern=a%00b",
		"invalid UTF-8 pattern":   "pattern=a%FFb",
		"NUL in glob":             "pattern=a%00*",
		"NUL in selector":         "label=k=a%00b",
	} {
		start := time.Now()
		resp := e.request("GET", "/v1/artifacts?"+q, "read", nil, nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"invalid"`) {
			t.Errorf("%s: %d %s, want 400 invalid", name, resp.StatusCode, b)
		}
		for _, leak := range []string{"SQL", "sqlite", "ERROR:", "syntax"} {
			if strings.Contains(string(b), leak) {
				t.Errorf("%s: the answer leaks %q: %s", name, leak, b)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

// jsonRoutes are the routes that read a JSON object body, with a query
// that names an existing artifact where they need one.
var jsonRoutes = []struct{ method, path string }{
	{"POST", "/v1/artifacts"},
	{"PATCH", "/v1/artifact/labels?ref=m/a:1"},
	{"PUT", "/v1/artifact/retention?ref=m/a:1"},
	{"POST", "/v1/artifact/holds?ref=m/a:1"},
	{"POST", "/v1/blobs/missing"},
	{"POST", "/v1/admin/gc"},
	{"POST", "/v1/admin/retention/apply"},
	{"POST", "/v1/retention/rules"},
	{"POST", "/v1/tokens"},
}

// TestJSONBodyMustBeObject: on every route that reads a JSON body, a body
// that is not a JSON object (null, an array, a string, a number, nothing)
// is refused 400 "invalid" and changes nothing, rather than read as {}.
func TestJSONBodyMustBeObject(t *testing.T) {
	e := newEnv(t)
	e.register("m/a", []byte("abc"))
	head, err := e.log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range jsonRoutes {
		for _, body := range []string{"null", " \n null", "[]", `"x"`, "1", "true", ""} {
			resp := e.request(rt.method, rt.path, "admin", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
			if resp.StatusCode != http.StatusBadRequest {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("%s %s with body %q: %d %s, want 400", rt.method, rt.path, body, resp.StatusCode, b)
				resp.Body.Close()
				continue
			}
			if got := errorCode(t, resp); got != "invalid" {
				t.Errorf("%s %s with body %q: code %q, want invalid", rt.method, rt.path, body, got)
			}
		}
	}
	after, err := e.log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Seq != head.Seq {
		t.Errorf("refused bodies appended %d events", after.Seq-head.Seq)
	}
}

// waitLog waits for a request log line of route and returns it.
func waitLog(t *testing.T, buf *syncBuffer, route string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "msg=request ") && strings.Contains(line, " route="+route+" ") {
				return line
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no request log line for %s in:\n%s", route, buf)
	return ""
}

// TestClientFailuresAreNotServerErrors: a blob PUT whose body ends before
// its Content-Length and requests the client gives up on are the client's
// doing: logged with a 4xx status at a level below ERROR, not as 500.
func TestClientFailuresAreNotServerErrors(t *testing.T) {
	t.Run("short blob PUT", func(t *testing.T) {
		e := newEnv(t)
		ts, buf := e.logged(Limits{})
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		d := content.FromBytes(make([]byte, 100))
		fmt.Fprintf(conn, "PUT /v1/blobs/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n0123456789", d, e.tok["write"])
		conn.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, conn)
		conn.Close()
		line := waitLog(t, buf, "/v1/blobs/{digest}")
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "status=500") || !strings.Contains(line, "status=400") {
			t.Errorf("short PUT logged as %s\nlog:\n%s", line, buf)
		}
		if strings.Contains(buf.String(), "level=ERROR") {
			t.Errorf("short PUT logged an error:\n%s", buf)
		}
	})
	t.Run("cancelled long-poll", func(t *testing.T) {
		e := newEnv(t)
		ts, buf := e.logged(Limits{MaxWait: 5 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/v1/events?after=1000&wait=5s", nil)
		req.Header.Set("Authorization", "Bearer "+e.tok["read"])
		time.AfterFunc(200*time.Millisecond, cancel)
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("the cancelled request got %d", resp.StatusCode)
		}
		line := waitLog(t, buf, "/v1/events")
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "status=5") || !strings.Contains(line, "status=499") {
			t.Errorf("cancelled request logged as %s\nlog:\n%s", line, buf)
		}
		if strings.Contains(buf.String(), "level=ERROR") {
			t.Errorf("a cancelled request logged an error:\n%s", buf)
		}
	})
	t.Run("cancelled blob PUT", func(t *testing.T) {
		e := newEnv(t)
		ts, buf := e.logged(Limits{})
		ctx, cancel := context.WithCancel(context.Background())
		d := content.FromBytes(make([]byte, 1<<20))
		req, _ := http.NewRequestWithContext(ctx, "PUT", ts.URL+"/v1/blobs/"+d.String(), &stallingReader{n: 1000, ctx: ctx})
		req.ContentLength = 1 << 20
		req.Header.Set("Authorization", "Bearer "+e.tok["write"])
		time.AfterFunc(200*time.Millisecond, cancel)
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("the cancelled request got %d", resp.StatusCode)
		}
		line := waitLog(t, buf, "/v1/blobs/{digest}")
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "status=5") {
			t.Errorf("cancelled PUT logged as %s\nlog:\n%s", line, buf)
		}
		if strings.Contains(buf.String(), "level=ERROR") {
			t.Errorf("a cancelled PUT logged an error:\n%s", buf)
		}
	})
}

// stallingReader yields n zero bytes, then blocks until ctx is done.
type stallingReader struct {
	n   int
	ctx context.Context
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// TestBodyLimitsByRoute: each route reads what its largest request
// needs: a hold body over 64 KiB or a labels body over 1 MiB is 413, and
// a register is bounded by MaxBody outside its ignored blobs list, which
// must be an array of strings.
func TestBodyLimitsByRoute(t *testing.T) {
	e := newEnv(t)
	ts, _ := e.logged(Limits{MaxBody: 2 << 20})
	e.register("m/a", []byte("abc"))
	post := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tok["admin"])
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, c := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"hold over 64 KiB", "POST", "/v1/artifact/holds?ref=m/a:1", `{"reason":"` + long(70<<10) + `"}`, 413},
		{"labels under 1 MiB", "PATCH", "/v1/artifact/labels?ref=m/a:1", `{"remove":["` + long(100) + `"]}` + strings.Repeat(" ", 900<<10), 200},
		{"labels over 1 MiB", "PATCH", "/v1/artifact/labels?ref=m/a:1", `{"remove":["` + long(1100<<10) + `"]}`, 413},
		{"register over MaxBody outside blobs", "POST", "/v1/artifacts", `{"name":"m/b","media_type":"` + long(3<<20) + `"}`, 413},
		{"register blobs not strings", "POST", "/v1/artifacts", `{"name":"m/b","blobs":[1,2]}`, 400},
		{"register blobs an object", "POST", "/v1/artifacts", `{"name":"m/b","blobs":{}}`, 400},
		{"register unknown member", "POST", "/v1/artifacts", `{"name":"m/b","bogus":1}`, 400},
		{"register trailing data", "POST", "/v1/artifacts", `{"name":"m/b"} {}`, 400},
	} {
		if got, b := post(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s: %d %.200s, want %d", c.name, got, b, c.want)
		}
	}
}
