#!/usr/bin/env bash
# Builds the packages: edgewatch (.deb and .rpm, with ONNX Runtime) and
# edgewatch-models (.deb and .rpm): target/debian/*.deb, target/generate-rpm/*.rpm.
# The model files hardly compress, so their packages use fast compression.
# Installs cargo-deb and cargo-generate-rpm from crates.io if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb
command -v cargo-generate-rpm >/dev/null 2>&1 || cargo install --locked cargo-generate-rpm
./scripts/fetch-models.sh >/dev/null
cargo build --release --locked
cargo deb --no-build --locked
cargo deb --no-build --locked --variant models --fast 2>&1 | grep -v "no maintainer scripts" >&2 || true
cargo generate-rpm
cargo generate-rpm --variant models --arch noarch --payload-compress gzip
ls -1 target/debian/edgewatch_*.deb target/debian/edgewatch-models_*.deb target/generate-rpm/edgewatch-*.rpm
