//! The S7 part of the device page: the diagnostic buffer with its filters, module status and
//! the cycle time trend.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::super::charts::{self, Window};
use super::{
    DIAG_COUNT, DIAG_ROWS, DeviceQuery, format_number, input_time, json_text, millis, parse_time,
    row_key, time,
};
use crate::live::DeviceView;
use crate::store::StoredDiagEvent;
use crate::web::pages::Lang;
use crate::web::{AppState, WebResult};

/// What only S7 CPUs show.
pub(super) struct S7Part {
    pub(super) diag: Vec<DiagRow>,
    /// How many events match the filter, `5000+` beyond [`DIAG_COUNT`].
    pub(super) diag_total: String,
    pub(super) classes: Vec<(u8, String, bool)>,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) modules: Option<Vec<ModuleRow>>,
    pub(super) cycle_svg: String,
    pub(super) cycle: Option<String>,
}

/// One row of the S7 diagnostic table.
pub(super) struct DiagRow {
    /// Tells rows apart across live refreshes (a new row flashes).
    pub(super) key: String,
    pub(super) gateway_time: String,
    pub(super) device_time: String,
    pub(super) hex: String,
    pub(super) class: u8,
    pub(super) class_text: String,
    pub(super) text: String,
    pub(super) remedy: String,
    pub(super) entering: &'static str,
    pub(super) entering_label: &'static str,
    pub(super) ob: String,
    pub(super) priority: String,
    pub(super) details: String,
}

/// One module of an S7 rack.
pub(super) struct ModuleRow {
    pub(super) rack: u64,
    pub(super) slot: u64,
    pub(super) address: String,
    pub(super) types: String,
    pub(super) state: &'static str,
    pub(super) label: &'static str,
}

pub(super) async fn part(
    state: &AppState,
    d: &DeviceView,
    q: &DeviceQuery,
    w: Window,
    lang: Lang,
    notices: &mut Vec<String>,
    now: DateTime<Utc>,
) -> WebResult<S7Part> {
    let l = lang.device();
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
    // The class filter and the limit apply in SQL: an old event of a rare class is found
    // however many newer events of other classes there are.
    let (events, matching) = state
        .store
        .diagnostics_page(&d.name, (from, to), class, DIAG_ROWS, DIAG_COUNT)
        .await?
        .unwrap_or_default();
    let diag_total = if matching >= u64::from(DIAG_COUNT) {
        format!("{DIAG_COUNT}+")
    } else {
        matching.to_string()
    };
    let diag = events.iter().map(|e| diag_row(e, lang)).collect();
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

    // Reduced to the chart's buckets in SQL from the narrow `status_values` rows.
    let rows = state
        .store
        .series_buckets(
            &d.name,
            "cycle_ms",
            (millis(w.from_ms), millis(w.to_ms)),
            charts::MAX_POINTS as u32,
        )
        .await?;
    let buckets = charts::stored_buckets(&rows);
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
    let l = lang.device();
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
        key: row_key(e),
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
