//! S7 adapter: CPU mode, identity, diagnostic buffer, status and tag values of a Siemens CPU.
//!
//! Per connection it reads the list of SZL IDs the CPU supports (0x0000) and its identity once;
//! what the CPU does not offer is published as "unsupported", never polled blindly and never
//! shown as an error. Each poll reads the operating mode (0x0424) and the newest diagnostic
//! entry (0x01A0 index 1): only when that entry differs from the last one seen is the whole
//! buffer read, and the entries newer than the last seen one are reported, oldest first. The
//! last seen entry survives reconnects (it is kept here) and gateway restarts (the store's
//! newest record is handed in at start-up), so no entry is reported twice or missed, as long as
//! the buffer did not wrap past it between two polls. Cycle times, protection and module status
//! change slowly and are read every `status_interval`. Reads only: nothing here writes to a PLC.

use std::time::Duration;

use chrono::Utc;
use plcdiag_s7::catalog::{self, Lang};
use plcdiag_s7::{Client, DiagEntry, Error, ModuleStatus, Reply, SzlId};
use serde_json::json;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::{PollError, PollOutput, ResolveError};
use crate::config::{S7Device, Scaling};
use crate::model::{CpuModeView, CycleTimesView, DiagEvent, Quality, StatusUpdate, TagReading};

/// What the connected CPU offers, from SZL 0x0000.
#[derive(Debug, Clone, Copy)]
struct Offers {
    mode: bool,
    diagnostics: bool,
    cycle_times: bool,
    protection: bool,
    modules: bool,
}

impl Offers {
    /// Everything: for CPUs that refuse 0x0000 itself (then each read finds out on its own).
    const ALL: Offers = Offers {
        mode: true,
        diagnostics: true,
        cycle_times: true,
        protection: true,
        modules: true,
    };

    fn from_ids(ids: &[SzlId]) -> Self {
        // 0x0000 lists IDs with their index-independent part, e.g. 0x00A0 or 0x01A0.
        let has = |wanted: &[u16]| {
            ids.iter()
                .any(|id| wanted.iter().any(|w| id.0 & 0x00FF == w & 0x00FF))
        };
        Offers {
            mode: has(&[0x0424]),
            diagnostics: has(&[0x00A0]),
            cycle_times: has(&[0x0222]),
            protection: has(&[0x0132]),
            modules: has(&[0x0D91, 0x0091]),
        }
    }

    fn unsupported(&self) -> Vec<String> {
        [
            (self.mode, "cpu_mode"),
            (self.diagnostics, "diagnostic_buffer"),
            (self.cycle_times, "cycle_times"),
            (self.protection, "protection"),
            (self.modules, "module_status"),
        ]
        .iter()
        .filter(|(offered, _)| !offered)
        .map(|(_, name)| (*name).to_owned())
        .collect()
    }
}

/// Polls one S7 CPU.
pub struct S7Poller {
    cfg: S7Device,
    scaling: Vec<Scaling>,
    client: Option<Client>,
    offers: Offers,
    /// The newest diagnostic record already reported.
    last_seen: Option<Vec<u8>>,
    /// No history and no buffer read yet: the first read is the backlog.
    backlog_pending: bool,
    /// What this poll's diagnostic read moves `last_seen` and `backlog_pending` to, applied
    /// only when the whole poll succeeds: a poll that fails later publishes nothing, so its
    /// events must be read again.
    pending_seen: Option<Vec<u8>>,
    pending_backlog_read: bool,
    last_mode: Option<CpuModeView>,
    /// Protection and module status are published when they change, not every status read.
    last_protection: Option<serde_json::Value>,
    last_modules: Option<serde_json::Value>,
    last_status_at: Option<Instant>,
}

impl S7Poller {
    /// A poller for `cfg`; `resume` is the newest diagnostic record already stored, if any.
    pub fn new(cfg: S7Device, scaling: Vec<Scaling>, resume: Option<Vec<u8>>) -> Self {
        Self {
            cfg,
            scaling,
            client: None,
            offers: Offers::ALL,
            backlog_pending: resume.is_none(),
            pending_seen: None,
            pending_backlog_read: false,
            last_seen: resume,
            last_mode: None,
            last_protection: None,
            last_modules: None,
            last_status_at: None,
        }
    }

    /// One poll: connect if needed, then mode, diagnostics, status when due, and tags.
    pub async fn poll(&mut self) -> Result<PollOutput, PollError> {
        let polled = self.poll_connected().await;
        let (seen, backlog_read) = (
            self.pending_seen.take(),
            std::mem::take(&mut self.pending_backlog_read),
        );
        match polled {
            Ok(out) => {
                // Published: what was read counts as seen.
                if seen.is_some() {
                    self.last_seen = seen;
                }
                if backlog_read {
                    self.backlog_pending = false;
                }
                Ok(out)
            }
            Err(e) => {
                // A half-read stream is never reused: reconnect on the next poll.
                self.client = None;
                Err(poll_error(&e))
            }
        }
    }

