#!/usr/bin/env bash
# Runs every fuzz target (func FuzzXxx in a _test.go file) in the module for
# $FUZZTIME each. Used by `make fuzz` and `make fuzz-long`.
#
# With FUZZ_SAVE_CORPUS=1 the inputs the fuzzer found interesting (kept in
# the Go build cache, $(go env GOCACHE)/fuzz) are copied into each
# package's testdata/fuzz/FuzzXxx/, where `go test` replays them as seed
# inputs on every run; commit them. The files are named by their content's
# hash, so copying again adds only new ones.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
FUZZ_SAVE_CORPUS=${FUZZ_SAVE_CORPUS:-0}
cd "$(dirname "$0")/.."
cache="$("$GO" env GOCACHE)/fuzz"

# save_corpus DIR NAME: copy the cached corpus of target NAME in package DIR.
save_corpus() {
	local src dst n
	src="$cache/$("$GO" list "./$1")/$2"
	dst="$1/testdata/fuzz/$2"
	[ -d "$src" ] || return 0
	mkdir -p "$dst"
	n=$(find "$src" -maxdepth 1 -type f | wc -l)
	cp -n "$src"/* "$dst"/
	echo "   corpus: $n cached inputs copied into $dst"
	# the committed corpus must replay as seed inputs
	"$GO" test -run "^$2\$" "./$1" >/dev/null
}

found=0
while IFS=: read -r file line; do
	name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"$line")
	dir=$(dirname "$file")
	found=$((found + 1))
	echo "== $dir $name ($FUZZTIME)"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "./$dir"
	if [ "$FUZZ_SAVE_CORPUS" = 1 ]; then save_corpus "$dir" "$name"; fi
done < <(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . | sed 's|^\./||' | sort)

if [ "$found" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz: $found targets ran clean for $FUZZTIME each"
