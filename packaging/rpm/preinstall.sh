# edgewatch: system user before the files land.
getent group edgewatch >/dev/null || groupadd --system edgewatch
getent passwd edgewatch >/dev/null || useradd --system --gid edgewatch \
    --home-dir /var/lib/edgewatch --no-create-home --shell /sbin/nologin \
    --comment "edgewatch gateway daemon" edgewatch
exit 0
