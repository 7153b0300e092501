package cmdutil

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/config"
)

type elem struct {
	Ref  string   `json:"ref"`
	Size int64    `json:"size"`
	Tags []string `json:"tags"`
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, config.Output{JSON: true}, map[string]any{"a": "<b>", "n": 1}); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"a\": \"<b>\",\n  \"n\": 1\n}\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	if err := WriteJSON(&b, config.Output{JSON: true}, func() {}); err == nil {
		t.Error("unencodable value did not fail")
	}
}

func TestWriteJSONFilters(t *testing.T) {
	doc := []elem{{"a:1", 5, []string{"latest", "prod"}}, {"b:2", 7, nil}}
	tests := []struct {
		name string
		out  config.Output
		want string
	}{
		{"jq strings raw", config.Output{JQ: ".[].ref"}, "a:1\nb:2\n"},
		{"jq other values compact", config.Output{JQ: ".[0]"}, `{"ref":"a:1","size":5,"tags":["latest","prod"]}` + "\n"},
		{"jq numbers", config.Output{JQ: "map(.size) | add"}, "12\n"},
		{"jq nothing", config.Output{JQ: "empty"}, ""},
		{"template", config.Output{Template: `{{range .}}{{.ref}} {{.size}} {{join "," .tags}}{{"\n"}}{{end}}`}, "a:1 5 latest,prod\nb:2 7 \n"},
		{"template json", config.Output{Template: `{{json (index . 0).tags}}`}, `["latest","prod"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tt.out, doc); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
			// A streamed array gives the same result.
			b.Reset()
			a := NewJSONArray(&b, tt.out)
			for _, e := range doc {
				if err := a.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("streamed: got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestCheckJSONFlags(t *testing.T) {
	for _, out := range []config.Output{{JQ: ".[] |"}, {JQ: "nosuchfunc(1)"}, {Template: "{{.x"}} {
		if err := CheckJSONFlags(out); !IsUsage(err) {
			t.Errorf("%+v: err = %v, want a usage error", out, err)
		}
	}
	if err := CheckJSONFlags(config.Output{JQ: ".[].ref"}); err != nil {
		t.Error(err)
	}
	var b bytes.Buffer
	err := WriteJSON(&b, config.Output{JQ: ".x"}, []int{1})
	if err == nil || IsUsage(err) || !strings.Contains(err.Error(), `--jq ".x"`) {
		t.Errorf("runtime jq error = %v", err)
	}
}

func TestJSONArrayMatchesWriteJSON(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		doc := make([]elem, n)
		for i := range doc {
			doc[i] = elem{Ref: "x<&>:" + string(rune('1'+i)), Size: int64(i), Tags: []string{"t"}}
		}
		var whole, streamed bytes.Buffer
		if err := WriteJSON(&whole, config.Output{JSON: true}, doc); err != nil {
			t.Fatal(err)
		}
		a := NewJSONArray(&streamed, config.Output{JSON: true})
		for _, e := range doc {
			if err := a.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if whole.String() != streamed.String() {
			t.Errorf("n=%d: streamed %q, want %q", n, streamed.String(), whole.String())
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestJSONArrayWriteError(t *testing.T) {
	a := NewJSONArray(failWriter{}, config.Output{JSON: true})
	if err := a.Add(elem{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v", err)
	}
}
