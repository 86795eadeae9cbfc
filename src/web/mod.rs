//! The HTTP side: the browser UI (`pages`), the JSON API, the health check and metrics.
//! The alarm actions (acknowledge, shelve, unshelve) are the only writes; see `auth`.
//!
//! Routes are listed in [`router`]; handlers live in domain modules and get what they need
//! through `State<AppState>`. The web layer reads the live view and the store; it never talks
//! to a device.

mod alarms;
mod auth;
mod devices;
mod error;
mod pages;
mod serve;
mod session;
pub mod time;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

pub use auth::{AuthState, hash_password};
pub use error::{WebError, WebResult};
pub use serve::{Limits, serve};

use crate::live::Live;
use crate::metrics::Metrics;
use crate::store::Store;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Current device state.
    pub live: Live,
    /// History.
    pub store: Store,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Operator commands to the rules engine; `None` when it is not running.
    pub engine: Option<crate::rules::engine::EngineHandle>,
    /// Who may read and write: `[auth]`, the login sessions and the login rate limit.
    pub auth: std::sync::Arc<AuthState>,
    /// Alarm transitions as they are committed, for live pages (subscribe per browser).
    pub alarms: tokio::sync::broadcast::Sender<std::sync::Arc<crate::rules::Notice>>,
    /// The path prefix the UI is served under behind a reverse proxy (`""` or `"/plcdiag"`):
    /// links in pages start with it.
    pub base_path: std::sync::Arc<str>,
    /// Cancelled when the HTTP server shuts down: long-lived responses (the live event
    /// stream) end then, so shutdown does not wait for browsers to leave.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Set when a task the gateway cannot do without has ended while it runs (the rules
    /// engine, the store writer, ...): `/healthz` then answers 503 with it.
    pub failed: tokio::sync::watch::Receiver<Option<String>>,
}

/// Every route of the gateway.
pub fn router(state: AppState) -> Router {
    let base = state.base_path.clone();
    let routes = Router::new()
        .merge(pages::router())
        .merge(auth::router())
        .route("/healthz", get(healthz))
        // Browsers ask for it with every page; there is none (yet), and that is no error.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/api/devices", get(devices::list))
        .route("/api/devices/{name}", get(devices::one))
        .route("/api/devices/{name}/history", get(devices::history))
        .route("/api/devices/{name}/diagnostics", get(devices::diagnostics))
        .route("/api/devices/{name}/status", get(devices::status))
        .route("/api/alarms", get(alarms::open))
        .route("/api/alarms/history", get(alarms::history))
        .route("/api/alarms/kpis", get(alarms::kpis))
        .route("/api/alarms/{id}", get(alarms::one))
        .route("/api/alarms/{id}/ack", post(alarms::ack))
        .route("/api/alarms/{id}/shelve", post(alarms::shelve))
        .route("/api/alarms/{id}/unshelve", post(alarms::unshelve))
        .route("/api/notifications/undelivered", get(alarms::undelivered))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .fallback(not_found)
        .with_state(state);
    if base.is_empty() {
        routes
    } else {
        // Behind a reverse proxy under a sub-path: everything lives below it. `{base}/` is
        // what proxies and people type for the overview: send them to `{base}`.
        let to = base.to_string();
        Router::new()
            .nest(&base, routes)
            .route(
                &format!("{base}/"),
                get(move || async move { axum::response::Redirect::permanent(&to) }),
            )
            .fallback(not_found)
    }
}

