//! Logging in and out: the login form, sessions and the login rate limit.
//!
//! Invariants: a session id is 256 bits from the operating system's random source and is
//! stored only as its SHA-256, so neither a lookup's timing nor a memory or database dump gives
//! out a usable cookie; a session ends after [`IDLE`] without a request or [`ABSOLUTE`] after
//! the login, whichever comes first. Sessions are kept in the history database (see
//! `store::sessions`) with an in-memory cache in front, so a restart does not log people out;
//! a session that cannot be saved (a full disk) still works until the restart. The role is not
//! part of a session: the caller looks it up in the config on every request. Times come from
//! `tokio::time::Instant`, so tests move them with a paused clock instead of sleeping; the
//! database keeps wall-clock milliseconds.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Extensions, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::auth::{
    CurrentUser, SESSION_COOKIE, auth_enabled, check_csrf, constant_time_eq, cookie,
};
use super::{AppState, WebError};
use crate::config::{AuthConfig, Role};

/// The cookie that carries the login form's CSRF token (double submit: no session yet).
const LOGIN_CSRF_COOKIE: &str = "plcdiag_login";

/// A session ends after this long without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after the login, used or not.
pub(crate) const ABSOLUTE: Duration = Duration::from_secs(7 * 24 * 3600);
const ABSOLUTE_MS: i64 = 7 * 24 * 3600 * 1000;
const IDLE_MS: i64 = 8 * 3600 * 1000;
/// Failed logins allowed per user name and per client address in [`WINDOW`].
pub(crate) const MAX_FAILURES: usize = 5;
/// The window of the login rate limit.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Most sessions kept at once; the oldest is dropped beyond (a flood of logins cannot exhaust
/// memory).
const MAX_SESSIONS: usize = 10_000;

/// 256 random bits, hex-encoded.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// A logged-in person, as the session store knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionInfo {
    /// Login name.
    pub(crate) name: String,
    /// Their role at login.
    pub(crate) role: Role,
    /// The synchronizer token every write made with this session must carry.
    pub(crate) csrf: String,
    /// [`password_fingerprint`] of the user's password hash at login: a session whose user's
    /// password has changed since is refused.
    pub(crate) pw: String,
}

