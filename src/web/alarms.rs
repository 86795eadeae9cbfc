//! `/api/alarms`: open alarms, the journal, KPIs, and the operator actions (acknowledge,
//! shelve, unshelve), which are the API's only writes.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::devices::window;
use super::{AppState, WebError, WebResult};
use crate::rules::engine::EngineError;
use crate::rules::{AlarmState, Priority, Transition};
use crate::store::alarms::{AlarmRow, JournalFilter, JournalRow, Kpis};

/// Longest note kept with an acknowledgement or a shelving.
const MAX_NOTE: usize = 1000;
/// Default size of a journal page.
const DEFAULT_LIMIT: i64 = 1000;

#[derive(Serialize)]
pub(super) struct AlarmList {
    now: DateTime<Utc>,
    alarms: Vec<AlarmRow>,
}

/// `GET /api/alarms`: alarms that need an operator (active, unacknowledged, latched, shelved),
/// highest priority first.
pub(super) async fn open(State(state): State<AppState>) -> WebResult<Json<AlarmList>> {
    Ok(Json(AlarmList {
        now: Utc::now(),
        alarms: state.store.open_alarms().await?,
    }))
}

#[derive(Serialize)]
pub(super) struct AlarmDetail {
    #[serde(flatten)]
    alarm: AlarmRow,
    journal: Vec<JournalRow>,
}

