//! `GET /`: every device as a row with its state in colour and words, since when, its open
//! alarms and its last diagnostic message; counts per state at the top; a client-side filter.
//!
//! Rendered from the live view in one pass plus one query for the open alarms (never a query
//! per device), so a thousand devices render in milliseconds.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{AppState, Lang, Msgs, PageCtx};
use crate::live::DeviceRef;
use crate::model::HealthState;

/// A device's state as the pages show it: health, refined by what an answering device says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DevState {
    /// Answers; CPU running (or no CPU mode reported) and no field-network fault.
    Online,
    /// Does not answer.
    Offline,
    /// Failed too often: off-scan until its back-off ends.
    Demoted,
    /// Not polled successfully yet.
    Unknown,
    /// Answers, but the CPU is in STOP.
    Stop,
    /// Answers, but a CC-Link station is down (or the line is not OK).
    CclinkFault,
}

impl DevState {
    /// Every state, in the order of the counts at the top.
    pub(crate) const ALL: [DevState; 6] = [
        Self::Online,
        Self::Stop,
        Self::CclinkFault,
        Self::Demoted,
        Self::Offline,
        Self::Unknown,
    ];

    /// The state of a device now. STOP and a CC-Link fault take precedence over online.
    pub(crate) fn of(d: DeviceRef<'_>) -> Self {
        match d.health.state {
            HealthState::Unknown => Self::Unknown,
            HealthState::Offline => Self::Offline,
            HealthState::Demoted => Self::Demoted,
            HealthState::Online => {
                let stopped = d
                    .status
                    .cpu_mode
                    .as_ref()
                    .is_some_and(|m| m.mode.eq_ignore_ascii_case("stop"));
                if stopped {
                    Self::Stop
                } else if d.status.networks.values().any(network_faulty) {
                    Self::CclinkFault
                } else {
                    Self::Online
                }
            }
        }
    }

    /// The value of `data-state`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
            Self::Demoted => "demoted",
            Self::Unknown => "unknown",
            Self::Stop => "stop",
            Self::CclinkFault => "cclink_fault",
        }
    }

    /// The state in words.
    pub(crate) fn label(self, t: &Msgs) -> &'static str {
        match self {
            Self::Online => t.state_online,
            Self::Offline => t.state_offline,
            Self::Demoted => t.state_demoted,
            Self::Unknown => t.state_unknown,
            Self::Stop => t.state_stop,
            Self::CclinkFault => t.state_cclink_fault,
        }
    }
}

/// A network status (as `StatusUpdate::Network` publishes it) with a station down or the line
/// not OK.
fn network_faulty(status: &serde_json::Value) -> bool {
    let line_down = status.get("line_ok").and_then(serde_json::Value::as_bool) == Some(false);
    let station_down = status
        .get("stations")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|s| s.get("down").and_then(serde_json::Value::as_bool) == Some(true))
        });
    line_down || station_down
}

/// One device row, as rendered and as sent over `/events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DeviceRow {
    /// Name (`data-device`).
    pub(crate) name: String,
    /// Kind (`s7`, `melsec`, `modbus`).
    pub(crate) kind: &'static str,
    /// Address as configured.
    pub(crate) address: String,
    /// State (`data-state`).
    pub(crate) state: DevState,
    /// The state in words.
    pub(crate) label: &'static str,
    /// Since when (RFC 3339, UTC).
    pub(crate) since: String,
    /// Why, when it does not answer.
    pub(crate) error: Option<String>,
    /// The last diagnostic message, in the page's language where the catalogue has it.
    pub(crate) diagnostic: Option<String>,
    /// What to do about it, where known.
    pub(crate) remedy: Option<String>,
    /// When the diagnostic was seen (RFC 3339).
    pub(crate) diagnostic_at: Option<String>,
}

