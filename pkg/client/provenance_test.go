package client

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDetectCI(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Producer
	}{
		{"none", map[string]string{}, Producer{}},
		{"generic", map[string]string{"CI": "true"}, Producer{CISystem: "ci"}},
		{"github", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_WORKFLOW": "release", "GITHUB_RUN_ID": "42",
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
			"GITHUB_SHA": "abc", "GITHUB_REF_NAME": "main", "CI": "true",
		}, Producer{CISystem: "github-actions", CIJob: "release", CIRun: "42",
			CIURL: "https://github.com/o/r/actions/runs/42", GitCommit: "abc", GitBranch: "main", GitRepo: "o/r"}},
		{"gitlab", map[string]string{
			"GITLAB_CI": "true", "CI_JOB_NAME": "build", "CI_PIPELINE_ID": "7", "CI_JOB_URL": "https://gl/j/1",
			"CI_COMMIT_SHA": "def", "CI_COMMIT_REF_NAME": "dev", "CI_PROJECT_PATH": "g/p",
		}, Producer{CISystem: "gitlab-ci", CIJob: "build", CIRun: "7", CIURL: "https://gl/j/1", GitCommit: "def", GitBranch: "dev", GitRepo: "g/p"}},
		{"jenkins", map[string]string{"JENKINS_URL": "http://j", "JOB_NAME": "nightly", "BUILD_NUMBER": "9", "BUILD_URL": "http://j/9", "GIT_COMMIT": "123"},
			Producer{CISystem: "jenkins", CIJob: "nightly", CIRun: "9", CIURL: "http://j/9", GitCommit: "123"}},
		{"buildkite", map[string]string{"BUILDKITE": "true", "BUILDKITE_PIPELINE_SLUG": "app", "BUILDKITE_BUILD_NUMBER": "3", "BUILDKITE_BUILD_URL": "u", "BUILDKITE_COMMIT": "c"},
			Producer{CISystem: "buildkite", CIJob: "app", CIRun: "3", CIURL: "u", GitCommit: "c"}},
		{"circleci", map[string]string{"CIRCLECI": "true", "CIRCLE_JOB": "test", "CIRCLE_BUILD_NUM": "5", "CIRCLE_BUILD_URL": "u", "CIRCLE_SHA1": "s"},
			Producer{CISystem: "circleci", CIJob: "test", CIRun: "5", CIURL: "u", GitCommit: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detectCI(envMap(tt.env)); got != tt.want {
				t.Errorf("detectCI = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok@github.com/o/r.git": "https://github.com/o/r.git",
		"https://github.com/o/r.git":          "https://github.com/o/r.git",
		"git@github.com:o/r.git":              "git@github.com:o/r.git",
		"ssh://git@host/o/r":                  "ssh://host/o/r",
		"https://host/path@with-at":           "https://host/path@with-at",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetectGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	run("remote", "add", "origin", "https://bob:secret@example.com/o/r.git")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("add", "f")
	run("commit", "-qm", "one")

	p := DetectProducer(context.Background(), envMap(nil), dir)
	if len(p.GitCommit) != 40 || p.GitBranch != "main" || p.GitRepo != "https://example.com/o/r.git" || p.GitDirty {
		t.Fatalf("clean tree: %+v", p)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := DetectProducer(context.Background(), envMap(nil), dir); !p.GitDirty {
		t.Fatalf("modified tree not dirty: %+v", p)
	}
	if p := DetectProducer(context.Background(), envMap(nil), t.TempDir()); p.GitCommit != "" {
		t.Fatalf("outside a repo: %+v", p)
	}
	// A staged change is a change too.
	run("add", "f")
	if p := DetectProducer(context.Background(), envMap(nil), dir); !p.GitDirty {
		t.Fatalf("staged change not dirty: %+v", p)
	}
	run("commit", "-qm", "two")
	// Detached HEAD: a commit, no branch.
	run("checkout", "-q", "--detach")
	if p := DetectProducer(context.Background(), envMap(nil), dir); len(p.GitCommit) != 40 || p.GitBranch != "" || p.GitDirty {
		t.Fatalf("detached HEAD: %+v", p)
	}
	// CI variables win over what git says.
	ci := envMap(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc", "GITHUB_REF_NAME": "release"})
	if p := DetectProducer(context.Background(), ci, dir); p.GitCommit != "abc" || p.GitBranch != "release" {
		t.Fatalf("CI variables overridden by git: %+v", p)
	}
	// A repository without commits: the branch, no commit.
	fresh := t.TempDir()
	cmd := exec.Command("git", "init", "-q", "-b", "trunk")
	cmd.Dir = fresh
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	if p := DetectProducer(context.Background(), envMap(nil), fresh); p.GitCommit != "" || p.GitBranch != "trunk" || p.GitDirty {
		t.Fatalf("repository without commits: %+v", p)
	}
}

func TestParseStatusV2(t *testing.T) {
	for _, c := range []struct {
		out            string
		commit, branch string
		dirty          bool
	}{
		{"", "", "", false},
		{"# branch.oid 0123abc\n# branch.head main\n", "0123abc", "main", false},
		{"# branch.oid (initial)\n# branch.head main\n", "", "main", false},
		{"# branch.oid 0123abc\n# branch.head (detached)\n1 .M N... 100644 100644 100644 a b f\n", "0123abc", "", true},
		{"# branch.oid 0123abc\n# branch.head feature/x\n# branch.upstream origin/feature/x\n# branch.ab +1 -0\n", "0123abc", "feature/x", false},
		{"# branch.oid c\n# branch.head b\nu UU N... 1 2 3 4 a b c f\n", "c", "b", true},
	} {
		commit, branch, dirty := parseStatusV2(c.out)
		if commit != c.commit || branch != c.branch || dirty != c.dirty {
			t.Errorf("parseStatusV2(%q) = %q, %q, %v; want %q, %q, %v", c.out, commit, branch, dirty, c.commit, c.branch, c.dirty)
		}
	}
}

func FuzzParseStatusV2(f *testing.F) {
	f.Add("# branch.oid 0123abc\n# branch.head main\n1 .M N... 100644 100644 100644 a b f\n")
	f.Fuzz(func(t *testing.T, out string) {
		commit, branch, _ := parseStatusV2(out)
		if strings.ContainsAny(commit+branch, "\n") {
			t.Fatalf("parseStatusV2(%q) = %q, %q: a value spans lines", out, commit, branch)
		}
	})
}
