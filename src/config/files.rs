//! The files a config names (secrets, CA bundles, client certificates and keys),
//! opened the way `run` opens them, so check-config refuses a config `run` would
//! exit on, and `run` refuses it as a config error (exit 78, which systemd does
//! not retry) instead of failing later with a generic one.

use super::{Config, ConfigIssue, TlsConfig};
use std::path::Path;

/// Every named file that is missing, unreadable, empty or not what it should be.
pub(super) fn check(c: &Config) -> Vec<ConfigIssue> {
    let mut p = Problems::default();
    if let Some(f) = &c.api.token_file {
        p.secret("api.token-file".into(), f);
    }
    for (i, m) in c.sources.mqtt.iter().enumerate() {
        let k = format!("sources.mqtt[{i}]");
        if let Some(f) = &m.password_file {
            p.secret(format!("{k}.password-file"), f);
        }
        if let Some(t) = &m.tls {
            p.tls(&format!("{k}.tls"), t);
        }
    }
    for (i, m) in c.sinks.mqtt.iter().enumerate() {
        let k = format!("sinks.mqtt[{i}]");
        if let Some(f) = &m.password_file {
            p.secret(format!("{k}.password-file"), f);
        }
        if let Some(t) = &m.tls {
            p.tls(&format!("{k}.tls"), t);
        }
    }
    for (i, w) in c.sinks.webhook.iter().enumerate() {
        let k = format!("sinks.webhook[{i}]");
        if let Some(f) = &w.hmac_key_file {
            p.secret(format!("{k}.hmac-key-file"), f);
        }
        if let Some(f) = &w.token_file {
            p.secret(format!("{k}.token-file"), f);
        }
        if let Some(f) = &w.ca_file {
            p.certificates(format!("{k}.ca-file"), f);
        }
    }
    p.0
}

#[derive(Default)]
struct Problems(Vec<ConfigIssue>);

impl Problems {
    fn push(&mut self, key: String, message: String) {
        self.0.push(ConfigIssue {
            key,
            line: None,
            message,
        });
    }

    fn secret(&mut self, key: String, path: &Path) {
        match crate::secret::read(path) {
            Err(e) => self.push(key, e.to_string()),
            Ok(s) if s.trim().is_empty() => self.push(
                key,
                format!("{} is empty: write the secret into it", path.display()),
            ),
            Ok(_) => {}
        }
    }

    fn certificates(&mut self, key: String, path: &Path) {
        if let Err(e) = crate::tls::certificates(path) {
            self.push(key, e.to_string());
        }
    }

    fn tls(&mut self, key: &str, t: &TlsConfig) {
        self.certificates(format!("{key}.ca-file"), &t.ca_file);
        if let Some(f) = &t.cert_file {
            self.certificates(format!("{key}.cert-file"), f);
        }
        if let Some(f) = &t.key_file {
            if let Err(e) = crate::tls::private_key(f) {
                self.push(format!("{key}.key-file"), e.to_string());
            }
        }
    }
}
