//! The gateway model: one shape for what every kind of device reports.
//!
//! Drivers return protocol facts; the adapters in `devices/` map them to these types, and
//! everything downstream of the hub (store, live view, metrics) only knows these.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
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
            | Self::PollFailed { device, .. } => device,
        }
    }
}
