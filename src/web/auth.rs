//! Who is calling, and what they may do: users with passwords (session cookies) for people,
//! bearer tokens from `[auth]` for machines.
//!
//! Without any user or token configured the gateway is open (and listens on loopback unless
//! started with `--insecure-no-auth`); the name of a write's caller then comes from the request
//! body, defaulting to `anonymous`. Once a user or a token is configured:
//!
//! - [`guard`] runs before every route except `/login`, `/logout`, `/healthz`, `/metrics` and
//!   `/static/…`: reads (`GET`, `HEAD`) need viewer or higher, every other method operator or
//!   higher. Without credentials a page gets a 303 to `/login?next=…`, the API a 401.
//! - A request with a session cookie that is not a read must carry the session's CSRF token,
//!   in the form field `csrf` or the header `X-CSRF-Token`, else 403. Bearer-token requests are
//!   exempt: a browser never adds that header on its own.
//! - For pages: [`CurrentUser`] (as `Option<CurrentUser>`: `None` when nobody is logged in or
//!   auth is off) and [`auth_enabled`]. For writes: [`Caller`], whose name the journal records.
//!
//! The login form, `POST /login`, `POST /logout`, the session store and the login rate limit
//! are in `session`.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::Method;
use axum::http::header::{self, AUTHORIZATION, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use super::session::hash_password;
use super::session::{self as login, LoginLimiter, SessionInfo, Sessions};
use super::{AppState, WebError};
use crate::config::{AuthConfig, Role};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "plcdiag_session";
/// The header with the session's CSRF token, for `fetch()`.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body the guard reads to find the `csrf` field.
const MAX_FORM: usize = 64 * 1024;

/// Authentication settings and the state that goes with them (sessions, login failures).
pub struct AuthState {
    /// `[auth]` as configured.
    pub config: AuthConfig,
    pub(super) sessions: Sessions,
    pub(super) limiter: LoginLimiter,
}

impl AuthState {
    /// Fresh state: no sessions, no failures; sessions live in memory only.
    pub fn new(config: AuthConfig) -> Self {
        Self {
            config,
            sessions: Sessions::default(),
            limiter: LoginLimiter::default(),
        }
    }

    /// Sessions kept in `store`, so they survive a restart.
    pub fn with_store(config: AuthConfig, store: crate::store::Store) -> Self {
        Self {
            config,
            sessions: Sessions::with_store(store),
            limiter: LoginLimiter::default(),
        }
    }

    /// Deletes expired sessions from the store (the gateway calls it hourly).
    pub async fn expire_sessions(&self) {
        self.sessions.expire_saved().await;
    }
}

impl From<AuthConfig> for AuthState {
    fn from(config: AuthConfig) -> Self {
        Self::new(config)
    }
}

/// Whether a user or a token is configured, i.e. whether pages should show login and logout
/// and render CSRF tokens into their forms.
pub(crate) fn auth_enabled(state: &AppState) -> bool {
    state.auth.config.enabled()
}

/// The login and logout routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/api/session", get(session))
}

/// `GET /api/session`: who is logged in and the session's CSRF token, for scripts in pages
/// (`{"auth": true, "user": "ann", "role": "operator", "csrf": "…"}`; `{"auth": false}` when
/// authentication is off). Another site cannot read it: browsers keep cross-origin responses
/// from scripts, and the cookie is `SameSite=Strict`.
async fn session(State(state): State<AppState>, user: Option<CurrentUser>) -> Response {
    let body = match user {
        Some(u) => serde_json::json!({
            "auth": true,
            "user": u.name,
            "role": u.role.as_str(),
            "csrf": u.csrf,
        }),
        None if auth_enabled(&state) => return WebError::Unauthorized.into_response(),
        None => serde_json::json!({ "auth": false }),
    };
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(body),
    )
        .into_response()
}

