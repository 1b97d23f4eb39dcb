//! HTTP API: health, Prometheus metrics, status, sensors, alerts, aggregates,
//! documents, search and questions.
//! Loopback by default; a bearer token guards every route when one is configured.

mod cursor;
mod dead_letters;
mod health;
mod json_body;
mod knowledge;
pub mod learn;
mod openai;
mod query;
pub mod serve;

use crate::event::now_ms;
use crate::metrics::Metrics;
use crate::sensor_glob::SensorGlob;
use crate::store::{AlertFilter, Reader};
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
pub use query::parse_time as query_time;
use query::{parse_time, AggregateQuery, AlertQuery};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiState {
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
    pub token: Option<Arc<str>>,
    pub gateway: Arc<str>,
    /// The store writer, for operator actions (dead letters). Weak: the API
    /// must not keep the writer running once the daemon stops it.
    pub writer: Option<tokio::sync::mpsc::WeakSender<crate::store::WriteOp>>,
    /// Embeddings, search, questions; or why they are off.
    pub knowledge: Result<Arc<crate::knowledge::Knowledge>, Arc<str>>,
    /// Learned models; `None` where no pipeline runs to install them.
    pub learned: Option<learn::LearnedModels>,
    /// The API's stage of the shutdown tree, for tasks a request starts.
    pub tasks: crate::shutdown::Tasks,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/sensors", get(sensors))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/aggregates", get(aggregates))
        .route("/api/v1/dead-letters", get(dead_letters::list))
        .route(
            "/api/v1/dead-letters/resend",
            axum::routing::post(dead_letters::resend),
        )
        .route(
            "/api/v1/dead-letters/drop",
            axum::routing::post(dead_letters::discard),
        )
        .route(
            "/api/v1/documents",
            get(knowledge::list_documents)
                .post(knowledge::add_document)
                .layer(axum::extract::DefaultBodyLimit::max(8 << 20)),
        )
        .route(
            "/api/v1/documents/{id}",
            axum::routing::delete(knowledge::delete_document),
        )
        .route("/api/v1/learn", axum::routing::post(learn::learn))
        .route("/api/v1/learned", get(learn::list))
        .route("/api/v1/learned/{name}", get(learn::show))
        .route("/api/v1/search", axum::routing::post(knowledge::search))
        .route("/api/v1/ask", axum::routing::post(knowledge::ask))
        .route("/v1/models", get(openai::models))
        .route("/v1/embeddings", axum::routing::post(openai::embeddings))
        .route("/v1/chat/completions", axum::routing::post(openai::chat))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// An error answered as `{"error": "..."}` with its status.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl ApiError {
    fn bad_request(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

async fn auth(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes()));
        if !ok {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "send Authorization: Bearer <token from api.token-file>".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn metrics(State(s): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        s.metrics.render(),
    )
        .into_response()
}

/// Runs a store read off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

#[derive(Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: &'static str,
    pub connected: bool,
    pub messages: u64,
    pub readings: u64,
    pub rejected: u64,
}

#[derive(Serialize)]
pub struct SinkStatus {
    pub name: String,
    pub kind: &'static str,
    pub queue_items: i64,
    pub queue_bytes: i64,
    pub queue_age_s: i64,
    pub delivered: i64,
    pub dropped_alerts: i64,
    pub dropped_aggregates: i64,
    pub dead_letters: i64,
    pub retries: u64,
    pub breaker: &'static str,
    pub connected: bool,
    pub send_p99_ms: f64,
    pub last_error: Option<String>,
}

impl SinkStatus {
    fn of(x: &crate::metrics::SinkMetrics) -> Self {
        let oldest = x.oldest_ms.get();
        SinkStatus {
            name: x.name.clone(),
            kind: x.kind,
            queue_items: x.queue_items.get(),
            queue_bytes: x.queue_bytes.get(),
            queue_age_s: if oldest == 0 {
                0
            } else {
                ((crate::event::now_ms() - oldest) / 1000).max(0)
            },
            delivered: x.delivered.get(),
            dropped_alerts: x.dropped_alerts.get(),
            dropped_aggregates: x.dropped_aggregates.get(),
            dead_letters: x.dead_letters.get(),
            retries: x.retries.get(),
            breaker: match x.breaker.get() {
                1 => "open",
                2 => "half-open",
                _ => "closed",
            },
            connected: x.connected.get() == 1,
            send_p99_ms: x.send_latency_us.summary().3 as f64 / 1000.0,
            last_error: x.last_error(),
        }
    }
}

#[derive(Serialize)]
pub struct Status {
    pub gateway: String,
    pub version: &'static str,
    pub ready: bool,
    pub uptime_s: u64,
    pub readings_total: u64,
    pub readings_per_s: i64,
    pub alerts_firing: i64,
    pub journal_rows: i64,
    pub db_bytes: u64,
    pub commit_p99_ms: f64,
    pub ingest_queue: i64,
    pub writer_queue: i64,
    pub sources: Vec<SourceStatus>,
    pub sinks: Vec<SinkStatus>,
}

