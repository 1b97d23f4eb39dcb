#!/usr/bin/env bash
# The demo: fetches what it loads at run time (scripts/fetch-models.sh: ONNX
# Runtime from PyPI, pinned and hash-checked), then runs `edgewatch demo`: a
# simulated plant through the real pipeline. Arguments go to `edgewatch demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-models.sh
exec cargo run --release --locked -- demo "$@"
