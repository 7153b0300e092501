#!/usr/bin/env bash
# bench-s3.sh -- artstore's transfers to and from an S3 server against
# rclone, and direct transfers against the daemon's proxy path, in one run.
# Needs the S3 server of scripts/ceph-rgw.sh (source DIR/env first) and
# rclone (scripts/ci-deps.sh installs it).
#
#   scripts/bench-s3.sh [SIZE_MIB [ROUNDS]]      (defaults: 512 MiB, 3 rounds)
#
# ARTSTORE_BIN names a binary to measure instead of one built from this
# checkout (to compare two versions in the same conditions).
#
# 1. Each round makes a new random file (so every push stores new data)
#    and times, one after the other: artstore push and pull in local mode
#    (the CLI talks to the bucket), the same through a daemon with direct
#    transfers (remote mode), and rclone copy up and down. Wall time and
#    peak RSS (/usr/bin/time -f %M) of each; medians over the rounds.
# 2. With ARTSTORE_TEST_POSTGRES set: two daemons on one new PostgreSQL
#    database and the bucket; 4 clients push SIZE/2 MiB of new data each at
#    once, 2 through each daemon; aggregate throughput with direct
#    transfers, then with --proxy-blobs, in alternated rounds.
#
# BENCH_PARTS=1 or 2 runs only that part.
set -euo pipefail

size_mib=${1:-512}
rounds=${2:-3}
: "${ARTSTORE_TEST_S3_ENDPOINT:?source the env file of scripts/ceph-rgw.sh start DIR first}"
command -v rclone >/dev/null || { echo "bench-s3: rclone is not installed (scripts/ci-deps.sh)" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/artstore-bench-s3.XXXXXX")
pids=()
db=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rclone purge "rgw:$bucket" >/dev/null 2>&1 || true
	if [[ -n $db ]]; then dropdb -h 127.0.0.1 -U postgres --if-exists "$db" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# rclone 1.60 fails on AWS_CA_BUNDLE with its own HTTP transport; the
# server of ceph-rgw.sh speaks plain HTTP, so no CA bundle is needed.
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph \
	RCLONE_CONFIG_RGW_ENDPOINT="$ARTSTORE_TEST_S3_ENDPOINT" \
	RCLONE_CONFIG_RGW_ACCESS_KEY_ID="$ARTSTORE_TEST_S3_ACCESS_KEY" \
	RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY="$ARTSTORE_TEST_S3_SECRET_KEY" \
	RCLONE_CONFIG_RGW_REGION="${ARTSTORE_TEST_S3_REGION:-us-east-1}"
bucket="artstore-bench-$$"
rclone mkdir "rgw:$bucket"

A=${ARTSTORE_BIN:-$work/artstore}
[[ -n ${ARTSTORE_BIN:-} ]] || (cd "$repo" && go build -o "$A" ./cmd/artstore)

# config STORE PREFIX: a config file whose default backend is the bucket,
# under PREFIX (each log has its own: a backend belongs to one log).
config() {
	mkdir -p "$1"
	cat >"$1/config.yaml" <<YAML
store: $1
default_backend: s3
backends:
  s3:
    type: s3
    bucket: $bucket
    prefix: $2/
    endpoint: $ARTSTORE_TEST_S3_ENDPOINT
    region: ${ARTSTORE_TEST_S3_REGION:-us-east-1}
    path_style: true
    access_key_id: $ARTSTORE_TEST_S3_ACCESS_KEY
    secret_access_key: $ARTSTORE_TEST_S3_SECRET_KEY
YAML
}

# daemon NAME LOG [FLAGS...]: start `artstore serve` on a free port with the
# bucket (under $prefix) as backend; sets URL_<NAME>.
token="art_$(head -c 10 /dev/urandom | base32 | tr 'A-Z' 'a-z' | tr -d '=' | cut -c1-16)_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | cut -c1-43)"
daemon() {
	local name=$1 log=$2
	shift 2
	config "$work/$name" "$prefix"
	rm -f "$work/$name/ready"
	ARTSTORE_BOOTSTRAP_TOKEN=$token "$A" --config "$work/$name/config.yaml" serve --listen 127.0.0.1:0 \
		--ready-file "$work/$name/ready" --log "$log" "$@" 2>"$work/$name/serve.log" &
	pids+=($!)
	for _ in $(seq 300); do [[ -s $work/$name/ready ]] && break; sleep 0.1; done
	[[ -s $work/$name/ready ]] || { cat "$work/$name/serve.log" >&2; exit 1; }
	printf -v "URL_$name" '%s' "$(tr -d '\n' <"$work/$name/ready")"
}
stop_daemons() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=()
}