async fn status(State(s): State<ApiState>) -> Result<Json<Status>, ApiError> {
    let reader = s.reader.clone();
    let stats = blocking(move || reader.stats()).await?;
    let m = &s.metrics;
    Ok(Json(Status {
        gateway: s.gateway.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        ready: s.ready.load(Ordering::Relaxed),
        uptime_s: m.started.elapsed().as_secs(),
        readings_total: m.readings_in.get(),
        readings_per_s: m.readings_per_s.get(),
        alerts_firing: m.alerts_firing.get(),
        journal_rows: stats.journal_rows,
        db_bytes: stats.db_bytes,
        commit_p99_ms: m.commit_latency_us.summary().3 as f64 / 1000.0,
        ingest_queue: m.ingest_queue.get(),
        writer_queue: m.writer_queue.get(),
        sources: m
            .sources()
            .iter()
            .map(|x| SourceStatus {
                name: x.name.clone(),
                kind: x.kind,
                connected: x.connected.get() == 1,
                messages: x.messages.get(),
                readings: x.readings.get(),
                rejected: x.rejected_total(),
            })
            .collect(),
        sinks: m.sinks().iter().map(|x| SinkStatus::of(x)).collect(),
    }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SensorPage {
    /// The `next` of the previous page.
    after: Option<String>,
    limit: Option<usize>,
}

/// Sensors by name, a page at a time (1,000 unless `limit` says otherwise, at
/// most 10,000); `next` is the cursor of the next page, null on the last.
async fn sensors(
    State(s): State<ApiState>,
    Query(q): Query<SensorPage>,
) -> Result<Response, ApiError> {
    let reader = s.reader.clone();
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let rows = blocking(move || reader.sensors_page(q.after.as_deref(), limit + 1)).await?;
    let (rows, next) = cursor::page(rows, limit, |r| r.id.clone());
    Ok(Json(serde_json::json!({ "sensors": rows, "next": next })).into_response())
}

fn glob(pattern: Option<&str>) -> Result<Option<SensorGlob>, ApiError> {
    pattern
        .map(|p| {
            SensorGlob::new(&[p])
                .map_err(|e| ApiError::bad_request(format!("sensor: `{p}` is not a glob: {e}")))
        })
        .transpose()
}

async fn alerts(
    State(s): State<ApiState>,
    Query(q): Query<AlertQuery>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    if let Some(sev) = &q.severity {
        if crate::event::Severity::parse(sev).is_none() {
            return Err(ApiError::bad_request(
                "severity: use info, warning or critical",
            ));
        }
    }
    if let Some(state) = &q.state {
        if state != "firing" && state != "resolved" {
            return Err(ApiError::bad_request("state: use firing or resolved"));
        }
    }
    let filter = AlertFilter {
        since_ms: q
            .since
            .as_deref()
            .map(|t| parse_time(t, now).map_err(ApiError::bad_request))
            .transpose()?,
        until_ms: q
            .until
            .as_deref()
            .map(|t| parse_time(t, now).map_err(ApiError::bad_request))
            .transpose()?,
        sensor: glob(q.sensor.as_deref())?,
        severity: q.severity.clone(),
        state: q.state.clone(),
        // One more than asked: whether there is a next page.
        limit: limit + 1,
        after: q.after.as_deref().map(cursor::decode).transpose()?,
    };
    let reader = s.reader.clone();
    let rows = blocking(move || reader.alerts(&filter)).await?;
    let (rows, next) = cursor::page(rows, limit, |a| cursor::encode(a.fired_ms, &a.id));
    Ok(Json(serde_json::json!({ "alerts": rows, "next": next })).into_response())
}

async fn aggregates(
    State(s): State<ApiState>,
    Query(q): Query<AggregateQuery>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let from = match &q.from {
        Some(t) => parse_time(t, now).map_err(ApiError::bad_request)?,
        None => now - 3_600_000,
    };
    let to = match &q.to {
        Some(t) => parse_time(t, now).map_err(ApiError::bad_request)?,
        None => i64::MAX,
    };
    let sensor = glob(q.sensor.as_deref())?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 100_000);
    let after = q.after.as_deref().map(cursor::decode).transpose()?;
    let reader = s.reader.clone();
    let rows = blocking(move || {
        let after = after.as_ref().map(|(ms, sensor)| (*ms, sensor.as_str()));
        reader.aggregates(sensor.as_ref(), (from, to), after, limit + 1)
    })
    .await?;
    let (rows, next) = cursor::page(rows, limit, |a| {
        cursor::encode(a.window_start_ms, &a.sensor)
    });
    Ok(Json(serde_json::json!({ "aggregates": rows, "next": next })).into_response())
}
