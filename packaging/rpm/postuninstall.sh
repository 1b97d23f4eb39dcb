# edgewatch: restart after an upgrade; RPM keeps a changed config as .rpmsave.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then systemctl try-restart edgewatch.service >/dev/null 2>&1 || :; fi
fi
exit 0
