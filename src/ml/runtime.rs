//! Finds and loads the ONNX Runtime shared library once per process.
//!
//! `ort` with `load-dynamic` binds to the library at run time, so the build needs no
//! download and the library ships beside the binary (`/usr/lib/edgewatch`), or comes
//! from `scripts/fetch-models.sh` (PyPI wheel, pinned and hash-checked) in a checkout.

use super::OnnxError;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The ONNX Runtime release `ort` rc.15 is built against (API 31).
pub const VERSION: &str = "1.31.1";

/// Library file name as the wheel and the packages ship it.
pub fn file_name() -> String {
    format!("libonnxruntime.so.{VERSION}")
}

/// Where to look, first match wins: the configured path, `ORT_DYLIB_PATH`, beside
/// the binary's install prefix (`../lib/edgewatch`), the package path, and a source
/// checkout's `models/runtime` (binary in `target/<profile>/`).
pub fn candidates(configured: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    if let Some(p) = configured {
        out.push(p.to_owned());
        return out;
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
    }
    let name = file_name();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        out.push(dir.join("../lib/edgewatch").join(&name));
        for up in ["../../models/runtime", "../../../models/runtime"] {
            out.push(dir.join(up).join(&name));
        }
    }
    out.push(Path::new("/usr/lib/edgewatch").join(&name));
    out.push(Path::new("models/runtime").join(&name));
    out
}

/// The first candidate that exists.
pub fn locate(configured: Option<&Path>) -> Result<PathBuf, OnnxError> {
    let all = candidates(configured);
    all.iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .ok_or_else(|| OnnxError::RuntimeMissing {
            looked: all
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            version: VERSION,
        })
}

static ENV: OnceLock<Result<(PathBuf, ort::environment::Environment), String>> = OnceLock::new();

/// Loads the library (once; later calls return the first outcome) and builds the
/// process-wide environment sessions are created in.
pub fn environment(
    configured: Option<&Path>,
) -> Result<&'static ort::environment::Environment, OnnxError> {
    let path = locate(configured)?;
    let loaded = ENV.get_or_init(|| {
        let builder = ort::init_from(&path).map_err(|e| e.to_string())?;
        builder
            .with_name("edgewatch")
            .with_telemetry(false)
            .build()
            .map(|env| (path.clone(), env))
            .map_err(|e| e.to_string())
    });
    match loaded {
        Ok((_, env)) => Ok(env),
        Err(message) => Err(OnnxError::RuntimeLoad {
            path: path.display().to_string(),
            message: message.clone(),
            version: VERSION,
        }),
    }
}
