//! The device page: `GET /devices/{name}` with `?window=1h|24h|7d` for the charts and
//! `?class=N&from=&to=` for the diagnostic table, `?before=POS|after=POS` for its pages.
//!
//! Identity, operating mode with its timeline, round-trip time and tag values for every device;
//! for S7 CPUs the diagnostic buffer, module status and the cycle time trend; for MELSEC PLCs
//! the CPU error and its history and, per CC-Link network, the station map, the station timeline
//! and the link scan time trend.
//!
//! Invariants: the page reads the live view and bounded store queries only (charts over at most
//! seven days, downsampled to [`charts::MAX_POINTS`] buckets; one page of [`DIAG_ROWS`] event
//! rows, found by position, not offset), so a year of history does not slow it down. Texts from the device catalogues are
//! looked up in the page language by event ID or error code.
//!
//! Live: the page's script listens to `/events?device=NAME&key=KEY` (see `live.rs`) and, on a
//! `device` event, fetches the page again (same URL, so window, class and time filters stay)
//! and swaps in what changed; a form field being edited is kept, new rows flash. So the page
//! has one source of HTML, this module.
//!
//! DOM contract (browser tests rely on it): `.device-page[data-device][data-live-key]` (the key
//! is what the live feed compares with), `#cpu-mode[data-mode]`, `svg#mode-timeline`,
//! `table#tags tr[data-tag][data-quality=good|stale|bad]`; S7: `table#diag-buffer` rows
//! `tr[data-event-id="0x3942"][data-entering=true|false][data-class][data-key]` (inside
//! `#diag-rows`, apart from the filter form), `select#diag-class`, `#diag-from`, `#diag-to`,
//! `#modules [data-slot][data-state=ok|fault]`, `svg#cycle-trend`; MELSEC:
//! `#cpu-error[data-code]`, `table#cpu-errors tr[data-code][data-entering][data-key]`, per
//! network `section.station-map[data-network]` with one
//! `[data-station][data-occupies][data-state=ok|down|reserved|error|unknown][title]` element
//! per station (occupied numbers joined), `svg#station-timeline` and `svg#link-scan-trend`
//! (further networks: `-2`, `-3`… suffixes). `data-key` tells rows apart across refreshes.
//! Each event table's pages: `nav.pager a[data-page=newest|newer|older]` (query-only hrefs).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::PageCtx;
use super::charts::{self, Window};
use super::i18n::{DeviceMsgs, Msgs};
use super::live::PageKey;
use super::overview::rfc3339;
use crate::live::DeviceView;
use crate::model::HealthState;
use crate::store::{StoredDiagEvent, StoredStatus};
use crate::web::{AppState, WebResult};
use melsec::MelsecPart;
use pager::TableQuery;
use s7::S7Part;

mod melsec;
mod pager;
mod s7;

/// The rows a page of an event table shows (newest first); `?before=`/`?after=` links page
/// through the rest (see `pager.rs`). A hundred rows
/// read at a glance and render in a few milliseconds.
const DIAG_ROWS: u32 = 100;
/// Matching events are counted up to this many ("5000+" beyond).
const DIAG_COUNT: u32 = 5_000;
/// The event class of MELSEC CPU errors (the MELSEC adapter's numbering: 1 = CPU error,
/// 2 = CC-Link station).
const MELSEC_CPU_ERROR: u8 = 1;
/// The chart windows a device page offers (`?window=`), with their length in hours: the last
/// hour for "what just happened", a shift or day, a week.
const WINDOWS: [(&str, i64); 3] = [("1h", 1), ("24h", 24), ("7d", 24 * 7)];
/// How far back the mode at the start of the chart window is looked for.
const MODE_LOOKBACK: Duration = Duration::days(30);

/// The device page's routes (merged into the page routes).
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/devices/{name}", get(page))
}

/// The query of the device page; unknown or malformed values fall back to the defaults and
/// are named in a notice.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DeviceQuery {
    window: Option<String>,
    class: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

/// `GET /devices/{name}`.
async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<DeviceQuery>,
    ctx: PageCtx,
) -> Response {
    let now = Utc::now();
    let Some(dev) = state.live.device(&name, now) else {
        let page = DeviceNotFound {
            ctx: ctx.clone(),
            l: ctx.lang.device(),
            name,
        };
        return ctx.render(StatusCode::NOT_FOUND, &page);
    };
    match build(&state, dev, q, &ctx, now).await {
        Ok(page) => ctx.render(StatusCode::OK, &page),
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "device/not_found.html")]
struct DeviceNotFound {
    ctx: PageCtx,
    l: &'static DeviceMsgs,
    name: String,
}

