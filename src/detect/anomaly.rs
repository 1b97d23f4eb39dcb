//! ONNX anomaly detectors on the alert lifecycle: readings of the sensors that make
//! an asset are aligned into frames, frames into windows (the manifest's feature
//! spec), windows go to inference elsewhere ([`super::inference`]), and scores come
//! back here to fire and resolve alerts with debounce.
//!
//! Pure and synchronous like the threshold rules: readings and scores in, windows
//! and alert events out.

use super::anomaly_config::AnomalyModelConfig;
use super::debounce::{Change, Debounce};
use crate::event::Severity;
use crate::event::{alert_id, AlertEvent, AlertKind, AlertState};
use crate::event::{Quality, Reading};
use crate::ml::Manifest;
use crate::sensor_glob::SensorGlob;
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::sync::Arc;

/// One window to score: `data` is `[window, channels]`, normalised.
#[derive(Debug, Clone)]
pub struct WindowJob {
    pub asset: usize,
    pub model: usize,
    pub end_ms: i64,
    pub data: Vec<f32>,
}

/// A window's score, back from inference.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub asset: usize,
    pub end_ms: i64,
    pub score: f32,
}

#[derive(Debug)]
struct Binding {
    name: Arc<str>,
    model: usize,
    model_name: String,
    /// One glob per channel; `None` when every matching sensor is its own asset.
    channels: Option<Vec<SensorGlob>>,
    single: SensorGlob,
    channel_names: Vec<String>,
    window: usize,
    step: usize,
    max_gap_ms: i64,
    offset: Vec<f32>,
    scale: Vec<f32>,
    severity: Severity,
    threshold: f64,
    debounce: u32,
    clear_after: u32,
}

#[derive(Debug)]
struct Asset {
    binding: usize,
    id: Arc<str>,
    /// Latest normalised value and time per channel, since the last frame.
    latest: Vec<Option<(i64, f32)>>,
    last_frame_ms: i64,
    frames: VecDeque<f32>,
    since_step: usize,
    life: Debounce,
}

#[derive(Debug, thiserror::Error)]
#[error("anomaly model `{name}`: {message}")]
pub struct BindError {
    pub name: String,
    pub message: String,
}

/// Every `[[anomaly-models]]` binding and the assets seen so far.
#[derive(Debug, Default)]
pub struct AnomalyModels {
    bindings: Vec<Binding>,
    assets: Vec<Asset>,
    by_key: HashMap<(usize, Arc<str>), usize>,
    /// Per sensor: (asset, channel) it feeds; empty when it feeds none.
    members: HashMap<Arc<str>, Vec<(usize, usize)>>,
}

