#!/usr/bin/env bash
# ceph-rgw.sh -- a throwaway one-node Ceph cluster with an S3 gateway, on
# loopback, for artstore's integration tests.
#
#   scripts/ceph-rgw.sh start DIR   build and start the cluster under DIR, wait
#                                   until S3 answers (deadline), write DIR/env
#   scripts/ceph-rgw.sh env DIR     print DIR/env (export lines for the tests)
#   scripts/ceph-rgw.sh stop DIR    kill the daemons started under DIR, remove DIR
#
# One monitor, one manager, one OSD on memstore (RAM, nothing on disk), one
# radosgw (beast frontend) on a free 127.0.0.1 port, and an S3 user with fixed
# keys. Everything -- configuration, keyrings, monitor store, logs, pid files
# -- lives under DIR; nothing is written to /etc/ceph or /var/lib/ceph and no
# systemd unit is used. Packages come from scripts/ci-deps.sh (Debian:
# ceph-mon ceph-osd ceph-mgr ceph-common radosgw, plus curl); this script
# installs nothing.
#
# DIR/env sets ARTSTORE_TEST_S3_ENDPOINT, ARTSTORE_TEST_S3_ACCESS_KEY,
# ARTSTORE_TEST_S3_SECRET_KEY and ARTSTORE_TEST_S3_REGION.
#
# Re-running is safe: start on a DIR whose cluster is up and answering only
# prints the env again; start on a DIR left over from a dead or half-started
# cluster stops what is left and builds a fresh one; stop on a missing DIR does
# nothing. DIR may be missing or an empty directory (mktemp -d) at start; it
# is only ever removed if it is empty or holds this script's marker file.
#
# Knobs (environment): RGW_PORT / MON_PORT (default: a free port chosen below
# the kernel's ephemeral range), S3_ACCESS_KEY, S3_SECRET_KEY,
# CEPH_READY_TIMEOUT (seconds per wait, default 60).
set -euo pipefail

S3_ACCESS_KEY=${S3_ACCESS_KEY:-artstore-test}
S3_SECRET_KEY=${S3_SECRET_KEY:-artstore-test-secret}
S3_REGION=us-east-1
READY_TIMEOUT=${CEPH_READY_TIMEOUT:-60}
MARKER=.artstore-ceph-rgw

die() { echo "ceph-rgw: $*" >&2; exit 1; }
log() { echo "ceph-rgw: [$(elapsed)] $*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() { local ms=$(($(now_ms) - T0)); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }

usage() {
	echo "usage: $0 start DIR | env DIR | stop DIR" >&2
	exit 2
}

# wait_for SECONDS WHAT CMD... -- run CMD until it succeeds or the deadline
# passes. Short polls: every step of a fresh cluster takes well under a second.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$(($(now_ms) + secs * 1000))
	until "$@" >/dev/null 2>&1; do
		if (($(now_ms) > deadline)); then
			echo "ceph-rgw: timed out after ${secs}s waiting for $what" >&2
			return 1
		fi
		sleep 0.1
	done
}

# port_listening PORT -- whether something listens on TCP PORT (IPv4 or IPv6).
port_listening() {
	local hex
	hex=$(printf ':%04X' "$1")
	awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port -- a port nobody listens on, below the ephemeral range (so the
# kernel never hands it to an outgoing connection meanwhile).
free_port() {
	local lo hi p
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	hi=$((lo > 20000 ? lo - 1 : 32767))
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % (hi - 20000)))
		port_listening "$p" || { echo "$p"; return 0; }
	done
	die "no free port found between 20000 and $hi"
}

