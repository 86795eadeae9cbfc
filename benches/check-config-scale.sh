#!/usr/bin/env bash
# Times `plcdiag check-config` on generated configs of N Modbus devices with one tag each
# (issue 12, finding 5: it grew with the square of the device count). Figures: docs/PERFORMANCE.md.
# Usage: benches/check-config-scale.sh [N...]   (default: 8000 50000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --manifest-path "$root/Cargo.toml" >/dev/null
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for n in "${@:-8000 50000}"; do
  for count in $n; do
    python3 - "$count" "$dir/plcdiag.toml" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write('[gateway]\ndatabase = "x.db"\n')
    for i in range(n):
        f.write(f'\n[[devices]]\nname = "dev-{i}"\nkind = "modbus"\n'
                f'address = "tcp://10.{i // 62500}.{(i // 250) % 250}.{i % 250}:502"\n'
                f'\n[[devices.tags]]\nname = "t"\naddress = "hr:0"\n')
PY
    start=$(date +%s%N)
    "$root/target/release/plcdiag" check-config "$dir/plcdiag.toml" >/dev/null
    end=$(date +%s%N)
    echo "$count devices: $(( (end - start) / 1000000 )) ms"
  done
done
