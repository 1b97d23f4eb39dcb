//! An OpenAI-compatible surface, so tools written for that API (the official
//! `openai` Python client among them) work with `base_url` pointed at the gateway:
//! `GET /v1/models`, `POST /v1/embeddings`, `POST /v1/chat/completions` (with
//! `stream: true` as server-sent events). The model `edgewatch-grounded` answers
//! the last user message through the grounded ask path; the language model's own
//! name chats plainly.

use super::json_body::JsonBody;
use super::knowledge::knowledge;
use super::{ApiError, ApiState};
use crate::knowledge::ask::AskError;
use crate::ml::llm::Stop;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;

pub const EMBEDDING_MODEL: &str = "all-minilm-l6-v2";
pub const GROUNDED_MODEL: &str = "edgewatch-grounded";

fn now_s() -> i64 {
    crate::event::now_ms() / 1000
}

pub(super) async fn models(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let k = knowledge(&s)?;
    // The plain chat model only when there is one to run; grounded answers always
    // work (from the facts alone without a model).
    let chat = k.asker.chat_model();
    let data: Vec<Value> = [Some(EMBEDDING_MODEL), Some(GROUNDED_MODEL), chat.as_deref()]
        .iter()
        .flatten()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "edgewatch"}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

#[derive(Deserialize)]
pub struct EmbeddingsRequest {
    #[serde(default)]
    pub model: String,
    pub input: Input,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Input {
    One(String),
    Many(Vec<String>),
}

pub(super) async fn embeddings(
    State(s): State<ApiState>,
    JsonBody(r): JsonBody<EmbeddingsRequest>,
) -> Result<Json<Value>, ApiError> {
    let k = knowledge(&s)?;
    let texts = match r.input {
        Input::One(t) => vec![t],
        Input::Many(v) => v,
    };
    if texts.is_empty() || texts.len() > 256 {
        return Err(ApiError::bad_request("`input`: 1 to 256 strings"));
    }
    let vectors = k.embed(texts).await?;
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
        .collect();
    let model = if r.model.is_empty() {
        EMBEDDING_MODEL.to_owned()
    } else {
        r.model
    };
    Ok(Json(
        json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}),
    ))
}

#[derive(Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, alias = "max_completion_tokens")]
    pub max_tokens: Option<usize>,
}

#[derive(Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
}

fn busy(e: AskError) -> ApiError {
    match e {
        AskError::Busy(_) => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        AskError::Knowledge(k) => k.into(),
    }
}

pub(super) async fn chat(
    State(s): State<ApiState>,
    JsonBody(r): JsonBody<ChatRequest>,
) -> Result<Response, ApiError> {
    let k = knowledge(&s)?;
    let id = format!("chatcmpl-{:x}", crate::event::now_ms());
    let last_user = r
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.clone())
        .ok_or_else(|| ApiError::bad_request("`messages` needs a user message"))?;
    if r.model == GROUNDED_MODEL {
        // Earlier user turns carry the subject of a follow-up ("and on line 1?").
        let users: Vec<String> = r
            .messages
            .iter()
            .filter(|m| m.role == "user")
            .filter_map(|m| m.content.clone())
            .collect();
        let previous = &users[..users.len().saturating_sub(1)];
        let a = k
            .asker
            .ask_with(&k, &last_user, previous, None)
            .await
            .map_err(busy)?;
        let content = a.answer.clone();
        let extra = json!({"path": a.path, "note": a.note, "citations": a.citations});
        if r.stream {
            let events = vec![
                chunk(
                    &id,
                    &r.model,
                    json!({"role": "assistant", "content": ""}),
                    None,
                ),
                chunk(&id, &r.model, json!({"content": content}), None),
                chunk(&id, &r.model, json!({}), Some("stop")),
            ];
            return Ok(sse(events.into_iter().map(Ok).collect::<Vec<_>>()));
        }
        return Ok(Json(completion(
            &id,
            &r.model,
            &content,
            "stop",
            0,
            0,
            Some(extra),
        ))
        .into_response());
    }
    let chat = k.asker.chat_model();
    if chat.as_deref() != Some(r.model.as_str()) {
        let or_chat = chat.map_or(String::new(), |c| format!(" or {c}"));
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "model `{}` does not exist here: use {GROUNDED_MODEL}{or_chat} (GET /v1/models)",
                r.model
            ),
        ));
    }
    let turns: Vec<(String, String)> = r
        .messages
        .iter()
        .filter(|m| {
            matches!(
                m.role.as_str(),
                "system" | "developer" | "user" | "assistant"
            )
        })
        .map(|m| {
            (
                if m.role == "developer" {
                    "system".to_owned()
                } else {
                    m.role.clone()
                },
                m.content.clone().unwrap_or_default(),
            )
        })
        .collect();
    let max_tokens = r.max_tokens.unwrap_or(k.asker.max_tokens()).clamp(1, 1024);
    if !r.stream {
        let (_, g) = k
            .asker
            .generate(turns, max_tokens, Box::new(|_| {}))
            .await
            .map_err(busy)?
            .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e))?;
        let finish = if g.stop == Stop::End {
            "stop"
        } else {
            "length"
        };
        return Ok(Json(completion(
            &id,
            &r.model,
            &g.text,
            finish,
            g.prompt_tokens,
            g.tokens,
            None,
        ))
        .into_response());
    }
    // Streaming: tokens go from the generating thread to the response as they come.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(256);
    let _ = tx
        .send(Ok(chunk(
            &id,
            &r.model,
            json!({"role": "assistant", "content": ""}),
            None,
        )))
        .await;
    let (k2, model, id2) = (k.clone(), r.model.clone(), id.clone());
    s.tasks.spawn_until_stop(async move {
        let token_tx = tx.clone();
        let (m, i) = (model.clone(), id2.clone());
        let on_token = Box::new(move |t: &str| {
            let _ = token_tx.blocking_send(Ok(chunk(&i, &m, json!({"content": t}), None)));
        });
        let finish = match k2.asker.generate(turns, max_tokens, on_token).await {
            Ok(Ok((_, g))) if g.stop == Stop::End => "stop",
            Ok(Ok(_)) => "length",
            Ok(Err(e)) => {
                let _ = tx
                    .send(Ok(
                        Event::default().data(json!({"error": {"message": e}}).to_string())
                    ))
                    .await;
                "stop"
            }
            Err(e) => {
                let _ =
                    tx.send(Ok(Event::default()
                        .data(json!({"error": {"message": e.to_string()}}).to_string())))
                        .await;
                "stop"
            }
        };
        let _ = tx
            .send(Ok(chunk(&id2, &model, json!({}), Some(finish))))
            .await;
        let _ = tx.send(Ok(Event::default().data("[DONE]"))).await;
    });
    Ok(Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response())
}

fn sse(mut events: Vec<Result<Event, Infallible>>) -> Response {
    events.push(Ok(Event::default().data("[DONE]")));
    Sse::new(tokio_stream::iter(events)).into_response()
}

fn chunk(id: &str, model: &str, delta: Value, finish: Option<&str>) -> Event {
    Event::default().data(
        json!({
            "id": id, "object": "chat.completion.chunk", "created": now_s(), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        })
        .to_string(),
    )
}

fn completion(
    id: &str,
    model: &str,
    content: &str,
    finish: &str,
    prompt_tokens: usize,
    tokens: usize,
    edgewatch: Option<Value>,
) -> Value {
    let mut v = json!({
        "id": id, "object": "chat.completion", "created": now_s(), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens, "total_tokens": prompt_tokens + tokens}
    });
    if let Some(e) = edgewatch {
        v["edgewatch"] = e;
    }
    v
}
