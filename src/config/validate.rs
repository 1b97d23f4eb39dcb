//! Pure validation: no I/O, every issue names its key and what is allowed.

use super::*;
use crate::issues::Issues;
use crate::sensor_glob;
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
        rule(&mut v, &format!("rules[{i}]"), r);
    }
    c.sinks.validate(&mut v);
    super::validate_anomaly::anomaly_models(&mut v, c);
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

fn rule(v: &mut Issues, k: &str, r: &RuleConfig) {
    if r.sensors.is_empty() && r.labels.is_empty() {
        v.push(
            format!("{k}.sensors"),
            "a rule needs sensor globs (sensors = [\"plant1/*/temperature\"]) or labels to match",
        );
    }
    for (i, g) in r.sensors.iter().enumerate() {
        if let Err(e) = sensor_glob::compile(g) {
            v.push(
                format!("{k}.sensors[{i}]"),
                format!("`{g}` is not a glob: {e}"),
            );
        }
    }
    let conditions = [
        r.above.is_some(),
        r.below.is_some(),
        r.rate_above.is_some(),
        r.stale_after.is_some(),
        r.zscore_above.is_some(),
        r.stuck_for.is_some(),
        r.spike_above.is_some(),
    ];
    const ALL: &str = "above, below, rate-above, stale-after, zscore-above, stuck-for, spike-above";
    match conditions.iter().filter(|c| **c).count() {
        1 => {}
        0 => v.push(k.to_string(), format!("has no condition: set one of {ALL}")),
        _ => v.push(
            k.to_string(),
            format!(
                "has several conditions: set exactly one of {ALL} (write one rule per condition)"
            ),
        ),
    }
    for (name, value) in [
        ("zscore-above", r.zscore_above),
        ("spike-above", r.spike_above),
    ] {
        if value.is_some_and(|x| !(x.is_finite() && x > 0.0)) {
            v.push(
                format!("{k}.{name}"),
                "must be a number above zero (deviations)",
            );
        }
    }
    if let (Some(z), Some(c)) = (r.zscore_above, r.clear) {
        if !(0.0..=z).contains(&c) {
            v.push(
                format!("{k}.clear"),
                format!("for zscore-above the clear level is a |z| from 0 to {z}"),
            );
        }
    }
    if !(r.ewma_alpha > 0.0 && r.ewma_alpha < 1.0) {
        v.push(
            format!("{k}.ewma-alpha"),
            "must be between 0 and 1 (e.g. 0.05)",
        );
    }
    if r.spike_window < 5 || r.spike_window > 10_000 {
        v.push(format!("{k}.spike-window"), "allowed 5 to 10000 readings");
    }
    if !(r.stuck_tolerance >= 0.0 && r.stuck_tolerance.is_finite()) {
        v.push(format!("{k}.stuck-tolerance"), "must be zero or more");
    }
    if let Some(d) = r.stuck_for {
        v.range(
            format!("{k}.stuck-for"),
            d,
            Duration::from_secs(1),
            Duration::from_secs(30 * 86_400),
        );
    }
    for (name, value) in [
        ("above", r.above),
        ("below", r.below),
        ("clear", r.clear),
        ("rate-above", r.rate_above),
    ] {
        if value.is_some_and(|x| !x.is_finite()) {
            v.push(format!("{k}.{name}"), "must be a finite number");
        }
    }
    match (r.above, r.below, r.clear) {
        (Some(a), _, Some(c)) if c > a => v.push(
            format!("{k}.clear"),
            format!("{c} is above the limit {a}: for an `above` rule the clear level must be at or below it"),
        ),
        (_, Some(b), Some(c)) if c < b => v.push(
            format!("{k}.clear"),
            format!("{c} is below the limit {b}: for a `below` rule the clear level must be at or above it"),
        ),
        (None, None, Some(_)) if r.zscore_above.is_none() => v.push(format!("{k}.clear"), "only applies to above, below or zscore-above rules"),
        _ => {}
    }
    if r.rate_above.is_some_and(|x| x <= 0.0) {
        v.push(
            format!("{k}.rate-above"),
            "must be above zero (units per second)",
        );
    }
    if let Some(d) = r.stale_after {
        v.range(
            format!("{k}.stale-after"),
            d,
            Duration::from_secs(1),
            Duration::from_secs(30 * 86_400),
        );
    }
    if r.for_duration.is_some() && r.for_count.is_some() {
        v.push(
            format!("{k}.for-count"),
            "set `for` (a duration) or `for-count`, not both",
        );
    }
    if r.for_count == Some(0) {
        v.push(format!("{k}.for-count"), "must be 1 or more");
    }
}
