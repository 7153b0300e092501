package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v4"
)

// backendIDPattern is what a backend ID may look like. Viper lowercases
// map keys, so an ID with capitals would silently change; refuse it.
var backendIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// fileLayout records where each key sits in the config file, for messages.
type fileLayout struct {
	name  string
	lines map[string]int // config key -> line number
}

func (l *fileLayout) source(key string) string {
	if line, ok := l.lines[key]; ok {
		return fmt.Sprintf("%s line %d", l.name, line)
	}
	return l.name
}

func (l *fileLayout) has(key string) bool {
	_, ok := l.lines[key]
	return ok
}

// checkFile parses the YAML config file and checks its shape: only known
// keys, scalars where scalars belong, backend IDs that survive viper's
// lowercasing. A file that is not YAML, or not a mapping, is returned as
// err; other shape problems are added to ps.
func checkFile(name string, data []byte, ps *problems) (*fileLayout, error) {
	layout := &fileLayout{name: name, lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: config file %s is not valid YAML: %s", ErrInvalid, name, yamlProblem(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return layout, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return layout, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Problems: []*Problem{{Msg: "the config file must be a mapping of keys to values (key: value)", Source: fmt.Sprintf("%s line %d", name, root.Line)}}}
	}
	known := fileKeys()
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		src := fmt.Sprintf("%s line %d", name, k.Line)
		key := k.Value
		if s, ok := settingByKey(key); ok && !s.InFile {
			ps.add(&Problem{Key: key, Msg: fmt.Sprintf("cannot be set in the config file; use --%s or %s", s.Flag, s.Env), Source: src})
			continue
		}
		if !contains(known, key) {
			ps.add(&Problem{Key: key, Msg: unknownMsg(key, known), Source: src})
			continue
		}
		layout.lines[key] = k.Line
		if key == KeyBackends {
			checkBackends(name, v, layout, ps)
			continue
		}
		if key == KeyServe {
			checkFields(name, KeyServe, v, ServeFields(), layout, ps)
			continue
		}
		if key == KeyTags {
			checkTags(name, v, layout, ps)
			continue
		}
		if !isScalar(v) {
			ps.add(&Problem{Key: key, Msg: "must be a single value, not a list or mapping", Source: src})
		}
	}
	return layout, nil
}

func checkBackends(name string, v *yaml.Node, layout *fileLayout, ps *problems) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.MappingNode {
		ps.add(&Problem{Key: KeyBackends, Msg: "must be a mapping of backend IDs to backend settings", Source: fmt.Sprintf("%s line %d", name, v.Line)})
		return
	}
	var fieldNames []string
	for _, f := range BackendFields() {
		fieldNames = append(fieldNames, f.Name)
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		idNode, body := v.Content[i], v.Content[i+1]
		id := idNode.Value
		src := fmt.Sprintf("%s line %d", name, idNode.Line)
		if !backendIDPattern.MatchString(id) {
			ps.add(&Problem{Key: KeyBackends + "." + id, Msg: fmt.Sprintf("backend ID %q is not allowed (use lowercase letters, digits, - and _, starting with a letter or digit, at most 63 characters)", id), Source: src})
			continue
		}
		layout.lines[KeyBackends+"."+id] = idNode.Line
		if body.Kind != yaml.MappingNode {
			ps.add(&Problem{Key: KeyBackends + "." + id, Msg: "must be a mapping of backend settings (type: local, root: ...)", Source: src})
			continue
		}
		checkFields(name, KeyBackends+"."+id, body, fieldNames, layout, ps)
	}
}

// checkFields checks a mapping of scalar fields under section (a backend
// entry, serve:): only the known names, each a single value.
func checkFields(name, section string, body *yaml.Node, known []string, layout *fileLayout, ps *problems) {
	if body.Kind == yaml.ScalarNode && body.Tag == "!!null" {
		return
	}
	if body.Kind != yaml.MappingNode {
		ps.add(&Problem{Key: section, Msg: "must be a mapping of settings (key: value)", Source: fmt.Sprintf("%s line %d", name, body.Line)})
		return
	}
	for j := 0; j+1 < len(body.Content); j += 2 {
		fk, fv := body.Content[j], body.Content[j+1]
		key := section + "." + fk.Value
		fsrc := fmt.Sprintf("%s line %d", name, fk.Line)
		if !contains(known, fk.Value) {
			ps.add(&Problem{Key: key, Msg: unknownMsg(fk.Value, known), Source: fsrc})
			continue
		}
		layout.lines[key] = fk.Line
		if !isScalar(fv) {
			ps.add(&Problem{Key: key, Msg: "must be a single value, not a list or mapping", Source: fsrc})
		}
	}
}

// checkTags checks the tags: section: only protected, a list of patterns.
func checkTags(name string, body *yaml.Node, layout *fileLayout, ps *problems) {
	if body.Kind == yaml.ScalarNode && body.Tag == "!!null" {
		return
	}
	if body.Kind != yaml.MappingNode {
		ps.add(&Problem{Key: KeyTags, Msg: "must be a mapping (protected: [...])", Source: fmt.Sprintf("%s line %d", name, body.Line)})
		return
	}
	for j := 0; j+1 < len(body.Content); j += 2 {
		fk, fv := body.Content[j], body.Content[j+1]
		key := KeyTags + "." + fk.Value
		src := fmt.Sprintf("%s line %d", name, fk.Line)
		if fk.Value != "protected" {
			ps.add(&Problem{Key: key, Msg: unknownMsg(fk.Value, []string{"protected"}), Source: src})
			continue
		}
		layout.lines[key] = fk.Line
		ok := fv.Kind == yaml.SequenceNode
		for _, item := range fv.Content {
			ok = ok && isScalar(item)
		}
		if !ok {
			ps.add(&Problem{Key: key, Msg: `must be a list of tag patterns, e.g. ["v*", "release-*"]`, Source: src})
		}
	}
}

func unknownMsg(key string, known []string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key, known); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return msg + " (known keys: " + strings.Join(known, ", ") + ")"
}

func isScalar(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// yamlProblem describes a YAML syntax error by the line and column where the
// parser found the problem, and adds the line where the enclosing mapping or
// list starts when that is another: for an over-indented key the start of
// the enclosing mapping is lines above the mistake, and naming only it sends
// the user to the wrong line.
func yamlProblem(err error) string {
	var le *yaml.LoadError
	if !errors.As(err, &le) || le.Mark.Line == 0 {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msg := fmt.Sprintf("line %d column %d: %s", le.Mark.Line, le.Mark.Column, le.Message)
	if c := le.ContextMark.Line; c != 0 && c != le.Mark.Line {
		construct := "the construct"
		switch {
		case strings.Contains(le.ContextMsg, "mapping"):
			construct = "the mapping"
		case strings.Contains(le.ContextMsg, "sequence"):
			construct = "the list"
		case strings.Contains(le.ContextMsg, "scalar"):
			construct = "the value"
		}
		msg += fmt.Sprintf(" (in %s that starts at line %d)", construct, c)
	}
	return msg
}
