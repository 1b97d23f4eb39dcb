//! Models learned on the gateway ([`crate::learn`]) as one [`Detector`]: each
//! asset's readings become frames, a frame joined to its lags is scored by the
//! asset's model, the statistics are averaged over the last `smooth` frames and
//! judged against the model's limits, and alerts say which channels moved.
//! Models can be installed while running: a re-learned model replaces the old
//! one and keeps its open alerts.

use super::debounce::{Change, Debounce};
use super::detector::{Detector, StoredFiring};
use crate::event::{alert_id, format_ts, AlertEvent, AlertKind, AlertState, Quality, Reading};
use crate::learn::frames::{Frame, Framer};
use crate::learn::score::Statistic;
use crate::learn::{AssetModel, LearnedModel};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct LearnedDetector {
    models: Vec<LearnedModel>,
    assets: Vec<AssetState>,
    /// Per sensor id: the (asset, channel) slots it feeds.
    members: HashMap<Box<str>, Vec<(usize, usize)>>,
}

#[derive(Debug)]
struct AssetState {
    model: usize,
    asset: usize,
    id: Arc<str>,
    framer: Framer,
    /// The newest frames, newest first: the lags a frame is joined to.
    recent: VecDeque<Frame>,
    /// The newest statistics, for smoothing.
    stats: VecDeque<[f64; 2]>,
    life: Debounce,
    /// How far each channel's level has moved since the fit, followed slowly
    /// while the asset is normal (see [`LearnedModel::track_ms`]).
    shift: Vec<f64>,
}

impl LearnedDetector {
    pub fn new(models: Vec<LearnedModel>) -> Self {
        let mut d = LearnedDetector::default();
        for m in models {
            d.install(m);
        }
        d
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Names of the models running.
    pub fn names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }

    /// Adds a model, or replaces the one of the same name; alerts open under the
    /// old model stay open under the new one for the same asset.
    pub fn install(&mut self, model: LearnedModel) {
        let mut carried: HashMap<Arc<str>, Debounce> = HashMap::default();
        let index = match self.models.iter().position(|m| m.name == model.name) {
            Some(i) => {
                for a in self.assets.iter_mut().filter(|a| a.model == i) {
                    carried.insert(a.id.clone(), std::mem::take(&mut a.life));
                }
                self.models[i] = model;
                i
            }
            None => {
                self.models.push(model);
                self.models.len() - 1
            }
        };
        self.assets.retain(|a| a.model != index);
        let m = &self.models[index];
        for (asset, am) in m.assets.iter().enumerate() {
            let id: Arc<str> = am.asset.as_str().into();
            self.assets.push(AssetState {
                model: index,
                asset,
                framer: Framer::new(am.channels.len()),
                recent: VecDeque::with_capacity(m.lags + 1),
                stats: VecDeque::with_capacity(m.smooth),
                life: carried.remove(&id).unwrap_or_default(),
                shift: vec![0.0; am.channels.len()],
                id,
            });
        }
        self.members.clear();
        for (s, a) in self.assets.iter().enumerate() {
            let am = &self.models[a.model].assets[a.asset];
            for c in 0..am.channels.len() {
                self.members
                    .entry(am.sensor(c).into_boxed_str())
                    .or_default()
                    .push((s, c));
            }
        }
    }

