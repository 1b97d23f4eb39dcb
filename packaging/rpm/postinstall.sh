# edgewatch: Fedora/RHEL convention is presets, not enable-on-install.
chown root:edgewatch /etc/edgewatch /etc/edgewatch/edgewatch.toml 2>/dev/null || :
chmod 0750 /etc/edgewatch
install -d -m 0700 /etc/edgewatch/secrets
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then systemctl --no-reload preset edgewatch.service >/dev/null 2>&1 || :; fi
fi
exit 0
