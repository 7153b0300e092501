#!/usr/bin/env bash
# scripts/oci-tools.sh [--with-registry] [DIR] -- build the OCI client tools
# artstore's /v2 tests run, into DIR (default $ARTSTORE_OCI_TOOLS, else
# ~/.cache/artstore-tools, else $TMPDIR/artstore-tools), and print DIR.
#
#   DIR/conformance.test   the OCI distribution-spec conformance suite
#                          (go test -c of its module, in a throwaway module so
#                          it never enters artstore's go.mod)
#   DIR/oras               oras.land/oras/cmd/oras
#   DIR/crane              github.com/google/go-containerregistry/cmd/crane
#   DIR/registry           with --with-registry only: the CNCF distribution
#                          registry, the peer scripts/bench-oci.sh measures
#                          against (a build of about ten minutes on two cores,
#                          so CI and make test never ask for it)
#
# A tool already in DIR at the pinned version is reused (DIR/.versions
# records what was built), so only a fresh machine pays for the builds.
# Everything comes from the Go module proxy through the ordinary go command.
set -euo pipefail

CONFORMANCE_MOD=github.com/opencontainers/distribution-spec/conformance
CONFORMANCE_VER=v0.0.0-20260831232431-97274622c111
ORAS_PKG=oras.land/oras/cmd/oras
ORAS_VER=v1.3.6
CRANE_PKG=github.com/google/go-containerregistry/cmd/crane
CRANE_VER=v0.22.1

REGISTRY_PKG=github.com/distribution/distribution/v3/cmd/registry
REGISTRY_VER=v3.1.2

with_registry=false
if [[ ${1:-} == --with-registry ]]; then
	with_registry=true
	shift
fi
dir=${1:-${ARTSTORE_OCI_TOOLS:-}}
if [[ -z $dir ]]; then
	if [[ -n ${HOME:-} && -w ${HOME:-/nonexistent} ]]; then
		dir=$HOME/.cache/artstore-tools
	else
		dir=${TMPDIR:-/tmp}/artstore-tools
	fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
GO=${GO:-go}

# built NAME VERSION: true when DIR holds NAME built at VERSION.
built() {
	[[ -x $dir/$1 ]] && grep -qxF "$1 $2" "$dir/.versions" 2>/dev/null
}

# record NAME VERSION: note in DIR/.versions that NAME is at VERSION.
record() {
	local tmp
	tmp=$(mktemp "$dir/.versions.XXXXXX")
	{ grep -v "^$1 " "$dir/.versions" 2>/dev/null || true; echo "$1 $2"; } >"$tmp"
	mv "$tmp" "$dir/.versions"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/artstore-oci-tools.XXXXXX")
trap 'rm -rf "$work"' EXIT

# install PKG VERSION NAME: go install PKG@VERSION into DIR/NAME through a
# throwaway GOBIN, then move it into place (a half-built tool is never in DIR).
install() {
	local pkg=$1 ver=$2 name=$3
	if built "$name" "$ver"; then
		return
	fi
	echo "oci-tools: building $name $ver" >&2
	(cd "$work" && GOBIN="$work/bin-$name" GOFLAGS=-buildvcs=false CGO_ENABLED=0 "$GO" install "$pkg@$ver")
	mv -f "$work/bin-$name/$name" "$dir/$name"
	record "$name" "$ver"
}

# conformance: go test -c of the suite inside a module of its own.
conformance() {
	if built conformance.test "$CONFORMANCE_VER"; then
		return
	fi
	echo "oci-tools: building conformance.test $CONFORMANCE_VER" >&2
	local m=$work/conformance
	mkdir -p "$m"
	(
		cd "$m"
		"$GO" mod init artstore-oci-conformance >/dev/null 2>&1
		"$GO" get "$CONFORMANCE_MOD@$CONFORMANCE_VER" >/dev/null
		# The package is tests only: build its test binary from the module cache.
		GOFLAGS="-buildvcs=false -mod=mod" CGO_ENABLED=0 "$GO" test -c -o "$m/conformance.test" "$CONFORMANCE_MOD"
	)
	mv -f "$m/conformance.test" "$dir/conformance.test"
	record conformance.test "$CONFORMANCE_VER"
}

conformance
install "$ORAS_PKG" "$ORAS_VER" oras
install "$CRANE_PKG" "$CRANE_VER" crane
if $with_registry; then
	install "$REGISTRY_PKG" "$REGISTRY_VER" registry
fi
echo "$dir"
