package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/itchyny/gojq"

	"github.com/artifact-store/artstore/internal/config"
)

// This file is the one place that turns a command's data into its --json
// output: plain indented JSON, or, with --jq EXPRESSION or --template
// TEMPLATE (global flags, see config.Output), what the jq expression or Go
// template makes of that JSON document. Every command prints its JSON with
// WriteJSON, or with a JSONArray when it lists more than fits in memory.

// CheckJSONFlags parses --jq and --template, so that a mistake in either is
// a usage error before the command changes anything.
func CheckJSONFlags(out config.Output) error {
	if out.JQ != "" {
		if _, err := parseJQ(out.JQ); err != nil {
			return err
		}
	}
	if out.Template != "" {
		if _, err := parseTemplate(out.Template); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes v as the command's JSON output on w: indented by two
// spaces and followed by a newline, HTML characters not escaped (the output
// is for programs and people, not browsers); or, when out asks for it, the
// results of the --jq expression (strings raw, other values as compact
// JSON, one per line) or the --template text, applied to that document.
func WriteJSON(w io.Writer, out config.Output, v any) error {
	if out.JQ == "" && out.Template == "" {
		return encodeIndented(w, "", v)
	}
	doc, err := toGeneric(v)
	if err != nil {
		return err
	}
	return filter(w, out, doc)
}

func encodeIndented(w io.Writer, prefix string, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON output: %w", err)
	}
	return nil
}

// toGeneric turns v into the maps, slices, strings, numbers and booleans
// its JSON encoding decodes to: what jq expressions and templates see.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("write JSON output: %w", err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("write JSON output: %w", err)
	}
	return doc, nil
}

func filter(w io.Writer, out config.Output, doc any) error {
	if out.JQ != "" {
		return runJQ(w, out.JQ, doc)
	}
	tpl, err := parseTemplate(out.Template)
	if err != nil {
		return err
	}
	if err := tpl.Execute(w, doc); err != nil {
		return fmt.Errorf("--template: %w", err)
	}
	return nil
}

func parseJQ(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, FlagErrorf("--jq %q: %v", expr, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, FlagErrorf("--jq %q: %v", expr, err)
	}
	return code, nil
}

func runJQ(w io.Writer, expr string, doc any) error {
	code, err := parseJQ(expr)
	if err != nil {
		return err
	}
	iter := code.Run(doc)
	for {
		v, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, isErr := v.(error); isErr {
			return fmt.Errorf("--jq %q: %w", expr, err)
		}
		line, isString := v.(string)
		if !isString {
			b, err := gojq.Marshal(v)
			if err != nil {
				return fmt.Errorf("--jq %q: %w", expr, err)
			}
			line = string(b)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
}

// templateFuncs are the functions a --template may call besides Go's
// built-in ones.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		// json renders a value as compact JSON.
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		// join joins a list of values with a separator (null is an
		// empty list).
		"join": func(sep string, v any) string {
			list, _ := v.([]any)
			parts := make([]string, len(list))
			for i, v := range list {
				parts[i] = fmt.Sprint(v)
			}
			return strings.Join(parts, sep)
		},
	}
}

func parseTemplate(text string) (*template.Template, error) {
	tpl, err := template.New("--template").Funcs(templateFuncs()).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, FlagErrorf("--template: %v", err)
	}
	return tpl, nil
}

// JSONArray writes a JSON array one element at a time, so a listing of any
// length is printed in bounded memory; the result is byte for byte what
// WriteJSON prints for the whole slice. With --jq or --template the
// expression needs the whole document, so the elements are gathered (as
// decoded JSON) and the filter runs on Close.
type JSONArray struct {
	w        io.Writer
	out      config.Output
	n        int
	gathered []any // with --jq or --template
	buf      bytes.Buffer
}

// NewJSONArray starts an array on w.
func NewJSONArray(w io.Writer, out config.Output) *JSONArray {
	return &JSONArray{w: w, out: out, gathered: []any{}}
}

// Add writes one element.
func (a *JSONArray) Add(v any) error {
	if a.out.JQ != "" || a.out.Template != "" {
		doc, err := toGeneric(v)
		if err != nil {
			return err
		}
		a.gathered = append(a.gathered, doc)
		return nil
	}
	a.buf.Reset()
	if a.n == 0 {
		a.buf.WriteString("[\n  ")
	} else {
		a.buf.WriteString(",\n  ")
	}
	if err := encodeIndented(&a.buf, "  ", v); err != nil {
		return err
	}
	a.buf.Truncate(a.buf.Len() - 1) // the encoder's newline
	a.n++
	if _, err := a.w.Write(a.buf.Bytes()); err != nil {
		return fmt.Errorf("write JSON output: %w", err)
	}
	return nil
}

// Close ends the array (or runs the filter on the gathered elements). A
// command that fails midway does not call it, so its output is not valid
// JSON: a script cannot mistake a partial listing for a whole one.
func (a *JSONArray) Close() error {
	if a.out.JQ != "" || a.out.Template != "" {
		return filter(a.w, a.out, a.gathered)
	}
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	if _, err := io.WriteString(a.w, end); err != nil {
		return fmt.Errorf("write JSON output: %w", err)
	}
	return nil
}
