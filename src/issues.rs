//! Problems found in a config, each tied to the key that holds it. Every part's
//! pure validation writes here, and so do the checks of the files a config names
//! (the only ones here that do I/O); the config module adds line numbers.

use crate::tls::TlsConfig;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Dotted key path, e.g. `sinks.mqtt[0].port`.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Issues(Vec<Issue>);

impl Issues {
    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Issue {
            key: key.into(),
            message: message.into(),
        });
    }

    /// A duration outside `min..=max`.
    pub fn range(&mut self, key: String, d: Duration, min: Duration, max: Duration) {
        if d < min || d > max {
            self.push(
                key,
                format!(
                    "{} is out of range: allowed {} to {}",
                    humantime::format_duration(d),
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            );
        }
    }

    /// Component names: non-empty, printable, unique within one name space
    /// (they become metric labels, log fields and client ids).
    pub fn unique_names<'a>(&mut self, names: impl Iterator<Item = (String, &'a str)>) {
        let v = self;
        let mut seen = std::collections::HashSet::new();
        for (key, name) in names {
            if name.trim().is_empty() {
                v.push(key, "must not be empty");
            } else if name
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\')
                || name.len() > 64
            {
                // Names become metric labels, log fields and client ids.
                v.push(
                key,
                format!(
                    "{name:?} is not allowed: use at most 64 printable characters without `\"` or `\\`"
                ),
            );
            } else if !seen.insert(name) {
                v.push(key, format!("`{name}` is used twice: names must be unique"));
            }
        }
    }

    /// Problems found so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Issue> {
        self.0
    }

    /// A secret file that is missing, unreadable or empty (opened as `run` does).
    pub fn secret_file(&mut self, key: String, path: &Path) {
        match crate::secret::read(path) {
            Err(e) => self.push(key, e.to_string()),
            Ok(s) if s.trim().is_empty() => self.push(
                key,
                format!("{} is empty: write the secret into it", path.display()),
            ),
            Ok(_) => {}
        }
    }

    /// A PEM certificate bundle that cannot be read or holds no certificate.
    pub fn certificates_file(&mut self, key: String, path: &Path) {
        if let Err(e) = crate::tls::certificates(path) {
            self.push(key, e.to_string());
        }
    }

    /// The CA bundle, client certificate and key of a `tls` table.
    pub fn tls_files(&mut self, key: &str, t: &TlsConfig) {
        self.certificates_file(format!("{key}.ca-file"), &t.ca_file);
        if let Some(f) = &t.cert_file {
            self.certificates_file(format!("{key}.cert-file"), f);
        }
        if let Some(f) = &t.key_file {
            if let Err(e) = crate::tls::private_key(f) {
                self.push(format!("{key}.key-file"), e.to_string());
            }
        }
    }
}
