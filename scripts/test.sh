#!/usr/bin/env bash
# Runs the whole test suite: unit, property, end-to-end against the simulators and against
# independent peers (pymodbus, prometheus_client, python-snap7), installed first if missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup-test-peers.sh"
export PLCDIAG_PYTHON="$root/.venv/bin/python"
export PLCDIAG_SNAP7_CLIENT_PYTHON="$root/.venv-snap7-client/bin/python"
# The browser test (tests/browser.rs) drives this Chromium; scripts/setup-browser.sh installs it.
export PLCDIAG_CHROMIUM="${PLCDIAG_CHROMIUM:-/usr/bin/chromium}"
# The reverse-proxy test (tests/proxy.rs) runs this nginx; scripts/setup-nginx.sh installs it.
export PLCDIAG_NGINX="${PLCDIAG_NGINX:-/usr/sbin/nginx}"
cd "$root"
cargo test --workspace --all-targets "$@"
