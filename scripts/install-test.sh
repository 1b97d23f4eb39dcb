#!/usr/bin/env bash
# Install test: builds the packages, installs the .deb into a throwaway Debian root
# (debootstrap, cached), checks files, user, permissions, enablement and that the
# installed binary accepts the installed config, then purges and checks nothing is
# left; runs the installed daemon as the service user on the packaged models. For
# the .rpms: `rpm -qpl` payloads and `rpm -K` digests.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/test-deps.sh
export PATH="$PATH:/usr/sbin:/sbin"

./scripts/package.sh >/dev/null
deb=$(ls -t target/debian/edgewatch_*.deb | head -n 1)
models_deb=$(ls -t target/debian/edgewatch-models_*.deb | head -n 1)
rpm_file=$(ls -t target/generate-rpm/edgewatch-[0-9]*.rpm | head -n 1)
models_rpm=$(ls -t target/generate-rpm/edgewatch-models-*.rpm | head -n 1)

passed=0
check() { # description, command...
    local what=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $what"
    else echo "FAILED - $what"; exit 1; fi
}

# A minimal Debian root, made once and reused (a few minutes the first time).
cache=${EDGEWATCH_ROOT_CACHE:-/var/cache/edgewatch-test/bookworm-minbase.tar}
if [ ! -f "$cache" ]; then
    mkdir -p "$(dirname "$cache")"
    fresh=$(mktemp -d)
    debootstrap --variant=minbase --include=adduser bookworm "$fresh" http://deb.debian.org/debian >/dev/null
    tar -C "$fresh" -cf "$cache.part" . && mv "$cache.part" "$cache"
    rm -rf "$fresh"
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
tar -C "$root" -xf "$cache"
chmod 755 "$root" # the service user runs in it (the archive keeps mktemp's 700)
# No service may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/edgewatch.deb"
cp "$models_deb" "$root/tmp/edgewatch-models.deb"
in_root() { chroot "$root" "$@"; }
quiet() { "$@" >/dev/null; }

check "dpkg installs the .deb" quiet in_root dpkg -i /tmp/edgewatch.deb
check "binary in /usr/bin" test -x "$root/usr/bin/edgewatch"
check "unit installed" sh -c "test -f '$root/lib/systemd/system/edgewatch.service' || test -f '$root/usr/lib/systemd/system/edgewatch.service'"
check "unit enabled (Debian convention)" test -L "$root/etc/systemd/system/multi-user.target.wants/edgewatch.service"
check "default config is a conffile" sh -c "grep -qx /etc/edgewatch/edgewatch.toml '$root/var/lib/dpkg/info/edgewatch.conffiles'"
check "system user created" quiet in_root getent passwd edgewatch
check "config readable by the service only" test "$(in_root stat -c "%a %U %G" /etc/edgewatch/edgewatch.toml)" = "640 root edgewatch"
check "secrets directory root-only" test "$(in_root stat -c "%a %U" /etc/edgewatch/secrets)" = "700 root"
check "installed binary accepts the installed config" quiet in_root /usr/bin/edgewatch check-config /etc/edgewatch/edgewatch.toml
check "the shipped forwarding example is valid" quiet in_root /usr/bin/edgewatch check-config --no-files /usr/share/doc/edgewatch/examples/sinks.toml
check "ONNX Runtime shipped beside the binary" test -f "$root/usr/lib/edgewatch/libonnxruntime.so.1.31.1"
check "dpkg installs edgewatch-models" quiet in_root dpkg -i /tmp/edgewatch-models.deb
check "models in /usr/share/edgewatch/models" test -f "$root/usr/share/edgewatch/models/motor-anomaly.onnx"
printf '[[anomaly-models]]\nname = "motor"\nmodel = "motor-anomaly"\nsensors = "plant1/*/motor/*/{channel}"\n' > "$root/tmp/anomaly.toml"
check "installed binary loads the packaged model through the packaged runtime" \
    sh -c "chroot '$root' /usr/bin/edgewatch check-config /tmp/anomaly.toml 2>&1 | grep -q '1 anomaly model(s)' && ! chroot '$root' /usr/bin/edgewatch check-config /tmp/anomaly.toml 2>&1 | grep -q warning"
