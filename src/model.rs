//! The gateway model: one shape for what every kind of device reports.
//!
//! Drivers return protocol facts; the adapters in `devices/` map them to these types, and
//! everything downstream of the hub (store, live view, metrics) only knows these.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

/// A device's name as configured; unique within one gateway.
pub type DeviceName = Arc<str>;

/// Whether a device answers, as the health state machine decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Configured but not polled successfully yet.
    Unknown,
    /// The last poll was answered.
    Online,
    /// The last poll failed; the device is still polled at its interval.
    Offline,
    /// Failed too often in a row: taken off-scan until its back-off period ends, then probed.
    Demoted,
}

impl HealthState {
    /// The name used in the API, the database and log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Online => "online",
            Self::Offline => "offline",
            Self::Demoted => "demoted",
        }
    }
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device's health as shown to people: state, since when, why, and how fast it answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// Current state.
    pub state: HealthState,
    /// Wall-clock time of the transition into `state`.
    pub since: DateTime<Utc>,
    /// The most recent communication error, kept after recovery so people can see what happened.
    pub last_error: Option<String>,
    /// Round-trip time of the last successful poll.
    #[serde(serialize_with = "serialize_opt_millis", rename = "rtt_ms")]
    pub rtt: Option<Duration>,
    /// Failed polls in a row (0 while online).
    pub consecutive_failures: u32,
}

fn serialize_opt_millis<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.as_secs_f64() * 1000.0)),
        None => s.serialize_none(),
    }
}

/// How far a tag value can be trusted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "quality", content = "reason", rename_all = "snake_case")]
pub enum Quality {
    /// Read in the last poll.
    Good,
    /// Read earlier; the device has not answered since (the value is its last known one).
    Stale,
    /// The device answered, but not with a usable value (exception code, decode error).
    Bad(String),
}

impl Quality {
    /// The name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Stale => "stale",
            Self::Bad(_) => "bad",
        }
    }
}

/// One tag's value from one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct TagReading {
    /// Index of the tag in the device's configured tag list.
    pub tag: usize,
    /// The scaled value; `None` when the quality is bad.
    pub value: Option<f64>,
    /// Quality of this reading.
    pub quality: Quality,
}

/// What a device task reports to the hub.
#[derive(Debug, Clone)]
pub enum Observation {
    /// The device's health changed state (or its error changed while failing).
    Health {
        /// Which device.
        device: DeviceName,
        /// The new health.
        health: Health,
    },
    /// A poll was answered.
    Values {
        /// Which device.
        device: DeviceName,
        /// Gateway time of the answer.
        at: DateTime<Utc>,
        /// Round-trip time of the whole poll.
        rtt: Duration,
        /// One reading per configured tag.
        readings: Arc<[TagReading]>,
    },
    /// New diagnostic events (e.g. S7 diagnostic-buffer entries), oldest first, each reported once.
    Diagnostics {
        /// Which device.
        device: DeviceName,
        /// The events.
        events: Arc<[DiagEvent]>,
        /// The device's first report after the gateway started watching a device with no
        /// history: what it holds from before (an S7 CPU's whole buffer, the errors and
        /// stations down that a MELSEC PLC shows at start). It sets the rules' levels but
        /// raises no event pulses; it may be empty. Every later report is news.
        backlog: bool,
    },
    /// Part of a device's status changed (CPU mode, identity, cycle times ...).
    Status {
        /// Which device.
        device: DeviceName,
        /// Gateway time of the reading.
        at: DateTime<Utc>,
        /// What changed.
        update: StatusUpdate,
    },
    /// A poll failed (every failure, for metrics; health changes come separately).
    PollFailed {
        /// Which device.
        device: DeviceName,
        /// Short, stable failure class for metrics labels (`timeout`, `connect`, `io`, ...).
        kind: &'static str,
        /// Failed polls in a row, this one included.
        consecutive_failures: u32,
    },
}

impl Observation {
    /// The device this observation is about.
    pub fn device(&self) -> &DeviceName {
        match self {
            Self::Health { device, .. }
            | Self::Values { device, .. }
            | Self::Diagnostics { device, .. }
            | Self::Status { device, .. }
            | Self::PollFailed { device, .. } => device,
        }
    }
}

