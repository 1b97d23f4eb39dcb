//! Builds the ONNX anomaly detectors of a config: manifests (one per distinct file,
//! shared by bindings), models through the runtime, and the bindings to assets.

use super::anomaly::{AnomalyModels, BindError};
use super::anomaly_config::{AnomalyModelConfig, OnnxConfig};
use crate::ml::{Manifest, OnnxError, OnnxModel};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AnomalyLoadError {
    #[error("anomaly-models[{index}] `{name}`: {source}")]
    Model {
        index: usize,
        name: String,
        source: OnnxError,
    },
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// The detectors and the models they score with (for the inference thread).
#[derive(Debug, Default)]
pub struct LoadedModels {
    pub detectors: AnomalyModels,
    pub models: Vec<OnnxModel>,
}

/// Loads every model the config binds; the first problem is returned.
pub fn load(
    onnx: &OnnxConfig,
    bindings: &[AnomalyModelConfig],
) -> Result<LoadedModels, AnomalyLoadError> {
    if bindings.is_empty() {
        return Ok(LoadedModels::default());
    }
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut models: Vec<OnnxModel> = Vec::new();
    let mut model_of = Vec::with_capacity(bindings.len());
    for (index, b) in bindings.iter().enumerate() {
        let path = b.manifest_path(onnx);
        let i = match paths.iter().position(|p| *p == path) {
            Some(i) => i,
            None => {
                let model = Manifest::load(&path)
                    .and_then(|m| OnnxModel::load(m, onnx.runtime.as_deref()))
                    .map_err(|source| AnomalyLoadError::Model {
                        index,
                        name: b.name.clone(),
                        source,
                    })?;
                paths.push(path);
                models.push(model);
                models.len() - 1
            }
        };
        model_of.push(i);
    }
    let manifests: Vec<Manifest> = models.iter().map(|m| m.manifest.clone()).collect();
    let detectors = AnomalyModels::new(bindings, &manifests, &model_of)?;
    Ok(LoadedModels { detectors, models })
}