impl AnomalyModels {
    /// `models[i]` is the manifest of model index `i`; `model_of[j]` the model index
    /// of binding `configs[j]`.
    pub fn new(
        configs: &[AnomalyModelConfig],
        manifests: &[Manifest],
        model_of: &[usize],
    ) -> Result<Self, BindError> {
        let mut bindings = Vec::with_capacity(configs.len());
        for (c, &model) in configs.iter().zip(model_of) {
            let m = &manifests[model];
            let err = |message: String| BindError {
                name: c.name.clone(),
                message,
            };
            let glob = |p: String| SensorGlob::new(&[p]).map_err(|e| err(e.to_string()));
            let channels = if c.sensors.contains("{channel}") {
                let globs = m
                    .features
                    .channels
                    .iter()
                    .map(|ch| glob(c.sensors.replace("{channel}", ch)))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(globs)
            } else if m.channels() == 1 {
                None
            } else {
                return Err(err(format!(
                    "model `{}` takes {} channels ({}): write `{{channel}}` as the last level of \
                     `sensors` so each asset's sensors can be found",
                    m.name,
                    m.channels(),
                    m.features.channels.join(", ")
                )));
            };
            let f = &m.features;
            bindings.push(Binding {
                name: c.name.as_str().into(),
                model,
                model_name: m.name.clone(),
                channels,
                single: glob(c.sensors.replace("{channel}", "*"))?,
                channel_names: f.channels.clone(),
                window: f.window,
                step: f.step,
                max_gap_ms: 3 * f.period.as_millis() as i64,
                offset: f.offset.clone(),
                scale: f.scale.clone(),
                severity: c.severity,
                threshold: c.threshold.unwrap_or(m.score.threshold),
                debounce: c.debounce,
                clear_after: c.clear_after,
            });
        }
        Ok(AnomalyModels {
            bindings,
            ..Default::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    pub fn firing_count(&self) -> usize {
        self.assets
            .iter()
            .filter(|a| a.life.firing().is_some())
            .count()
    }

    /// The assets a sensor feeds, worked out once per sensor.
    fn membership(&mut self, sensor: &Arc<str>) -> &[(usize, usize)] {
        if !self.members.contains_key(sensor) {
            let mut found = Vec::new();
            for (b, binding) in self.bindings.iter().enumerate() {
                if !binding.single.is_match(sensor) {
                    continue;
                }
                let (asset, channel): (Arc<str>, usize) = match &binding.channels {
                    None => (sensor.clone(), 0),
                    Some(globs) => {
                        let Some(ch) = globs.iter().position(|g| g.is_match(sensor)) else {
                            continue;
                        };
                        let id = sensor.rsplit_once('/').map_or("", |(a, _)| a);
                        (id.into(), ch)
                    }
                };
                let index = asset_index(&mut self.assets, &mut self.by_key, binding, b, asset);
                found.push((index, channel));
            }
            self.members.insert(sensor.clone(), found);
        }
        &self.members[sensor]
    }

    /// Adds a reading to the assets it belongs to; a completed window due for
    /// scoring is appended to `jobs`.
    pub fn on_reading(&mut self, r: &Reading, jobs: &mut Vec<WindowJob>) {
        if self.bindings.is_empty() || r.quality != Quality::Good || !r.value.is_finite() {
            return;
        }
        let n = self.membership(&r.sensor).len();
        for i in 0..n {
            let (asset, channel) = self.members[&r.sensor][i];
            let a = &mut self.assets[asset];
            let b = &self.bindings[a.binding];
            let v = ((r.value as f32) - b.offset[channel]) / b.scale[channel];
            a.latest[channel] = Some((r.ts_ms, v));
            if let Some(job) = a.frame(b, asset) {
                jobs.push(job);
            }
        }
    }

    /// Debounce and lifecycle on the scores of scored windows.
    pub fn on_scores(&mut self, scores: &[Scored], out: &mut Vec<AlertEvent>) {
        for s in scores {
            let Some(a) = self.assets.get_mut(s.asset) else {
                continue;
            };
            let b = &self.bindings[a.binding];
            let score = f64::from(s.score);
            match a
                .life
                .observe(score > b.threshold, b.debounce, b.clear_after)
            {
                Change::None => {}
                Change::Fire => {
                    let id = alert_id(&b.name, &a.id, s.end_ms);
                    a.life.fired(id.clone(), s.end_ms);
                    let e = event(b, a, id, AlertState::Firing, score, s.end_ms, s.end_ms);
                    out.push(e);
                }
                Change::Resolve { id, fired_ms } => {
                    let e = event(b, a, id, AlertState::Resolved, score, fired_ms, s.end_ms);
                    out.push(e);
                }
            }
        }
    }

    /// Marks a stored firing alert as firing again; false if no binding has that name.
    pub fn restore_firing(
        &mut self,
        rule: &str,
        asset: &Arc<str>,
        id: String,
        fired_ms: i64,
    ) -> bool {
        let Some(b) = self.bindings.iter().position(|b| &*b.name == rule) else {
            return false;
        };
        let index = asset_index(
            &mut self.assets,
            &mut self.by_key,
            &self.bindings[b],
            b,
            asset.clone(),
        );
        self.assets[index].life.fired(id, fired_ms);
        true
    }
}

fn asset_index(
    assets: &mut Vec<Asset>,
    by_key: &mut HashMap<(usize, Arc<str>), usize>,
    binding: &Binding,
    b: usize,
    id: Arc<str>,
) -> usize {
    *by_key.entry((b, id.clone())).or_insert_with(|| {
        assets.push(Asset {
            binding: b,
            id,
            latest: vec![None; binding.channel_names.len()],
            last_frame_ms: i64::MIN,
            frames: VecDeque::with_capacity(binding.window * binding.channel_names.len()),
            since_step: 0,
            life: Debounce::default(),
        });
        assets.len() - 1
    })
}

impl Asset {
    /// A frame is complete once every channel has a value newer than the last
    /// frame; a complete window every `step` frames becomes a job.
    fn frame(&mut self, b: &Binding, index: usize) -> Option<WindowJob> {
        let mut ts = i64::MIN;
        for v in &self.latest {
            let (t, _) = (*v)?;
            if t <= self.last_frame_ms {
                return None;
            }
            ts = ts.max(t);
        }
        let c = self.latest.len();
        if self.last_frame_ms != i64::MIN && ts - self.last_frame_ms > b.max_gap_ms {
            // A gap: the window would join readings that are not neighbours.
            self.frames.clear();
            self.since_step = 0;
        }
        self.last_frame_ms = ts;
        if self.frames.len() == b.window * c {
            self.frames.drain(..c);
        }
        self.frames
            .extend(self.latest.iter().map(|v| v.map_or(0.0, |(_, x)| x)));
        self.since_step += 1;
        if self.frames.len() < b.window * c || self.since_step < b.step {
            return None;
        }
        self.since_step = 0;
        Some(WindowJob {
            asset: index,
            model: b.model,
            end_ms: ts,
            data: self.frames.iter().copied().collect(),
        })
    }
}

fn event(
    b: &Binding,
    a: &Asset,
    id: String,
    state: AlertState,
    score: f64,
    fired_ms: i64,
    event_ms: i64,
) -> AlertEvent {
    let message = match state {
        AlertState::Firing => format!(
            "model `{}` scored {score:.2} (threshold {}) on {}: {}",
            b.model_name,
            b.threshold,
            a.id,
            b.channel_names.join(", ")
        ),
        AlertState::Resolved => format!(
            "model `{}` back to normal on {} (score {score:.2}, threshold {})",
            b.model_name, a.id, b.threshold
        ),
    };
    AlertEvent {
        id,
        state,
        rule: b.name.clone(),
        sensor: a.id.clone(),
        severity: b.severity,
        kind: AlertKind::Anomaly,
        value: score,
        limit: b.threshold,
        unit: None,
        fired_ms,
        event_ms,
        message,
    }
}

#[cfg(test)]
#[path = "anomaly_tests.rs"]
mod tests;
