//! What an MQTT source and an MQTT sink share in their config: where to connect
//! and how to log in, checked the same way for both.

use crate::issues::Issues;
use crate::tls::TlsConfig;
use std::time::Duration;

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
