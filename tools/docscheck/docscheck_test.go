package docscheck

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// historyRE matches phrases that narrate development history rather than
// describe the code. "used to" is checked separately (see isHistory), since
// its passive form ("is used to sign") describes the code.
var historyRE = regexp.MustCompile(`(?i)\b(sessions? [0-9]+|session-[0-9]+|helpers?-[0-9]+|earlier session|this session|previous session|used to|before this|was changed|no longer)\b`)

// passiveRE matches the word before "used to" that makes it passive voice.
var passiveRE = regexp.MustCompile(`(?i)\b(is|are|be|been|being|was|were|get|gets|got)\s+$`)

// urlRE matches an absolute http(s) URL in prose.
var urlRE = regexp.MustCompile(`https?://[^\s)\]>"'` + "`" + `]+`)

// anchorRE matches a reference to a section of docs/benchmarks.md.
var anchorRE = regexp.MustCompile(`benchmarks\.md#([A-Za-z0-9_-]+)`)

// repoRoot is the directory holding go.mod, above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// isHistory reports the history phrases in text.
func isHistory(text string) []string {
	var found []string
	for _, loc := range historyRE.FindAllStringIndex(text, -1) {
		m := text[loc[0]:loc[1]]
		if strings.EqualFold(m, "used to") && passiveRE.MatchString(text[:loc[0]]) {
			continue
		}
		found = append(found, m)
	}
	return found
}

// proseFile is a file checked as a whole (docs, README, scripts, Makefile),
// or a non-test Go file whose comments are checked.
type proseFile struct {
	rel   string // slash-separated path from the repository root
	goSrc bool
}

func proseFiles(t *testing.T, root string) []proseFile {
	t.Helper()
	var files []proseFile
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, "_test.go"):
		case strings.HasSuffix(name, ".go"):
			files = append(files, proseFile{rel: rel, goSrc: true})
		case strings.HasSuffix(name, ".md"), name == "Makefile",
			strings.HasPrefix(rel, "scripts/"), strings.HasPrefix(rel, "docs/man/"):
			files = append(files, proseFile{rel: rel})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNoDevelopmentHistory fails on docs, scripts and non-test Go comments
// that say who changed or measured what, or when ("session 5", "used to",
// "no longer"): say what the code does and why, and leave history to git.
func TestNoDevelopmentHistory(t *testing.T) {
	root := repoRoot(t)
	for _, f := range proseFiles(t, root) {
		path := filepath.Join(root, filepath.FromSlash(f.rel))
		if f.goSrc {
			fset := token.NewFileSet()
			af, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, cg := range af.Comments {
				for _, c := range cg.List {
					for _, m := range isHistory(c.Text) {
						t.Errorf("%s: comment cites development history (%q): say what the code does and why", fset.Position(c.Pos()), m)
					}
				}
			}
			continue
		}
		eachLine(t, path, func(n int, line string) {
			for _, m := range isHistory(line) {
				t.Errorf("%s:%d: cites development history (%q): say what the code does and why", f.rel, n, m)
			}
		})
	}
}

// TestDocsLinkInsideTheRepository fails on a link from README.md or docs/*.md
// to a host outside the repository. Example addresses of the user's own
// daemon (loopback, 0.0.0.0, a host without a dot, *.internal, *.example)
// are allowed.
func TestDocsLinkInsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range append(docs, filepath.Join(root, "README.md")) {
		rel, _ := filepath.Rel(root, path)
		eachLine(t, path, func(n int, line string) {
			for _, raw := range urlRE.FindAllString(line, -1) {
				if !exampleURL(raw) {
					t.Errorf("%s:%d: link outside the repository (%s): name the project or issue in plain text instead", rel, n, raw)
				}
			}
		})
	}
}

func exampleURL(raw string) bool {
	host := strings.TrimRight(raw, ".,;:")
	host = host[strings.Index(host, "://")+3:]
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i] // a port, or a placeholder such as host:port
	}
	host = strings.ToLower(host)
	switch {
	case host == "localhost", host == "0.0.0.0", strings.HasPrefix(host, "127."), host == "[::1]":
		return true
	case !strings.Contains(host, "."):
		return true
	case strings.HasSuffix(host, ".internal"), strings.HasSuffix(host, ".example"),
		strings.HasSuffix(host, ".test"), strings.HasSuffix(host, ".localhost"):
		return true
	}
	return false
}

func TestExampleURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://127.0.0.1:7480,":            true,
		"http://host:port":                  true,
		"https://host":                      true,
		"http://artstore.internal:8787/v1":  true,
		"http://0.0.0.0:8787":               true,
		"https://github.com/distribution/x": false,
		"https://docs.example.org/page":     false,
	} {
		if got := exampleURL(raw); got != want {
			t.Errorf("exampleURL(%q) = %v, want %v", raw, got, want)
		}
	}
}

// TestBenchmarkAnchorsResolve fails when a reference to a section of
// docs/benchmarks.md names a heading that does not exist.
func TestBenchmarkAnchorsResolve(t *testing.T) {
	root := repoRoot(t)
	bench := filepath.Join(root, "docs", "benchmarks.md")
	anchors := map[string]bool{}
	eachLine(t, bench, func(_ int, line string) {
		if strings.HasPrefix(line, "#") {
			anchors[headingAnchor(line)] = true
		}
	})
	for _, f := range proseFiles(t, root) {
		path := filepath.Join(root, filepath.FromSlash(f.rel))
		eachLine(t, path, func(n int, line string) {
			for _, m := range anchorRE.FindAllStringSubmatch(line, -1) {
				if !anchors[m[1]] {
					t.Errorf("%s:%d: docs/benchmarks.md has no section #%s", f.rel, n, m[1])
				}
			}
		})
	}
}

// headingAnchor is the anchor GitHub gives a Markdown heading: lower case,
// punctuation other than '-' and '_' dropped, spaces as '-'.
func headingAnchor(line string) string {
	text := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestHeadingAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"## Direct I/O and the page cache":                       "direct-io-and-the-page-cache",
		"## Memory (peak RSS)":                                   "memory-peak-rss",
		"### Pipeline changes, each measured in alternated runs": "pipeline-changes-each-measured-in-alternated-runs",
		"## Event log: rebuild and append rate":                  "event-log-rebuild-and-append-rate",
	} {
		if got := headingAnchor(in); got != want {
			t.Errorf("headingAnchor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsHistory(t *testing.T) {
	for text, want := range map[string]int{
		"3 × Max, not 4 (session 5): less memory":     1,
		"the route used to refuse large manifests":    1,
		"the key is used to sign the checkpoint":      0,
		"Pages that belong to no command are removed": 0,
		"the version no longer resolves":              1,
		"measured by helper-3 in this session":        2,
		"no removal until then (WORM)":                0,
		"Before this change, pushes were slow":        1,
		"the log was changed to add a member":         1,
	} {
		if got := len(isHistory(text)); got != want {
			t.Errorf("isHistory(%q) found %d phrases, want %d", text, got, want)
		}
	}
}

func eachLine(t *testing.T, path string, fn func(n int, line string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fn(n, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
