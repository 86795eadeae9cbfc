#!/usr/bin/env bash
# A short coverage-guided run of every fuzz target (fuzz/), from its committed seeds: part of
# the test command, so a decoder that panics on some input fails the suite. Installs
# cargo-fuzz if missing; builds on the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz
# needs nightly flags). FUZZ_SECONDS (default 15) per target; crashes are kept in
# fuzz/artifacts/TARGET/ and each becomes a regression test (docs/RELIABILITY.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${FUZZ_SECONDS:-15}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
cd "$root/fuzz"
targets=$(cargo fuzz list)
cargo fuzz build -O --debug-assertions 2>&1 | tail -n 3
failed=0
for t in $targets; do
  corpus="$(mktemp -d)"
  out="$(mktemp)"
  if cargo fuzz run -O --debug-assertions "$t" "$corpus" "$root/fuzz/seeds/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$out" 2>&1; then
    runs=$(grep -m1 '^stat::number_of_executed_units' "$out" | awk '{print $2}')
    echo "fuzz $t: ok, ${runs:-?} executions in ${seconds}s"
  else
    echo "fuzz $t: FAILED"
    tail -n 40 "$out"
    failed=1
  fi
  rm -rf "$corpus" "$out"
done
exit $failed
