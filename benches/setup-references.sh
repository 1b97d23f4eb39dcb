#!/usr/bin/env bash
# The Python references of `cargo bench --bench knowledge`, installed once into
# /var/cache (idempotent; not part of the test set-up):
#   llama.cpp: llama-cpp-python 0.3.36 built from source for this CPU (~7 min), with
#              the flags ../shared/FACTS.md found to work (the native build crashes
#              where AMX is reported), AVX-512 only where the CPU has it;
#   --with-torch also: sentence-transformers 5.7.0 with torch (a ~6 GB venv: PyPI's
#              torch wheels carry CUDA libraries).
set -euo pipefail
llama=/var/cache/edgewatch-llamacpp
st=/var/cache/edgewatch-st
if [ ! -x "$llama/bin/python" ] || ! "$llama/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    apt-get install -y -qq cmake python3-venv >/dev/null
    python3 -m venv "$llama"
    avx512=$(grep -qw avx512f /proc/cpuinfo && echo ON || echo OFF)
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=$avx512 -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DLLAMA_CURL=OFF" \
        "$llama/bin/pip" install -q llama-cpp-python==0.3.36
fi
echo "llama.cpp reference: $llama/bin/python"
if [ "${1:-}" = "--with-torch" ]; then
    if [ ! -x "$st/bin/python" ] || ! "$st/bin/python" -c 'import sentence_transformers' 2>/dev/null; then
        python3 -m venv "$st"
        "$st/bin/pip" install -q sentence-transformers==5.7.0
    fi
    echo "sentence-transformers reference: $st/bin/python"
fi
