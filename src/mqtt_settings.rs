//! What an MQTT source and an MQTT sink share in their config: where to connect
//! and how to log in, checked and applied the same way for both.

use crate::issues::Issues;
use crate::tls::TlsConfig;
use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Sets the login (the password from the config or its file) and TLS on `o`;
/// reads the secret and the PEM files, so an error names the file and the reason.
pub fn apply_login(
    o: &mut MqttOptions,
    username: Option<&String>,
    password: Option<&String>,
    password_file: Option<&PathBuf>,
    tls: Option<&TlsConfig>,
) -> Result<(), String> {
    let password = match (password, password_file) {
        (Some(p), _) => Some(p.clone()),
        (_, Some(f)) => Some(crate::secret::read(f).map_err(|e| e.to_string())?),
        _ => None,
    };
    if let Some(user) = username {
        o.set_credentials(user.clone(), password.unwrap_or_default());
    }
    if let Some(tls) = tls {
        let cfg = crate::tls::client_config(tls).map_err(|e| e.to_string())?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(cfg),
        )));
    }
    Ok(())
}

/// The connection keys of `[[sources.mqtt]]` or `[[sinks.mqtt]]` at `k`.
pub fn validate_connection(
    v: &mut Issues,
    k: &str,
    host: &str,
    port: u16,
    keep_alive: Duration,
    password_twice: bool,
    tls: Option<&TlsConfig>,
) {
    if host.trim().is_empty() {
        v.push(format!("{k}.host"), "must not be empty");
    }
    if port == 0 {
        v.push(format!("{k}.port"), "must be 1 to 65535");
    }
    // rumqttc panics on a keep-alive under one second; refuse it here instead.
    v.range(
        format!("{k}.keep-alive"),
        keep_alive,
        Duration::from_secs(1),
        Duration::from_secs(65_535),
    );
    if password_twice {
        v.push(
            format!("{k}.password-file"),
            "set password or password-file, not both",
        );
    }
    if let Some(tls) = tls {
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            v.push(
                format!("{k}.tls"),
                "cert-file and key-file go together for mutual TLS: set both or neither",
            );
        }
    }
}
