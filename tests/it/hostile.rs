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
fn readings_stamped_years_ahead_are_refused_at_the_source() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &source(broker.port, "max-clock-skew = \"10m\""));
    broker.wait_subscribed("edgewatch-test-in", "in/#");
    let now = edgewatch::reading::now_ms();
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
