#!/usr/bin/env bash
# bench-append.sh -- event log append throughput of several revisions, same
# run (a benchmark, not a test).
#
#   scripts/bench-append.sh [-r ROUNDS] REV [REV...]
#
# Builds the test binaries of ./internal/eventlog/sqlite and
# ./internal/eventlog/postgres at each REV (a commit, or "." for the working
# tree) and runs, ROUNDS times (default 6), each revision once per round in
# an order that rotates from round to round, on a fresh database each run:
#   - SQLite, BenchmarkAppendBatch100 (200 batches) and AppendBatch1000 (30),
#   - PostgreSQL, the same two (when ARTSTORE_TEST_POSTGRES is set).
# For each run it records the benchmark's events/s, the CPU time spent (the
# benchmark process, plus every PostgreSQL process for the PostgreSQL runs,
# setup included) and, with psql installed, the WAL bytes PostgreSQL wrote.
# WAL bytes do not depend on the machine's load; wall and CPU times do, so
# the summary gives, per benchmark and revision, the median events/s and the
# median of the per-round ratios to the first REV (wall, and events per
# CPU second), which shared load moves less than single runs.
set -euo pipefail
ROUNDS=6
if [[ ${1:-} == -r ]]; then
	ROUNDS=$2
	shift 2
fi
if [[ $# -lt 1 ]]; then
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/bench-append.XXXXXX)
trap 'for d in "$W"/src.*; do [[ -d $d ]] && git worktree remove --force "$d" >/dev/null 2>&1; done; rm -rf "$W"' EXIT

names=()
for rev in "$@"; do
	name=$(git rev-parse --short "${rev/#./HEAD}")
	[[ $rev == . ]] && name=worktree
	src=.
	if [[ $rev != . ]]; then
		src=$W/src.$name
		git worktree add --detach "$src" "$rev" >/dev/null 2>&1
	fi
	(cd "$src" && go test -c -o "$W/sqlite.$name" ./internal/eventlog/sqlite &&
		go test -c -o "$W/pg.$name" ./internal/eventlog/postgres)
	names+=("$name")
done

python3 - "$W" "$ROUNDS" "${names[@]}" <<'PY'
import os, re, resource, shutil, statistics, subprocess, sys
w, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
tick = os.sysconf('SC_CLK_TCK')
pg = os.environ.get('ARTSTORE_TEST_POSTGRES', '')
psql = shutil.which('psql') if pg else None

def pg_cpu():
    # utime+stime of every postgres process, and of its exited children
    # (connections that ended are counted in the postmaster's).
    t = 0
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            s = open(f'/proc/{p}/stat').read()
        except OSError:
            continue
        if not s[s.index('(') + 1:s.rindex(')')].startswith('postgres'):
            continue
        f = s[s.rindex(')') + 2:].split()
        t += sum(int(x) for x in f[11:15])
    return t / tick

def wal():
    out = subprocess.run([psql, pg, '-Atc', 'select pg_current_wal_lsn() - \'0/0\''], capture_output=True, text=True).stdout
    return int(float(out.strip() or 0))

benches = [('sqlite', 'AppendBatch100$', '200x'), ('sqlite', 'AppendBatch1000$', '30x')]
if pg:
    benches += [('pg', 'AppendBatch100$', '200x'), ('pg', 'AppendBatch1000$', '30x')]
res = {}
for r in range(rounds):
    for k in range(len(names)):
        n = names[(k + r) % len(names)]
        for store, bench, times in benches:
            ru0, p0 = resource.getrusage(resource.RUSAGE_CHILDREN), pg_cpu() if store == 'pg' else 0
            w0 = wal() if store == 'pg' and psql else 0
            out = subprocess.run([f'{w}/{store}.{n}', '-test.run', '^$', '-test.bench', bench, '-test.benchtime', times],
                                 capture_output=True, text=True, env=os.environ).stdout
            ru1, p1 = resource.getrusage(resource.RUSAGE_CHILDREN), pg_cpu() if store == 'pg' else 0
            w1 = wal() if store == 'pg' and psql else 0
            m = re.search(r'([0-9.]+) events/s', out)
            if not m:
                sys.exit(f'{store}.{n} {bench}: no events/s in its output:\n{out}')
            ev = float(m.group(1))
            cpu = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime + (p1 - p0)
            key = f'{store} {bench.rstrip("$")}'
            res.setdefault(key, {}).setdefault(n, []).append((ev, cpu, w1 - w0))
            print(f'round {r + 1} {key} {n}: {ev:.0f} events/s, CPU {cpu:.2f} s' +
                  (f', WAL {(w1 - w0) / 1e6:.1f} MB' if w1 else '') + f', load {os.getloadavg()[0]:.1f}', flush=True)

base = names[0]
print(f'\nmedians over {rounds} rounds; ratios: median of the per-round ratios to {base}')
for key, byrev in res.items():
    for n in names:
        v = byrev[n]
        line = f'{key:28} {n:10} {statistics.median(x[0] for x in v):8.0f} events/s'
        if n != base:
            b = byrev[base]
            line += f'  wall {statistics.median(x[0] / y[0] for x, y in zip(v, b)):.2f}'
            line += f'  per CPU s {statistics.median(y[1] / x[1] for x, y in zip(v, b)):.2f}'
            if v[0][2]:
                line += f'  WAL {statistics.median(x[2] / y[2] for x, y in zip(v, b)):.3f}'
        print(line)
PY
