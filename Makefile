# artstore — build, test, lint, docs. `make help` lists the targets.

GO        ?= go
PKGS      ?= ./...
# Directories whose .go files must be gofmt-clean.
GOFMT_DIRS ?= .
FUZZTIME  ?= 30s
# Rounds of make campaign (.ci/run runs a shorter campaign).
ROUNDS    ?= 40
VERSION   ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILDPKG  := github.com/artifact-store/artstore/internal/cli/build
LDFLAGS   := -X $(BUILDPKG).Version=$(VERSION) -X $(BUILDPKG).Commit=$(COMMIT)
# Pinned so every machine lints with the same rules.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build install test lint bench fuzz fuzz-long campaign docs docs-check ci

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

build: ## build bin/artstore with version information
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/artstore ./cmd/artstore

install: ## install artstore into $(go env GOPATH)/bin
	$(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/artstore

test: ## run every test with the race detector (integration tests skip unless their service variables are set)
	$(GO) test -race -timeout 30m $(PKGS)
	@# the hashing without the x86 SHA extensions, as other machines run it
	$(GO) test -tags purego ./internal/content/... ./internal/transfer/

lint: ## gofmt, go vet, staticcheck
	@unformatted="$$(gofmt -l $$(find $(GOFMT_DIRS) -name '*.go' -not -path '*/.git/*'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

bench: ## benchmark scripts (scripts/bench*.sh) and Go benchmarks; not part of test
	@set -e; for s in scripts/bench*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; bash "$$s"; done
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz: ## run every FuzzXxx target for FUZZTIME each (default 30s)
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash tools/fuzz.sh

fuzz-long: ## run every FuzzXxx target for 10 minutes each; new corpus entries land in testdata/fuzz/
	FUZZTIME=10m FUZZ_SAVE_CORPUS=1 GO=$(GO) bash tools/fuzz.sh

campaign: ## kill -9 pushes, gc, retention and rebuild at random (ROUNDS, default 40), then check nothing was lost
	$(GO) run ./tools/campaign -rounds $(ROUNDS)

docs: ## regenerate completions/ and docs/man/ from the command tree
	$(GO) run ./tools/gendocs -man docs/man -completions completions

docs-check: ## fail when completions/ or docs/man/ are stale, or docs and comments cite development history or link outside the repository
	$(GO) test ./tools/docscheck/
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	$(GO) run ./tools/gendocs -man "$$tmp/man" -completions "$$tmp/completions" || exit 1; \
	if ! diff -ru docs/man "$$tmp/man" || ! diff -ru completions "$$tmp/completions"; then \
		echo "docs-check: completions/ or docs/man/ are stale: run make docs and commit the result"; exit 1; \
	fi; echo "docs-check: generated docs are up to date"

ci: test lint docs-check ## what .ci/run runs, without starting services
	$(MAKE) campaign ROUNDS=12
