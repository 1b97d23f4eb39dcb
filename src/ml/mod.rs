//! ONNX models in-process through ONNX Runtime (`ort`, loaded at run time from a
//! shared library on disk, never downloaded): finding the library, reading a
//! model's manifest, and running checked batches.

mod bert;
mod bert_ops;

pub mod chat_template;
pub mod embed;
pub mod engine;
pub mod llama;
pub mod llm;
pub mod manifest;
pub mod model;
pub mod q8;
pub mod runtime;

pub use manifest::Manifest;
pub use model::OnnxModel;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(
        "ONNX Runtime library not found (looked for {looked}); run scripts/fetch-models.sh \
         in a source checkout, install the edgewatch package, or set onnx.runtime to the \
         path of libonnxruntime.so.{version}"
    )]
    RuntimeMissing {
        looked: String,
        version: &'static str,
    },
    #[error("cannot load ONNX Runtime from {path}: {message} (needs version {version})")]
    RuntimeLoad {
        path: String,
        message: String,
        version: &'static str,
    },
    #[error("model manifest {path}: {message}")]
    Manifest { path: String, message: String },
    #[error("model {path}: {message}")]
    Model { path: String, message: String },
    #[error("model `{model}`: inference failed: {message}")]
    Run { model: String, message: String },
}

/// The models directory holding `file`, in a source checkout or an installed
/// package, for the demo, `eval` and benches (the daemon uses its config): `./models`, the checkout of the
/// running binary (`target/<profile>/../../models`), `/usr/share/edgewatch/models`.
pub fn find_models_dir(file: &str) -> Option<std::path::PathBuf> {
    let mut dirs = vec![std::path::PathBuf::from("models")];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.to_owned()))
    {
        dirs.push(exe_dir.join("../../models"));
        dirs.push(exe_dir.join("../../../models"));
    }
    dirs.push("/usr/share/edgewatch/models".into());
    dirs.into_iter()
        .find(|d| d.join(file).is_file())
        .map(|d| d.canonicalize().unwrap_or(d))
}
