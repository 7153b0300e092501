// Package backendstest checks that every documented backend setting reaches
// the backend a command opens. Tests of each place that opens backends from
// the configuration (local mode, the daemon) write the config file
// ConfigFile returns, open its backends the way the command does, and call
// Check.
package backendstest

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
)

// IDs of the two backends ConfigFile defines.
const (
	LocalID = "every-local"
	S3ID    = "every-s3"
)

// value is what ConfigFile writes for a key and what the opened backend's
// Spec must then hold.
type value struct {
	yaml string
	want func(root string) any
}

func is(v any) func(string) any { return func(string) any { return v } }

// values has one entry per documented key except type, which selects the
// backend. Every value differs from the backend's default, so a setting
// that is dropped on the way shows up as a difference.
var values = map[string]value{
	"root":                {"", func(root string) any { return root }},
	"bucket":              {"every-key-bucket", is("every-key-bucket")},
	"prefix":              {"every/key/", is("every/key/")},
	"region":              {"eu-every-9", is("eu-every-9")},
	"endpoint":            {"", nil}, // a fake S3 server's, see Load
	"path_style":          {"true", is(true)},
	"access_key_id":       {"AKIDEVERYKEY", is("AKIDEVERYKEY")},
	"secret_access_key":   {"every-key-secret", is("every-key-secret")},
	"session_token":       {"every-key-session", is("every-key-session")},
	"multipart_threshold": {"7MiB", is(int64(7 << 20))},
	"part_size":           {"6MiB", is(int64(6 << 20))},
	"concurrency":         {"7", is(7)},
	"timeout":             {"17s", is(17 * time.Second)},
}

// DocKeys returns the keys of the table of backend settings in
// docs/configuration.md (the rows "| `key` | type | meaning |" below the
// heading row "| key under `backends.<ID>` ...").
func DocKeys(t testing.TB) []string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("backendstest: cannot locate the source tree")
	}
	doc := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "docs", "configuration.md")
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatalf("read the configuration reference: %v", err)
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (all|local|s3) \\|")
	var keys []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "| key under `backends.<ID>`"):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			m := row.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: cannot read the backend settings row %q", doc, line)
			}
			keys = append(keys, m[1])
		case in:
			in = false
		}
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no table of backend settings found", doc)
	}
	return keys
}

// ConfigFile returns a config file that sets every documented backend key:
// backend LocalID (type local, blobs in root) and backend S3ID (type s3,
// every s3 key, at endpoint). It fails the test for a documented key it has
// no value for.
func ConfigFile(t testing.TB, root, endpoint string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "backends:\n  %s:\n    type: local\n", LocalID)
	var s3 strings.Builder
	fmt.Fprintf(&s3, "  %s:\n    type: s3\n", S3ID)
	for _, k := range DocKeys(t) {
		if k == "type" {
			continue
		}
		v, ok := values[k]
		if !ok {
			t.Errorf("backendstest: no test value for the documented key %q; add one to values", k)
			continue
		}
		if k == "root" {
			fmt.Fprintf(&b, "    root: %q\n", root)
			continue
		}
		if k == "endpoint" {
			fmt.Fprintf(&s3, "    endpoint: %q\n", endpoint)
			continue
		}
		fmt.Fprintf(&s3, "    %s: %q\n", k, v.yaml)
	}
	return b.String() + s3.String()
}

// Opened returns the spec an opened backend runs with (backends.SpecOf),
// failing the test for a backend backends.Open did not build.
func Opened(t testing.TB, be storage.Backend) backends.Spec {
	t.Helper()
	spec, ok := backends.SpecOf(be)
	if !ok {
		t.Fatalf("backend %s is a %T, not one backends.Open builds", be.ID(), be)
	}
	return spec
}

// Check asserts that every documented key reached the backends opened from
// cfg, as Load returned it: specs maps LocalID and S3ID to the specs the
// opened backends run with (see Opened).
func Check(t testing.TB, cfg *config.Config, specs map[string]backends.Spec) {
	t.Helper()
	if got := specs[LocalID].Type; got != backends.TypeLocal {
		t.Errorf("type: backend %s has type %q, want local", LocalID, got)
	}
	if got := specs[S3ID].Type; got != backends.TypeS3 {
		t.Errorf("type: backend %s has type %q, want s3", S3ID, got)
	}
	fields := fieldsByKey()
	for _, k := range DocKeys(t) {
		if k == "type" {
			continue
		}
		f, ok := fields[k]
		if !ok {
			t.Errorf("%s: documented, but no backends.Spec field has the tag config:%q", k, k)
			continue
		}
		v, ok := values[k]
		if !ok {
			continue // ConfigFile reported it
		}
		id := S3ID
		if k == "root" {
			id = LocalID
		}
		got := reflect.ValueOf(specs[id]).FieldByIndex(f.Index).Interface()
		var want any
		switch k {
		case "root", "endpoint":
			want = reflect.ValueOf(cfg.Backends[id].Spec).FieldByIndex(f.Index).Interface()
			if reflect.ValueOf(want).IsZero() {
				t.Errorf("%s: the configuration of backend %s does not set it", k, id)
			}
		default:
			want = v.want("")
		}
		if got != want {
			t.Errorf("%s: the opened backend %s has %v, want %v", k, id, got, want)
		}
	}
}

func fieldsByKey() map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	t := reflect.TypeFor[backends.Spec]()
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("config"); k != "" {
			out[k] = t.Field(i)
		}
	}
	return out
}

// Load writes ConfigFile(t, root, endpoint) into dir, with endpoint a fake
// S3 server holding the bucket, and loads it as artstore's configuration,
// with dir as the home and store directory and no environment.
func Load(t testing.TB, dir, root string) *config.Config {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket(values["bucket"].yaml); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(ts.Close)
	file := filepath.Join(dir, "config.yaml")
	data := "store: " + fmt.Sprintf("%q", filepath.Join(dir, "store")) + "\n" + ConfigFile(t, root, ts.URL)
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{ConfigFile: file, Home: dir, ConfigHome: dir, DataHome: dir, WorkDir: dir})
	if err != nil {
		t.Fatalf("load a config file with every backend key:\n%s\n%v", data, err)
	}
	return cfg
}

// Sorted returns a sorted copy of keys.
func Sorted(keys []string) []string {
	out := append([]string(nil), keys...)
	sort.Strings(out)
	return out
}
