//! Pure validation: no I/O, every issue names its key and what is allowed.

use super::*;
use crate::issues::Issues;
use std::net::SocketAddr;
use std::time::Duration;

/// Returns every problem found; empty means the config can be built.
pub fn validate(c: &Config) -> Vec<ConfigIssue> {
    let mut v = Issues::default();
    gateway(&mut v, &c.gateway);
    api(&mut v, &c.api);
    log(&mut v, &c.log);
    c.store.validate(&mut v);
    aggregate(&mut v, &c.aggregate);
    knowledge(&mut v, c);
    c.sources.validate(&mut v, &c.modbus_maps);
    crate::sources::modbus::validate_maps(&mut v, &c.modbus_maps);
    for (i, r) in c.rules.iter().enumerate() {
        crate::detect::rule_config::validate(&mut v, &format!("rules[{i}]"), r);
    }
    c.sinks.validate(&mut v);
    crate::detect::anomaly_config::validate(&mut v, &c.onnx, &c.anomaly_models);
    v.unique_names(
        c.sources
            .names()
            .into_iter()
            .map(|(k, n)| (format!("{k}.name"), n)),
    );
    v.unique_names(
        c.sinks
            .names()
            .into_iter()
            .map(|(k, n)| (format!("{k}.name"), n)),
    );
    // Rules and anomaly models share alert ids.
    v.unique_names(
        c.rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("rules[{i}].name"), r.name.as_str()))
            .chain(
                c.anomaly_models
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("anomaly-models[{i}].name"), m.name.as_str())),
            ),
    );
    v.into_vec().into_iter().map(ConfigIssue::from).collect()
}

fn gateway(v: &mut Issues, g: &GatewayConfig) {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if g.id.is_empty() || !g.id.chars().all(ok) {
        v.push(
            "gateway.id",
            format!(
                "`{}` is not allowed: use letters, digits, `.`, `_` or `-`",
                g.id
            ),
        );
    }
    if g.state_dir.as_os_str().is_empty() {
        v.push("gateway.state-dir", "must not be empty");
    }
    if let Err(e) = jiff::tz::TimeZone::get(&g.time_zone) {
        v.push(
            "gateway.time-zone",
            format!(
                "`{}` is not a known time zone ({e}): use an IANA name such as `UTC` or `Europe/Berlin`",
                g.time_zone
            ),
        );
    }
}

fn api(v: &mut Issues, a: &ApiConfig) {
    match a.listen.parse::<SocketAddr>() {
        Err(_) => v.push(
            "api.listen",
            format!("`{}` is not an address: write IP:PORT, e.g. 127.0.0.1:9464", a.listen),
        ),
        Ok(addr) if a.enabled && !addr.ip().is_loopback() && a.token_file.is_none() => v.push(
            "api.listen",
            format!(
                "{addr} is reachable from other hosts: set api.token-file to a file holding a bearer token, or listen on 127.0.0.1"
            ),
        ),
        Ok(_) => {}
    }
    if !(1..=65_536).contains(&a.max_connections) {
        v.push(
            "api.max-connections",
            format!("{} is out of range: allowed 1 to 65536", a.max_connections),
        );
    }
    if a.header_timeout < Duration::from_millis(100) || a.header_timeout > Duration::from_secs(3600)
    {
        v.push(
            "api.header-timeout",
            format!(
                "{} is out of range: allowed 100ms to 1h",
                humantime::format_duration(a.header_timeout)
            ),
        );
    }
}

fn log(v: &mut Issues, l: &LogConfig) {
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&l.level) {
        v.push(
            "log.level",
            format!(
                "`{}` is not a log filter ({e}): use e.g. `info` or `edgewatch=debug`",
                l.level
            ),
        );
    }
}

fn aggregate(v: &mut Issues, a: &AggregateConfig) {
    v.range(
        "aggregate.window".into(),
        a.window,
        Duration::from_secs(1),
        Duration::from_secs(86_400),
    );
    if a.window.subsec_nanos() != 0 {
        v.push("aggregate.window", "must be a whole number of seconds");
    }
    v.range(
        "aggregate.lateness".into(),
        a.lateness,
        Duration::ZERO,
        Duration::from_secs(3600),
    );
    if !(1..=100_000).contains(&a.max_open_windows) {
        v.push(
            "aggregate.max-open-windows",
            format!(
                "{} is out of range: allowed 1 to 100000",
                a.max_open_windows
            ),
        );
    }
}

fn knowledge(v: &mut Issues, c: &Config) {
    let k = &c.knowledge;
    v.range(
        "knowledge.summary-window".into(),
        k.summary_window,
        Duration::from_secs(1),
        Duration::from_secs(7 * 86_400),
    );
    let agg = c.aggregate.window.as_millis();
    if agg > 0 && !k.summary_window.as_millis().is_multiple_of(agg) {
        v.push(
            "knowledge.summary-window",
            format!(
                "must be a whole number of aggregate windows (aggregate.window = {}): try {}",
                humantime::format_duration(c.aggregate.window),
                humantime::format_duration(Duration::from_millis(
                    (k.summary_window.as_millis().div_ceil(agg) * agg) as u64
                ))
            ),
        );
    }
    if k.summary_retention < k.summary_window {
        v.push(
            "knowledge.summary-retention",
            "must be at least knowledge.summary-window",
        );
    }
}
