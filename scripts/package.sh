#!/usr/bin/env bash
# Builds the packages: edgewatch (.deb and .rpm, with ONNX Runtime) and
# edgewatch-models (.deb): target/debian/*.deb, target/generate-rpm/*.rpm.
# Installs cargo-deb and cargo-generate-rpm from crates.io if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb
command -v cargo-generate-rpm >/dev/null 2>&1 || cargo install --locked cargo-generate-rpm
./scripts/fetch-models.sh >/dev/null
cargo build --release --locked
cargo deb --no-build --locked
cargo deb --no-build --locked --variant models 2>&1 | grep -v "no maintainer scripts" >&2 || true
cargo generate-rpm
ls -1 target/debian/edgewatch_*.deb target/debian/edgewatch-models_*.deb target/generate-rpm/edgewatch-*.rpm
