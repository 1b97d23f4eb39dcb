//! Learning a model from history: readings of the sensors a pattern names are
//! grouped by asset, aligned into frames, frames that fall in an alert's span are
//! left out (a model must not learn an anomaly as normal), and each asset gets a
//! model fitted on the rest. The caller streams the readings (from the journal, or
//! a replayed file) and names the alert spans.

use super::frames::Framer;
use super::model::{AssetModel, LearnedModel, Method};
use super::pca::{FitError, Pca, PcaOptions};
use super::similarity::{Similarity, SimilarityOptions};
use crate::event::{format_ts, Severity};
use crate::sensor_glob::SensorGlob;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// How slowly a model follows the level of a normal asset by default: off until
/// the evaluation says which time holds (replay --track to try one).
pub const DEFAULT_TRACK_MS: i64 = 0;

/// What to learn and how it will alert.
#[derive(Debug, Clone)]
pub struct LearnSpec {
    pub name: String,
    /// A sensor glob whose last level is `{channel}` (`plant1/pump*/{channel}`).
    pub sensors: String,
    pub method: Method,
    pub severity: Severity,
    pub debounce: u32,
    pub clear_after: u32,
    pub lags: usize,
    /// See [`LearnedModel::track_ms`].
    pub track_ms: i64,
    pub pca: PcaOptions,
}

impl LearnSpec {
    /// The shipped defaults for a model named `name` over `sensors`.
    pub fn new(name: &str, sensors: &str) -> Self {
        LearnSpec {
            name: name.to_owned(),
            sensors: sensors.to_owned(),
            // On the simulator's pumps it caught as many faults as PCA with a
            // tenth of the false alerts (benches/README.md, "Learned models").
            method: Method::Mset,
            severity: Severity::Warning,
            debounce: 3,
            clear_after: 10,
            lags: 0,
            track_ms: DEFAULT_TRACK_MS,
            pca: PcaOptions {
                smooth: 5,
                ..PcaOptions::default()
            },
        }
    }
}

/// A time during which the model must not learn: an alert on `sensor` (one of
/// the asset's sensors, or the asset itself) was open.
#[derive(Debug, Clone)]
pub struct Span {
    pub sensor: String,
    pub from_ms: i64,
    pub until_ms: i64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    #[error("model name `{0}`: use letters, digits, `-`, `_` and `.` only (it names the model's file and its alerts)")]
    Name(String),
    #[error("sensors `{0}`: write a sensor glob whose last level is `{{channel}}` (e.g. \"plant1/pump1/{{channel}}\"); each matching sensor's last level names a channel, the rest of its id the asset")]
    Pattern(String),
    #[error("no readings of `{pattern}` between {from} and {until}: check the sensor glob (`edgewatch status` lists sensors) and the period")]
    NoReadings {
        pattern: String,
        from: String,
        until: String,
    },
    #[error("asset `{asset}`: {source}")]
    Fit { asset: String, source: FitError },
    #[error("asset `{asset}` has one channel ({channel}) under `{pattern}`: a multivariate model needs at least two; for one sensor use a statistical rule")]
    OneChannel {
        asset: String,
        channel: String,
        pattern: String,
    },
}

#[derive(Default)]
struct AssetData {
    channels: Vec<String>,
    index: HashMap<String, u16>,
    samples: Vec<(i64, u16, f64)>,
}

/// Gathers readings, then fits.
pub struct Learner {
    spec: LearnSpec,
    glob: SensorGlob,
    assets: BTreeMap<String, AssetData>,
}

impl Learner {
    pub fn new(spec: LearnSpec) -> Result<Self, LearnError> {
        let ok_name = !spec.name.is_empty()
            && spec.name.len() <= 128
            && !spec.name.starts_with('.')
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok_name {
            return Err(LearnError::Name(spec.name));
        }
        let p = &spec.sensors;
        if p.matches("{channel}").count() != 1 || !p.ends_with("/{channel}") {
            return Err(LearnError::Pattern(p.clone()));
        }
        let glob = SensorGlob::new(&[p.replace("{channel}", "*")])
            .map_err(|_| LearnError::Pattern(p.clone()))?;
        Ok(Learner {
            spec,
            glob,
            assets: BTreeMap::new(),
        })
    }

    /// One reading of good quality; others are not learned from.
    pub fn observe(&mut self, sensor: &str, ts_ms: i64, value: f64) {
        if !value.is_finite() || !self.glob.is_match(sensor) {
            return;
        }
        let Some((asset, channel)) = sensor.rsplit_once('/') else {
            return;
        };
        let a = self.assets.entry(asset.to_owned()).or_default();
        let c = match a.index.get(channel) {
            Some(&c) => c,
            None => {
                let Ok(c) = u16::try_from(a.channels.len()) else {
                    return;
                };
                a.channels.push(channel.to_owned());
                a.index.insert(channel.to_owned(), c);
                c
            }
        };
        a.samples.push((ts_ms, c, value));
    }

