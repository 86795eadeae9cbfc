//! One error type for every handler, rendered as JSON with a fitting status code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No configured device has this name.
    #[error("no device named `{0}`")]
    DeviceNotFound(String),
    /// No alarm has this id.
    #[error("no alarm with id {0}")]
    AlarmNotFound(i64),
    /// No such route.
    #[error("not found")]
    NotFound,
    /// A write action without valid credentials (once authentication is configured).
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// Valid credentials, but the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request is valid but the alarm's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// A part of the gateway that the request needs is not running.
    #[error("{0}")]
    Unavailable(String),
    /// The request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on our side; details go to the log, not to the client.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Handler result.
pub type WebResult<T> = Result<T, WebError>;

impl From<crate::store::Error> for WebError {
    fn from(e: crate::store::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::DeviceNotFound(_) | Self::AlarmNotFound(_) | Self::NotFound => {
                StatusCode::NOT_FOUND
            }
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                    Json(json!({ "error": self.to_string() })),
                )
                    .into_response();
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(e) => {
                // Logged once here; the client only learns that it was our fault.
                tracing::error!(error = format!("{e:#}"), "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
