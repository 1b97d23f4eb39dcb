//! Learned models over the API: learn one from the journal (`POST /api/v1/learn`,
//! installed in the running pipeline at once and kept in `STATE_DIR/learned`),
//! list them, and show one whole (the file, for inspection or export). The CLI
//! (`edgewatch learn`, `edgewatch learned`) is a client of these routes.

use super::json_body::JsonBody;
use super::query::parse_time;
use super::{ApiError, ApiState};
use crate::event::{now_ms, Severity};
use crate::learn::model::load_all;
use crate::learn::{LearnSpec, LearnedModel, Method};
use crate::learn_from_journal::{learn_from_journal, LearnFromJournalError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Where learned models are kept and how the running pipeline gets a new one.
#[derive(Clone)]
pub struct LearnedModels {
    pub state_dir: PathBuf,
    pub install: mpsc::Sender<LearnedModel>,
}

/// A learn request; unset fields take the defaults of [`LearnSpec::new`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LearnRequest {
    name: String,
    sensors: String,
    /// Start of the normal period: RFC 3339, epoch ms, or a duration ago (`7d`).
    from: String,
    /// End of it; now when absent.
    until: Option<String>,
    /// `pca` or `mset`.
    method: Option<Method>,
    lags: Option<usize>,
    smooth: Option<usize>,
    /// How slowly the model follows a normal asset's level (`1h`; `0s`: never).
    track: Option<String>,
    debounce: Option<u32>,
    clear_after: Option<u32>,
    severity: Option<Severity>,
}

impl LearnRequest {
    fn spec(&self) -> Result<LearnSpec, ApiError> {
        let mut spec = LearnSpec::new(&self.name, &self.sensors);
        if let Some(l) = self.lags {
            if l > 10 {
                return Err(ApiError::bad_request(format!(
                    "lags {l}: at most 10 earlier frames are joined to each frame"
                )));
            }
            spec.lags = l;
        }
        let positive = |what: &str, v: u64| {
            if v == 0 || v > 10_000 {
                Err(ApiError::bad_request(format!(
                    "{what} {v}: give a count of frames from 1 to 10000"
                )))
            } else {
                Ok(())
            }
        };
        if let Some(s) = self.smooth {
            positive("smooth", s as u64)?;
            spec.pca.smooth = s;
        }
        if let Some(m) = self.method {
            spec.method = m;
        }
        if let Some(t) = &self.track {
            let d = humantime::parse_duration(t).map_err(|e| {
                ApiError::bad_request(format!(
                    "track `{t}`: {e}; write a duration such as \"1h\" (\"0s\": never follow)"
                ))
            })?;
            spec.track_ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        }
        if let Some(d) = self.debounce {
            positive("debounce", u64::from(d))?;
            spec.debounce = d;
        }
        if let Some(c) = self.clear_after {
            positive("clear-after", u64::from(c))?;
            spec.clear_after = c;
        }
        if let Some(s) = self.severity {
            spec.severity = s;
        }
        Ok(spec)
    }
}

fn unavailable() -> ApiError {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        "learning needs the running daemon's pipeline (the daemon is stopping)".into(),
    )
}

pub async fn learn(
    State(s): State<ApiState>,
    JsonBody(req): JsonBody<LearnRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let models = s.learned.clone().ok_or_else(unavailable)?;
    let now = now_ms();
    let from = parse_time(&req.from, now).map_err(ApiError::bad_request)?;
    let until = match &req.until {
        Some(u) => parse_time(u, now).map_err(ApiError::bad_request)?,
        None => now,
    };
    let spec = req.spec()?;
    let reader = s.reader.clone();
    let state_dir = models.state_dir.clone();
    let (model, path) = tokio::task::spawn_blocking(move || {
        let model = learn_from_journal(&reader, spec, from, until).map_err(|e| match e {
            LearnFromJournalError::Store(e) => {
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            e => ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        })?;
        let path = model
            .save(&state_dir)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok::<_, ApiError>((model, path))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let summary = summary(&model);
    models
        .install
        .send(model)
        .await
        .map_err(|_| unavailable())?;
    Ok(Json(serde_json::json!({
        "model": summary,
        "file": path.display().to_string(),
    })))
}

pub async fn list(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let models = s.learned.clone().ok_or_else(unavailable)?;
    let (found, errors) = tokio::task::spawn_blocking(move || load_all(&models.state_dir))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(serde_json::json!({
        "models": found.iter().map(summary).collect::<Vec<_>>(),
        "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })))
}

pub async fn show(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<LearnedModel>, ApiError> {
    let models = s.learned.clone().ok_or_else(unavailable)?;
    let (found, _) = tokio::task::spawn_blocking(move || load_all(&models.state_dir))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    found
        .into_iter()
        .find(|m| m.name == name)
        .map(Json)
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("no learned model `{name}`: `edgewatch learned list` shows the models"),
            )
        })
}

/// What a person wants to see of a model: per asset the period, the data and
/// the limits, without the fitted matrices.
pub fn summary(m: &LearnedModel) -> serde_json::Value {
    serde_json::json!({
        "name": m.name,
        "method": m.method.as_str(),
        "sensors": m.sensors,
        "severity": m.severity.as_str(),
        "lags": m.lags,
        "smooth": m.smooth,
        "debounce": m.debounce,
        "clear-after": m.clear_after,
        "track-ms": m.track_ms,
        "learned-at": m.learned_at,
        "assets": m.assets.iter().map(|a| serde_json::json!({
            "asset": a.asset,
            "channels": a.channels,
            "from": a.from,
            "until": a.until,
            "frames": a.frames,
            "excluded-frames": a.excluded_frames,
            "period-ms": a.period_ms,
            "components": a.pca.components.len(),
            "explained": a.pca.explained,
            "t2-limit": a.pca.t2_limit,
            "q-limit": a.pca.q_limit,
            "remembered-states": a.similarity.as_ref().map(|s| s.memory.len()),
            "similarity-limit": a.similarity.as_ref().map(|s| s.limit),
        })).collect::<Vec<_>>(),
    })
}
