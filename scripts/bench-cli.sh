#!/usr/bin/env bash
# bench-cli.sh — the real `artstore` binary against plain tools on the same
# random file, in the same run; every figure is a ratio (machines are noisy,
# so nothing here is a pass/fail threshold).
#
#   scripts/bench-cli.sh [SIZE_MIB [RUNS]]     (defaults: 1024 MiB, 3 runs)
#
# Local backend, in RUNS rounds that time each tool once in turn (each figure
# the fastest and, in parentheses, the median of the RUNS runs; page cache
# warm):
#   push (cold, empty store)       vs  cp + sync     and  restic backup (fresh repo)
#   pull (verified, to a file)     vs  cp + sync
#   warm re-push (all chunks known) vs cp + sync
#   edited copy (1 MiB overwritten in the middle): bytes newly stored
#   peak RSS of push and pull (/usr/bin/time)
# S3 (only when ARTSTORE_TEST_S3_ENDPOINT and its keys are set, e.g. from
# `scripts/ceph-rgw.sh start DIR; . DIR/env`):
#   push and pull through the S3 backend  vs  rclone copy to/from the same server
#
# restic and rclone are Debian packages (apt-get install restic rclone); a
# comparison whose tool is missing is skipped with a message.
#
# Environment:
#   ARTSTORE_BIN          the binary to measure (default: build ./cmd/artstore)
#   ARTSTORE_BIN_BEFORE   a second binary to compare it with (before and after a
#                         change): each round then also times this one's cold
#                         push, warm re-push and pull, on the same file, in its
#                         own store, the two binaries taking turns to go first;
#                         a last table gives both medians side by side, the
#                         ratio after/before of the medians and, in brackets,
#                         the median of the per-round ratios. Neither is built.
#   BENCH_DIR             where the files go (default: $TMPDIR or /tmp)
# Example, before and after a change, same machine, same run:
#   git worktree add /tmp/before main && (cd /tmp/before && go build -o /tmp/as-before ./cmd/artstore)
#   go build -o /tmp/as-after ./cmd/artstore
#   ARTSTORE_BIN_BEFORE=/tmp/as-before ARTSTORE_BIN=/tmp/as-after scripts/bench-cli.sh 1024 5
set -euo pipefail

size_mib=${1:-1024}
runs=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/artstore-bench-cli.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

# measure1 NAME CMD...: run CMD once under /usr/bin/time; append its wall
# time to $work/NAME.all; keep the fastest run's "wall rss_kib" in
# $work/NAME.best and its stdout in $work/NAME.out.
measure1() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.cur"
	read -r wall rss <"$work/$name.time"
	echo "$wall" >>"$work/$name.all"
	if [[ ! -f $work/$name.best ]] || (($(echo "$wall < $(cut -d' ' -f1 "$work/$name.best")" | bc))); then
		echo "$wall $rss" >"$work/$name.best"
		mv "$work/$name.cur" "$work/$name.out"
	fi
}
# measure NAME CMD...: measure1 RUNS times in a row, each after the setup
# function named by $PRE (if set), untimed.
measure() {
	for _ in $(seq "$runs"); do
		if [[ -n ${PRE:-} ]]; then $PRE; fi
		measure1 "$@"
	done
}
wall() { cut -d' ' -f1 "$work/$1.best"; }
# middle: the median of the numbers on standard input, one a line (the
# lower middle one for an even count).
middle() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# median NAME: the median wall time of NAME's runs.
median() { middle <"$work/$1.all"; }
mratio() { echo "scale=2; $(median "$1") / $(median "$2")" | bc; }
# rratio NAME BASE: the median over rounds of NAME's time / BASE's time in
# the same round (the local runs go in rounds; see below).
rratio() { paste -d' ' "$work/$1.all" "$work/$2.all" | awk '{ printf "%.2f\n", $1 / $2 }' | middle; }
rss_mib() { echo "scale=1; $(cut -d' ' -f2 "$work/$1.best") / 1024" | bc; }
ratio() { echo "scale=2; $(wall "$1") / $(wall "$2")" | bc; }
jfield() { sed -n "s/^ *\"$2\": \"\{0,1\}\([^,\"]*\)\"\{0,1\},\{0,1\}$/\1/p" "$work/$1.out" | head -1; }

