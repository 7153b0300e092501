#!/bin/sh
# bench-push.sh — measure the push/pull pipeline against plain tools on the
# same random file, in the same run, and print ratios.
#
#   scripts/bench-push.sh [SIZE_MIB [RUNS]]     (defaults: 1024 MiB, 3 runs)
#
# Figures (each the fastest of RUNS runs, so a burst of load from other
# processes does not decide the result; CPU seconds are user + sys):
#   - push, cold (into an empty local backend) vs `cp` + `sync FILE`
#   - warm re-push (every chunk already stored)
#   - edited copy (1 MiB overwritten in the middle): bytes newly stored
#   - pull (verified, to a file, fsynced) vs `cp` + `sync FILE`
#   - `sha256sum` of the file, for reference
#   - peak RSS of push and pull (/usr/bin/time -v)
# The page cache is warmed first, so every command reads from memory and
# writes (with fsync) to the same filesystem. BENCH_DIR chooses where the
# files go (default: $TMPDIR or /tmp).
set -eu

size_mib=${1:-1024}
runs=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/artstore-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# measure NAME CMD...: run CMD under /usr/bin/time, keep the fastest run's
# "wall cpu rss_kib" in $work/NAME.best and its stdout in $work/NAME.out.
measure() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" > "$work/$name.cur"
	set -- $(cat "$work/$name.time")
	line="$1 $(echo "$2 + $3" | bc) $4"
	if [ ! -f "$work/$name.best" ] || [ "$(echo "$1 < $(cut -d' ' -f1 "$work/$name.best")" | bc)" = 1 ]; then
		echo "$line" > "$work/$name.best"
		mv "$work/$name.cur" "$work/$name.out"
	fi
}
field() { cut -d' ' -f"$2" "$work/$1.best"; }
ratio() { echo "scale=2; $(field "$1" 1) / $(field "$2" 1)" | bc; }
rss() { echo "scale=1; $(field "$1" 3) / 1024" | bc; }
json() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$work/$1.out"; }

echo "building the driver..." >&2
go build -o "$work/transferbench" "$repo/internal/transfer/cmd/transferbench"
echo "making a ${size_mib} MiB random file..." >&2
head -c "$((size_mib * 1048576))" /dev/urandom > "$work/src.bin"
cat "$work/src.bin" > /dev/null

for i in $(seq "$runs"); do
	echo "run $i of $runs..." >&2
	measure sha sha256sum "$work/src.bin"
	measure cp sh -c "cp '$work/src.bin' '$work/cp.bin' && sync '$work/cp.bin'"
	rm -rf "$work/cp.bin" "$work/store"
	measure push "$work/transferbench" push "$work/store" "$work/src.bin"
	measure repush "$work/transferbench" push "$work/store" "$work/src.bin"
	manifest=$(json push manifest)
	measure pull "$work/transferbench" pull "$work/store" "$manifest" "$work/pulled.bin"
	cmp "$work/src.bin" "$work/pulled.bin"
	rm -f "$work/pulled.bin"
done

cp "$work/src.bin" "$work/edited.bin"
head -c 1048576 /dev/urandom | dd of="$work/edited.bin" bs=1048576 seek="$((size_mib / 2))" conv=notrunc status=none
measure edited "$work/transferbench" push "$work/store" "$work/edited.bin"
edited_new=$(json edited uploaded_bytes)
size=$((size_mib * 1048576))

cat <<REPORT
file: ${size_mib} MiB random, $(json push chunks) chunks; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)
best of $runs runs       wall s     cpu s    wall vs cp+sync   peak RSS
sha256sum                $(field sha 1)    $(field sha 2)    $(ratio sha cp)
cp + sync                $(field cp 1)    $(field cp 2)    1
push (cold)              $(field push 1)    $(field push 2)    $(ratio push cp)              $(rss push) MiB
push (warm, all stored)  $(field repush 1)    $(field repush 2)    $(ratio repush cp)              $(rss repush) MiB
pull (verified, fsync)   $(field pull 1)    $(field pull 2)    $(ratio pull cp)              $(rss pull) MiB
edited copy (1 MiB changed in the middle): $edited_new bytes newly stored = $(echo "scale=3; 100 * $edited_new / $size" | bc)%
REPORT
