#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the peers, then unit and
# integration tests (real Mosquitto, TLS, kill -9 durability).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
export PATH="$PATH:/usr/sbin"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked "$@" 2>&1 | tee "$log"
# One closing line for all test binaries together.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
