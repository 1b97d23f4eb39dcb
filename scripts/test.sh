#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the peers and fetches the model
# runtime (scripts/fetch-models.sh), then unit and
# integration tests (real Mosquitto, TLS, kill -9 durability, systemd notify and
# unit checks), then builds the .deb and .rpm and installs the .deb into a
# throwaway Debian root.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
./scripts/fetch-models.sh
export PATH="$PATH:/usr/sbin"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Release: the encoder and the int8 llama are edgewatch's own code, which the dev
# profile leaves unoptimised (a grounded answer then takes minutes, not seconds);
# the package build below reuses the same artifacts.
cargo test --release --locked "$@" 2>&1 | tee "$log"
# The packages, installed into a throwaway Debian root (scripts/install-test.sh).
./scripts/install-test.sh 2>&1 | tee -a "$log"
# One closing line for all test binaries and the install test together.
awk '/^test result:|^install test:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
