#!/usr/bin/env bash
# Takes the README's screenshots (docs/screenshots/*.png) from a running `plcdiag demo`:
# the overview, the S7 device page of press-cpu, the CC-Link station map of assembly-plc and the
# alarms page. The demo repeats its faults every minute. After five minutes of history, the
# press-cpu page is taken at second 18 (its I/O module has failed), the rest at second 40 (the
# oven CPU in STOP, chiller-2 offline, the CC-Link cable after station 4 broken).
#
# Needs what the browser test needs (scripts/setup-browser.sh). With a CJK font installed
# (Debian: fonts-noto-cjk) it also takes the station map in Simplified Chinese.
# Usage: scripts/screenshots.sh [OUT_DIR]   (default docs/screenshots)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/docs/screenshots}"
minute="${PLCDIAG_SHOTS_MINUTE:-5}"   # whole minutes of history before the shots

cd "$root"
cargo build --release --quiet --bin plcdiag
work="$(mktemp -d)"
trap 'kill "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/plcdiag demo --listen 127.0.0.1:0 --database "$work/demo.db" >"$work/demo.out" 2>"$work/demo.err" &
demo=$!
started=$(date +%s)
for _ in $(seq 100); do
  url="$(sed -n 's/^  UI: *//p' "$work/demo.out")"
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "${url:-}" ]; then
  echo "the demo did not start:" >&2; cat "$work/demo.err" >&2; exit 1
fi
echo "demo at $url; screenshots after $minute minutes"
at() { sleep $(( minute * 60 + $1 - ($(date +%s) - started) )); }

at 18
node tests/e2e/screenshots.mjs "${url%/}" "$out" device-s7
at 40
shots="overview station-map alarms"
if fc-list :lang=zh 2>/dev/null | grep -q .; then shots="$shots station-map-zh"; else
  echo "no CJK font (Debian: fonts-noto-cjk): skipping the Chinese station map" >&2
fi
# shellcheck disable=SC2086
node tests/e2e/screenshots.mjs "${url%/}" "$out" $shots