    /// Fits every asset seen over `[from_ms, until_ms]`, leaving out `excluded`.
    pub fn finish(
        self,
        from_ms: i64,
        until_ms: i64,
        excluded: &[Span],
    ) -> Result<LearnedModel, LearnError> {
        let spec = self.spec;
        if self.assets.is_empty() {
            return Err(LearnError::NoReadings {
                pattern: spec.sensors,
                from: format_ts(from_ms),
                until: format_ts(until_ms),
            });
        }
        let mut assets = Vec::with_capacity(self.assets.len());
        for (asset, data) in self.assets {
            assets.push(fit_asset(&spec, asset, data, excluded)?);
        }
        Ok(LearnedModel {
            name: spec.name,
            method: spec.method,
            sensors: spec.sensors,
            severity: spec.severity,
            debounce: spec.debounce,
            clear_after: spec.clear_after,
            lags: spec.lags,
            smooth: spec.pca.smooth,
            track_ms: spec.track_ms,
            learned_at: jiff::Timestamp::now().to_string(),
            assets,
        })
    }
}

fn fit_asset(
    spec: &LearnSpec,
    asset: String,
    mut data: AssetData,
    excluded: &[Span],
) -> Result<AssetModel, LearnError> {
    if data.channels.len() < 2 {
        return Err(LearnError::OneChannel {
            channel: data.channels.concat(),
            asset,
            pattern: spec.sensors.clone(),
        });
    }
    // Channels in name order, so the model does not depend on arrival order.
    let mut order: Vec<usize> = (0..data.channels.len()).collect();
    order.sort_by(|&a, &b| data.channels[a].cmp(&data.channels[b]));
    let mut rank = vec![0usize; order.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r;
    }
    let channels: Vec<String> = order.iter().map(|&c| data.channels[c].clone()).collect();
    data.samples.sort_by_key(|s| s.0);
    let mut framer = Framer::new(channels.len());
    let mut frames = Vec::new();
    for &(ts, c, v) in &data.samples {
        if let Some(f) = framer.push(rank[usize::from(c)], ts, v) {
            frames.push(f);
        }
    }
    let period_ms = median_step(frames.iter().map(|f| f.ts_ms)).max(1);
    let sensors: Vec<String> = channels.iter().map(|c| format!("{asset}/{c}")).collect();
    let spans: Vec<&Span> = excluded
        .iter()
        .filter(|s| s.sensor == asset || sensors.contains(&s.sensor))
        .collect();
    let before = frames.len();
    frames.retain(|f| {
        !spans
            .iter()
            .any(|s| f.ts_ms >= s.from_ms && f.ts_ms <= s.until_ms)
    });
    let excluded_frames = before - frames.len();
    let features = lagged(&frames, spec.lags, 3 * period_ms);
    let names = feature_names(&channels, spec.lags);
    let pca = Pca::fit(&features, &names, spec.pca).map_err(|source| LearnError::Fit {
        asset: asset.clone(),
        source,
    })?;
    let similarity = match spec.method {
        Method::Pca => None,
        Method::Mset => {
            let o = SimilarityOptions {
                quantile: spec.pca.quantile,
                smooth: spec.pca.smooth,
                ..SimilarityOptions::default()
            };
            let s = Similarity::fit(&features, &pca.mean, &pca.scale, o).map_err(|source| {
                LearnError::Fit {
                    asset: asset.clone(),
                    source,
                }
            })?;
            Some(s)
        }
    };
    let from_ms = frames.first().map_or(0, |f| f.ts_ms);
    let until_ms = frames.last().map_or(0, |f| f.ts_ms);
    Ok(AssetModel {
        asset,
        channels,
        from: format_ts(from_ms),
        until: format_ts(until_ms),
        from_ms,
        until_ms,
        frames: features.len(),
        excluded_frames,
        period_ms,
        pca,
        similarity,
    })
}

/// Each frame joined to the `lags` frames before it (newest first); frames
/// without enough close predecessors are left out.
pub fn lagged(frames: &[super::frames::Frame], lags: usize, max_gap_ms: i64) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(frames.len());
    let mut run = 0usize;
    for (i, f) in frames.iter().enumerate() {
        run = match i.checked_sub(1).map(|p| &frames[p]) {
            Some(p) if f.ts_ms - p.ts_ms <= max_gap_ms => run + 1,
            _ => 1,
        };
        if run > lags {
            let mut v = Vec::with_capacity(f.values.len() * (lags + 1));
            for back in 0..=lags {
                v.extend_from_slice(&frames[i - back].values);
            }
            out.push(v);
        }
    }
    out
}

