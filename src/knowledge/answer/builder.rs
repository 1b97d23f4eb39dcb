//! What every answer is built with: the facts cited so far (each once) and the
//! sentences said, and the phrasings several answers share.

use crate::knowledge::facts::{alert_fact, duration, latest_fact, Fact, SILENT_AFTER_MS};
use crate::knowledge::timerange::Clock;
use crate::store::reader::SensorRow;
use crate::store::AlertRow;

/// Alerts named one by one; the rest are counted.
pub(super) const MAX_LISTED: usize = 5;
/// Sensors whose values one answer lists.
pub(super) const MAX_SENSORS: usize = 6;

pub(super) struct Builder<'a> {
    pub clock: &'a Clock,
    pub now: i64,
    pub facts: Vec<Fact>,
    pub sentences: Vec<String>,
}

impl Builder<'_> {
    /// Adds a fact (once) and returns its citation.
    pub fn cite(&mut self, f: Fact) -> String {
        let id = format!("[{}]", f.id);
        if !self.facts.iter().any(|x| x.id == f.id) {
            self.facts.push(f);
        }
        id
    }

    pub fn say(&mut self, s: String) {
        self.sentences.push(s);
    }

    /// Whether a sensor has sent nothing for [`SILENT_AFTER_MS`] (or ever).
    pub fn is_silent(&self, s: &SensorRow) -> bool {
        s.last_seen_ms
            .is_none_or(|t| self.now - t > SILENT_AFTER_MS)
    }

    /// "S has sent nothing since 19:30 (30 min ago) [now:S]".
    pub fn silence(&mut self, s: &SensorRow) -> String {
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

    pub fn alert(&mut self, a: &AlertRow) -> String {
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

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
