#!/usr/bin/env bash
# bench-oci.sh -- artstore's /v2 against the CNCF distribution registry, same
# machine, same run (a benchmark, not a test).
#
#   scripts/bench-oci.sh [SIZE_MIB] [ROUNDS] [BIG_GIB]
#
# Each round starts both registries on fresh storage in one temporary
# directory (artstore: `serve` over a SQLite log and a local backend;
# distribution: filesystem storage), the two taking turns to go first, and
# times with oras:
#   - `oras push` of a SIZE_MIB (default 512) file of random bytes,
#   - `oras pull` of it into an empty directory,
# then measures GET /v2/<name>/blobs/<digest> of a 1 KiB blob with
# `wrk -t1 -c64` (requests/s, p50, p99; one wrk thread: a second one on a
# 2-core machine takes the server's other core and its scheduling shows up
# in the server's tail latency: 50-55 ms at p99 for artstore's /v2 and
# 37-43 ms for its /v1, against 14-17 ms for /v2 with one wrk thread).
# Both servers log every request to a
# file, as they do by default. The last table gives the medians over ROUNDS
# (default 3) and the ratio artstore/distribution.
#
# Finally, on a daemon of its own, a BIG_GIB (default 10; 0 skips it) chunked
# upload through /v2 (POST, one PATCH per 256 MiB, PUT ?digest=) with curl,
# and the daemon's peak RSS (VmHWM) during it.
#
# Tools: oras and the registry binary from scripts/oci-tools.sh --with-registry
# (in $ARTSTORE_OCI_TOOLS, default ~/.cache/artstore-tools; the registry's
# first build takes about ten minutes), wrk and curl (Debian "wrk", "curl").
# ARTSTORE_BIN is the binary measured (default: build ./cmd/artstore).
# BENCH_OCI_COLD=1 drops the page cache (as root) after each push, so that
# the pull reads the blob from the disk on both servers; by default the
# pull follows the push at once, and a server that wrote the blob through
# the page cache (distribution) serves it from memory.
set -euo pipefail
SIZE_MIB=${1:-512}
ROUNDS=${2:-3}
BIG_GIB=${3:-10}
TOOLS=${ARTSTORE_OCI_TOOLS:-${HOME:-/root}/.cache/artstore-tools}
cd "$(dirname "$0")/.."
NAME=bench-oci
# shellcheck source=scripts/lib/oci-bench.sh
source scripts/lib/oci-bench.sh

for t in wrk curl; do
	command -v "$t" >/dev/null || {
		echo "bench-oci: $t is not installed (apt-get install -y $t): benchmark skipped" >&2
		exit 0
	}
done
for t in oras registry; do
	[[ -x $TOOLS/$t ]] || {
		echo "bench-oci: $TOOLS/$t is missing (scripts/oci-tools.sh --with-registry \"$TOOLS\" builds it): benchmark skipped" >&2
		exit 0
	}
done
ORAS=$TOOLS/oras
REGISTRY=$TOOLS/registry

WORK=$(mktemp -d "${TMPDIR:-/tmp}/artstore-bench-oci.XXXXXX")
PIDS=()
cleanup() {
	stop_all
	rm -rf "$WORK"
}
trap cleanup EXIT

BIN=${ARTSTORE_BIN:-}
if [[ -z $BIN ]]; then
	BIN=$WORK/artstore
	go build -o "$BIN" ./cmd/artstore
