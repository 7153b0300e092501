package app

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/api"
)

// TestProducerConversionKeepsEveryField: a producer field added to the
// wire type and the event must not be dropped by the conversions (as
// git_branch once was), so every field is set and must survive both ways.
func TestProducerConversionKeepsEveryField(t *testing.T) {
	var p api.Producer
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("value of %s", v.Type().Field(i).Name))
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("Producer.%s is a %s: teach this test to fill it", v.Type().Field(i).Name, f.Kind())
		}
	}
	in := ProducerToInternal(p)
	if n, m := reflect.TypeOf(in).NumField(), v.NumField(); n != m {
		t.Errorf("eventlog.Producer has %d fields, api.Producer %d", n, m)
	}
	if got := Producer(in); got != p {
		t.Errorf("round trip = %+v, want %+v", got, p)
	}
}

// TestKindsMatchContent: the wire's artifact kinds are the manifest kinds
// of internal/content, which pkg/api may not import.
func TestKindsMatchContent(t *testing.T) {
	if api.KindFile != string(content.KindFile) || api.KindTree != string(content.KindTree) {
		t.Errorf("api kinds %q, %q; content kinds %q, %q", api.KindFile, api.KindTree, content.KindFile, content.KindTree)
	}
	if KindOf(api.TreeMediaType) != api.KindTree || KindOf("text/plain") != api.KindFile {
		t.Error("KindOf does not tell trees by their media type")
	}
}

// TestInputs: an input is a reference (or an artifact ID) or a digest; a
// reference that is a digest counts as a digest; neither, or a digest that
// does not parse, is invalid input.
func TestInputs(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	got, err := Inputs([]api.Input{{Ref: "a:1", Role: "src"}, {ArtifactID: "01ID"}, {Ref: d}, {Digest: d, Role: "cfg"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Ref != "a:1" || got[0].Role != "src" || got[1].Ref != "01ID" ||
		got[2].Ref != "" || got[2].Digest.String() != d || got[3].Digest.String() != d || got[3].Role != "cfg" {
		t.Errorf("Inputs = %+v", got)
	}
	if _, err := Inputs([]api.Input{{Role: "x"}}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("an input with neither reference nor digest: %v, want ErrInvalid", err)
	}
	if _, err := Inputs([]api.Input{{Digest: "sha256:zz"}}); !errors.Is(err, content.ErrInvalidDigest) {
		t.Errorf("a bad digest: %v, want content.ErrInvalidDigest", err)
	}
}
