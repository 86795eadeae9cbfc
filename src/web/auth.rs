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

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query, Request, State};
use axum::http::header::{self, AUTHORIZATION, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Extensions, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::session::{LoginLimiter, SessionInfo, Sessions, random_token};
use super::{AppState, WebError};
use crate::config::{AuthConfig, Role};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "plcdiag_session";
/// The cookie that carries the login form's CSRF token (double submit: no session yet).
const LOGIN_CSRF_COOKIE: &str = "plcdiag_login";
/// The header with the session's CSRF token, for `fetch()`.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body the guard reads to find the `csrf` field.
const MAX_FORM: usize = 64 * 1024;

/// Authentication settings and the state that goes with them (sessions, login failures).
pub struct AuthState {
    /// `[auth]` as configured.
    pub config: AuthConfig,
    sessions: Sessions,
    limiter: LoginLimiter,
}

impl AuthState {
    /// Fresh state: no sessions, no failures.
    pub fn new(config: AuthConfig) -> Self {
        Self {
            config,
            sessions: Sessions::default(),
            limiter: LoginLimiter::default(),
        }
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
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
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

fn identify(headers: &HeaderMap, state: &AppState) -> Identity {
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
    match cookie(headers, SESSION_COOKIE).and_then(|id| state.auth.sessions.get(id)) {
        Some(s) => Identity::Session(s),
        None => Identity::Anonymous,
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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
    matches!(path, "/login" | "/logout" | "/healthz" | "/metrics") || path.starts_with("/static/")
}

/// Middleware on every route: authentication, roles and CSRF (see the module docs).
pub(super) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !auth_enabled(&state) || is_open(req.uri().path()) {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/") || req.uri().path() == "/api";
    let read = is_read(req.method());
    let role = match identify(req.headers(), &state) {
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
        Identity::Anonymous if api || !read => return WebError::Unauthorized.into_response(),
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
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
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
        Ok(match identify(&parts.headers, state) {
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
        let (name, role) = match identify(&parts.headers, state) {
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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

/// Where a login may send the browser: a path under the base path on this site, never
/// another host (`//evil`, `/\evil`, `https://…`); anything else goes to the start page.
fn safe_next(next: Option<&str>, base: &str) -> String {
    let home = format!("{base}/");
    let Some(n) = next else { return home };
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(char::is_control)
        && (base.is_empty()
            || n == base
            || n.strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?')));
    if ok { n.to_owned() } else { home }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Whether the browser reached us over HTTPS: only a trusted proxy can say so, since the
/// gateway itself serves plain HTTP.
fn https(headers: &HeaderMap, config: &AuthConfig) -> bool {
    config.trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value with the flags every plcdiag cookie gets.
fn set_cookie(
    name: &str,
    value: &str,
    state: &AppState,
    secure: bool,
    max_age: Option<u64>,
) -> HeaderValue {
    let path = if state.base_path.is_empty() {
        "/"
    } else {
        &state.base_path
    };
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}");
    if let Some(s) = max_age {
        c.push_str(&format!("; Max-Age={s}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    // Names, ids and paths are ASCII without control characters.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's address for the rate limit: the connection's, or with `trust_proxy` the first
/// address of `X-Forwarded-For`.
fn client_ip(headers: &HeaderMap, extensions: &Extensions, config: &AuthConfig) -> String {
    if config.trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return ip.to_owned();
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// English or Simplified Chinese, from `Accept-Language`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Zh,
}

fn lang(headers: &HeaderMap) -> Lang {
    let zh = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.trim().to_ascii_lowercase().starts_with("zh"));
    if zh { Lang::Zh } else { Lang::En }
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`: the login form.
async fn login_page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let next = safe_next(q.next.as_deref(), &state.base_path);
    if user.is_some() {
        // Already logged in (a bookmark, the back button): straight on.
        return Redirect::to(&next).into_response();
    }
    login_form(&state, &headers, &next, None, StatusCode::OK)
}

/// The form, with a fresh login CSRF token in the page and in a cookie.
fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let l = lang(headers);
    let t = |en: &'static str, zh: &'static str| if l == Lang::Zh { zh } else { en };
    let csrf = random_token();
    let base = escape(&state.base_path);
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    let off = if auth_enabled(state) {
        ""
    } else {
        t(
            "<p>Authentication is not configured: everything is open.</p>",
            "<p>未配置身份验证：所有功能均可直接使用。</p>",
        )
    };
    let body = format!(
        r#"<!doctype html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · plcdiag</title>
<link rel="stylesheet" href="{base}/static/plcdiag.css">
</head>
<body class="login">
<main>
<h1>plcdiag</h1>
{off}{error}
<form method="post" action="{base}/login">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<p><label for="username">{user}</label><br>
<input id="username" name="username" autocomplete="username" required autofocus></p>
<p><label for="password">{pass}</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">{submit}</button></p>
</form>
</main>
</body>
</html>
"#,
        html_lang = t("en", "zh-CN"),
        title = t("Log in", "登录"),
        user = t("User name", "用户名"),
        pass = t("Password", "密码"),
        submit = t("Log in", "登录"),
        next = escape(next),
    );
    let cookie = set_cookie(
        LOGIN_CSRF_COOKIE,
        &csrf,
        state,
        https(headers, &state.auth.config),
        Some(3600),
    );
    (
        status,
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Html(body),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: checks the password; 303 to `next` with a session cookie, or the form again
/// with 401 (wrong name or password, one message for both), 403 (bad form token) or 429 (too
/// many failures; `Retry-After`).
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return WebError::BadRequest("the login form is incomplete".into()).into_response();
    };
    let next = safe_next(form.next.as_deref(), &state.base_path);
    let zh = lang(&headers) == Lang::Zh;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(form.csrf.as_bytes(), expected.as_bytes()) {
        let msg = if zh {
            "表单已过期，请重新登录。"
        } else {
            "The form has expired; please try again."
        };
        return login_form(&state, &headers, &next, Some(msg), StatusCode::FORBIDDEN);
    }
    let username = form.username.trim().to_owned();
    let keys = [
        format!("user:{username}"),
        format!(
            "ip:{}",
            client_ip(&headers, &extensions, &state.auth.config)
        ),
    ];
    if let Some(wait) = state.auth.limiter.blocked(&keys) {
        let secs = wait.as_secs().max(1);
        let msg = if zh {
            "登录失败次数过多，请稍后再试。"
        } else {
            "Too many failed logins; please wait a minute."
        };
        let mut r = login_form(
            &state,
            &headers,
            &next,
            Some(msg),
            StatusCode::TOO_MANY_REQUESTS,
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let user = state
        .auth
        .config
        .users
        .iter()
        .find(|u| u.name == username)
        .cloned();
    let hash = user.as_ref().map_or_else(
        || dummy_hash().to_owned(),
        |u| u.password_hash.expose().to_owned(),
    );
    let password = form.password;
    // argon2 takes tens of milliseconds of CPU: off the async workers. An unknown user is
    // checked against a dummy hash, so the time does not tell which names exist.
    let verified = tokio::task::spawn_blocking(move || verify(&password, &hash))
        .await
        .unwrap_or(false);
    match user {
        Some(u) if verified => {
            state.auth.limiter.succeeded(&keys[0]);
            let (id, _) = state.auth.sessions.create(&u.name, u.role);
            tracing::info!(user = %u.name, role = u.role.as_str(), "login");
            let secure = https(&headers, &state.auth.config);
            let mut r = Redirect::to(&next).into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &id, &state, secure, None),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", &state, secure, Some(0)),
            );
            r
        }
        _ => {
            state.auth.limiter.failed(&keys);
            // The name of an unknown user is not logged: it may be a password typed into
            // the wrong field.
            match &user {
                Some(u) => tracing::info!(user = %u.name, "failed login: wrong password"),
                None => tracing::info!("failed login: unknown user name"),
            }
            let msg = if zh {
                "用户名或密码错误。"
            } else {
                "Wrong user name or password."
            };
            login_form(&state, &headers, &next, Some(msg), StatusCode::UNAUTHORIZED)
        }
    }
}

/// Whether `password` matches the PHC string `hash`.
pub(crate) fn verify(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// An argon2id PHC string of `password` with a fresh salt and the crate's default cost
/// (19 MiB, 2 passes), as `plcdiag passwd` prints it.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// The hash an unknown user name is checked against.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// `POST /logout`: ends the session (its CSRF token is required, so another site cannot log
/// people out) and goes to the login page.
async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let secure = https(&headers, &state.auth.config);
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Some(s) = state.auth.sessions.get(id)
    {
        if let Err(r) = check_csrf(request, &s.csrf).await {
            return r;
        }
        state.auth.sessions.remove(id);
        tracing::info!(user = %s.name, "logout");
    }
    let mut r = Redirect::to(&format!("{}/login", state.base_path)).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", &state, secure, Some(0)),
    );
    r
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
    fn a_login_only_redirects_to_paths_of_this_site_under_the_base_path() {
        assert_eq!(safe_next(Some("/alarms?x=1"), ""), "/alarms?x=1");
        assert_eq!(safe_next(Some("//evil.example/"), ""), "/");
        assert_eq!(safe_next(Some("/\\evil.example"), ""), "/");
        assert_eq!(safe_next(Some("https://evil.example/"), ""), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x"), ""), "/");
        assert_eq!(safe_next(None, "/plc"), "/plc/");
        assert_eq!(safe_next(Some("/plc/alarms"), "/plc"), "/plc/alarms");
        assert_eq!(safe_next(Some("/plc"), "/plc"), "/plc");
        assert_eq!(safe_next(Some("/plcx/"), "/plc"), "/plc/");
        assert_eq!(safe_next(Some("/other"), "/plc"), "/plc/");
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsf", &h));
        assert!(!verify("x", "not a hash"));
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