/// `flow`, `pressure`, then `flow@-1`, `pressure@-1`, ... for each lag.
pub fn feature_names(channels: &[String], lags: usize) -> Vec<String> {
    (0..=lags)
        .flat_map(|l| {
            channels.iter().map(move |c| match l {
                0 => c.clone(),
                l => format!("{c}@-{l}"),
            })
        })
        .collect()
}

fn median_step(ts: impl Iterator<Item = i64>) -> i64 {
    let ts: Vec<i64> = ts.collect();
    let mut steps: Vec<i64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.is_empty() {
        return 1000;
    }
    steps.sort_unstable();
    steps[steps.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pump(learner: &mut Learner, asset: &str, from_s: i64, n: i64) {
        let mut rng = fastrand::Rng::with_seed(3);
        for i in from_s..from_s + n {
            let load = rng.f64();
            learner.observe(&format!("{asset}/current"), i * 1000, 10.0 + load);
            learner.observe(&format!("{asset}/flow"), i * 1000, 50.0 + 5.0 * load);
            learner.observe(&format!("{asset}/temp"), i * 1000, 40.0 + rng.f64());
        }
    }

    #[test]
    fn one_model_per_asset_with_channels_in_name_order() {
        let mut l = Learner::new(LearnSpec::new("pumps", "plant/*/{channel}")).unwrap();
        pump(&mut l, "plant/p1", 0, 200);
        pump(&mut l, "plant/p2", 0, 300);
        l.observe("other/p1/flow", 0, 1.0);
        let m = l.finish(0, 300_000, &[]).unwrap();
        assert_eq!(m.assets.len(), 2);
        assert_eq!(m.assets[0].asset, "plant/p1");
        assert_eq!(m.assets[0].channels, ["current", "flow", "temp"]);
        assert_eq!((m.assets[0].frames, m.assets[1].frames), (200, 300));
        assert_eq!(m.assets[0].period_ms, 1000);
    }

    #[test]
    fn frames_inside_an_alert_span_are_not_learned() {
        let mut l = Learner::new(LearnSpec::new("p", "plant/p1/{channel}")).unwrap();
        pump(&mut l, "plant/p1", 0, 200);
        let spans = [Span {
            sensor: "plant/p1/flow".into(),
            from_ms: 50_000,
            until_ms: 59_999,
        }];
        let m = l.finish(0, 200_000, &spans).unwrap();
        assert_eq!((m.assets[0].frames, m.assets[0].excluded_frames), (190, 10));
    }

    #[test]
    fn lags_join_neighbouring_frames_only() {
        use super::super::frames::Frame;
        let f = |t: i64, v: f64| Frame {
            ts_ms: t,
            values: vec![v],
        };
        let frames = [
            f(0, 1.0),
            f(1000, 2.0),
            f(2000, 3.0),
            f(9000, 4.0),
            f(10_000, 5.0),
        ];
        let out = lagged(&frames, 1, 3000);
        assert_eq!(out, vec![vec![2.0, 1.0], vec![3.0, 2.0], vec![5.0, 4.0]]);
        assert_eq!(feature_names(&["a".into()], 2), ["a", "a@-1", "a@-2"]);
    }

    #[test]
    fn bad_names_patterns_and_periods_are_refused_with_the_fix() {
        let e = Learner::new(LearnSpec::new("../x", "a/{channel}"))
            .err()
            .unwrap();
        assert_eq!(e, LearnError::Name("../x".into()));
        let e = Learner::new(LearnSpec::new("x", "a/b")).err().unwrap();
        assert!(e.to_string().contains("last level is `{channel}`"), "{e}");
        let l = Learner::new(LearnSpec::new("x", "a/{channel}")).unwrap();
        let e = l.finish(0, 1000, &[]).unwrap_err();
        assert!(
            e.to_string().starts_with("no readings of `a/{channel}`"),
            "{e}"
        );
        let mut l = Learner::new(LearnSpec::new("x", "plant/p1/{channel}")).unwrap();
        pump(&mut l, "plant/p1", 0, 10);
        let e = l.finish(0, 10_000, &[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("asset `plant/p1`: 10 frames is too little data"),
            "{e}"
        );
        let mut l = Learner::new(LearnSpec::new("x", "plant/p1/{channel}")).unwrap();
        for i in 0..100 {
            l.observe("plant/p1/flow", i * 1000, 1.0);
        }
        let e = l.finish(0, 100_000, &[]).unwrap_err();
        assert!(e.to_string().contains("needs at least two"), "{e}");
    }
}
