#!/usr/bin/env bash
# bench-prefixed-pull.sh -- directory pulls through a daemon with a token
# limited to a name prefix (the blob route scoped to the artifact, which
# resolves the artifact and checks the blob's membership on every request)
# against the same pulls with a token without one (/v1/blobs), in the same
# run (a benchmark, not a test).
#
#   scripts/bench-prefixed-pull.sh [ROUNDS]     (default 5)
#
# It starts a daemon on a new store and pushes two trees: 64 files of 8 MiB
# of random bytes (512 MiB, a few hundred chunks) and 5,000 files of 4 KiB
# (a few chunks, the cost of creating the files). Each round pulls each tree
# once with each token into a fresh directory, and verifies the big tree
# (its blobs' presence: "verify") and reads and checks every chunk of it
# ("deep"), the order of the two tokens alternating from round to round.
# Printed: every run's seconds, then the median per tree or verify and
# token and the prefixed token's median against the other's.
#
# Environment:
#   ARTSTORE_BIN   the binary to measure (default: build ./cmd/artstore)
#   BENCH_DIR      where the files go (default: $TMPDIR or /tmp)
set -euo pipefail

rounds=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/artstore-bench-prefixed.XXXXXX")
NAME=bench-prefixed-pull
PIDS=()
# shellcheck source=scripts/lib/oci-bench.sh
source "$repo/scripts/lib/oci-bench.sh"
cleanup() {
	stop_all
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

bin=${ARTSTORE_BIN:-}
if [[ -z $bin ]]; then
	bin=$work/artstore
	(cd "$repo" && go build -o "$bin" ./cmd/artstore)
fi
command -v python3 >/dev/null || { echo "bench-prefixed-pull: needs python3" >&2; exit 2; }

start_artstore "$bin" "$work/daemon"
cd "$work"
export HOME=$work XDG_CONFIG_HOME=$work/config ARTSTORE_SERVER=http://$AS_HOST
admin=$AS_TOKEN

mkdir big small
for i in $(seq 64); do head -c $((8 << 20)) /dev/urandom >"big/f$i"; done
for i in $(seq 5000); do head -c 4096 /dev/urandom >"small/f$i"; done
ARTSTORE_TOKEN=$admin "$bin" push big --name team/big >/dev/null
ARTSTORE_TOKEN=$admin "$bin" push small --name team/small >/dev/null
prefixed=$(ARTSTORE_TOKEN=$admin "$bin" token create --scope read --prefix team/ --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
sync

echo "== $(nproc) CPUs; $rounds rounds; load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
	order="unprefixed prefixed"
	((round % 2)) || order="prefixed unprefixed"
	for tree in big small; do
		for who in $order; do
			token=$admin
			[[ $who == prefixed ]] && token=$prefixed
			rm -rf out
			s=$(date +%s.%N)
			ARTSTORE_TOKEN=$token "$bin" pull "team/$tree" -o out >/dev/null 2>&1
			e=$(date +%s.%N)
			printf '%s %s %d %s\n' "$tree" "$who" "$round" "$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')" | tee -a results
		done
	done
	for what in verify deep; do
		flags=()
		[[ $what == deep ]] && flags=(--deep)
		for who in $order; do
			token=$admin
			[[ $who == prefixed ]] && token=$prefixed
			s=$(date +%s.%N)
			ARTSTORE_TOKEN=$token "$bin" verify team/big "${flags[@]}" >/dev/null
			e=$(date +%s.%N)
			printf '%s %s %d %s\n' "$what" "$who" "$round" "$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')" | tee -a results
		done
	done
done
echo "== load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v t="$1" -v w="$2" '$1 == t && $2 == w { print $4 }' results | median; }
printf '\n== medians of %d runs each\n%-6s %12s %12s %16s\n' "$rounds" what unprefixed prefixed "prefixed / other"
for tree in big small verify deep; do
	u=$(col "$tree" unprefixed)
	p=$(col "$tree" prefixed)
	printf '%-6s %12s %12s %16s\n' "$tree" "$u" "$p" "$(awk -v a="$p" -v b="$u" 'BEGIN { printf "%.2f x", a / b }')"
done
