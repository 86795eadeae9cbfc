//! `/api/devices`: live device state and history.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::{AppState, WebError, WebResult};
use crate::live::DeviceView;
use crate::store::History;

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
    let now = Utc::now();
    let to =
        w.to.as_deref()
            .map(|s| parse_time("to", s))
            .transpose()?
            .unwrap_or(now);
    let from = w
        .from
        .as_deref()
        .map(|s| parse_time("from", s))
        .transpose()?
        .unwrap_or(to - Duration::hours(1));
    if from > to {
        return Err(WebError::BadRequest(format!(
            "`from` ({from}) is after `to` ({to})"
        )));
    }
    state
        .store
        .history(&name, from, to)
        .await?
        .map(Json)
        .ok_or(WebError::DeviceNotFound(name))
}

fn parse_time(key: &str, s: &str) -> WebResult<DateTime<Utc>> {
    if let Ok(ms) = s.parse::<i64>() {
        return Utc
            .timestamp_millis_opt(ms)
            .single()
            .ok_or_else(|| WebError::BadRequest(format!("`{key}`: {ms} is out of range")));
    }
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        WebError::BadRequest(format!(
            "`{key}`: {s:?} is neither RFC 3339 (2026-11-25T08:00:00Z) nor Unix milliseconds ({e})"
        ))
    })
}
