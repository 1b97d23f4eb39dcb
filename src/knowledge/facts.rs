//! The facts an answer rests on, gathered exactly for the question's intent: the
//! alerts in its range (no row cap), value statistics from aggregates and the
//! journal, the latest reading of each sensor, and the passage of a document that
//! answers a how-to. Each fact has a citation id: `range`, `scope`, `count`,
//! `alert:ID`, `stats:SENSOR`, `now:SENSOR`, `count:ASSET`, `doc:CHUNK`.

use super::passage;
use super::question::{Intent, Query};
use super::resolve::{resolve, Catalogue, Scope};
use super::timerange::Clock;
pub use crate::event::format_num as num;
use crate::store::reader::SensorRow;
use crate::store::{AlertFilter, AlertRow, ChunkRow, Reader, StoreError, ValueStats};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fact {
    pub id: String,
    pub text: String,
}

/// A sensor not heard from for this long is reported as silent.
pub const SILENT_AFTER_MS: i64 = 5 * 60_000;
/// Sensors whose statistics one answer computes (a question about "everything"
/// on a 10,000-sensor gateway still answers in milliseconds).
const MAX_STATS_SENSORS: usize = 500;

/// Everything gathered for one question, typed; [`super::answer`] phrases it.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub query: Query,
    pub scope: Scope,
    /// Matching alerts, newest first.
    pub alerts: Vec<AlertRow>,
    /// Alerts firing now on the scope (status questions).
    pub firing: Vec<AlertRow>,
    pub stats: Vec<ValueStats>,
    pub latest: Vec<SensorRow>,
    /// Compare: (asset label, alert count or value, the sensors behind it).
    pub groups: Vec<Group>,
    pub passages: Vec<passage::Passage>,
    pub now_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub label: String,
    pub alerts: usize,
    pub stats: Option<ValueStats>,
}

/// What answering a query needs from the store.
pub fn gather(
    reader: &Reader,
    query: &Query,
    clock: &Clock,
    chunks: &[(ChunkRow, f32)],
) -> Result<Gathered, StoreError> {
    let rows = reader.sensors()?;
    let catalogue = Catalogue::from_rows(&rows);
    let rules = reader.rule_names()?;
    let scope = resolve(query, &catalogue, &rules);
    let mut g = Gathered {
        query: query.clone(),
        scope,
        alerts: Vec::new(),
        firing: Vec::new(),
        stats: Vec::new(),
        latest: Vec::new(),
        groups: Vec::new(),
        passages: Vec::new(),
        now_ms: clock.now_ms,
    };
    if query.intent == Intent::HowTo {
        g.passages = passage::best(query, chunks);
    }
    if g.scope.missing.is_some() {
        return Ok(g);
    }
    let q = query;
    let r = &q.range;
    // "What is firing" means now, whenever it began.
    let firing_now = q.state == Some("firing") && !r.explicit;
    let all = if firing_now {
        reader.firing_alerts()?
    } else {
        // limit 0: every alert of the range, however many.
        reader.alerts(&AlertFilter {
            since_ms: Some(r.since_ms),
            until_ms: Some(r.until_ms),
            ..Default::default()
        })?
    };
    g.alerts = all
        .into_iter()
        .filter(|a| alert_matches(a, q, &g.scope))
        .collect();
    let in_scope: Vec<&SensorRow> = rows.iter().filter(|s| g.scope.contains(&s.id)).collect();
    let needs_values = matches!(q.intent, Intent::Peak | Intent::Low | Intent::Average)
        || (matches!(q.intent, Intent::Summary | Intent::List) && !q.quantities.is_empty())
        || (q.intent == Intent::Compare && !q.quantities.is_empty() && !q.about_alerts);
    if needs_values {
        let names: Vec<String> = in_scope
            .iter()
            .take(MAX_STATS_SENSORS)
            .map(|s| s.id.clone())
            .collect();
        g.stats = reader.value_stats(&names, r.since_ms, r.until_ms)?;
    }
    if matches!(q.intent, Intent::Current | Intent::Status | Intent::Silent) {
        g.latest = in_scope.iter().map(|s| (*s).clone()).collect();
    }
    if q.intent == Intent::Status {
        g.firing = reader
            .firing_alerts()?
            .into_iter()
            .filter(|a| g.scope.contains(&a.sensor))
            .collect();
        // The range's own alerts, whatever their state.
        g.alerts.retain(|a| r.since_ms <= a.fired_ms);
    }
    if q.intent == Intent::Compare {
        g.groups = compare_groups(&g, &catalogue);
    }
    Ok(g)
}

fn alert_matches(a: &AlertRow, q: &Query, scope: &Scope) -> bool {
    scope.contains(&a.sensor)
        && q.severity.is_none_or(|s| a.severity == s)
        && q.state.is_none_or(|s| a.state == s)
        && (scope.rules.is_empty() || scope.rules.contains(&a.rule))
}

