#!/usr/bin/env bash
# Installs what the browser test (tests/browser.rs) needs: Debian's chromium package at
# /usr/bin/chromium (skipped when it is there; apt-get through sudo unless root) and
# playwright-core from tests/e2e/package-lock.json into tests/e2e/node_modules (`npm ci`, skipped
# when the lock file is unchanged since the last install). Needs Node.js 20+ with npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
fi

e2e="$root/tests/e2e"
stamp="$e2e/node_modules/.package-lock.json.installed"
if [ -f "$e2e/node_modules/playwright-core/package.json" ] && [ -f "$stamp" ] \
  && cmp -s "$e2e/package-lock.json" "$stamp"; then
  exit 0
fi
(cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
cp "$e2e/package-lock.json" "$stamp"
echo "playwright-core installed in $e2e/node_modules"
