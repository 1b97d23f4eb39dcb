//! Dead letters over the API: list them, resend them into their sink's outbox,
//! or drop them. The CLI (`edgewatch dead-letters`) is a client of these routes.

use super::json_body::JsonBody;
use super::{blocking, ApiError, ApiState};
use crate::store::{DeadLetterAction, DeadLetterOp, DeadLetterRow, WriteOp};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    sink: Option<String>,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

pub async fn list(
    State(s): State<ApiState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let reader = s.reader.clone();
    let limit = q.limit.clamp(1, 10_000);
    let rows: Vec<DeadLetterRow> =
        blocking(move || reader.dead_letters(q.sink.as_deref(), limit)).await?;
    Ok(Json(serde_json::json!({ "dead_letters": rows })))
}

/// Which dead letters: `ids`, or `all` (of `sink` when given). Nothing is
/// implied: an empty request is refused rather than read as "all".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    sink: Option<String>,
    ids: Option<Vec<i64>>,
    #[serde(default)]
    all: bool,
}

pub async fn resend(
    State(s): State<ApiState>,
    JsonBody(sel): JsonBody<Selection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = apply(&s, DeadLetterAction::Resend, sel).await?;
    Ok(Json(serde_json::json!({ "resent": n })))
}

pub async fn discard(
    State(s): State<ApiState>,
    JsonBody(sel): JsonBody<Selection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = apply(&s, DeadLetterAction::Drop, sel).await?;
    Ok(Json(serde_json::json!({ "dropped": n })))
}

async fn apply(s: &ApiState, action: DeadLetterAction, sel: Selection) -> Result<u64, ApiError> {
    let ids = match (sel.ids, sel.all) {
        (Some(_), true) => {
            return Err(ApiError::bad_request(
                "give either \"ids\" or \"all\": true, not both",
            ))
        }
        (None, false) => {
            return Err(ApiError::bad_request(
                "say which dead letters: \"ids\": [..] or \"all\": true",
            ))
        }
        (ids, _) => ids,
    };
    let unavailable = || {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store writer is not running (the daemon is stopping)".into(),
        )
    };
    let writer = s
        .writer
        .as_ref()
        .and_then(|w| w.upgrade())
        .ok_or_else(unavailable)?;
    let (op, done) = DeadLetterOp::new(action, sel.sink, ids);
    writer
        .send(WriteOp::DeadLetters(op))
        .await
        .map_err(|_| unavailable())?;
    // The API must not keep the writer alive at shutdown: its sender goes now.
    drop(writer);
    done.await
        .map_err(|_| unavailable())?
        .map_err(|e| ApiError(StatusCode::CONFLICT, e))
}
