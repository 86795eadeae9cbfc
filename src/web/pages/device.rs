//! The device page: `GET /devices/{name}` with `?window=24h|7d` for the charts and
//! `?class=N&from=&to=` for the diagnostic table.
//!
//! Identity, operating mode with its timeline, round-trip time and tag values for every device;
//! for S7 CPUs the diagnostic buffer, module status and the cycle time trend; for MELSEC PLCs
//! the CPU error and its history and, per CC-Link network, the station map, the station timeline
//! and the link scan time trend.
//!
//! Invariants: the page reads the live view and bounded store queries only (charts over at most
//! seven days, downsampled to [`charts::MAX_POINTS`] buckets; at most [`DIAG_ROWS`] diagnostic
//! rows), so a year of history does not slow it down. Texts from the device catalogues are
//! looked up in the page language by event ID or error code.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::charts::{self, Window};
use super::{Lang, PageCtx};
use crate::live::DeviceView;
use crate::model::HealthState;
use crate::store::{StoredDiagEvent, StoredStatus};
use crate::web::{AppState, WebResult};

/// The most diagnostic rows the table shows (newest first).
const DIAG_ROWS: usize = 500;
/// The most stored events read for the table before the class filter applies.
const DIAG_READ: u32 = 5_000;
/// The event class of MELSEC CPU errors (the MELSEC adapter's numbering: 1 = CPU error,
/// 2 = CC-Link station).
const MELSEC_CPU_ERROR: u8 = 1;
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
        let labels = Labels::of(ctx.lang);
        let page = DeviceNotFound {
            ctx: ctx.clone(),
            l: labels,
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
    l: &'static Labels,
    name: String,
}

#[derive(Template)]
#[template(path = "device/page.html")]
struct DevicePage {
    ctx: PageCtx,
    l: &'static Labels,
    notices: Vec<String>,
    d: DeviceView,
    health: &'static str,
    health_label: &'static str,
    since: String,
    rtt: Option<String>,
    window: &'static str,
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
    reason: String,
    age: String,
}

/// What only S7 CPUs show.
struct S7Part {
    diag: Vec<DiagRow>,
    diag_total: usize,
    classes: Vec<(u8, String, bool)>,
    from: String,
    to: String,
    modules: Option<Vec<ModuleRow>>,
    cycle_svg: String,
    cycle: Option<String>,
}

/// One row of the S7 diagnostic table.
struct DiagRow {
    gateway_time: String,
    device_time: String,
    hex: String,
    class: u8,
    class_text: String,
    text: String,
    remedy: String,
    entering: &'static str,
    entering_label: &'static str,
    ob: String,
    priority: String,
    details: String,
}

/// One module of an S7 rack.
struct ModuleRow {
    rack: u64,
    slot: u64,
    address: String,
    types: String,
    state: &'static str,
    label: &'static str,
}

/// What only MELSEC PLCs show.
struct MelsecPart {
    error: Option<CpuError>,
    errors: Vec<CpuError>,
    networks: Vec<NetworkPart>,
}

/// A CPU error (the current one or one from its history).
struct CpuError {
    at: String,
    code: u16,
    entering: bool,
    text: String,
    remedy: String,
}

/// One CC-Link network.
struct NetworkPart {
    name: String,
    kind: String,
    line: &'static str,
    error: Option<String>,
    stations: Vec<StationCell>,
    timeline_svg: String,
    link_scan_svg: String,
    link_scan: Option<String>,
}

/// One cell of the station map: a station, spanning its occupied numbers.
struct StationCell {
    number: u64,
    occupies: u64,
    numbers: String,
    name: String,
    state: &'static str,
    title: String,
}

