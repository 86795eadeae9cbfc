//! `/api/devices`: live device state and history.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{AppState, WebError, WebResult};
use crate::live::DeviceView;
use crate::store::{DiagPageAt, DiagPosition, History, StoredDiagEvent, StoredStatus, parse_class};

#[derive(Serialize)]
pub(super) struct DeviceList {
    now: DateTime<Utc>,
    devices: Vec<DeviceView>,
}

/// `GET /api/devices`: every device with health and last values.
pub(super) async fn list(State(state): State<AppState>) -> Json<DeviceList> {
    let now = Utc::now();
    Json(DeviceList {
        now,
        devices: state.live.devices(now),
    })
}

/// `GET /api/devices/{name}`.
pub(super) async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> WebResult<Json<DeviceView>> {
    state
        .live
        .device(&name, Utc::now())
        .map(Json)
        .ok_or(WebError::DeviceNotFound(name))
}

#[derive(Deserialize)]
pub(super) struct Window {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/devices/{name}/history?from=&to=`: times as RFC 3339 or Unix milliseconds;
/// the default window is the last hour.
pub(super) async fn history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(w): Query<Window>,
) -> WebResult<Json<History>> {
    let (from, to) = window(w.from.as_deref(), w.to.as_deref(), Duration::hours(1))?;
    state
        .store
        .history(&name, from, to)
        .await?
        .map(Json)
        .ok_or(WebError::DeviceNotFound(name))
}

fn parse_time(key: &'static str, s: &str) -> WebResult<DateTime<Utc>> {
    super::time::parse(key, s).map_err(|e| WebError::BadRequest(e.to_string()))
}

/// Most events one diagnostics request returns.
const MAX_DIAGNOSTICS: u32 = 10_000;

#[derive(Deserialize)]
pub(super) struct DiagQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    class: Option<String>,
    before: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Diagnostics {
    device: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    events: Vec<StoredDiagEvent>,
    /// Where the next (older) page starts, when there is one: `?before=` it.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<String>,
}

/// `GET /api/devices/{name}/diagnostics?from=&to=&limit=&class=&before=`: stored diagnostic
/// events, newest first; default window the last 30 days, default limit 100 (at most 10,000);
/// `class` only events of that class; `before` the `next_before` of the page before, to page
/// through more events than one answer holds.
pub(super) async fn diagnostics(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<DiagQuery>,
) -> WebResult<Json<Diagnostics>> {
    let (from, to) = window(q.from.as_deref(), q.to.as_deref(), Duration::days(30))?;
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_DIAGNOSTICS).contains(n))
            .ok_or_else(|| {
                WebError::BadRequest(format!(
                    "`limit`: {s:?} is not a number from 1 to {MAX_DIAGNOSTICS}"
                ))
            })?,
    };
    let class = match q.class.as_deref() {
        None | Some("") => None,
        Some(s) => Some(parse_class(s).ok_or_else(|| {
            WebError::BadRequest(format!("`class`: {s:?} is not an event class from 0 to 15"))
        })?),
    };
    let at = match q.before.as_deref() {
        None | Some("") => DiagPageAt::Newest,
        Some(s) => DiagPageAt::Before(s.parse::<DiagPosition>().map_err(|()| {
            WebError::BadRequest(format!(
                "`before`: {s:?} is not a position as `next_before` gives it (MILLIS-ID)"
            ))
        })?),
    };
    let page = state
        .store
        .diagnostics_page(&name, (from, to), class, at, limit, 0)
        .await?
        .ok_or(WebError::DeviceNotFound(name.clone()))?;
    let next_before = page
        .events
        .last()
        .filter(|_| page.older)
        .map(|e| DiagPosition::of(e).to_string());
    Ok(Json(Diagnostics {
        device: name,
        from,
        to,
        events: page.events,
        next_before,
    }))
}

#[derive(Deserialize)]
pub(super) struct StatusQuery {
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
pub(super) struct StatusHistory {
    device: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    changes: Vec<StoredStatus>,
}

/// `GET /api/devices/{name}/status?kind=cpu_mode&from=&to=`: status changes, oldest first (the
/// operating-mode timeline with `kind=cpu_mode`); default window the last 24 hours.
pub(super) async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<StatusQuery>,
) -> WebResult<Json<StatusHistory>> {
    const KINDS: [&str; 7] = [
        "cpu_mode",
        "identity",
        "protection",
        "cycle_times",
        "modules",
        "unsupported",
        "network",
    ];
    if let Some(k) = q.kind.as_deref()
        && !KINDS.contains(&k)
    {
        return Err(WebError::BadRequest(format!(
            "`kind`: {k:?} is not one of {}",
            KINDS.join(", ")
        )));
    }
    let (from, to) = window(q.from.as_deref(), q.to.as_deref(), Duration::hours(24))?;
    let changes = state
        .store
        .status_history(&name, q.kind.as_deref(), from, to)
        .await?
        .ok_or(WebError::DeviceNotFound(name.clone()))?;
    Ok(Json(StatusHistory {
        device: name,
        from,
        to,
        changes,
    }))
}

/// Parses an optional `from`/`to` pair; `to` defaults to now and `from` to `to - default_span`.
pub(super) fn window(
    from: Option<&str>,
    to: Option<&str>,
    default_span: Duration,
) -> WebResult<(DateTime<Utc>, DateTime<Utc>)> {
    let to = to
        .map(|s| parse_time("to", s))
        .transpose()?
        .unwrap_or_else(Utc::now);
    let from = from
        .map(|s| parse_time("from", s))
        .transpose()?
        .unwrap_or(to - default_span);
    if from > to {
        return Err(WebError::BadRequest(format!(
            "`from` ({from}) is after `to` ({to})"
        )));
    }
    Ok((from, to))
}
