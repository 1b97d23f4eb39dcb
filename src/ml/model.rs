//! One ONNX model, checked against its manifest when loaded, scoring batches of
//! windows.

use super::{runtime, Manifest, OnnxError};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use std::path::Path;

pub struct OnnxModel {
    session: Session,
    pub manifest: Manifest,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("name", &self.manifest.name)
            .finish()
    }
}

impl OnnxModel {
    /// Loads the model its manifest names: checks the file's sha256, then that the
    /// model's input and output are the names, element type (f32) and shapes the
    /// manifest declares. `runtime_path` is the configured library, if any.
    pub fn load(manifest: Manifest, runtime_path: Option<&Path>) -> Result<OnnxModel, OnnxError> {
        let path = manifest.model_path();
        let err = |message: String| OnnxError::Model {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
        let digest = crate::digest::sha256_hex(&bytes);
        if !digest.eq_ignore_ascii_case(&manifest.sha256) {
            return Err(err(format!(
                "sha256 is {digest}, the manifest says {}: the file is damaged or belongs to another manifest",
                manifest.sha256
            )));
        }
        let env = runtime::environment(runtime_path)?;
        let session = Session::builder(env)
            .and_then(|b| b.with_intra_threads(1).map_err(Into::into))
            .and_then(|mut b| b.commit_from_memory(&bytes))
            .map_err(|e| err(e.to_string()))?;
        check_io(&session, &manifest).map_err(err)?;
        Ok(OnnxModel { session, manifest })
    }

    /// Scores `n` windows laid out as `[n, window, channels]` in `input`; one score
    /// per window.
    pub fn score(&mut self, input: &[f32], n: usize) -> Result<Vec<f32>, OnnxError> {
        let f = &self.manifest.features;
        let err = |message: String| OnnxError::Run {
            model: self.manifest.name.clone(),
            message,
        };
        let tensor = TensorRef::from_array_view(([n, f.window, f.channels.len()], input))
            .map_err(|e| err(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.manifest.input.name.as_str() => tensor])
            .map_err(|e| err(e.to_string()))?;
        let (_, scores) = outputs[self.manifest.output.name.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| err(e.to_string()))?;
        if scores.len() != n {
            return Err(err(format!("{} scores for {n} windows", scores.len())));
        }
        Ok(scores.to_vec())
    }
}

/// The model's declared input and output against the manifest's.
fn check_io(session: &Session, m: &Manifest) -> Result<(), String> {
    for (what, spec, outlets) in [
        ("input", &m.input, session.inputs()),
        ("output", &m.output, session.outputs()),
    ] {
        let names: Vec<&str> = outlets.iter().map(|o| o.name()).collect();
        let outlet = outlets
            .iter()
            .find(|o| o.name() == spec.name)
            .ok_or_else(|| {
                format!(
                    "the manifest's {what} `{}` is not in the model, which has {names:?}",
                    spec.name
                )
            })?;
        let ValueType::Tensor { ty, shape, .. } = outlet.dtype() else {
            return Err(format!("{what} `{}` is not a tensor", spec.name));
        };
        if *ty != TensorElementType::Float32 {
            return Err(format!(
                "{what} `{}` is {ty:?}; edgewatch feeds and reads float32",
                spec.name
            ));
        }
        let fits = shape.len() == spec.shape.len()
            && shape
                .iter()
                .zip(&spec.shape)
                .all(|(model, declared)| *model == -1 || model == declared);
        if !fits {
            return Err(format!(
                "{what} `{}` has shape {:?} in the model but the manifest declares {:?} \
                 (-1 = any size); retrain or fix the manifest",
                spec.name,
                shape.iter().collect::<Vec<_>>(),
                spec.shape
            ));
        }
    }
    Ok(())
}
