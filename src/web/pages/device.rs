//! The device page: `GET /devices/{name}`.

use axum::Router;

use super::AppState;

/// The device page's routes (merged into the page routes).
pub(super) fn router() -> Router<AppState> {
    Router::new()
}