/// `GET /api/alarms/{id}`: one alarm with its journal.
pub(super) async fn one(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> WebResult<Json<AlarmDetail>> {
    let alarm = state
        .store
        .alarm(id)
        .await?
        .ok_or(WebError::AlarmNotFound(id))?;
    let journal = state
        .store
        .alarm_journal(&JournalFilter {
            alarm_id: Some(id),
            limit: DEFAULT_LIMIT,
            ..JournalFilter::default()
        })
        .await?;
    Ok(Json(AlarmDetail { alarm, journal }))
}

#[derive(Deserialize)]
pub(super) struct HistoryQuery {
    from: Option<String>,
    to: Option<String>,
    device: Option<String>,
    rule: Option<String>,
    priority: Option<String>,
    state: Option<String>,
    transition: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

#[derive(Serialize)]
pub(super) struct HistoryPage {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    entries: Vec<JournalRow>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    next_before: Option<i64>,
}

/// `GET /api/alarms/history?from=&to=&device=&rule=&priority=&state=&transition=&limit=&before=`:
/// journal rows, newest first; the default window is the last 24 hours.
pub(super) async fn history(
    State(state): State<AppState>,
    Query(q): Query<HistoryQuery>,
) -> WebResult<Json<HistoryPage>> {
    let (from, to) = window(
        q.from.as_deref(),
        q.to.as_deref(),
        chrono::Duration::hours(24),
    )?;
    let priority = q
        .priority
        .as_deref()
        .map(|p| {
            Priority::parse(p).ok_or_else(|| {
                WebError::BadRequest(format!(
                    "priority {p:?} is not one of low, medium, high, critical"
                ))
            })
        })
        .transpose()?;
    let alarm_state = q
        .state
        .as_deref()
        .map(|s| {
            AlarmState::parse(s)
                .ok_or_else(|| WebError::BadRequest(format!("state {s:?} is not an alarm state")))
        })
        .transpose()?;
    let transition = q
        .transition
        .as_deref()
        .map(|t| {
            serde_json::from_value::<Transition>(serde_json::Value::String(t.to_owned()))
                .map_err(|_| WebError::BadRequest(format!("transition {t:?} is unknown")))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit < 1 {
        return Err(WebError::BadRequest("limit must be at least 1".into()));
    }
    // The store caps a page; `next_before` must follow the cap, not the request.
    let limit = limit.min(crate::store::HISTORY_ROW_LIMIT);
    let entries = state
        .store
        .alarm_journal(&JournalFilter {
            from: Some(from),
            to: Some(to),
            device: q.device,
            rule: q.rule,
            priority,
            state: alarm_state,
            transition,
            alarm_id: None,
            limit,
            before_id: q.before,
        })
        .await?;
    let next_before = (entries.len() as i64 >= limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(HistoryPage {
        from,
        to,
        entries,
        next_before,
    }))
}

#[derive(Deserialize)]
pub(super) struct KpiQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/alarms/kpis?from=&to=`: alarm-system KPIs (ISA-18.2 / EEMUA 191); default window
/// the last 24 hours.
pub(super) async fn kpis(
    State(state): State<AppState>,
    Query(q): Query<KpiQuery>,
) -> WebResult<Json<Kpis>> {
    let (from, to) = window(
        q.from.as_deref(),
        q.to.as_deref(),
        chrono::Duration::hours(24),
    )?;
    if to - from > chrono::Duration::days(366) {
        return Err(WebError::BadRequest(
            "the KPI window may span at most 366 days".into(),
        ));
    }
    Ok(Json(state.store.alarm_kpis(from, to).await?))
}

/// Body of the write actions; every field is optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionBody {
    /// Why (kept in the journal).
    note: Option<String>,
    /// Who, when authentication is not configured (otherwise the token's name is used).
    user: Option<String>,
    /// Shelve only: for how long, e.g. `"2h"`. Default `"1h"`.
    duration: Option<String>,
}

#[derive(Serialize)]
pub(super) struct ActionDone {
    alarm: AlarmRow,
}

fn note(body: &ActionBody) -> WebResult<Option<String>> {
    match body.note.as_deref().map(str::trim) {
        Some(n) if n.chars().count() > MAX_NOTE => Err(WebError::BadRequest(format!(
            "note is longer than {MAX_NOTE} characters"
        ))),
        Some("") | None => Ok(None),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

fn engine_error(e: EngineError) -> WebError {
    match e {
        EngineError::NotFound(id) => WebError::AlarmNotFound(id),
        EngineError::NotCurrent(_) | EngineError::Refused(_) => WebError::Conflict(e.to_string()),
        EngineError::Stopped | EngineError::Busy => WebError::Unavailable(e.to_string()),
        EngineError::Store(m) => WebError::Internal(anyhow::anyhow!(m)),
    }
}

async fn done(state: &AppState, id: i64) -> WebResult<(StatusCode, Json<ActionDone>)> {
    let alarm = state
        .store
        .alarm(id)
        .await?
        .ok_or(WebError::AlarmNotFound(id))?;
    Ok((StatusCode::OK, Json(ActionDone { alarm })))
}

/// The action's JSON body; an empty body means all defaults. Parsed here so a malformed body
/// gets the same JSON error as every other bad request.
fn body(b: &Bytes) -> WebResult<ActionBody> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    serde_json::from_slice(b)
        .map_err(|e| WebError::BadRequest(format!("the body is not a valid action: {e}")))
}

fn engine(state: &AppState) -> WebResult<&crate::rules::engine::EngineHandle> {
    state
        .engine
        .as_ref()
        .ok_or_else(|| WebError::Unavailable("the rules engine is not running".into()))
}

/// `POST /api/alarms/{id}/ack`: acknowledges (and resets a latched alarm).
pub(super) async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: Bytes,
) -> WebResult<(StatusCode, Json<ActionDone>)> {
    let b = body(&b)?;
    let note = note(&b)?;
    let user = caller.user(b.user.as_deref());
    engine(&state)?
        .acknowledge(id, &user, note)
        .await
        .map_err(engine_error)?;
    done(&state, id).await
}

/// `POST /api/alarms/{id}/shelve`: hides the alarm's point for `duration` (capped by its rule).
pub(super) async fn shelve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: Bytes,
) -> WebResult<(StatusCode, Json<ActionDone>)> {
    let b = body(&b)?;
    let note = note(&b)?;
    let user = caller.user(b.user.as_deref());
    let duration = match b.duration.as_deref() {
        None => Duration::from_secs(3600),
        Some(d) => humantime::parse_duration(d).map_err(|e| {
            WebError::BadRequest(format!(
                "duration {d:?} is not a duration like \"2h\" ({e})"
            ))
        })?,
    };
    if duration.is_zero() {
        return Err(WebError::BadRequest(
            "duration must be longer than zero".into(),
        ));
    }
    engine(&state)?
        .shelve(id, duration, &user, note)
        .await
        .map_err(engine_error)?;
    done(&state, id).await
}

/// `POST /api/alarms/{id}/unshelve`.
pub(super) async fn unshelve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: Bytes,
) -> WebResult<(StatusCode, Json<ActionDone>)> {
    let b = body(&b)?;
    let note = note(&b)?;
    let user = caller.user(b.user.as_deref());
    engine(&state)?
        .unshelve(id, &user, note)
        .await
        .map_err(engine_error)?;
    done(&state, id).await
}

#[derive(Deserialize)]
pub(super) struct UndeliveredQuery {
    limit: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct UndeliveredPage {
    notices: Vec<crate::store::outbox::Undelivered>,
}

/// `GET /api/notifications/undelivered?limit=`: notices dead-lettered (refused by the receiver,
/// unreadable, or given up after the receiver's `max_age`/`max_attempts`), newest first;
/// default 100, at most 10,000.
pub(super) async fn undelivered(
    State(state): State<AppState>,
    Query(q): Query<UndeliveredQuery>,
) -> WebResult<Json<UndeliveredPage>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    Ok(Json(UndeliveredPage {
        notices: state.store.undelivered(limit).await?,
    }))
}
