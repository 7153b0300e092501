package cli

import (
	"github.com/artifact-store/artstore/internal/bundle"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/admin/rebuild"
	"github.com/artifact-store/artstore/internal/cli/cmd/initcmd"
	"github.com/artifact-store/artstore/internal/cli/cmd/rm"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestJSONFieldsDocumented keeps docs/cli-json.md true: every JSON field of
// every type a command prints with --json is named there (in backquotes).
func TestJSONFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli-json.md"))
	if err != nil {
		t.Fatal(err)
	}
	types := []any{
		client.Artifact{}, client.PushResult{}, client.PullResult{}, client.LineageGraph{},
		client.Event{}, client.LogReport{}, client.VerifyReport{}, client.TreeEntry{},
		rm.Result{}, initcmd.Result{}, rebuild.Result{}, client.GCReport{},
		client.RetentionRule{}, client.RetentionReport{}, client.RetentionExplanation{},
		client.LogKey{}, client.Checkpoint{}, client.InclusionProof{}, client.ConsistencyProof{}, client.CheckpointReport{},
		client.ExportSummary{}, bundle.Report{}, client.ImportResult{},
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() == "time" {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name != "" && !strings.Contains(string(doc), "`"+name+"`") && !strings.Contains(string(doc), `"`+name+`"`) {
				t.Errorf("docs/cli-json.md does not document field %q of %s", name, typ)
			}
			walk(f.Type)
		}
	}
	for _, v := range types {
		walk(reflect.TypeOf(v))
	}
	if len(seen) < 10 {
		t.Fatalf("walked only %d types", len(seen))
	}
}
