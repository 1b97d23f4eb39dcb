# edgewatch: stop and disable on removal (not on upgrade).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now edgewatch.service >/dev/null 2>&1 || :
fi
exit 0
