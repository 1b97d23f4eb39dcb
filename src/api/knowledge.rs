//! Knowledge routes: documents (add, list, delete), semantic search over alerts,
//! document chunks and summaries of sensors, and grounded questions (JSON or
//! server-sent events).

use super::json_body::JsonBody;
use super::{parse_time, ApiError, ApiState};
use crate::knowledge::ask::{AskError, Progress};
use crate::knowledge::{Kind, Knowledge, KnowledgeError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;

impl From<KnowledgeError> for ApiError {
    fn from(e: KnowledgeError) -> Self {
        let status = match e {
            KnowledgeError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            KnowledgeError::Unavailable(_) | KnowledgeError::Embed(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            KnowledgeError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

pub(super) fn knowledge(s: &ApiState) -> Result<Arc<Knowledge>, ApiError> {
    s.knowledge
        .clone()
        .map_err(|why| ApiError(StatusCode::SERVICE_UNAVAILABLE, why.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    pub title: String,
    #[serde(default)]
    pub source: String,
    pub text: String,
}

#[derive(Serialize)]
pub struct Added {
    pub id: i64,
    pub chunks: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfQuery {
    pub title: Option<String>,
    pub source: Option<String>,
}

/// JSON `{title, source, text}`, or a PDF as the body (`Content-Type:
/// application/pdf`, `?title=&source=`) whose text is extracted here.
pub(super) async fn add_document(
    State(s): State<ApiState>,
    axum::extract::Query(q): axum::extract::Query<PdfQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Added>), ApiError> {
    let pdf = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/pdf"));
    let d = if pdf {
        let text = tokio::task::spawn_blocking(move || crate::knowledge::pdf::text(&body))
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let title = q.title.unwrap_or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("PDF document")
                .chars()
                .take(120)
                .collect()
        });
        NewDocument {
            source: q.source.unwrap_or_default(),
            title,
            text,
        }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "expected JSON {{\"title\", \"text\", \"source\"}} or a PDF body with Content-Type: application/pdf: {e}"
            ))
        })?
    };
    let k = knowledge(&s)?;
    if d.title.trim().is_empty() || d.text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "`title` and `text` must not be empty",
        ));
    }
    let source = if d.source.is_empty() {
        d.title.clone()
    } else {
        d.source
    };
    let (id, chunks) = k.add_document(&d.title, &source, &d.text).await?;
    Ok((StatusCode::CREATED, Json(Added { id, chunks })))
}

pub(super) async fn list_documents(
    State(s): State<ApiState>,
) -> Result<Json<Vec<crate::store::DocumentRow>>, ApiError> {
    let reader = s.reader.clone();
    Ok(Json(super::blocking(move || reader.documents()).await?))
}

