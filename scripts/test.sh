#!/usr/bin/env bash
# The whole test suite, on a fresh Linux machine with only Rust, Python and Node: first it
# installs (idempotently, each step skipped when already done) everything the tests need —
# the independent Python peers (pymodbus, prometheus_client, python-snap7, plc-comm-slmp,
# pymcprotocol, schemathesis), Debian's chromium and playwright-core for the browser test,
# Debian's nginx for the reverse-proxy test, cargo-fuzz for the fuzz smoke runs — then runs
# every test binary even when one fails (`--no-fail-fast`), then a short run of each fuzz
# target. The exit status is non-zero if anything failed; every failure is reported.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
set -e
"$root/scripts/setup-test-peers.sh"
"$root/scripts/setup-browser.sh"
"$root/scripts/setup-nginx.sh"
set +e
export PLCDIAG_PYTHON="$root/.venv/bin/python"
export PLCDIAG_SNAP7_CLIENT_PYTHON="$root/.venv-snap7-client/bin/python"
export PLCDIAG_CHROMIUM="${PLCDIAG_CHROMIUM:-/usr/bin/chromium}"
export PLCDIAG_NGINX="${PLCDIAG_NGINX:-/usr/sbin/nginx}"
status=0
cargo test --workspace --all-targets --no-fail-fast "$@" || status=1
if [ -x "$root/scripts/fuzz-smoke.sh" ] && [ $# -eq 0 ]; then
  "$root/scripts/fuzz-smoke.sh" || status=1
fi
exit $status
