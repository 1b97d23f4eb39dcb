//! Answers about values: the highest, lowest or average reading over a range,
//! and the latest reading now.

use super::builder::{Builder, MAX_SENSORS};
use crate::knowledge::facts::{
    duration, latest_fact, stats_fact, with_unit, Gathered, SILENT_AFTER_MS,
};
use crate::knowledge::question::Intent;

/// The highest, lowest or average reading of each sensor the question names.
pub(super) fn values(b: &mut Builder, g: &Gathered, intent: Intent, on: &str) {
    let label = &g.query.range.label;
    let mut stats = g.stats.clone();
    match intent {
        Intent::Low => stats.sort_by(|x, y| x.min.total_cmp(&y.min)),
        Intent::Average => stats.sort_by(|x, y| x.sensor.cmp(&y.sensor)),
        _ => stats.sort_by(|x, y| y.max.total_cmp(&x.max)),
    }
    // Different units are not compared: the top sensor of each.
    let mut units: Vec<Option<String>> = Vec::new();
    for s in &stats {
        if !units.contains(&s.unit) {
            units.push(s.unit.clone());
        }
    }
    let what = match (g.scope.what.as_str(), g.query.quantities.is_empty()) {
        ("", true) => "reading".to_owned(),
        ("", false) => g
            .query
            .quantities
            .iter()
            .map(|q| q.name())
            .collect::<Vec<_>>()
            .join(" or "),
        (w, true) => format!("{w} reading"),
        (w, false) => w.to_owned(),
    };
    if intent == Intent::Average {
        let listed: Vec<String> = stats
            .iter()
            .take(MAX_SENSORS)
            .map(|s| {
                let cite = b.cite(stats_fact(s, b.clock, label));
                format!(
                    "{} on {} (over {} readings) {cite}",
                    with_unit(
                        crate::knowledge::facts::round_mean(s.mean),
                        s.unit.as_deref()
                    ),
                    s.sensor,
                    s.count
                )
            })
            .collect();
        let more = if stats.len() > MAX_SENSORS {
            format!("; {} more sensors not listed", stats.len() - MAX_SENSORS)
        } else {
            String::new()
        };
        b.say(format!(
            "The average {what}{on} {label} was {}{more}.",
            listed.join("; ")
        ));
        return;
    }
    type Pick = fn(&crate::store::ValueStats) -> (f64, i64);
    let (word, pick): (&str, Pick) = match intent {
        Intent::Low => ("lowest", |s| (s.min, s.min_ms)),
        _ => ("highest", |s| (s.max, s.max_ms)),
    };
    for unit in units.iter().take(3) {
        let of_unit: Vec<&crate::store::ValueStats> =
            stats.iter().filter(|s| &s.unit == unit).collect();
        let Some(top) = of_unit.first() else { continue };
        let (v, at) = pick(top);
        let cite = b.cite(stats_fact(top, b.clock, label));
        let mut s = format!(
            "The {word} {what}{on} {label} was {} on {} at {} {cite}",
            with_unit(v, unit.as_deref()),
            top.sensor,
            b.clock.show(at)
        );
        let next: Vec<String> = of_unit
            .iter()
            .skip(1)
            .take(2)
            .map(|n| {
                let (v, at) = pick(n);
                let c = b.cite(stats_fact(n, b.clock, label));
                format!(
                    "{} on {} at {} {c}",
                    with_unit(v, unit.as_deref()),
                    n.sensor,
                    b.clock.show(at)
                )
            })
            .collect();
        if !next.is_empty() {
            s.push_str(&format!("; next: {}", next.join("; ")));
        }
        s.push('.');
        b.say(s);
    }
}

/// The latest reading of each sensor the question names, ranked when it asks.
pub(super) fn current(b: &mut Builder, g: &Gathered) {
    if g.latest.is_empty() {
        b.say("No sensor matches the question.".into());
        return;
    }
    let mut latest = g.latest.clone();
    if let Some(highest_first) = g.query.rank {
        latest.sort_by(|x, y| {
            let (x, y) = (
                x.last_value.unwrap_or(f64::NAN),
                y.last_value.unwrap_or(f64::NAN),
            );
            if highest_first {
                y.total_cmp(&x)
            } else {
                x.total_cmp(&y)
            }
        });
    }
    let listed: Vec<String> = latest
        .iter()
        .take(MAX_SENSORS)
        .map(|s| {
            let cite = b.cite(latest_fact(s, b.clock, b.now));
            match (s.last_value, s.last_seen_ms) {
                (Some(v), Some(t)) if b.now - t > SILENT_AFTER_MS => format!(
                    "{} has sent nothing for {} (last reading {} at {}) {cite}",
                    s.id,
                    duration(b.now - t),
                    with_unit(v, s.unit.as_deref()),
                    b.clock.show(t)
                ),
                (Some(v), Some(t)) => format!(
                    "{} reads {} (at {}) {cite}",
                    s.id,
                    with_unit(v, s.unit.as_deref()),
                    b.clock.show(t)
                ),
                _ => format!("{} has no reading yet {cite}", s.id),
            }
        })
        .collect();
    let more = if g.latest.len() > MAX_SENSORS {
        format!("; {} more sensors match", g.latest.len() - MAX_SENSORS)
    } else {
        String::new()
    };
    b.say(format!("Latest: {}{more}.", listed.join("; ")));
}
