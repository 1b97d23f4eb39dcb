//! `[onnx]` (where the runtime and models are, inference queue) and
//! `[[anomaly-models]]` (an ONNX model bound to assets made of sensors), with their
//! pure validation. Whether a model file fits its manifest needs the runtime and
//! is checked where models load (`check-config` and start-up).

use crate::event::Severity;
use crate::issues::Issues;
use crate::sensor_glob::SensorGlob;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OnnxConfig {
    /// libonnxruntime.so; searched beside the binary and in /usr/lib/edgewatch when unset.
    #[serde(default)]
    pub runtime: Option<PathBuf>,
    /// Where `model = "NAME"` finds `NAME.toml` (the manifest) and its .onnx file.
    #[serde(default = "default_models_dir")]
    pub models_dir: PathBuf,
    /// Windows waiting for inference; when full, new windows are dropped (counted),
    /// never readings.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Most windows scored in one model run.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

impl Default for OnnxConfig {
    fn default() -> Self {
        OnnxConfig {
            runtime: None,
            models_dir: default_models_dir(),
            queue: default_queue(),
            max_batch: default_max_batch(),
        }
    }
}

fn default_models_dir() -> PathBuf {
    PathBuf::from("/usr/share/edgewatch/models")
}

fn default_queue() -> usize {
    1024
}

fn default_max_batch() -> usize {
    64
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AnomalyModelConfig {
    /// Rule name on the alerts it raises.
    pub name: String,
    /// A manifest name in `onnx.models-dir`, or a path to a manifest (`.toml`).
    pub model: String,
    /// Which sensors make an asset: a sensor glob whose last level is `{channel}`,
    /// replaced by each of the model's channels; the rest of the id names the asset
    /// (`plant1/*/motor/*/{channel}`). Without `{channel}` every matching sensor is
    /// an asset of its own (one-channel models).
    pub sensors: String,
    #[serde(default)]
    pub severity: Severity,
    /// Score above which a window is anomalous; the manifest's when unset.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Consecutive anomalous windows before the alert fires.
    #[serde(default = "default_debounce")]
    pub debounce: u32,
    /// Consecutive normal windows before it resolves.
    #[serde(default = "default_clear_after")]
    pub clear_after: u32,
}

fn default_debounce() -> u32 {
    2
}

fn default_clear_after() -> u32 {
    5
}

impl AnomalyModelConfig {
    /// The manifest this binding names.
    pub fn manifest_path(&self, onnx: &OnnxConfig) -> PathBuf {
        if self.model.contains('/') || self.model.ends_with(".toml") {
            PathBuf::from(&self.model)
        } else {
            onnx.models_dir.join(format!("{}.toml", self.model))
        }
    }
}

/// Checks `[onnx]` and every `[[anomaly-models]]` binding.
pub fn validate(v: &mut Issues, onnx: &OnnxConfig, models: &[AnomalyModelConfig]) {
    if !(1..=1_000_000).contains(&onnx.queue) {
        v.push("onnx.queue", "must be 1 to 1000000 windows");
    }
    if !(1..=4096).contains(&onnx.max_batch) {
        v.push("onnx.max-batch", "must be 1 to 4096 windows");
    }
    for (i, m) in models.iter().enumerate() {
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
