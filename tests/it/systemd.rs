//! The test suite acts as systemd: a unix datagram socket receives edgewatch's
//! sd_notify messages (NOTIFY_SOCKET) with a watchdog period set (WATCHDOG_USEC).

use crate::support::{wait_until, Daemon};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// A fast simulator so data flows without a broker.
const BODY: &str = "[[sources.simulator]]\nname = \"sim\"\nlines = 1\nmachines-per-line = 2\ninterval = \"50ms\"\nfault-rate = 0.0\n";
const WATCHDOG_USEC: &str = "400000";

struct FakeSystemd {
    socket: UnixDatagram,
    _dir: tempfile::TempDir,
    path: String,
}

impl FakeSystemd {
    fn bind() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        FakeSystemd {
            socket,
            path: path.display().to_string(),
            _dir: dir,
        }
    }

    /// Every message received within `window`.
    fn collect(&self, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        out
    }

    /// Messages until one contains `needle`; panics after `timeout`.
    fn until(&self, needle: &str, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let got = self.collect(Duration::from_millis(50));
            let found = got.iter().any(|m| m.contains(needle));
            seen.extend(got);
            if found {
                return seen;
            }
        }
        panic!("no {needle} within {timeout:?}; got {seen:?}");
    }
}

fn start(systemd: &FakeSystemd, dir: &std::path::Path) -> Daemon {
    Daemon::start_env(
        dir,
        BODY,
        &[
            ("NOTIFY_SOCKET", &systemd.path),
            ("WATCHDOG_USEC", WATCHDOG_USEC),
        ],
    )
}

#[test]
fn ready_status_watchdog_and_stopping() {
    let systemd = FakeSystemd::bind();
    let dir = tempfile::tempdir().unwrap();
    let d = start(&systemd, dir.path());
    let first = systemd.until("READY=1", Duration::from_secs(10));
    let ready = first.iter().find(|m| m.contains("READY=1")).unwrap();
    assert!(
        ready.contains("STATUS=") && ready.contains("readings/s"),
        "{ready}"
    );
    // Pings at half the period: several in two periods.
    let pings = systemd
        .collect(Duration::from_millis(1600))
        .iter()
        .filter(|m| m.contains("WATCHDOG=1"))
        .count();
    assert!(pings >= 2, "{pings} watchdog pings in 1.6 s");
    assert!(d.terminate().success());
    systemd.until("STOPPING=1", Duration::from_secs(5));
}

#[test]
fn a_wedged_store_writer_stops_the_watchdog_pings() {
    let systemd = FakeSystemd::bind();
    let dir = tempfile::tempdir().unwrap();
    let d = start(&systemd, dir.path());
    systemd.until("WATCHDOG=1", Duration::from_secs(10));
    // Another process takes the database's write lock: the writer's next commit hangs.
    let blocker = rusqlite::Connection::open(d.db()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // Let pings already under way arrive (a probe takes at most half a period).
    systemd.collect(Duration::from_millis(800));
    let wedged = systemd.collect(Duration::from_millis(1500));
    assert!(
        !wedged.iter().any(|m| m.contains("WATCHDOG=1")),
        "pinged while wedged: {wedged:?}"
    );
    assert!(wait_until(Duration::from_secs(5), || d
        .log()
        .contains("withholding watchdog pings")));
    blocker.execute_batch("ROLLBACK").unwrap();
    systemd.until("WATCHDOG=1", Duration::from_secs(15));
    assert!(d.terminate().success());
}

#[test]
fn sighup_applies_a_valid_config_and_refuses_an_invalid_one() {
    let systemd = FakeSystemd::bind();
    let dir = tempfile::tempdir().unwrap();
    let mut d = start(&systemd, dir.path());
    systemd.until("READY=1", Duration::from_secs(10));
    let original = std::fs::read_to_string(&d.config).unwrap();

    // An invalid file: refused, logged with the key, the running config stays.
    std::fs::write(
        &d.config,
        format!("{original}\n[[rules]]\nname = \"bad\"\nsensors = [\"x\"]\n"),
    )
    .unwrap();
    d.hup();
    assert!(
        wait_until(Duration::from_secs(10), || d
            .log()
            .contains("reload refused")),
        "log:\n{}",
        d.log()
    );
    assert!(
        d.log().contains("rules[0]: has no condition"),
        "log:\n{}",
        d.log()
    );
    let during = systemd.collect(Duration::from_millis(300));
    assert!(
        !during.iter().any(|m| m.contains("RELOADING=1")),
        "{during:?}"
    );
    assert_eq!(d.status_of("/readyz"), 200);

    // A valid change: RELOADING, then READY, and the new config is live.
    let before = crate::support::sql_count(&d.db(), "SELECT count(*) FROM journal");
    std::fs::write(
        &d.config,
        original.replace("name = \"sim\"", "name = \"plant-b\""),
    )
    .unwrap();
    d.hup();
    let msgs = systemd.until("RELOADING=1", Duration::from_secs(10));
    // A reload takes milliseconds: READY may already be among what was collected.
    let at = msgs.iter().position(|m| m.contains("RELOADING=1")).unwrap();
    if !msgs[at..].iter().any(|m| m.contains("READY=1")) {
        systemd.until("READY=1", Duration::from_secs(15));
    }
    d.refresh_api();
    let status = d.json("/api/v1/status");
    assert_eq!(status["sources"][0]["name"], "plant-b", "{status}");
    // Nothing accepted before the reload is gone, and ingest goes on after it.
    let db = d.db();
    assert!(wait_until(
        Duration::from_secs(10),
        || crate::support::sql_count(&db, "SELECT count(*) FROM journal") > before + 10
    ));
    assert!(d.terminate().success());
}

#[test]
fn under_systemd_without_a_journald_socket_logs_go_to_plain_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_env(dir.path(), BODY, &[("JOURNAL_STREAM", "8:12345")]);
    let log = d.log();
    if std::path::Path::new("/run/systemd/journal/socket").exists() {
        // A real journald: records go there, not to stderr.
        assert!(!log.contains("journald socket unavailable"), "{log}");
    } else {
        assert!(log.contains("journald socket unavailable"), "{log}");
        // journald stamps time and shows no colours: neither is written.
        let line = log
            .lines()
            .find(|l| l.contains("api listening"))
            .expect("log line");
        assert!(
            line.starts_with(" INFO") && !line.contains('\x1b'),
            "{line:?}"
        );
    }
    assert!(d.terminate().success());
}
