#!/usr/bin/env bash
# Installs the independent peers the tests talk to into virtual environments at the repository
# root. Idempotent: a venv whose requirements file is unchanged is left alone.
#   .venv               pymodbus, prometheus_client, python-snap7 2.0.2 (native Snap7 server),
#                       plc-comm-slmp and pymcprotocol (independent MC protocol clients)
#   .venv-snap7-client  python-snap7 3.3.0 (pure-Python S7 client; cannot share a venv with 2.0.2)
#   .venv-schemathesis  schemathesis (fuzzes the JSON API against its OpenAPI description)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

install() { # venv-dir requirements-file
  local venv="$1" req="$2" stamp="$1/.requirements"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
    return 0
  fi
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
  echo "test peers from $(basename "$req") installed in $venv"
}

install "$root/.venv" "$root/tests/peers/requirements.txt"
if [ -f "$root/tests/peers/requirements-snap7-client.txt" ]; then
  install "$root/.venv-snap7-client" "$root/tests/peers/requirements-snap7-client.txt"
fi
install "$root/.venv-schemathesis" "$root/tests/peers/requirements-schemathesis.txt"
