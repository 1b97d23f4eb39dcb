//! Validation of `[sinks]`: names, URLs against the allow-list, topic templates,
//! budgets and retry settings.

use super::validate::{mqtt_connection, unique_name, Issues};
use super::*;
use crate::sensor_glob;
use std::collections::HashSet;
use std::time::Duration;

const ALERT_TOPIC_VARS: &[&str] = &["gateway", "sink", "severity", "sensor", "rule", "state"];
const AGGREGATE_TOPIC_VARS: &[&str] = &["gateway", "sink", "sensor"];

pub(super) fn sinks(v: &mut Issues, s: &SinksConfig) {
    let mut names = HashSet::new();
    let mut name = |v: &mut Issues, k: &str, n: &str| {
        unique_name(v, &mut names, &format!("{k}.name"), n);
        if n.contains([':', '/', ' ']) {
            v.push(
                format!("{k}.name"),
                format!("`{n}` may not contain `:`, `/` or spaces (it is part of every dedup key)"),
            );
        }
    };
    for (i, h) in s.allowed_hosts.iter().enumerate() {
        if let Err(e) = host_glob(h) {
            v.push(format!("sinks.allowed-hosts[{i}]"), e);
        }
    }
    for (i, m) in s.mqtt.iter().enumerate() {
        let k = format!("sinks.mqtt[{i}]");
        name(v, &k, &m.name);
        mqtt(v, &k, m);
        route(v, &k, &m.route);
        outbox(v, &k, &m.outbox);
        retry(v, &k, &m.retry);
    }
    for (i, w) in s.webhook.iter().enumerate() {
        let k = format!("sinks.webhook[{i}]");
        name(v, &k, &w.name);
        webhook(v, &k, w, &s.allowed_hosts);
        route(v, &k, &w.route);
        outbox(v, &k, &w.outbox);
        retry(v, &k, &w.retry);
    }
    for (i, f) in s.file.iter().enumerate() {
        let k = format!("sinks.file[{i}]");
        name(v, &k, &f.name);
        if f.dir.as_os_str().is_empty() {
            v.push(format!("{k}.dir"), "must name a directory");
        }
        if f.rotate_size < bytesize::ByteSize::kib(4) {
            v.push(format!("{k}.rotate-size"), "must be at least 4 KiB");
        }
        v.range(
            format!("{k}.rotate-age"),
            f.rotate_age,
            Duration::from_secs(1),
            Duration::from_secs(366 * 86_400),
        );
        route(v, &k, &f.route);
        outbox(v, &k, &f.outbox);
    }
}

fn mqtt(v: &mut Issues, k: &str, m: &MqttSinkConfig) {
    mqtt_connection(
        v,
        k,
        &m.host,
        m.port,
        m.keep_alive,
        m.password.is_some() && m.password_file.is_some(),
        m.tls.as_ref(),
    );
    topic(
        v,
        &format!("{k}.alert-topic"),
        &m.alert_topic,
        ALERT_TOPIC_VARS,
    );
    topic(
        v,
        &format!("{k}.aggregate-topic"),
        &m.aggregate_topic,
        AGGREGATE_TOPIC_VARS,
    );
    // MQTT's remaining-length field stops at 256 MiB; below 128 B hardly any item fits.
    let size = m.max_packet_size.as_u64();
    if !(128..=crate::sinks::mqtt_topic::MAX_PACKET).contains(&size) {
        v.push(
            format!("{k}.max-packet-size"),
            format!(
                "{} is out of range: allowed 128 B to 256 MiB",
                m.max_packet_size
            ),
        );
    }
}

fn topic(v: &mut Issues, k: &str, t: &str, known: &[&str]) {
    if t.is_empty() || t.contains(['+', '#']) {
        v.push(
            k,
            format!("`{t}` is not a topic to publish to: it must be non-empty without `+` or `#`"),
        );
    }
    match crate::template::placeholders(t) {
        Err(e) => v.push(k, e),
        Ok(names) => {
            for n in names {
                if !known.contains(&n) {
                    v.push(
                        k,
                        format!("`{{{n}}}` is not known here: use {}", known.join(", ")),
                    );
                }
            }
        }
    }
}

fn webhook(v: &mut Issues, k: &str, w: &WebhookSinkConfig, allowed: &[String]) {
    match w.url.parse::<http::Uri>() {
        Err(e) => v.push(format!("{k}.url"), format!("not a URL: {e}")),
        Ok(u) => {
            let scheme = u.scheme_str().unwrap_or("");
            if scheme != "https" && scheme != "http" {
                v.push(
                    format!("{k}.url"),
                    "must start with https:// (or http:// on a trusted network)",
                );
            }
            if u.authority().is_some_and(|a| a.as_str().contains('@')) {
                v.push(
                    format!("{k}.url"),
                    "must not hold credentials (user:password@); use hmac-key-file or token-file",
                );
            }
            match u.host() {
                None => v.push(format!("{k}.url"), "has no host"),
                Some(host) if !host_allowed(host, allowed) => v.push(
                    format!("{k}.url"),
                    format!(
                        "host `{host}` is not in sinks.allowed-hosts; if it is the intended receiver, add it: allowed-hosts = [\"{host}\"]"
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    if w.preset == WebhookPreset::SplunkHec && w.token_file.is_none() {
        v.push(
            format!("{k}.token-file"),
            "splunk-hec needs its HEC token: token-file = \"splunk-token\"",
        );
    }
    v.range(
        format!("{k}.timeout"),
        w.timeout,
        Duration::from_millis(100),
        Duration::from_secs(300),
    );
}

fn host_glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(&pattern.to_ascii_lowercase())
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{pattern}` is not a host pattern: {e}"))
}

/// Whether a URL host is covered by `sinks.allowed-hosts`.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.to_ascii_lowercase();
    allowed
        .iter()
        .filter_map(|p| host_glob(p.trim_start_matches('[').trim_end_matches(']')).ok())
        .any(|g| g.is_match(&host))
}

fn route(v: &mut Issues, k: &str, r: &RouteConfig) {
    if r.events.as_ref().is_some_and(|e| e.is_empty()) {
        v.push(
            format!("{k}.route.events"),
            "is empty: list \"alerts\", \"aggregates\" or both",
        );
    }
    for (i, g) in r.sensors.iter().enumerate() {
        if let Err(e) = sensor_glob::compile(g) {
            v.push(
                format!("{k}.route.sensors[{i}]"),
                format!("`{g}` is not a glob: {e}"),
            );
        }
    }
}

fn outbox(v: &mut Issues, k: &str, o: &OutboxConfig) {
    if o.max_size < bytesize::ByteSize::kib(16) {
        v.push(format!("{k}.outbox.max-size"), "must be at least 16 KiB");
    }
    v.range(
        format!("{k}.outbox.max-age"),
        o.max_age,
        Duration::from_secs(60),
        Duration::from_secs(366 * 86_400),
    );
    if o.batch == 0 || o.batch > 10_000 {
        v.push(format!("{k}.outbox.batch"), "allowed 1 to 10000");
    }
}

fn retry(v: &mut Issues, k: &str, r: &RetryConfig) {
    if r.min.is_zero() || r.min > r.max {
        v.push(
            format!("{k}.retry.min"),
            "must be above zero and not above retry.max",
        );
    }
    if r.breaker_failures == 0 {
        v.push(format!("{k}.retry.breaker-failures"), "must be 1 or more");
    }
    v.range(
        format!("{k}.retry.breaker-open-for"),
        r.breaker_open_for,
        Duration::from_millis(100),
        Duration::from_secs(86_400),
    );
}
