//! MELSEC adapter: CPU self-diagnosis, run state, the CC-Link station map and tag values of a
//! Mitsubishi PLC over MC protocol.
//!
//! Each poll reads the CPU's self-diagnosis (SM0/SD0..SD26/SD203 in one request) and, for every
//! configured CC-Link master, its SB/SW block (at most two requests). Changes become
//! observations: the run state is the CPU mode (as for S7), a new error code is a diagnostic
//! event (and its clearing a leaving one), a station that drops off the link or comes back is a
//! diagnostic event with the likely cause from the troubleshooting matrix, and the station map
//! is published when it changes (and every `status_interval`, for the link scan time trend).
//! Reads only.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use plcdiag_melsec::errors::{self, Lang};
use plcdiag_melsec::{
    CcLinkMaster, Client, CpuDiagnosis, Error, NetworkStatus, Reply, StationStatus,
};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{PollError, PollOutput, ResolveError};
use crate::config::{MelsecDevice, Scaling};
use crate::model::{CpuModeView, DiagEvent, Quality, StatusUpdate, TagReading};

/// Event classes of MELSEC diagnostic events (the protocol has none of its own).
pub(crate) mod class {
    /// A CPU self-diagnostic error (event ID = the error code).
    pub(crate) const CPU_ERROR: u8 = 1;
    /// A CC-Link station dropped off or returned (event ID = the station number).
    pub(crate) const CCLINK_STATION: u8 = 2;
}

/// Polls one MELSEC PLC.
pub struct MelsecPoller {
    cfg: MelsecDevice,
    scaling: Vec<Scaling>,
    client: Option<Client>,
    cpu_diagnosis: bool,
    last_mode: Option<String>,
    last_error: Option<u16>,
    networks: Vec<NetworkMemory>,
    /// No history and no answered poll yet: the first poll's events are the state found at
    /// start (the backlog), not changes the gateway saw happen.
    backlog_pending: bool,
}

/// What was last published for one CC-Link network.
#[derive(Default)]
struct NetworkMemory {
    /// Station number → down, as last seen.
    down: BTreeMap<u8, bool>,
    shown: Option<Value>,
    shown_at: Option<Instant>,
}

impl MelsecPoller {
    /// A poller for `cfg`, not connected yet; `fresh`: the device has no history.
    pub fn new(cfg: MelsecDevice, scaling: Vec<Scaling>, fresh: bool) -> Self {
        let networks = cfg
            .masters
            .iter()
            .map(|_| NetworkMemory::default())
            .collect();
        Self {
            cfg,
            scaling,
            client: None,
            cpu_diagnosis: true,
            last_mode: None,
            last_error: None,
            networks,
            backlog_pending: fresh,
        }
    }

    /// One poll.
    pub async fn poll(&mut self) -> Result<PollOutput, PollError> {
        match self.poll_connected().await {
            Ok(mut out) => {
                out.backlog = std::mem::take(&mut self.backlog_pending);
                Ok(out)
            }
            Err(e) => {
                self.client = None;
                Err(poll_error(&e))
            }
        }
    }

