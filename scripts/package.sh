#!/usr/bin/env bash
# Builds the .deb and the .rpm: target/debian/*.deb, target/generate-rpm/*.rpm.
# Installs cargo-deb and cargo-generate-rpm from crates.io if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb
command -v cargo-generate-rpm >/dev/null 2>&1 || cargo install --locked cargo-generate-rpm
cargo build --release --locked
cargo deb --no-build --locked
cargo generate-rpm
ls -1 target/debian/edgewatch_*.deb target/generate-rpm/edgewatch-*.rpm
