//! The HTML pages plant engineers use: overview, device, alarms. Rendered on the server from
//! askama templates under `web/templates/` (compiled into the binary, so the UI works offline);
//! live updates come over Server-Sent Events from `/events`.
//!
//! Every page struct carries a [`PageCtx`] as `ctx`: the base path that starts every link and
//! asset URL, the language and its messages, and who is looking. Page templates extend
//! `base.html`, which reads only `ctx`.
//!
//! Routes: `/` overview, `/alarms`, `/events` (SSE), `/static/{file}`, the device page
//! (`device.rs`), and an HTML 404 for any other page address.
//!
//! DOM contract (browser tests rely on it; `tests/pages.rs` pins it):
//! - overview rows `[data-device="NAME"]` with `data-state` one of `online`, `offline`,
//!   `demoted`, `unknown`, `stop`, `cclink_fault` (STOP and a CC-Link fault win over online);
//!   counts `#counts [data-count="STATE"]`; the filter `#device-filter`;
//! - `#live-status` with `data-live="connected"` or `"lost"`; the sound toggle `#alarm-sound`;
//!   the language links `a[data-lang="en"]`, `a[data-lang="zh-CN"]`;
//! - alarm rows `[data-alarm-id="ID"]` with `data-state` (ISA state) and `data-priority`; in the
//!   row `button[data-action="ack"]`, `button[data-action="shelve"]`, `input[name="note"]`,
//!   `select[name="duration"]` (write buttons only for those who may write).

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};

use super::auth::{CurrentUser, auth_enabled};
use super::{AppState, WebError};
use crate::config::Role;

mod alarms;
mod assets;
mod charts;
mod device;
mod i18n;
mod live;
mod overview;

pub(crate) use i18n::{Lang, Msgs};

/// The page routes.
///
/// `/{*path}` answers unknown page addresses with the HTML 404 page (and unknown `/api/…`
/// addresses with the JSON error); more specific routes always win over it.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/alarms", get(alarms::page))
        .route("/events", get(live::events))
        .route("/static/{file}", get(assets::serve))
        .route("/{*path}", any(not_found))
        .merge(device::router())
}

/// What every page needs besides its own data; the request's part of the page.
#[derive(Debug, Clone)]
pub(crate) struct PageCtx {
    /// `""` or e.g. `"/plcdiag"`: prefix of every link and asset URL.
    pub(crate) base: String,
    /// The chosen language.
    pub(crate) lang: Lang,
    /// Its messages.
    pub(crate) t: &'static Msgs,
    /// Set the language cookie in the response (the switch was used).
    pub(crate) remember_lang: bool,
    /// The request path below the base path, with the query minus `lang` (for the switch).
    pub(crate) here: String,
    /// Whether write buttons (acknowledge, shelve) are shown.
    pub(crate) can_write: bool,
    /// The CSRF token sent with write actions (`""` without sessions).
    pub(crate) csrf: String,
    /// The signed-in user, if any.
    pub(crate) user: Option<String>,
    /// Version of the static assets, for their URLs.
    pub(crate) asset_version: &'static str,
    /// The banner's text while the gateway is not whole (see `Lang::gateway_fault`).
    pub(crate) fault: Option<String>,
}

impl PageCtx {
    /// The URL of the current page in another language, for the switch.
    pub(crate) fn lang_url(&self, tag: &str) -> String {
        let sep = if self.here.contains('?') { '&' } else { '?' };
        format!("{}{}{sep}lang={tag}", self.base, self.here)
    }

    /// The overview's URL: `/`, or the base path itself (`/plcdiag`: the nested router does not
    /// answer `/plcdiag/`).
    pub(crate) fn home(&self) -> &str {
        if self.base.is_empty() {
            "/"
        } else {
            &self.base
        }
    }

    /// The URL of a static asset.
    pub(crate) fn asset(&self, file: &str) -> String {
        format!("{}/static/{file}?v={}", self.base, self.asset_version)
    }

    /// Renders a page template into a response with this context's cookie.
    pub(crate) fn render(&self, status: StatusCode, page: &impl Template) -> Response {
        match page.render() {
            Ok(html) => {
                let mut res = (status, Html(html)).into_response();
                if self.remember_lang {
                    let cookie = format!(
                        "{}={}; Path={}/; Max-Age=31536000; SameSite=Lax",
                        i18n::LANG_COOKIE,
                        self.lang.tag(),
                        self.base
                    );
                    if let Ok(v) = HeaderValue::from_str(&cookie) {
                        res.headers_mut().append(SET_COOKIE, v);
                    }
                }
                res
            }
            Err(e) => WebError::Internal(anyhow::anyhow!("rendering a page: {e}")).into_response(),
        }
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("").to_owned();
        let query_lang = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .map(|(_, v)| v.to_owned());
        let choice = i18n::choose(query_lang.as_deref(), &parts.headers);
        let user =
            <CurrentUser as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .unwrap_or_default();
        // Open gateway: everyone may act. With auth: operators and admins only.
        let can_write =
            !auth_enabled(state) || user.as_ref().is_some_and(|u| u.role >= Role::Operator);
        // Below a nested router `uri` lost the base path; the original keeps it.
        let full = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |o| o.0.path().to_owned());
        let path = full
            .strip_prefix(&*state.base_path)
            .filter(|p| p.starts_with('/'))
            .unwrap_or(&full)
            .to_owned();
        let rest: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
            .collect();
        let here = if rest.is_empty() {
            path
        } else {
            format!("{path}?{}", rest.join("&"))
        };
        Ok(Self {
            base: state.base_path.to_string(),
            lang: choice.lang,
            t: choice.lang.msgs(),
            remember_lang: choice.remember,
            here,
            can_write,
            csrf: user.as_ref().map(|u| u.csrf.clone()).unwrap_or_default(),
            user: user.map(|u| u.name),
            asset_version: assets::VERSION.as_str(),
            fault: fault_banner(&state.failed, state.store.faults(), choice.lang),
        })
    }
}

/// The text of the fault banner in `lang`, if the gateway is not whole now.
pub(crate) fn fault_banner(
    failed: &tokio::sync::watch::Receiver<Option<String>>,
    faults: &crate::store::Faults,
    lang: Lang,
) -> Option<String> {
    let failed = failed.borrow().clone();
    lang.gateway_fault(failed.as_deref(), faults.first().as_ref())
}

#[derive(Template)]
#[template(path = "errors/not_found.html")]
struct NotFoundPage {
    ctx: PageCtx,
}

/// The HTML 404 page, for page addresses that do not exist (the API keeps its JSON error).
async fn not_found(ctx: PageCtx) -> Response {
    if ctx.here.starts_with("/api/") || ctx.here == "/api" {
        return WebError::NotFound.into_response();
    }
    ctx.render(StatusCode::NOT_FOUND, &NotFoundPage { ctx: ctx.clone() })
}
