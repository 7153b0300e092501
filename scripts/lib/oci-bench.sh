# scripts/lib/oci-bench.sh -- sourced by the OCI benchmarks
# (scripts/bench-oci*.sh) and scripts/bench-prefixed-pull.sh: starting
# artstore daemons and the CNCF distribution registry on fresh storage. The caller sets NAME (how its messages begin)
# and PIDS=(); every server started is appended to PIDS, which stop_all
# stops.

# stop_all: stop every server in PIDS and wait for it; PIDS is empty after.
stop_all() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
}

# wait_for WHAT CMD...: poll CMD for up to 30 s; exit 1 when it never
# succeeds.
wait_for() {
	local what=$1 deadline=$((SECONDS + 30))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || {
			echo "$NAME: $what did not start" >&2
			exit 1
		}
		sleep 0.05
	done
}

# start_artstore BIN DIR: a daemon of BIN on a new store in DIR, with /v2
# uploads in DIR; sets AS_PID, AS_HOST (host:port) and AS_TOKEN (the store's
# bootstrap admin token).
start_artstore() {
	local bin=$1 dir=$2
	mkdir -p "$dir"
	ARTSTORE_STORE=$dir/store XDG_CONFIG_HOME=$dir/config HOME=$dir \
		"$bin" serve --listen 127.0.0.1:0 --ready-file "$dir/ready" --oci-upload-dir "$dir/uploads" 2>"$dir/serve.log" &
	AS_PID=$!
	PIDS+=("$AS_PID")
	wait_for "artstore serve ($bin)" test -s "$dir/ready"
	AS_HOST=$(sed 's#^http://##' "$dir/ready")
	AS_TOKEN=$(cat "$dir/store/bootstrap-token")
}

# start_distribution REGISTRY DIR: the distribution registry binary REGISTRY
# on filesystem storage in DIR (deletes enabled), logging to
# DIR/registry.log; sets DI_PID and DI_HOST.
start_distribution() {
	local registry=$1 dir=$2 port
	mkdir -p "$dir/data"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CONFIG
	OTEL_TRACES_EXPORTER=none "$registry" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	DI_PID=$!
	PIDS+=("$DI_PID")
	DI_HOST=127.0.0.1:$port
	wait_for "distribution registry" curl -sf "http://$DI_HOST/v2/"
}
