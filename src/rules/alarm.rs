//! One alarm point (a rule applied to one device) as a pure ISA-18.2 state machine.
//!
//! The point is driven with `now` passed in: [`AlarmPoint::update`] with the condition's value,
//! [`AlarmPoint::tick`] when [`AlarmPoint::next_deadline`] comes, and the operator commands.
//! Each returns the transitions that happened, which the engine journals and notifies.
//!
//! Semantics (ISA-18.2 / IEC 62682, OPC UA Part 9 timers, Ignition ack modes):
//! - On-delay: the condition must hold for `on_delay` before the alarm is raised; a condition
//!   that flickers shorter than that never raises. Off-delay: the alarm clears only after the
//!   condition has been false for `off_delay`.
//! - An activation is acknowledged once. An alarm that returns while still waiting for the
//!   acknowledgement of its previous activation continues that activation (ISA-18.2: RTN
//!   unacknowledged → unacknowledged); once acknowledged and normal, the next raise is a new
//!   activation with a new id.
//! - Latching: a latched alarm whose condition is gone stays `latched` until an operator
//!   acknowledges it, which resets it.
//! - Re-alarm: an active alarm still unacknowledged `re_alarm` after it was (last) announced is
//!   announced again.
//! - Shelving hides a point until a time (bounded by `max_shelve`); suppression (device offline,
//!   schedule not running) freezes it; out of service removes it. While shelved, changes are
//!   still journalled; the engine does not notify them.
//! - An Unknown condition (a value the device did not deliver) changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AckMode, AlarmState, Priority, Transition};

/// How a point behaves; from the rule's config.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// Priority of its alarms.
    pub priority: Priority,
    /// The condition must hold this long before the alarm is raised.
    pub on_delay: Duration,
    /// The condition must be false this long before the alarm clears.
    pub off_delay: Duration,
    /// Stays `latched` after the condition is gone, until reset by an acknowledgement.
    pub latch: bool,
    /// How it is acknowledged.
    pub ack: AckMode,
    /// Announce again when still unacknowledged after this long.
    pub re_alarm: Option<Duration>,
    /// Whether operators may shelve it.
    pub shelving_allowed: bool,
    /// Longest shelving an operator may ask for.
    pub max_shelve: Duration,
    /// Removed from service: never raised.
    pub out_of_service: bool,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        Self {
            priority: Priority::Medium,
            on_delay: Duration::ZERO,
            off_delay: Duration::ZERO,
            latch: false,
            ack: AckMode::Manual,
            re_alarm: None,
            shelving_allowed: true,
            max_shelve: Duration::from_secs(8 * 3600),
            out_of_service: false,
        }
    }
}

/// The part of a point's state that survives a restart (saved with every change).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Persisted {
    /// The current (or last) activation.
    pub alarm_id: Option<i64>,
    /// The alarm is active (the condition held for the on-delay and has not cleared).
    pub active: bool,
    /// The current activation is acknowledged (true when there is none).
    pub acked: bool,
    /// Latched: the condition is gone, a reset is due.
    pub latched: bool,
    /// When the current activation was raised.
    pub raised_at: Option<DateTime<Utc>>,
    /// When it cleared.
    pub cleared_at: Option<DateTime<Utc>>,
    /// When it was last announced (raise or re-alarm), for the re-alarm timer.
    pub announced_at: Option<DateTime<Utc>>,
    /// Shelved until then.
    pub shelved_until: Option<DateTime<Utc>>,
    /// The message rendered when the activation was raised.
    pub message: String,
    /// The values that explained it.
    pub values: serde_json::Value,
    /// Suppressed by design when saved (so a restart reports the end of a suppression).
    #[serde(default)]
    pub suppressed: bool,
}

/// One transition, as the point reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub transition: Transition,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (operator commands).
    pub user: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

/// Why an operator command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Nothing to acknowledge.
    #[error("the alarm is already acknowledged")]
    NotUnacknowledged,
    /// The rule does not allow shelving.
    #[error("this alarm may not be shelved (shelving = false in its rule)")]
    ShelvingNotAllowed,
    /// Unshelve of a point that is not shelved.
    #[error("the alarm is not shelved")]
    NotShelved,
    /// Shelving for zero time.
    #[error("the shelving time must be longer than zero")]
    ZeroShelve,
}

/// Hands out activation ids; the engine owns the counter.
pub trait NextId {
    /// A new, never used id.
    fn next_id(&mut self) -> i64;
}

