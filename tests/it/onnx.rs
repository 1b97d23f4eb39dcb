//! ONNX anomaly models through ONNX Runtime (scripts/fetch-models.sh puts the
//! library in models/runtime): the shipped model against the scores its training
//! script recorded, manifests that do not fit their model, a missing runtime, and a
//! drift published to a real Mosquitto raising the model's alert into the store and
//! a file sink.

use crate::support::{check_config as check, sql, wait_until, Broker, Daemon};
use edgewatch::ml::{Manifest, OnnxModel};
use edgewatch::sources::simulator::Plant;
use edgewatch::sources::simulator::SimulatorConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

#[test]
fn shipped_model_scores_what_its_training_script_recorded() {
    let manifest = Manifest::load(&models().join("motor-anomaly.toml")).unwrap();
    let mut model = OnnxModel::load(manifest, None).expect("run scripts/fetch-models.sh");
    let recorded: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(models().join("motor-anomaly.test.json")).unwrap(),
    )
    .unwrap();
    let tolerance = recorded["tolerance"].as_f64().unwrap();
    let cases = recorded["windows"].as_array().unwrap();
    assert_eq!(cases.len(), 4, "normal, spike, drift, stuck");
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for c in cases {
        let window: Vec<f32> = c["window"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|frame| {
                frame
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
            })
            .collect();
        assert_eq!(window.len(), 30 * 3);
        batch.extend_from_slice(&window);
        expected.push((
            c["label"].as_str().unwrap().to_owned(),
            c["score"].as_f64().unwrap(),
        ));
        // One at a time and batched give the same scores.
        let one = model.score(&window, 1).unwrap();
        let want = c["score"].as_f64().unwrap();
        assert!(
            (f64::from(one[0]) - want).abs() <= tolerance,
            "{}: {} vs {want}",
            c["label"],
            one[0]
        );
    }
    let scores = model.score(&batch, cases.len()).unwrap();
    let threshold = model.manifest.score.threshold;
    for ((label, want), got) in expected.iter().zip(&scores) {
        assert!(
            (f64::from(*got) - want).abs() <= tolerance,
            "{label}: {got} vs {want}"
        );
    }
    let by = |l: &str| f64::from(scores[expected.iter().position(|(x, _)| x == l).unwrap()]);
    assert!(
        by("normal") < threshold,
        "normal window under the threshold"
    );
    assert!(
        by("spike") > threshold && by("stuck") > threshold,
        "{scores:?}"
    );
}

/// A copy of the shipped model under a manifest changed by `edit`.
fn edited_manifest(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    std::fs::copy(models().join("motor-anomaly.onnx"), dir.join("m.onnx")).unwrap();
    let text = std::fs::read_to_string(models().join("motor-anomaly.toml"))
        .unwrap()
        .replace("file = \"motor-anomaly.onnx\"", "file = \"m.onnx\"");
    let path = dir.join("m.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn binding_config(dir: &Path, manifest: &Path, extra: &str) -> PathBuf {
    let config = dir.join("edgewatch.toml");
    std::fs::write(
        &config,
        format!(
            "{extra}\n[[anomaly-models]]\nname = \"motor\"\nmodel = \"{}\"\nsensors = \"p/*/{{channel}}\"\n",
            manifest.display()
        ),
    )
    .unwrap();
    config
}

#[test]
fn a_model_that_does_not_fit_its_manifest_is_rejected_by_check_config() {
    let dir = tempfile::tempdir().unwrap();
    // Consistent on its own (window 20 everywhere), but the model takes 30 frames.
    let manifest = edited_manifest(dir.path(), |t| {
        t.replace("window = 30", "window = 20")
            .replace("shape = [-1, 30, 3]", "shape = [-1, 20, 3]")
    });
    let (code, _, stderr) = check(&binding_config(dir.path(), &manifest, ""));
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("input `window` has shape [-1, 30, 3] in the model but the manifest declares [-1, 20, 3]"),
        "{stderr}"
    );

    // An input name the model does not have.
    let manifest = edited_manifest(dir.path(), |t| {
        t.replace("name = \"window\"", "name = \"x\"")
    });
    let (code, _, stderr) = check(&binding_config(dir.path(), &manifest, ""));
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("input `x` is not in the model"), "{stderr}");

    // A damaged model file.
    let manifest = edited_manifest(dir.path(), |t| t);
    let mut bytes = std::fs::read(dir.path().join("m.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.path().join("m.onnx"), bytes).unwrap();
    let (code, _, stderr) = check(&binding_config(dir.path(), &manifest, ""));
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("the file is damaged"), "{stderr}");

    // Channel count against the binding: a 3-channel model needs `{channel}`.
    let manifest = edited_manifest(dir.path(), |t| t);
    let config = dir.path().join("single.toml");
    std::fs::write(
        &config,
        format!(
            "[[anomaly-models]]\nname = \"motor\"\nmodel = \"{}\"\nsensors = \"p/*/temperature\"\n",
            manifest.display()
        ),
    )
    .unwrap();
    let (code, _, stderr) = check(&config);
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("write `{channel}` as the last level"),
        "{stderr}"
    );
}

