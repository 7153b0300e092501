package client

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"
)

// DetectProducer describes the environment a push runs in: the git
// repository, commit and dirty state of dir (when it is inside a work tree
// and git is installed) and the CI system, job and run from the usual
// environment variables (GitHub Actions, GitLab CI, Jenkins, Buildkite,
// CircleCI, and a generic CI=true). getenv is os.Getenv in production; tests
// pass a map lookup. Detection never fails: what cannot be found stays empty.
func DetectProducer(ctx context.Context, getenv func(string) string, dir string) Producer {
	p := detectCI(getenv)
	detectGit(ctx, dir, &p)
	return p
}

// ciSystem describes how one CI system exposes itself in the environment.
type ciSystem struct {
	name   string
	detect string   // variable whose presence identifies the system
	job    []string // first non-empty wins
	run    []string
	url    func(getenv func(string) string) string
	branch []string
	commit []string
	repo   []string
}

func ciSystems() []ciSystem {
	return []ciSystem{
		{
			name: "github-actions", detect: "GITHUB_ACTIONS",
			job: []string{"GITHUB_WORKFLOW", "GITHUB_JOB"}, run: []string{"GITHUB_RUN_ID"},
			url: func(g func(string) string) string {
				if g("GITHUB_SERVER_URL") == "" || g("GITHUB_REPOSITORY") == "" || g("GITHUB_RUN_ID") == "" {
					return ""
				}
				return g("GITHUB_SERVER_URL") + "/" + g("GITHUB_REPOSITORY") + "/actions/runs/" + g("GITHUB_RUN_ID")
			},
			branch: []string{"GITHUB_REF_NAME"}, commit: []string{"GITHUB_SHA"},
			repo: []string{"GITHUB_REPOSITORY"},
		},
		{
			name: "gitlab-ci", detect: "GITLAB_CI",
			job: []string{"CI_JOB_NAME"}, run: []string{"CI_PIPELINE_ID", "CI_JOB_ID"},
			url:    func(g func(string) string) string { return g("CI_JOB_URL") },
			branch: []string{"CI_COMMIT_REF_NAME"}, commit: []string{"CI_COMMIT_SHA"},
			repo: []string{"CI_PROJECT_URL", "CI_PROJECT_PATH"},
		},
		{
			name: "buildkite", detect: "BUILDKITE",
			job: []string{"BUILDKITE_PIPELINE_SLUG", "BUILDKITE_LABEL"}, run: []string{"BUILDKITE_BUILD_NUMBER", "BUILDKITE_BUILD_ID"},
			url:    func(g func(string) string) string { return g("BUILDKITE_BUILD_URL") },
			branch: []string{"BUILDKITE_BRANCH"}, commit: []string{"BUILDKITE_COMMIT"},
			repo: []string{"BUILDKITE_REPO"},
		},
		{
			name: "circleci", detect: "CIRCLECI",
			job: []string{"CIRCLE_JOB"}, run: []string{"CIRCLE_BUILD_NUM", "CIRCLE_WORKFLOW_ID"},
			url:    func(g func(string) string) string { return g("CIRCLE_BUILD_URL") },
			branch: []string{"CIRCLE_BRANCH"}, commit: []string{"CIRCLE_SHA1"},
			repo: []string{"CIRCLE_REPOSITORY_URL"},
		},
		{
			name: "jenkins", detect: "JENKINS_URL",
			job: []string{"JOB_NAME"}, run: []string{"BUILD_NUMBER", "BUILD_ID"},
			url:    func(g func(string) string) string { return g("BUILD_URL") },
			branch: []string{"BRANCH_NAME", "GIT_BRANCH"}, commit: []string{"GIT_COMMIT"},
			repo: []string{"GIT_URL"},
		},
	}
}

func firstEnv(getenv func(string) string, keys []string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

func detectCI(getenv func(string) string) Producer {
	var p Producer
	for _, s := range ciSystems() {
		if getenv(s.detect) == "" {
			continue
		}
		p.CISystem = s.name
		p.CIJob = firstEnv(getenv, s.job)
		p.CIRun = firstEnv(getenv, s.run)
		if s.url != nil {
			p.CIURL = s.url(getenv)
		}
		p.GitBranch = firstEnv(getenv, s.branch)
		p.GitCommit = firstEnv(getenv, s.commit)
		p.GitRepo = firstEnv(getenv, s.repo)
		return p
	}
	switch strings.ToLower(getenv("CI")) {
	case "1", "true", "yes":
		p.CISystem = "ci"
	}
	return p
}

// detectGit fills the git fields from the work tree at dir, leaving values
// that CI variables already supplied.
func detectGit(ctx context.Context, dir string, p *Producer) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			return "", false
		}
		return strings.TrimSpace(out.String()), true
	}
	if inside, ok := git("rev-parse", "--is-inside-work-tree"); !ok || inside != "true" {
		return
	}
	if p.GitCommit == "" {
		if c, ok := git("rev-parse", "HEAD"); ok {
			p.GitCommit = c
		}
	}
	if p.GitBranch == "" {
		if b, ok := git("rev-parse", "--abbrev-ref", "HEAD"); ok && b != "HEAD" {
			p.GitBranch = b
		}
	}
	if p.GitRepo == "" {
		if u, ok := git("config", "--get", "remote.origin.url"); ok {
			p.GitRepo = redactURL(u)
		}
	}
	if st, ok := git("status", "--porcelain", "--untracked-files=no"); ok && st != "" {
		p.GitDirty = true
	}
}

// redactURL drops credentials embedded in a remote URL
// (https://user:token@host/repo -> https://host/repo), so they never land in
// the tamper-evident, unerasable log.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		slash := strings.Index(rest, "/")
		if slash < 0 || at < slash {
			rest = rest[at+1:]
		}
	}
	return scheme + "://" + rest
}