impl NextId for i64 {
    fn next_id(&mut self) -> i64 {
        *self += 1;
        *self
    }
}

/// One alarm point.
#[derive(Debug, Clone)]
pub struct AlarmPoint {
    settings: AlarmSettings,
    saved: Persisted,
    /// The last known value of the condition, and since when it has had it.
    condition: Option<(bool, DateTime<Utc>)>,
    suppressed: bool,
}

impl AlarmPoint {
    /// A point in the normal state.
    pub fn new(settings: AlarmSettings) -> Self {
        Self::restore(
            settings,
            Persisted {
                acked: true,
                ..Persisted::default()
            },
        )
    }

    /// A point with its state from before a restart; the condition is unknown until evaluated.
    pub fn restore(settings: AlarmSettings, saved: Persisted) -> Self {
        Self {
            settings,
            suppressed: saved.suppressed,
            saved,
            condition: None,
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &AlarmSettings {
        &self.settings
    }

    /// Its saved state.
    pub fn saved(&self) -> &Persisted {
        &self.saved
    }

    /// Sets the message and values of the current activation (the engine renders them when
    /// the point is raised).
    pub fn explain(&mut self, message: String, values: serde_json::Value) {
        self.saved.message = message;
        self.saved.values = values;
    }

    /// The ISA-18.2 state shown to operators.
    pub fn state(&self, now: DateTime<Utc>) -> AlarmState {
        let s = &self.saved;
        if self.settings.out_of_service {
            AlarmState::OutOfService
        } else if s.shelved_until.is_some_and(|t| t > now) {
            AlarmState::Shelved
        } else if self.suppressed {
            AlarmState::Suppressed
        } else if s.active {
            if s.acked {
                AlarmState::Acknowledged
            } else {
                AlarmState::Unacknowledged
            }
        } else if s.latched {
            AlarmState::Latched
        } else if !s.acked {
            AlarmState::RtnUnacknowledged
        } else {
            AlarmState::Normal
        }
    }

    /// Whether the point is suppressed by design.
    pub fn is_suppressed(&self) -> bool {
        self.suppressed
    }

    /// Whether it is shelved at `now`.
    pub fn is_shelved(&self, now: DateTime<Utc>) -> bool {
        self.saved.shelved_until.is_some_and(|t| t > now)
    }

    /// Whether the current activation still needs attention (active, unacknowledged or latched).
    pub fn is_open(&self) -> bool {
        let s = &self.saved;
        s.alarm_id.is_some() && (s.active || !s.acked || s.latched)
    }

    /// Feeds the condition's value at `now` (`None`: unknown, changes nothing).
    pub fn update(
        &mut self,
        condition: Option<bool>,
        now: DateTime<Utc>,
        ids: &mut impl NextId,
    ) -> Vec<Event> {
        let Some(value) = condition else {
            return Vec::new();
        };
        if self.suppressed || self.settings.out_of_service {
            // Not evaluated: delays start from the first value after the suppression.
            return self.tick(now, ids);
        }
        match self.condition {
            Some((old, _)) if old == value => {}
            _ => self.condition = Some((value, now)),
        }
        self.tick(now, ids)
    }

    /// Applies whatever is due at `now`: delays, re-alarm, shelving expiry.
    pub fn tick(&mut self, now: DateTime<Utc>, ids: &mut impl NextId) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some(until) = self.saved.shelved_until
            && until <= now
        {
            self.saved.shelved_until = None;
            out.push(event(Transition::ShelveExpired, until, None, None));
        }
        if self.settings.out_of_service || self.suppressed {
            return out;
        }
        if let Some((value, since)) = self.condition {
            if value && !self.saved.active {
                let due = since + self.settings.on_delay;
                if due <= now {
                    self.raise(due, ids, &mut out);
                }
            } else if !value && self.saved.active {
                let due = since + self.settings.off_delay;
                if due <= now {
                    self.clear(due, &mut out);
                }
            }
        }
        if let (Some(every), Some(last)) = (self.settings.re_alarm, self.saved.announced_at)
            && self.saved.active
            && !self.saved.acked
            && !every.is_zero()
        {
            let due = last + every;
            if due <= now {
                self.saved.announced_at = Some(now);
                out.push(event(Transition::ReAlarmed, now, None, None));
            }
        }
        out
    }

    fn raise(&mut self, at: DateTime<Utc>, ids: &mut impl NextId, out: &mut Vec<Event>) {
        let s = &mut self.saved;
        // A return while the last activation still waits for its acknowledgement (or reset)
        // continues it; otherwise this is a new alarm.
        let continues = s.alarm_id.is_some() && (!s.acked || s.latched);
        if !continues {
            s.alarm_id = Some(ids.next_id());
            s.raised_at = Some(at);
            s.acked = false;
        }
        s.active = true;
        s.latched = false;
        s.cleared_at = None;
        s.announced_at = Some(at);
        if self.settings.ack == AckMode::None {
            s.acked = true;
        }
        out.push(event(Transition::Raised, at, None, None));
    }

    fn clear(&mut self, at: DateTime<Utc>, out: &mut Vec<Event>) {
        let s = &mut self.saved;
        s.active = false;
        s.cleared_at = Some(at);
        if self.settings.latch {
            s.latched = true;
        }
        if self.settings.ack == AckMode::Auto {
            s.acked = true;
        }
        out.push(event(Transition::Cleared, at, None, None));
    }

    /// The next moment [`AlarmPoint::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let mut next: Option<DateTime<Utc>> = self.saved.shelved_until;
        let mut consider = |t: DateTime<Utc>| next = Some(next.map_or(t, |n| n.min(t)));
        if !self.settings.out_of_service && !self.suppressed {
            if let Some((value, since)) = self.condition {
                if value && !self.saved.active {
                    consider(since + self.settings.on_delay);
                } else if !value && self.saved.active {
                    consider(since + self.settings.off_delay);
                }
            }
            if let (Some(every), Some(last)) = (self.settings.re_alarm, self.saved.announced_at)
                && self.saved.active
                && !self.saved.acked
                && !every.is_zero()
            {
                consider(last + every);
            }
        }
        next
    }

