//! `edgewatch replay`: a recorded, labelled file through the real pipeline in
//! event time, as an engineer runs it on history exported from a historian.

use crate::support::{sql, sql_count, BIN};
use std::path::Path;
use std::process::Command;

/// Two hours at 1 Hz from 2014-04-01 (history, far from the wall clock): a noisy
/// temperature and a pressure in 0.1 bar steps; from 3600 s the temperature climbs
/// 12 degrees over five minutes and stays (labelled), and both are silent for ten
/// minutes from 5400 s.
fn recording(dir: &Path) -> std::path::PathBuf {
    let mut rng = fastrand::Rng::with_seed(9);
    let mut csv = String::from("datetime;temperature;pressure;anomaly\n");
    let start = 1_396_310_400; // 2014-04-01T00:00:00Z
    for t in 0..7200 {
        if (5400..6000).contains(&t) {
            continue;
        }
        let fault = t >= 3600;
        let rise = if fault {
            (f64::from(t - 3600) / 25.0).min(12.0)
        } else {
            0.0
        };
        let temp = 60.0 + rise + rng.f64() - 0.5;
        let pressure = if rng.f64() < 0.2 { 2.1 } else { 2.0 };
        let time = jiff::Timestamp::from_second(start + i64::from(t))
            .unwrap()
            .strftime("%Y-%m-%d %H:%M:%S");
        csv.push_str(&format!(
            "{time};{temp:.3};{pressure};{}\n",
            u8::from(fault)
        ));
    }
    let path = dir.join("line2-pump.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn replay(args: &[&str]) -> String {
    let out = Command::new(BIN).arg("replay").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "replay failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_labelled_file_replayed_twice_gives_the_same_alerts_and_is_scored() {
    let dir = tempfile::tempdir().unwrap();
    let csv = recording(dir.path());
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let first = replay(&["--alerts", a.to_str().unwrap(), csv.to_str().unwrap()]);
    let second = replay(&["--alerts", b.to_str().unwrap(), csv.to_str().unwrap()]);
    let alerts = std::fs::read_to_string(&a).unwrap();
    assert!(!alerts.is_empty(), "{first}");
    assert_eq!(
        alerts,
        std::fs::read_to_string(&b).unwrap(),
        "deterministic"
    );
    assert_eq!(first, second);
    assert!(
        first.starts_with("replayed 6600 rows (13200 readings of 2 sensors"),
        "{first}"
    );
    assert!(first.contains("1/1 labelled events flagged"), "{first}");
    // The climb is caught by the drift rule on the temperature, and the quantised
    // pressure raises nothing: its one-step moves are its resolution.
    let fired: Vec<serde_json::Value> = alerts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["state"] == "firing")
        .collect();
    assert!(
        fired
            .iter()
            .all(|e| e["sensor"] == "line2-pump/temperature"),
        "{alerts}"
    );
    assert!(fired.iter().any(|e| e["rule"] == "drift"), "{alerts}");
}

#[test]
fn staleness_debounce_and_windows_run_on_the_readings_clock() {
    let dir = tempfile::tempdir().unwrap();
    let csv = recording(dir.path());
    let config = dir.path().join("replay.toml");
    std::fs::write(
        &config,
        r#"
[aggregate]
window = "10m"

[[rules]]
name = "silent"
sensors = ["**"]
stale-after = "60s"

[[rules]]
name = "hot"
sensors = ["**/temperature"]
above = 70.0
clear = 68.0
for = "30s"
"#,
    )
    .unwrap();
    let state = dir.path().join("state");
    let scores = dir.path().join("scores.csv");
    let out = replay(&[
        "-c",
        config.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--scores",
        scores.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    let db = state.join("edgewatch.db");
    let start_ms: i64 = 1_396_310_400_000;
    // Silence from 5400 s: each sensor is stale 61 s later by the readings' clock
    // (not ~12 years later by the wall's), and resolves when it reports again.
    let silent: Vec<(i64, i64)> = sql::<String>(
        &db,
        "SELECT fired_at || ',' || resolved_at FROM alerts WHERE rule = 'silent' ORDER BY sensor",
    )
    .iter()
    .map(|s| {
        let (a, b) = s.split_once(',').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    })
    .collect();
    assert_eq!(
        silent,
        vec![
            (start_ms + 5_460_000, start_ms + 6_000_000),
            (start_ms + 5_460_000, start_ms + 6_000_000)
        ],
        "{out}"
    );
    // 70 degrees is crossed 250 s into the climb, fired 30 s later (debounce).
    let hot: Vec<i64> = sql(&db, "SELECT fired_at FROM alerts WHERE rule = 'hot'");
    assert_eq!(hot.len(), 1, "{out}");
    assert!(
        (start_ms + 3_850_000..start_ms + 3_920_000).contains(&hot[0]),
        "{}",
        hot[0] - start_ms
    );
    // Ten-minute windows of 2014, none lost as late: 12 per sensor, minus the
    // one the silence empties and the last, still open when the file ends (as at
    // a daemon's stop, it is rebuilt from the journal when a daemon opens the store).
    assert_eq!(sql_count(&db, "SELECT count(*) FROM aggregates"), 2 * 10);
    assert_eq!(
        sql_count(&db, "SELECT count(*) FROM journal"),
        13_200,
        "every reading journaled"
    );
    let rows = std::fs::read_to_string(&scores).unwrap();
    assert_eq!(rows.lines().count(), 6601);
    assert!(rows.starts_with("timestamp,value,anomaly_score,label\n2014-04-01 00:00:00,"));
}

#[test]
fn a_bad_row_names_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:00:01,high\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["replay", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.csv: line 3: column 2: `high` is not a number"),
        "{stderr}"
    );
}
