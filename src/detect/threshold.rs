//! Threshold, rate-of-change and staleness rules with hysteresis and debounce, and
//! the statistical conditions (EWMA z-score, stuck, robust spike) on the same
//! lifecycle, configured the same way.
//!
//! Pure and synchronous: readings and clock ticks go in, alert lifecycle events come
//! out. Debounce and rate use the readings' own timestamps, so replays and tests are
//! exact; staleness uses the tick's clock, because silence has no timestamp.

use super::condition::{num, Condition, Memory};
use super::detector::{Detector, StoredFiring};
use super::rule_config::RuleConfig;
use crate::event::Severity;
use crate::event::{alert_id, AlertEvent, AlertState};
use crate::event::{Labels, Quality, Reading};
use crate::sensor_glob::SensorGlob;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule `{rule}`: bad sensor glob: {source}")]
    Glob {
        rule: String,
        source: globset::Error,
    },
    #[error("rule `{rule}`: {message} (run check-config)")]
    Invalid { rule: String, message: String },
}

#[derive(Debug, Clone, Copy)]
enum Debounce {
    None,
    Millis(i64),
    Count(u32),
}

#[derive(Debug)]
struct Rule {
    name: Arc<str>,
    sensors: SensorGlob,
    labels: BTreeMap<String, String>,
    condition: Condition,
    debounce: Debounce,
    severity: Severity,
    message: Option<String>,
}

impl Rule {
    fn applies_to(&self, sensor: &str, labels: &Labels) -> bool {
        self.sensors.is_match(sensor)
            && self
                .labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|x| x == v))
    }
}

#[derive(Debug)]
struct RuleState {
    pending_since: Option<i64>,
    pending_count: u32,
    firing: Option<(String, i64)>,
    last_good_ms: Option<i64>,
    memory: Memory,
}

#[derive(Debug)]
struct SensorEntry {
    unit: Option<Arc<str>>,
    rules: Vec<(usize, RuleState)>,
}

/// All threshold-style rules over all sensors.
#[derive(Debug)]
pub struct ThresholdRules {
    rules: Vec<Rule>,
    sensors: HashMap<Arc<str>, SensorEntry>,
}

impl ThresholdRules {
    pub fn new(configs: &[RuleConfig]) -> Result<Self, RuleError> {
        let rules = configs.iter().map(build_rule).collect::<Result<_, _>>()?;
        Ok(ThresholdRules {
            rules,
            sensors: HashMap::default(),
        })
    }

    fn entry(&mut self, sensor: &Arc<str>, labels: &Labels) -> &mut SensorEntry {
        entry(&self.rules, &mut self.sensors, sensor, labels)
    }
}

impl Detector for ThresholdRules {
    /// Staleness counts from the sensor's last stored reading.
    fn register(&mut self, sensor: &Arc<str>, labels: &Labels, last_good_ms: Option<i64>) {
        let entry = self.entry(sensor, labels);
        for (_, st) in entry.rules.iter_mut() {
            st.last_good_ms = st.last_good_ms.max(last_good_ms);
        }
    }

    fn restore_firing(&mut self, a: &StoredFiring<'_>) -> bool {
        let Some(index) = self.rules.iter().position(|r| &*r.name == a.rule) else {
            return false;
        };
        let entry = self.entry(a.sensor, a.labels);
        match entry.rules.iter_mut().find(|(i, _)| *i == index) {
            Some((_, st)) => {
                st.firing = Some((a.id.to_owned(), a.fired_ms));
                true
            }
            None => false,
        }
    }

    fn on_reading(&mut self, r: &Reading, out: &mut Vec<AlertEvent>) {
        if self.rules.is_empty() {
            return;
        }
        let entry = entry(&self.rules, &mut self.sensors, &r.sensor, &r.labels);
        if r.unit.is_some() && entry.unit != r.unit {
            entry.unit.clone_from(&r.unit);
        }
        for (index, st) in entry.rules.iter_mut() {
            evaluate(&self.rules[*index], st, r, &entry.unit, out);
        }
    }

    /// Fires staleness alerts for sensors silent past their limit at `now_ms`.
    fn on_tick(&mut self, now_ms: i64, out: &mut Vec<AlertEvent>) {
        for (sensor, entry) in self.sensors.iter_mut() {
            for (index, st) in entry.rules.iter_mut() {
                let rule = &self.rules[*index];
                let Some(limit) = rule.condition.stale_after_ms() else {
                    continue;
                };
                let Some(last) = st.last_good_ms else {
                    continue;
                };
                let silent = now_ms - last;
                if silent > limit && st.firing.is_none() {
                    let value = silent as f64 / 1000.0;
                    out.push(fire(rule, st, sensor, value, &entry.unit, now_ms));
                }
            }
        }
    }

    fn firing_count(&self) -> usize {
        self.sensors
            .values()
            .flat_map(|e| e.rules.iter())
            .filter(|(_, st)| st.firing.is_some())
            .count()
    }
}

/// The sensor's state, created with the rules that apply to it on first sight.
fn entry<'a>(
    rules: &[Rule],
    sensors: &'a mut HashMap<Arc<str>, SensorEntry>,
    sensor: &Arc<str>,
    labels: &Labels,
) -> &'a mut SensorEntry {
    // Looked up before inserting: the hot path must not clone the id per reading.
    if !sensors.contains_key(sensor) {
        let matching = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.applies_to(sensor, labels))
            .map(|(i, r)| {
                let st = RuleState {
                    pending_since: None,
                    pending_count: 0,
                    firing: None,
                    last_good_ms: None,
                    memory: r.condition.memory(),
                };
                (i, st)
            })
            .collect();
        sensors.insert(
            sensor.clone(),
            SensorEntry {
                unit: None,
                rules: matching,
            },
        );
    }
    sensors.get_mut(sensor).expect("inserted above")
}

