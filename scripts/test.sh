#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the peers, then unit and
# integration tests (real Mosquitto, TLS, kill -9 durability).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
export PATH="$PATH:/usr/sbin"
cargo test --locked "$@"
