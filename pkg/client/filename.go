package client

import (
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/artifact-store/artstore/pkg/api"
)

// LabelFileName is the label holding the file name an artifact was pushed
// from (see api.LabelFileName).
const LabelFileName = api.LabelFileName

// maxFileName is the longest file name recorded or written: NAME_MAX of
// common filesystems, and within a label value's limit.
const maxFileName = 255

// FileNameOf returns the name to record under LabelFileName for a push
// from path (a file or a directory), and false when the base name cannot
// be written back safely as it is (see SafeFileName): nothing is recorded
// then, and pull falls back to the artifact's name.
func FileNameOf(path string) (string, bool) {
	base := filepath.Base(filepath.Clean(path))
	if base == "." || base == ".." {
		if abs, err := filepath.Abs(path); err == nil {
			base = filepath.Base(abs)
		}
	}
	return base, SafeFileName(base)
}

// PullFileName is the name pull writes a to when no -o is given: the file
// name recorded at push (LabelFileName) reduced to its last path element,
// when that is a safe file name, else the last element of the artifact's
// name. The label is data from the store, which anyone who may label the
// artifact can set, so it never leads outside the current directory: no
// separators, no "." or "..", no control characters.
func PullFileName(a Artifact) string {
	if v, ok := a.Labels[LabelFileName]; ok {
		if i := strings.LastIndexAny(v, `/\`); i >= 0 {
			v = v[i+1:]
		}
		if SafeFileName(v) {
			return v
		}
	}
	name := a.Name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if SafeFileName(name) {
		return name
	}
	return "artifact" // a name the registry would not accept; never written as is
}

// SafeFileName reports whether s names an entry of the current directory
// and nothing else, and prints as itself: not empty, not "." or "..", no
// '/' or '\', valid UTF-8 without control characters, at most 255 bytes.
func SafeFileName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > maxFileName || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
