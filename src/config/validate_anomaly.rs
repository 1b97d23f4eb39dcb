//! Validation of `[onnx]` and `[[anomaly-models]]`: pure, like the rest. Whether the
//! model file fits its manifest needs the runtime and is checked where models load
//! (`check-config` and start-up).

use super::Config;
use crate::issues::Issues;
use crate::sensor_glob::SensorGlob;

pub(super) fn anomaly_models(v: &mut Issues, c: &Config) {
    if !(1..=1_000_000).contains(&c.onnx.queue) {
        v.push("onnx.queue", "must be 1 to 1000000 windows");
    }
    if !(1..=4096).contains(&c.onnx.max_batch) {
        v.push("onnx.max-batch", "must be 1 to 4096 windows");
    }
    for (i, m) in c.anomaly_models.iter().enumerate() {
        let key = format!("anomaly-models[{i}]");
        // Alerts of rules and models share one namespace of rule names.
        if m.model.trim().is_empty() {
            v.push(
                format!("{key}.model"),
                "name a manifest in onnx.models-dir (e.g. \"motor-anomaly\") or a path to one",
            );
        }
        let pattern = m.sensors.replace("{channel}", "x");
        if m.sensors.matches("{channel}").count() > 1
            || (m.sensors.contains("{channel}") && !m.sensors.ends_with("/{channel}"))
        {
            v.push(
                format!("{key}.sensors"),
                "`{channel}` may appear once, as the last level (e.g. \"plant1/*/motor/*/{channel}\")",
            );
        } else if let Err(e) = SensorGlob::new(&[pattern]) {
            v.push(format!("{key}.sensors"), format!("bad sensor glob: {e}"));
        }
        if let Some(t) = m.threshold {
            if !t.is_finite() {
                v.push(format!("{key}.threshold"), "must be a number");
            }
        }
        for (name, n) in [("debounce", m.debounce), ("clear-after", m.clear_after)] {
            if !(1..=10_000).contains(&n) {
                v.push(format!("{key}.{name}"), "must be 1 to 10000 windows");
            }
        }
    }
}
