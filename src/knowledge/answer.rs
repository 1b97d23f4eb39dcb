//! The deterministic answer: its first sentence answers the question asked (a
//! count, a list, a value, a time, a comparison, a quoted step), then the details
//! it rests on, each sentence ending with the ids of its facts. Right on its own;
//! a language model may only rephrase it.

use super::facts::{
    alert_fact, duration, latest_fact, stats_fact, with_unit, Fact, Gathered, SILENT_AFTER_MS,
};
use super::question::Intent;
use super::timerange::Clock;
use crate::store::reader::SensorRow;
use crate::store::AlertRow;

/// Alerts named one by one; the rest are counted.
const MAX_LISTED: usize = 5;
/// Sensors whose values one answer lists.
const MAX_SENSORS: usize = 6;

#[derive(Debug, Clone)]
pub struct Composed {
    pub sentences: Vec<String>,
    pub facts: Vec<Fact>,
}

impl Composed {
    pub fn text(&self) -> String {
        self.sentences.join(" ")
    }
}

struct Builder<'a> {
    clock: &'a Clock,
    now: i64,
    facts: Vec<Fact>,
    sentences: Vec<String>,
}

impl Builder<'_> {
    /// Adds a fact (once) and returns its citation.
    fn cite(&mut self, f: Fact) -> String {
        let id = format!("[{}]", f.id);
        if !self.facts.iter().any(|x| x.id == f.id) {
            self.facts.push(f);
        }
        id
    }

    fn say(&mut self, s: String) {
        self.sentences.push(s);
    }

    /// Whether a sensor has sent nothing for [`SILENT_AFTER_MS`] (or ever).
    fn is_silent(&self, s: &SensorRow) -> bool {
        s.last_seen_ms
            .is_none_or(|t| self.now - t > SILENT_AFTER_MS)
    }

    /// "S has sent nothing since 19:30 (30 min ago) [now:S]".
    fn silence(&mut self, s: &SensorRow) -> String {
        let cite = self.cite(latest_fact(s, self.clock, self.now));
        match s.last_seen_ms {
            Some(t) => format!(
                "{} has sent nothing since {} ({} ago) {cite}",
                s.id,
                self.clock.show(t),
                duration(self.now - t)
            ),
            None => format!("{} has never sent a reading {cite}", s.id),
        }
    }

    fn alert(&mut self, a: &AlertRow) -> String {
        let f = alert_fact(a, self.clock, self.now);
        let cite = self.cite(f);
        let end = match a.resolved_ms {
            Some(t) if a.state == "resolved" => format!("resolved {}", self.clock.show(t)),
            _ => "still firing".to_owned(),
        };
        format!(
            "`{}` on {} at {} ({end}) {cite}",
            a.rule,
            a.sensor,
            self.clock.show(a.fired_ms)
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub fn compose(g: &Gathered, clock: &Clock) -> Composed {
    let q = &g.query;
    let mut b = Builder {
        clock,
        now: g.now_ms,
        facts: Vec::new(),
        sentences: Vec::new(),
    };
    let r = &q.range;
    let range_cite = b.cite(Fact {
        id: "range".into(),
        text: format!(
            "the question covers {} to {} ({}); times are {}",
            clock.show(r.since_ms),
            clock.show(r.until_ms),
            r.label,
            clock.zone_name()
        ),
    });
    if let Some(missing) = &g.scope.missing {
        let cite = b.cite(Fact {
            id: "scope".into(),
            text: missing.clone(),
        });
        b.say(format!("{missing} {cite}."));
        return Composed {
            sentences: b.sentences,
            facts: b.facts,
        };
    }
    let on = if g.scope.place.is_empty() {
        String::new()
    } else {
        format!(" on {}", g.scope.place)
    };
    let what_sp = if g.scope.what.is_empty() {
        String::new()
    } else {
        format!("{} ", g.scope.what)
    };
    let firing_now = q.state == Some("firing") && !r.explicit;
    let when = if firing_now {
        String::new()
    } else {
        format!(" {}", r.label)
    };
    let kind = [
        q.severity,
        match q.state {
            Some("firing") if !firing_now => Some("still firing"),
            Some("resolved") => Some("resolved"),
            _ => None,
        },
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let kind_sp = if kind.is_empty() {
        what_sp.clone()
    } else {
        format!("{kind} {what_sp}")
    };
    match q.intent {
        Intent::HowTo => how_to(&mut b, g),
        Intent::Count | Intent::List | Intent::Summary => {
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
            } else if q.intent == Intent::List && g.query.group_by.is_none() || n <= MAX_LISTED {
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
                by_sensor(
                    &mut b,
                    g,
                    n,
                    &format!("{kind_sp}alerts"),
                    verb,
                    &on,
                    &when,
                    &count_cite,
                );
            }
            if !g.stats.is_empty() {
                values(&mut b, g, Intent::Peak, &on);
            }
        }
        Intent::Peak | Intent::Low | Intent::Average => {
            if g.stats.is_empty() {
                b.say(format!(
                    "No reading was recorded{on} {} {range_cite}.",
                    r.label
                ));
            } else {
                values(&mut b, g, q.intent, &on);
            }
        }
        Intent::Current => current(&mut b, g),
        Intent::Status => status(&mut b, g),
        Intent::Silent => silent(&mut b, g),
        Intent::Started | Intent::Cleared | Intent::Duration => {
            lifecycle(&mut b, g, &on, &range_cite)
        }
        Intent::Compare => compare(&mut b, g, &range_cite),
    }
    Composed {
        sentences: b.sentences,
        facts: b.facts,
    }
}

/// Many alerts: counted per sensor, the most frequent first.
#[allow(clippy::too_many_arguments)]
fn by_sensor(
    b: &mut Builder,
    g: &Gathered,
    n: usize,
    what: &str,
    verb: &str,
    on: &str,
    when: &str,
    count_cite: &str,
) {
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

fn values(b: &mut Builder, g: &Gathered, intent: Intent, on: &str) {
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
                    with_unit(super::facts::round_mean(s.mean), s.unit.as_deref()),
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

fn current(b: &mut Builder, g: &Gathered) {
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

fn silent(b: &mut Builder, g: &Gathered) {
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

fn status(b: &mut Builder, g: &Gathered) {
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
                    super::facts::trip(a)
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

fn lifecycle(b: &mut Builder, g: &Gathered, on: &str, range_cite: &str) {
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

fn compare(b: &mut Builder, g: &Gathered, range_cite: &str) {
    let q = &g.query;
    let label = &q.range.label;
    if g.groups.len() < 2 {
        b.say(format!("There is nothing to compare: the question names fewer than two assets of one kind {range_cite}."));
        return;
    }
    let by_value = !q.quantities.is_empty() && !q.about_alerts;
    let mut groups = g.groups.clone();
    let mut cites = Vec::new();
    for gr in &groups {
        let text = match (&gr.stats, by_value) {
            (Some(s), true) => format!(
                "{}: highest {} at {}, lowest {}, average {} {label}",
                gr.label,
                with_unit(s.max, s.unit.as_deref()),
                b.clock.show(s.max_ms),
                with_unit(s.min, s.unit.as_deref()),
                with_unit(super::facts::round_mean(s.mean), s.unit.as_deref())
            ),
            (None, true) => format!("{}: no reading {label}", gr.label),
            _ => format!(
                "{}: {} {label}",
                gr.label,
                plural(gr.alerts, "alert", "alerts")
            ),
        };
        cites.push(b.cite(Fact {
            id: format!("count:{}", gr.label),
            text,
        }));
    }
    let mut order: Vec<usize> = (0..groups.len()).collect();
    let key = |gr: &super::facts::Group| -> f64 {
        match (&gr.stats, by_value) {
            (Some(s), true) if q.fewer || q.intent == Intent::Low => -s.min,
            (Some(s), true) => s.max,
            (None, true) => f64::NEG_INFINITY,
            _ if q.fewer => -(gr.alerts as f64),
            _ => gr.alerts as f64,
        }
    };
    order.sort_by(|x, y| key(&groups[*y]).total_cmp(&key(&groups[*x])));
    let (first, second) = (order[0], order[1]);
    let others: Vec<String> = order[1..]
        .iter()
        .map(|i| {
            let gr = &groups[*i];
            let v = match (&gr.stats, by_value) {
                (Some(s), true) if q.fewer || q.intent == Intent::Low => {
                    with_unit(s.min, s.unit.as_deref())
                }
                (Some(s), true) => with_unit(s.max, s.unit.as_deref()),
                (None, true) => "no reading".into(),
                _ => gr.alerts.to_string(),
            };
            format!("{v} on {} {}", gr.label, cites[*i])
        })
        .collect();
    let top = &groups[first];
    if !by_value && top.alerts == groups[second].alerts {
        let tied: Vec<String> = order
            .iter()
            .filter(|i| groups[**i].alerts == top.alerts)
            .map(|i| format!("{} {}", groups[*i].label, cites[*i]))
            .collect();
        b.say(format!(
            "{} had the same number of alerts {label}: {} each.",
            capitalise(&tied.join(" and ")),
            top.alerts
        ));
    } else if by_value {
        let (word, v) = match &top.stats {
            Some(s) if q.fewer || q.intent == Intent::Low => {
                ("lowest", with_unit(s.min, s.unit.as_deref()))
            }
            Some(s) => ("highest", with_unit(s.max, s.unit.as_deref())),
            None => ("highest", "no reading".into()),
        };
        let what = q
            .quantities
            .iter()
            .map(|x| x.name())
            .collect::<Vec<_>>()
            .join(" or ");
        b.say(format!(
            "{} had the {word} {what} {label}: {v} {}, against {}.",
            capitalise(&top.label),
            cites[first],
            others.join(", ")
        ));
    } else {
        let word = if q.fewer { "fewer" } else { "more" };
        b.say(format!(
            "{} had {word} alerts {label}: {} {}, against {}.",
            capitalise(&top.label),
            top.alerts,
            cites[first],
            others.join(", ")
        ));
    }
    groups.clear();
}

fn how_to(b: &mut Builder, g: &Gathered) {
    let Some(p) = g.passages.first() else {
        b.say(
            "No stored document covers this; add the runbook with `edgewatch docs add FILE`."
                .into(),
        );
        return;
    };
    let cite = b.cite(Fact {
        id: format!("doc:{}", p.chunk),
        text: format!(
            "from the document \"{}\": \"{}\"",
            super::facts::clean(&p.title),
            super::facts::clean(&p.text)
        ),
    });
    b.say(format!(
        "The document \"{}\" says: \"{}\" {cite}.",
        super::facts::clean(&p.title),
        super::facts::clean(&p.text)
    ));
    if let Some(p2) = g.passages.get(1) {
        let cite = b.cite(Fact {
            id: format!("doc:{}", p2.chunk),
            text: format!(
                "from the document \"{}\": \"{}\"",
                super::facts::clean(&p2.title),
                super::facts::clean(&p2.text)
            ),
        });
        b.say(format!(
            "See also \"{}\": \"{}\" {cite}.",
            super::facts::clean(&p2.title),
            super::facts::clean(&p2.text)
        ));
    }
}
