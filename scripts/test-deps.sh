#!/usr/bin/env bash
# Installs the real peers the test suite talks to, from Debian/Ubuntu packages:
# Mosquitto broker and clients, openssl (test certificates), sqlite3 (inspection),
# paho-mqtt for the system Python (an independent QoS 1 publisher),
# systemd-analyze (unit file checks) and systemd-journald (a private one receives the logs), socat, mbpoll and pymodbus (Modbus peers), and debootstrap, rpm and binutils (install test).
# Idempotent: installs only what is missing.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
[ -x /usr/bin/python3 ] || need+=(python3)
/usr/bin/python3 -c 'import paho.mqtt' >/dev/null 2>&1 || need+=(python3-paho-mqtt)
{ command -v systemd-analyze && [ -x /lib/systemd/systemd-journald ]; } >/dev/null 2>&1 || need+=(systemd)
# Modbus peers: socat (RTU over a pseudo-terminal pair), mbpoll (libmodbus client),
# and a venv for pymodbus (the independent server; Debian's 3.0 predates its API).
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v mbpoll >/dev/null 2>&1 || need+=(mbpoll)
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# The install test: a throwaway Debian root, rpm checks, stripping by cargo-deb.
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v rpm >/dev/null 2>&1 || need+=(rpm)
command -v strip >/dev/null 2>&1 || need+=(binutils)

if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# pymodbus, pinned, in its own venv (PyPI): what tests/it/modbus.rs starts.
venv="${EDGEWATCH_TEST_VENV:-/var/cache/edgewatch-test/pymodbus-venv}"
if ! "$venv/bin/python" -c 'import pymodbus, serial; assert pymodbus.__version__ == "3.16.1"' >/dev/null 2>&1; then
    echo "installing pymodbus 3.16.1 into $venv"
    mkdir -p "$(dirname "$venv")"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check pymodbus==3.16.1 pyserial==3.5
fi
# The official openai client (PyPI, pinned) for the OpenAI-compatible API test.
openai_venv="${EDGEWATCH_TEST_OPENAI_VENV:-/var/cache/edgewatch-test/openai-venv}"
if ! "$openai_venv/bin/python" -c 'import openai; assert openai.__version__ == "2.54.0"' >/dev/null 2>&1; then
    echo "installing openai 2.54.0 into $openai_venv"
    mkdir -p "$(dirname "$openai_venv")"
    /usr/bin/python3 -m venv "$openai_venv"
    "$openai_venv/bin/pip" install -q --disable-pip-version-check openai==2.54.0
fi
# Debian starts a system-wide broker on 1883 after install; the tests start their
# own on free ports and do not need it.