impl DeviceRow {
    /// The row of a device, texts in `lang`.
    pub(crate) fn new(d: DeviceRef<'_>, lang: Lang) -> Self {
        let state = DevState::of(d);
        let (diagnostic, remedy) = diagnostic_text(d, lang);
        Self {
            name: d.name.to_owned(),
            kind: d.kind,
            address: d.address.to_owned(),
            state,
            label: state.label(lang.msgs()),
            since: rfc3339(d.health.since),
            error: match d.health.state {
                HealthState::Offline | HealthState::Demoted => d.health.last_error.clone(),
                _ => None,
            },
            diagnostic,
            remedy,
            diagnostic_at: d.last_diagnostic.map(|e| rfc3339(e.gateway_time)),
        }
    }

    /// Lower-case text the filter searches.
    pub(crate) fn search(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.name,
            self.kind,
            self.address,
            self.state.as_str(),
            self.label
        )
        .to_lowercase()
    }
}

/// Times as the pages carry them (the script shows them in the browser's zone).
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The last diagnostic event's text and remedy in `lang`: S7 events from the catalogue, CC-Link
/// station events from the network's findings; otherwise the English text as recorded.
fn diagnostic_text(d: DeviceRef<'_>, lang: Lang) -> (Option<String>, Option<String>) {
    let Some(e) = d.last_diagnostic else {
        return (None, None);
    };
    let remedy_en = e
        .details
        .get("remedy")
        .and_then(serde_json::Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if lang == Lang::En {
        return (Some(e.text.clone()), remedy_en);
    }
    match d.kind {
        "s7" => {
            let text = plcdiag_s7::catalog::describe(e.event_id, lang.s7());
            (Some(text.text.into_owned()), text.remedy.map(str::to_owned))
        }
        "melsec" => {
            // A CC-Link station event: the network's finding for that station has the Chinese
            // text; the station label stays as recorded.
            let station = e.details.get("station").and_then(serde_json::Value::as_u64);
            let finding = e
                .details
                .get("network")
                .and_then(serde_json::Value::as_str)
                .and_then(|n| d.status.networks.get(n))
                .and_then(|s| s.get("findings"))
                .and_then(serde_json::Value::as_array)
                .and_then(|fs| {
                    fs.iter().find(|f| {
                        f.get("stations")
                            .and_then(serde_json::Value::as_array)
                            .is_some_and(|s| s.iter().any(|n| n.as_u64() == station))
                    })
                });
            let pick = |key: &str| {
                finding
                    .and_then(|f| f.get(key))
                    .and_then(|t| t.get(lang.json_key()))
                    .and_then(serde_json::Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
            };
            match (station, pick("text")) {
                (Some(_), Some(text)) => (
                    Some(format!("{}（{text}）", e.text)),
                    pick("remedy").or(remedy_en),
                ),
                (Some(_), None) => (Some(e.text.clone()), remedy_en),
                (None, _) => melsec_cpu_error(e, lang).unwrap_or((Some(e.text.clone()), remedy_en)),
            }
        }
        _ => (Some(e.text.clone()), remedy_en),
    }
}

/// A MELSEC CPU error (event ID = SD0 code) in `lang`. The view does not carry the CPU series,
/// so the series is the one whose table wrote the recorded English text; nothing is shown
/// translated when that is ambiguous.
fn melsec_cpu_error(
    e: &crate::model::DiagEvent,
    lang: Lang,
) -> Option<(Option<String>, Option<String>)> {
    use plcdiag_melsec::Series;
    use plcdiag_melsec::errors::{Lang as MLang, describe};
    let mlang = match lang {
        Lang::En => MLang::En,
        Lang::ZhCn => MLang::ZhCn,
    };
    let (recorded, cleared) = match e.text.strip_prefix("cleared: ") {
        Some(rest) => (rest, true),
        None => (e.text.as_str(), false),
    };
    let mut found: Vec<(String, String)> = [Series::Q, Series::IqR]
        .into_iter()
        .filter(|s| describe(e.event_id, *s, MLang::En).text == recorded)
        .map(|s| {
            let t = describe(e.event_id, s, mlang);
            (t.text.into_owned(), t.remedy.into_owned())
        })
        .collect();
    found.dedup();
    let [(text, remedy)] = <[(String, String); 1]>::try_from(found).ok()?;
    Some(if cleared {
        (Some(format!("已清除：{text}")), None)
    } else {
        (Some(text), Some(remedy).filter(|r| !r.is_empty()))
    })
}

/// A row with its open-alarm count, for the template.
pub(crate) struct OverviewRow {
    pub(crate) row: DeviceRow,
    pub(crate) search: String,
    pub(crate) alarms: usize,
}

/// Devices per state, for the counts at the top.
pub(crate) struct Count {
    pub(crate) state: &'static str,
    pub(crate) label: &'static str,
    pub(crate) count: usize,
}

#[derive(Template)]
#[template(path = "overview/index.html")]
struct OverviewPage {
    ctx: PageCtx,
    rows: Vec<OverviewRow>,
    counts: Vec<Count>,
    total: usize,
    open_alarms: usize,
}

/// `GET /`.
pub(super) async fn page(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let open = match state.store.open_alarms().await {
        Ok(a) => a,
        Err(e) => return super::WebError::from(e).into_response(),
    };
    let mut per_device: HashMap<&str, usize> = HashMap::new();
    for a in &open {
        *per_device.entry(a.device.as_str()).or_default() += 1;
    }
    // Rows straight from the live view, without a copy of every device's status maps.
    let rows: Vec<OverviewRow> = state.live.map_devices(|d| {
        let row = DeviceRow::new(d, ctx.lang);
        OverviewRow {
            search: row.search(),
            alarms: per_device.get(d.name).copied().unwrap_or(0),
            row,
        }
    });
    let mut by_state: HashMap<DevState, usize> = HashMap::new();
    for r in &rows {
        *by_state.entry(r.row.state).or_default() += 1;
    }
    let counts = DevState::ALL
        .iter()
        .map(|s| Count {
            state: s.as_str(),
            label: s.label(ctx.t),
            count: by_state.get(s).copied().unwrap_or(0),
        })
        .collect();
    let page = OverviewPage {
        total: rows.len(),
        open_alarms: open.len(),
        rows,
        counts,
        ctx: ctx.clone(),
    };
    ctx.render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plcdiag_melsec::Series;
    use plcdiag_melsec::errors::{Lang as MLang, describe};

    fn cpu_error(code: u16, text: String) -> crate::model::DiagEvent {
        crate::model::DiagEvent {
            device_time: None,
            gateway_time: Utc::now(),
            event_id: code,
            class: 1,
            entering: Some(true),
            text,
            details: serde_json::json!({}),
            raw: Vec::new(),
        }
    }

    #[test]
    fn a_melsec_cpu_error_is_translated_with_the_table_that_wrote_it() {
        let code = 1000;
        let q = describe(code, Series::Q, MLang::En);
        let r = describe(code, Series::IqR, MLang::En);
        assert_ne!(q.text, r.text, "pick a code whose texts differ by series");
        let e = cpu_error(code, q.text.into_owned());
        let (text, _) = melsec_cpu_error(&e, Lang::ZhCn).unwrap_or_default();
        assert_eq!(
            text.as_deref(),
            Some(&*describe(code, Series::Q, MLang::ZhCn).text)
        );
        let e = cpu_error(code, format!("cleared: {}", r.text));
        let (text, remedy) = melsec_cpu_error(&e, Lang::ZhCn).unwrap_or_default();
        let zh = describe(code, Series::IqR, MLang::ZhCn).text;
        assert_eq!(text, Some(format!("已清除：{zh}")));
        assert_eq!(remedy, None);
        // A text no table wrote stays as recorded.
        assert_eq!(
            melsec_cpu_error(&cpu_error(code, "?".into()), Lang::ZhCn),
            None
        );
    }
}
