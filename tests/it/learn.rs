//! `edgewatch learn` end to end: readings through a real broker into the journal,
//! a model learned from that history by the CLI, an alert from it on a broken
//! correlation, the model and its open alert kept over a restart; refusals of a
//! constant channel and of too short a period, with their messages.

use crate::support::{sql, sql_count, wait_until, Broker, Daemon, BIN};
use std::process::Command;
use std::time::Duration;

/// One frame of pump p1 (current and flow follow the load) and of p2 (`b` never
/// moves), as one JSON array.
fn frame(rng: &mut fastrand::Rng, ts_ms: i64, flow_offset: f64) -> String {
    let load = rng.f64();
    let flow = 50.0 + 5.0 * load + 0.1 * rng.f64() + flow_offset;
    let temp = 40.0 + rng.f64();
    format!(
        r#"[{{"sensor_id":"plant/p1/current","value":{c},"ts":{ts_ms}}},{{"sensor_id":"plant/p1/flow","value":{flow},"ts":{ts_ms}}},{{"sensor_id":"plant/p1/temp","value":{temp},"ts":{ts_ms}}},{{"sensor_id":"plant/p2/a","value":{a},"ts":{ts_ms}}},{{"sensor_id":"plant/p2/b","value":7,"ts":{ts_ms}}}]"#,
        c = 10.0 + load,
        a = rng.f64(),
    )
}

fn frames(rng: &mut fastrand::Rng, from_ms: i64, n: i64, flow_offset: f64) -> Vec<String> {
    (0..n)
        .map(|i| frame(rng, from_ms + i * 1000, flow_offset))
        .collect()
}

fn learn(d: &Daemon, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("learn")
        .args(args)
        .args(["--url", &d.api])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn journal_rows(d: &Daemon) -> i64 {
    sql_count(&d.db(), "SELECT count(*) FROM journal")
}

#[test]
fn a_model_learned_from_the_journal_alerts_on_a_broken_correlation_and_survives_restart() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[sources.mqtt]]\nname = \"plant\"\nhost = \"127.0.0.1\"\nport = {}\nreconnect-min = \"100ms\"\n[[sources.mqtt.subscriptions]]\ntopic = \"pumps\"\n",
        broker.port
    );
    let d = Daemon::start(dir.path(), &config);
    broker.wait_subscribed("edgewatch-test-plant", "pumps");
    let mut rng = fastrand::Rng::with_seed(3);
    let start = edgewatch::event::now_ms() - 3_600_000;
    broker.publish_lines("pumps", &frames(&mut rng, start, 600, 0.0), 1);
    assert!(wait_until(Duration::from_secs(30), || journal_rows(&d) == 3000));

    // Too short a period, and a constant channel: refused, saying why.
    let (ok, _, err) = learn(
        &d,
        &[
            "short",
            "--sensors",
            "plant/p1/{channel}",
            "--from",
            &start.to_string(),
            "--until",
            &(start + 9_000).to_string(),
        ],
    );
    assert!(!ok && err.contains("10 frames is too little data"), "{err}");
    let (ok, _, err) = learn(
        &d,
        &["flat", "--sensors", "plant/p2/{channel}", "--from", "2h"],
    );
    assert!(
        !ok && err.contains("channel `b` held one value (7)"),
        "{err}"
    );

    let (ok, out, err) = learn(
        &d,
        &["pump", "--sensors", "plant/p1/{channel}", "--from", "2h"],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("plant/p1: 3 channels (current, flow, temp), 600 frames"),
        "{out}"
    );
    assert!(d.state_dir.join("learned/pump.json").is_file());

    // Flow 2 below what the load says: each sensor alone stays in its range.
    broker.publish_lines("pumps", &frames(&mut rng, start + 600_000, 60, -2.0), 1);
    let firing = "SELECT count(*) FROM alerts WHERE rule = 'pump' AND sensor = 'plant/p1' AND state = 'firing'";
    assert!(
        wait_until(Duration::from_secs(30), || sql_count(&d.db(), firing) == 1),
        "{}",
        d.log()
    );
    let message: Vec<String> = sql(&d.db(), "SELECT message FROM alerts WHERE rule = 'pump'");
    assert!(
        message[0].contains("unlike any it learned as normal") && message[0].contains("flow"),
        "{message:?}"
    );
    d.terminate();

    // After a restart the model is loaded from its file and takes the open alert
    // over: normal frames resolve it, and it fires no second time.
    let d = Daemon::restart(dir.path());
    let list = Command::new(BIN)
        .args(["learned", "--url", &d.api, "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.starts_with("pump  mset over plant/p1/{channel}"),
        "{list}"
    );
    broker.wait_subscribed("edgewatch-test-plant", "pumps");
    broker.publish_lines("pumps", &frames(&mut rng, start + 660_000, 60, 0.0), 1);
    let resolved = "SELECT count(*) FROM alerts WHERE rule = 'pump' AND state = 'resolved'";
    assert!(
        wait_until(Duration::from_secs(30), || sql_count(&d.db(), resolved)
            == 1),
        "{}",
        d.log()
    );
    assert_eq!(
        sql_count(&d.db(), "SELECT count(*) FROM alerts WHERE rule = 'pump'"),
        1
    );
}