check "edgewatch-models carries the embedding and language models" \
    test -f "$root/usr/share/edgewatch/models/all-minilm-l6-v2/model.safetensors" -a -f "$root/usr/share/edgewatch/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
check "every packaged model file verifies (runtime found in /usr/lib/edgewatch)" \
    quiet in_root /usr/bin/edgewatch models --dir /usr/share/edgewatch/models verify

# The installed daemon, as the service user, answers with the packaged models.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[gateway]\nstate-dir = "/tmp/ew-state"\n[api]\nlisten = "127.0.0.1:%s"\n' "$port" > "$root/tmp/knowledge.toml"
chroot --userspec=edgewatch:edgewatch "$root" /usr/bin/edgewatch run --config /tmp/knowledge.toml >"$root/tmp/daemon.log" 2>&1 &
daemon=$!
trap 'rc=$?; kill $daemon 2>/dev/null || true; [ $rc -eq 0 ] || tail -n 20 "$root/tmp/daemon.log" >&2; rm -rf "$root"' EXIT
api="http://127.0.0.1:$port"
for _ in $(seq 1 60); do curl -sf "$api/v1/models" >/dev/null && break; sleep 0.5; done
post() { curl -sf "$api$1" -H 'content-type: application/json' -d "$2"; }
check "the service user's daemon offers the packaged models" \
    sh -c "curl -sf '$api/v1/models' | grep -q smollm2-135m-instruct"
check "it embeds text with the packaged embedding model (384 dimensions)" \
    sh -c "$(declare -f post); api='$api'; post /v1/embeddings '{\"input\": \"bearing vibration\"}' | python3 -c 'import json, sys; assert len(json.load(sys.stdin)[\"data\"][0][\"embedding\"]) == 384'"
check "it generates with the packaged language model" \
    sh -c "$(declare -f post); api='$api'; post /v1/chat/completions '{\"model\": \"smollm2-135m-instruct\", \"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"Say hello.\"}]}' | python3 -c 'import json, sys; assert json.load(sys.stdin)[\"usage\"][\"completion_tokens\"] >= 1'"
kill $daemon; wait $daemon 2>/dev/null || true
check "dpkg purges edgewatch-models" quiet in_root dpkg --purge edgewatch-models
check "dpkg purges the package" quiet in_root dpkg --purge edgewatch
check "purge removed binary, config and state" sh -c "! test -e '$root/usr/bin/edgewatch' && ! test -e '$root/etc/edgewatch' && ! test -e '$root/var/lib/edgewatch'"

expected="/etc/edgewatch/edgewatch.toml
/usr/bin/edgewatch
/usr/lib/edgewatch/libonnxruntime.so.1.31.1
/usr/lib/systemd/system/edgewatch.service
/usr/share/doc/edgewatch/README.md
/usr/share/doc/edgewatch/examples/serial.conf
/usr/share/doc/edgewatch/examples/sinks.toml
/usr/share/licenses/edgewatch/LICENSE"
check "rpm -qpl lists the payload" test "$(rpm -qpl "$rpm_file" 2>/dev/null | sort)" = "$expected"
check "rpm -K verifies the digests" sh -c "rpm -K '$rpm_file' >/dev/null"
models_expected=$(dpkg-deb -c "$models_deb" | awk '$1 !~ /^d/ {sub("^\\.", "", $6); print $6}' | grep -v '^/usr/share/doc/' | sort)
check "the models .rpm carries the same models as the .deb" \
    test "$(rpm -qpl "$models_rpm" 2>/dev/null | grep -v '^/usr/share/licenses/' | sort)" = "$models_expected"
check "rpm -K verifies the models .rpm" sh -c "rpm -K '$models_rpm' >/dev/null"

echo "install test: $passed passed, 0 failed"
