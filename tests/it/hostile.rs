//! Regressions of issue 16 (hostile input): each case fails on the code before
//! the fix. A hostile sensor id must not reach the uplink (it used to block an
//! MQTT sink for good), a reading stamped years ahead is refused at the source,
//! and check-config refuses what `run` would fail on or silently ignore.

use crate::support::{check_config, wait_until, Broker, Daemon, Peer};
use std::time::Duration;

/// An MQTT source on `in/#` (with `extra` keys), 1 s aggregate windows.
fn source(port: u16, extra: &str) -> String {
    format!(
        "[aggregate]\nwindow = \"1s\"\nlateness = \"0s\"\n\
         [[sources.mqtt]]\nname = \"in\"\nhost = \"127.0.0.1\"\nport = {port}\n{extra}\n\
         [[sources.mqtt.subscriptions]]\ntopic = \"in/#\"\nqos = 1\n"
    )
}

#[test]
fn hostile_sensor_ids_are_refused_and_the_uplink_keeps_moving() {
    let broker = Broker::start();
    let collector = Peer::mqtt_collector(broker.port, "edge/#", None);
    broker.wait_subscribed("collector", "edge/#");
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        &format!(
            "{}[[sinks.mqtt]]\nname = \"up\"\nhost = \"127.0.0.1\"\nport = {}\n",
            source(broker.port, ""),
            broker.port
        ),
    );
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    // ESC, NUL, DEL, C1, a non-character, and a 12 KB id (JSON escapes: the
    // decoded id carries the raw character).
    let long = "x".repeat(12 * 1024);
    let hostile: Vec<String> = [
        "esc\\u001b[31m",
        "nul\\u0000x",
        "del\\u007f",
        "c1\\u0085",
        "nc\\uffff",
        long.as_str(),
    ]
    .iter()
    .map(|id| format!(r#"{{"sensor_id":"{id}","value":1}}"#))
    .collect();
    broker.publish_lines("in/x", &hostile, 1);
    let rejected = "edgewatch_source_rejected_total{source=\"in\",reason=\"bad_sensor_id\"}";
    assert!(
        wait_until(Duration::from_secs(10), || d.metric(rejected) >= 6.0),
        "{}",
        d.log()
    );
    // Normal readings after them: their aggregates arrive upstream.
    let normal: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"sensor_id":"plant/line1/ok","value":{i}}}"#))
        .collect();
    for chunk in normal.chunks(10) {
        broker.publish_lines("in/x", chunk, 1);
        std::thread::sleep(Duration::from_millis(600));
    }
    let delivered = wait_until(Duration::from_secs(20), || {
        collector
            .lines()
            .iter()
            .any(|l| l.contains("aggregates") && l.contains("plant/line1/ok"))
    });
    assert!(
        delivered,
        "no aggregate upstream: {:?}\n{}",
        collector.lines(),
        d.log()
    );
    assert_eq!(d.metric(rejected), 6.0);
    let ids: Vec<String> = crate::support::sql(&d.db(), "SELECT name FROM sensors");
    assert_eq!(ids, ["plant/line1/ok"], "no hostile id is stored");
}

