#!/bin/sh
# bench-push.sh — measure the push/pull pipeline against plain tools on the
# same random file, in the same run, and print ratios.
#
#   scripts/bench-push.sh [SIZE_MIB]      (default 1024)
#
# Figures: push (cold, into an empty local backend) vs `cp` + `sync FILE`;
# warm re-push (everything deduplicated); an edited copy (1 MiB overwritten
# in the middle: bytes newly stored); pull (verified, to a file) vs `cp` +
# `sync FILE`; `sha256sum` for reference; peak RSS of push and pull from
# /usr/bin/time -v. The page cache is warmed first, so every command reads
# from memory and writes (with fsync) to the same filesystem.
# Set BENCH_DIR to choose where the files go (default: a temp dir).
set -eu

size_mib=${1:-1024}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/artstore-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
json() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1"; }
rss_mib() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" | awk '{printf "%.1f", $1/1024}'; }

echo "building the driver..."
go build -o "$work/transferbench" "$repo/pkg/client/internal/transfer/cmd/transferbench"

echo "making a ${size_mib} MiB random file..."
head -c "$((size_mib * 1048576))" /dev/urandom > "$work/src.bin"
cat "$work/src.bin" > /dev/null

t0=$(now); sha256sum "$work/src.bin" > /dev/null; t1=$(now)
t_sha=$(elapsed "$t0" "$t1")

t0=$(now); cp "$work/src.bin" "$work/cp.bin" && sync "$work/cp.bin"; t1=$(now)
t_cp=$(elapsed "$t0" "$t1")
rm -f "$work/cp.bin"; sync -f "$work" 2>/dev/null || true

t0=$(now)
/usr/bin/time -v "$work/transferbench" push "$work/store" "$work/src.bin" > "$work/push.json" 2> "$work/push.time"
t1=$(now)
t_push=$(elapsed "$t0" "$t1")
manifest=$(json "$work/push.json" manifest)

t0=$(now)
/usr/bin/time -v "$work/transferbench" push "$work/store" "$work/src.bin" > "$work/repush.json" 2> "$work/repush.time"
t1=$(now)
t_repush=$(elapsed "$t0" "$t1")

cp "$work/src.bin" "$work/edited.bin"
head -c 1048576 /dev/urandom | dd of="$work/edited.bin" bs=1048576 seek="$((size_mib / 2))" conv=notrunc status=none
"$work/transferbench" push "$work/store" "$work/edited.bin" > "$work/edited.json"
edited_new=$(json "$work/edited.json" uploaded_bytes)
rm -f "$work/edited.bin"

t0=$(now); cp "$work/src.bin" "$work/cp2.bin" && sync "$work/cp2.bin"; t1=$(now)
t_cp2=$(elapsed "$t0" "$t1")
rm -f "$work/cp2.bin"

t0=$(now)
/usr/bin/time -v "$work/transferbench" pull "$work/store" "$manifest" "$work/pulled.bin" > "$work/pull.json" 2> "$work/pull.time"
t1=$(now)
t_pull=$(elapsed "$t0" "$t1")
cmp "$work/src.bin" "$work/pulled.bin"

size=$((size_mib * 1048576))
cat <<REPORT

file: ${size_mib} MiB random, $(json "$work/push.json" chunks) chunks, on $(nproc) CPUs
sha256sum                 ${t_sha}s
cp + sync                 ${t_cp}s (again before pull: ${t_cp2}s)
push (cold)               ${t_push}s   ratio vs cp+sync: $(ratio "$t_push" "$t_cp")   peak RSS $(rss_mib "$work/push.time") MiB
push (warm, all present)  ${t_repush}s   ratio vs cp+sync: $(ratio "$t_repush" "$t_cp")   peak RSS $(rss_mib "$work/repush.time") MiB
edited copy (1 MiB)       $edited_new bytes newly stored = $(echo "scale=2; 100 * $edited_new / $size" | bc)%
pull (verified, to file)  ${t_pull}s   ratio vs cp+sync: $(ratio "$t_pull" "$t_cp2")   peak RSS $(rss_mib "$work/pull.time") MiB
REPORT
