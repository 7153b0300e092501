#!/usr/bin/env bash
# bench-serve.sh -- load figures for `artstore serve` (a benchmark, not a test).
#
#   scripts/bench-serve.sh [DURATION] [CONNECTIONS] [PUSHERS]
#
# Starts a daemon on 127.0.0.1 port 0 over a SQLite log and a local backend
# in a temporary directory, pushes one small artifact, then measures:
#   - HEAD /v1/blobs/{digest} of its blob, with ab (Debian "apache2-utils"):
#     wrk 4.1 waits for a body after a HEAD answer that has a Content-Length
#     and reports nothing
#   - GET  /v1/blobs/{digest} of its blob (1 KiB), with wrk (Debian "wrk")
# reporting requests/s and latency percentiles, and finally runs PUSHERS
# concurrent `artstore push` processes of distinct small files and reports
# how many failed and how long they took. Request logs go to a file in the
# temporary directory (they are part of the daemon's cost).
#
# Environment: ARTSTORE_BIN (default: build ./cmd/artstore), BENCH_LOG=postgres://...
# to use a PostgreSQL log instead of SQLite.
set -euo pipefail
DURATION=${1:-10s}
CONNS=${2:-64}
PUSHERS=${3:-64}
cd "$(dirname "$0")/.."
# Like restic and rclone in bench-cli.sh, a missing load generator skips this
# benchmark with a message instead of failing `make bench` half way.
for tool in wrk:wrk ab:apache2-utils; do
	command -v "${tool%%:*}" >/dev/null || {
		echo "bench-serve: ${tool%%:*} is not installed (apt-get install -y ${tool#*:}): daemon benchmark skipped" >&2
		exit 0
	}
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/artstore-bench.XXXXXX")
SERVE_PID=
cleanup() {
	if [[ -n $SERVE_PID ]]; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

BIN=${ARTSTORE_BIN:-}
if [[ -z $BIN ]]; then
	BIN=$WORK/artstore
	go build -o "$BIN" ./cmd/artstore
fi
export ARTSTORE_STORE=$WORK/store XDG_CONFIG_HOME=$WORK/config HOME=$WORK
LOGARG=()
[[ -n ${BENCH_LOG:-} ]] && LOGARG=(--log "$BENCH_LOG")

"$BIN" serve --listen 127.0.0.1:0 --ready-file "$WORK/ready" "${LOGARG[@]}" 2>"$WORK/serve.log" &
SERVE_PID=$!
# Wait for the ready file with a deadline (never a fixed sleep).
deadline=$((SECONDS + 30))
until [[ -s $WORK/ready ]]; do
	if ((SECONDS >= deadline)) || ! kill -0 "$SERVE_PID" 2>/dev/null; then
		echo "bench-serve: daemon did not start:" >&2
		cat "$WORK/serve.log" >&2
		exit 1
	fi
	sleep 0.05
done
export ARTSTORE_SERVER
ARTSTORE_SERVER=$(cat "$WORK/ready")
if [[ -s $WORK/store/bootstrap-token ]]; then
	ARTSTORE_TOKEN=$(cat "$WORK/store/bootstrap-token")
else
	ARTSTORE_TOKEN=${ARTSTORE_BOOTSTRAP_TOKEN:?the log already has tokens: set ARTSTORE_BOOTSTRAP_TOKEN to an admin token}
fi
export ARTSTORE_TOKEN

head -c 1024 /dev/urandom >"$WORK/small.bin"
"$BIN" push "$WORK/small.bin" --name bench/small --json >"$WORK/push.json"
DIGEST=$(sed -n 's/.*"content_digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$WORK/push.json" | head -1)
URL="$ARTSTORE_SERVER/v1/blobs/$DIGEST"
echo "daemon $ARTSTORE_SERVER, blob $DIGEST (1 KiB), $(nproc) CPUs, wrk -t2 -c$CONNS -d$DURATION"

run_wrk() {
	local what=$1
	shift
	echo "== $what"
	wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $ARTSTORE_TOKEN" "$@" | tee "$WORK/wrk.out" |
		grep -E 'Requests/sec|Latency  |^ +(50|99)%|Non-2xx|Socket errors'
}
echo "== HEAD /v1/blobs/{digest} (ab -k -c$CONNS)"
secs=${DURATION%s}
ab -q -i -k -c "$CONNS" -t "$secs" -n 100000000 -H "Authorization: Bearer $ARTSTORE_TOKEN" "$URL" 2>&1 |
	grep -E 'Requests per second|Failed requests|Non-2xx|^ +(50|99)%'
run_wrk "GET /v1/blobs/{digest} (1 KiB)" "$URL"

echo "== $PUSHERS concurrent CLI pushes (1 KiB to 64 KiB each)"
for i in $(seq "$PUSHERS"); do
	head -c $((1024 * (1 + i % 64))) /dev/urandom >"$WORK/p$i.bin"
done
start=$(date +%s.%N)
pids=()
for i in $(seq "$PUSHERS"); do
	"$BIN" push "$WORK/p$i.bin" --name "bench/p$((i % 8))" --quiet >"$WORK/push$i.out" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
end=$(date +%s.%N)
echo "pushes: $PUSHERS, failed: $failed, wall time: $(echo "$end - $start" | bc) s"
if ((failed > 0)); then
	for i in $(seq "$PUSHERS"); do [[ -s $WORK/push$i.out ]] && cat "$WORK/push$i.out"; done | sort | uniq -c | head >&2
fi
"$BIN" log verify
echo "== /metrics excerpt"
curl -s "$ARTSTORE_SERVER/metrics" | grep -E '^artstore_(log_head_seq|dedup_hits_total|blob_bytes_in_total)'
exit $((failed > 0))
