#!/usr/bin/env bash
# bench-oci-get.sh -- the daemon's /v2 blob GET of a large blob: wall time and
# the daemon's CPU seconds, for one or more builds in alternated rounds (a
# benchmark, not a test).
#
#   scripts/bench-oci-get.sh [-s SIZE_MIB] ROUNDS GETS BIN...
#
# Each round, for each BIN (the order rotated from round to round), starts a
# daemon on a fresh store (as scripts/bench-oci.sh does), pushes a SIZE_MIB
# (default 512) file of random bytes with oras, then times GETS requests
# `curl -s -o /dev/null -w '%{time_total}'` of GET /v2/<name>/blobs/<digest>
# and reads the daemon's CPU time (utime + stime, /proc/<pid>/stat) before
# and after each. CPU seconds are less sensitive to other load than wall
# time. It prints one line per GET (build, round, GET, seconds, CPU seconds,
# load average) and, at the end, per build: the number of GETs and the
# medians of both.
#
# Tools: oras from scripts/oci-tools.sh (in $ARTSTORE_OCI_TOOLS, default
# ~/.cache/artstore-tools) and curl.
set -euo pipefail
SIZE_MIB=512
if [[ ${1:-} == -s ]]; then
	SIZE_MIB=$2
	shift 2
fi
if (($# < 3)); then
	echo "usage: $0 [-s SIZE_MIB] ROUNDS GETS BIN..." >&2
	exit 2
fi
ROUNDS=$1 GETS=$2
shift 2
BINS=()
declare -A SEEN
for b in "$@"; do
	[[ $b == /* ]] || b=$PWD/$b
	[[ -z ${SEEN[$(basename "$b")]:-} ]] || {
		echo "bench-oci-get: two builds named $(basename "$b"): the results are told apart by file name" >&2
		exit 2
	}
	SEEN[$(basename "$b")]=1
	BINS+=("$b")
done
TOOLS=${ARTSTORE_OCI_TOOLS:-${HOME:-/root}/.cache/artstore-tools}
ORAS=$TOOLS/oras
[[ -x $ORAS ]] || {
	echo "bench-oci-get: $ORAS is missing (scripts/oci-tools.sh \"$TOOLS\" fetches it)" >&2
	exit 1
}
command -v curl >/dev/null || {
	echo "bench-oci-get: curl is not installed" >&2
	exit 1
}

NAME=bench-oci-get
# shellcheck source=scripts/lib/oci-bench.sh
source "$(dirname "$0")/lib/oci-bench.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/artstore-bench-oci-get.XXXXXX")
PIDS=()
cleanup() {
	stop_all
	rm -rf "$WORK"
}
trap cleanup EXIT

head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/big.bin"
DIGEST=sha256:$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)
TICKS=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

for round in $(seq "$ROUNDS"); do
	n=${#BINS[@]}
	for k in $(seq 0 $((n - 1))); do
		bin=${BINS[$(((k + round) % n))]}
		tag=$(basename "$bin")
		dir=$WORK/run.$round.$k
		start_artstore "$bin" "$dir"
		PID=$AS_PID host=$AS_HOST token=$AS_TOKEN
		(cd "$WORK" && "$ORAS" push --plain-http -u bench --password-stdin "$host/bench/big:v1" big.bin <<<"$token" >/dev/null 2>&1)
		sync
		for g in $(seq "$GETS"); do
			c0=$(cpu "$PID")
			t=$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "http://$host/v2/bench/big/blobs/$DIGEST")
			sleep 0.2 # the request's goroutines finish after the last byte
			c1=$(cpu "$PID")
			printf '%s %d %d %s %s load=%s\n' "$tag" "$round" "$g" "$t" \
				"$(awk -v a="$c0" -v b="$c1" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')" \
				"$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$WORK/results"
		done
		stop_all
		rm -rf "$dir"
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '\n== medians\n%-24s %5s %10s %10s\n' build GETs seconds "CPU s"
for b in "${BINS[@]}"; do
	tag=$(basename "$b")
	printf '%-24s %5d %10s %10s\n' "$tag" \
		"$(awk -v t="$tag" '$1 == t' "$WORK/results" | wc -l)" \
		"$(awk -v t="$tag" '$1 == t { print $4 }' "$WORK/results" | median)" \
		"$(awk -v t="$tag" '$1 == t { print $5 }' "$WORK/results" | median)"
done
