//! The S7 part of the device page: the diagnostic buffer with its filters, module status and
//! the cycle time trend.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::super::charts::{self, Window};
use super::pager::{Pager, TableQuery};
use super::{DIAG_COUNT, DIAG_ROWS, format_number, input_time, json_text, millis, row_key, time};
use crate::live::DeviceView;
use crate::store::StoredDiagEvent;
use crate::web::pages::Lang;
use crate::web::pages::overview::rfc3339;
use crate::web::{AppState, WebResult};

/// What only S7 CPUs show.
pub(super) struct S7Part {
    pub(super) diag: Vec<DiagRow>,
    /// How many events match the filter, `5000+` beyond [`DIAG_COUNT`].
    pub(super) diag_total: String,
    pub(super) classes: Vec<(u8, String, bool)>,
    pub(super) from: String,
    pub(super) to: String,
    /// Links to the pages around this one.
    pub(super) pager: Pager,
    pub(super) modules: Option<Vec<ModuleRow>>,
    pub(super) cycle_svg: String,
    pub(super) cycle: Option<String>,
}

/// One row of the S7 diagnostic table.
pub(super) struct DiagRow {
    /// Tells rows apart across live refreshes (a new row flashes).
    pub(super) key: String,
    pub(super) gateway_time: String,
    /// `gateway_time` for the script (shown in the browser's time zone).
    pub(super) gateway_at: String,
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
    t: &TableQuery,
    (window, w): (&str, Window),
    lang: Lang,
    now: DateTime<Utc>,
) -> WebResult<S7Part> {
    let l = lang.device();
    let to = t.to.unwrap_or(now);
    let from = t.from.unwrap_or(to - Duration::days(30)).min(to);
    // The class filter, the position and the limit apply in SQL: an old event of a rare class
    // is found however many newer events of other classes there are, and an old page costs
    // what the newest does.
    let page =
        state
            .store
            .diagnostics_page(&d.name, (from, to), t.class, t.at, DIAG_ROWS, DIAG_COUNT);
    // The cycle time, reduced to the chart's buckets in SQL from the narrow `status_values`
    // rows; read at the same time as the table.
    let chart = state.store.series_buckets(
        &d.name,
        "cycle_ms",
        (millis(w.from_ms), millis(w.to_ms)),
        charts::MAX_POINTS as u32,
    );
    let (page, rows) = tokio::try_join!(page, chart)?;
    let page = page.unwrap_or_default();
    let diag_total = if page.matching >= u64::from(DIAG_COUNT) {
        format!("{DIAG_COUNT}+")
    } else {
        page.matching.to_string()
    };
    let pager = Pager::of(&page, t, window);
    let diag = page.events.iter().map(|e| diag_row(e, lang)).collect();
    let classes = (1u8..16)
        .map(|c| {
            (
                c,
                format!(
                    "{c:X} · {}",
                    plcdiag_s7::catalog::class_meaning(c, lang.s7())
                ),
                t.class == Some(c),
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
        from: t.from.map(input_time).unwrap_or_default(),
        to: t.to.map(input_time).unwrap_or_default(),
        pager,
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
        gateway_at: rfc3339(e.gateway_time),
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
