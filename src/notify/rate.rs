//! The per-receiver send-rate limit, as a pure struct with `now` passed in.
//!
//! Robots count requests per window and punish going over (DingTalk blocks the robot for ten
//! minutes, reference §7.1). A token bucket of rate r and burst b allows b + r·60 requests in
//! some minute, which is more than the vendor's r per minute for any b ≥ 1, so this is a sliding
//! window instead: a request may go when fewer than `max` requests went in the last `span`. The
//! sender waits for [`RateLimit::ready_at`] and records each request it sends; notices that
//! arrive while it waits join the next digest, so the limit delays notices and never drops them.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{ReceiverConfig, ReceiverKind};

/// At most `max` requests in any `span`.
#[derive(Debug, Clone)]
struct Window {
    span: Duration,
    max: usize,
    /// Send times within the last `span`, oldest first (at most `max`).
    sent: VecDeque<Instant>,
}

impl Window {
    fn ready_at(&self, now: Instant) -> Option<Instant> {
        if self.sent.len() < self.max {
            return None;
        }
        let oldest = *self.sent.front()?;
        let at = oldest + self.span;
        (at > now).then_some(at)
    }

    fn record(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.span)
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= self.max {
            self.sent.pop_front();
        }
        self.sent.push_back(now);
    }
}

/// A receiver's rate limit: one or more sliding windows, all of which must allow a request.
#[derive(Debug, Clone, Default)]
pub struct RateLimit {
    windows: Vec<Window>,
}

impl RateLimit {
    /// No limit.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// At most `per_minute` requests in any 60 s (none if 0), and for Feishu also at most 5 in
    /// any second (reference §7.4).
    pub fn for_receiver(receiver: &ReceiverConfig) -> Self {
        let mut limit = Self::unlimited();
        if receiver.rate_per_minute > 0 {
            limit = limit.with(
                Duration::from_secs(60),
                usize::try_from(receiver.rate_per_minute).unwrap_or(usize::MAX),
            );
        }
        if receiver.kind == ReceiverKind::Feishu {
            limit = limit.with(Duration::from_secs(1), 5);
        }
        limit
    }

    /// Adds a window of at most `max` requests per `span` (`max` 0 is taken as 1).
    pub fn with(mut self, span: Duration, max: usize) -> Self {
        let max = max.max(1);
        self.windows.push(Window {
            span,
            max,
            sent: VecDeque::with_capacity(max.min(1024)),
        });
        self
    }

    /// When the next request may go: `None` if now.
    pub fn ready_at(&self, now: Instant) -> Option<Instant> {
        self.windows.iter().filter_map(|w| w.ready_at(now)).max()
    }

    /// Counts a request sent at `now`.
    pub fn record(&mut self, now: Instant) {
        for w in &mut self.windows {
            w.record(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::Secret;

    #[test]
    fn no_more_than_max_requests_go_in_any_window() {
        let t0 = Instant::now();
        let mut limit = RateLimit::unlimited().with(Duration::from_secs(60), 3);
        let mut sent = Vec::new();
        let mut now = t0;
        // Try every 5 s for 5 minutes; send whenever allowed.
        while now < t0 + Duration::from_secs(300) {
            if limit.ready_at(now).is_none() {
                limit.record(now);
                sent.push(now);
            }
            now += Duration::from_secs(5);
        }
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(60))
                .count();
            assert!(in_window <= 3, "{in_window} within a minute of request {i}");
        }
        // 3 per minute over 5 minutes.
        assert_eq!(sent.len(), 15);
    }

    #[test]
    fn a_full_window_says_when_the_next_request_may_go() {
        let t0 = Instant::now();
        let mut limit = RateLimit::unlimited().with(Duration::from_secs(60), 2);
        limit.record(t0);
        limit.record(t0 + Duration::from_secs(10));
        assert_eq!(
            limit.ready_at(t0 + Duration::from_secs(20)),
            Some(t0 + Duration::from_secs(60))
        );
        assert_eq!(limit.ready_at(t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn feishu_is_also_held_to_five_a_second() {
        let r = ReceiverConfig::defaults("f", ReceiverKind::Feishu, Secret::new("http://x/"));
        let mut limit = RateLimit::for_receiver(&r);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(limit.ready_at(t0), None);
            limit.record(t0);
        }
        assert_eq!(limit.ready_at(t0), Some(t0 + Duration::from_secs(1)));
        let mut unlimited = r.clone();
        unlimited.kind = ReceiverKind::Webhook;
        unlimited.rate_per_minute = 0;
        let mut limit = RateLimit::for_receiver(&unlimited);
        for _ in 0..1000 {
            limit.record(t0);
        }
        assert_eq!(limit.ready_at(t0), None);
    }
}
