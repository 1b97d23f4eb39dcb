//! The files a config names (secrets, CA bundles, client certificates and keys),
//! opened the way `run` opens them, so check-config refuses a config `run` would
//! exit on, and `run` refuses it as a config error (exit 78, which systemd does
//! not retry) instead of failing later with a generic one.

use super::{Config, ConfigIssue, TlsConfig};
use std::path::Path;

/// Every named file that is missing, unreadable, empty or not what it should be.
pub(super) fn check(c: &Config) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut push = |key: String, message: String| {
        issues.push(ConfigIssue {
            key,
            line: None,
            message,
        })
    };
    let mut secret = |key: String, path: &Path| {
        if let Some(e) = secret_problem(path) {
            push(key, e);
        }
    };
    if let Some(f) = &c.api.token_file {
        secret("api.token-file".into(), f);
    }
    for (i, m) in c.sources.mqtt.iter().enumerate() {
        if let Some(f) = &m.password_file {
            secret(format!("sources.mqtt[{i}].password-file"), f);
        }
    }
    for (i, m) in c.sinks.mqtt.iter().enumerate() {
        if let Some(f) = &m.password_file {
            secret(format!("sinks.mqtt[{i}].password-file"), f);
        }
    }
    for (i, w) in c.sinks.webhook.iter().enumerate() {
        if let Some(f) = &w.hmac_key_file {
            secret(format!("sinks.webhook[{i}].hmac-key-file"), f);
        }
        if let Some(f) = &w.token_file {
            secret(format!("sinks.webhook[{i}].token-file"), f);
        }
    }
    let mut tls_issues = Vec::new();
    for (i, m) in c.sources.mqtt.iter().enumerate() {
        if let Some(t) = &m.tls {
            tls_problems(&format!("sources.mqtt[{i}].tls"), t, &mut tls_issues);
        }
    }
    for (i, m) in c.sinks.mqtt.iter().enumerate() {
        if let Some(t) = &m.tls {
            tls_problems(&format!("sinks.mqtt[{i}].tls"), t, &mut tls_issues);
        }
    }
    for (i, w) in c.sinks.webhook.iter().enumerate() {
        if let Some(f) = &w.ca_file {
            if let Err(e) = crate::tls::certificates(f) {
                tls_issues.push((format!("sinks.webhook[{i}].ca-file"), e.to_string()));
            }
        }
    }
    for (key, message) in tls_issues {
        push(key, message);
    }
    issues
}

fn secret_problem(path: &Path) -> Option<String> {
    match crate::secret::read(path) {
        Err(e) => Some(e.to_string()),
        Ok(s) if s.trim().is_empty() => Some(format!(
            "{} is empty: write the secret into it",
            path.display()
        )),
        Ok(_) => None,
    }
}

fn tls_problems(key: &str, t: &TlsConfig, out: &mut Vec<(String, String)>) {
    if let Err(e) = crate::tls::certificates(&t.ca_file) {
        out.push((format!("{key}.ca-file"), e.to_string()));
    }
    if let Some(f) = &t.cert_file {
        if let Err(e) = crate::tls::certificates(f) {
            out.push((format!("{key}.cert-file"), e.to_string()));
        }
    }
    if let Some(f) = &t.key_file {
        if let Err(e) = crate::tls::private_key(f) {
            out.push((format!("{key}.key-file"), e.to_string()));
        }
    }
}