fn build_rule(c: &RuleConfig) -> Result<Rule, RuleError> {
    let mut issues = crate::issues::Issues::default();
    let Some(condition) = Condition::from_config(c, "", &mut issues) else {
        let message = issues
            .into_vec()
            .into_iter()
            .next()
            .map_or_else(|| "no condition".to_owned(), |i| i.message);
        return Err(RuleError::Invalid {
            rule: c.name.clone(),
            message,
        });
    };
    let debounce = match (c.for_duration, c.for_count) {
        (Some(d), _) => Debounce::Millis(d.as_millis() as i64),
        (_, Some(n)) => Debounce::Count(n),
        _ => Debounce::None,
    };
    Ok(Rule {
        name: c.name.as_str().into(),
        sensors: SensorGlob::new(&c.sensors).map_err(|source| RuleError::Glob {
            rule: c.name.clone(),
            source,
        })?,
        labels: c.labels.clone(),
        condition,
        debounce,
        severity: c.severity,
        message: c.message.clone(),
    })
}

/// One good reading through debounce and hysteresis.
fn evaluate(
    rule: &Rule,
    st: &mut RuleState,
    r: &Reading,
    unit: &Option<Arc<str>>,
    out: &mut Vec<AlertEvent>,
) {
    if r.quality != Quality::Good {
        return;
    }
    if rule.condition.stale_after_ms().is_some() {
        st.last_good_ms = st.last_good_ms.max(Some(r.ts_ms));
        if st.firing.is_some() {
            out.push(resolve(rule, st, &r.sensor, r.value, unit, r.ts_ms));
        }
        return;
    }
    let Some(seen) = rule.condition.observe(&mut st.memory, r) else {
        return;
    };
    if st.firing.is_some() {
        if seen.cleared {
            out.push(resolve(rule, st, &r.sensor, seen.value, unit, r.ts_ms));
        }
        return;
    }
    if !seen.breach {
        st.pending_since = None;
        st.pending_count = 0;
        return;
    }
    let since = *st.pending_since.get_or_insert(r.ts_ms);
    st.pending_count += 1;
    let due = match rule.debounce {
        Debounce::None => true,
        Debounce::Millis(d) => r.ts_ms - since >= d,
        Debounce::Count(n) => st.pending_count >= n,
    };
    if due {
        out.push(fire(rule, st, &r.sensor, seen.value, unit, r.ts_ms));
    }
}

fn fire(
    rule: &Rule,
    st: &mut RuleState,
    sensor: &Arc<str>,
    value: f64,
    unit: &Option<Arc<str>>,
    ts_ms: i64,
) -> AlertEvent {
    let id = alert_id(&rule.name, sensor, ts_ms);
    st.firing = Some((id.clone(), ts_ms));
    st.pending_since = None;
    st.pending_count = 0;
    let u = unit.as_deref().unwrap_or("");
    let message = match &rule.message {
        Some(t) => render(t, rule, sensor, value, u),
        None => rule.condition.fired_message(sensor, value, u),
    };
    let at = Moment {
        fired_ms: ts_ms,
        event_ms: ts_ms,
    };
    event(
        rule,
        sensor,
        id,
        AlertState::Firing,
        value,
        unit,
        at,
        message,
    )
}

fn resolve(
    rule: &Rule,
    st: &mut RuleState,
    sensor: &Arc<str>,
    value: f64,
    unit: &Option<Arc<str>>,
    ts_ms: i64,
) -> AlertEvent {
    let (id, fired_ms) = st.firing.take().unwrap_or_default();
    st.pending_since = None;
    st.pending_count = 0;
    let u = unit.as_deref().unwrap_or("");
    let message = rule
        .condition
        .resolved_message(sensor, value, u, &rule.name);
    let at = Moment {
        fired_ms,
        event_ms: ts_ms,
    };
    event(
        rule,
        sensor,
        id,
        AlertState::Resolved,
        value,
        unit,
        at,
        message,
    )
}

/// When the alert fired and when this event of it happened.
#[derive(Clone, Copy)]
struct Moment {
    fired_ms: i64,
    event_ms: i64,
}

#[allow(clippy::too_many_arguments)]
fn event(
    rule: &Rule,
    sensor: &Arc<str>,
    id: String,
    state: AlertState,
    value: f64,
    unit: &Option<Arc<str>>,
    at: Moment,
    message: String,
) -> AlertEvent {
    AlertEvent {
        id,
        state,
        rule: rule.name.clone(),
        sensor: sensor.clone(),
        severity: rule.severity,
        kind: rule.condition.kind(),
        value,
        limit: rule.condition.limit(),
        unit: unit.clone(),
        fired_ms: at.fired_ms,
        event_ms: at.event_ms,
        message,
    }
}

fn render(t: &str, rule: &Rule, sensor: &str, value: f64, unit: &str) -> String {
    t.replace("{sensor}", sensor)
        .replace("{value}", &num(value))
        .replace("{limit}", &num(rule.condition.limit()))
        .replace("{unit}", unit)
        .replace("{rule}", &rule.name)
}

#[cfg(test)]
mod tests;