    /// An operator acknowledges the current activation (and resets it when latched).
    pub fn acknowledge(
        &mut self,
        user: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, CommandError> {
        let s = &mut self.saved;
        let user = Some(user.to_owned());
        let note = note.map(str::to_owned);
        let mut out = Vec::new();
        if !s.acked {
            s.acked = true;
            out.push(event(
                Transition::Acknowledged,
                now,
                user.clone(),
                note.clone(),
            ));
        }
        if s.latched && !s.active {
            s.latched = false;
            out.push(event(Transition::Reset, now, user, note));
        }
        if out.is_empty() {
            return Err(CommandError::NotUnacknowledged);
        }
        Ok(out)
    }

    /// An operator shelves the point for `duration` (capped at the rule's `max_shelve`).
    pub fn shelve(
        &mut self,
        duration: Duration,
        user: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, CommandError> {
        if !self.settings.shelving_allowed {
            return Err(CommandError::ShelvingNotAllowed);
        }
        if duration.is_zero() {
            return Err(CommandError::ZeroShelve);
        }
        let duration = duration.min(self.settings.max_shelve);
        self.saved.shelved_until = Some(now + duration);
        Ok(vec![event(
            Transition::Shelved,
            now,
            Some(user.to_owned()),
            note.map(str::to_owned),
        )])
    }

    /// An operator unshelves the point.
    pub fn unshelve(
        &mut self,
        user: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, CommandError> {
        if !self.is_shelved(now) {
            return Err(CommandError::NotShelved);
        }
        self.saved.shelved_until = None;
        Ok(vec![event(
            Transition::Unshelved,
            now,
            Some(user.to_owned()),
            note.map(str::to_owned),
        )])
    }

    /// Suppression by design starts (`true`) or ends. The transition is reported only when an
    /// activation is open: a normal point is suppressed silently, so a device going offline
    /// does not flood the journal with one row per rule.
    pub fn suppress(&mut self, on: bool, now: DateTime<Utc>) -> Vec<Event> {
        if self.suppressed == on {
            return Vec::new();
        }
        self.suppressed = on;
        self.saved.suppressed = on;
        // The condition is not evaluated while suppressed: forget it, so delays restart from
        // fresh values afterwards.
        self.condition = None;
        if !self.is_open() {
            return Vec::new();
        }
        let t = if on {
            Transition::Suppressed
        } else {
            Transition::Unsuppressed
        };
        vec![event(t, now, None, None)]
    }
}

fn event(
    transition: Transition,
    at: DateTime<Utc>,
    user: Option<String>,
    note: Option<String>,
) -> Event {
    Event {
        transition,
        at,
        user,
        note,
    }
}

#[cfg(test)]
mod tests;
