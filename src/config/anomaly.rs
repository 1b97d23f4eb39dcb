//! `[onnx]` (where the runtime and models are, inference queue) and
//! `[[anomaly-models]]` (an ONNX model bound to assets made of sensors).

use crate::event::Severity;
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
