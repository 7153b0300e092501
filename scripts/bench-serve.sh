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
# Environment:
#   ARTSTORE_BIN          the binary to measure (default: build ./cmd/artstore)
#   ARTSTORE_BIN_BEFORE   a second binary to compare it with (before and after a
#                         change): the whole measurement then runs BENCH_ROUNDS
#                         times for each binary, each run with its own daemon
#                         and store, the binaries taking turns to go first; a
#                         last table gives both medians side by side and the
#                         ratio after/before. Neither binary is built.
#   BENCH_ROUNDS          rounds with ARTSTORE_BIN_BEFORE (default 3)
#   BENCH_LOG=postgres://...  a PostgreSQL log instead of SQLite (shared by
#                         every run; set ARTSTORE_BOOTSTRAP_TOKEN to an admin
#                         token once the log has tokens)
# Example, before and after a change, same machine, same run:
#   ARTSTORE_BIN_BEFORE=/tmp/as-before ARTSTORE_BIN=/tmp/as-after scripts/bench-serve.sh 10s 64 64
set -euo pipefail
DURATION=${1:-10s}
CONNS=${2:-64}
PUSHERS=${3:-64}
ROUNDS=${BENCH_ROUNDS:-3}
# binary VAR: the absolute path of the executable named by $VAR.
binary() {
	local p=${!1}
	[[ -f $p && -x $p ]] || { echo "bench-serve: $1=$p is not an executable file" >&2; exit 2; }
	[[ $p == /* ]] || p=$PWD/$p
	echo "$p"
}
BIN=
[[ -z ${ARTSTORE_BIN:-} ]] || BIN=$(binary ARTSTORE_BIN)
BEFORE=
[[ -z ${ARTSTORE_BIN_BEFORE:-} ]] || BEFORE=$(binary ARTSTORE_BIN_BEFORE)
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
stop_daemon() {
	if [[ -n $SERVE_PID ]]; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
		SERVE_PID=
	fi
}
cleanup() {
	stop_daemon
	rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z $BIN ]]; then
	BIN=$WORK/artstore
	go build -o "$BIN" ./cmd/artstore
fi
LOGARG=()
[[ -n ${BENCH_LOG:-} ]] && LOGARG=(--log "$BENCH_LOG")

# record TAG NAME VALUE: append VALUE to the figures of NAME for binary TAG.
record() { echo "$3" >>"$WORK/$1.$2"; }
# ms VALUE: a wrk duration (850.00us, 1.23ms, 1.05s) in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[^m]s$/) n *= 1000; printf "%.3f\n", n }'; }

# measure BIN TAG: start a daemon of BIN on a new store in $WORK/TAG, measure
# it as the header says, print the figures and record them under TAG
# (rps_head, p50_head, p99_head, rps_get, p50_get, p99_get, push_wall,
# push_failed); stop the daemon.
measure() {
	local bin=$1 tag=$2 dir
	dir=$(mktemp -d "$WORK/$tag.XXXX")
	export ARTSTORE_STORE=$dir/store XDG_CONFIG_HOME=$dir/config HOME=$dir
	"$bin" serve --listen 127.0.0.1:0 --ready-file "$dir/ready" "${LOGARG[@]}" 2>"$dir/serve.log" &
	SERVE_PID=$!
	# Wait for the ready file with a deadline (never a fixed sleep).
	local deadline=$((SECONDS + 30))
	until [[ -s $dir/ready ]]; do
		if ((SECONDS >= deadline)) || ! kill -0 "$SERVE_PID" 2>/dev/null; then
			echo "bench-serve: daemon did not start:" >&2
			cat "$dir/serve.log" >&2
			exit 1
		fi
		sleep 0.05
	done
	export ARTSTORE_SERVER
	ARTSTORE_SERVER=$(cat "$dir/ready")
	if [[ -s $dir/store/bootstrap-token ]]; then
		ARTSTORE_TOKEN=$(cat "$dir/store/bootstrap-token")
	else
		ARTSTORE_TOKEN=${ARTSTORE_BOOTSTRAP_TOKEN:?the log already has tokens: set ARTSTORE_BOOTSTRAP_TOKEN to an admin token}
	fi
	export ARTSTORE_TOKEN

	head -c 1024 /dev/urandom >"$dir/small.bin"
	"$bin" push "$dir/small.bin" --name bench/small --json >"$dir/push.json"
	local digest url
	digest=$(sed -n 's/.*"content_digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$dir/push.json" | head -1)
	url="$ARTSTORE_SERVER/v1/blobs/$digest"
	echo "daemon $ARTSTORE_SERVER, blob $digest (1 KiB), $(nproc) CPUs, wrk -t2 -c$CONNS -d$DURATION"

	echo "== HEAD /v1/blobs/{digest} (ab -k -c$CONNS)"
	ab -q -i -k -c "$CONNS" -t "${DURATION%s}" -n 100000000 -H "Authorization: Bearer $ARTSTORE_TOKEN" "$url" 2>&1 |
		grep -E 'Requests per second|Failed requests|Non-2xx|^ +(50|99)%' | tee "$dir/ab.out"
	record "$tag" rps_head "$(awk '/Requests per second/ { print $4 }' "$dir/ab.out")"
	record "$tag" p50_head "$(awk '$1 == "50%" { print $2 }' "$dir/ab.out")"
	record "$tag" p99_head "$(awk '$1 == "99%" { print $2 }' "$dir/ab.out")"

	echo "== GET /v1/blobs/{digest} (1 KiB)"
	wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $ARTSTORE_TOKEN" "$url" >"$dir/wrk.out"
	grep -E 'Requests/sec|Latency  |^ +(50|99)%|Non-2xx|Socket errors' "$dir/wrk.out"
	record "$tag" rps_get "$(awk '/Requests\/sec/ { print $2 }' "$dir/wrk.out")"
	record "$tag" p50_get "$(ms "$(awk '$1 == "50%" { print $2 }' "$dir/wrk.out")")"
	record "$tag" p99_get "$(ms "$(awk '$1 == "99%" { print $2 }' "$dir/wrk.out")")"

	echo "== $PUSHERS concurrent CLI pushes (1 KiB to 64 KiB each)"
	local i p start end failed=0 pids=()
	for i in $(seq "$PUSHERS"); do
		head -c $((1024 * (1 + i % 64))) /dev/urandom >"$dir/p$i.bin"
	done
	start=$(date +%s.%N)
	for i in $(seq "$PUSHERS"); do
		"$bin" push "$dir/p$i.bin" --name "bench/p$((i % 8))" --quiet >"$dir/push$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	end=$(date +%s.%N)
	echo "pushes: $PUSHERS, failed: $failed, wall time: $(echo "$end - $start" | bc) s"
	record "$tag" push_wall "$(printf '%.3f' "$(echo "$end - $start" | bc)")"
	record "$tag" push_failed "$failed"
	if ((failed > 0)); then
		cat "$dir"/push*.out | sort | uniq -c | head >&2 || true
	fi
	"$bin" log verify
	echo "== /metrics excerpt"
	curl -s "$ARTSTORE_SERVER/metrics" | grep -E '^artstore_(log_head_seq|dedup_hits_total|blob_bytes_in_total)'
	stop_daemon
}
# failures TAG: how many pushes of TAG's runs failed.
failures() { paste -sd+ "$WORK/$1.push_failed" | bc; }

if [[ -z $BEFORE ]]; then
	measure "$BIN" after
	exit $(($(failures after) > 0))
fi

# Before and after: rounds in which each binary runs once, the first one
# alternating, so drift in the machine's speed falls on both alike.
for round in $(seq "$ROUNDS"); do
	order=(before after)
	((round % 2)) || order=(after before)
	for tag in "${order[@]}"; do
		bin=$BIN
		[[ $tag == before ]] && bin=$BEFORE
		echo
		echo "#### round $round of $ROUNDS: $tag ($bin)"
		measure "$bin" "$tag"
	done
done

# median TAG NAME: the median of a figure over the rounds (the lower middle
# one for an even count).
median() { sort -n "$WORK/$1.$2" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
row() { # LABEL NAME UNIT
	local b a
	b=$(median before "$2")
	a=$(median after "$2")
	printf '%-36s %12s %12s %10s\n' "$1" "$b $3" "$a $3" "$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f x", a / b; else print "-" }')"
}
printf '\n== before %s\n   after  %s\n   %d rounds, %s each, %d connections, %d pushers: medians\n' "$BEFORE" "$BIN" "$ROUNDS" "$DURATION" "$CONNS" "$PUSHERS"
printf '%-36s %12s %12s %10s\n' "" "before" "after" "after/before"
row "HEAD blob (ab): requests/s" rps_head ""
row "HEAD blob (ab): latency 50%" p50_head ms
row "HEAD blob (ab): latency 99%" p99_head ms
row "GET 1 KiB blob (wrk): requests/s" rps_get ""
row "GET 1 KiB blob (wrk): latency 50%" p50_get ms
row "GET 1 KiB blob (wrk): latency 99%" p99_get ms
row "$PUSHERS concurrent pushes: wall time" push_wall s
printf '%-36s %12s %12s\n' "failed pushes (all rounds)" "$(failures before)" "$(failures after)"
exit $(($(failures before) + $(failures after) > 0))
