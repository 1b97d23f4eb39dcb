//! Pure validation: no I/O, every issue names its key and what is allowed.

use super::*;
use crate::issues::Issues;
use crate::sensor_glob;
use std::collections::HashSet;
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
    for (i, m) in c.sources.mqtt.iter().enumerate() {
        mqtt(&mut v, &format!("sources.mqtt[{i}]"), m);
    }
    for (i, s) in c.sources.simulator.iter().enumerate() {
        simulator(&mut v, &format!("sources.simulator[{i}]"), s);
    }
    for (i, r) in c.rules.iter().enumerate() {
        rule(&mut v, &format!("rules[{i}]"), r);
    }
    c.sinks.validate(&mut v);
    super::validate_modbus::modbus(&mut v, c);
    super::validate_anomaly::anomaly_models(&mut v, c);
    names(&mut v, c);
    v.into_vec().into_iter().map(ConfigIssue::from).collect()
}

/// Component names, checked in one place for every kind: sources share one name
/// space (their metric series and sensor prefixes), sinks another, rules and
/// anomaly models a third (alert ids).
fn names(v: &mut Issues, c: &Config) {
    let sources = c
        .sources
        .mqtt
        .iter()
        .enumerate()
        .map(|(i, m)| (format!("sources.mqtt[{i}].name"), m.name.as_str()))
        .chain(
            c.sources
                .modbus
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("sources.modbus[{i}].name"), m.name.as_str())),
        )
        .chain(
            c.sources
                .simulator
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("sources.simulator[{i}].name"), m.name.as_str())),
        );
    unique(v, sources);
    unique(
        v,
        c.sinks
            .names()
            .into_iter()
            .map(|(k, n)| (format!("{k}.name"), n)),
    );
    let rules = c
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("rules[{i}].name"), r.name.as_str()))
        .chain(
            c.anomaly_models
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("anomaly-models[{i}].name"), m.name.as_str())),
        );
    unique(v, rules);
}

/// Non-empty, printable, unique within one name space.
pub(super) fn unique<'a>(v: &mut Issues, names: impl Iterator<Item = (String, &'a str)>) {
    let mut seen = HashSet::new();
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

fn mqtt(v: &mut Issues, k: &str, m: &MqttSourceConfig) {
    crate::mqtt_settings::validate_connection(
        v,
        k,
        &m.host,
        m.port,
        m.keep_alive,
        m.password.is_some() && m.password_file.is_some(),
        m.tls.as_ref(),
    );
    if m.reconnect_min.is_zero() || m.reconnect_min > m.reconnect_max {
        v.push(
            format!("{k}.reconnect-min"),
            "must be above zero and not above reconnect-max",
        );
    }
    if m.max_depth == 0 || m.max_depth > 128 {
        v.push(format!("{k}.max-depth"), "allowed 1 to 128");
    }
    if m.max_payload.as_u64() == 0 || m.max_payload > bytesize::ByteSize::mib(64) {
        v.push(
            format!("{k}.max-payload"),
            format!("{} is out of range: allowed 1 B to 64 MiB", m.max_payload),
        );
    }
    v.range(
        format!("{k}.reconnect-max"),
        m.reconnect_max,
        Duration::from_millis(1),
        Duration::from_secs(3600),
    );
    v.range(
        format!("{k}.max-clock-skew"),
        m.max_clock_skew,
        Duration::from_secs(1),
        Duration::from_secs(366 * 86_400),
    );
    if (m.password_file.is_some() || m.password.is_some()) && m.username.is_none() {
        v.push(
            format!("{k}.password-file"),
            "a password is only sent with a username: set username too",
        );
    }
    if m.subscriptions.is_empty() {
        v.push(
            format!("{k}.subscriptions"),
            "at least one [[sources.mqtt.subscriptions]] with a topic is needed",
        );
    }
    for (i, s) in m.subscriptions.iter().enumerate() {
        subscription(v, &format!("{k}.subscriptions[{i}]"), s);
    }
}

fn subscription(v: &mut Issues, k: &str, s: &SubscriptionConfig) {
    if let Err(why) = check_topic_filter(&s.topic) {
        v.push(format!("{k}.topic"), format!("`{}` {why}", s.topic));
    }
    if s.qos > 1 {
        v.push(
            format!("{k}.qos"),
            format!(
                "{} is not supported: use 0 or 1 (1 is durable end to end)",
                s.qos
            ),
        );
    }
    if let Some(t) = &s.sensor_id {
        if let Err(why) = check_template(t, &s.topic) {
            v.push(format!("{k}.sensor-id"), why);
        }
    }
    if s.format != PayloadFormat::Fields && !s.fields.is_empty() {
        v.push(format!("{k}.fields"), "only used with format = \"fields\"");
    }
}

/// MQTT filter rules: `#` only as the whole last level, `+` only as a whole level.
pub(crate) fn check_topic_filter(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("is empty: give a topic filter such as `factory/+/sensors/#`".into());
    }
    let levels: Vec<&str> = topic.split('/').collect();
    for (i, l) in levels.iter().enumerate() {
        if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
            return Err("is not a valid filter: `#` must be the whole last level".into());
        }
        if l.contains('+') && *l != "+" {
            return Err("is not a valid filter: `+` must be a whole level".into());
        }
    }
    Ok(())
}

/// `{N}` must be a topic level that exists for every matching topic.
fn check_template(template: &str, topic: &str) -> Result<(), String> {
    let levels = topic.split('/').count();
    let open_ended = topic.ends_with('#');
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("`{template}` has an unclosed `{{`"));
        };
        let name = &rest[start + 1..start + len];
        match name.parse::<usize>() {
            Ok(n) if !open_ended && n >= levels => {
                return Err(format!(
                    "`{{{n}}}` is past the end of `{topic}`: levels are numbered 0 to {}",
                    levels - 1
                ))
            }
            Ok(_) => {}
            Err(_) if name == "topic" || name == "field" => {}
            Err(_) => {
                return Err(format!(
                    "`{{{name}}}` is unknown: use {{0}}, {{1}} ... (topic levels), {{topic}} or {{field}}"
                ))
            }
        }
        rest = &rest[start + len + 1..];
    }
    Ok(())
}

fn simulator(v: &mut Issues, k: &str, s: &SimulatorConfig) {
    if s.lines == 0 || s.lines > 100 {
        v.push(format!("{k}.lines"), "allowed 1 to 100");
    }
    if s.machines_per_line == 0 || s.machines_per_line > 1000 {
        v.push(format!("{k}.machines-per-line"), "allowed 1 to 1000");
    }
    v.range(
        format!("{k}.interval"),
        s.interval,
        Duration::from_micros(1),
        Duration::from_secs(3600),
    );
    if !(0.0..=3600.0).contains(&s.fault_rate) {
        v.push(
            format!("{k}.fault-rate"),
            "allowed 0 to 3600 faults per machine-hour",
        );
    }
    v.range(
        format!("{k}.fault-duration"),
        s.fault_duration,
        Duration::from_secs(1),
        Duration::from_secs(86_400),
    );
    if s.site.is_empty() || s.site.contains('/') {
        v.push(
            format!("{k}.site"),
            "must be one non-empty id level (no `/`)",
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
