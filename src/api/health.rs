//! `/healthz` and `/readyz`. Health is the systemd watchdog's own progress probe
//! (the pipeline ticks and the store writer answers), so a wedged daemon fails
//! it instead of answering "ok" from a live HTTP thread. Readiness says whether
//! start-up is done and, per source, whether it is connected.

use super::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// As long as the watchdog would wait for the pipeline, and a short wait for the writer.
const PIPELINE_STALE_AFTER: Duration = Duration::from_secs(5);
const WRITER_ANSWER_WITHIN: Duration = Duration::from_secs(2);

pub async fn healthz(State(s): State<ApiState>) -> Response {
    let Some(writer) = s.writer.as_ref().and_then(|w| w.upgrade()) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response();
    };
    if !s.ready.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response();
    }
    match crate::systemd::probe(
        &s.metrics,
        &writer,
        PIPELINE_STALE_AFTER,
        WRITER_ANSWER_WITHIN,
    )
    .await
    {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

/// 200 once start-up is done (503 while starting or stopping); the body lists
/// every source with whether it is connected, and the names still waited for.
pub async fn readyz(State(s): State<ApiState>) -> Response {
    let ready = s.ready.load(Ordering::Relaxed);
    let all = s.metrics.sources();
    let sources: Vec<_> = all
        .iter()
        .map(|m| json!({"name": m.name, "kind": m.kind, "connected": m.connected.get() > 0}))
        .collect();
    let waiting: Vec<&str> = all
        .iter()
        .filter(|m| m.connected.get() <= 0)
        .map(|m| m.name.as_str())
        .collect();
    let body = Json(json!({
        "ready": ready,
        "sources": sources,
        "waiting_for": waiting,
    }));
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}
