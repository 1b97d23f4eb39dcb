#!/usr/bin/env bash
# Fetches what edgewatch loads at run time and the build cannot download: the ONNX
# Runtime shared library, from the pinned `onnxruntime` wheel on PyPI, into
# models/runtime/. Checks every sha256; idempotent (a verified file is kept).
# Run time never reaches the network: this is the explicit set-up step.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ORT_LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

verified() { [ -f "$1" ] && echo "$2  $1" | sha256sum --check --status; }

need_tools() {
    local need=()
    command -v unzip >/dev/null 2>&1 || need+=(unzip)
    /usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
    if [ ${#need[@]} -gt 0 ]; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
}

# pip download WHEEL_SPEC SHA256 -> path of the verified wheel in the cache.
wheel() {
    local spec=$1 sha=$2 cache=${EDGEWATCH_WHEEL_CACHE:-/var/cache/edgewatch-wheels}
    mkdir -p "$cache"
    local found
    found=$(find "$cache" -name "$(echo "${spec%%==*}" | tr - _)-${spec##*==}-*.whl" | head -1)
    if [ -z "$found" ] || ! verified "$found" "$sha"; then
        /usr/bin/python3 -m pip download -q --disable-pip-version-check --no-deps \
            --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
            -d "$cache" "$spec" >&2
        found=$(find "$cache" -name "$(echo "${spec%%==*}" | tr - _)-${spec##*==}-*.whl" | head -1)
        verified "$found" "$sha" || { echo "sha256 mismatch: $found" >&2; exit 1; }
    fi
    echo "$found"
}

lib=models/runtime/libonnxruntime.so.$ORT_VERSION
if verified "$lib" "$ORT_LIB_SHA256"; then
    echo "ok: $lib"
else
    need_tools
    whl=$(wheel "onnxruntime==$ORT_VERSION" "$ORT_WHEEL_SHA256")
    mkdir -p models/runtime
    unzip -o -q -j "$whl" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d models/runtime
    verified "$lib" "$ORT_LIB_SHA256" || { echo "sha256 mismatch: $lib" >&2; exit 1; }
    echo "fetched: $lib"
fi