/// A short fingerprint of a password hash (itself a salted argon2id hash): enough to notice a
/// changed password, useless for guessing one.
pub(crate) fn password_fingerprint(password_hash: &str) -> String {
    let d = Sha256::digest(password_hash.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

struct Entry {
    info: SessionInfo,
    /// The absolute end by the wall clock (a session read back after a reboot may be older
    /// than the monotonic clock can express).
    ends_wall_ms: i64,
    created: Instant,
    last_seen: Instant,
    /// When `last_seen` was last written to the database.
    saved_seen: Instant,
}

/// How often a session's activity is written to the database (the idle limit is hours).
const SAVE_SEEN_EVERY: Duration = Duration::from_secs(60);

/// The sessions of logged-in people.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Entry>>,
    store: Option<crate::store::Store>,
    /// Ended sessions whose row could not be deleted: never read back.
    revoked: Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// Unix milliseconds of the wall clock now.
fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The instant `ms_ago` milliseconds before `now` (or `now` if that is before the clock's start).
fn ago(now: Instant, ms_ago: i64) -> Instant {
    let d = Duration::from_millis(u64::try_from(ms_ago).unwrap_or(0));
    now.checked_sub(d).unwrap_or(now)
}

impl Sessions {
    /// Sessions kept in `store` as well as in memory.
    pub(crate) fn with_store(store: crate::store::Store) -> Self {
        Self {
            map: Mutex::default(),
            store: Some(store),
            revoked: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding the lock leaves the map consistent (every change is one call).
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session; returns the id for the cookie.
    pub(crate) async fn create(&self, name: &str, role: Role, pw: &str) -> (String, SessionInfo) {
        let (id, info) = self.create_in_memory(name, role, pw);
        if let Some(store) = &self.store {
            let now = wall_ms();
            let saved = crate::store::sessions::StoredSession {
                name: info.name.clone(),
                csrf: info.csrf.clone(),
                pw: info.pw.clone(),
                created_ms: now,
                seen_ms: now,
            };
            if let Err(e) = store.session_insert(&key(&id), &saved).await {
                tracing::warn!(user = %name, error = %e, "session not saved; it lasts until the gateway restarts");
            }
        }
        (id, info)
    }

    fn create_in_memory(&self, name: &str, role: Role, pw: &str) -> (String, SessionInfo) {
        let id = random_token();
        let info = SessionInfo {
            name: name.to_owned(),
            role,
            csrf: random_token(),
            pw: pw.to_owned(),
        };
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, e| alive(e, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.created).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            key(&id),
            Entry {
                info: info.clone(),
                ends_wall_ms: wall_ms().saturating_add(ABSOLUTE_MS),
                created: now,
                last_seen: now,
                saved_seen: now,
            },
        );
        (id, info)
    }

    /// The session with this id if it is still valid; counts as activity. A session not in
    /// memory (the gateway restarted since the login) is read from the database.
    pub(crate) async fn get(&self, id: &str) -> Option<SessionInfo> {
        let now = Instant::now();
        let k = key(id);
        let cached = {
            let mut map = self.lock();
            match map.get_mut(&k) {
                Some(entry) if alive(entry, now) && wall_ms() < entry.ends_wall_ms => {
                    entry.last_seen = now;
                    let save = now.duration_since(entry.saved_seen) >= SAVE_SEEN_EVERY;
                    if save {
                        entry.saved_seen = now;
                    }
                    Some((entry.info.clone(), save))
                }
                Some(_) => {
                    map.remove(&k);
                    None
                }
                None => None,
            }
        };
        match cached {
            Some((info, save)) => {
                if save && let Some(store) = &self.store {
                    let _ = store.session_seen(&k, wall_ms()).await;
                }
                Some(info)
            }
            None => self.load(k, now).await,
        }
    }

    /// A session from the database, cached if it is still valid.
    async fn load(&self, k: [u8; 32], now: Instant) -> Option<SessionInfo> {
        let store = self.store.as_ref()?;
        if self.revoked_contains(&k) {
            return None;
        }
        let saved = store.session(&k).await.ok()??;
        let wall = wall_ms();
        // By the wall clock: the monotonic one starts at boot.
        if wall.saturating_sub(saved.created_ms) >= ABSOLUTE_MS
            || wall.saturating_sub(saved.seen_ms) >= IDLE_MS
        {
            let _ = store.session_delete(&k).await;
            return None;
        }
        let entry = Entry {
            info: SessionInfo {
                name: saved.name,
                // Re-checked against the config by the caller on every request.
                role: Role::Viewer,
                csrf: saved.csrf,
                pw: saved.pw,
            },
            ends_wall_ms: saved.created_ms.saturating_add(ABSOLUTE_MS),
            created: ago(now, wall.saturating_sub(saved.created_ms)),
            last_seen: ago(now, wall.saturating_sub(saved.seen_ms)),
            saved_seen: now,
        };
        if !alive(&entry, now) {
            let _ = store.session_delete(&k).await;
            return None;
        }
        let _ = store.session_seen(&k, wall).await;
        let mut entry = entry;
        entry.last_seen = now;
        let info = entry.info.clone();
        let mut map = self.lock();
        // Ended while it was being read: stays ended.
        if self.revoked_contains(&k) {
            return None;
        }
        map.insert(k, entry);
        Some(info)
    }

    fn revoked(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<[u8; 32]>> {
        self.revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn revoked_contains(&self, k: &[u8; 32]) -> bool {
        self.revoked().contains(k)
    }

    /// Ends a session (logout, or a user no longer in the config).
    pub(crate) async fn remove(&self, id: &str) {
        let k = key(id);
        // Revoked first, so a request racing the delete cannot read the row back.
        self.revoked().insert(k);
        self.lock().remove(&k);
        let deleted = match &self.store {
            Some(store) => store.session_delete(&k).await,
            None => Ok(()),
        };
        match deleted {
            Ok(()) => {
                self.revoked().remove(&k);
            }
            Err(e) => {
                tracing::warn!(error = %e, "ended session not deleted from the database: refused until this process ends, but valid again after a restart until it expires");
            }
        }
    }

    /// Deletes expired sessions from the database (memory prunes itself at each login).
    pub(crate) async fn expire_saved(&self) {
        let Some(store) = &self.store else { return };
        let now = wall_ms();
        let idle = i64::try_from(IDLE.as_millis()).unwrap_or(i64::MAX);
        let absolute = i64::try_from(ABSOLUTE.as_millis()).unwrap_or(i64::MAX);
        if let Err(e) = store
            .sessions_expire(now.saturating_sub(idle), now.saturating_sub(absolute))
            .await
        {
            tracing::warn!(error = %e, "cannot delete expired sessions; will retry");
        }
    }
}

fn alive(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.last_seen) < IDLE && now.duration_since(e.created) < ABSOLUTE
}

/// Failed logins per user name and per client address over the last [`WINDOW`].
#[derive(Default)]
pub(crate) struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Some(wait)` when any of `keys` has used up its failures: try again after `wait`.
    pub(crate) fn blocked(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.lock();
        let mut wait = None;
        for k in keys {
            let Some(q) = map.get_mut(k) else { continue };
            while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                q.pop_front();
            }
            if q.len() >= MAX_FAILURES {
                let until = q
                    .front()
                    .map_or(WINDOW, |t| WINDOW.saturating_sub(now.duration_since(*t)));
                wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
            }
        }
        wait
    }

    /// Records a failed login under every key.
    pub(crate) fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        for k in keys {
            let q = map.entry(k.clone()).or_default();
            q.push_back(now);
            while q.len() > MAX_FAILURES {
                q.pop_front();
            }
        }
    }

    /// Forgets the failures under `key` (a successful login of that user).
    pub(crate) fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// Where a login may send the browser: a path under the base path on this site, never
/// another host (`//evil`, `/\evil`, `https://…`); anything else goes to the start page
/// (`/`, or the base path itself: `{base}/` would only redirect there).
fn safe_next(next: Option<&str>, base: &str) -> String {
    let home = if base.is_empty() {
        "/".to_owned()
    } else {
        base.to_owned()
    };
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

/// The client's address for the rate limit: the connection's, or with `trust_proxy` the last
/// address of `X-Forwarded-For` (the one our proxy added; earlier ones come from the client and
/// could be forged).
fn client_ip(headers: &HeaderMap, extensions: &Extensions, config: &AuthConfig) -> String {
    if config.trust_proxy
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
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

/// `GET /login`: the login form; whoever is logged in goes straight on to `next`.
pub(super) async fn page(
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
pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return WebError::BadRequest("the login form is incomplete".into()).into_response();
    };
    let next = safe_next(form.next.as_deref(), &state.base_path);
    if !auth_enabled(&state) {
        // Nothing to log in to: everything is open.
        return Redirect::to(&next).into_response();
    }
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
            let pw = password_fingerprint(u.password_hash.expose());
            let (id, _) = state.auth.sessions.create(&u.name, u.role, &pw).await;
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
pub(super) async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let secure = https(&headers, &state.auth.config);
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Some(s) = state.auth.sessions.get(id).await
    {
        if let Err(r) = check_csrf(request, &s.csrf).await {
            return r;
        }
        state.auth.sessions.remove(id).await;
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
    fn a_login_only_redirects_to_paths_of_this_site_under_the_base_path() {
        assert_eq!(safe_next(Some("/alarms?x=1"), ""), "/alarms?x=1");
        assert_eq!(safe_next(Some("//evil.example/"), ""), "/");
        assert_eq!(safe_next(Some("/\\evil.example"), ""), "/");
        assert_eq!(safe_next(Some("https://evil.example/"), ""), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x"), ""), "/");
        assert_eq!(safe_next(None, "/plc"), "/plc");
        assert_eq!(safe_next(Some("/plc/alarms"), "/plc"), "/plc/alarms");
        assert_eq!(safe_next(Some("/plc"), "/plc"), "/plc");
        assert_eq!(safe_next(Some("/plcx/"), "/plc"), "/plc");
        assert_eq!(safe_next(Some("/other"), "/plc"), "/plc");
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsf", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_after_the_idle_time_without_requests() {
        let s = Sessions::default();
        let (id, info) = s.create("ann", Role::Operator, "pw").await;
        assert_eq!(info.csrf.len(), 64);
        assert_eq!(id.len(), 64);
        tokio::time::advance(IDLE - Duration::from_secs(1)).await;
        assert_eq!(s.get(&id).await.map(|i| i.name), Some("ann".to_owned()));
        tokio::time::advance(IDLE - Duration::from_secs(1)).await;
        assert!(
            s.get(&id).await.is_some(),
            "the request above counted as activity"
        );
        tokio::time::advance(IDLE).await;
        assert!(s.get(&id).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_at_the_absolute_limit_however_busy() {
        let s = Sessions::default();
        let (id, _) = s.create("ann", Role::Viewer, "pw").await;
        let step = Duration::from_secs(3600);
        let mut t = Duration::ZERO;
        while t + step < ABSOLUTE {
            tokio::time::advance(step).await;
            t += step;
            assert!(s.get(&id).await.is_some(), "at {t:?}");
        }
        tokio::time::advance(step).await;
        assert!(s.get(&id).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn logout_removes_the_session_and_unknown_ids_find_nothing() {
        let s = Sessions::default();
        let (id, _) = s.create("ann", Role::Viewer, "pw").await;
        let (other, _) = s.create("bob", Role::Viewer, "pw").await;
        assert_ne!(id, other);
        s.remove(&id).await;
        assert!(s.get(&id).await.is_none());
        assert!(s.get(&other).await.is_some());
        assert!(s.get("not-a-session").await.is_none());
    }

    /// Issue 12: sessions survive a restart. A second `Sessions` over the same database is the
    /// restarted gateway: it finds the session, with its CSRF token and its age.
    #[tokio::test]
    async fn a_session_survives_a_restart_and_logout_ends_it_there_too() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = dir.path().join("h.db");
        let store = crate::store::Store::open(&db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (id, info) = Sessions::with_store(store.clone())
            .create("ann", Role::Operator, "pw")
            .await;
        // The database holds the id's hash, never the id.
        let url = format!("sqlite://{}", db.display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let raw: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key FROM sessions")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        assert_eq!(raw, vec![key(&id).to_vec()]);
        assert!(
            !raw[0]
                .windows(8)
                .any(|w| id.as_bytes().windows(8).any(|x| x == w))
        );

        let restarted = Sessions::with_store(store.clone());
        let again = restarted
            .get(&id)
            .await
            .unwrap_or_else(|| panic!("session lost"));
        assert_eq!(
            (again.name.as_str(), again.csrf.as_str()),
            ("ann", info.csrf.as_str())
        );
        assert!(restarted.get("not-a-session").await.is_none());
        restarted.remove(&id).await;
        assert!(Sessions::with_store(store).get(&id).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn five_failures_in_a_minute_block_until_the_first_one_is_a_minute_old() {
        let l = LoginLimiter::default();
        let keys = ["user:ann".to_owned(), "ip:10.0.0.1".to_owned()];
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.blocked(&keys), None);
            l.failed(&keys);
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(l.blocked(&keys), Some(Duration::from_secs(55)));
        assert_eq!(
            l.blocked(&["ip:10.0.0.1".to_owned()]),
            Some(Duration::from_secs(55)),
            "the address alone is blocked too"
        );
        assert_eq!(
            l.blocked(&["user:bob".to_owned(), "ip:10.0.0.2".to_owned()]),
            None
        );
        tokio::time::advance(Duration::from_secs(55)).await;
        assert_eq!(l.blocked(&keys), None);
    }
}