/// One diagnostic event as the device reported it, decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiagEvent {
    /// The device's own timestamp (CPU local time, no zone), when it has a valid one.
    pub device_time: Option<NaiveDateTime>,
    /// When the gateway first saw the event.
    pub gateway_time: DateTime<Utc>,
    /// Event ID (S7: class, entering/leaving and number packed in 16 bits).
    pub event_id: u16,
    /// Event class (S7: bits 12-15 of the ID).
    pub class: u8,
    /// `Some(true)` for an entering (coming) event, `Some(false)` for a leaving (going) one.
    pub entering: Option<bool>,
    /// English text from the event catalogue (other languages are looked up by `event_id`).
    pub text: String,
    /// Protocol-specific details (S7: priority class, OB, DatID, info1, info2).
    pub details: serde_json::Value,
    /// The record as received, for audit and exact deduplication.
    #[serde(serialize_with = "serialize_hex")]
    pub raw: Vec<u8>,
}

fn serialize_hex<S: serde::Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&raw_hex(raw))
}

/// A raw diagnostic record as the API shows it: upper-case hex, two digits a byte.
pub fn raw_hex(raw: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut hex = String::with_capacity(raw.len() * 2);
    for b in raw {
        let _ = write!(hex, "{b:02X}");
    }
    hex
}

/// A CPU's operating mode as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuModeView {
    /// Current mode, e.g. `RUN`, `STOP`.
    pub mode: String,
    /// The mode before the last transition.
    pub previous: Option<String>,
    /// When the last transition happened, by the device's clock.
    pub changed_at: Option<NaiveDateTime>,
}

/// Cycle time statistics of the main program (S7: OB1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleTimesView {
    /// Last cycle, ms.
    pub current_ms: f64,
    /// Shortest since the last start-up, ms.
    pub min_ms: f64,
    /// Longest since the last start-up, ms.
    pub max_ms: f64,
}

/// One part of a device's status, published when it changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum StatusUpdate {
    /// Operating mode.
    CpuMode(CpuModeView),
    /// Order number, firmware, serial, names.
    Identity(serde_json::Value),
    /// Protection level and key switch.
    Protection(serde_json::Value),
    /// Cycle times.
    CycleTimes(CycleTimesView),
    /// Module and rack status.
    Modules(serde_json::Value),
    /// Diagnostics this device does not offer (shown as "unsupported", not as errors).
    Unsupported(Vec<String>),
    /// A field network hosted by the device (e.g. a CC-Link master): its station map.
    Network {
        /// The network's configured name.
        name: String,
        /// Line state, stations with their state and causes, link scan time.
        status: serde_json::Value,
    },
}

impl StatusUpdate {
    /// The part's value as JSON, as stored in the history.
    pub fn value(&self) -> serde_json::Value {
        let v = match self {
            Self::CpuMode(v) => serde_json::to_value(v),
            Self::Identity(v) | Self::Protection(v) | Self::Modules(v) => Ok(v.clone()),
            Self::CycleTimes(v) => serde_json::to_value(v),
            Self::Unsupported(v) => serde_json::to_value(v),
            Self::Network { name, status } => {
                Ok(serde_json::json!({ "name": name, "status": status }))
            }
        };
        v.unwrap_or(serde_json::Value::Null)
    }

    /// The name stored in the history and used in the API.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CpuMode(_) => "cpu_mode",
            Self::Identity(_) => "identity",
            Self::Protection(_) => "protection",
            Self::CycleTimes(_) => "cycle_times",
            Self::Modules(_) => "modules",
            Self::Unsupported(_) => "unsupported",
            Self::Network { .. } => "network",
        }
    }
}

/// The latest of each status part, as the live view keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeviceStatus {
    /// Operating mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_mode: Option<CpuModeView>,
    /// Identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<serde_json::Value>,
    /// Protection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection: Option<serde_json::Value>,
    /// Cycle times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_times: Option<CycleTimesView>,
    /// Modules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modules: Option<serde_json::Value>,
    /// Unsupported diagnostics.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// Field networks hosted by the device, by name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub networks: std::collections::BTreeMap<String, serde_json::Value>,
}

impl DeviceStatus {
    /// Applies one update.
    pub fn apply(&mut self, update: &StatusUpdate) {
        match update {
            StatusUpdate::CpuMode(m) => self.cpu_mode = Some(m.clone()),
            StatusUpdate::Identity(v) => self.identity = Some(v.clone()),
            StatusUpdate::Protection(v) => self.protection = Some(v.clone()),
            StatusUpdate::CycleTimes(c) => self.cycle_times = Some(c.clone()),
            StatusUpdate::Modules(v) => self.modules = Some(v.clone()),
            StatusUpdate::Unsupported(u) => self.unsupported = u.clone(),
            StatusUpdate::Network { name, status } => {
                self.networks.insert(name.clone(), status.clone());
            }
        }
    }
}