# binary VAR: the absolute path of the executable named by $VAR.
binary() {
	local p=${!1}
	[[ -f $p && -x $p ]] || { echo "bench-cli: $1=$p is not an executable file" >&2; exit 2; }
	[[ $p == /* ]] || p=$PWD/$p
	echo "$p"
}
if [[ -n ${ARTSTORE_BIN:-} ]]; then
	A=$(binary ARTSTORE_BIN)
else
	echo "building artstore..." >&2
	go build -o "$work/artstore" "$repo/cmd/artstore"
	A="$work/artstore"
fi
B=
if [[ -n ${ARTSTORE_BIN_BEFORE:-} ]]; then
	B=$(binary ARTSTORE_BIN_BEFORE)
fi
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
mkdir -p "$HOME"

echo "making a ${size_mib} MiB random file..." >&2
head -c "$((size_mib * 1048576))" /dev/urandom >"$work/src.bin"
cat "$work/src.bin" >/dev/null

# What a timed run replaces is moved aside, not deleted, and everything is
# deleted when the script ends. On ext4 without a journal (these VMs), an
# inode freed in the last minute (up to six while its inode table block is
# dirty) is skipped when a new one is allocated, so each file created after
# `rm -rf` of a store scans past the store's ~1,000 freed inodes (417
# files and 628 directories for 1 GiB): measured
# with `perf record`, 14.5% of a cold push's CPU time went there (0.75 s of
# 5.2 s), against 2% for a push into a new directory with nothing deleted
# shortly before. cp's single file barely notices, so deleting between runs
# made the comparison unfair; and with the `discard` mount option a delete
# also queues trim work that the next run would share the disk with.
per_round=4 # copies, stores and restic repositories a round sets aside
[[ -z $B ]] || per_round=6
need_mib=$((size_mib * (per_round * runs + 4)))
free_mib=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
if ((free_mib < need_mib)); then
	echo "bench-cli: needs about $need_mib MiB free in $work (runs keep their output until the end), has $free_mib MiB;" >&2
	echo "           set BENCH_DIR to a roomier filesystem, or use fewer runs or a smaller size" >&2
	exit 1
fi
aside=0
set_aside() { [[ -e $1 ]] || return 0; aside=$((aside + 1)); mv "$1" "$work/aside/$aside"; }
mkdir -p "$work/aside"
fresh_store() { set_aside "$work/store"; }
rm_copy() { set_aside "$work/copy.bin"; }

# The local runs go in rounds, each timing every tool once in turn, so
# that a disk or a neighbour that slows down during the script slows all
# of them alike (seen here: cp + sync from 1.9 s to 3.5 s within half an
# hour, as the VM's disk slowed down).
have_restic=$(command -v restic >/dev/null && echo yes || true)
fresh_restic() { set_aside "$work/restic"; RESTIC_PASSWORD=bench restic init -q --repo "$work/restic" >/dev/null; }
# artstore_round SUFFIX BIN: time BIN's cold push into a new store, its warm
# re-push and its pull, as pushSUFFIX, warmSUFFIX and pullSUFFIX.
artstore_round() {
	local store="$work/store$1"
	set_aside "$store"
	measure1 "push$1" "$2" --store "$store" --json push "$work/src.bin" --name bench/file
	# warm: the store holds the file already (from the cold push)
	measure1 "warm$1" "$2" --store "$store" --json push "$work/src.bin" --name bench/file
	rm_copy
	measure1 "pull$1" "$2" --store "$store" --json pull bench/file -o "$work/copy.bin"
	cmp "$work/src.bin" "$work/copy.bin"
}
for round in $(seq "$runs"); do
	rm_copy
	measure1 cp bash -c "cp '$work/src.bin' '$work/copy.bin' && sync '$work/copy.bin'"
	if [[ -z $B ]]; then
		artstore_round "" "$A"
	elif ((round % 2)); then # before first in odd rounds, after first in even ones
		artstore_round .before "$B"
		artstore_round "" "$A"
	else
		artstore_round "" "$A"
		artstore_round .before "$B"
	fi
	if [[ -n $have_restic ]]; then
		fresh_restic
		measure1 restic env RESTIC_PASSWORD=bench restic backup -q --repo "$work/restic" "$work/src.bin"
	fi
done

# edited copy: 1 MiB overwritten in the middle
cp "$work/src.bin" "$work/edited.bin"
head -c 1048576 /dev/urandom | dd of="$work/edited.bin" bs=1M seek=$((size_mib / 2)) conv=notrunc status=none
"$A" --store "$work/store" --json push "$work/edited.bin" --name bench/edited >"$work/edited.out"
edited_new=$(jfield edited uploaded_bytes)

printf '\n== local backend, %d MiB random file, %d rounds: fastest (median) [median of per-round ratios]\n' "$size_mib" "$runs"
row() { # LABEL NAME
	printf '%-34s %5s s (%5s s)  %5s x (%5s x) [%5s x] cp+sync   peak RSS %s MiB\n' "$1" "$(wall "$2")" "$(median "$2")" \
		"$(ratio "$2" cp)" "$(mratio "$2" cp)" "$(rratio "$2" cp)" "$(rss_mib "$2")"
}
row "cp + sync" cp
row "artstore push (cold)" push
row "artstore push (warm, all dedup)" warm
row "artstore pull (verified)" pull
printf '%-34s %s of %s bytes newly stored (%s%%)\n' "edited copy (1 MiB changed)" "$edited_new" "$((size_mib * 1048576))" \
	"$(echo "scale=2; 100 * $edited_new / ($size_mib * 1048576)" | bc)"

if [[ -n $have_restic ]]; then
	printf '%-34s %5s s (%5s s)  artstore push is %sx (%sx) [%sx] faster\n' "restic backup (fresh repo)" "$(wall restic)" "$(median restic)" \
		"$(echo "scale=2; $(wall restic) / $(wall push)" | bc)" "$(mratio restic push)" "$(rratio restic push)"
else
	echo "restic not installed (apt-get install restic): restic comparison skipped"
fi

if [[ -n $B ]]; then
	printf '\n== before %s\n   after  %s\n   %d rounds, each binary once per round: median [median of per-round after/before]\n' "$B" "$A" "$runs"
	printf '%-34s %9s %9s %16s   %s\n' "" "before" "after" "after/before" "peak RSS (fastest run) before, after"
	compare() { # LABEL NAME
		printf '%-34s %7s s %7s s %6.2f x [%5.2f x]   %s, %s MiB\n' "$1" "$(median "$2.before")" "$(median "$2")" \
			"$(echo "$(median "$2") / $(median "$2.before")" | bc -l)" "$(rratio "$2" "$2.before")" "$(rss_mib "$2.before")" "$(rss_mib "$2")"
	}
	compare "artstore push (cold)" push
	compare "artstore push (warm, all dedup)" warm
	compare "artstore pull (verified)" pull
fi

if [[ -n ${ARTSTORE_TEST_S3_ENDPOINT:-} ]]; then
	if ! command -v rclone >/dev/null; then
		echo "rclone not installed (apt-get install rclone): S3 comparison skipped"
	else
		bucket="artstore-bench-$$"
		export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph \
			RCLONE_CONFIG_RGW_ENDPOINT="$ARTSTORE_TEST_S3_ENDPOINT" \
			RCLONE_CONFIG_RGW_ACCESS_KEY_ID="$ARTSTORE_TEST_S3_ACCESS_KEY" \
			RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY="$ARTSTORE_TEST_S3_SECRET_KEY" \
			RCLONE_CONFIG_RGW_REGION="${ARTSTORE_TEST_S3_REGION:-us-east-1}"
		unset AWS_CA_BUNDLE
		rclone mkdir "rgw:$bucket"
		export AWS_ACCESS_KEY_ID="$ARTSTORE_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$ARTSTORE_TEST_S3_SECRET_KEY"
		s3store() {
			chmod -R u+w "$work/s3store" 2>/dev/null || true
			rm -rf "$work/s3store" "$work/s3.yaml"
			rclone purge "rgw:$bucket/artstore" >/dev/null 2>&1 || true
			cat >"$work/s3.yaml" <<YAML
store: $work/s3store
backends:
  default:
    type: s3
    bucket: $bucket
    prefix: artstore/
    endpoint: $ARTSTORE_TEST_S3_ENDPOINT
    region: ${ARTSTORE_TEST_S3_REGION:-us-east-1}
    path_style: true
YAML
		}
		rclone_clean() { rclone purge "rgw:$bucket/rclone" >/dev/null 2>&1 || true; }
		PRE=s3store measure s3push "$A" --config "$work/s3.yaml" --json push "$work/src.bin" --name bench/file
		PRE=rm_copy measure s3pull "$A" --config "$work/s3.yaml" --json pull bench/file -o "$work/copy.bin"
		cmp "$work/src.bin" "$work/copy.bin"
		PRE=rclone_clean measure rcpush rclone copy "$work/src.bin" "rgw:$bucket/rclone/"
		rm_copy
		mkdir -p "$work/rc"
		rcpull_clean() { rm -f "$work/rc/src.bin"; }
		PRE=rcpull_clean measure rcpull rclone copy "rgw:$bucket/rclone/src.bin" "$work/rc/"
		printf '\n== S3 (%s), %d MiB\n' "$ARTSTORE_TEST_S3_ENDPOINT" "$size_mib"
		printf '%-34s %8s s   %6s x rclone copy (%s s)\n' "artstore push via S3" "$(wall s3push)" "$(ratio s3push rcpush)" "$(wall rcpush)"
		printf '%-34s %8s s   %6s x rclone copy (%s s)\n' "artstore pull via S3" "$(wall s3pull)" "$(ratio s3pull rcpull)" "$(wall rcpull)"
		rclone purge "rgw:$bucket" >/dev/null 2>&1 || true
	fi
fi
