//! Device health as a pure state machine: no I/O, no clock of its own.
//!
//! - any state, poll answered → `Online`;
//! - poll failed, fewer than `demote_after` failures in a row → `Offline` (still polled at its interval);
//! - poll failed for the `demote_after`-th time in a row → `Demoted`: off-scan for `demote_for`,
//!   then a single probe poll; a failed probe keeps it demoted for another period.
//!
//! Invariants: a device is `Online` only after an answered poll and only until the next failed
//! one; every failure counts, and `demote_after` consecutive failures take the device off-scan
//! for `demote_for`, after which exactly one probe poll decides. The adapter calls
//! [`DeviceHealth::on_success`] / [`DeviceHealth::on_failure`] after each poll and sleeps until
//! [`DeviceHealth::next_poll_at`]. Tests drive it with made-up instants.

use std::time::Duration;

use tokio::time::Instant;

use crate::model::HealthState;

/// When to poll and when to give up on a device (KEPServerEX calls the latter "auto-demotion").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Time between the starts of two polls.
    pub interval: Duration,
    /// Consecutive failures after which the device is demoted; 0 never demotes.
    pub demote_after: u32,
    /// How long a demoted device stays off-scan before it is probed again.
    pub demote_for: Duration,
}

/// A change of state, returned by the `on_*` methods so the caller can publish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: HealthState,
    /// State after.
    pub to: HealthState,
}

/// The health of one device, driven by poll outcomes.
#[derive(Debug, Clone)]
pub struct DeviceHealth {
    policy: HealthPolicy,
    state: HealthState,
    consecutive_failures: u32,
    last_error: Option<String>,
    rtt: Option<Duration>,
    /// Start of the poll slot that is due next; polls run on a fixed grid from the first one.
    next_poll: Instant,
}

impl DeviceHealth {
    /// A device that has not been polled yet; its first poll is due at `now`.
    pub fn new(policy: HealthPolicy, now: Instant) -> Self {
        Self {
            policy,
            state: HealthState::Unknown,
            consecutive_failures: 0,
            last_error: None,
            rtt: None,
            next_poll: now,
        }
    }

    /// Current state.
    pub fn state(&self) -> HealthState {
        self.state
    }

    /// Failed polls in a row.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The last failure's message (kept after recovery).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Round-trip time of the last answered poll.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// When the next poll (or probe, for a demoted device) should start.
    pub fn next_poll_at(&self) -> Instant {
        self.next_poll
    }

    /// A poll that started in the slot due at `next_poll_at` was answered at `now`.
    pub fn on_success(&mut self, rtt: Duration, now: Instant) -> Option<Transition> {
        self.consecutive_failures = 0;
        self.rtt = Some(rtt);
        self.schedule_next_slot(now);
        self.enter(HealthState::Online)
    }

