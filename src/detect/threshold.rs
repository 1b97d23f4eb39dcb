//! Threshold, rate-of-change and staleness rules with hysteresis and debounce, and
//! the statistical conditions (EWMA z-score, stuck, robust spike) on the same
//! lifecycle, configured the same way.
//!
//! Pure and synchronous: readings and clock ticks go in, alert lifecycle events come
//! out. Debounce and rate use the readings' own timestamps, so replays and tests are
//! exact; staleness uses the tick's clock, because silence has no timestamp.

use super::stats::{Ewma, Mad, Stuck};
use crate::config::RuleConfig;
use crate::event::Severity;
use crate::event::{alert_id, AlertEvent, AlertKind, AlertState};
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
    #[error("rule `{0}` has no condition (run check-config)")]
    NoCondition(String),
}

#[derive(Debug, Clone, Copy)]
enum Condition {
    Above(f64),
    Below(f64),
    RateAbove(f64),
    StaleMs(i64),
    ZScore(f64),
    StuckMs(i64),
    Spike(f64),
}

/// Per rule and sensor: what a statistical condition has learned.
#[derive(Debug)]
enum Stat {
    Ewma(Ewma),
    Stuck(Stuck),
    Mad(Mad),
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
    /// Level the value must get back past to resolve (hysteresis).
    clear: f64,
    debounce: Debounce,
    severity: Severity,
    message: Option<String>,
    ewma_alpha: f64,
    warmup: u32,
    stuck_tolerance: f64,
    spike_window: usize,
}

impl Rule {
    fn applies_to(&self, sensor: &str, labels: &Labels) -> bool {
        self.sensors.is_match(sensor)
            && self
                .labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|x| x == v))
    }

    fn kind(&self) -> AlertKind {
        match self.condition {
            Condition::Above(_) => AlertKind::Above,
            Condition::Below(_) => AlertKind::Below,
            Condition::RateAbove(_) => AlertKind::RateAbove,
            Condition::StaleMs(_) => AlertKind::Stale,
            Condition::ZScore(_) => AlertKind::ZScore,
            Condition::StuckMs(_) => AlertKind::Stuck,
            Condition::Spike(_) => AlertKind::Spike,
        }
    }

    fn limit(&self) -> f64 {
        match self.condition {
            Condition::Above(l)
            | Condition::Below(l)
            | Condition::RateAbove(l)
            | Condition::ZScore(l)
            | Condition::Spike(l) => l,
            Condition::StaleMs(ms) | Condition::StuckMs(ms) => ms as f64 / 1000.0,
        }
    }
}

#[derive(Debug, Default)]
struct RuleState {
    pending_since: Option<i64>,
    pending_count: u32,
    firing: Option<(String, i64)>,
    prev: Option<(i64, f64)>,
    last_good_ms: Option<i64>,
    stat: Option<Stat>,
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

    /// Makes a sensor known before it sends anything (restart), so staleness counts
    /// from its last stored reading.
    pub fn register(&mut self, sensor: &Arc<str>, labels: &Labels, last_good_ms: Option<i64>) {
        let entry = self.entry(sensor, labels);
        for (_, st) in entry.rules.iter_mut() {
            st.last_good_ms = st.last_good_ms.max(last_good_ms);
        }
    }

    /// Marks a stored firing alert as firing again; false if its rule no longer
    /// applies to that sensor (the caller resolves it).
    pub fn restore_firing(
        &mut self,
        rule: &str,
        sensor: &Arc<str>,
        labels: &Labels,
        id: String,
        fired_ms: i64,
    ) -> bool {
        let Some(index) = self.rules.iter().position(|r| &*r.name == rule) else {
            return false;
        };
        let entry = self.entry(sensor, labels);
        match entry.rules.iter_mut().find(|(i, _)| *i == index) {
            Some((_, st)) => {
                st.firing = Some((id, fired_ms));
                true
            }
            None => false,
        }
    }