async fn build(
    state: &AppState,
    d: DeviceView,
    q: DeviceQuery,
    ctx: &PageCtx,
    now: DateTime<Utc>,
) -> WebResult<DevicePage> {
    let lang = ctx.lang;
    let l = Labels::of(lang);
    let mut notices = Vec::new();
    let (window, span) = match q.window.as_deref().filter(|w| !w.is_empty()) {
        None | Some("24h") => ("24h", Duration::hours(24)),
        Some("7d") => ("7d", Duration::days(7)),
        Some(other) => {
            notices.push(format!("{}: window={other}", l.ignored));
            ("24h", Duration::hours(24))
        }
    };
    let chart_window = Window::new(now - span, now);
    let name = d.name.clone();

    let (health, health_label) = health_of(d.health.state, l);
    let rtt = d
        .health
        .rtt
        .map(|r| format!("{:.1} ms", r.as_secs_f64() * 1000.0));
    let identity = identity(&d, l);
    let mode = d.status.cpu_mode.as_ref().map(|m| m.mode.clone());
    let has_mode = matches!(d.kind, "s7" | "melsec");
    let mode_svg = if has_mode {
        mode_timeline(state, &name, chart_window, l).await?
    } else {
        String::new()
    };
    let tags = d
        .values
        .iter()
        .map(|v| TagRow {
            name: v.tag.clone(),
            value: v.value.map(format_number).unwrap_or_else(|| "—".into()),
            unit: v.unit.clone().unwrap_or_default(),
            quality: v.quality.as_str(),
            reason: match &v.quality {
                crate::model::Quality::Bad(r) => r.clone(),
                _ => String::new(),
            },
            age: v.age_ms.map(format_age).unwrap_or_else(|| "—".into()),
        })
        .collect();

    let s7 = if d.kind == "s7" {
        Some(s7_part(state, &d, &q, chart_window, lang, &mut notices, now).await?)
    } else {
        None
    };
    let melsec = if d.kind == "melsec" {
        Some(melsec_part(state, &d, chart_window, lang, now).await?)
    } else {
        None
    };
    Ok(DevicePage {
        ctx: ctx.clone(),
        l,
        notices,
        health,
        health_label,
        since: time(d.health.since),
        rtt,
        window,
        identity,
        mode,
        mode_svg,
        tags,
        s7,
        melsec,
        d,
    })
}

fn health_of(s: HealthState, l: &Labels) -> (&'static str, &'static str) {
    let key = s.as_str();
    let label = match key {
        "online" => l.online,
        "offline" => l.offline,
        "demoted" => l.demoted,
        _ => l.unknown,
    };
    (key, label)
}

fn identity(d: &DeviceView, l: &'static Labels) -> Vec<(&'static str, String)> {
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
async fn mode_timeline(state: &AppState, name: &str, w: Window, l: &Labels) -> WebResult<String> {
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

async fn s7_part(
    state: &AppState,
    d: &DeviceView,
    q: &DeviceQuery,
    w: Window,
    lang: Lang,
    notices: &mut Vec<String>,
    now: DateTime<Utc>,
) -> WebResult<S7Part> {
    let l = Labels::of(lang);
    let class = match q.class.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match c.parse::<u8>() {
            Ok(n) if n < 16 => Some(n),
            _ => {
                notices.push(format!("{}: class={c}", l.ignored));
                None
            }
        },
    };
    let mut bound = |key: &str, v: Option<&str>| match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(s) => match parse_time(s) {
            Some(t) => Some(t),
            None => {
                notices.push(format!("{}: {key}={s}", l.ignored));
                None
            }
        },
    };
    let from_q = bound("from", q.from.as_deref());
    let to_q = bound("to", q.to.as_deref());
    let to = to_q.unwrap_or(now);
    let from = from_q.unwrap_or(to - Duration::days(30)).min(to);
    let events = state
        .store
        .diagnostics(&d.name, from, to, DIAG_READ)
        .await?
        .unwrap_or_default();
    let matching: Vec<&StoredDiagEvent> = events
        .iter()
        .filter(|e| class.is_none_or(|c| e.class == c))
        .collect();
    let diag_total = matching.len();
    let diag = matching
        .into_iter()
        .take(DIAG_ROWS)
        .map(|e| diag_row(e, lang))
        .collect();
    let classes = (1u8..16)
        .map(|c| {
            (
                c,
                format!(
                    "{c:X} · {}",
                    plcdiag_s7::catalog::class_meaning(c, lang.s7())
                ),
                class == Some(c),
            )
        })
        .collect();

    let modules = d
        .status
        .modules
        .as_ref()
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    let faulty = ["error", "station_error", "not_available"]
                        .iter()
                        .any(|k| m.get(k).and_then(Value::as_bool) == Some(true));
                    ModuleRow {
                        rack: m.get("rack").and_then(Value::as_u64).unwrap_or(0),
                        slot: m.get("slot").and_then(Value::as_u64).unwrap_or(0),
                        address: m.get("logical_address").map(json_text).unwrap_or_default(),
                        types: format!(
                            "{} / {}",
                            m.get("expected_type").map(json_text).unwrap_or_default(),
                            m.get("actual_type").map(json_text).unwrap_or_default()
                        ),
                        state: if faulty { "fault" } else { "ok" },
                        label: if faulty { l.fault } else { l.ok },
                    }
                })
                .collect()
        });

    let rows = state
        .store
        .status_history(
            &d.name,
            Some("cycle_times"),
            millis(w.from_ms),
            millis(w.to_ms),
        )
        .await?
        .unwrap_or_default();
    let points: Vec<(i64, f64)> = rows
        .iter()
        .filter_map(|r| {
            Some((
                r.at.timestamp_millis(),
                r.value.get("current_ms")?.as_f64()?,
            ))
        })
        .collect();
    let buckets = charts::downsample(&points, w, charts::MAX_POINTS);
    let cycle_svg = charts::line_chart("cycle-trend", l.cycle_trend, "ms", w, &buckets, l.no_data);
    let cycle = d.status.cycle_times.as_ref().map(|c| {
        format!(
            "{} {} ms · {} {} ms · {} {} ms",
            l.current,
            format_number(c.current_ms),
            l.min,
            format_number(c.min_ms),
            l.max,
            format_number(c.max_ms)
        )
    });
    Ok(S7Part {
        diag,
        diag_total,
        classes,
        from: from_q.map(input_time).unwrap_or_default(),
        to: to_q.map(input_time).unwrap_or_default(),
        modules,
        cycle_svg,
        cycle,
    })
}