    async fn poll_connected(&mut self) -> Result<PollOutput, Error> {
        let mut out = PollOutput::default();
        if self.client.is_none() {
            let addr = resolve(&self.cfg.host, self.cfg.port, self.cfg.options.timeout).await?;
            self.client = Some(Client::connect(addr, &self.cfg.options).await?);
            self.last_mode = None;
            // A refusal is asked again per connection (the port or CPU may have changed).
            self.cpu_diagnosis = true;
        }
        let Some(client) = self.client.as_mut() else {
            return Ok(out);
        };
        let now = Utc::now();

        if self.cpu_diagnosis {
            match client.cpu_diagnosis().await? {
                Reply::Ok(d) => self.cpu(&d, now, &mut out),
                Reply::EndCode(code) => {
                    // E.g. C059 on a port that refuses random reads of SM/SD: say so once.
                    self.cpu_diagnosis = false;
                    out.status.push(StatusUpdate::Unsupported(vec![format!(
                        "cpu_diagnosis ({code})"
                    )]));
                }
            }
        }

        for (i, master) in self.cfg.masters.iter().enumerate() {
            let Some(client) = self.client.as_mut() else {
                break;
            };
            let status = match client.cclink(master).await? {
                Reply::Ok(s) => s,
                Reply::EndCode(code) => {
                    let v = json!({ "error": format!("the PLC refused the SB/SW read: {code}") });
                    out.status.push(StatusUpdate::Network {
                        name: master.name.clone(),
                        status: v,
                    });
                    continue;
                }
            };
            if let Some(memory) = self.networks.get_mut(i) {
                network(
                    master,
                    &status,
                    memory,
                    self.cfg.status_interval,
                    now,
                    &mut out,
                );
            }
        }

        if !self.cfg.addresses.is_empty()
            && let Some(client) = self.client.as_mut()
        {
            let results = client.read_tags(&self.cfg.addresses).await?;
            out.readings = results
                .into_iter()
                .enumerate()
                .map(|(tag, r)| match r {
                    Ok(v) => {
                        let value = self
                            .scaling
                            .get(tag)
                            .map_or(v.as_f64(), |s| s.apply(v.as_f64()));
                        TagReading {
                            tag,
                            value: Some(value),
                            quality: Quality::Good,
                        }
                    }
                    Err(e) => TagReading {
                        tag,
                        value: None,
                        quality: Quality::Bad(e.to_string()),
                    },
                })
                .collect();
        }
        Ok(out)
    }

    fn cpu(&mut self, d: &CpuDiagnosis, now: DateTime<Utc>, out: &mut PollOutput) {
        let mode = d.run_state.to_string();
        if self.last_mode.as_deref() != Some(mode.as_str()) {
            out.status.push(StatusUpdate::CpuMode(CpuModeView {
                mode: mode.clone(),
                previous: self.last_mode.clone(),
                changed_at: None,
            }));
            self.last_mode = Some(mode);
        }
        let code = (d.error && d.error_code != 0).then_some(d.error_code);
        if code == self.last_error {
            return;
        }
        let series = self.cfg.options.series;
        if let Some(old) = self.last_error {
            let text = errors::describe(old, series, Lang::En);
            out.diagnostics.push(event(
                old,
                class::CPU_ERROR,
                false,
                format!("cleared: {}", text.text),
                json!({}),
                now,
                None,
            ));
        }
        if let Some(new) = code {
            let text = errors::describe(new, series, Lang::En);
            let details = json!({
                "remedy": text.remedy,
                "stops_cpu": text.stops_cpu,
                "text_confirmed": text.confirmed,
                "detail_layout": d.detail_layout,
                "detail": d.detail,
                "run_state": d.run_state.to_string(),
                "stop_cause": d.stop_cause,
            });
            out.diagnostics.push(event(
                new,
                class::CPU_ERROR,
                true,
                text.text.into_owned(),
                details,
                now,
                d.error_time,
            ));
        }
        self.last_error = code;
    }
}