pub(super) async fn delete_document(
    State(s): State<ApiState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let k = knowledge(&s)?;
    if k.delete_document(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(StatusCode::NOT_FOUND, format!("no document {id}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default = "default_k")]
    pub k: usize,
    /// `alerts`, `documents`, `summaries`; all when empty.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Alerts fired and summary windows overlapping this range (RFC 3339, epoch
    /// ms, or a duration ago); documents are not filtered.
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

fn default_k() -> usize {
    5
}

#[derive(Serialize, Clone)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Found {
    Alert {
        score: f32,
        #[serde(flatten)]
        alert: crate::store::AlertRow,
    },
    Document {
        score: f32,
        #[serde(flatten)]
        chunk: crate::store::ChunkRow,
    },
    Summary {
        score: f32,
        #[serde(flatten)]
        summary: crate::store::knowledge::Summary,
        text: String,
    },
}

#[derive(Serialize)]
pub struct SearchResponse {
    pub query: String,
    pub results: Vec<Found>,
}

pub(super) async fn search(
    State(s): State<ApiState>,
    JsonBody(q): JsonBody<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    let k = knowledge(&s)?;
    let kinds = q
        .kinds
        .iter()
        .map(|x| {
            Kind::parse(x).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "kinds: `{x}` is not one of alerts, documents, summaries"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if q.query.trim().is_empty() || !(1..=100).contains(&q.k) {
        return Err(ApiError::bad_request(
            "`query` must not be empty and `k` must be 1 to 100",
        ));
    }
    let now = crate::event::now_ms();
    let time = |t: &Option<String>| {
        t.as_deref()
            .map(|t| parse_time(t, now))
            .transpose()
            .map_err(ApiError::bad_request)
    };
    let (since, until) = (time(&q.since)?, time(&q.until)?);
    let results = search_found(&k, &q.query, q.k, &kinds, since, until).await?;
    Ok(Json(SearchResponse {
        query: q.query,
        results,
    }))
}

/// Ranked alerts (fired within `since..until`), document chunks and summaries
/// (overlapping `since..until`) for a query.
pub async fn search_found(
    k: &Knowledge,
    query: &str,
    n: usize,
    kinds: &[Kind],
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<Found>, KnowledgeError> {
    // Over-fetch: a time range filters alerts and summaries after ranking.
    let filtered = since.is_some() || until.is_some();
    let hits = k
        .nearest(query, if filtered { n * 20 } else { n }, kinds)
        .await?;
    let reader = k.reader.clone();
    let (lo, hi) = (since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX));
    let found =
        tokio::task::spawn_blocking(move || -> Result<Vec<Found>, crate::store::StoreError> {
            let mut out = Vec::new();
            for h in hits {
                match h.kind {
                    Kind::Alert => {
                        if let Some(a) = reader
                            .alerts_by_id(std::slice::from_ref(&h.reference))?
                            .pop()
                        {
                            if (lo..=hi).contains(&a.fired_ms) {
                                out.push(Found::Alert {
                                    score: h.score,
                                    alert: a,
                                });
                            }
                        }
                    }
                    Kind::Chunk => {
                        let Ok(id) = h.reference.parse::<i64>() else {
                            continue;
                        };
                        if let Some(c) = reader.chunks_by_id(&[id])?.pop() {
                            out.push(Found::Document {
                                score: h.score,
                                chunk: c,
                            });
                        }
                    }
                    Kind::Summary => {
                        if let Some(s) = reader.summary(&h.reference)? {
                            if s.start_ms <= hi && s.end_ms >= lo {
                                out.push(Found::Summary {
                                    score: h.score,
                                    text: s.text(),
                                    summary: s,
                                });
                            }
                        }
                    }
                }
                if out.len() >= n {
                    break;
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| KnowledgeError::Unavailable(e.to_string()))??;
    Ok(found)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question: String,
    /// Server-sent events: `facts`, then `token`s (a draft), then the checked
    /// `answer` (or an `error`).
    #[serde(default)]
    pub stream: bool,
}

fn busy(n: usize) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "5")],
        Json(serde_json::json!({ "error": format!("busy: {n} question(s) already waiting for the model; retry in 5 s") })),
    )
        .into_response()
}

pub(super) async fn ask(
    State(s): State<ApiState>,
    JsonBody(q): JsonBody<Question>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let k = knowledge(&s)?;
    if q.question.trim().is_empty() || q.question.len() > 2000 {
        return Err(ApiError::bad_request(
            "`question` must be 1 to 2000 characters",
        ));
    }
    if q.stream {
        if k.asker.is_full() {
            return Ok(busy(k.asker.max_waiting()));
        }
        return Ok(ask_stream(k, q.question, &s.tasks).into_response());
    }
    match k.asker.ask(&k, &q.question).await {
        Ok(a) => Ok(Json(a).into_response()),
        Err(AskError::Busy(n)) => Ok(busy(n)),
        Err(AskError::Knowledge(e)) => Err(e.into()),
    }
}

/// The streamed form of [`ask`]: events as the question makes progress.
fn ask_stream(
    k: Arc<Knowledge>,
    question: String,
    tasks: &crate::shutdown::Tasks,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(256);
    let (ptx, mut prx) = tokio::sync::mpsc::channel::<Progress>(256);
    let forward = tx.clone();
    let progress = tasks.spawn(async move {
        while let Some(p) = prx.recv().await {
            let event = match p {
                Progress::Facts { range, facts } => Event::default()
                    .event("facts")
                    .data(json!({ "range": range, "facts": facts }).to_string()),
                Progress::Token(t) => Event::default()
                    .event("token")
                    .data(json!({ "text": t }).to_string()),
            };
            if forward.send(Ok(event)).await.is_err() {
                break;
            }
        }
    });
    tasks.spawn_until_stop(async move {
        let last = match k.asker.ask_with(&k, &question, &[], Some(ptx)).await {
            Ok(a) => Event::default()
                .event("answer")
                .data(serde_json::to_string(&a).unwrap_or_default()),
            Err(e) => Event::default()
                .event("error")
                .data(json!({ "error": e.to_string() }).to_string()),
        };
        // Every token before the answer.
        let _ = progress.await;
        let _ = tx.send(Ok(last)).await;
    });
    Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response()
}