    /// A poll failed at `now` (timeout, connection refused, malformed answer ...).
    pub fn on_failure(&mut self, error: String, now: Instant) -> Option<Transition> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_error = Some(error);
        let demote =
            self.policy.demote_after > 0 && self.consecutive_failures >= self.policy.demote_after;
        if demote {
            // Off-scan: the next attempt is a single probe after the back-off period.
            self.next_poll = now + self.policy.demote_for;
            self.enter(HealthState::Demoted)
        } else {
            self.schedule_next_slot(now);
            self.enter(HealthState::Offline)
        }
    }

    /// Advance to the first slot of the fixed polling grid after `now`: a poll that overran its
    /// interval skips the missed slots instead of bursting to catch up.
    fn schedule_next_slot(&mut self, now: Instant) {
        let interval = self.policy.interval.max(Duration::from_millis(1));
        let mut next = self.next_poll + interval;
        if next <= now {
            let behind = now.duration_since(next);
            let skipped = behind.as_nanos() / interval.as_nanos() + 1;
            let skipped = u32::try_from(skipped).unwrap_or(u32::MAX);
            next += interval.saturating_mul(skipped);
        }
        self.next_poll = next;
    }

    fn enter(&mut self, to: HealthState) -> Option<Transition> {
        let from = self.state;
        self.state = to;
        (from != to).then_some(Transition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn policy() -> HealthPolicy {
        HealthPolicy {
            interval: 1000 * MS,
            demote_after: 3,
            demote_for: 10_000 * MS,
        }
    }

    #[test]
    fn device_is_online_after_first_answered_poll() {
        let t0 = Instant::now();
        let mut h = DeviceHealth::new(policy(), t0);
        assert_eq!(h.state(), HealthState::Unknown);
        let tr = h.on_success(20 * MS, t0 + 20 * MS);
        assert_eq!(
            tr,
            Some(Transition {
                from: HealthState::Unknown,
                to: HealthState::Online
            })
        );
        assert_eq!(h.rtt(), Some(20 * MS));
        assert_eq!(h.next_poll_at(), t0 + 1000 * MS);
    }

    #[test]
    fn device_is_offline_after_the_first_failed_poll() {
        let t0 = Instant::now();
        let mut h = DeviceHealth::new(policy(), t0);
        h.on_success(MS, t0);
        let tr = h.on_failure("response timeout after 500ms".into(), t0 + 1500 * MS);
        assert_eq!(
            tr,
            Some(Transition {
                from: HealthState::Online,
                to: HealthState::Offline
            })
        );
        assert_eq!(h.last_error(), Some("response timeout after 500ms"));
        // Still polled at its interval while offline.
        assert_eq!(h.next_poll_at(), t0 + 2000 * MS);
    }

    #[test]
    fn device_is_demoted_after_three_consecutive_failures_and_probed_after_back_off() {
        let t0 = Instant::now();
        let mut h = DeviceHealth::new(policy(), t0);
        assert!(h.on_failure("e1".into(), t0).is_some());
        assert_eq!(h.on_failure("e2".into(), t0 + 1000 * MS), None);
        let tr = h.on_failure("e3".into(), t0 + 2000 * MS);
        assert_eq!(
            tr,
            Some(Transition {
                from: HealthState::Offline,
                to: HealthState::Demoted
            })
        );
        assert_eq!(h.next_poll_at(), t0 + 12_000 * MS);
        // The probe fails: off-scan for another period, no new transition.
        assert_eq!(h.on_failure("e4".into(), t0 + 12_000 * MS), None);
        assert_eq!(h.state(), HealthState::Demoted);
        assert_eq!(h.next_poll_at(), t0 + 22_000 * MS);
        // The probe succeeds: back online and on the normal grid.
        let tr = h.on_success(5 * MS, t0 + 22_005 * MS);
        assert_eq!(
            tr,
            Some(Transition {
                from: HealthState::Demoted,
                to: HealthState::Online
            })
        );
        assert_eq!(h.consecutive_failures(), 0);
        assert_eq!(h.next_poll_at(), t0 + 23_000 * MS);
    }

    #[test]
    fn demotion_can_be_disabled() {
        let t0 = Instant::now();
        let mut h = DeviceHealth::new(
            HealthPolicy {
                demote_after: 0,
                ..policy()
            },
            t0,
        );
        for i in 0..100 {
            h.on_failure("down".into(), t0 + 1000 * MS * i);
        }
        assert_eq!(h.state(), HealthState::Offline);
        assert_eq!(h.consecutive_failures(), 100);
    }

    #[test]
    fn a_poll_that_overruns_skips_missed_slots_instead_of_bursting() {
        let t0 = Instant::now();
        let mut h = DeviceHealth::new(policy(), t0);
        // The first poll took 3.5 intervals (e.g. a slow serial line).
        h.on_success(3500 * MS, t0 + 3500 * MS);
        assert_eq!(h.next_poll_at(), t0 + 4000 * MS);
    }

    #[test]
    fn last_error_is_kept_after_recovery() {
        let t0 = Instant::now();
        let mut h = DeviceHealth::new(policy(), t0);
        h.on_failure("connection refused".into(), t0);
        h.on_success(MS, t0 + 1000 * MS);
        assert_eq!(h.state(), HealthState::Online);
        assert_eq!(h.last_error(), Some("connection refused"));
    }
}
