#!/usr/bin/env bash
# Installs the independent peers the tests talk to (pymodbus, the Prometheus text parser)
# into .venv at the repository root. Idempotent: does nothing when they are already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/tests/peers/requirements.txt"
venv="$root/.venv"
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$stamp"
echo "test peers installed in $venv"