fi
[[ $BIN == /* ]] || BIN=$PWD/$BIN

# now: seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }
# secs START END: END - START in seconds, three decimals.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
record() { echo "$3" >>"$WORK/$1.$2"; }
median() { sort -n "$WORK/$1.$2" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ms VALUE: a wrk duration (850.00us, 1.23ms, 1.05s) in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[^m]s$/) n *= 1000; printf "%.3f\n", n }'; }

head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/big.bin"
head -c 1024 /dev/urandom >"$WORK/small.bin"
SMALL=sha256:$(sha256sum "$WORK/small.bin" | cut -d' ' -f1)

# measure TAG HOST AUTH...: push, pull and wrk against one registry.
measure() {
	local tag=$1 host=$2 dir start end
	shift 2
	dir=$(mktemp -d "$WORK/$tag-run.XXXX")
	# The 1 KiB blob wrk reads; this also warms up the server.
	(cd "$WORK" && "$ORAS" push --plain-http "$@" "$host/bench/small:v1" small.bin >/dev/null)
	start=$(now)
	(cd "$WORK" && "$ORAS" push --plain-http "$@" "$host/bench/timed:v1" big.bin >/dev/null)
	end=$(now)
	record "$tag" push "$(secs "$start" "$end")"
	if [[ -n ${BENCH_OCI_COLD:-} ]]; then
		# Both servers then read the blob from the disk, as a pull some
		# time after the push does.
		sync
		echo 3 >/proc/sys/vm/drop_caches
	fi
	start=$(now)
	"$ORAS" pull --plain-http "$@" -o "$dir/out" "$host/bench/timed:v1" >/dev/null
	end=$(now)
	record "$tag" pull "$(secs "$start" "$end")"
	cmp "$dir/out/big.bin" "$WORK/big.bin"
	rm -rf "$dir/out"
	local hdr=()
	[[ $tag == artstore ]] && hdr=(-H "Authorization: Bearer $AS_TOKEN")
	wrk -t1 -c64 -d10s --latency "${hdr[@]}" "http://$host/v2/bench/small/blobs/$SMALL" >"$dir/wrk.out"
	if grep -q 'Non-2xx' "$dir/wrk.out"; then
		echo "bench-oci: $tag answered errors under wrk:" >&2
		cat "$dir/wrk.out" >&2
		exit 1
	fi
	record "$tag" rps "$(awk '/Requests\/sec/ { print $2 }' "$dir/wrk.out")"
	record "$tag" p50 "$(ms "$(awk '$1 == "50%" { print $2 }' "$dir/wrk.out")")"
	record "$tag" p99 "$(ms "$(awk '$1 == "99%" { print $2 }' "$dir/wrk.out")")"
	printf '%-12s push %6.2f s  pull %6.2f s  GET 1 KiB %8s req/s  p99 %s ms\n' "$tag" \
		"$(tail -1 "$WORK/$tag.push")" "$(tail -1 "$WORK/$tag.pull")" "$(tail -1 "$WORK/$tag.rps")" "$(tail -1 "$WORK/$tag.p99")"
}

echo "== $(nproc) CPUs; $SIZE_MIB MiB file; $ROUNDS rounds; oras $("$ORAS" version | awk '/^Version/ { print $2 }')"
for round in $(seq "$ROUNDS"); do
	order=(artstore distribution)
	((round % 2)) || order=(distribution artstore)
	echo "#### round $round of $ROUNDS"
	for tag in "${order[@]}"; do
		sync
		if [[ $tag == artstore ]]; then
			start_artstore "$BIN" "$WORK/as$round"
			measure artstore "$AS_HOST" -u bench -p "$AS_TOKEN"
		else
			start_distribution "$REGISTRY" "$WORK/di$round"
			measure distribution "$DI_HOST"
		fi
		stop_all
		rm -rf "$WORK/as$round" "$WORK/di$round"
	done
done

row() { # LABEL NAME UNIT
	local a d
	a=$(median artstore "$2")
	d=$(median distribution "$2")
	printf '%-34s %14s %14s %10s\n' "$1" "$a $3" "$d $3" "$(awk -v a="$a" -v d="$d" 'BEGIN { if (d > 0) printf "%.2f x", a / d; else print "-" }')"
}
printf '\n== medians of %d rounds\n%-34s %14s %14s %10s\n' "$ROUNDS" "" artstore distribution ratio
row "oras push $SIZE_MIB MiB: seconds" push s
row "oras pull $SIZE_MIB MiB: seconds" pull s
row "GET 1 KiB blob (wrk -t1 -c64): req/s" rps ""
row "GET 1 KiB blob: latency 50%" p50 ms
row "GET 1 KiB blob: latency 99%" p99 ms

((BIG_GIB > 0)) || exit 0

# A chunked upload of BIG_GIB through /v2: 256 MiB of random bytes sent
# BIG_GIB*4 times (so the store deduplicates it, as it would a real re-upload:
# the figure is the daemon's memory, not the disk's speed), one PATCH each.
echo
echo "== chunked upload of $BIG_GIB GiB through /v2 (curl, one PATCH per 256 MiB): daemon peak RSS"
head -c $((256 << 20)) /dev/urandom >"$WORK/part.bin"
parts=$((BIG_GIB * 4))
digest=sha256:$(for _ in $(seq "$parts"); do cat "$WORK/part.bin"; done | sha256sum | cut -d' ' -f1)
start_artstore "$BIN" "$WORK/big"
auth=(-H "Authorization: Bearer $AS_TOKEN")
loc=$(curl -sSf -X POST "${auth[@]}" -D - -o /dev/null "http://$AS_HOST/v2/bench/huge/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
start=$(now)
for i in $(seq 0 $((parts - 1))); do
	off=$((i << 28))
	loc=$(curl -sSf -X PATCH "${auth[@]}" -H "Content-Type: application/octet-stream" \
		-H "Content-Range: $off-$((off + (1 << 28) - 1))" --data-binary "@$WORK/part.bin" \
		-D - -o /dev/null "http://$AS_HOST$loc" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
done
sep='?'
[[ $loc == *\?* ]] && sep='&'
code=$(curl -sS -X PUT "${auth[@]}" -o "$WORK/put.out" -w '%{http_code}' "http://$AS_HOST$loc${sep}digest=$digest")
end=$(now)
[[ $code == 201 ]] || {
	echo "bench-oci: the final PUT answered $code: $(cat "$WORK/put.out")" >&2
	exit 1
}
hwm=$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$AS_PID/status")
printf 'uploaded %d GiB in %s s; daemon peak RSS (VmHWM) %d MiB\n' "$BIG_GIB" "$(secs "$start" "$end")" "$hwm"
