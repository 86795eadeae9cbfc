//! Alarm notifications: webhook and chat-robot receivers fed from the SQLite outbox.
//!
//! The rules engine commits every alarm change with one outbox row per receiver in the same
//! transaction (`store::alarms`). This module delivers those rows, one task per receiver:
//!
//! - [`format`](mod@format): the request bodies, pure functions: an Alertmanager v4 envelope for webhooks,
//!   one digest message per batch for DingTalk, WeCom, Feishu and Slack.
//! - [`sign`]: webhook HMAC header, DingTalk and Feishu signatures.
//! - [`delivery`]: what an answer means ([`Delivery`]: delivered, retry, reject) and the backoff.
//! - [`rate`]: the per-receiver send-rate limit.
//! - `sender`: the task per receiver, [`spawn`] and [`send_test`].
//!
//! Invariants: a receiver's rows are sent strictly in id order, so the transitions of one
//! alarm arrive in the order they happened. A row is marked delivered only after the receiver
//! accepted the request that carried it, and dead-lettered (with the reason) only when the
//! receiver rejected it for good or its payload cannot be read; every other failure is retried
//! with backoff, forever, with the same rows under the same `Idempotency-Key`, also after a
//! restart, until the receiver's `max_age` or `max_attempts` is reached: then the rows are
//! dead-lettered as given up, so one receiver that never answers cannot hold its later notices
//! forever (the order of what is delivered is kept; what is given up is listed in the API and
//! on the alarms page). Nothing is dropped by rate limiting: rows that wait go into the next
//! digest.

pub mod delivery;
pub mod format;
pub mod rate;
mod sender;
pub mod sign;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use delivery::Delivery;
pub use sender::{Notifier, POLL, TestReply, Waker, http_client, send_test, spawn, test_notice};

use crate::config::pattern;
use crate::config::secret::Secret;
use crate::rules::{Notice, Priority, Transition};

/// What a receiver is, which decides the payload, the signing and how answers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiverKind {
    /// Any HTTP endpoint that takes a Prometheus Alertmanager v4 webhook body (reference §6.1,
    /// §6.7).
    Webhook,
    /// DingTalk custom robot: markdown digest, optional `SEC…` signing (reference §7.2).
    DingTalk,
    /// WeCom (企业微信) group robot: markdown digest (reference §7.3).
    WeCom,
    /// Feishu / Lark custom bot: text digest, optional signing (reference §7.4).
    Feishu,
    /// Slack incoming webhook: text plus one section block (reference §7.5).
    Slack,
}

impl ReceiverKind {
    /// The name used in the config and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::DingTalk => "dingtalk",
            Self::WeCom => "wecom",
            Self::Feishu => "feishu",
            Self::Slack => "slack",
        }
    }

    /// Whether this is a chat robot that gets one digest message per batch.
    pub fn is_chat(self) -> bool {
        !matches!(self, Self::Webhook)
    }

    /// The default send rate per minute: the vendor limit (reference §7.1, §7.7), 600 for
    /// webhooks.
    pub fn default_rate_per_minute(self) -> u32 {
        match self {
            Self::Webhook => 600,
            Self::DingTalk | Self::WeCom => 20,
            Self::Feishu => 100,
            Self::Slack => 60,
        }
    }

    /// The default wait after the oldest pending notice before a request: none for webhooks,
    /// 2 s for chat robots so that a burst of transitions becomes one digest.
    pub fn default_group_wait(self) -> Duration {
        match self {
            Self::Webhook => Duration::ZERO,
            _ => Duration::from_secs(2),
        }
    }
}

impl fmt::Display for ReceiverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notification receiver, validated. The config loader fills it, starting from
/// [`ReceiverConfig::defaults`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    /// The name outbox rows are addressed to.
    pub name: Arc<str>,
    /// What it is.
    pub kind: ReceiverKind,
    /// Where to POST. Robot URLs carry tokens: only `scheme://host` is ever logged.
    pub url: Secret,
    /// Signing secret. Webhook: HMAC-SHA256 of the body in `X-Plcdiag-Signature`; DingTalk and
    /// Feishu: their signing schemes. Ignored by WeCom and Slack, which have none.
    pub secret: Option<Secret>,
    /// Priorities to send; empty sends all.
    pub priorities: Vec<Priority>,
    /// Device name patterns to send; empty sends all.
    pub devices: Vec<String>,
    /// Whether `cleared` and `reset` transitions are sent.
    pub send_resolved: bool,
    /// Transitions to send; empty sends all.
    pub transitions: Vec<Transition>,
    /// Most requests in any 60 s window; 0 means no limit. Feishu is also held to 5 per second.
    pub rate_per_minute: u32,
    /// How long after the oldest pending notice to wait before sending, to gather a batch.
    pub group_wait: Duration,
    /// Most notices per request.
    pub max_batch: usize,
    /// Time limit of one request, answer included.
    pub timeout: Duration,
    /// Base URL of the gateway's UI, for links (`generatorURL`, `externalURL`, digest links).
    pub external_url: Option<String>,
    /// While the receiver fails, a notice older than this is dead-lettered (zero: never).
    pub max_age: Duration,
    /// While the receiver fails, a notice that failed this often is dead-lettered (0: never).
    pub max_attempts: u32,
}