    async fn poll_connected(&mut self) -> Result<PollOutput, Error> {
        let mut out = PollOutput::default();
        if self.client.is_none() {
            let client = self.connect(&mut out).await?;
            self.client = Some(client);
        }
        let Some(client) = self.client.as_mut() else {
            return Ok(out);
        };

        if self.offers.mode {
            match client.cpu_mode().await? {
                Reply::Ok(m) => {
                    let view = CpuModeView {
                        mode: m.mode.to_string(),
                        previous: Some(m.previous.to_string()),
                        changed_at: m.changed_at,
                    };
                    if self.last_mode.as_ref() != Some(&view) {
                        out.status.push(StatusUpdate::CpuMode(view.clone()));
                        self.last_mode = Some(view);
                    }
                }
                Reply::Refused(r) if r.unsupported() => {
                    self.offers.mode = false;
                    out.status
                        .push(StatusUpdate::Unsupported(self.offers.unsupported()));
                }
                Reply::Refused(r) => debug!(refusal = %r, "S7 CPU refused the mode read"),
            }
        }

        if self.cfg.diagnostics && self.offers.diagnostics {
            (out.diagnostics, out.backlog) = self.new_diagnostics().await?;
            if !self.offers.diagnostics {
                // The CPU said it has no diagnostic buffer after all.
                out.status
                    .push(StatusUpdate::Unsupported(self.offers.unsupported()));
            }
        }

        let due = self
            .last_status_at
            .is_none_or(|t| t.elapsed() >= self.cfg.status_interval);
        if due {
            self.last_status_at = Some(Instant::now());
            self.read_status(&mut out).await?;
        }

        if !self.cfg.addresses.is_empty()
            && let Some(client) = self.client.as_mut()
        {
            let results = client.read_vars(&self.cfg.addresses).await?;
            out.readings = results
                .into_iter()
                .enumerate()
                .map(|(tag, r)| match r {
                    Ok(v) => match v.as_f64() {
                        Some(raw) => {
                            let value = self.scaling.get(tag).map_or(raw, |s| s.apply(raw));
                            TagReading {
                                tag,
                                value: Some(value),
                                quality: Quality::Good,
                            }
                        }
                        None => TagReading {
                            tag,
                            value: None,
                            quality: Quality::Bad(format!("not a number: {v:?}")),
                        },
                    },
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

    async fn connect(&mut self, out: &mut PollOutput) -> Result<Client, Error> {
        let addr = resolve(&self.cfg.host, self.cfg.port, self.cfg.options.timeout).await?;
        let mut client = Client::connect(addr, &self.cfg.options).await?;
        self.offers = match client.supported_szl_ids().await? {
            Reply::Ok(ids) => Offers::from_ids(&ids),
            Reply::Refused(r) => {
                debug!(refusal = %r, "S7 CPU does not list its SZL IDs; trying each read");
                Offers::ALL
            }
        };
        out.status
            .push(StatusUpdate::Unsupported(self.offers.unsupported()));
        match client.identity().await? {
            Reply::Ok(id) => out.status.push(StatusUpdate::Identity(json!({
                "order_number": id.order_number,
                "firmware": id.firmware,
                "hardware": id.hardware,
                "plc_name": id.plc_name,
                "module_name": id.module_name,
                "plant_id": id.plant_id,
                "serial": id.serial,
                "module_type": id.module_type,
                "pdu_size": client.pdu_size(),
            }))),
            Reply::Refused(r) => debug!(refusal = %r, "S7 CPU refused its identity"),
        }
        // A new connection may have missed changes: publish the current state again.
        self.last_mode = None;
        self.last_protection = None;
        self.last_modules = None;
        self.last_status_at = None;
        Ok(client)
    }

    /// Entries newer than the last one seen, oldest first, and whether they are the backlog
    /// (the first read of a CPU with no history: the whole buffer, from before we watched).
    async fn new_diagnostics(&mut self) -> Result<(Vec<DiagEvent>, bool), Error> {
        let Some(client) = self.client.as_mut() else {
            return Ok((Vec::new(), false));
        };
        let newest = match client.diag_buffer(1).await? {
            Reply::Ok(entries) => entries.into_iter().next(),
            Reply::Refused(r) => {
                if r.unsupported() {
                    self.offers.diagnostics = false;
                } else {
                    debug!(refusal = %r, "S7 CPU refused the diagnostic buffer read");
                }
                return Ok((Vec::new(), false));
            }
        };
        // The buffer was read: whatever it held now is the backlog, later entries are news
        // (once this poll is published; see `poll`).
        let backlog = self.backlog_pending;
        self.pending_backlog_read = true;
        let Some(newest) = newest else {
            return Ok((Vec::new(), backlog));
        };
        if self.last_seen.as_deref() == Some(&newest.raw[..]) {
            return Ok((Vec::new(), backlog));
        }
        let all = match client.diag_buffer(0).await? {
            Reply::Ok(entries) => entries,
            Reply::Refused(_) => vec![newest],
        };
        let fresh: Vec<DiagEntry> = match &self.last_seen {
            Some(seen) => {
                let known = all.iter().position(|e| &e.raw[..] == seen.as_slice());
                if known.is_none() {
                    warn!(
                        entries = all.len(),
                        "the diagnostic buffer wrapped past the last entry seen; entries between may be missing"
                    );
                }
                all.into_iter()
                    .take_while(|e| &e.raw[..] != seen.as_slice())
                    .collect()
            }
            None => all,
        };
        if let Some(first) = fresh.first() {
            self.pending_seen = Some(first.raw.to_vec());
        }
        let now = Utc::now();
        let events = fresh.iter().rev().map(|e| diag_event(e, now)).collect();
        Ok((events, backlog))
    }

    async fn read_status(&mut self, out: &mut PollOutput) -> Result<(), Error> {
        let Some(client) = self.client.as_mut() else {
            return Ok(());
        };
        let mut unsupported_changed = false;
        if self.offers.cycle_times {
            match client.cycle_times().await? {
                Reply::Ok(c) => out.status.push(StatusUpdate::CycleTimes(CycleTimesView {
                    current_ms: f64::from(c.current_ms),
                    min_ms: f64::from(c.min_ms),
                    max_ms: f64::from(c.max_ms),
                })),
                Reply::Refused(r) => {
                    unsupported_changed |= refuse(&mut self.offers.cycle_times, &r)
                }
            }
        }
        if self.offers.protection {
            match client.protection().await? {
                Reply::Ok(p) => {
                    let v = json!({
                        "level": p.level,
                        "parameterised_level": p.parameterised_level,
                        "key_switch": format!("{:?}", p.key_switch),
                        "password_set": p.password_set,
                    });
                    if self.last_protection.as_ref() != Some(&v) {
                        self.last_protection = Some(v.clone());
                        out.status.push(StatusUpdate::Protection(v));
                    }
                }
                Reply::Refused(r) => unsupported_changed |= refuse(&mut self.offers.protection, &r),
            }
        }
        if self.offers.modules {
            match client.module_status().await? {
                Reply::Ok(modules) => {
                    let v = modules_json(&modules);
                    if self.last_modules.as_ref() != Some(&v) {
                        self.last_modules = Some(v.clone());
                        out.status.push(StatusUpdate::Modules(v));
                    }
                }
                Reply::Refused(r) => unsupported_changed |= refuse(&mut self.offers.modules, &r),
            }
        }
        if unsupported_changed {
            out.status
                .push(StatusUpdate::Unsupported(self.offers.unsupported()));
        }
        Ok(())
    }
}

/// Marks a read unsupported when the CPU says so; true if it did.
fn refuse(offered: &mut bool, r: &plcdiag_s7::Refusal) -> bool {
    if r.unsupported() {
        *offered = false;
        true
    } else {
        debug!(refusal = %r, "S7 CPU refused a status read");
        false
    }
}

fn modules_json(modules: &[ModuleStatus]) -> serde_json::Value {
    let list: Vec<_> = modules
        .iter()
        .map(|m| {
            json!({
                "rack": m.rack(),
                "slot": m.slot(),
                "logical_address": m.logical_address,
                "expected_type": format!("0x{:04X}", m.expected_type),
                "actual_type": format!("0x{:04X}", m.actual_type),
                "error": m.module_error(),
                "exists": m.exists(),
                "not_available": m.not_available(),
                "disabled": m.disabled(),
                "station_error": m.station_error(),
            })
        })
        .collect();
    json!(list)
}

/// The gateway's form of a diagnostic-buffer entry, with the English catalogue text.
pub(crate) fn diag_event(e: &DiagEntry, now: chrono::DateTime<Utc>) -> DiagEvent {
    let id = e.event_id;
    DiagEvent {
        device_time: e.timestamp,
        gateway_time: now,
        event_id: id.0,
        class: id.class(),
        entering: Some(id.entering()),
        text: catalog::describe(id.0, Lang::En).text.into_owned(),
        details: json!({
            "priority": e.priority,
            "ob": e.ob,
            "dat_id": format!("0x{:04X}", e.dat_id),
            "info1": format!("0x{:04X}", e.info1),
            "info2": format!("0x{:08X}", e.info2),
            "internal": id.is_internal(),
            "external": id.is_external(),
        }),
        raw: e.raw.to_vec(),
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
        Error::ConnectTimeout(_) | Error::CotpTimeout(_) | Error::SetupTimeout(_) => {
            "connect_timeout"
        }
        Error::Connect(_)
        | Error::CotpRefused { .. }
        | Error::SetupRefused(_)
        | Error::BadPduSize(_) => "connect",
        Error::ResponseTimeout(_) => "timeout",
        Error::Io(_) | Error::Closed => "io",
        _ => "protocol",
    };
    PollError {
        kind,
        message: e.to_string(),
    }
}
