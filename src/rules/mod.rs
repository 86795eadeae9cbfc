//! Alarm rules: conditions over what the devices report, timed alarms with ISA-18.2 states.
//!
//! - [`expr`]: the condition language (`temperature > 90 && !offline()`), parsed and type-checked
//!   when the config is loaded, so a mistake points at the rule and the column.
//! - [`facts`]: what a condition sees about one device (tags, health, CPU mode, diagnostic
//!   events, CC-Link stations), updated from the hub's observations.
//! - [`alarm`]: one alarm point (rule x device) as a pure state machine with `now` passed in:
//!   on/off delay, latching, re-alarm, acknowledgement, shelving, suppression.
//! - [`engine`]: the task that feeds observations and timers to the alarm points and commits
//!   every change to the journal and the notification outbox in one transaction.
//!
//! The types here are what leaves the rules: [`AlarmChange`] to the store, [`Notice`] (its
//! serialized form in the outbox) to the notifiers.

pub mod alarm;
pub mod check;
pub mod engine;
pub mod expr;
pub mod facts;
pub mod schedule;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How urgent an alarm is (Ignition's and ISA-18.2's four operator priorities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Worth knowing; no prompt action needed.
    Low,
    /// Needs action within the shift.
    Medium,
    /// Needs prompt action.
    High,
    /// Needs immediate action: the line is stopped or people or equipment are at risk.
    Critical,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The name used in the config, the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses a name written by [`Priority::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an alarm gets acknowledged (Ignition's ack modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// Only an operator acknowledges (the default).
    Manual,
    /// Acknowledged by the system when the condition clears.
    Auto,
    /// Never needs acknowledgement: acknowledged as it is raised.
    None,
}

/// The ISA-18.2 / IEC 62682 state of an alarm, as shown to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    /// Condition false, nothing to acknowledge.
    Normal,
    /// Active and not acknowledged.
    Unacknowledged,
    /// Active and acknowledged.
    Acknowledged,
    /// Returned to normal before anyone acknowledged it.
    RtnUnacknowledged,
    /// Condition false, but a latching alarm stays until an operator resets it (acknowledges).
    Latched,
    /// Hidden by an operator until a time (or until unshelved).
    Shelved,
    /// Suppressed by logic: its device is offline, or the rule's schedule is not running.
    Suppressed,
    /// Removed from service in the config (maintenance).
    OutOfService,
}

impl AlarmState {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Unacknowledged => "unacknowledged",
            Self::Acknowledged => "acknowledged",
            Self::RtnUnacknowledged => "rtn_unacknowledged",
            Self::Latched => "latched",
            Self::Shelved => "shelved",
            Self::Suppressed => "suppressed",
            Self::OutOfService => "out_of_service",
        }
    }

    /// Parses a name written by [`AlarmState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Normal,
            Self::Unacknowledged,
            Self::Acknowledged,
            Self::RtnUnacknowledged,
            Self::Latched,
            Self::Shelved,
            Self::Suppressed,
            Self::OutOfService,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to an alarm: one journal row each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The condition held (for the on-delay): a new activation.
    Raised,
    /// The condition stopped holding (for the off-delay).
    Cleared,
    /// An operator (or the ack mode) acknowledged it.
    Acknowledged,
    /// An operator reset a latched alarm whose condition is gone.
    Reset,
    /// Still unacknowledged after the rule's re-alarm time: announced again.
    ReAlarmed,
    /// An operator shelved it.
    Shelved,
    /// An operator unshelved it.
    Unshelved,
    /// The shelving time ran out.
    ShelveExpired,
    /// Suppressed by design (device offline, outside the rule's schedule).
    Suppressed,
    /// The suppression ended.
    Unsuppressed,
}

impl Transition {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raised => "raised",
            Self::Cleared => "cleared",
            Self::Acknowledged => "acknowledged",
            Self::Reset => "reset",
            Self::ReAlarmed => "re_alarmed",
            Self::Shelved => "shelved",
            Self::Unshelved => "unshelved",
            Self::ShelveExpired => "shelve_expired",
            Self::Suppressed => "suppressed",
            Self::Unsuppressed => "unsuppressed",
        }
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alarm transition as the notifiers see it: the outbox row's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// The journal row (0 until the change is committed).
    pub journal_id: i64,
    /// The activation this transition belongs to.
    pub alarm_id: i64,
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// Device kind (`s7`, `melsec`, `modbus`).
    pub driver: String,
    /// Priority.
    pub priority: Priority,
    /// What happened.
    pub transition: Transition,
    /// State after the transition.
    pub state: AlarmState,
    /// Whether the condition is (still) considered active.
    pub active: bool,
    /// Whether it is acknowledged.
    pub acked: bool,
    /// When the transition happened (gateway clock).
    pub at: DateTime<Utc>,
    /// When this activation was raised.
    pub raised_at: DateTime<Utc>,
    /// When it cleared, once it has.
    pub cleared_at: Option<DateTime<Utc>>,
    /// The rule's message with the values filled in.
    pub message: String,
    /// The values that explain the alarm (tag values, event, stations, failed operands).
    pub values: serde_json::Value,
    /// Who acknowledged, shelved or unshelved it.
    pub user: Option<String>,
    /// Their note.
    pub note: Option<String>,
    /// End of the shelving, while shelved.
    pub shelved_until: Option<DateTime<Utc>>,
}

/// A transition on its way to the store: the notice, who gets it, and the point's new state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    /// What happened.
    pub notice: Notice,
    /// Receivers that get an outbox row (routing is decided by the engine).
    pub receivers: Vec<Arc<str>>,
    /// The alarm point's persisted state after this change (JSON for `alarm_points`).
    pub point: serde_json::Value,
}

/// A validated rule: how its alarms behave, and what it checks on each device it applies to.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name.
    pub name: Arc<str>,
    /// Timing, acknowledgement, shelving.
    pub settings: alarm::AlarmSettings,
    /// Message template.
    pub message: String,
    /// Deadband of analog limits.
    pub deadband: f64,
    /// When it runs; `None`: always.
    pub schedule: Option<schedule::Schedule>,
    /// Suppress its alarms while the device is offline or demoted.
    pub suppress_when_offline: bool,
    /// One compiled check per device it applies to, in config order.
    pub targets: Vec<Target>,
}

/// A rule compiled for one device.
#[derive(Debug, Clone)]
pub struct Target {
    /// The device.
    pub device: crate::model::DeviceName,
    /// The device's kind name (`s7`, `melsec`, `modbus`).
    pub driver: &'static str,
    /// What is checked.
    pub check: check::Check,
}
