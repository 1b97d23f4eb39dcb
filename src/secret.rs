//! Secrets (passwords, HMAC keys, tokens) read from files, never from the config
//! itself, so they can come from systemd credentials and never reach a log.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot read secret {path}: {source} (check the path, or LoadCredential= under systemd)")]
pub struct SecretError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Reads a secret file without its trailing newline. A relative path is looked up
/// in systemd's `$CREDENTIALS_DIRECTORY` when that is set.
pub fn read(path: &Path) -> Result<String, SecretError> {
    let full = match std::env::var_os("CREDENTIALS_DIRECTORY") {
        Some(dir) if path.is_relative() => Path::new(&dir).join(path),
        _ => path.to_owned(),
    };
    std::fs::read_to_string(&full)
        .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|source| SecretError { path: full, source })
}
