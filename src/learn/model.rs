//! A model learned on the gateway, as the JSON file it is kept in
//! (`STATE_DIR/learned/NAME.json`): what it watches, how it alerts, what period
//! each asset's model learned from, and the fitted numbers themselves, readable
//! by a person and by any tool that reads JSON.

use super::pca::Pca;
use super::similarity::Similarity;
use crate::event::Severity;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The methods `learn` fits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// PCA with T-squared and Q control limits; with lags, dynamic PCA.
    Pca,
    /// Similarity to remembered normal states (MSET-style kernel regression):
    /// follows curved relations between channels that PCA flattens.
    #[default]
    Mset,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pca => "pca",
            Method::Mset => "mset",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LearnedModel {
    /// Rule name on the alerts it raises.
    pub name: String,
    pub method: Method,
    /// The sensors it learned from: a glob whose last level is `{channel}`.
    pub sensors: String,
    pub severity: Severity,
    /// Consecutive anomalous frames before an alert fires.
    pub debounce: u32,
    /// Consecutive normal frames before it resolves.
    pub clear_after: u32,
    /// Earlier frames joined to each frame (0: each frame on its own).
    pub lags: usize,
    /// Frames each statistic is averaged over before it is judged.
    pub smooth: usize,
    /// Time over which the model follows a slow change of level (ambient
    /// temperature through the day) while the asset is normal, in ms; 0: never.
    /// It never follows while an alert is open or building up.
    #[serde(default)]
    pub track_ms: i64,
    /// When it was learned (RFC 3339).
    pub learned_at: String,
    pub assets: Vec<AssetModel>,
}

/// One asset's fitted model and the data it came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AssetModel {
    /// The asset: the sensor ids without their last level.
    pub asset: String,
    /// The last level of each sensor, in input order.
    pub channels: Vec<String>,
    pub from: String,
    pub until: String,
    pub from_ms: i64,
    pub until_ms: i64,
    /// Frames learned from, and frames left out because an alert was open.
    pub frames: usize,
    pub excluded_frames: usize,
    /// Median time between frames; a gap of three restarts the lag and smoothing.
    pub period_ms: i64,
    /// Always fitted: its standardisation centres level tracking, and it scores
    /// the frames unless a similarity model does.
    pub pca: Pca,
    /// The similarity model of method `mset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<Similarity>,
}

impl AssetModel {
    pub fn sensor(&self, channel: usize) -> String {
        format!("{}/{}", self.asset, self.channels[channel])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a learned model: {message} (re-learn it with `edgewatch learn`, or remove the file)")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a state directory keeps its learned models.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("learned")
}

impl LearnedModel {
    pub fn file(&self, state_dir: &Path) -> PathBuf {
        dir(state_dir).join(format!("{}.json", self.name))
    }

    /// Writes the model, replacing an older one of the same name at once (a
    /// reader sees the old file or the new, never half of one).
    pub fn save(&self, state_dir: &Path) -> Result<PathBuf, ModelFileError> {
        let path = self.file(state_dir);
        let err = |source| ModelFileError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir(state_dir)).map_err(err)?;
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.into()))?;
        let tmp = path.with_extension("json.tmp");
        // Synced before the rename, so a power cut leaves the old model or the new.
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)?;
        Ok(path)
    }

    pub fn load(path: &Path) -> Result<Self, ModelFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let m: LearnedModel = serde_json::from_str(&text).map_err(|e| ModelFileError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        m.check().map_err(|message| ModelFileError::Parse {
            path: path.to_owned(),
            message,
        })?;
        Ok(m)
    }

    /// Shapes a hand-edited or damaged file could get wrong.
    fn check(&self) -> Result<(), String> {
        if self.debounce == 0 || self.clear_after == 0 || self.smooth == 0 {
            return Err("debounce, clear-after and smooth must be at least 1".into());
        }
        if self.track_ms < 0 {
            return Err("track-ms must be 0 (off) or a positive time".into());
        }
        for a in &self.assets {
            let width = a.channels.len() * (self.lags + 1);
            let p = &a.pca;
            let shaped = p.mean.len() == width
                && p.scale.len() == width
                && p.components.len() == p.variances.len()
                && p.components.iter().all(|c| c.len() == width);
            let positive = p.scale.iter().chain(&p.variances).all(|v| *v > 0.0)
                && p.t2_limit > 0.0
                && p.q_limit >= 0.0;
            let similar = match (&a.similarity, self.method) {
                (Some(s), Method::Mset) => {
                    s.mean.len() == width
                        && s.scale.len() == width
                        && !s.memory.is_empty()
                        && s.memory.iter().all(|m| m.len() == width)
                        && s.scale.iter().all(|v| *v > 0.0)
                        && s.width > 0.0
                        && s.limit > 0.0
                }
                (None, Method::Pca) => true,
                _ => false,
            };
            if a.channels.is_empty() || !shaped || !positive || !similar || a.period_ms <= 0 {
                return Err(format!(
                    "asset `{}`: the fitted numbers do not fit its {} channels",
                    a.asset,
                    a.channels.len()
                ));
            }
        }
        Ok(())
    }
}

/// Every model in a state directory, by file name; files that cannot be read are
/// returned as errors beside the rest.
pub fn load_all(state_dir: &Path) -> (Vec<LearnedModel>, Vec<ModelFileError>) {
    let mut models = Vec::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir(state_dir)) else {
        return (models, errors);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        match LearnedModel::load(&p) {
            Ok(m) => models.push(m),
            Err(e) => errors.push(e),
        }
    }
    (models, errors)
}
