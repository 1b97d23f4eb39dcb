//! The deterministic answer: its first sentence answers the question asked (a
//! count, a list, a value, a time, a comparison, a quoted step), then the details
//! it rests on, each sentence ending with the ids of its facts. Right on its own;
//! a language model may only rephrase it. One file per kind of answer.

mod alerts;
mod builder;
mod compare;
mod health;
mod how_to;
mod lifecycle;
mod values;

use super::facts::{Fact, Gathered};
use super::question::Intent;
use super::timerange::Clock;
use builder::Builder;

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

/// How the alert answers name their subject: " on line 2", " in the last 24 h",
/// "critical " and whether the question asks about what is firing now.
struct Phrasing<'a> {
    on: &'a str,
    when: &'a str,
    kind_sp: &'a str,
    firing_now: bool,
}

/// The answer to the question `g` was gathered for.
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
        Intent::HowTo => how_to::how_to(&mut b, g),
        Intent::Count | Intent::List | Intent::Summary => {
            let p = Phrasing {
                on: &on,
                when: &when,
                kind_sp: &kind_sp,
                firing_now,
            };
            alerts::alerts(&mut b, g, &p, &range_cite);
        }
        Intent::Peak | Intent::Low | Intent::Average => {
            if g.stats.is_empty() {
                b.say(format!(
                    "No reading was recorded{on} {} {range_cite}.",
                    r.label
                ));
            } else {
                values::values(&mut b, g, q.intent, &on);
            }
        }
        Intent::Current => values::current(&mut b, g),
        Intent::Status => health::status(&mut b, g),
        Intent::Silent => health::silent(&mut b, g),
        Intent::Started | Intent::Cleared | Intent::Duration => {
            lifecycle::lifecycle(&mut b, g, &on, &range_cite)
        }
        Intent::Compare => compare::compare(&mut b, g, &range_cite),
    }
    Composed {
        sentences: b.sentences,
        facts: b.facts,
    }
}
