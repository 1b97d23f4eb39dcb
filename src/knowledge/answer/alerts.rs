//! Answers about alerts: how many, which, and what happened, listed one by one
//! or, when there are many, counted per sensor.

use super::builder::{capitalise, plural, Builder, MAX_LISTED};
use super::Phrasing;
use crate::knowledge::facts::{alert_fact, Fact, Gathered};
use crate::knowledge::question::Intent;
use crate::store::AlertRow;

/// How many alerts, which, or what happened: listed one by one, or counted per
/// sensor when there are many; the values of what they name follow.
pub(super) fn alerts(b: &mut Builder, g: &Gathered, p: &Phrasing, range_cite: &str) {
    let (on, when, kind_sp, firing_now) = (p.on, p.when, p.kind_sp, p.firing_now);
    let n = g.alerts.len();
    let count_cite = b.cite(Fact {
        id: "count".into(),
        text: format!(
            "{} {}{}{when}",
            plural(n, &format!("{kind_sp}alert"), &format!("{kind_sp}alerts")),
            if firing_now { "firing now" } else { "fired" },
            on
        ),
    });
    let verb = if firing_now { "firing now" } else { "fired" };
    if n == 0 {
        let none = if firing_now {
            format!("No {kind_sp}alert is firing{on} now")
        } else {
            format!("No {kind_sp}alert fired{on}{when}")
        };
        b.say(format!("{none} {count_cite}{range_cite}."));
    } else if g.query.intent == Intent::List && g.query.group_by.is_none() || n <= MAX_LISTED {
        let listed: Vec<String> = g
            .alerts
            .iter()
            .take(MAX_LISTED)
            .map(|a| b.alert(a))
            .collect();
        let more = if n > MAX_LISTED {
            format!("; and {} more", n - MAX_LISTED)
        } else {
            String::new()
        };
        b.say(format!(
            "{} {verb}{on}{when} {count_cite}: {}{more}.",
            capitalise(&plural(
                n,
                &format!("{kind_sp}alert"),
                &format!("{kind_sp}alerts")
            )),
            listed.join("; ")
        ));
    } else {
        by_sensor(b, g, &format!("{kind_sp}alerts"), verb, p, &count_cite);
    }
    if !g.stats.is_empty() {
        super::values::values(b, g, Intent::Peak, on);
    }
}

/// Many alerts: counted per sensor, the most frequent first.
fn by_sensor(
    b: &mut Builder,
    g: &Gathered,
    what: &str,
    verb: &str,
    p: &Phrasing,
    count_cite: &str,
) {
    let (n, on, when) = (g.alerts.len(), p.on, p.when);
    let mut groups: Vec<(&str, Vec<&AlertRow>)> = Vec::new();
    for a in &g.alerts {
        match groups.iter_mut().find(|(s, _)| *s == a.sensor) {
            Some((_, v)) => v.push(a),
            None => groups.push((&a.sensor, vec![a])),
        }
    }
    groups.sort_by(|x, y| y.1.len().cmp(&x.1.len()).then(x.0.cmp(y.0)));
    let listed: Vec<String> = groups
        .iter()
        .take(MAX_LISTED)
        .map(|(sensor, list)| {
            let cite = b.cite(alert_fact(list[0], b.clock, b.now));
            format!(
                "{sensor} ({} `{}`, latest at {}) {cite}",
                list.len(),
                list[0].rule,
                b.clock.show(list[0].fired_ms)
            )
        })
        .collect();
    let more = if groups.len() > MAX_LISTED {
        format!(
            "; and {} more",
            plural(groups.len() - MAX_LISTED, "sensor", "sensors")
        )
    } else {
        String::new()
    };
    b.say(format!(
        "{n} {what} {verb}{on}{when}, on {} {count_cite}: {}{more}.",
        plural(groups.len(), "sensor", "sensors"),
        listed.join("; ")
    ));
}