/// Liveness and readiness: 200 while the history database answers and takes writes, 503
/// with the reason otherwise: a task the gateway needs has ended (`failed`), or a writer cannot
/// write the history (`store.faults`: `disk_full`, `io_error`, ... with since when and how much
/// it holds; polling goes on meanwhile, and it clears by itself when a write succeeds).
async fn healthz(State(state): State<AppState>) -> Response {
    let failed = state.failed.borrow().clone();
    if let Some(why) = failed {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "error", "failed": why })),
        )
            .into_response();
    }
    let faults = state.store.faults().all();
    if !faults.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "error", "store": { "faults": faults } })),
        )
            .into_response();
    }
    match state.store.ping().await {
        Ok(()) => axum::Json(json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: history database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "error", "store": "unavailable" })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> WebResult<Response> {
    let body = state
        .metrics
        .encode()
        .map_err(|e| WebError::Internal(anyhow::anyhow!("encoding metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// The OpenAPI description of the JSON API (written by `web/api/openapi.py`).
const OPENAPI: &str = include_str!("../../web/api/openapi.json");

/// `GET /api/openapi.json`.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> WebError {
    WebError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// The router over an empty live view and a fresh store, with `failed` as given.
    async fn app(failed: Option<&str>) -> (tempfile::TempDir, Router) {
        app_with(failed, Live::default()).await
    }

    /// The router over `live` and a fresh store.
    async fn app_with(failed: Option<&str>, live: Live) -> (tempfile::TempDir, Router) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&dir.path().join("h.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, failed) = tokio::sync::watch::channel(failed.map(str::to_owned));
        let app = router(AppState {
            live,
            store,
            metrics: Metrics::new(),
            engine: None,
            auth: std::sync::Arc::new(AuthState::new(Default::default())),
            alarms: tokio::sync::broadcast::channel(1).0,
            base_path: std::sync::Arc::from(""),
            shutdown: tokio_util::sync::CancellationToken::new(),
            failed,
        });
        (dir, app)
    }

    async fn healthz(app: Router) -> (StatusCode, serde_json::Value) {
        let req = axum::http::Request::get("/healthz")
            .body(axum::body::Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        let res = app.oneshot(req).await.unwrap_or_else(|e| panic!("{e}"));
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 4096)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let body = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
        (status, body)
    }

    #[tokio::test]
    async fn healthz_fails_once_an_essential_task_has_ended() {
        let (_dir, ok) = app(None).await;
        assert_eq!(
            healthz(ok).await,
            (StatusCode::OK, json!({ "status": "ok" }))
        );
        let (_dir, broken) = app(Some("the rules engine panicked")).await;
        assert_eq!(
            healthz(broken).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "error", "failed": "the rules engine panicked" })
            )
        );
    }

    /// A router whose live view has an S7 CPU and a MELSEC PLC, for the device pages.
    async fn plant() -> (tempfile::TempDir, Router) {
        let text = "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"127.0.0.1\"\n\
                    [[devices]]\nname = \"plc\"\nkind = \"melsec\"\naddress = \"127.0.0.1:5007\"\n";
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = crate::config::parse(text, dir.path()).unwrap_or_else(|p| panic!("{p:?}"));
        app_with(None, Live::new(&config.devices, chrono::Utc::now())).await
    }

    async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
        let req = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        let res = app
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Every GET route that reads a time window, with `{q}` for the query.
    const WINDOWED: [&str; 7] = [
        "/api/alarms/history?{q}",
        "/api/alarms/kpis?{q}",
        "/api/devices/cpu/history?{q}",
        "/api/devices/cpu/diagnostics?{q}",
        "/api/devices/cpu/status?{q}",
        "/devices/cpu?{q}",
        "/devices/plc?{q}",
    ];

    /// Issue 12, finding 3: extreme times made `to - span` overflow and the handlers panic.
    #[tokio::test]
    async fn extreme_times_are_a_400_with_a_message_not_a_panic() {
        let (_dir, app) = plant().await;
        for q in [
            "from=-8334601228800000&to=0",
            "to=-8334601228800000",
            "from=9223372036854775807",
            "to=-9223372036854775808",
            "from=0&to=253402300799999",
            "from=%2B262143-01-01T00%3A00%3A00Z",
        ] {
            for route in WINDOWED {
                let uri = route.replace("{q}", q);
                let (status, body) = get(&app, &uri).await;
                assert!(status.as_u16() < 500, "{uri}: {status} {body}");
                if uri.starts_with("/api/") && q != "from=0&to=253402300799999" {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
                    assert!(
                        body.contains("range") || body.contains("neither"),
                        "{uri}: {body}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any value of any query parameter gives an answer below 500.
        #[test]
        fn any_query_gives_an_answer_below_500(
            key in proptest::sample::select(vec!["from", "to", "limit", "before", "class", "after", "window", "device", "rule", "priority", "state", "transition"]),
            value in "\\PC{0,24}",
            route in proptest::sample::select(WINDOWED.to_vec()),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            rt.block_on(async {
                let (_dir, app) = plant().await;
                let value: String = form_urlencoded(&value);
                let uri = route.replace("{q}", &format!("{key}={value}"));
                let (status, body) = get(&app, &uri).await;
                assert!(status.as_u16() < 500, "{uri}: {status} {body}");
            });
        }
    }

    /// Percent-encodes everything but unreserved characters.
    fn form_urlencoded(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// The OpenAPI document names exactly the router's `/api` routes, each with the router's
    /// methods, and parses as JSON.
    #[test]
    fn the_openapi_document_describes_every_api_route_and_no_other() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI).unwrap_or_else(|e| panic!("openapi.json: {e}"));
        let mut documented: Vec<String> = doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .flat_map(|(path, item)| {
                        item.as_object()
                            .into_iter()
                            .flat_map(|m| m.keys())
                            .map(move |method| format!("{} {path}", method.to_uppercase()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        documented.sort();
        // The routes as the router is built (this file and auth.rs), read from the source.
        let mut routed = Vec::new();
        for source in [include_str!("mod.rs"), include_str!("auth.rs")] {
            for line in source.lines().map(str::trim) {
                let Some(rest) = line.strip_prefix(".route(\"/api/") else {
                    continue;
                };
                let Some((path, handler)) = rest.split_once("\", ") else {
                    continue;
                };
                let method = if handler.starts_with("post(") {
                    "POST"
                } else {
                    "GET"
                };
                routed.push(format!("{method} /api/{path}"));
            }
        }
        routed.sort();
        assert_eq!(documented, routed);
    }
}
