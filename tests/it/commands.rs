//! The README's demo command and the simulator publisher, run as binaries.

use crate::support::{sql_count, wait_until, Broker, Daemon, BIN};
use std::process::Command;
use std::time::Duration;

#[test]
fn demo_runs_the_pipeline_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo-state");
    let out = Command::new(BIN)
        .args([
            "demo",
            "--duration",
            "3s",
            "--listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(&state)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("API:    http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("stopped cleanly"), "{stdout}");
    let db = state.join("edgewatch.db");
    // Six machines x three sensors every 500 ms for about three seconds.
    let rows = sql_count(&db, "SELECT count(*) FROM journal");
    assert!(rows >= 18 * 4, "only {rows} readings journaled");
    assert_eq!(sql_count(&db, "SELECT count(*) FROM sensors"), 18);
}

#[test]
fn simulate_publishes_the_plant_to_a_broker() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "[[sources.mqtt]]\nname = \"plant\"\nhost = \"127.0.0.1\"\nport = {}\n[[sources.mqtt.subscriptions]]\ntopic = \"plant1/#\"\n",
        broker.port
    );
    let d = Daemon::start(dir.path(), &body);
    broker.wait_subscribed("edgewatch-test-plant", "plant1/#");
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--mqtt",
            &format!("127.0.0.1:{}", broker.port),
            "--count",
            "90",
            "--rate",
            "900",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("published 90 messages"));
    let db = d.db();
    assert!(wait_until(Duration::from_secs(10), || sql_count(
        &db,
        "SELECT count(*) FROM journal"
    ) == 90));
    assert_eq!(
        sql_count(
            &db,
            "SELECT count(*) FROM sensors WHERE name LIKE 'plant1/line%/motor/m0%/%'"
        ),
        18
    );
    assert_eq!(
        sql_count(&db, "SELECT count(*) FROM sensors WHERE unit = 'bar'"),
        6
    );
    assert!(d.terminate().success());

    let out = Command::new(BIN)
        .args(["simulate", "--mqtt", "nowhere", "--count", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write HOST:PORT"));
}