# timed NAME CMD...: run CMD under /usr/bin/time; append "wall rss_kib" to NAME.
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null
	cat "$work/t" >>"$work/$name.runs"
}
med() { sort -n "$work/$1.runs" | awk -v c="${2:-1}" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

export ARTSTORE_TOKEN=$token
single() {
config "$work/local" local
prefix=solo daemon solo "$work/solo/artstore.db"
for r in $(seq "$rounds"); do
	head -c $((size_mib << 20)) /dev/urandom >"$work/src.bin"
	timed push-local "$A" --config "$work/local/config.yaml" --json push "$work/src.bin" --name bench/local
	rm -f "$work/out.bin"
	timed pull-local "$A" --config "$work/local/config.yaml" --json pull bench/local -o "$work/out.bin"
	cmp "$work/src.bin" "$work/out.bin"
	head -c 1048576 /dev/urandom | dd of="$work/src.bin" bs=1M seek=1 conv=notrunc status=none # new data again
	timed push-remote "$A" --server "$URL_solo" --json push "$work/src.bin" --name bench/remote
	rm -f "$work/out.bin"
	timed pull-remote "$A" --server "$URL_solo" --json pull bench/remote -o "$work/out.bin"
	cmp "$work/src.bin" "$work/out.bin"
	timed push-rclone rclone copy "$work/src.bin" "rgw:$bucket/rclone/$r/"
	rm -rf "$work/rc"
	timed pull-rclone rclone copy "rgw:$bucket/rclone/$r/src.bin" "$work/rc/"
	# this round's ratios to rclone (a shared machine's load drifts between
	# rounds; within one it weighs on every tool alike)
	for n in push-local push-remote pull-local pull-remote; do
		echo "$(tail -1 "$work/$n.runs" | cut -d' ' -f1) / $(tail -1 "$work/${n%%-*}-rclone.runs" | cut -d' ' -f1)" | bc -l >>"$work/$n.ratio.runs"
	done
	echo "round $r done" >&2
done
stop_daemons

printf '\n== %d MiB of new data per push, %d rounds, S3 at %s: median wall time, median peak RSS\n' "$size_mib" "$rounds" "$ARTSTORE_TEST_S3_ENDPOINT"
for n in push-local push-remote push-rclone pull-local pull-remote pull-rclone; do
	printf '%-14s %6s s   %5d MiB\n' "$n" "$(med "$n" 1)" "$(($(med "$n" 2) / 1024))"
done
printf 'median of per-round ratios to rclone copy: push local %.2f x, remote %.2f x; pull local %.2f x, remote %.2f x\n' \
	"$(med push-local.ratio)" "$(med push-remote.ratio)" "$(med pull-local.ratio)" "$(med pull-remote.ratio)"
}
[[ ${BENCH_PARTS:-12} == *1* ]] && single

[[ ${BENCH_PARTS:-12} == *2* ]] || exit 0
[[ -n ${ARTSTORE_TEST_POSTGRES:-} ]] || { echo "ARTSTORE_TEST_POSTGRES not set: multi-daemon comparison skipped"; exit 0; }
db="artstore_bench_$$"
createdb -h 127.0.0.1 -U postgres "$db"
pg="${ARTSTORE_TEST_POSTGRES%/*}/$db?sslmode=disable"
each=$((size_mib / 2))
# concurrent MODE: 4 pushes at once, 2 per daemon, each of a new random
# file (made before the clock starts); prints the aggregate MiB/s.
concurrent() {
	local mode=$1 t0 t1
	for c in 1 2 3 4; do head -c $((each << 20)) /dev/urandom >"$work/c$c.bin"; done
	t0=$(date +%s.%N)
	local ps=()
	for c in 1 2 3 4; do
		local u=$URL_d1
		((c % 2 == 0)) && u=$URL_d2
		"$A" --server "$u" --json push "$work/c$c.bin" --name "bench/c$c" >/dev/null &
		ps+=($!)
	done
	for p in "${ps[@]}"; do wait "$p"; done
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk -v mib=$((4 * each)) '{ printf "%.0f\n", mib / ($2 - $1) }' >>"$work/conc-$mode.runs"
}
modes=(direct proxy)
proxyflag=(--proxy-blobs)
# a binary without --proxy-blobs has no direct transfers: one mode only
[[ $("$A" serve --help 2>/dev/null) == *--proxy-blobs* ]] || { modes=(proxy); proxyflag=(); }
for r in $(seq "$rounds"); do
	for mode in "${modes[@]}"; do
		flags=()
		[[ $mode == proxy ]] && flags=("${proxyflag[@]}")
		prefix=shared daemon d1 "$pg" "${flags[@]}"
		prefix=shared daemon d2 "$pg" "${flags[@]}"
		concurrent "$mode"
		stop_daemons
	done
done
printf '\n== 4 clients x %d MiB of new data at once through 2 daemons (PostgreSQL log, one bucket), %d rounds: median aggregate MiB/s\n' "$each" "$rounds"
for mode in "${modes[@]}"; do printf '%-8s %s MiB/s\n' "$mode" "$(med "conc-$mode")"; done
