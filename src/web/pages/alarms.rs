//! `GET /alarms`: the active alarms (priority, then newest first) with acknowledge and shelve,
//! the journal with filters, and the alarm-system KPIs of the last 24 hours.
//!
//! The buttons post to the JSON actions (`/api/alarms/{id}/ack|shelve|unshelve`) from the
//! script, with the CSRF token of the page; the list refreshes when an `alarm` event arrives.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::overview::rfc3339;
use super::{AppState, Msgs, PageCtx, WebError};
use crate::rules::{AlarmState, Priority, Transition};
use crate::store::alarms::{AlarmRow, JournalFilter, JournalRow, Kpis};

/// Journal rows shown by default.
const DEFAULT_LIMIT: i64 = 200;
/// Shelving durations offered (what the API's `duration` takes) .
const DURATIONS: [&str; 4] = ["1h", "2h", "8h", "24h"];

/// Filters of the history, as query parameters.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AlarmQuery {
    device: Option<String>,
    rule: Option<String>,
    priority: Option<String>,
    state: Option<String>,
    transition: Option<String>,
    hours: Option<i64>,
    limit: Option<i64>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The priority in words.
pub(crate) fn priority_label(p: Priority, t: &Msgs) -> &'static str {
    match p {
        Priority::Low => t.priority_low,
        Priority::Medium => t.priority_medium,
        Priority::High => t.priority_high,
        Priority::Critical => t.priority_critical,
    }
}

/// An active alarm as rendered.
struct ActiveRow {
    a: AlarmRow,
    priority: &'static str,
    state: &'static str,
    raised_at: String,
    shelved_until: Option<String>,
    can_ack: bool,
    shelved: bool,
}

/// A journal entry as rendered.
struct HistoryRow {
    j: JournalRow,
    priority: &'static str,
    state: &'static str,
    transition: &'static str,
    at: String,
}

/// One bar of the alarm-rate chart.
struct Bar {
    start: String,
    count: usize,
    height_pct: usize,
}

struct KpiView {
    k: Kpis,
    from: String,
    to: String,
    average: String,
    time_in_flood: String,
    bars: Vec<Bar>,
}

/// A select option with whether it is chosen.
struct Opt {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// The newest dead-lettered notices the alarms page lists.
const UNDELIVERED_ROWS: u32 = 50;

#[derive(Template)]
#[template(path = "alarms/index.html")]
struct AlarmsPage {
    ctx: PageCtx,
    active: Vec<ActiveRow>,
    history: Vec<HistoryRow>,
    kpis: KpiView,
    durations: &'static [&'static str],
    device: String,
    rule: String,
    hours: i64,
    priorities: Vec<Opt>,
    states: Vec<Opt>,
    transitions: Vec<Opt>,
    undelivered: Vec<UndeliveredRow>,
}

/// A dead-lettered notice as the alarms page lists it.
struct UndeliveredRow {
    u: crate::store::outbox::Undelivered,
    dead_at: String,
    transition: &'static str,
}

fn options<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Opt> {
    all.iter()
        .map(|&v| Opt {
            value: value(v),
            label: label(v),
            selected: chosen == Some(v),
        })
        .collect()
}

const STATES: [AlarmState; 8] = [
    AlarmState::Unacknowledged,
    AlarmState::Acknowledged,
    AlarmState::RtnUnacknowledged,
    AlarmState::Latched,
    AlarmState::Shelved,
    AlarmState::Suppressed,
    AlarmState::OutOfService,
    AlarmState::Normal,
];

const TRANSITIONS: [Transition; 10] = [
    Transition::Raised,
    Transition::Cleared,
    Transition::Acknowledged,
    Transition::Reset,
    Transition::ReAlarmed,
    Transition::Shelved,
    Transition::Unshelved,
    Transition::ShelveExpired,
    Transition::Suppressed,
    Transition::Unsuppressed,
];

/// `GET /alarms?device=&rule=&priority=&state=&transition=&hours=&limit=`.
pub(super) async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<AlarmQuery>,
) -> Response {
    match render(&state, &ctx, &q).await {
        Ok(page) => ctx.render(StatusCode::OK, &page),
        Err(e) => e.into_response(),
    }
}

