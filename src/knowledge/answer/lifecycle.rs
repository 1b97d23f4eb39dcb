//! Answers about one alert's life: when it started, when it cleared, how long
//! it lasted.

use super::builder::Builder;
use crate::knowledge::facts::{alert_fact, duration, Fact, Gathered};
use crate::knowledge::question::Intent;

/// When the matching alert started or cleared, or how long it lasted.
pub(super) fn lifecycle(b: &mut Builder, g: &Gathered, on: &str, range_cite: &str) {
    let q = &g.query;
    let Some(latest) = g.alerts.first() else {
        let cite = b.cite(Fact {
            id: "count".into(),
            text: format!("no matching alert fired{on} {}", q.range.label),
        });
        b.say(format!(
            "No matching alert fired{on} {} {cite}{range_cite}.",
            q.range.label
        ));
        return;
    };
    let cite = b.cite(alert_fact(latest, b.clock, b.now));
    let what = format!("`{}` on {}", latest.rule, latest.sensor);
    let start = b.clock.show(latest.fired_ms);
    let end = latest.resolved_ms.filter(|_| latest.state == "resolved");
    b.say(match (q.intent, end) {
        (Intent::Cleared, Some(t)) => format!(
            "{what} cleared at {}, {} after it fired at {start} {cite}.",
            b.clock.show(t),
            duration(t - latest.fired_ms)
        ),
        (Intent::Cleared, None) => format!(
            "{what} has not cleared: it has been firing since {start} ({}) {cite}.",
            duration(b.now - latest.fired_ms)
        ),
        (Intent::Duration, Some(t)) => format!(
            "{what} lasted {}, from {start} to {} {cite}.",
            duration(t - latest.fired_ms),
            b.clock.show(t)
        ),
        (Intent::Duration, None) => format!(
            "{what} has been firing for {}, since {start}, and has not cleared {cite}.",
            duration(b.now - latest.fired_ms)
        ),
        (_, Some(t)) => format!(
            "{what} started at {start} and cleared at {} ({} later) {cite}.",
            b.clock.show(t),
            duration(t - latest.fired_ms)
        ),
        (_, None) => format!("{what} started at {start} and is still firing {cite}."),
    });
    if g.alerts.len() > 1 {
        let earlier: Vec<String> = g
            .alerts
            .iter()
            .skip(1)
            .take(3)
            .map(|a| b.alert(a))
            .collect();
        let count = b.cite(Fact {
            id: "count".into(),
            text: format!(
                "{} matching alerts fired{on} {}",
                g.alerts.len(),
                q.range.label
            ),
        });
        b.say(format!(
            "That is the latest of {} matching alerts {} {count}; before it: {}.",
            g.alerts.len(),
            q.range.label,
            earlier.join("; ")
        ));
    }
}
