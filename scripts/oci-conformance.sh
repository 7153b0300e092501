#!/usr/bin/env bash
# scripts/oci-conformance.sh -- run the OCI distribution-spec conformance
# suite against a real `artstore serve`.
#
# Starts a daemon on 127.0.0.1 port 0 over a SQLite log and a local backend
# in a temporary store, creates a write token for it with the CLI (through
# the daemon, with the bootstrap admin token), and runs the suite built by
# scripts/oci-tools.sh with every API and data workflow enabled, the token
# as OCI_PASSWORD. Prints the suite's summary and exits non-zero on any
# failure (or when the suite could not run).
#
# Environment:
#   ARTSTORE_BIN        the artstore binary (default: build ./cmd/artstore)
#   ARTSTORE_OCI_TOOLS  the tools cache (see scripts/oci-tools.sh)
#   OCI_RESULTS_DIR     where the suite writes results.yaml, junit.xml and
#                       report.html (default: a directory in the temporary
#                       work directory, printed and kept on failure)
#   OCI_FILTER_TEST     run only one branch of the suite (its README)
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=$(bash scripts/oci-tools.sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/artstore-oci-conformance.XXXXXX")
SERVE_PID=
KEEP=
cleanup() {
	if [[ -n $SERVE_PID ]]; then
		kill -TERM "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	if [[ -z $KEEP ]]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

BIN=${ARTSTORE_BIN:-}
if [[ -z $BIN ]]; then
	BIN=$WORK/artstore
	go build -o "$BIN" ./cmd/artstore
fi
export ARTSTORE_STORE=$WORK/store XDG_CONFIG_HOME=$WORK/config HOME=$WORK
unset ARTSTORE_SERVER ARTSTORE_TOKEN

"$BIN" serve --listen 127.0.0.1:0 --ready-file "$WORK/ready" 2>"$WORK/serve.log" &
SERVE_PID=$!
deadline=$((SECONDS + 30))
until [[ -s $WORK/ready ]]; do
	if ((SECONDS >= deadline)) || ! kill -0 "$SERVE_PID" 2>/dev/null; then
		echo "oci-conformance: the daemon did not start:" >&2
		cat "$WORK/serve.log" >&2
		exit 1
	fi
	sleep 0.1
done
URL=$(cat "$WORK/ready")
ADMIN=$(cat "$ARTSTORE_STORE/bootstrap-token")
TOKEN=$(ARTSTORE_TOKEN=$ADMIN "$BIN" --server "$URL" -q token create --scope write --name oci-conformance)

export OCI_REGISTRY=${URL#http://} OCI_TLS=disabled
export OCI_REPO1=conformance/repo1 OCI_REPO2=conformance/repo2
export OCI_USERNAME=conformance OCI_PASSWORD=$TOKEN
export OCI_VERSION=1.1 OCI_LOG=warn
export OCI_RESULTS_DIR=${OCI_RESULTS_DIR:-$WORK/results}
# Every API workflow, including the optional ones.
export OCI_API_PULL=true OCI_API_PUSH=true
export OCI_API_BLOBS_ATOMIC=true OCI_API_BLOBS_DELETE=true OCI_API_BLOBS_DIGEST_HEADER=true
export OCI_API_BLOBS_MOUNT_ANONYMOUS=true OCI_API_BLOBS_UPLOAD_CANCEL=true
export OCI_API_MANIFESTS_ATOMIC=true OCI_API_MANIFESTS_DELETE=true OCI_API_MANIFESTS_DIGEST_HEADER=true OCI_API_MANIFESTS_TAG_PARAM=true
export OCI_API_TAGS_ATOMIC=true OCI_API_TAGS_DELETE=true OCI_API_TAGS_LIST=true
export OCI_API_REFERRER=true
# Every data workflow but "sparse": a manifest naming blobs that were never
# pushed is refused with MANIFEST_BLOB_UNKNOWN (docs/oci.md), which the
# spec allows and artstore's "nothing half-done is visible" requires.
export OCI_DATA_IMAGE=true OCI_DATA_INDEX=true OCI_DATA_INDEX_LIST=true OCI_DATA_SPARSE=false
export OCI_DATA_ARTIFACT=true OCI_DATA_SUBJECT=true OCI_DATA_SUBJECT_MISSING=true
export OCI_DATA_ARTIFACT_LIST=true OCI_DATA_SUBJECT_LIST=true OCI_DATA_DATA_FIELD=true
export OCI_DATA_NONDISTRIBUTABLE=true OCI_DATA_CUSTOM_FIELDS=true OCI_DATA_NO_LAYERS=true
export OCI_DATA_EMPTY_BLOB=true OCI_DATA_SHA512=true

status=0
(cd "$WORK" && "$TOOLS/conformance.test" -test.timeout 20m) >"$WORK/conformance.out" 2>&1 || status=$?
# The summary: the overall result and the counts by status.
sed -n '/^OCI Conformance Result/,/^  Total/p' "$WORK/conformance.out"
if ((status != 0)) || ! grep -q '^OCI Conformance Result: Pass' "$WORK/conformance.out"; then
	KEEP=1
	echo "oci-conformance: FAILED (exit $status); full output: $WORK/conformance.out, results: $OCI_RESULTS_DIR, daemon log: $WORK/serve.log" >&2
	sed -n '/^Errors:/,/^API conformance:/p' "$WORK/conformance.out" | head -100 >&2
	exit 1
fi
echo "oci-conformance: passed"
