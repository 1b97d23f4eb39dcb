#!/usr/bin/env bash
# Runs a command under a private systemd-journald, the way systemd runs a unit
# whose output goes to the journal, then prints what the journal holds as JSON
# lines. Needs root: a private mount namespace (unshare) with its own /run and
# /var/log/journal, so the host's journal is neither touched nor read.
#
#   journald_run.sh SECONDS COMMAND ARGS...   runs COMMAND for SECONDS, then SIGTERM
set -euo pipefail
if [ "${1:-}" != "--inside" ]; then
    exec unshare --mount --propagation private "$0" --inside "$@"
fi
shift
seconds=$1; shift
mount -t tmpfs tmpfs /run
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
journald=$(command -v systemd-journald || echo /lib/systemd/systemd-journald)
"$journald" &
pid=$!
for _ in $(seq 1 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
# stdout and stderr to a journal stream; JOURNAL_STREAM says so, as systemd does.
systemd-cat --identifier=edgewatch-stderr \
    env JOURNAL_STREAM=journal timeout --signal=TERM "$seconds" "$@" || true
journalctl --sync 2>/dev/null || sleep 0.5
journalctl --no-pager --output=json --all
kill "$pid"
