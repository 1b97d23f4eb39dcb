//! The durability contract: persistent sessions across restarts, and kill -9 during
//! QoS 1 ingest loses no message the broker handed over.

use crate::support::{sql, sql_count, wait_until, Broker, Daemon};
use std::process::Command;
use std::time::Duration;

const SOURCE: &str = r#"
[[sources.mqtt]]
name = "plant"
host = "127.0.0.1"
port = PORT
reconnect-min = "100ms"
reconnect-max = "1s"
[[sources.mqtt.subscriptions]]
topic = "seq/#"
qos = 1
"#;

fn config(port: u16) -> String {
    SOURCE.replace("PORT", &port.to_string())
}

fn seq_values(db: &std::path::Path) -> Vec<i64> {
    sql::<f64>(db, "SELECT DISTINCT j.value FROM journal j JOIN sensors s ON s.id = j.sensor WHERE s.name = 'seq' ORDER BY j.value")
        .into_iter()
        .map(|v| v as i64)
        .collect()
}

#[test]
fn messages_published_while_down_arrive_after_restart() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &config(broker.port));
    broker.wait_subscribed("edgewatch-test-plant", "seq/#");
    broker.publish("seq/x", r#"{"sensor_id":"seq","value":-1}"#, 1);
    let db = d.db();
    assert!(wait_until(Duration::from_secs(10), || seq_values(&db) == vec![-1]));
    let status = d.terminate();
    assert!(status.success(), "SIGTERM must exit 0, got {status:?}");

    // edgewatch is down: the broker queues these for its persistent session.
    let lines: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"sensor_id":"seq","value":{i}}}"#))
        .collect();
    broker.publish_lines("seq/x", &lines, 1);

    let d = Daemon::restart(dir.path());
    let all: Vec<i64> = (-1..200).collect();
    let ok = wait_until(Duration::from_secs(20), || seq_values(&db) == all);
    assert!(
        ok,
        "got {} of 201; log:\n{}",
        seq_values(&db).len(),
        d.log()
    );
    assert!(d.terminate().success());
}

#[test]
fn kill_9_during_qos1_ingest_loses_no_acknowledged_message() {
    const N: usize = 6000;
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &config(broker.port));
    broker.wait_subscribed("edgewatch-test-plant", "seq/#");
    let db = d.db();

    // The system Python, where scripts/test-deps.sh installs paho-mqtt.
    let python = crate::support::python();
    let publisher = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/publish_numbered.py"
        ))
        .args([broker.port.to_string(), "seq/x".into(), N.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with paho-mqtt (./scripts/test-deps.sh installs it)");
    // Kill in the middle of the stream, with no warning at all.
    let midway = wait_until(Duration::from_secs(60), || {
        sql_count(&db, "SELECT count(*) FROM journal") >= 1000
    });
    assert!(midway, "ingest never got going; log:\n{}", d.log());
    let before = sql_count(&db, "SELECT count(*) FROM journal");
    d.kill9();

    let out = publisher.wait_with_output().unwrap();
    assert!(out.status.success(), "publisher failed");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), N.to_string());

    let d = Daemon::restart(dir.path());
    let all: Vec<i64> = (0..N as i64).collect();
    let ok = wait_until(Duration::from_secs(60), || seq_values(&db).len() == N);
    let got = seq_values(&db);
    assert!(
        ok && got == all,
        "missing {} of {N} after kill -9 at {before} rows; log:\n{}",
        N - got.len(),
        d.log()
    );
    assert!(
        before < N as i64,
        "the kill must land mid-stream (had {before})"
    );
    assert!(d.terminate().success());
}
