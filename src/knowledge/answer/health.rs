//! Answers about health: which sensors went silent, and whether an asset is OK
//! (alerts firing, silent sensors, latest readings).

use super::builder::{capitalise, plural, Builder, MAX_LISTED, MAX_SENSORS};
use crate::knowledge::facts::{
    alert_fact, duration, latest_fact, with_unit, Fact, Gathered, SILENT_AFTER_MS,
};

/// Which of the sensors in scope have sent nothing lately.
pub(super) fn silent(b: &mut Builder, g: &Gathered) {
    let quiet: Vec<_> = g.latest.iter().filter(|s| b.is_silent(s)).collect();
    let place = if g.scope.label.is_empty() {
        String::new()
    } else {
        format!(" on {}", g.scope.label)
    };
    if quiet.is_empty() {
        let listed: Vec<String> = g
            .latest
            .iter()
            .take(3)
            .map(|s| {
                let cite = b.cite(latest_fact(s, b.clock, b.now));
                format!(
                    "{} at {} {cite}",
                    s.id,
                    s.last_seen_ms.map_or("never".into(), |t| b.clock.show(t))
                )
            })
            .collect();
        b.say(format!(
            "No sensor{place} is silent: all {} sent a reading in the last {} (latest: {}).",
            plural(g.latest.len(), "sensor", "sensors"),
            duration(SILENT_AFTER_MS),
            listed.join("; ")
        ));
        return;
    }
    let listed: Vec<String> = quiet
        .iter()
        .take(MAX_SENSORS)
        .map(|s| b.silence(s))
        .collect();
    b.say(format!(
        "{} of {}{place} {} silent: {}.",
        quiet.len(),
        plural(g.latest.len(), "sensor", "sensors"),
        if quiet.len() == 1 { "is" } else { "are" },
        listed.join("; ")
    ));
}

/// Whether an asset is OK: alerts firing, silent sensors, latest readings.
pub(super) fn status(b: &mut Builder, g: &Gathered) {
    let silent: Vec<_> = g.latest.iter().filter(|s| b.is_silent(s)).collect();
    let subject = if g.scope.label.is_empty() {
        "the plant".to_owned()
    } else {
        g.scope.label.clone()
    };
    if !g.firing.is_empty() {
        let listed: Vec<String> = g
            .firing
            .iter()
            .take(MAX_LISTED)
            .map(|a| {
                let cite = b.cite(alert_fact(a, b.clock, b.now));
                format!(
                    "`{}` on {} since {}{} {cite}",
                    a.rule,
                    a.sensor,
                    b.clock.show(a.fired_ms),
                    crate::knowledge::facts::trip(a)
                )
            })
            .collect();
        b.say(format!(
            "Not OK: {} firing on {subject}: {}.",
            plural(g.firing.len(), "alert is", "alerts are"),
            listed.join("; ")
        ));
    } else if !silent.is_empty() {
        let listed: Vec<String> = silent
            .iter()
            .take(MAX_SENSORS)
            .map(|s| b.silence(s))
            .collect();
        b.say(format!(
            "Not OK: no alert is firing on {subject}, but {}.",
            listed.join("; ")
        ));
    } else if g.latest.is_empty() {
        b.say(format!("No sensor is known on {subject}."));
        return;
    } else {
        let listed: Vec<String> = g
            .latest
            .iter()
            .take(MAX_SENSORS)
            .map(|s| {
                let cite = b.cite(latest_fact(s, b.clock, b.now));
                format!(
                    "{} {} {cite}",
                    s.id,
                    s.last_value
                        .map_or("none".into(), |v| with_unit(v, s.unit.as_deref()))
                )
            })
            .collect();
        b.say(format!(
            "OK: no alert is firing on {subject} and its sensors report: {}.",
            listed.join("; ")
        ));
    }
    let n = g.alerts.len();
    let label = &g.query.range.label;
    let cite = b.cite(Fact {
        id: "count".into(),
        text: format!(
            "{} fired on {subject} {label}",
            plural(n, "alert", "alerts")
        ),
    });
    if n > 0 {
        let listed: Vec<String> = g.alerts.iter().take(3).map(|a| b.alert(a)).collect();
        b.say(format!(
            "{} fired there {label} {cite}: {}.",
            capitalise(&plural(n, "alert", "alerts")),
            listed.join("; ")
        ));
    } else {
        b.say(format!("No alert fired there {label} {cite}."));
    }
}
