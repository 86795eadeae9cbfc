//! The HTML pages plant engineers use: overview, device, alarms. Rendered on the server from
//! templates under `web/templates/`, embedded in the binary; live updates come over SSE.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use super::AppState;

/// The page routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index() -> Html<&'static str> {
    Html(include_str!("../../../web/index.html"))
}