impl ReceiverConfig {
    /// A receiver with the defaults of its kind: everything routed, resolved notices sent,
    /// the vendor's rate, 100 notices per request, 10 s per request.
    pub fn defaults(name: impl Into<Arc<str>>, kind: ReceiverKind, url: Secret) -> Self {
        Self {
            name: name.into(),
            kind,
            url,
            secret: None,
            priorities: Vec::new(),
            devices: Vec::new(),
            send_resolved: true,
            transitions: Vec::new(),
            rate_per_minute: kind.default_rate_per_minute(),
            group_wait: kind.default_group_wait(),
            max_batch: 100,
            timeout: Duration::from_secs(10),
            external_url: None,
            max_age: Duration::from_secs(24 * 3600),
            max_attempts: 0,
        }
    }

    /// Whether `notice` goes to this receiver: its priority, device and transition are selected,
    /// and it is not a resolution when resolutions are not wanted.
    pub fn routes(&self, notice: &Notice) -> bool {
        let resolution = matches!(notice.transition, Transition::Cleared | Transition::Reset);
        (self.send_resolved || !resolution)
            && (self.priorities.is_empty() || self.priorities.contains(&notice.priority))
            && (self.transitions.is_empty() || self.transitions.contains(&notice.transition))
            && pattern::any(&self.devices, &notice.device)
    }

    /// The receiver's URL reduced to `scheme://host[:port]`, safe to log.
    pub fn url_for_logs(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// `scheme://host[:port]` of `url`, or `<invalid url>`: robot URLs carry their token in the path
/// or the query, so nothing after the authority is shown (nor any user info).
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            (None, _) => format!("{}:", u.scheme()),
        },
        Err(_) => "<invalid url>".to_owned(),
    }
}

/// Why a notification could not even be attempted, or a test send failed.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The receiver's URL does not parse (the URL itself is not shown: it may hold a token).
    #[error("receiver {receiver}: the URL is not a valid http(s) URL")]
    BadUrl {
        /// The receiver.
        receiver: Arc<str>,
    },
    /// A header value (the idempotency key) cannot be sent.
    #[error("receiver {receiver}: invalid header value for {header}")]
    BadHeader {
        /// The receiver.
        receiver: Arc<str>,
        /// The header.
        header: &'static str,
    },
    /// The body could not be serialized.
    #[error("receiver {receiver}: cannot serialize the body: {source}")]
    Body {
        /// The receiver.
        receiver: Arc<str>,
        /// Why.
        source: serde_json::Error,
    },
    /// The request failed before an answer came (connect error, timeout, reset); the message
    /// never contains the URL.
    #[error("receiver {receiver} ({host}): {reason}")]
    Transport {
        /// The receiver.
        receiver: Arc<str>,
        /// `scheme://host` of its URL.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

#[cfg(test)]
mod config_tests {
    use super::*;
    use crate::notify::testkit::notice;

    #[test]
    fn defaults_follow_the_vendor_limits() {
        let d = |k| ReceiverConfig::defaults("r", k, Secret::new("https://x.example/"));
        assert_eq!(d(ReceiverKind::DingTalk).rate_per_minute, 20);
        assert_eq!(d(ReceiverKind::WeCom).rate_per_minute, 20);
        assert_eq!(d(ReceiverKind::Feishu).rate_per_minute, 100);
        assert_eq!(d(ReceiverKind::Slack).rate_per_minute, 60);
        assert_eq!(d(ReceiverKind::Webhook).rate_per_minute, 600);
        assert_eq!(d(ReceiverKind::Webhook).group_wait, Duration::ZERO);
        assert_eq!(d(ReceiverKind::Slack).group_wait, Duration::from_secs(2));
        let w = d(ReceiverKind::Webhook);
        assert_eq!((w.max_batch, w.timeout), (100, Duration::from_secs(10)));
        assert!(w.send_resolved);
    }

    #[test]
    fn a_receiver_routes_only_what_it_selects() {
        let mut r = ReceiverConfig::defaults("r", ReceiverKind::Webhook, Secret::new("http://x/"));
        let raised = notice(1, "press-07", Transition::Raised);
        let mut cleared = notice(1, "press-07", Transition::Cleared);
        assert!(r.routes(&raised) && r.routes(&cleared));
        r.send_resolved = false;
        assert!(r.routes(&raised) && !r.routes(&cleared));
        cleared.transition = Transition::Reset;
        assert!(!r.routes(&cleared));
        r.devices = vec!["oven-*".into()];
        assert!(!r.routes(&raised));
        r.devices = vec!["press-*".into()];
        assert!(r.routes(&raised));
        r.priorities = vec![Priority::Critical];
        assert!(!r.routes(&raised));
        r.priorities = vec![raised.priority];
        r.transitions = vec![Transition::Acknowledged];
        assert!(!r.routes(&raised));
        r.transitions.push(Transition::Raised);
        assert!(r.routes(&raised));
    }

    #[test]
    fn urls_are_logged_without_path_query_or_user() {
        assert_eq!(
            redact_url("https://oapi.dingtalk.com/robot/send?access_token=abc"),
            "https://oapi.dingtalk.com"
        );
        assert_eq!(
            redact_url("http://user:pw@127.0.0.1:8080/hook/TOKEN"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(redact_url("not a url"), "<invalid url>");
    }
}