    fn entry(&mut self, sensor: &Arc<str>, labels: &Labels) -> &mut SensorEntry {
        entry(&self.rules, &mut self.sensors, sensor, labels)
    }

    pub fn on_reading(&mut self, r: &Reading, out: &mut Vec<AlertEvent>) {
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
    pub fn on_tick(&mut self, now_ms: i64, out: &mut Vec<AlertEvent>) {
        for (sensor, entry) in self.sensors.iter_mut() {
            for (index, st) in entry.rules.iter_mut() {
                let rule = &self.rules[*index];
                let Condition::StaleMs(limit) = rule.condition else {
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

    pub fn firing_count(&self) -> usize {
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
    if !sensors.contains_key(sensor) {
        let matching = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.applies_to(sensor, labels))
            .map(|(i, _)| (i, RuleState::default()))
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
    let condition = if let Some(l) = c.above {
        Condition::Above(l)
    } else if let Some(l) = c.below {
        Condition::Below(l)
    } else if let Some(l) = c.rate_above {
        Condition::RateAbove(l)
    } else if let Some(d) = c.stale_after {
        Condition::StaleMs(d.as_millis() as i64)
    } else if let Some(k) = c.zscore_above {
        Condition::ZScore(k)
    } else if let Some(d) = c.stuck_for {
        Condition::StuckMs(d.as_millis() as i64)
    } else if let Some(k) = c.spike_above {
        Condition::Spike(k)
    } else {
        return Err(RuleError::NoCondition(c.name.clone()));
    };
    let clear = match condition {
        Condition::Above(l) | Condition::Below(l) => c.clear.unwrap_or(l),
        Condition::RateAbove(l) | Condition::Spike(l) => l,
        Condition::ZScore(k) => c.clear.unwrap_or(k / 2.0),
        Condition::StaleMs(_) | Condition::StuckMs(_) => 0.0,
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
        clear,
        debounce,
        severity: c.severity,
        message: c.message.clone(),
        ewma_alpha: c.ewma_alpha,
        warmup: c.warmup,
        stuck_tolerance: c.stuck_tolerance,
        spike_window: c.spike_window,
    })
}

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
    let (breach, cleared, value) = match rule.condition {
        Condition::StaleMs(_) => {
            st.last_good_ms = st.last_good_ms.max(Some(r.ts_ms));
            if st.firing.is_some() {
                out.push(resolve(rule, st, &r.sensor, r.value, unit, r.ts_ms));
            }
            return;
        }
        Condition::Above(l) => (r.value > l, r.value <= rule.clear, r.value),
        Condition::Below(l) => (r.value < l, r.value >= rule.clear, r.value),
        Condition::RateAbove(l) => {
            let prev = st.prev.replace((r.ts_ms, r.value));
            let Some((t0, v0)) = prev.filter(|(t0, _)| r.ts_ms > *t0) else {
                return;
            };
            let rate = (r.value - v0).abs() * 1000.0 / (r.ts_ms - t0) as f64;
            (rate > l, rate <= l, rate)
        }
        Condition::ZScore(k) => {
            let stat = st
                .stat
                .get_or_insert_with(|| Stat::Ewma(Ewma::new(rule.ewma_alpha, rule.warmup)));
            let Stat::Ewma(e) = stat else { return };
            // The spread learns only from readings that look normal (within the clear level).
            let Some(z) = e.score_and_learn(r.value, rule.clear) else {
                return;
            };
            (z.abs() > k, z.abs() <= rule.clear, z)
        }
        Condition::StuckMs(limit) => {
            let stat = st.stat.get_or_insert_with(|| Stat::Stuck(Stuck::default()));
            let Stat::Stuck(s) = stat else { return };
            let (still_ms, n) = s.observe(r.ts_ms, r.value, rule.stuck_tolerance);
            // Three readings at least: two equal samples prove nothing.
            (
                still_ms >= limit && n >= 3,
                still_ms == 0,
                still_ms as f64 / 1000.0,
            )
        }
        Condition::Spike(k) => {
            let stat = st
                .stat
                .get_or_insert_with(|| Stat::Mad(Mad::new(rule.spike_window)));
            let Stat::Mad(m) = stat else { return };
            let Some(z) = m.score_and_learn(r.value) else {
                return;
            };
            (z.abs() > k, z.abs() <= k, z)
        }
    };
    if st.firing.is_some() {
        if cleared {
            out.push(resolve(rule, st, &r.sensor, value, unit, r.ts_ms));
        }
        return;
    }
    if !breach {
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
        out.push(fire(rule, st, &r.sensor, value, unit, r.ts_ms));
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
    let message = match &rule.message {
        Some(t) => render(t, rule, sensor, value, unit),
        None => default_message(rule, sensor, value, unit),
    };
    event(
        rule,
        sensor,
        id,
        AlertState::Firing,
        value,
        unit,
        ts_ms,
        ts_ms,
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
    let message = match rule.condition {
        Condition::StaleMs(_) => format!("{sensor} is reporting again"),
        Condition::RateAbove(_) => format!(
            "{sensor} changes {}{u}/s again (rule {})",
            num(value),
            rule.name
        ),
        Condition::ZScore(_) | Condition::Spike(_) => format!(
            "{sensor} back to its usual level, {} deviations (rule {})",
            num(value),
            rule.name
        ),
        Condition::StuckMs(_) => format!("{sensor} is moving again (rule {})", rule.name),
        _ => format!("{sensor} back to {}{u} (rule {})", num(value), rule.name),
    };
    event(
        rule,
        sensor,
        id,
        AlertState::Resolved,
        value,
        unit,
        fired_ms,
        ts_ms,
        message,
    )
}

#[allow(clippy::too_many_arguments)]
fn event(
    rule: &Rule,
    sensor: &Arc<str>,
    id: String,
    state: AlertState,
    value: f64,
    unit: &Option<Arc<str>>,
    fired_ms: i64,
    event_ms: i64,
    message: String,
) -> AlertEvent {
    AlertEvent {
        id,
        state,
        rule: rule.name.clone(),
        sensor: sensor.clone(),
        severity: rule.severity,
        kind: rule.kind(),
        value,
        limit: rule.limit(),
        unit: unit.clone(),
        fired_ms,
        event_ms,
        message,
    }
}

fn default_message(rule: &Rule, sensor: &str, value: f64, unit: &Option<Arc<str>>) -> String {
    let u = unit.as_deref().unwrap_or("");
    let (v, l) = (num(value), num(rule.limit()));
    match rule.condition {
        Condition::Above(_) => format!("{sensor} at {v}{u} is above {l}{u}"),
        Condition::Below(_) => format!("{sensor} at {v}{u} is below {l}{u}"),
        Condition::RateAbove(_) => format!("{sensor} changes {v}{u}/s, faster than {l}{u}/s"),
        Condition::StaleMs(_) => format!("{sensor} sent no good reading for {v} s (limit {l} s)"),
        Condition::ZScore(_) => format!(
            "{sensor} is {v} deviations from its recent level (limit {l}): a drift before any limit"
        ),
        Condition::StuckMs(_) => {
            format!("{sensor} has not changed for {v} s (limit {l} s): stuck?")
        }
        Condition::Spike(_) => {
            format!("{sensor} spiked {v} robust deviations from its recent median (limit {l})")
        }
    }
}

fn render(t: &str, rule: &Rule, sensor: &str, value: f64, unit: &Option<Arc<str>>) -> String {
    t.replace("{sensor}", sensor)
        .replace("{value}", &num(value))
        .replace("{limit}", &num(rule.limit()))
        .replace("{unit}", unit.as_deref().unwrap_or(""))
        .replace("{rule}", &rule.name)
}

/// Short human number: at most three decimals, no trailing zeros.
pub fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests;