    fn on_frame(&mut self, s: usize, frame: Frame, out: &mut Vec<AlertEvent>) {
        let a = &mut self.assets[s];
        let m = &self.models[a.model];
        let am = &m.assets[a.asset];
        if let Some(prev) = a.recent.front() {
            if frame.ts_ms - prev.ts_ms > 3 * am.period_ms {
                // A gap: lags and smoothing would join frames that are not neighbours.
                a.recent.clear();
                a.stats.clear();
                a.life.restart();
            }
        }
        let ts_ms = frame.ts_ms;
        a.recent.push_front(frame);
        a.recent.truncate(m.lags + 1);
        if a.recent.len() <= m.lags {
            return;
        }
        let shift = &a.shift;
        let x: Vec<f64> = a
            .recent
            .iter()
            .flat_map(|f| f.values.iter().zip(shift).map(|(v, d)| v - d))
            .collect();
        a.stats.push_back(am.raw_stats(&x));
        if a.stats.len() > m.smooth {
            a.stats.pop_front();
        }
        let n = a.stats.len() as f64;
        let mean = [0, 1].map(|i| a.stats.iter().map(|s| s[i]).sum::<f64>() / n);
        let (ratio, statistic) = am.judge(mean);
        let anomalous = ratio > 1.0;
        if !anomalous && a.life.is_quiet() && m.track_ms > 0 {
            let alpha = (am.period_ms as f64 / m.track_ms as f64).min(1.0);
            if let Some(newest) = a.recent.front() {
                let c = newest.values.len();
                for (j, d) in a.shift.iter_mut().enumerate().take(c) {
                    *d += alpha * (newest.values[j] - am.centre()[j] - *d);
                }
            }
        }
        match a.life.observe(anomalous, m.debounce, m.clear_after) {
            Change::None => {}
            Change::Fire => {
                let id = alert_id(&m.name, &a.id, ts_ms);
                a.life.fired(id.clone(), ts_ms);
                let message = fired_message(m, am, &x, ratio, statistic);
                out.push(event(
                    m,
                    a,
                    id,
                    AlertState::Firing,
                    ratio,
                    (ts_ms, ts_ms),
                    message,
                ));
            }
            Change::Resolve { id, fired_ms } => {
                let message = format!(
                    "learned model `{}` back to normal on {} ({ratio:.2} of its limit)",
                    m.name, a.id
                );
                let span = (fired_ms, ts_ms);
                out.push(event(m, a, id, AlertState::Resolved, ratio, span, message));
            }
        }
    }
}

impl Detector for LearnedDetector {
    fn on_reading(&mut self, r: &Reading, out: &mut Vec<AlertEvent>) {
        if r.quality != Quality::Good || !r.value.is_finite() {
            return;
        }
        let Some(slots) = self.members.get(&*r.sensor) else {
            return;
        };
        let slots = slots.clone();
        for (s, c) in slots {
            if let Some(frame) = self.assets[s].framer.push(c, r.ts_ms, r.value) {
                self.on_frame(s, frame, out);
            }
        }
    }

    fn restore_firing(&mut self, alert: &StoredFiring<'_>) -> bool {
        let models = &self.models;
        match self
            .assets
            .iter_mut()
            .find(|a| models[a.model].name == alert.rule && a.id == *alert.sensor)
        {
            Some(a) => {
                a.life.fired(alert.id.to_owned(), alert.fired_ms);
                true
            }
            None => false,
        }
    }

    fn firing_count(&self) -> usize {
        self.assets
            .iter()
            .filter(|a| a.life.firing().is_some())
            .count()
    }
}

/// Which statistic is out and the channels that drive it, summed over lags.
fn fired_message(
    m: &LearnedModel,
    am: &AssetModel,
    x: &[f64],
    ratio: f64,
    statistic: Statistic,
) -> String {
    let c = am.channels.len();
    let mut share = vec![0.0; c];
    for (i, v) in am.contributions(x).iter().enumerate() {
        share[i % c] += v;
    }
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| share[b].total_cmp(&share[a]));
    let top: Vec<String> = order
        .iter()
        .take(3)
        .filter(|&&i| share[i] >= 0.05)
        .map(|&i| format!("{} {:.0} %", am.channels[i], 100.0 * share[i]))
        .collect();
    let what = match statistic {
        Statistic::Relation => {
            format!("its channels no longer move together as they did (Q {ratio:.1}x its limit)")
        }
        Statistic::Range => {
            format!("outside its usual operating range (T-squared {ratio:.1}x its limit)")
        }
        Statistic::Unfamiliar => {
            format!("in a state unlike any it learned as normal ({ratio:.1}x its limit)")
        }
    };
    format!(
        "learned model `{}` on {}: {what}; most from {}; learned from {} to {}",
        m.name,
        am.asset,
        top.join(", "),
        format_ts(am.from_ms),
        format_ts(am.until_ms)
    )
}

/// `span`: when the alert fired, and the time of this event.
fn event(
    m: &LearnedModel,
    a: &AssetState,
    id: String,
    state: AlertState,
    ratio: f64,
    (fired_ms, event_ms): (i64, i64),
    message: String,
) -> AlertEvent {
    AlertEvent {
        id,
        state,
        rule: m.name.as_str().into(),
        sensor: a.id.clone(),
        severity: m.severity,
        kind: AlertKind::Anomaly,
        value: ratio,
        limit: 1.0,
        unit: None,
        fired_ms,
        event_ms,
        message,
    }
}

#[cfg(test)]
#[path = "learned_tests.rs"]
mod tests;