#[test]
fn an_item_the_upstream_cannot_take_goes_to_the_dead_letters_and_the_queue_moves() {
    let source_broker = Broker::start();
    // An upstream that disconnects any client sending a packet over 600 bytes.
    let upstream = Broker::start_with(|port, _| {
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_packet_size 600\n")
    });
    let collector = Peer::mqtt_collector(upstream.port, "edge/#", None);
    upstream.wait_subscribed("collector", "edge/#");
    let dir = tempfile::tempdir().unwrap();
    let sink = |name: &str, extra: &str| {
        format!(
            "[[sinks.mqtt]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\n\
             aggregate-topic = \"edge/{{sink}}/{{sensor}}\"\n{extra}\n\
             [sinks.mqtt.retry]\nmin = \"50ms\"\nmax = \"200ms\"\n",
            upstream.port
        )
    };
    // `blind` does not know the limit: the broker drops it each time it sends the
    // big item. `strict` knows it and never sends it.
    let d = Daemon::start(
        dir.path(),
        &format!(
            "{}{}{}",
            source(source_broker.port, ""),
            sink("blind", ""),
            sink("strict", "max-packet-size = \"600B\""),
        ),
    );
    source_broker.wait_subscribed("edgewatch-test-in", "in/#");
    let big = format!("plant/{}", "L".repeat(240));
    source_broker.publish("in/x", &format!(r#"{{"sensor_id":"{big}","value":1}}"#), 1);
    std::thread::sleep(Duration::from_millis(1500));
    for i in 0..30 {
        source_broker.publish(
            "in/x",
            &format!(r#"{{"sensor_id":"small","value":{i}}}"#),
            1,
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dead = |sink: &str| {
        d.metric(&format!(
            "edgewatch_sink_dead_letters{{sink=\"{sink}\",type=\"mqtt\"}}"
        ))
    };
    let arrived = |sink: &str| {
        collector
            .lines()
            .iter()
            .any(|l| l.contains(&format!("edge/{sink}/small")))
    };
    assert!(
        wait_until(Duration::from_secs(30), || dead("blind") == 1.0
            && dead("strict") == 1.0
            && arrived("blind")
            && arrived("strict")),
        "dead letters blind {} strict {}; upstream got {:?}\n{}",
        dead("blind"),
        dead("strict"),
        collector.lines(),
        d.log()
    );
    assert!(
        !collector.lines().iter().any(|l| l.contains(&big)),
        "the big item never reached the upstream"
    );
    let listed = d.json("/api/v1/dead-letters");
    let rows = listed["dead_letters"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    let reason = |sink: &str| {
        rows.iter()
            .find(|r| r["sink"] == sink)
            .map(|r| r["reason"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert!(
        reason("blind").contains("dropped the connection 5 times"),
        "{listed}"
    );
    assert!(
        reason("strict").contains("over max-packet-size"),
        "{listed}"
    );
    assert!(rows
        .iter()
        .all(|r| r["body"].as_str().unwrap().contains(&big)));

    // Refused without saying which; then `strict`'s is dropped, `blind`'s resent
    // (and moved aside again, since the upstream still cannot take it).
    let (code, answer) = d.post("/api/v1/dead-letters/drop", &serde_json::json!({}));
    assert_eq!(code, 400, "{answer}");
    let (code, answer) = d.post(
        "/api/v1/dead-letters/drop",
        &serde_json::json!({"sink": "strict", "all": true}),
    );
    assert_eq!(
        (code, answer["dropped"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let (code, answer) = d.post(
        "/api/v1/dead-letters/resend",
        &serde_json::json!({"sink": "blind", "all": true}),
    );
    assert_eq!(
        (code, answer["resent"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    assert!(
        wait_until(Duration::from_secs(30), || dead("strict") == 0.0
            && dead("blind") == 1.0
            && d.metric(
                "edgewatch_sink_queue_items{sink=\"blind\",type=\"mqtt\"}"
            ) == 0.0),
        "{}",
        d.log()
    );
}

/// A size-limited tmpfs mounted on a directory for the life of the value.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "this test mounts a tmpfs: run it as root");
        SmallDisk(dir.to_owned())
    }

    /// Writes a file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        let _ = std::fs::remove_file(self.0.join("filler"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn sigterm_on_a_full_disk_exits_without_acknowledging_and_nothing_is_lost() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("state"), "8m");
    let d = Daemon::start(dir.path(), &source(broker.port, ""));
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    // Healthy and ready, the source listed as connected.
    assert_eq!(d.status_of("/healthz"), 200);
    let ready = d.json("/readyz");
    assert_eq!(ready["sources"][0]["name"], "in", "{ready}");
    assert_eq!(ready["sources"][0]["connected"], true, "{ready}");
    assert_eq!(
        ready["waiting_for"].as_array().map(Vec::len),
        Some(0),
        "{ready}"
    );
    disk.fill();
    let lines: Vec<String> = (0..2000)
        .map(|i| format!(r#"{{"sensor_id":"full/{}","value":{i}}}"#, i % 20))
        .collect();
    broker.publish_lines("in/x", &lines, 1);
    assert!(
        wait_until(Duration::from_secs(20), || d
            .log()
            .contains("store commit failed")),
        "the disk never filled: {}",
        d.log()
    );
    // /healthz is the watchdog's probe: a writer stuck retrying a commit fails it.
    assert!(
        wait_until(Duration::from_secs(15), || d.status_of("/healthz") == 503),
        "healthz stayed {}",
        d.status_of("/healthz")
    );
    let log = dir.path().join("edgewatch.log");
    let status = d.terminate();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!status.success(), "{status:?}\n{text}");
    assert!(text.contains("could not stop within"), "{text}");
    // Space again: the broker redelivers what was never acknowledged.
    disk.free();
    let d = Daemon::restart(dir.path());
    let stored = || crate::support::sql_count(&d.db(), "SELECT count(*) FROM journal");
    assert!(
        wait_until(Duration::from_secs(30), || stored() >= 2000),
        "{} of 2000 readings stored after the restart\n{}",
        stored(),
        d.log()
    );
    assert_eq!(stored(), 2000);
}

/// A config with an MQTT source and `api` keys, for [`Daemon::start_config`].
fn config_with_api(dir: &std::path::Path, port: u16, api: &str) -> std::path::PathBuf {
    let config = dir.join("edgewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nid = \"test\"\nstate-dir = \"{}\"\n\
             [api]\nlisten = \"127.0.0.1:0\"\n{api}\n{}",
            dir.join("state").display(),
            source(port, "reconnect-min = \"100ms\"\nreconnect-max = \"500ms\"")
        ),
    )
    .unwrap();
    config
}

#[test]
fn idle_api_connections_cannot_starve_the_sources_of_descriptors() {
    use std::io::{Read, Write};
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut broker = Broker::start_persistent(crate::support::free_port());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // Idle clients are not timed out during the test: only the cap protects.
    let config = config_with_api(
        dir.path(),
        broker.port,
        "max-connections = 100\nheader-timeout = \"10m\"",
    );
    // systemd's default: 1024 descriptors, soft and hard.
    let d = Daemon::start_config(&config, &state, &[], &["prlimit", "--nofile=1024:1024"]);
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    let addr = std::fs::read_to_string(state.join("api.addr")).unwrap();
    let idle: Vec<std::net::TcpStream> = (0..1100)
        .filter_map(|_| std::net::TcpStream::connect(addr.trim()).ok())
        .collect();
    assert_eq!(idle.len(), 1100, "the kernel queues what is not accepted");
    // One over the cap is told why.
    let mut extra = std::net::TcpStream::connect(addr.trim()).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 503") && answer.contains("api.max-connections"),
        "{answer:?}"
    );
    // The source must reconnect (a new descriptor) while the API is flooded.
    broker.stop();
    broker.start_again();
    for i in 0..10 {
        broker.publish("in/x", &format!(r#"{{"sensor_id":"s","value":{i}}}"#), 1);
    }
    let stored = || crate::support::sql_count(&d.db(), "SELECT count(*) FROM journal");
    assert!(
        wait_until(Duration::from_secs(30), || stored() == 10),
        "{} of 10 readings stored\n{}",
        stored(),
        d.log()
    );
    assert!(!d.log().contains("Too many open files"), "{}", d.log());
    // The clients go; the API answers again.
    drop(idle);
    assert!(
        wait_until(Duration::from_secs(10), || d.get("/healthz").is_some()),
        "{}",
        d.log()
    );
}

#[test]
fn a_client_that_sends_no_request_head_in_time_is_disconnected() {
    use std::io::{Read, Write};
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_api(dir.path(), broker.port, "header-timeout = \"1s\"");
    let d = Daemon::start_config(&config, &dir.path().join("state"), &[], &[]);
    let addr = std::fs::read_to_string(dir.path().join("state/api.addr")).unwrap();
    let closed_within = |drip: bool| {
        let mut c = std::net::TcpStream::connect(addr.trim()).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let started = std::time::Instant::now();
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        let mut i = 0;
        while started.elapsed() < Duration::from_secs(10) {
            if drip {
                // A slow client: one byte of a never-ending head every 200 ms.
                if c.write_all(&head[i % head.len()..][..1]).is_err() {
                    return started.elapsed();
                }
                i += 1;
            }
            let mut buf = [0u8; 256];
            match c.read(&mut buf) {
                Ok(0) => return started.elapsed(),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return started.elapsed(),
            }
        }
        started.elapsed()
    };
    let idle = closed_within(false);
    let slow = closed_within(true);
    assert!(idle < Duration::from_secs(4), "idle client kept {idle:?}");
    assert!(slow < Duration::from_secs(4), "slow client kept {slow:?}");
    assert!(d.get("/healthz").is_some());
}

#[test]
fn readings_stamped_years_ahead_are_refused_at_the_source() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &source(broker.port, "max-clock-skew = \"10m\""));
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    let now = edgewatch::event::now_ms();
    let ahead = now + 10 * 365 * 86_400_000;
    let array: Vec<String> = (0..500)
        .map(|i| format!(r#"{{"sensor_id":"future","value":{i},"ts":{}}}"#, ahead + i))
        .collect();
    broker.publish("in/x", &format!("[{}]", array.join(",")), 1);
    // Five minutes ahead is within the allowed skew.
    broker.publish(
        "in/x",
        &format!(
            r#"{{"sensor_id":"skewed","value":1,"ts":{}}}"#,
            now + 300_000
        ),
        1,
    );
    let rejected = "edgewatch_source_rejected_total{source=\"in\",reason=\"bad_timestamp\"}";
    assert!(
        wait_until(Duration::from_secs(10), || d.metric(rejected) >= 500.0
            && crate::support::sql_count(
                &d.db(),
                "SELECT count(*) FROM journal"
            ) >= 1),
        "{}",
        d.log()
    );
    assert_eq!(d.metric(rejected), 500.0);
    let ids: Vec<String> = crate::support::sql(&d.db(), "SELECT name FROM sensors");
    assert_eq!(ids, ["skewed"]);
}

#[test]
fn readings_far_ahead_open_a_bounded_number_of_windows_and_restart_skips_them() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    // Skew allowed (a box with a wrong clock upstream): the aggregator must hold.
    let d = Daemon::start(
        dir.path(),
        &source(broker.port, "max-clock-skew = \"300d\""),
    );
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    let ahead = edgewatch::event::now_ms() + 200 * 86_400_000;
    for chunk in 0..20 {
        let array: Vec<String> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                format!(
                    r#"{{"sensor_id":"future","value":{n},"ts":{}}}"#,
                    ahead + n * 1000
                )
            })
            .collect();
        broker.publish("in/x", &format!("[{}]", array.join(",")), 1);
    }
    let unwindowed = "edgewatch_unwindowed_readings_total";
    assert!(
        wait_until(Duration::from_secs(30), || d.metric(unwindowed) >= 19_880.0),
        "{} unwindowed\n{}",
        d.metric(unwindowed),
        d.log()
    );
    assert_eq!(d.metric(unwindowed), 19_880.0, "120 windows open, no more");
    assert!(d.metric("edgewatch_open_windows") <= 121.0);
    // A normal sensor still gets its aggregates.
    for i in 0..5 {
        broker.publish("in/x", &format!(r#"{{"sensor_id":"ok","value":{i}}}"#), 1);
        std::thread::sleep(Duration::from_millis(400));
    }
    let aggregated = || {
        crate::support::sql_count(
            &d.db(),
            "SELECT count(*) FROM aggregates a JOIN sensors s ON s.id = a.sensor WHERE s.name = 'ok'",
        )
    };
    assert!(
        wait_until(Duration::from_secs(10), || aggregated() >= 1),
        "{}",
        d.log()
    );
    assert!(d.terminate().success());
    // The restart does not rebuild windows 200 days ahead.
    let d = Daemon::restart(dir.path());
    let log = d.log();
    let replayed: u64 = log
        .lines()
        .rfind(|l| l.contains("state restored"))
        .and_then(|l| l.split("replayed=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("a replayed= figure in the log");
    assert!(replayed < 100, "replayed {replayed}\n{log}");
}

#[test]
fn a_burst_of_new_sensor_ids_stops_at_the_cap_and_lists_are_paged() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        &format!("[store]\nmax-sensors = 50\n{}", source(broker.port, "")),
    );
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    broker.publish("in/x", r#"{"sensor_id":"kept","value":1}"#, 1);
    let burst: Vec<String> = (0..2000)
        .map(|i| format!(r#"{{"sensor_id":"made-up/{i}","value":{i}}}"#))
        .collect();
    for chunk in burst.chunks(500) {
        broker.publish("in/x", &format!("[{}]", chunk.join(",")), 1);
    }
    let refused = "edgewatch_sensors_refused_total";
    assert!(
        wait_until(Duration::from_secs(20), || d.metric(refused) >= 1951.0),
        "{} refused\n{}",
        d.metric(refused),
        d.log()
    );
    // A known sensor is never refused at the cap.
    broker.publish("in/x", r#"{"sensor_id":"kept","value":2}"#, 1);
    let kept = || {
        crate::support::sql_count(
            &d.db(),
            "SELECT count(*) FROM journal j JOIN sensors s ON s.id = j.sensor WHERE s.name = 'kept'",
        )
    };
    assert!(
        wait_until(Duration::from_secs(10), || kept() == 2),
        "{}",
        d.log()
    );
    assert_eq!(d.metric(refused), 1951.0);
    assert_eq!(d.metric("edgewatch_sensors_known"), 50.0);
    // Paged: 50 sensors in pages of 20, each once, in order.
    let mut seen: Vec<String> = Vec::new();
    let mut after = String::new();
    for _ in 0..10 {
        let page = d.json(&format!("/api/v1/sensors?limit=20{after}"));
        seen.extend(
            page["sensors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(n) => after = format!("&after={}", n.replace('/', "%2F")),
            None => break,
        }
    }
    assert_eq!(seen.len(), 50, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in order, no repeats");
}

#[test]
fn hostile_topics_from_a_real_broker_are_logged_for_what_they_are_and_kept_bounded() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &source(broker.port, ""));
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    // The broker refuses control characters in topics, but not the invisible
    // ones that reorder text (a log reader would see "in/exe.png"), nor 60 KB.
    let trojan = "in/\u{202e}gnp.exe\u{200b}";
    let long = format!("in/{}", "x".repeat(60_000));
    broker.publish(trojan, "not json", 1);
    broker.publish(&long, "not json either", 1);
    broker.publish("in/ok", r#"{"sensor_id":"ok","value":1}"#, 1);
    let rejected = "edgewatch_source_rejected_total{source=\"in\",reason=\"not_json\"}";
    assert!(
        wait_until(Duration::from_secs(10), || d.metric(rejected) >= 2.0
            && crate::support::sql_count(
                &d.db(),
                "SELECT count(*) FROM journal"
            ) == 1),
        "{}",
        d.log()
    );
    let log = d.log();
    assert!(log.contains(r"in/\u{202e}gnp.exe\u{200b}"), "{log}");
    assert!(
        !log.contains('\u{202e}') && !log.contains('\u{200b}'),
        "raw bidi in the log"
    );
    // The 60 KB topic: a log line of bounded length, a bounded row.
    assert!(
        log.lines().all(|l| l.len() < 2_000),
        "a log line took the whole topic"
    );
    let kept: Vec<i64> =
        crate::support::sql(&d.db(), "SELECT length(topic) FROM rejected ORDER BY ts");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|&n| n <= 1024), "{kept:?}");
    assert_eq!(
        crate::support::sql::<String>(
            &d.db(),
            "SELECT topic FROM rejected WHERE topic LIKE 'in/%exe%'"
        ),
        [trojan],
        "the table keeps the topic as it came, for finding the publisher"
    );
}

/// Follows `next` from page to page; the `key` of every row listed.
fn pages(
    d: &Daemon,
    path: &str,
    list: &str,
    key: impl Fn(&serde_json::Value) -> String,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = String::new();
    for _ in 0..100 {
        let page = d.json(&format!("{path}{after}"));
        seen.extend(page[list].as_array().unwrap().iter().map(&key));
        match page["next"].as_str() {
            Some(n) => after = format!("&after={}", n.replace('/', "%2F").replace(':', "%3A")),
            None => return seen,
        }
    }
    panic!("no last page after 100 pages of {path}");
}

#[test]
fn alerts_and_aggregates_are_paged_by_cursor_with_ties_kept_apart() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        &format!(
            "{}[[rules]]\nname = \"hot\"\nsensors = [\"p/*\"]\nabove = 10.0\nclear = 5.0\n",
            source(broker.port, "")
        ),
    );
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    // One message: 40 alerts fired in the same millisecond, 40 aggregates of the
    // same window, so the cursors must tell rows with one time apart.
    let burst: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"sensor_id":"p/{i:02}","value":20}}"#))
        .collect();
    broker.publish("in/x", &format!("[{}]", burst.join(",")), 1);
    assert!(
        wait_until(Duration::from_secs(20), || {
            d.json("/api/v1/aggregates?from=10m&limit=100")["aggregates"]
                .as_array()
                .is_some_and(|a| a.len() == 40)
        }),
        "{}",
        d.log()
    );
    let alerts = pages(&d, "/api/v1/alerts?limit=7", "alerts", |a| {
        a["id"].as_str().unwrap().to_owned()
    });
    let mut unique = alerts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (alerts.len(), unique.len()),
        (40, 40),
        "each alert once: {alerts:?}"
    );
    let aggs = pages(
        &d,
        "/api/v1/aggregates?from=10m&limit=7",
        "aggregates",
        |a| {
            format!(
                "{} {}",
                a["window_start"].as_str().unwrap(),
                a["sensor"].as_str().unwrap()
            )
        },
    );
    let mut sorted = aggs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, aggs, "in order, each once");
    assert_eq!(aggs.len(), 40);
    // A cursor that no page gave is refused.
    assert_eq!(d.status_of("/api/v1/alerts?after=yesterday"), 400);
    assert_eq!(d.status_of("/api/v1/aggregates?after=12x%3Ap%2F01"), 400);
}

#[test]
fn check_config_refuses_what_run_would_ignore_or_trip_on() {
    let dir = tempfile::tempdir().unwrap();
    let base = |extra: &str| {
        format!(
            "[gateway]\nstate-dir = \"{}\"\n[[sources.mqtt]]\nname = \"in\"\nhost = \"127.0.0.1\"\n{extra}\n\
             [[sources.mqtt.subscriptions]]\ntopic = \"in/#\"\n",
            dir.path().display()
        )
    };
    let cases = [
        (
            "password-file = \"/etc/hostname\"",
            "a password is only sent with a username",
        ),
        ("max-payload = \"0B\"", "max-payload"),
        ("max-payload = \"4GiB\"", "max-payload"),
        ("reconnect-max = \"100y\"", "reconnect-max"),
        ("max-clock-skew = \"0s\"", "max-clock-skew"),
    ];
    for (extra, says) in cases {
        let path = dir.path().join("c.toml");
        std::fs::write(&path, base(extra)).unwrap();
        let (code, _, err) = check_config(&path);
        assert_eq!(code, 78, "{extra}: {err}");
        assert!(err.contains(says), "{extra}: {err}");
    }
    // A source name that would forge series in /metrics.
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        base("").replace("name = \"in\"", "name = \"in\\\"} 1\\nedgewatch_forged 1\""),
    )
    .unwrap();
    let (code, _, err) = check_config(&path);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("is not allowed"), "{err}");
    std::fs::write(&path, base("")).unwrap();
    assert_eq!(check_config(&path).0, 0, "the base config is valid");
}

#[test]
fn files_the_config_names_are_checked_before_run_and_run_exits_78() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.token");
    std::fs::write(&empty, "\n").unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let missing = dir.path().join("missing");
    let base = format!(
        "[gateway]\nstate-dir = \"{}\"\n[sinks]\nallowed-hosts = [\"127.0.0.1\"]\n",
        dir.path().join("state").display()
    );
    let cases = [
        (
            format!("[api]\ntoken-file = \"{}\"\n", missing.display()),
            "api.token-file",
        ),
        (
            format!("[api]\ntoken-file = \"{}\"\n", empty.display()),
            "is empty",
        ),
        (
            format!(
                "[[sinks.webhook]]\nname = \"w\"\nurl = \"https://127.0.0.1:9/\"\nhmac-key-file = \"{}\"\n",
                missing.display()
            ),
            "sinks.webhook[0].hmac-key-file",
        ),
        (
            format!(
                "[[sinks.webhook]]\nname = \"w\"\nurl = \"https://127.0.0.1:9/\"\nca-file = \"{}\"\n",
                not_pem.display()
            ),
            "sinks.webhook[0].ca-file",
        ),
        (
            format!(
                "[[sinks.webhook]]\nname = \"w\"\nurl = \"https://127.0.0.1:9/\"\npreset = \"splunk-hec\"\ntoken-file = \"{}\"\n",
                missing.display()
            ),
            "sinks.webhook[0].token-file",
        ),
        (
            format!(
                "[[sources.mqtt]]\nname = \"in\"\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword-file = \"{}\"\n\
                 [sources.mqtt.tls]\nca-file = \"{}\"\n\
                 [[sources.mqtt.subscriptions]]\ntopic = \"in/#\"\n",
                missing.display(),
                missing.display()
            ),
            "sources.mqtt[0].tls.ca-file",
        ),
    ];
    let path = dir.path().join("c.toml");
    for (extra, says) in &cases {
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let (code, _, err) = check_config(&path);
        assert_eq!(code, 78, "{extra}: {err}");
        assert!(err.contains(says), "{extra}: {err}");
        assert!(err.contains("- line "), "{extra}: the line is named: {err}");
    }
    // `run` refuses the same as a config error, once, not as a crash to retry.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .args(["run", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("sources.mqtt[0].password-file"), "{err}");
}

#[test]
fn malformed_json_bodies_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), "");
    for (path, body) in [
        ("/api/v1/search", serde_json::json!({"query": 5})),
        (
            "/api/v1/ask",
            serde_json::json!({"question": "x", "unknown": 1}),
        ),
        ("/v1/embeddings", serde_json::json!({"input": {"a": 1}})),
        (
            "/v1/chat/completions",
            serde_json::json!({"messages": "hi"}),
        ),
    ] {
        let (code, answer) = d.post(path, &body);
        assert!(code == 400 || code == 422, "{path}: {code} {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {answer}"
        );
    }
}

#[test]
fn a_webhook_url_stays_out_of_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook.key");
    std::fs::write(&secret, "s3cret-key\n").unwrap();
    let port = crate::support::free_port();
    let receiver = Peer::webhook_receiver(port, &secret, 1, 0, 0);
    let d = Daemon::start_env(
        dir.path(),
        &format!(
            "[[sources.simulator]]\nname = \"plant\"\nlines = 1\nmachines-per-line = 1\ninterval = \"100ms\"\n\
             [[rules]]\nname = \"present\"\nsensors = [\"plant1/**\"]\nbelow = 1e9\nseverity = \"info\"\n\
             [sinks]\nallowed-hosts = [\"127.0.0.1\"]\n[[sinks.webhook]]\nname = \"chat\"\n\
             url = \"http://127.0.0.1:{port}/services/T000/B000/XSECRETPATHX\"\nhmac-key-file = \"{}\"\n\
             retry = {{ min = \"100ms\", max = \"300ms\" }}\nroute = {{ events = [\"alerts\"] }}\n",
            secret.display()
        ),
        &[("RUST_LOG", "trace")],
    );
    assert!(
        wait_until(Duration::from_secs(30), || !receiver.lines().is_empty()
            && d.log().contains("answered 500")),
        "{}",
        d.log()
    );
    let log = d.log();
    assert!(log.contains(" TRACE "), "trace logging is on: {log}");
    assert!(
        !log.contains("XSECRETPATHX"),
        "the URL's secret path leaked into the log"
    );
    let status = d.json("/api/v1/status").to_string();
    assert!(!status.contains("XSECRETPATHX"), "{status}");
}

/// Two gateways cloned from one image share a client id: the broker drops the
/// older connection each time the other connects. They used to reset their
/// backoff on every CONNACK and kick each other off at the minimum delay forever;
/// now the delay grows (no message ever arrived on those connections) and the log
/// says what is likely wrong.
#[test]
fn two_gateways_sharing_a_client_id_back_off_and_say_why() {
    let broker = Broker::start();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let extra = "reconnect-min = \"100ms\"\nreconnect-max = \"20s\"";
    let daemons: Vec<Daemon> = dirs
        .iter()
        .map(|d| Daemon::start(d.path(), &source(broker.port, extra)))
        .collect();
    std::thread::sleep(Duration::from_secs(8));
    let reconnects: Vec<f64> = daemons
        .iter()
        .map(|d| d.metric("edgewatch_source_reconnects_total{source=\"in\"}"))
        .collect();
    // 0.1 + 0.2 + 0.4 + ... s between attempts: a handful in 8 s (the fixed
    // minimum delay gave about 50 each).
    assert!(
        reconnects.iter().all(|&n| n <= 12.0) && reconnects.iter().any(|&n| n >= 2.0),
        "reconnects {reconnects:?}"
    );
    assert!(
        daemons.iter().any(|d| d.log().contains("same client id")),
        "{}\n---\n{}",
        daemons[0].log(),
        daemons[1].log()
    );
    for d in daemons {
        assert!(d.terminate().success());
    }
}
