//! JSON request bodies whose errors come back like every other API error, as
//! `{"error": "..."}` with the status axum chose (400 malformed, 415 wrong
//! content type, 422 wrong shape), not as axum's plain-text rejection.

use super::ApiError;
use axum::extract::{FromRequest, Request};
use axum::Json;
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError(e.status(), e.body_text())),
        }
    }
}
