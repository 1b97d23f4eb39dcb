//! MQTT ingest end to end: payload variants and bad payloads through a real broker,
//! rule lifecycle, aggregates checked against an independent computation, the API.

use crate::support::{sql, sql_count, wait_until, Broker, Daemon};
use std::time::Duration;

fn mqtt_source(port: u16, subscriptions: &str) -> String {
    format!(
        "[[sources.mqtt]]\nname = \"plant\"\nhost = \"127.0.0.1\"\nport = {port}\nreconnect-min = \"100ms\"\nreconnect-max = \"1s\"\nmax-payload = \"4KiB\"\nmax-depth = 5\n{subscriptions}"
    )
}

#[test]
fn payload_variants_and_bad_payloads_through_the_broker() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let subs = r#"
[[sources.mqtt.subscriptions]]
topic = "json/#"
[[sources.mqtt.subscriptions]]
topic = "env/+"
format = "fields"
[[sources.mqtt.subscriptions]]
topic = "factory/+/sensors/#"
format = "number"
sensor-id = "{1}/{3}/{4}"
unit = "°C"
"#;
    let d = Daemon::start(dir.path(), &mqtt_source(broker.port, subs));
    assert!(wait_until(Duration::from_secs(10), || d
        .metric("edgewatch_source_connected{source=\"plant\"}")
        == 1.0));
    broker.wait_subscribed("edgewatch-test-plant", "factory/+/sensors/#");

    broker.publish(
        "json/a",
        r#"{"sensor_id":"M-3421","value":0.48,"unit":"mm/s","status":"normal"}"#,
        1,
    );
    broker.publish(
        "json/b",
        r#"[{"sensor_id":"arr-1","value":1.5},{"sensor_id":"arr-2","value":2.5}]"#,
        1,
    );
    broker.publish("env/room7", r#"{"temp":70.3,"hum":65.8}"#, 1);
    broker.publish("factory/line2/sensors/m7/temperature", "71.25", 0);
    // Every bad-payload reason, none of which may stop the source.
    broker.publish("json/bad", "{not json", 1);
    broker.publish("json/bad", r#"{"sensor_id":"x","value":"NaN"}"#, 1);
    broker.publish("json/bad", r#"{"sensor_id":"x","value":[1]}"#, 1);
    broker.publish("json/bad", r#"{"sensor_id":"x"}"#, 1);
    broker.publish(
        "json/bad",
        &format!(
            r#"{{"sensor_id":"x","value":1,"pad":"{}"}}"#,
            "x".repeat(5000)
        ),
        1,
    );
    broker.publish("json/bad", r#"{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}"#, 1);
    broker.publish(
        "json/bad",
        r#"{"sensor_id":"x","value":1,"ts":"yesterday"}"#,
        1,
    );
    broker.publish("factory/l/sensors/m/t", "inf", 1);
    // And after all that, a good one still gets in.
    broker.publish("json/late", r#"{"sensor_id":"after-bad","value":7}"#, 1);

    let db = d.db();
    let got = wait_until(Duration::from_secs(10), || {
        sql_count(&db, "SELECT count(*) FROM journal j JOIN sensors s ON s.id = j.sensor WHERE s.name = 'after-bad'") == 1
    });
    assert!(
        got,
        "good message after bad ones not ingested; log:\n{}",
        d.log()
    );
    let mut values: Vec<(String, f64)> = sql::<String>(&db, "SELECT s.name || '=' || j.value FROM journal j JOIN sensors s ON s.id = j.sensor ORDER BY s.name")
        .into_iter()
        .map(|x| {
            let (k, v) = x.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        values,
        vec![
            ("M-3421".into(), 0.48),
            ("after-bad".into(), 7.0),
            ("arr-1".into(), 1.5),
            ("arr-2".into(), 2.5),
            ("env/room7/hum".into(), 65.8),
            ("env/room7/temp".into(), 70.3),
            ("line2/m7/temperature".into(), 71.25),
        ]
    );
    for (reason, n) in [
        ("not_json", 1.0),
        ("not_finite", 2.0),
        ("wrong_type", 1.0),
        ("missing_value", 1.0),
        ("too_large", 1.0),
        ("too_deep", 1.0),
        ("bad_timestamp", 1.0),
    ] {
        let series =
            format!("edgewatch_source_rejected_total{{source=\"plant\",reason=\"{reason}\"}}");
        assert_eq!(d.metric(&series), n, "{series}");
    }
    assert_eq!(
        sql_count(
            &db,
            "SELECT count(*) FROM rejected WHERE topic = 'json/bad'"
        ),
        7
    );
    assert!(
        d.log().contains("payload rejected"),
        "rejections are logged"
    );
    // Rejected QoS 1 messages are acknowledged too, or the broker would redeliver forever.
    let sensors = d.json("/api/v1/sensors");
    let m = sensors["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "M-3421")
        .unwrap();
    assert_eq!(m["unit"], "mm/s");
    assert_eq!(m["last_value"], 0.48);
    assert!(d.terminate().success());
}

#[test]
fn rule_lifecycle_and_aggregates_end_to_end() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}\n[aggregate]\nwindow = \"2s\"\nlateness = \"500ms\"\n[[rules]]\nname = \"hot\"\nsensors = [\"m/*/temperature\"]\nabove = 80.0\nclear = 75.0\nfor-count = 2\nseverity = \"critical\"\n",
        mqtt_source(broker.port, "[[sources.mqtt.subscriptions]]\ntopic = \"m/#\"\n")
    );
    let d = Daemon::start(dir.path(), &body);
    broker.wait_subscribed("edgewatch-test-plant", "m/#");

    // A window starting a little in the future, so every value lands in it before it closes.
    let now = edgewatch::event::now_ms();
    let start = (now / 2000 + 2) * 2000;
    let values: Vec<f64> = (0..60)
        .map(|i| 60.0 + ((i * 7919) % 97) as f64 / 4.0)
        .collect();
    let lines: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                r#"{{"sensor_id":"m/a/temperature","value":{v},"ts":{}}}"#,
                start + i as i64 * 25
            )
        })
        .collect();
    broker.publish_lines("m/a", &lines, 1);

    let db = d.db();
    let closed = wait_until(Duration::from_secs(15), || {
        sql_count(
            &db,
            &format!("SELECT count(*) FROM aggregates WHERE window_start = {start}"),
        ) == 1
    });
    assert!(closed, "window not stored; log:\n{}", d.log());
    // Independent computation: nearest-rank percentiles, sample standard deviation.
    let mut sorted = values.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let rank = |p: f64| sorted[((p * n).ceil() as usize).max(1) - 1];
    let got = d.json(&format!(
        "/api/v1/aggregates?sensor=m/a/temperature&from={start}&to={}",
        start + 2000
    ));
    let g = &got["aggregates"][0];
    assert_eq!(g["count"], 60);
    assert_eq!(g["min"].as_f64().unwrap(), sorted[0]);
    assert_eq!(g["max"].as_f64().unwrap(), sorted[59]);
    assert!((g["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert!((g["stddev"].as_f64().unwrap() - sd).abs() < 1e-9);
    assert_eq!(g["p50"].as_f64().unwrap(), rank(0.5));
    assert_eq!(g["p95"].as_f64().unwrap(), rank(0.95));
    assert_eq!(g["p99"].as_f64().unwrap(), rank(0.99));

    // Rule lifecycle: debounce of two readings, hysteresis down to 75.
    for v in ["70", "85", "86", "90", "78", "74", "72"] {
        broker.publish(
            "m/b",
            &format!(r#"{{"sensor_id":"m/b/temperature","value":{v}}}"#),
            1,
        );
    }
    let resolved = wait_until(Duration::from_secs(10), || {
        d.json("/api/v1/alerts?state=resolved")["alerts"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
    });
    assert!(resolved, "log:\n{}", d.log());
    let alerts = d.json("/api/v1/alerts?sensor=m/b/*");
    let a = &alerts["alerts"].as_array().unwrap();
    assert_eq!(a.len(), 1, "one alert, not one per reading: {alerts}");
    assert_eq!(a[0]["value"], 86.0);
    assert_eq!(a[0]["resolved_value"], 74.0);
    assert_eq!(a[0]["severity"], "critical");
    assert_eq!(sql_count(&db, "SELECT count(*) FROM alert_events"), 2);
    assert_eq!(
        d.json("/api/v1/alerts?severity=info")["alerts"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(d.status_of("/api/v1/alerts?since=yesterday"), 400);
    assert_eq!(d.status_of("/healthz"), 200);
    assert!(d
        .get("/metrics")
        .unwrap()
        .contains("edgewatch_reading_to_alert_latency_seconds_count 2"));

    // The CLI reads the same store.
    let out = std::process::Command::new(crate::support::BIN)
        .args(["alerts", "--state-dir"])
        .arg(&d.state_dir)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("resolved") && table.contains("m/b/temperature at 86 is above 80"),
        "{table}"
    );
    let out = std::process::Command::new(crate::support::BIN)
        .args(["status", "--url", &d.api])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("source plant (mqtt): connected"),
        "{status}"
    );
    assert!(d.terminate().success());
}