/// Who made a request, as far as credentials go.
#[derive(Debug, Clone)]
enum Identity {
    /// No credentials (or auth is off).
    Anonymous,
    /// A valid bearer token.
    Token { name: String, role: Role },
    /// A valid session cookie.
    Session(SessionInfo),
    /// An `Authorization` header that matches no token.
    BadToken,
}

/// Set by [`guard`] on a write whose CSRF token it checked.
#[derive(Clone, Copy)]
struct CsrfChecked;

async fn identify(headers: &HeaderMap, state: &AppState) -> Identity {
    if let Some(v) = headers.get(AUTHORIZATION) {
        let presented = v
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        // Compare with every token in constant time, so timing tells nothing about a prefix.
        let token = state.auth.config.tokens.iter().fold(None, |found, t| {
            let same = constant_time_eq(t.token.expose().as_bytes(), presented.as_bytes());
            if same { Some(t) } else { found }
        });
        return match token {
            Some(t) => Identity::Token {
                name: t.name.clone(),
                role: t.role,
            },
            None => Identity::BadToken,
        };
    }
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Identity::Anonymous;
    };
    let Some(mut s) = state.auth.sessions.get(id).await else {
        return Identity::Anonymous;
    };
    // The role is the config's now, not the one at login: a demoted or removed user loses
    // their rights at the next request, also after a restart.
    let user = state.auth.config.users.iter().find(|u| u.name == s.name);
    match user.filter(|u| super::session::password_fingerprint(u.password_hash.expose()) == s.pw) {
        Some(u) => {
            s.role = u.role;
            Identity::Session(s)
        }
        None => {
            state.auth.sessions.remove(id).await;
            Identity::Anonymous
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Routes that need no credentials (relative to the base path).
fn is_open(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/metrics" | "/favicon.ico"
    ) || path.starts_with("/static/")
}

/// Whether a request is a page navigation (a person at a browser), which is sent to the login
/// page. Anything else (an icon, a script's fetch, the event stream) gets a plain 401: were it
/// redirected, the login page it fetched would replace the login form's cookie of the page on
/// screen, and the person's login would fail as "expired".
fn is_navigation(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Middleware on every route: authentication, roles and CSRF (see the module docs).
pub(super) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !auth_enabled(&state) || is_open(req.uri().path()) {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/") || req.uri().path() == "/api";
    let read = is_read(req.method());
    let role = match identify(req.headers(), &state).await {
        Identity::Token { role, .. } => role,
        Identity::Session(s) => {
            if !read {
                return match check_csrf(req, &s.csrf).await {
                    Ok(mut req) if s.role >= Role::Operator => {
                        req.extensions_mut().insert(CsrfChecked);
                        next.run(req).await
                    }
                    Ok(_) => forbidden(s.role),
                    Err(r) => r,
                };
            }
            s.role
        }
        Identity::BadToken => return WebError::Unauthorized.into_response(),
        Identity::Anonymous if api || !read || !is_navigation(req.headers()) => {
            return WebError::Unauthorized.into_response();
        }
        Identity::Anonymous => {
            let original = req
                .extensions()
                .get::<axum::extract::OriginalUri>()
                .map_or_else(|| req.uri().clone(), |o| o.0.clone());
            let target = original
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            return Redirect::to(&format!(
                "{}/login?next={}",
                state.base_path,
                percent_encode(&target)
            ))
            .into_response();
        }
    };
    if !read && role < Role::Operator {
        return forbidden(role);
    }
    next.run(req).await
}

fn forbidden(role: Role) -> Response {
    WebError::Forbidden(format!(
        "role {} may only read; acknowledging and shelving need operator",
        role.as_str()
    ))
    .into_response()
}

/// Checks the CSRF token of a write made with a session: the header, or the `csrf` field of a
/// form body (which is read and put back for the handler).
pub(super) async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    let refused = || {
        WebError::Forbidden(
            "missing or wrong CSRF token: send the page's `csrf` form field or an X-CSRF-Token header"
                .into(),
        )
        .into_response()
    };
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        return if constant_time_eq(h.as_bytes(), expected.as_bytes()) {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| WebError::BadRequest("the form is too large".into()).into_response())?;
    let ok = form_field(&bytes, "csrf")
        .is_some_and(|v| constant_time_eq(v.as_bytes(), expected.as_bytes()));
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(refused())
    }
}

