//! The MELSEC part of the device page: the CPU error and its history and, per CC-Link network,
//! the station map (occupied numbers joined, cause and remedy in the page language), the
//! station timeline and the link scan time trend.

use chrono::{DateTime, Duration, Utc};
use futures::future::try_join_all;
use serde_json::Value;

use super::super::charts::{self, Window};
use super::pager::{Pager, TableQuery};
use super::{DIAG_ROWS, MELSEC_CPU_ERROR, format_number, json_text, millis, row_key, time};
use crate::live::DeviceView;
use crate::model::HealthState;
use crate::store::{DiagPageAt, StoredDiagEvent, series};
use crate::web::pages::Lang;
use crate::web::{AppState, WebResult};

/// What only MELSEC PLCs show.
pub(super) struct MelsecPart {
    pub(super) error: Option<CpuError>,
    pub(super) errors: Vec<CpuError>,
    /// Links to the pages of the error history around this one.
    pub(super) pager: Pager,
    pub(super) networks: Vec<NetworkPart>,
}

/// A CPU error (the current one or one from its history).
pub(super) struct CpuError {
    /// Tells rows apart across live refreshes (a new row flashes).
    pub(super) key: String,
    pub(super) at: String,
    pub(super) code: u16,
    pub(super) entering: bool,
    pub(super) text: String,
    pub(super) remedy: String,
}

/// One CC-Link network.
pub(super) struct NetworkPart {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) line: &'static str,
    pub(super) line_label: &'static str,
    pub(super) error: Option<String>,
    pub(super) stations: Vec<StationCell>,
    pub(super) timeline_svg: String,
    pub(super) link_scan_svg: String,
    pub(super) link_scan: Option<String>,
}

/// One cell of the station map: a station, spanning its occupied numbers.
pub(super) struct StationCell {
    pub(super) number: u64,
    pub(super) occupies: u64,
    pub(super) numbers: String,
    pub(super) name: String,
    pub(super) state: &'static str,
    pub(super) title: String,
}

pub(super) async fn part(
    state: &AppState,
    d: &DeviceView,
    t: &TableQuery,
    (window_name, w): (&str, Window),
    lang: Lang,
    now: DateTime<Utc>,
) -> WebResult<MelsecPart> {
    // CPU errors over the last 30 days (events of class 1), newest first, one page; the
    // error the CPU has now is the newest one, whichever page of the history is shown.
    let window_30d = (now - Duration::days(30), now);
    let cpu_errors = |at, limit| {
        let class = Some(MELSEC_CPU_ERROR);
        state
            .store
            .diagnostics_page(&d.name, window_30d, class, at, limit, 0)
    };
    let page = cpu_errors(t.at, DIAG_ROWS);
    let newest = async {
        match t.at {
            DiagPageAt::Newest => Ok(None),
            _ => cpu_errors(DiagPageAt::Newest, 1).await,
        }
    };

    // Per network, from the narrow `status_values` rows: where the down set changed, and the
    // link scan time reduced to the chart's buckets in SQL. All read at once.
    let window = (millis(w.from_ms), millis(w.to_ms));
    let histories = try_join_all(d.status.networks.keys().map(|name| async move {
        let stations = format!("stations:{name}");
        let link_scan = format!("link_scan_ms:{name}");
        let (stations, link_scan) = tokio::try_join!(
            state.store.series_changes(&d.name, &stations, window),
            state
                .store
                .series_buckets(&d.name, &link_scan, window, charts::MAX_POINTS as u32),
        )?;
        Ok::<_, crate::store::Error>(NetworkHistory {
            stations,
            link_scan,
        })
    }));
    let (page, newest, histories) = tokio::try_join!(page, newest, histories)?;
    let page = page.unwrap_or_default();
    let newest = newest
        .and_then(|p| p.events.into_iter().next())
        .or_else(|| page.events.first().cloned());

    let pager = Pager::of(&page, t, window_name);
    let errors: Vec<CpuError> = page.events.iter().map(|e| cpu_error(e, lang)).collect();
    let error = newest.map(|e| cpu_error(&e, lang)).filter(|e| e.entering);
    let online = d.health.state == HealthState::Online;
    let networks = d
        .status
        .networks
        .iter()
        .zip(&histories)
        .enumerate()
        .map(|(index, ((name, status), history))| {
            network_part(index, name, status, history, w, online, lang)
        })
        .collect();
    Ok(MelsecPart {
        error,
        errors,
        pager,
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
        key: row_key(e),
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

/// What a network's charts show, read from the store.
struct NetworkHistory {
    /// Where the set of down stations changed (`None`: the status was an error).
    stations: Vec<(DateTime<Utc>, Option<i64>)>,
    /// The link scan time's chart buckets: first time, min, max.
    link_scan: Vec<(DateTime<Utc>, f64, f64)>,
}

fn network_part(
    index: usize,
    name: &str,
    status: &Value,
    history: &NetworkHistory,
    w: Window,
    online: bool,
    lang: Lang,
) -> NetworkPart {
    let l = lang.device();
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
    let (line, line_label) = match status.get("line_ok").and_then(Value::as_bool) {
        Some(true) => ("ok", l.ok),
        Some(false) => ("fault", l.fault),
        None => ("unknown", l.unknown),
    };

    // The station timeline (which stations were down) and the link scan trend.
    let changes: Vec<(i64, String)> = history
        .stations
        .iter()
        .map(|(at, mask)| {
            let label = match mask {
                None => "UNKNOWN".to_owned(),
                Some(0) => "OK".to_owned(),
                Some(m) => {
                    let down: Vec<String> =
                        series::stations_in(*m).iter().map(u64::to_string).collect();
                    format!("DOWN {}", down.join(","))
                }
            };
            (at.timestamp_millis(), label)
        })
        .collect();
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
    let buckets = charts::stored_buckets(&history.link_scan);
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
        line_label,
        error: status.get("error").map(json_text),
        stations,
        timeline_svg,
        link_scan_svg,
        link_scan,
    }
}

fn station_cell(s: &Value, findings: &[Value], online: bool, lang: Lang) -> StationCell {
    let l = lang.device();
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
            lang.msgs().remedy,
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
