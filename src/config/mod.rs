//! The one TOML config file: its shape (serde), its pure validation, and loading.
//!
//! Loading is three steps, as in ntpd-rs and Vector: parse (serde, unknown keys
//! rejected), validate (pure, every error names its key and line), then build (I/O,
//! done by the parts themselves). `edgewatch check-config` runs the first two.

mod files;
mod knowledge;
mod locate;
mod model;
mod validate;

pub use knowledge::*;
pub use model::*;
pub use validate::validate;

use std::path::{Path, PathBuf};

/// One thing wrong with a config, tied to the key that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// Dotted key path, e.g. `rules[2].clear`.
    pub key: String,
    /// 1-based line in the file, when the key is written there.
    pub line: Option<usize>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl From<crate::issues::Issue> for ConfigIssue {
    fn from(i: crate::issues::Issue) -> Self {
        ConfigIssue {
            key: i.key,
            line: None,
            message: i.message,
        }
    }
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source} (pass another file with -c FILE)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {} problem(s):\n{}", .issues.len(), render_issues(.issues))]
    Invalid {
        path: PathBuf,
        issues: Vec<ConfigIssue>,
    },
}

fn render_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// As [`Config::load`], and every file the config names (secrets, CA
    /// bundles, certificates, keys) must be there and readable as `run` reads it.
    pub fn load_checked(path: &Path) -> Result<Config, ConfigError> {
        let config = Self::load(path)?;
        let mut issues = files::check(&config);
        if issues.is_empty() {
            return Ok(config);
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            locate::attach_lines(&text, &mut issues);
        }
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            issues,
        })
    }

    /// Parses and validates config text; `path` only names the source in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut issues = validate(&config);
        if issues.is_empty() {
            return Ok(config);
        }
        locate::attach_lines(text, &mut issues);
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            issues,
        })
    }
}

#[cfg(test)]
mod tests;