/// A field of an `application/x-www-form-urlencoded` body, undecoded (tokens are plain hex).
fn form_field<'a>(body: &'a [u8], name: &str) -> Option<&'a str> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The logged-in person, for pages. Use it as `Option<CurrentUser>`: `None` when nobody is
/// logged in or authentication is off. Render `csrf` as the hidden form field `csrf` in every
/// form that posts, and send it as the `X-CSRF-Token` header from `fetch()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CurrentUser {
    /// Login name (or a bearer token's name).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The session's CSRF token (empty for a bearer token, which needs none).
    pub csrf: String,
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        if !auth_enabled(state) {
            return Ok(None);
        }
        Ok(match identify(&parts.headers, state).await {
            Identity::Session(s) => Some(Self {
                name: s.name,
                role: s.role,
                csrf: s.csrf,
            }),
            Identity::Token { name, role } => Some(Self {
                name,
                role,
                csrf: String::new(),
            }),
            Identity::Anonymous | Identity::BadToken => None,
        })
    }
}

/// The authenticated caller of a write action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Caller {
    /// Authentication is not configured: anyone may write.
    Open,
    /// A token holder or a logged-in user with an operator (or higher) role.
    Known {
        /// The token's or the user's name.
        name: String,
    },
}

impl Caller {
    /// The name recorded in the journal: the token's or user's, or the one the caller gives
    /// when open.
    pub(super) fn user(&self, claimed: Option<&str>) -> String {
        match self {
            Self::Known { name } => name.clone(),
            Self::Open => claimed
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("anonymous")
                .chars()
                .take(100)
                .collect(),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if !auth_enabled(state) {
            return Ok(Self::Open);
        }
        let (name, role) = match identify(&parts.headers, state).await {
            Identity::Token { name, role } => (name, role),
            Identity::Session(s) => {
                // The guard checked the token (header or form field); without the guard only
                // the header can be checked here.
                let checked = parts.extensions.get::<CsrfChecked>().is_some()
                    || parts
                        .headers
                        .get(CSRF_HEADER)
                        .is_some_and(|h| constant_time_eq(h.as_bytes(), s.csrf.as_bytes()));
                if !checked {
                    return Err(WebError::Forbidden("missing or wrong CSRF token".into()));
                }
                (s.name, s.role)
            }
            Identity::Anonymous | Identity::BadToken => return Err(WebError::Unauthorized),
        };
        if role < Role::Operator {
            return Err(WebError::Forbidden(format!(
                "`{name}` has role {}; acknowledging and shelving need operator",
                role.as_str()
            )));
        }
        Ok(Self::Known { name })
    }
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Percent-encodes everything but unreserved characters and `/`, for a query value.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnop"));
        assert!(!constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnoq"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn the_journal_records_the_token_name_not_the_claimed_user() {
        let t = Caller::Known {
            name: "scada".into(),
        };
        assert_eq!(t.user(Some("mallory")), "scada");
        assert_eq!(Caller::Open.user(Some(" ann ")), "ann");
        assert_eq!(Caller::Open.user(None), "anonymous");
        assert_eq!(Caller::Open.user(Some("")), "anonymous");
    }

    #[test]
    fn form_fields_and_cookies_are_found_by_name() {
        assert_eq!(form_field(b"a=1&csrf=abc&b=2", "csrf"), Some("abc"));
        assert_eq!(form_field(b"xcsrf=abc", "csrf"), None);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; plcdiag_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "plcdiag"), None);
        assert_eq!(percent_encode("/a b?c=1&d"), "/a%20b%3Fc%3D1%26d");
    }
}
