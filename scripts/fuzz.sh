#!/usr/bin/env bash
# Fuzzes what edgewatch reads from outside (fuzz/fuzz_targets/: MQTT payloads,
# config files, Modbus registers, questions, PDF and GGUF files) with cargo-fuzz
# on the nightly toolchain, each target for SECONDS (default 60). Seeds come from
# the shipped configs and test data; a crash leaves its input in
# fuzz/artifacts/TARGET/ and fails the run. Not part of scripts/test.sh: it needs
# nightly and minutes per target.
#   ./scripts/fuzz.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(payload config modbus_registers question pdf gguf)
seed() {
    local target=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    case $target in
        config) cp config/*.toml "$dir"/ 2>/dev/null || true ;;
        payload) printf 'in/a/b{"sensor_id":"a","value":1.5,"ts":1795096800000}' > "$dir/json" ;;
        question) printf 'how many critical alerts on line 2 since 08:00' > "$dir/count"
                  printf 'what was the max temperature of motor 3 yesterday' > "$dir/peak" ;;
    esac
}
cargo +nightly fuzz build
for t in "${targets[@]}"; do
    seed "$t"
    echo "== $t for ${seconds}s"
    # The corpus is fuzz/corpus/TARGET, cargo-fuzz's default; it grows run by run.
    cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144
done
