//! A model's manifest: the TOML file beside the .onnx that says how readings become
//! the model's input (channels, window, step, normalisation) and how its output
//! becomes alerts (score threshold), with the model file's sha256.

use super::OnnxError;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    /// Model file, relative to the manifest.
    pub file: PathBuf,
    pub sha256: String,
    #[serde(default)]
    pub description: String,
    pub input: TensorSpec,
    pub output: TensorSpec,
    pub features: FeatureSpec,
    pub score: ScoreSpec,
    /// Where the manifest was read from (set on load).
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    /// Dimensions; -1 for any size (the batch).
    pub shape: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FeatureSpec {
    /// One per sensor of the asset, in input order.
    pub channels: Vec<String>,
    /// Frames per window.
    pub window: usize,
    /// Frames between two scored windows.
    pub step: usize,
    /// Sample period the model was trained on; a gap over three restarts the window.
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    pub offset: Vec<f32>,
    pub scale: Vec<f32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSpec {
    /// A window scoring above this is anomalous.
    pub threshold: f64,
}

impl Manifest {
    /// Reads and checks a manifest (not the model: see [`super::OnnxModel::load`]).
    pub fn load(path: &Path) -> Result<Manifest, OnnxError> {
        let err = |message: String| OnnxError::Manifest {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(format!(
                "{e} (install the edgewatch-models package, run scripts/fetch-models.sh, or fix the path)"
            ))
        })?;
        let mut m: Manifest = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        m.path = path.to_owned();
        m.check().map_err(err)?;
        Ok(m)
    }

    pub fn model_path(&self) -> PathBuf {
        self.path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&self.file)
    }

    pub fn channels(&self) -> usize {
        self.features.channels.len()
    }

    /// Consistency of the declared feature spec with the declared input shape.
    fn check(&self) -> Result<(), String> {
        let f = &self.features;
        let c = f.channels.len();
        if c == 0 {
            return Err("features.channels is empty: name one channel per sensor".into());
        }
        if f.window < 2 || f.step == 0 || f.step > f.window {
            return Err(format!(
                "features.window = {} and step = {}: need window >= 2 and 1 <= step <= window",
                f.window, f.step
            ));
        }
        if f.offset.len() != c || f.scale.len() != c {
            return Err(format!(
                "features.offset and features.scale need one value per channel ({c})"
            ));
        }
        if f.scale.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err("features.scale must be finite and non-zero".into());
        }
        if f.period.is_zero() {
            return Err("features.period must be above zero (e.g. \"1s\")".into());
        }
        let expected = [f.window as i64, c as i64];
        if self.input.shape.len() != 3 || self.input.shape[1..] != expected {
            return Err(format!(
                "input.shape = {:?} does not match the feature spec: expected [-1, {}, {}] \
                 (batch, window, channels)",
                self.input.shape, f.window, c
            ));
        }
        if self.output.shape.is_empty() || self.output.shape[1..].iter().any(|d| *d != 1) {
            return Err(format!(
                "output.shape = {:?}: expected one score per window ([-1] or [-1, 1])",
                self.output.shape
            ));
        }
        if !self.score.threshold.is_finite() {
            return Err("score.threshold must be a number".into());
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("sha256 must be 64 hex digits".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Manifest, OnnxError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(&p, text).unwrap();
        Manifest::load(&p)
    }

    const SHIPPED: &str = include_str!("../../models/motor-anomaly.toml");

    #[test]
    fn the_shipped_manifest_loads() {
        let m = load(SHIPPED).unwrap();
        assert_eq!(m.channels(), 3);
        assert!(m.model_path().ends_with("motor-anomaly.onnx"));
    }

    #[test]
    fn a_feature_spec_that_contradicts_the_input_shape_is_refused() {
        let e = load(&SHIPPED.replace("window = 30", "window = 20")).unwrap_err();
        assert!(
            e.to_string()
                .contains("does not match the feature spec: expected [-1, 20, 3]"),
            "{e}"
        );
        let e = load(&SHIPPED.replace("scale = [", "scale = [0.0, ")).unwrap_err();
        assert!(e.to_string().contains("one value per channel (3)"), "{e}");
        let e = load(&SHIPPED.replace("[score]", "[score]\nbogus = 1")).unwrap_err();
        assert!(e.to_string().contains("unknown field `bogus`"), "{e}");
    }
}