/// The assets compared: those the question named ("line 1 or line 2"), or every
/// one of the noun it asked about ("which line ...").
fn compare_groups(g: &Gathered, cat: &Catalogue) -> Vec<Group> {
    let q = &g.query;
    let noun = q
        .group_by
        .clone()
        .or_else(|| {
            q.assets
                .iter()
                .find(|a| q.assets.iter().filter(|b| b.noun == a.noun).count() > 1)
                .map(|a| a.noun.clone())
        })
        .or_else(|| q.assets.first().map(|a| a.noun.clone()));
    let Some(noun) = noun else {
        return Vec::new();
    };
    let mut numbers: Vec<u32> = q
        .assets
        .iter()
        .filter(|a| a.noun == noun)
        .map(|a| a.number)
        .collect();
    if numbers.len() < 2 {
        numbers = g
            .scope
            .sensors
            .iter()
            .filter_map(|s| cat.asset_of(s, &noun))
            .collect();
        if g.scope.sensors.is_empty() {
            numbers = cat
                .sensors
                .iter()
                .filter_map(|s| cat.asset_of(&s.id, &noun))
                .collect();
        }
        numbers.sort_unstable();
        numbers.dedup();
    }
    numbers
        .into_iter()
        .map(|n| {
            let of = |sensor: &str| cat.asset_of(sensor, &noun) == Some(n);
            let alerts = g.alerts.iter().filter(|a| of(&a.sensor)).count();
            let stats = g
                .stats
                .iter()
                .filter(|s| of(&s.sensor))
                .max_by(|a, b| {
                    if q.fewer || q.intent == Intent::Low {
                        b.min.total_cmp(&a.min)
                    } else {
                        a.max.total_cmp(&b.max)
                    }
                })
                .cloned();
            Group {
                label: format!("{noun} {n}"),
                alerts,
                stats,
            }
        })
        .collect()
}

/// "12 min", "1 h 5 min", "2 d 3 h", "40 s".
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        _ => match (s % 86_400) / 3600 {
            0 => format!("{} d", s / 86_400),
            h => format!("{} d {h} h", s / 86_400),
        },
    }
}

/// A value with its unit: "93.7 °C", "6 bar", "12" without one.
pub fn with_unit(v: f64, unit: Option<&str>) -> String {
    match unit.filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with('%') => format!("{}{u}", num(v)),
        Some(u) => format!("{} {u}", num(v)),
        None => num(v),
    }
}

/// The fact of one alert: its lifecycle in the site's time.
pub fn alert_fact(a: &AlertRow, clock: &Clock, now_ms: i64) -> Fact {
    let unit = a.unit.as_deref();
    let trip = trip(a);
    let end = match (&a.state[..], a.resolved_ms) {
        ("resolved", Some(t)) => format!(
            ", resolved {}{} after {}",
            clock.show(t),
            a.resolved_value
                .map_or(String::new(), |v| format!(" at {}", with_unit(v, unit))),
            duration(t - a.fired_ms)
        ),
        _ => format!(", still firing ({} so far)", duration(now_ms - a.fired_ms)),
    };
    Fact {
        id: format!("alert:{}", a.id),
        text: format!(
            "{} alert `{}` on {} fired {}{trip}{end}; message: \"{}\"",
            a.severity,
            a.rule,
            a.sensor,
            clock.show(a.fired_ms),
            clean(&a.message)
        ),
    }
}

/// What tripped an alert: " at 93.7 °C (limit 85)", or for a silent sensor
/// " after 6 min without a reading (limit 5 min)".
pub fn trip(a: &AlertRow) -> String {
    let unit = a.unit.as_deref();
    if a.kind == "stale" {
        let secs = |v: f64| duration((v * 1000.0) as i64);
        return match (a.value, a.limit) {
            (Some(v), Some(l)) => {
                format!(" after {} without a reading (limit {})", secs(v), secs(l))
            }
            _ => " when its readings stopped".to_owned(),
        };
    }
    let value = a
        .value
        .map_or(String::new(), |v| format!(" at {}", with_unit(v, unit)));
    let limit = a
        .limit
        .map_or(String::new(), |l| format!(" (limit {})", num(l)));
    format!("{value}{limit}")
}

pub fn stats_fact(s: &ValueStats, clock: &Clock, range: &str) -> Fact {
    let u = s.unit.as_deref();
    Fact {
        id: format!("stats:{}", s.sensor),
        text: format!(
            "{} {range}: {} readings, highest {} at {}, lowest {} at {}, average {}",
            s.sensor,
            s.count,
            with_unit(s.max, u),
            clock.show(s.max_ms),
            with_unit(s.min, u),
            clock.show(s.min_ms),
            with_unit(round_mean(s.mean), u)
        ),
    }
}

pub fn latest_fact(s: &SensorRow, clock: &Clock, now_ms: i64) -> Fact {
    let text = match (s.last_value, s.last_seen_ms) {
        (Some(v), Some(t)) => {
            let silent = now_ms - t > SILENT_AFTER_MS;
            format!(
                "{}: latest reading {} at {}{}{}",
                s.id,
                with_unit(v, s.unit.as_deref()),
                clock.show(t),
                match s.last_quality {
                    Some("good") | None => String::new(),
                    Some(q) => format!(" ({q} quality)"),
                },
                if silent {
                    format!("; silent for {}", duration(now_ms - t))
                } else {
                    String::new()
                }
            )
        }
        _ => format!("{}: no reading yet", s.id),
    };
    Fact {
        id: format!("now:{}", s.id),
        text,
    }
}

/// Averages keep two decimals: "61.23", not "61.2345".
pub fn round_mean(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Recorded text as data: control characters and brackets (our citation syntax)
/// out, quotes made single.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '[' => '(',
            ']' => ')',
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_units_read_naturally() {
        assert_eq!(duration(40_000), "40 s");
        assert_eq!(duration(12 * 60_000), "12 min");
        assert_eq!(duration(65 * 60_000), "1 h 5 min");
        assert_eq!(duration(2 * 86_400_000 + 3 * 3_600_000), "2 d 3 h");
        assert_eq!(with_unit(93.7, Some("°C")), "93.7 °C");
        assert_eq!(with_unit(85.0, Some("%RH")), "85%RH");
        assert_eq!(clean("a [b] \"c\"\u{1b}"), "a (b) 'c' ");
    }
}
