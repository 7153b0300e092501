package client

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
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
	user   []string // who started the run, for the actor of events
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
			repo: []string{"GITHUB_REPOSITORY"}, user: []string{"GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"},
		},
		{
			name: "gitlab-ci", detect: "GITLAB_CI",
			job: []string{"CI_JOB_NAME"}, run: []string{"CI_PIPELINE_ID", "CI_JOB_ID"},
			url:    func(g func(string) string) string { return g("CI_JOB_URL") },
			branch: []string{"CI_COMMIT_REF_NAME"}, commit: []string{"CI_COMMIT_SHA"},
			repo: []string{"CI_PROJECT_URL", "CI_PROJECT_PATH"}, user: []string{"GITLAB_USER_LOGIN"},
		},
		{
			name: "buildkite", detect: "BUILDKITE",
			job: []string{"BUILDKITE_PIPELINE_SLUG", "BUILDKITE_LABEL"}, run: []string{"BUILDKITE_BUILD_NUMBER", "BUILDKITE_BUILD_ID"},
			url:    func(g func(string) string) string { return g("BUILDKITE_BUILD_URL") },
			branch: []string{"BUILDKITE_BRANCH"}, commit: []string{"BUILDKITE_COMMIT"},
			repo: []string{"BUILDKITE_REPO"}, user: []string{"BUILDKITE_BUILD_CREATOR_EMAIL", "BUILDKITE_BUILD_CREATOR"},
		},
		{
			name: "circleci", detect: "CIRCLECI",
			job: []string{"CIRCLE_JOB"}, run: []string{"CIRCLE_BUILD_NUM", "CIRCLE_WORKFLOW_ID"},
			url:    func(g func(string) string) string { return g("CIRCLE_BUILD_URL") },
			branch: []string{"CIRCLE_BRANCH"}, commit: []string{"CIRCLE_SHA1"},
			repo: []string{"CIRCLE_REPOSITORY_URL"}, user: []string{"CIRCLE_USERNAME"},
		},
		{
			name: "jenkins", detect: "JENKINS_URL",
			job: []string{"JOB_NAME"}, run: []string{"BUILD_NUMBER", "BUILD_ID"},
			url:    func(g func(string) string) string { return g("BUILD_URL") },
			branch: []string{"BRANCH_NAME", "GIT_BRANCH"}, commit: []string{"GIT_COMMIT"},
			repo: []string{"GIT_URL"}, user: []string{"BUILD_USER_ID"},
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

// DefaultActor names who is acting, for the actor of local-mode events:
// in a CI run that says who started it, that user at the CI system
// ("octocat@github-actions"); otherwise user@host, the user from USER or
// LOGNAME, else the account of the process (os/user: containers and CI
// often leave USER unset), else its numeric user ID ("uid-1001").
func DefaultActor(getenv func(string) string) string {
	for _, s := range ciSystems() {
		if getenv(s.detect) == "" {
			continue
		}
		if u := firstEnv(getenv, s.user); u != "" {
			return u + "@" + s.name
		}
		break
	}
	name := firstEnv(getenv, []string{"USER", "LOGNAME"})
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = fmt.Sprintf("uid-%d", os.Getuid())
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return name + "@" + host
	}
	return name
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
	// Two commands, run side by side: status in its porcelain v2 form
	// names the commit and the branch and lists changed tracked files
	// (and fails outside a work tree); --no-optional-locks keeps it from
	// refreshing the index, which could collide with a concurrent git in
	// the same checkout.
	var (
		remote   string
		remoteOK bool
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		remote, remoteOK = git("config", "--get", "remote.origin.url")
	}()
	st, ok := git("--no-optional-locks", "status", "--porcelain=v2", "--branch", "--untracked-files=no")
	<-done
	if !ok {
		return
	}
	commit, branch, dirty := parseStatusV2(st)
	if p.GitCommit == "" {
		p.GitCommit = commit
	}
	if p.GitBranch == "" {
		p.GitBranch = branch
	}
	if p.GitRepo == "" && remoteOK {
		p.GitRepo = redactURL(remote)
	}
	p.GitDirty = p.GitDirty || dirty
}

// parseStatusV2 reads `git status --porcelain=v2 --branch` output: the
// commit ("(initial)" before the first one), the branch ("(detached)" when
// HEAD is not on one), and whether any entry (a changed tracked file) is
// listed.
func parseStatusV2(out string) (commit, branch string, dirty bool) {
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "# branch.oid "):
			if v := strings.TrimPrefix(line, "# branch.oid "); v != "(initial)" {
				commit = v
			}
		case strings.HasPrefix(line, "# branch.head "):
			if v := strings.TrimPrefix(line, "# branch.head "); v != "(detached)" {
				branch = v
			}
		case strings.HasPrefix(line, "#"), line == "":
		default:
			dirty = true
		}
	}
	return commit, branch, dirty
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