# kill_daemons DIR -- TERM every daemon named by a pid file under DIR at once,
# KILL those still alive after 1 s (the data is throwaway; a clean shutdown
# buys nothing), and remove the pid files.
kill_daemons() {
	local dir=$1 name f pid pids=()
	for name in rgw osd mgr mon; do
		f=$dir/run/$name.pid
		[[ -f $f ]] || continue
		pid=$(<"$f")
		# Only signal the process if it is still a daemon started here.
		if [[ -n $pid ]] && grep -qsF -- "$dir/" "/proc/$pid/cmdline"; then
			kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
		fi
		rm -f "$f"
	done
	((${#pids[@]})) || return 0
	local deadline=$(($(now_ms) + 1000))
	while (($(now_ms) < deadline)); do
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && break
			pid=
		done
		[[ -z $pid ]] && return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
	wait_for 5 "killed daemons to exit" all_gone "${pids[@]}" || true
}

# all_gone PID... -- whether none of the processes exists any more.
all_gone() {
	local p
	for p; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

# osd_up CEPH... -- the monitor (asked with the given ceph command) reports
# osd.0 up.
osd_up() {
	"$@" osd dump | grep -q "^osd.0 up"
}

# rgw_answers PID ENDPOINT -- radosgw is alive and answers HTTP (any status).
rgw_answers() {
	kill -0 "$1" && curl -s -o /dev/null --max-time 2 "$2/"
}

# running DIR -- whether DIR holds a started cluster whose gateway answers.
running() {
	local dir=$1 name pid
	[[ -f $dir/env ]] || return 1
	for name in mon mgr osd rgw; do
		pid=$(cat "$dir/run/$name.pid" 2>/dev/null) || return 1
		grep -qsF -- "$dir/" "/proc/$pid/cmdline" || return 1
	done
	# shellcheck disable=SC1091
	(source "$dir/env" && s3_ready "$ARTSTORE_TEST_S3_ENDPOINT" "$ARTSTORE_TEST_S3_ACCESS_KEY" "$ARTSTORE_TEST_S3_SECRET_KEY")
}

# s3_ready ENDPOINT KEY SECRET -- a signed ListBuckets succeeds.
s3_ready() {
	curl -fsS -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$2:$3" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$1/"
}

# wipe DIR -- remove DIR, but only if this script made it (or it is empty).
wipe() {
	local dir=$1
	[[ -e $dir ]] || return 0
	if [[ -d $dir && -z $(ls -A "$dir") ]]; then
		rmdir -- "$dir"
		return 0
	fi
	[[ -f $dir/$MARKER ]] || die "$dir was not made by $0; refusing to remove it"
	rm -rf -- "$dir"
}

# spawn DIR NAME CMD... -- run a daemon in the foreground (-f) in its own
# session, so it outlives this script and its pid is the daemon's.
spawn() {
	local dir=$1 name=$2
	shift 2
	setsid "$@" -f >"$dir/log/$name.out" 2>&1 </dev/null &
	echo $! >"$dir/run/$name.pid"
}

write_conf() {
	local dir=$1 fsid=$2 mon_port=$3 rgw_port=$4
	cat >"$dir/ceph.conf" <<EOF
# Generated by scripts/ceph-rgw.sh: a one-node test cluster, never for data.
[global]
fsid = $fsid
# msgr2 only, on a port chosen at start so several clusters can coexist.
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
# Silence the health warning about the old insecure reclaim mode.
auth allow insecure global id reclaim = false
keyring = $dir/\$cluster.\$name.keyring
run dir = $dir/run
# No admin sockets: unused here, and a long DIR would overflow sun_path.
admin socket =
log file = $dir/log/\$cluster-\$name.log
log to stderr = false
err to stderr = true
# One OSD: every pool keeps one copy, few placement groups (fast peering),
# and CRUSH places replicas across OSDs, not hosts.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true
mon max pg per osd = 1000
# The monitor batches map updates once a second by default; every pool
# creation waits for it. 50 ms makes cluster setup several times faster.
paxos propose interval = 0.05
# Do not refuse to run on a nearly full /tmp.
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $dir/mon/\$cluster-\$id
mon cluster log file = $dir/log/cluster.log

[mgr]
mgr data = $dir/mgr/\$cluster-\$id

[osd]
osd data = $dir/osd/\$cluster-\$id
# RAM-backed object store: nothing to format, fast, gone with the process.
osd objectstore = memstore
memstore device bytes = 8589934592

[client.rgw.a]
# tcp_nodelay: without it Nagle's algorithm and delayed ACKs stall small
# responses by ~40 ms each.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $dir/rgw
rgw enable usage log = false
rgw thread pool size = 64
# Deleted objects' data is reclaimed by RGW's garbage collector, by default
# after two hours; tests delete gigabytes, so reclaim within seconds.
rgw gc obj min wait = 5
rgw gc processor period = 10
EOF
}

start() {
	local dir=$1
	T0=$(now_ms)
	for cmd in ceph-mon ceph-mgr ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl setsid; do
		command -v "$cmd" >/dev/null || die "$cmd not found; install the packages with scripts/ci-deps.sh"
	done
	if running "$dir"; then
		log "cluster under $dir is already running"
		cat "$dir/env"
		return 0
	fi
	if [[ -f $dir/$MARKER ]]; then
		log "removing the remains of an earlier cluster under $dir"
		kill_daemons "$dir"
		wipe "$dir"
	elif [[ -e $dir ]] && [[ ! -d $dir || -n $(ls -A "$dir") ]]; then
		die "$dir exists and is not an empty directory or one made by $0; refusing to use it"
	fi
	mkdir -p "$dir"
	touch "$dir/$MARKER"
	mkdir -p "$dir"/{run,log,mon/ceph-a,mgr/ceph-x,osd/ceph-0,rgw}
	# On any failure, stop what was started; keep DIR/log for inspection.
	FAILDIR=$dir
	trap 'rc=$?; if ((rc != 0)); then echo "ceph-rgw: start failed; logs are in $FAILDIR/log" >&2; kill_daemons "$FAILDIR"; fi' EXIT

	local conf=$dir/ceph.conf fsid mon_port rgw_port
	fsid=$(</proc/sys/kernel/random/uuid)
	mon_port=${MON_PORT:-$(free_port)}
	rgw_port=${RGW_PORT:-$(free_port)}
	while [[ $rgw_port == "$mon_port" ]]; do rgw_port=$(free_port); done
	write_conf "$dir" "$fsid" "$mon_port" "$rgw_port"
	local ceph=(ceph -c "$conf" -n client.admin --connect-timeout "$READY_TIMEOUT")

	# Keys: the monitor's own, and an admin key the monitor trusts.
	ceph-authtool -C "$dir/ceph.mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool -C "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
	ceph-authtool "$dir/ceph.mon.a.keyring" --import-keyring "$dir/ceph.client.admin.keyring" >/dev/null

	# Monitor.
	monmaptool -c "$conf" --create --fsid "$fsid" --addv a "v2:127.0.0.1:$mon_port" "$dir/monmap" >/dev/null
	ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/ceph.mon.a.keyring" 2>"$dir/log/mon-mkfs.out"
	spawn "$dir" mon ceph-mon -c "$conf" -i a
	wait_for "$READY_TIMEOUT" "the monitor on port $mon_port" "${ceph[@]}" mon stat
	log "monitor up on 127.0.0.1:$mon_port"

	# Manager.
	"${ceph[@]}" auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' -o "$dir/ceph.mgr.x.keyring"
	spawn "$dir" mgr ceph-mgr -c "$conf" -i x

	# OSD 0 on memstore.
	local osd_uuid id
	osd_uuid=$(</proc/sys/kernel/random/uuid)
	ceph-authtool -C "$dir/ceph.osd.0.keyring" --gen-key -n osd.0 >/dev/null
	id=$("${ceph[@]}" osd new "$osd_uuid")
	[[ $id == 0 ]] || die "the monitor assigned OSD id $id, expected 0"
	"${ceph[@]}" auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
		-i "$dir/ceph.osd.0.keyring" 2>/dev/null
	ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1
	spawn "$dir" osd ceph-osd -c "$conf" -i 0
	wait_for "$READY_TIMEOUT" "osd.0 to come up" osd_up "${ceph[@]}"
	log "osd.0 up"

	# RGW's pools, created now: created lazily by RGW, each would stall the
	# first request that needs it for about two seconds.
	# One ceph process reads all the commands from stdin (its interactive
	# mode): each separate invocation would cost a Python start-up.
	local pools=(.rgw.root default.rgw.control default.rgw.meta default.rgw.log
		default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)
	local pool
	for pool in "${pools[@]}"; do
		echo "osd pool create $pool 8 8"
		echo "osd pool application enable $pool rgw"
	done | "${ceph[@]}" >"$dir/log/pools.out" 2>&1
	local have
	have=$("${ceph[@]}" osd pool ls)
	for pool in "${pools[@]}"; do
		grep -qxF -- "$pool" <<<"$have" || die "pool $pool was not created (see $dir/log/pools.out)"
	done
	log "rgw pools created"

	# Gateway.
	"${ceph[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
		-o "$dir/ceph.client.rgw.a.keyring"
	spawn "$dir" rgw radosgw -c "$conf" -n client.rgw.a
	local endpoint=http://127.0.0.1:$rgw_port
	wait_for "$READY_TIMEOUT" "radosgw on $endpoint" \
		rgw_answers "$(<"$dir/run/rgw.pid")" "$endpoint" ||
		{ tail -20 "$dir/log/ceph-client.rgw.a.log" >&2 || true; false; }
	log "radosgw answering on $endpoint"

	radosgw-admin -c "$conf" -n client.admin user create --uid=artstore --display-name="artstore tests" \
		--access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null
	wait_for "$READY_TIMEOUT" "a signed S3 request to succeed" s3_ready "$endpoint" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"

	cat >"$dir/env" <<EOF
export ARTSTORE_TEST_S3_ENDPOINT=$endpoint
export ARTSTORE_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY
export ARTSTORE_TEST_S3_SECRET_KEY=$S3_SECRET_KEY
export ARTSTORE_TEST_S3_REGION=$S3_REGION
EOF
	trap - EXIT
	log "ready: S3 on $endpoint (source $dir/env)"
	cat "$dir/env"
}

stop() {
	local dir=$1
	[[ -e $dir ]] || return 0
	[[ -f $dir/$MARKER ]] && kill_daemons "$dir"
	wipe "$dir"
}

[[ $# -eq 2 && -n $2 ]] || usage
# Absolute, so pid checks match the daemons' command lines (which name
# DIR/ceph.conf) whatever the caller's working directory.
DIR=$(realpath -m -- "$2")
[[ $DIR != / ]] || die "refusing to use / as the cluster directory"
case $1 in
start) start "$DIR" ;;
stop) stop "$DIR" ;;
env)
	[[ -f $DIR/env ]] || die "no cluster started under $DIR (run: $0 start $DIR)"
	cat "$DIR/env"
	;;
*) usage ;;
esac
