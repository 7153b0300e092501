#!/usr/bin/env bash
# ci-deps.sh -- install the system packages artstore's CI needs, only those
# that are missing, so re-running it is cheap and changes nothing.
#
#   scripts/ci-deps.sh
#
# Today: a one-node Ceph cluster with an S3 gateway for the S3 integration
# tests (scripts/ceph-rgw.sh): Debian's ceph-mon ceph-osd ceph-mgr
# ceph-common radosgw, and curl for its readiness check; rclone, which
# scripts/bench-cli.sh and scripts/bench-s3.sh compare against. Needs root
# (or sudo) and apt; run it before scripts/ceph-rgw.sh start.
set -euo pipefail

# package -> a command it provides (what the scripts actually use)
declare -A provides=(
	[ceph-mon]=ceph-mon
	[ceph-osd]=ceph-osd
	[ceph-mgr]=ceph-mgr
	[ceph-common]=ceph
	[radosgw]=radosgw
	[curl]=curl
	[rclone]=rclone
)

missing=()
for pkg in "${!provides[@]}"; do
	if ! command -v "${provides[$pkg]}" >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]} == 0)); then
	echo "ci-deps: all packages present"
	exit 0
fi

command -v apt-get >/dev/null || { echo "ci-deps: missing ${missing[*]}, and apt-get is not available; install them by hand" >&2; exit 1; }
sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "ci-deps: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
	sudo=(sudo)
fi
echo "ci-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
