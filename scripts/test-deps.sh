#!/usr/bin/env bash
# Installs the real peers the test suite talks to, from Debian/Ubuntu packages:
# Mosquitto broker and clients, openssl (test certificates), sqlite3 (inspection),
# paho-mqtt for the system Python (an independent QoS 1 publisher),
# systemd-analyze (unit file checks), and debootstrap, rpm and binutils (install test).
# Idempotent: installs only what is missing.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
[ -x /usr/bin/python3 ] || need+=(python3)
/usr/bin/python3 -c 'import paho.mqtt' >/dev/null 2>&1 || need+=(python3-paho-mqtt)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
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
# Debian starts a system-wide broker on 1883 after install; the tests start their
# own on free ports and do not need it.
