#!/usr/bin/env bash
# Installs what the reverse-proxy test (tests/proxy.rs) needs: Debian's nginx at /usr/sbin/nginx
# (package nginx-light; skipped when nginx is there; apt-get through sudo unless root). The test
# starts its own nginx on a free loopback port; the package's service is not used.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light >/dev/null
echo "nginx installed: $(/usr/sbin/nginx -v 2>&1)"
