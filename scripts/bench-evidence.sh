#!/usr/bin/env bash
# bench-evidence.sh — `artstore export` and `artstore verify-bundle` of one
# artifact against the plain tools that do the same work on the same bytes,
# in the same run; every figure is a ratio (machines are noisy, so nothing
# here is a pass/fail threshold).
#
#   scripts/bench-evidence.sh [SIZE_MIB [ROUNDS]]     (defaults: 1024 MiB, 3 rounds)
#
# One random file of SIZE_MIB is pushed into a new local store; then each
# round times, in turn (page cache warm: every command runs once untimed
# first):
#   artstore export REF --at N -o B.tar    vs  tar cf X.tar FILE && sync X.tar
#     (export writes its bundle to a temporary name, syncs it and renames
#     it into place; tar + sync writes the same bytes durably)
#   artstore verify-bundle B.tar --key-file K   vs  sha256sum FILE
#     (verify-bundle checks every chunk and the file against the registered
#     digests; sha256sum hashes the bytes once)
#   and the sum export + verify-bundle  vs  tar + sync + sha256sum
# The rounds alternate which of the pair goes first, so that a neighbour or
# a disk that slows down during the script slows both alike. Printed: the
# median of each, the ratio of the medians, the median and range of the
# per-round ratios, and peak RSS (/usr/bin/time, the largest of the rounds).
#
# Environment:
#   ARTSTORE_BIN   the binary to measure (default: build ./cmd/artstore)
#   BENCH_DIR      where the files go (default: $TMPDIR or /tmp)
set -euo pipefail

size_mib=${1:-1024}
rounds=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/artstore-bench-evidence.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

[[ -x /usr/bin/time ]] || { echo "bench-evidence: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
# The source, the bundle, the tar and the store's copy.
need_mib=$((size_mib * 4 + 64))
free_mib=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
if ((free_mib < need_mib)); then
	echo "bench-evidence: needs about $need_mib MiB free in $work, has $free_mib MiB; set BENCH_DIR or use a smaller size" >&2
	exit 1
fi

if [[ -n ${ARTSTORE_BIN:-} ]]; then
	A=$ARTSTORE_BIN
	[[ $A == /* ]] || A=$PWD/$A
else
	echo "building artstore..." >&2
	go build -o "$work/artstore" "$repo/cmd/artstore"
	A="$work/artstore"
fi
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
mkdir -p "$HOME"
store="$work/store"
as() { "$A" --store "$store" "$@"; }

echo "making a ${size_mib} MiB random file and pushing it..." >&2
head -c "$((size_mib * 1048576))" /dev/urandom >"$work/src.bin"
as --json push "$work/src.bin" --name bench/file >/dev/null
as log key >"$work/key.pub"
# measure NAME CMD...: run CMD once under /usr/bin/time; append its wall
# time to $work/NAME.all and its peak RSS (KiB) to $work/NAME.rss.
measure() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >/dev/null
	read -r wall rss <"$work/$name.time"
	echo "$wall" >>"$work/$name.all"
	echo "$rss" >>"$work/$name.rss"
}
export_() { rm -f "$work/b.tar"; measure export "$A" --store "$store" -q export bench/file --at "$at" -o "$work/b.tar"; }
tar_() { rm -f "$work/x.tar"; measure tar bash -c "cd '$work' && tar cf x.tar src.bin && sync x.tar"; }
verify_() { measure verify "$A" verify-bundle "$work/b.tar" --key-file "$work/key.pub"; }
sha_() { measure sha256sum sha256sum "$work/src.bin"; }

# Untimed once each: the page cache then holds the source, the store's
# chunks and a bundle, as in every timed run. The first export is of the
# whole log; every timed one is --at its size, so each writes the same
# bytes as the first (the retrieval records that exports append come
# after it), which the script checks with cmp.
echo "warming up..." >&2
as --json export bench/file -o "$work/first.tar" >"$work/first.json"
at=$(sed -n 's/^ *"size": \([0-9]*\),\{0,1\}$/\1/p' "$work/first.json" | head -1)
[[ -n $at ]] || { echo "bench-evidence: no log size in 'artstore export --json' output" >&2; exit 1; }
(cd "$work" && tar cf x.tar src.bin && sync x.tar)
as verify-bundle "$work/first.tar" --key-file "$work/key.pub" >/dev/null
sha256sum "$work/src.bin" >/dev/null
as -q export bench/file --at "$at" -o "$work/b.tar"
cmp "$work/first.tar" "$work/b.tar"
# No round starts with the warm-up's writes still going to the disk (a
# first export measured 9 s instead of 2.6 s, its fsync queued behind them).
sync

for round in $(seq "$rounds"); do
	echo "round $round of $rounds..." >&2
	if ((round % 2)); then
		export_
		tar_
		verify_
		sha_
	else
		tar_
		export_
		sha_
		verify_
	fi
	cmp "$work/first.tar" "$work/b.tar"
done
paste -d' ' "$work/export.all" "$work/verify.all" | awk '{ print $1 + $2 }' >"$work/both.all"
paste -d' ' "$work/tar.all" "$work/sha256sum.all" | awk '{ print $1 + $2 }' >"$work/plain.all"
cat "$work/export.rss" "$work/verify.rss" >"$work/both.rss"
cat "$work/tar.rss" "$work/sha256sum.rss" >"$work/plain.rss"

# middle: the median of the numbers on standard input, one a line (the
# lower middle one for an even count).
middle() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
median() { middle <"$work/$1.all"; }
# ratios NAME BASE: NAME's time / BASE's time in each round, one a line.
ratios() { paste -d' ' "$work/$1.all" "$work/$2.all" | awk '{ printf "%.2f\n", $1 / $2 }'; }
rss_mib() { sort -n "$work/$1.rss" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'; }
row() { # LABEL NAME PEER-LABEL PEER
	local r
	r=$(ratios "$2" "$4" | sort -n)
	printf '%-28s %7s s  %-26s %7s s  %5.2f x  [%s x; %s–%s]  %s / %s MiB\n' "$1" "$(median "$2")" "$3" "$(median "$4")" \
		"$(echo "$(median "$2") / $(median "$4")" | bc -l)" "$(middle <<<"$r")" "$(head -1 <<<"$r")" "$(tail -1 <<<"$r")" \
		"$(rss_mib "$2")" "$(rss_mib "$4")"
}
printf '\n== %d MiB random file, %d rounds (load average now: %s)\n' "$size_mib" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %9s  %-26s %9s  %7s  %s  %s\n' "" "median" "plain tools" "median" "ratio" "[median of per-round ratios; range]" "peak RSS"
row "artstore export --at N" export "tar cf + sync" tar
row "artstore verify-bundle" verify "sha256sum" sha256sum
row "export + verify-bundle" both "tar + sync + sha256sum" plain
printf 'per round (s): export %s | tar %s | verify-bundle %s | sha256sum %s\n' \
	"$(paste -sd' ' "$work/export.all")" "$(paste -sd' ' "$work/tar.all")" \
	"$(paste -sd' ' "$work/verify.all")" "$(paste -sd' ' "$work/sha256sum.all")"