#[test]
fn missing_runtime_is_one_clear_error_and_the_daemon_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = edited_manifest(dir.path(), |t| t);
    let no_runtime = "[onnx]\nruntime = \"/nonexistent/libonnxruntime.so.1.31.1\"\n";
    let (code, stdout, stderr) = check(&binding_config(dir.path(), &manifest, no_runtime));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 anomaly model(s)"), "{stdout}");
    assert!(
        stderr.contains("warning: anomaly models will be disabled: anomaly-models[0] `motor`: ONNX Runtime library not found")
            && stderr.contains("scripts/fetch-models.sh"),
        "{stderr}"
    );

    let broker = Broker::start();
    let d = Daemon::start(
        dir.path(),
        &format!(
            "{no_runtime}[[sources.mqtt]]\nname = \"in\"\nhost = \"127.0.0.1\"\nport = {}\n\
             [[sources.mqtt.subscriptions]]\ntopic = \"p/#\"\nqos = 1\n\
             [[anomaly-models]]\nname = \"motor\"\nmodel = \"{}\"\nsensors = \"p/*/{{channel}}\"\n",
            broker.port,
            manifest.display()
        ),
    );
    broker.wait_subscribed("edgewatch-test-in", "p/#");
    broker.publish(
        "p/m1/temperature",
        r#"{"sensor_id":"p/m1/temperature","value":61.5}"#,
        1,
    );
    assert!(wait_until(Duration::from_secs(10), || d
        .metric("edgewatch_readings_total")
        >= 1.0));
    assert_eq!(d.metric("edgewatch_anomaly_models_loaded"), 0.0);
    let log = d.log();
    assert_eq!(log.matches("anomaly models disabled").count(), 1, "{log}");
    assert!(log.contains("scripts/fetch-models.sh"), "{log}");
}

/// A motor's three sensors as JSON lines with 1 s timestamps from `start`: normal
/// data from the simulator's plant, then temperature drifting up by `drift` °C per
/// second.
pub(crate) fn motor_lines(start: i64, normal_s: i64, drift_s: i64, drift: f64) -> Vec<String> {
    let mut plant = Plant::new(&SimulatorConfig {
        lines: 1,
        machines_per_line: 1,
        fault_rate: 0.0,
        seed: Some(5),
        ..Default::default()
    });
    let (mut out, mut faults) = (Vec::new(), Vec::new());
    let mut lines = Vec::new();
    for i in 0..normal_s + drift_s {
        out.clear();
        let ts = start + i * 1000;
        plant.step(ts, 1000, &mut out, &mut faults);
        for r in &out {
            let metric = r.sensor.rsplit('/').next().unwrap();
            let mut v = r.value;
            if metric == "temperature" && i >= normal_s {
                v += drift * (i - normal_s + 1) as f64;
            }
            lines.push(format!(
                r#"{{"sensor_id":"motors/m1/{metric}","value":{v:.3},"ts":{ts}}}"#
            ));
        }
    }
    lines
}

#[test]
fn a_drift_through_the_running_pipeline_raises_the_model_alert_into_store_and_outbox() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let d = Daemon::start(
        dir.path(),
        &format!(
            "[onnx]\nmodels-dir = \"{}\"\n\
             [[sources.mqtt]]\nname = \"in\"\nhost = \"127.0.0.1\"\nport = {}\n\
             [[sources.mqtt.subscriptions]]\ntopic = \"motors/#\"\nqos = 1\n\
             [[anomaly-models]]\nname = \"motor-anomaly\"\nmodel = \"motor-anomaly\"\n\
             sensors = \"motors/*/{{channel}}\"\nseverity = \"critical\"\n\
             [[sinks.file]]\nname = \"usb\"\ndir = \"{}\"\n",
            models().display(),
            broker.port,
            out.display()
        ),
    );
    assert_eq!(d.metric("edgewatch_anomaly_models_loaded"), 1.0);
    broker.wait_subscribed("edgewatch-test-in", "motors/#");
    // Two minutes of normal running: no alert.
    let start = edgewatch::event::now_ms() - 600_000;
    broker.publish_lines("motors/in", &motor_lines(start, 120, 0, 0.0), 1);
    assert!(wait_until(Duration::from_secs(15), || d
        .metric("edgewatch_readings_total")
        >= 360.0));
    assert!(wait_until(Duration::from_secs(10), || d
        .metric("edgewatch_anomaly_windows_scored_total")
        >= 40.0));
    let q = "SELECT count(*) FROM alerts WHERE rule = 'motor-anomaly'";
    assert_eq!(sql::<i64>(&d.db(), q), vec![0], "no alert on normal data");

    // The next 100 s: a minute of normal running, then +0.5 °C/s for 40 s.
    broker.publish_lines("motors/in", &motor_lines(start + 120_000, 60, 40, 0.5), 1);
    assert!(
        wait_until(Duration::from_secs(20), || sql::<i64>(&d.db(), q)
            == vec![1]),
        "no anomaly alert; log:\n{}",
        d.log()
    );
    let (sensor, severity, message): (String, String, String) = {
        let conn = rusqlite::Connection::open(d.db()).unwrap();
        conn.query_row(
            "SELECT sensor, severity, message FROM alerts WHERE rule = 'motor-anomaly'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    assert_eq!(
        (sensor.as_str(), severity.as_str()),
        ("motors/m1", "critical")
    );
    assert!(
        message.starts_with("model `motor-anomaly` scored ")
            && message.ends_with("on motors/m1: temperature, vibration, pressure"),
        "{message}"
    );
    // Forwarded: the file sink holds the firing event.
    let forwarded = wait_until(Duration::from_secs(10), || {
        std::fs::read_dir(&out)
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| {
                std::fs::read_to_string(f.path())
                    .unwrap_or_default()
                    .contains("\"rule\":\"motor-anomaly\"")
            })
    });
    assert!(forwarded, "not in the file sink");
    assert_eq!(d.metric("edgewatch_anomaly_windows_dropped_total"), 0.0);
}