#[derive(Template)]
#[template(path = "device/page.html")]
struct DevicePage {
    ctx: PageCtx,
    l: &'static DeviceMsgs,
    notices: Vec<String>,
    /// What the live feed compares with (`data-live-key`).
    live_key: String,
    d: DeviceView,
    health: &'static str,
    health_label: &'static str,
    since: String,
    /// `since` for the script, which shows it in the browser's time zone as the overview does.
    since_at: String,
    rtt: Option<String>,
    window: &'static str,
    /// Each chart window with its link (which keeps the table's filter and page).
    windows: Vec<(&'static str, String)>,
    identity: Vec<(&'static str, String)>,
    mode: Option<String>,
    mode_svg: String,
    tags: Vec<TagRow>,
    s7: Option<S7Part>,
    melsec: Option<MelsecPart>,
}

/// A tag row.
struct TagRow {
    name: String,
    value: String,
    unit: String,
    quality: &'static str,
    quality_label: &'static str,
    reason: String,
    age: String,
}

async fn build(
    state: &AppState,
    d: DeviceView,
    q: DeviceQuery,
    ctx: &PageCtx,
    now: DateTime<Utc>,
) -> WebResult<DevicePage> {
    let lang = ctx.lang;
    let l = lang.device();
    let mut notices = Vec::new();
    let asked = q.window.as_deref().filter(|w| !w.is_empty());
    let (window, span) = match WINDOWS.iter().find(|(w, _)| Some(*w) == asked) {
        Some(&(w, hours)) => (w, Duration::hours(hours)),
        None => {
            if let Some(other) = asked {
                notices.push(format!("{}: window={other}", l.ignored));
            }
            ("24h", Duration::hours(24))
        }
    };
    let chart_window = Window::new(now - span, now);
    let table = TableQuery::of(&q, l, &mut notices);
    let name = d.name.clone();
    let live_key = PageKey::of(&d).to_string();

    let (health, health_label) = health_of(d.health.state, ctx.t, l);
    let rtt = d
        .health
        .rtt
        .map(|r| format!("{:.1} ms", r.as_secs_f64() * 1000.0));
    let identity = identity(&d, l);
    let mode = d.status.cpu_mode.as_ref().map(|m| m.mode.clone());
    let has_mode = matches!(d.kind, "s7" | "melsec");
    let tags = d
        .values
        .iter()
        .map(|v| TagRow {
            name: v.tag.clone(),
            value: v.value.map(format_number).unwrap_or_else(|| "—".into()),
            unit: v.unit.clone().unwrap_or_default(),
            quality: v.quality.as_str(),
            quality_label: match &v.quality {
                crate::model::Quality::Good => l.good,
                crate::model::Quality::Stale => l.stale,
                crate::model::Quality::Bad(_) => l.bad,
            },
            reason: match &v.quality {
                crate::model::Quality::Bad(r) => r.clone(),
                _ => String::new(),
            },
            age: v.age_ms.map(format_age).unwrap_or_else(|| "—".into()),
        })
        .collect();

    // The store reads of the parts are independent: made at once, each on its own pooled
    // connection (SQLite readers run in parallel under WAL), a page waits for the slowest
    // rather than for their sum.
    let mode_svg = async {
        if has_mode {
            mode_timeline(state, &name, chart_window, l).await
        } else {
            Ok(String::new())
        }
    };
    let s7 = async {
        if d.kind == "s7" {
            s7::part(state, &d, &table, (window, chart_window), lang, now)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let melsec = async {
        if d.kind == "melsec" {
            melsec::part(state, &d, &table, (window, chart_window), lang, now)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (mode_svg, s7, melsec) = tokio::try_join!(mode_svg, s7, melsec)?;
    Ok(DevicePage {
        ctx: ctx.clone(),
        l,
        notices,
        live_key,
        health,
        health_label,
        since: time(d.health.since),
        since_at: rfc3339(d.health.since),
        rtt,
        window,
        windows: WINDOWS
            .iter()
            .map(|&(w, _)| (w, table.href(w, table.at)))
            .collect(),
        identity,
        mode,
        mode_svg,
        tags,
        s7,
        melsec,
        d,
    })
}

fn health_of(s: HealthState, t: &Msgs, l: &DeviceMsgs) -> (&'static str, &'static str) {
    let key = s.as_str();
    let label = match key {
        "online" => t.state_online,
        "offline" => t.state_offline,
        "demoted" => t.state_demoted,
        _ => l.unknown,
    };
    (key, label)
}

fn identity(d: &DeviceView, l: &'static DeviceMsgs) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let Some(id) = d.status.identity.as_ref() else {
        return out;
    };
    for (key, label) in [
        ("order_number", l.order_number),
        ("firmware", l.firmware),
        ("serial", l.serial),
        ("hardware", l.hardware),
        ("module_name", l.module_name),
        ("plc_name", l.plc_name),
        ("plant_id", l.plant_id),
    ] {
        if let Some(v) = id.get(key).map(json_text).filter(|v| !v.is_empty()) {
            out.push((label, v));
        }
    }
    out
}

/// The operating-mode strip chart: the stored changes in the window, starting from the last
/// mode stored before it.
async fn mode_timeline(
    state: &AppState,
    name: &str,
    w: Window,
    l: &DeviceMsgs,
) -> WebResult<String> {
    let (from, to) = (millis(w.from_ms), millis(w.to_ms));
    let changes = state
        .store
        .status_history(name, Some("cpu_mode"), from, to)
        .await?
        .unwrap_or_default();
    let mode_of = |s: &StoredStatus| s.value.get("mode").map(json_text);
    let initial = if changes.first().is_some_and(|c| c.at <= from) {
        None
    } else {
        state
            .store
            .status_history(name, Some("cpu_mode"), from - MODE_LOOKBACK, from)
            .await?
            .unwrap_or_default()
            .last()
            .and_then(mode_of)
    };
    let changes: Vec<(i64, String)> = changes
        .iter()
        .filter_map(|c| mode_of(c).map(|m| (c.at.timestamp_millis(), m)))
        .collect();
    Ok(charts::strip_chart(
        "mode-timeline",
        l.mode_timeline,
        w,
        initial.as_deref(),
        &changes,
        l.no_data,
    ))
}

/// A diagnostic row's identity: when the gateway saw it and the record as received.
fn row_key(e: &StoredDiagEvent) -> String {
    format!("{}-{}", e.gateway_time.timestamp_millis(), e.raw)
}

/// A JSON value as display text (strings without quotes).
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The value of a `datetime-local` input for `t` (UTC), as precise as `t` is: a filter
/// carried in a page link must select what the form did.
fn input_time(t: DateTime<Utc>) -> String {
    let format = if t.timestamp_subsec_millis() != 0 {
        "%Y-%m-%dT%H:%M:%S%.3f"
    } else if t.second() != 0 {
        "%Y-%m-%dT%H:%M:%S"
    } else {
        "%Y-%m-%dT%H:%M"
    };
    t.format(format).to_string()
}

/// RFC 3339, Unix milliseconds, or a `datetime-local` value (read as UTC), in range.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    crate::web::time::parse("time", s).ok()
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn format_age(ms: i64) -> String {
    match ms {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms if ms < 3_600_000 => format!("{} min", ms / 60_000),
        ms if ms < 86_400_000 => format!("{} h", ms / 3_600_000),
        ms => format!("{} d", ms / 86_400_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_forms_links_and_the_api_are_understood() {
        for exact in [
            "2026-11-25T08:00",
            "2026-11-25T08:00:30",
            "2026-11-25T08:00:30.250",
        ] {
            let t = parse_time(exact).map(input_time);
            assert_eq!(
                t.as_deref(),
                Some(exact),
                "a link keeps what the form selected"
            );
        }
        assert!(parse_time("2026-11-25T08:00:00Z").is_some());
        assert!(parse_time("1700000000000").is_some());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn ages_and_numbers_read_naturally() {
        assert_eq!(format_age(850), "850 ms");
        assert_eq!(format_age(12_300), "12.3 s");
        assert_eq!(format_age(7_200_000), "2 h");
        assert_eq!(format_number(21.5), "21.5");
        assert_eq!(format_number(-7.0), "-7");
        assert_eq!(format_number(1.0 / 3.0), "0.333");
    }
}
