#!/usr/bin/env bash
# bench-oci-pull.sh -- `oras pull` of one large blob from artstore daemons
# and from the CNCF distribution registry, many times, in alternated turns (a
# benchmark, not a test).
#
#   scripts/bench-oci-pull.sh [-s SIZE_MIB] ROUNDS BIN...
#
# It starts a daemon of each BIN on a fresh store and one distribution
# registry (filesystem storage, same disk), pushes a SIZE_MIB (default 512)
# file of random bytes to each with oras, then runs ROUNDS rounds; in each,
# every server (the order rotated from round to round) serves one `oras pull`
# of the file into a fresh directory. The servers stay up between pulls, so
# each pull finds the store as the pull right after a push does in
# scripts/bench-oci.sh (artstore reads its chunks from the device, as they
# were written with direct I/O; distribution its file from the page cache),
# without a push between pulls to add noise. Per pull it records the wall
# time, oras's CPU seconds (user + system, GNU time) and the server's (utime +
# stime from /proc/<pid>/stat, read before and after), and prints one line
# (server, round, seconds, oras CPU s, server CPU s, load average); at the end
# the medians per server and each server's median time against
# distribution's. CPU seconds are the steadier figures under other load.
#
# Tools: oras and registry from scripts/oci-tools.sh --with-registry (in
# $ARTSTORE_OCI_TOOLS, default ~/.cache/artstore-tools), curl, python3 (to
# pick a free port) and GNU time (/usr/bin/time).
set -euo pipefail
SIZE_MIB=512
if [[ ${1:-} == -s ]]; then
	SIZE_MIB=$2
	shift 2
fi
if (($# < 2)); then
	echo "usage: $0 [-s SIZE_MIB] ROUNDS BIN..." >&2
	exit 2
fi
ROUNDS=$1
shift
TOOLS=${ARTSTORE_OCI_TOOLS:-${HOME:-/root}/.cache/artstore-tools}
ORAS=$TOOLS/oras
REGISTRY=$TOOLS/registry
for t in "$ORAS" "$REGISTRY"; do
	[[ -x $t ]] || {
		echo "bench-oci-pull: $t is missing (scripts/oci-tools.sh --with-registry \"$TOOLS\" builds it)" >&2
		exit 1
	}
done
for t in curl python3 /usr/bin/time; do
	command -v "$t" >/dev/null || {
		echo "bench-oci-pull: $t is not installed" >&2
		exit 1
	}
done

NAME=bench-oci-pull
# shellcheck source=scripts/lib/oci-bench.sh
source "$(dirname "$0")/lib/oci-bench.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/artstore-bench-oci-pull.XXXXXX")
PIDS=()
cleanup() {
	stop_all
	rm -rf "$WORK"
}
trap cleanup EXIT

declare -A HOST PID
TAGS=()
for b in "$@"; do
	[[ $b == /* ]] || b=$PWD/$b
	tag=$(basename "$b")
	[[ -z ${PID[$tag]:-} && $tag != distribution ]] || {
		echo "bench-oci-pull: two servers named $tag: the results are told apart by file name" >&2
		exit 2
	}
	start_artstore "$b" "$WORK/$tag"
	PID[$tag]=$AS_PID
	HOST[$tag]=$AS_HOST
	TAGS+=("$tag")
done

start_distribution "$REGISTRY" "$WORK/distribution"
PID[distribution]=$DI_PID
HOST[distribution]=$DI_HOST
TAGS+=(distribution)

# oras_args TAG: the flags oras needs for TAG's server, and the file its
# standard input comes from (the token, read with --password-stdin).
oras_args() {
	AUTH=(--plain-http)
	AUTH_IN=/dev/null
	if [[ $1 != distribution ]]; then
		AUTH+=(-u bench --password-stdin)
		AUTH_IN=$WORK/$1/store/bootstrap-token
	fi
}

head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/big.bin"
for tag in "${TAGS[@]}"; do
	oras_args "$tag"
	(cd "$WORK" && "$ORAS" push "${AUTH[@]}" "${HOST[$tag]}/bench/big:v1" big.bin <"$AUTH_IN" >/dev/null 2>&1) || {
		echo "bench-oci-pull: oras push to $tag failed" >&2
		exit 1
	}
done
sync

TICKS=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
echo "== $(nproc) CPUs; $SIZE_MIB MiB; $ROUNDS rounds; load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
n=${#TAGS[@]}
for round in $(seq "$ROUNDS"); do
	for k in $(seq 0 $((n - 1))); do
		tag=${TAGS[$(((k + round) % n))]}
		out=$WORK/out
		rm -rf "$out"
		c0=$(cpu "${PID[$tag]}")
		s=$(date +%s.%N)
		oras_args "$tag"
		/usr/bin/time -f '%U %S' -o "$WORK/time" \
			"$ORAS" pull "${AUTH[@]}" -o "$out" "${HOST[$tag]}/bench/big:v1" <"$AUTH_IN" >/dev/null 2>&1
		e=$(date +%s.%N)
		sleep 0.2 # the request's goroutines finish after the last byte
		c1=$(cpu "${PID[$tag]}")
		cmp -s "$out/big.bin" "$WORK/big.bin" || {
			echo "bench-oci-pull: $tag served other bytes" >&2
			exit 1
		}
		printf '%s %d %s %s %s load=%s\n' "$tag" "$round" \
			"$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')" \
			"$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/time")" \
			"$(awk -v a="$c0" -v b="$c1" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }')" \
			"$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$WORK/results"
	done
done
rm -rf "$WORK/out"
echo "== load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$WORK/results" | median; }
base=$(col distribution 3)
printf '\n== medians of %d pulls each\n%-24s %9s %10s %13s %14s\n' "$ROUNDS" server seconds "oras CPU s" "server CPU s" "/ distribution"
for tag in "${TAGS[@]}"; do
	t=$(col "$tag" 3)
	printf '%-24s %9s %10s %13s %14s\n' "$tag" "$t" "$(col "$tag" 4)" "$(col "$tag" 5)" \
		"$(awk -v a="$t" -v d="$base" 'BEGIN { printf "%.2f x", a / d }')"
done