/// Station events and the network status for one master.
fn network(
    master: &CcLinkMaster,
    status: &NetworkStatus,
    memory: &mut NetworkMemory,
    every: Duration,
    now: DateTime<Utc>,
    out: &mut PollOutput,
) {
    // Without a configured station list a station that comes back is simply no longer listed:
    // that is its return.
    let listed: Vec<u8> = status.stations.iter().map(|s| s.number).collect();
    for (number, down) in memory.down.iter_mut() {
        if *down && !listed.contains(number) {
            *down = false;
            let what = format!("CC-Link {}: station {number}", master.name);
            let details = json!({ "network": master.name, "station": number });
            out.diagnostics.push(event(
                u16::from(*number),
                class::CCLINK_STATION,
                false,
                format!("{what}: back on the link"),
                details,
                now,
                None,
            ));
        }
    }
    for s in &status.stations {
        let down = s.is_down();
        let before = memory.down.insert(s.number, down);
        if before == Some(down) || (before.is_none() && !down) {
            continue;
        }
        let cause = status
            .findings
            .iter()
            .find(|f| f.stations.contains(&s.number))
            .map(|f| (f.text_en.clone(), f.remedy_en.clone()));
        let what = station_label(master, s);
        let (text, details) = if down {
            let (finding, remedy) = cause.unwrap_or_default();
            (
                format!(
                    "{what}: data link error{}",
                    if finding.is_empty() {
                        String::new()
                    } else {
                        format!(" ({finding})")
                    }
                ),
                json!({ "network": master.name, "station": s.number, "remedy": remedy, "seen_at_start": before.is_none() }),
            )
        } else {
            (
                format!("{what}: back on the link"),
                json!({ "network": master.name, "station": s.number }),
            )
        };
        out.diagnostics.push(event(
            u16::from(s.number),
            class::CCLINK_STATION,
            down,
            text,
            details,
            now,
            None,
        ));
    }
    let stations: Vec<Value> = status
        .stations
        .iter()
        .map(|s| {
            json!({
                "number": s.number, "occupies": s.occupies, "name": s.name, "model": s.model,
                "state": format!("{:?}", s.state).to_lowercase(), "down": s.is_down(),
                "data_link_error": s.data_link_error, "watchdog_error": s.watchdog_error, "fuse_blown": s.fuse_blown,
                "switch_changed": s.switch_changed, "number_overlap": s.number_overlap,
                "parameter_mismatch": s.parameter_mismatch,
            })
        })
        .collect();
    let findings: Vec<Value> = status
        .findings
        .iter()
        .map(|f| {
            json!({
                "kind": format!("{:?}", f.kind), "stations": f.stations, "confirmed": f.confirmed,
                "text": { "en": f.text_en, "zh": f.text_zh }, "remedy": { "en": f.remedy_en, "zh": f.remedy_zh },
            })
        })
        .collect();
    let map = json!({ "kind": master.kind.to_string(), "line_ok": status.line_ok, "stations": stations, "findings": findings });
    let due = memory.shown_at.is_none_or(|t| t.elapsed() >= every);
    if memory.shown.as_ref() != Some(&map) || due {
        let mut shown = map.clone();
        if let Some(obj) = shown.as_object_mut() {
            obj.insert("link_scan".into(), status.link_scan.map_or(Value::Null, |l| json!({ "current_ms": l.current_ms, "min_ms": l.min_ms, "max_ms": l.max_ms })));
            obj.insert("retries".into(), json!(status.retries));
        }
        out.status.push(StatusUpdate::Network {
            name: master.name.clone(),
            status: shown,
        });
        memory.shown = Some(map);
        memory.shown_at = Some(Instant::now());
    }
}

fn station_label(master: &CcLinkMaster, s: &StationStatus) -> String {
    let numbers = if s.occupies > 1 {
        format!("{}..{}", s.number, s.number + s.occupies - 1)
    } else {
        s.number.to_string()
    };
    let model = s
        .model
        .as_deref()
        .map(|m| format!(", {m}"))
        .unwrap_or_default();
    format!(
        "CC-Link {}: station {numbers} ({}{model})",
        master.name, s.name
    )
}

/// A diagnostic event; `raw` makes it unique per device so the store's deduplication applies.
fn event(
    id: u16,
    class: u8,
    entering: bool,
    text: String,
    details: Value,
    now: DateTime<Utc>,
    device_time: Option<chrono::NaiveDateTime>,
) -> DiagEvent {
    // The device gives no sequence number: the raw record is what identifies the event, so it
    // carries the device time when there is one and the gateway time otherwise.
    let stamp = device_time.map_or(now.timestamp_millis(), |t| t.and_utc().timestamp_millis());
    let mut raw = vec![class, u8::from(entering)];
    raw.extend_from_slice(&id.to_be_bytes());
    raw.extend_from_slice(&stamp.to_be_bytes());
    DiagEvent {
        device_time,
        gateway_time: now,
        event_id: id,
        class,
        entering: Some(entering),
        text,
        details,
        raw,
    }
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<std::net::SocketAddr, Error> {
    super::resolve(host, port, timeout)
        .await
        .map_err(|e| match e {
            ResolveError::Timeout(d) => Error::ConnectTimeout(d),
            ResolveError::Failed(e) => Error::Connect(e),
        })
}

fn poll_error(e: &Error) -> PollError {
    let kind = match e {
        Error::ConnectTimeout(_) => "connect_timeout",
        Error::Connect(_) => "connect",
        Error::ResponseTimeout(_) => "timeout",
        Error::Io(_) | Error::Closed => "io",
        _ => "protocol",
    };
    PollError {
        kind,
        message: e.to_string(),
    }
}