/// The newest dead-lettered notices, as the page lists them.
async fn undelivered(state: &AppState, ctx: &PageCtx) -> Result<Vec<UndeliveredRow>, WebError> {
    Ok(state
        .store
        .undelivered(UNDELIVERED_ROWS)
        .await?
        .into_iter()
        .map(|u| UndeliveredRow {
            dead_at: rfc3339(u.dead_at),
            transition: u
                .transition
                .as_deref()
                .and_then(|tr| TRANSITIONS.into_iter().find(|x| x.as_str() == tr))
                .map_or("", |tr| ctx.lang.transition(tr)),
            u,
        })
        .collect())
}

async fn render(state: &AppState, ctx: &PageCtx, q: &AlarmQuery) -> Result<AlarmsPage, WebError> {
    let t = ctx.t;
    let priority = match non_empty(&q.priority) {
        None => None,
        Some(p) => Some(Priority::parse(p).ok_or_else(|| {
            WebError::BadRequest(format!(
                "priority {p:?} is not one of low, medium, high, critical"
            ))
        })?),
    };
    let alarm_state =
        match non_empty(&q.state) {
            None => None,
            Some(s) => Some(AlarmState::parse(s).ok_or_else(|| {
                WebError::BadRequest(format!("state {s:?} is not an alarm state"))
            })?),
        };
    let transition = match non_empty(&q.transition) {
        None => None,
        Some(tr) => Some(
            TRANSITIONS
                .into_iter()
                .find(|x| x.as_str() == tr)
                .ok_or_else(|| WebError::BadRequest(format!("transition {tr:?} is unknown")))?,
        ),
    };
    let hours = q.hours.unwrap_or(24).clamp(1, 24 * 366);
    let limit = q
        .limit
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, crate::store::HISTORY_ROW_LIMIT);
    let device = non_empty(&q.device).map(str::to_owned);
    let rule = non_empty(&q.rule).map(str::to_owned);
    let now = Utc::now();

    let active = state
        .store
        .open_alarms()
        .await?
        .into_iter()
        .filter(|a| device.as_deref().is_none_or(|d| a.device == d))
        .filter(|a| rule.as_deref().is_none_or(|r| a.rule == r))
        .filter(|a| priority.is_none_or(|p| a.priority == p))
        .map(|a| ActiveRow {
            priority: priority_label(a.priority, t),
            state: ctx.lang.alarm_state(a.state),
            raised_at: rfc3339(a.raised_at),
            shelved_until: a.shelved_until.map(rfc3339),
            can_ack: !a.acked || a.state == AlarmState::Latched,
            shelved: a.state == AlarmState::Shelved,
            a,
        })
        .collect();
    let history = state
        .store
        .alarm_journal(&JournalFilter {
            from: Some(now - Duration::hours(hours)),
            to: Some(now),
            device: device.clone(),
            rule: rule.clone(),
            priority,
            state: alarm_state,
            transition,
            alarm_id: None,
            limit,
            before_id: None,
        })
        .await?
        .into_iter()
        .map(|j| HistoryRow {
            priority: priority_label(j.priority, t),
            state: ctx.lang.alarm_state(j.state),
            transition: ctx.lang.transition(j.transition),
            at: rfc3339(j.at),
            j,
        })
        .collect();
    let undelivered = undelivered(state, ctx).await?;
    let k = state
        .store
        .alarm_kpis(now - Duration::hours(24), now)
        .await?;
    let peak = k
        .per_10_min
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1);
    let kpis = KpiView {
        from: rfc3339(k.from),
        to: rfc3339(k.to),
        average: format!("{:.1}", k.average_per_10_min),
        time_in_flood: format!("{:.1} %", k.time_in_flood_pct),
        bars: k
            .per_10_min
            .iter()
            .map(|b| Bar {
                start: rfc3339(b.start),
                count: b.count,
                height_pct: b.count * 100 / peak,
            })
            .collect(),
        k,
    };
    Ok(AlarmsPage {
        ctx: ctx.clone(),
        active,
        history,
        kpis,
        undelivered,
        durations: &DURATIONS,
        device: device.unwrap_or_default(),
        rule: rule.unwrap_or_default(),
        hours,
        priorities: options(&Priority::ALL, priority, Priority::as_str, |p| {
            priority_label(p, t)
        }),
        states: options(&STATES, alarm_state, AlarmState::as_str, |s| {
            ctx.lang.alarm_state(s)
        }),
        transitions: options(&TRANSITIONS, transition, Transition::as_str, |tr| {
            ctx.lang.transition(tr)
        }),
    })
}
