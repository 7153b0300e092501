#!/usr/bin/env bash
# bench-treepull.sh — time a tree pull when the filesystem is quiet and when
# other data is waiting to be written, for one or more artstore builds (and
# restic restore, when restic is installed), alternating them round by round
# so every variant sees the same background load.
#
#   scripts/bench-treepull.sh [-n NFILES] [-r ROUNDS] [-d DIRTY_MIB] BIN...
#   (defaults: 10,000 files, 5 rounds, 200 MiB)
#
# The tree is the one shared/lab/smallfiles-bench.sh builds: NFILES files of
# 100 B to 16 KiB of random bytes in 100 directories, same seed. It is pushed
# once (with the first BIN); then each round, for each condition:
#   quiet: `sync`, then time the pull into a fresh directory;
#   dirty: write DIRTY_MIB of unrelated data with dd (not synced), then time
#          the pull — a pull that flushes the whole filesystem pays for it.
# Every timing is printed with the load average at that moment; the medians
# per variant and condition come last. BENCH_DIR chooses where the files go
# (default: $TMPDIR or /tmp).
set -u

n=10000 rounds=5 dirty=200
while getopts n:r:d: o; do
	case $o in
	n) n=$OPTARG ;;
	r) rounds=$OPTARG ;;
	d) dirty=$OPTARG ;;
	*) echo "usage: $0 [-n NFILES] [-r ROUNDS] [-d DIRTY_MIB] BIN..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n NFILES] [-r ROUNDS] [-d DIRTY_MIB] BIN..." >&2; exit 2; }
bins=("$@")

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/treepull.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
export RESTIC_PASSWORD=bench XDG_CACHE_HOME=$W/cache

python3 - "$W/tree" "$n" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2]); random.seed(7)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 100)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.txt" % i), "wb") as f: f.write(os.urandom(random.randint(100, 16384)))
PY
echo "tree: $n files, $(du -sh "$W/tree" | cut -f1)"
"${bins[0]}" --store "$W/s" push "$W/tree" --name bench/tree >/dev/null || exit 1

variants=()
for i in "${!bins[@]}"; do variants+=("bin$i"); done
have_restic=false
if command -v restic >/dev/null; then
	restic init -r "$W/r" >/dev/null 2>&1 && restic backup -q -r "$W/r" "$W/tree" >/dev/null 2>&1 &&
		have_restic=true && variants+=(restic)
fi
for i in "${!bins[@]}"; do echo "bin$i = ${bins[$i]}"; done

# run VARIANT DEST: pull (or restore) the tree into DEST.
run() {
	case $1 in
	restic) restic restore latest -q -r "$W/r" --target "$2" ;;
	bin*) "${bins[${1#bin}]}" --store "$W/s" pull bench/tree:latest -o "$2" ;;
	esac
}

prepare() {
	rm -rf "$W/out" "$W/junk"
	sync
	if [ "$1" = dirty ]; then
		dd if=/dev/urandom of="$W/junk" bs=1M count="$dirty" status=none
	fi
}

: >"$W/times"
for r in $(seq 1 "$rounds"); do
	order=("${variants[@]}")
	if [ $((r % 2)) = 0 ]; then # reverse the order every other round
		order=()
		for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[$i]}"); done
	fi
	for cond in quiet dirty; do
		for v in "${order[@]}"; do
			prepare "$cond"
			s=$(date +%s.%N)
			run "$v" "$W/out" >/dev/null 2>&1 || echo "FAILED: $v" >&2
			e=$(date +%s.%N)
			t=$(echo "$e - $s" | bc)
			load=$(cut -d' ' -f1 /proc/loadavg)
			printf "round %d %-5s %-6s %6.2f s  load %s\n" "$r" "$cond" "$v" "$t" "$load"
			echo "$cond $v $t" >>"$W/times"
		done
	done
done
rm -rf "$W/out" "$W/junk"

echo "medians of $rounds rounds:"
for cond in quiet dirty; do
	for v in "${variants[@]}"; do
		med=$(awk -v c="$cond" -v v="$v" '$1 == c && $2 == v { print $3 }' "$W/times" | sort -n |
			awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
		printf "%-5s %-6s %6.2f s\n" "$cond" "$v" "$med"
	done
done