fn diag_row(e: &StoredDiagEvent, lang: Lang) -> DiagRow {
    let l = Labels::of(lang);
    let text = plcdiag_s7::catalog::describe(e.event_id, lang.s7());
    let detail = |k: &str| e.details.get(k).map(json_text).unwrap_or_default();
    let details = ["dat_id", "info1", "info2"]
        .iter()
        .filter_map(|k| {
            let v = detail(k);
            (!v.is_empty()).then(|| format!("{k} {v}"))
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let (entering, entering_label) = match e.entering {
        Some(true) => ("true", l.entering),
        Some(false) => ("false", l.leaving),
        None => ("", ""),
    };
    DiagRow {
        gateway_time: time(e.gateway_time),
        device_time: e.device_time.clone().unwrap_or_default().replace('T', " "),
        hex: format!("0x{:04X}", e.event_id),
        class: e.class,
        class_text: text.class_meaning.to_owned(),
        text: text.text.into_owned(),
        remedy: text.remedy.unwrap_or_default().to_owned(),
        entering,
        entering_label,
        ob: detail("ob"),
        priority: detail("priority"),
        details,
    }
}

async fn melsec_part(
    state: &AppState,
    d: &DeviceView,
    w: Window,
    lang: Lang,
    now: DateTime<Utc>,
) -> WebResult<MelsecPart> {
    // CPU errors over the last 30 days (events of class 1), newest first.
    let events = state
        .store
        .diagnostics(&d.name, now - Duration::days(30), now, DIAG_READ)
        .await?
        .unwrap_or_default();
    let errors: Vec<CpuError> = events
        .iter()
        .filter(|e| e.class == MELSEC_CPU_ERROR)
        .take(DIAG_ROWS)
        .map(|e| cpu_error(e, lang))
        .collect();
    let error = errors.first().filter(|e| e.entering).map(|e| CpuError {
        at: e.at.clone(),
        code: e.code,
        entering: true,
        text: e.text.clone(),
        remedy: e.remedy.clone(),
    });

    let history = state
        .store
        .status_history(&d.name, Some("network"), millis(w.from_ms), millis(w.to_ms))
        .await?
        .unwrap_or_default();
    let online = d.health.state == HealthState::Online;
    let networks = d
        .status
        .networks
        .iter()
        .enumerate()
        .map(|(index, (name, status))| network_part(index, name, status, &history, w, online, lang))
        .collect();
    Ok(MelsecPart {
        error,
        errors,
        networks,
    })
}

/// The CPU error text in the page language. The stored text is English and was written with
/// the device's CPU series; the series whose English text matches gives the other language.
fn cpu_error(e: &StoredDiagEvent, lang: Lang) -> CpuError {
    use plcdiag_melsec::Series;
    use plcdiag_melsec::errors::{Lang as MLang, describe};
    let entering = e.entering != Some(false);
    let stored = e.text.strip_prefix("cleared: ").unwrap_or(&e.text);
    let remedy_en = e
        .details
        .get("remedy")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (text, remedy) = match lang {
        Lang::En => (stored.to_owned(), remedy_en),
        Lang::ZhCn => [Series::Q, Series::IqR]
            .into_iter()
            .find(|s| describe(e.event_id, *s, MLang::En).text == stored)
            .map(|s| {
                let t = describe(e.event_id, s, MLang::ZhCn);
                (t.text.into_owned(), t.remedy.into_owned())
            })
            .unwrap_or((stored.to_owned(), remedy_en)),
    };
    CpuError {
        at: e
            .device_time
            .clone()
            .map(|t| t.replace('T', " "))
            .unwrap_or_else(|| time(e.gateway_time)),
        code: e.event_id,
        entering,
        text,
        remedy: if entering { remedy } else { String::new() },
    }
}

fn network_part(
    index: usize,
    name: &str,
    status: &Value,
    history: &[StoredStatus],
    w: Window,
    online: bool,
    lang: Lang,
) -> NetworkPart {
    let l = Labels::of(lang);
    let findings = status
        .get("findings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let stations = status
        .get("stations")
        .and_then(Value::as_array)
        .map(|ss| {
            ss.iter()
                .map(|s| station_cell(s, &findings, online, lang))
                .collect()
        })
        .unwrap_or_default();
    let line = match status.get("line_ok").and_then(Value::as_bool) {
        Some(true) => "ok",
        Some(false) => "fault",
        None => "unknown",
    };

    // The station timeline (which stations were down) and the link scan trend, from the
    // network's stored maps in the window.
    let mut changes: Vec<(i64, String)> = Vec::new();
    let mut points: Vec<(i64, f64)> = Vec::new();
    for row in history {
        if row.value.get("name").and_then(Value::as_str) != Some(name) {
            continue;
        }
        let Some(s) = row.value.get("status") else {
            continue;
        };
        let at = row.at.timestamp_millis();
        let down: Vec<String> = s
            .get("stations")
            .and_then(Value::as_array)
            .map(|ss| {
                ss.iter()
                    .filter(|s| s.get("down").and_then(Value::as_bool) == Some(true))
                    .filter_map(|s| s.get("number").and_then(Value::as_u64))
                    .map(|n| n.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let label = if s.get("error").is_some() {
            "UNKNOWN".to_owned()
        } else if down.is_empty() {
            "OK".to_owned()
        } else {
            format!("DOWN {}", down.join(","))
        };
        if changes.last().is_none_or(|(_, last)| *last != label) {
            changes.push((at, label));
        }
        if let Some(v) = s
            .get("link_scan")
            .and_then(|ls| ls.get("current_ms"))
            .and_then(Value::as_f64)
        {
            points.push((at, v));
        }
    }
    let suffix = if index == 0 {
        String::new()
    } else {
        format!("-{}", index + 1)
    };
    let timeline_svg = charts::strip_chart(
        &format!("station-timeline{suffix}"),
        &format!("{} · {name}", l.station_timeline),
        w,
        None,
        &changes,
        l.no_data,
    );
    let buckets = charts::downsample(&points, w, charts::MAX_POINTS);
    let link_scan_svg = charts::line_chart(
        &format!("link-scan-trend{suffix}"),
        &format!("{} · {name}", l.link_scan_trend),
        "ms",
        w,
        &buckets,
        l.no_data,
    );
    let link_scan = status.get("link_scan").and_then(|ls| {
        Some(format!(
            "{} {} ms · {} {} ms · {} {} ms",
            l.current,
            format_number(ls.get("current_ms")?.as_f64()?),
            l.min,
            format_number(ls.get("min_ms")?.as_f64()?),
            l.max,
            format_number(ls.get("max_ms")?.as_f64()?)
        ))
    });
    NetworkPart {
        name: name.to_owned(),
        kind: status.get("kind").map(json_text).unwrap_or_default(),
        line,
        error: status.get("error").map(json_text),
        stations,
        timeline_svg,
        link_scan_svg,
        link_scan,
    }
}

fn station_cell(s: &Value, findings: &[Value], online: bool, lang: Lang) -> StationCell {
    let l = Labels::of(lang);
    let number = s.get("number").and_then(Value::as_u64).unwrap_or(0);
    let occupies = s
        .get("occupies")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .max(1);
    let flag = |k: &str| s.get(k).and_then(Value::as_bool) == Some(true);
    let known = match s.get("state").and_then(Value::as_str) {
        _ if flag("down") => "down",
        Some("ok") => "ok",
        Some("faulty") => "error",
        Some("reserved") | Some("errorinvalid") => "reserved",
        _ => "unknown",
    };
    // A map from a device that no longer answers is only what was last known.
    let state = if online { known } else { "unknown" };
    let name = s.get("name").map(json_text).unwrap_or_default();
    let model = s.get("model").and_then(Value::as_str).unwrap_or_default();
    let numbers = if occupies > 1 {
        format!("{number}–{}", number + occupies - 1)
    } else {
        number.to_string()
    };
    let mut title = format!("{} {numbers}: {name}", l.station);
    if !model.is_empty() {
        title.push_str(&format!(" ({model})"));
    }
    title.push_str(&format!(
        " · {}",
        match known {
            "ok" => l.ok,
            "down" => l.down,
            "error" => l.error,
            "reserved" => l.reserved,
            _ => l.unknown,
        }
    ));
    if !online {
        title.push_str(&format!(" ({})", l.last_known));
    }
    if matches!(known, "down" | "error") {
        let key = lang_key(lang);
        let finding = findings.iter().find(|f| {
            f.get("stations")
                .and_then(Value::as_array)
                .is_some_and(|ns| ns.iter().any(|n| n.as_u64() == Some(number)))
        });
        let pick = |k: &str| {
            finding
                .and_then(|f| f.get(k))
                .and_then(|t| t.get(key).or_else(|| t.get("en")))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let flags: Vec<&str> = [
            ("data_link_error", l.flag_data_link),
            ("watchdog_error", l.flag_watchdog),
            ("fuse_blown", l.flag_fuse),
            ("switch_changed", l.flag_switch),
            ("number_overlap", l.flag_overlap),
            ("parameter_mismatch", l.flag_parameter),
        ]
        .iter()
        .filter(|(k, _)| flag(k))
        .map(|(_, t)| *t)
        .collect();
        let cause = pick("text").unwrap_or_else(|| flags.join(", "));
        if !cause.is_empty() {
            title.push_str(&format!("\n{}: {cause}", l.cause));
        }
        title.push_str(&format!(
            "\n{}: {}",
            l.remedy,
            pick("remedy").unwrap_or_else(|| l.generic_remedy.to_owned())
        ));
    }
    StationCell {
        number,
        occupies,
        numbers,
        name,
        state,
        title,
    }
}

fn lang_key(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::ZhCn => "zh",
    }
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

/// The value of a `datetime-local` input for `t` (UTC).
fn input_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// RFC 3339, Unix milliseconds, or a `datetime-local` value (read as UTC).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(ms) = s.parse::<i64>() {
        return Utc.timestamp_millis_opt(ms).single();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
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

/// The device page's labels in one language (kept here until they join the shared table).
#[derive(Debug)]
pub(crate) struct Labels {
    pub(crate) device: &'static str,
    pub(crate) not_found: &'static str,
    pub(crate) back: &'static str,
    pub(crate) ignored: &'static str,
    pub(crate) health: &'static str,
    pub(crate) since: &'static str,
    pub(crate) last_error: &'static str,
    pub(crate) rtt: &'static str,
    pub(crate) address: &'static str,
    pub(crate) identity: &'static str,
    pub(crate) order_number: &'static str,
    pub(crate) firmware: &'static str,
    pub(crate) serial: &'static str,
    pub(crate) hardware: &'static str,
    pub(crate) module_name: &'static str,
    pub(crate) plc_name: &'static str,
    pub(crate) plant_id: &'static str,
    pub(crate) mode: &'static str,
    pub(crate) mode_timeline: &'static str,
    pub(crate) window: &'static str,
    pub(crate) tags: &'static str,
    pub(crate) tag: &'static str,
    pub(crate) value: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) quality: &'static str,
    pub(crate) age: &'static str,
    pub(crate) no_tags: &'static str,
    pub(crate) diag_buffer: &'static str,
    pub(crate) class: &'static str,
    pub(crate) all_classes: &'static str,
    pub(crate) from: &'static str,
    pub(crate) to: &'static str,
    pub(crate) apply: &'static str,
    pub(crate) shown_of: &'static str,
    pub(crate) gateway_time: &'static str,
    pub(crate) device_time: &'static str,
    pub(crate) event_id: &'static str,
    pub(crate) text: &'static str,
    pub(crate) state: &'static str,
    pub(crate) ob_priority: &'static str,
    pub(crate) details: &'static str,
    pub(crate) entering: &'static str,
    pub(crate) leaving: &'static str,
    pub(crate) no_events: &'static str,
    pub(crate) modules: &'static str,
    pub(crate) rack: &'static str,
    pub(crate) slot: &'static str,
    pub(crate) types: &'static str,
    pub(crate) cycle_time: &'static str,
    pub(crate) cycle_trend: &'static str,
    pub(crate) current: &'static str,
    pub(crate) min: &'static str,
    pub(crate) max: &'static str,
    pub(crate) cpu_error: &'static str,
    pub(crate) no_cpu_error: &'static str,
    pub(crate) cpu_errors: &'static str,
    pub(crate) code: &'static str,
    pub(crate) cleared: &'static str,
    pub(crate) network: &'static str,
    pub(crate) line: &'static str,
    pub(crate) station: &'static str,
    pub(crate) station_timeline: &'static str,
    pub(crate) link_scan: &'static str,
    pub(crate) link_scan_trend: &'static str,
    pub(crate) cause: &'static str,
    pub(crate) remedy: &'static str,
    pub(crate) generic_remedy: &'static str,
    pub(crate) last_known: &'static str,
    pub(crate) flag_data_link: &'static str,
    pub(crate) flag_watchdog: &'static str,
    pub(crate) flag_fuse: &'static str,
    pub(crate) flag_switch: &'static str,
    pub(crate) flag_overlap: &'static str,
    pub(crate) flag_parameter: &'static str,
    pub(crate) ok: &'static str,
    pub(crate) fault: &'static str,
    pub(crate) down: &'static str,
    pub(crate) error: &'static str,
    pub(crate) reserved: &'static str,
    pub(crate) unknown: &'static str,
    pub(crate) online: &'static str,
    pub(crate) offline: &'static str,
    pub(crate) demoted: &'static str,
    pub(crate) no_data: &'static str,
    pub(crate) unsupported: &'static str,
}

impl Labels {
    /// The labels in `lang`.
    pub(crate) fn of(lang: Lang) -> &'static Labels {
        match lang {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }
}

static EN: Labels = Labels {
    device: "Device",
    not_found: "No device has this name",
    back: "Back to the overview",
    ignored: "Ignored an invalid value",
    health: "Communication",
    since: "since",
    last_error: "Last error",
    rtt: "Round-trip time",
    address: "Address",
    identity: "Identity",
    order_number: "Order number",
    firmware: "Firmware",
    serial: "Serial number",
    hardware: "Hardware",
    module_name: "Module name",
    plc_name: "PLC name",
    plant_id: "Plant ID",
    mode: "Operating mode",
    mode_timeline: "Operating mode",
    window: "Window",
    tags: "Tag values",
    tag: "Tag",
    value: "Value",
    unit: "Unit",
    quality: "Quality",
    age: "Age",
    no_tags: "No tags are configured.",
    diag_buffer: "Diagnostic buffer",
    class: "Class",
    all_classes: "All classes",
    from: "From (UTC)",
    to: "To (UTC)",
    apply: "Apply",
    shown_of: "rows shown of",
    gateway_time: "Seen (gateway)",
    device_time: "Device time",
    event_id: "Event ID",
    text: "Text",
    state: "State",
    ob_priority: "OB / priority",
    details: "Details",
    entering: "entering",
    leaving: "leaving",
    no_events: "No events in this window.",
    modules: "Modules",
    rack: "Rack",
    slot: "Slot",
    types: "Expected / actual type",
    cycle_time: "Cycle time",
    cycle_trend: "Cycle time",
    current: "current",
    min: "min",
    max: "max",
    cpu_error: "CPU error",
    no_cpu_error: "No CPU error.",
    cpu_errors: "CPU error history (30 days)",
    code: "Code",
    cleared: "cleared",
    network: "CC-Link network",
    line: "Line",
    station: "Station",
    station_timeline: "Stations down",
    link_scan: "Link scan time",
    link_scan_trend: "Link scan time",
    cause: "Cause",
    remedy: "What to do",
    generic_remedy: "Check the station's power supply, cable and connectors, terminating resistors and station number switches.",
    last_known: "last known; the PLC does not answer",
    flag_data_link: "data link error",
    flag_watchdog: "watchdog timer error",
    flag_fuse: "fuse blown or no external supply",
    flag_switch: "switch changed while powered",
    flag_overlap: "station number overlap",
    flag_parameter: "differs from the master parameters",
    ok: "OK",
    fault: "Fault",
    down: "down",
    error: "error",
    reserved: "reserved",
    unknown: "unknown",
    online: "Online",
    offline: "Offline",
    demoted: "Demoted",
    no_data: "No data in this window",
    unsupported: "Not offered by this device",
};

static ZH_CN: Labels = Labels {
    device: "设备",
    not_found: "没有此名称的设备",
    back: "返回总览",
    ignored: "已忽略无效的参数",
    health: "通信",
    since: "起始于",
    last_error: "最近错误",
    rtt: "往返时间",
    address: "地址",
    identity: "标识",
    order_number: "订货号",
    firmware: "固件版本",
    serial: "序列号",
    hardware: "硬件版本",
    module_name: "模块名称",
    plc_name: "PLC 名称",
    plant_id: "工厂标识",
    mode: "运行模式",
    mode_timeline: "运行模式",
    window: "时间段",
    tags: "变量值",
    tag: "变量",
    value: "值",
    unit: "单位",
    quality: "质量",
    age: "时长",
    no_tags: "未配置变量。",
    diag_buffer: "诊断缓冲区",
    class: "类别",
    all_classes: "全部类别",
    from: "从（UTC）",
    to: "到（UTC）",
    apply: "应用",
    shown_of: "行，共",
    gateway_time: "网关记录时间",
    device_time: "设备时间",
    event_id: "事件 ID",
    text: "文本",
    state: "状态",
    ob_priority: "OB / 优先级",
    details: "详细信息",
    entering: "进入",
    leaving: "离开",
    no_events: "此时间段内没有事件。",
    modules: "模块",
    rack: "机架",
    slot: "插槽",
    types: "期望 / 实际类型",
    cycle_time: "扫描周期",
    cycle_trend: "扫描周期",
    current: "当前",
    min: "最小",
    max: "最大",
    cpu_error: "CPU 错误",
    no_cpu_error: "无 CPU 错误。",
    cpu_errors: "CPU 错误历史（30 天）",
    code: "代码",
    cleared: "已清除",
    network: "CC-Link 网络",
    line: "线路",
    station: "站",
    station_timeline: "掉站记录",
    link_scan: "链接扫描时间",
    link_scan_trend: "链接扫描时间",
    cause: "原因",
    remedy: "处理措施",
    generic_remedy: "检查该站的电源、电缆和连接器、终端电阻以及站号开关。",
    last_known: "最后已知状态；PLC 无应答",
    flag_data_link: "数据链路异常",
    flag_watchdog: "看门狗定时器错误",
    flag_fuse: "保险丝熔断或无外部电源",
    flag_switch: "通电时更改了开关",
    flag_overlap: "站号重复",
    flag_parameter: "与主站参数不一致",
    ok: "正常",
    fault: "故障",
    down: "掉站",
    error: "错误",
    reserved: "预留",
    unknown: "未知",
    online: "在线",
    offline: "离线",
    demoted: "已降级",
    no_data: "此时间段内没有数据",
    unsupported: "此设备不提供",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_forms_links_and_the_api_are_understood() {
        let t = parse_time("2026-11-25T08:00").map(input_time);
        assert_eq!(t.as_deref(), Some("2026-11-25T08:00"));
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
