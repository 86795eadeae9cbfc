//! What an answer means, decided in one place ([`classify`]), and how long to wait before the
//! next attempt ([`Backoff`]), after Vector's `RetryLogic` (`src/sinks/util/retries.rs`).
//!
//! - 2xx is delivered, except a chat robot whose JSON body carries a non-zero `errcode`/`code`:
//!   the robot's rate-limit and busy codes are retried, every other code is rejected.
//! - 408, 429 and 5xx are retried, honouring `Retry-After` (seconds or an HTTP date) and
//!   Feishu's `x-ogw-ratelimit-reset` (seconds).
//! - Connect errors, timeouts and other failures on the way are retried.
//! - Every other status (other 4xx, and 1xx/3xx: redirects are not followed, since a POST that
//!   turned into a GET would look delivered) is rejected: the rows are dead-lettered with the
//!   reason, because sending the same request again would get the same answer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::ReceiverKind;

/// The longest wait a receiver's `Retry-After` or rate-limit reset is allowed to ask for.
pub const MAX_AFTER: Duration = Duration::from_secs(3600);

/// The wait after a robot's rate-limit error code when it gives no time: its window is a minute
/// (reference §7.1).
pub const ROBOT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// What to do with a batch after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver accepted it: mark the rows delivered.
    Delivered,
    /// A temporary failure: send the same batch again, after `after` if the receiver said
    /// when, else after the backoff.
    Retry {
        /// What went wrong (kept as the rows' `last_error`).
        reason: String,
        /// The wait the receiver asked for.
        after: Option<Duration>,
    },
    /// The receiver refused it for good: dead-letter the rows.
    Reject {
        /// Why (kept with the dead-lettered rows).
        reason: String,
    },
}

/// How a request failed before an answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// No connection (refused, unreachable, DNS, TLS handshake).
    Connect,
    /// No complete answer within the receiver's timeout.
    Timeout,
    /// The request could not be built (a bad URL or header): it will never work as it is.
    Build,
    /// Anything else on the way (reset, broken body).
    Other,
}

/// A request that got no answer; the message never contains the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// The error text, without the URL.
    pub message: String,
}

impl TransportError {
    /// Classifies a `reqwest` error and keeps its text with the URL removed (robot URLs hold
    /// tokens), including its sources.
    pub fn from_reqwest(e: reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TransportErrorKind::Timeout
        } else if e.is_builder() {
            TransportErrorKind::Build
        } else if e.is_connect() {
            TransportErrorKind::Connect
        } else {
            TransportErrorKind::Other
        };
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self { kind, message }
    }
}

/// One attempt's result, as [`classify`] reads it.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The receiver answered.
    Answer {
        /// HTTP status code.
        status: u16,
        /// Response headers.
        headers: &'a HeaderMap,
        /// Response body (possibly cut to a size limit).
        body: &'a [u8],
    },
    /// No answer came.
    Failed(&'a TransportError),
}

/// Robot error codes that mean "too fast" or "busy, try again", per kind. DingTalk: 130101 "send
/// too fast", 410100 "flow-limited"; WeCom: 45009 "api freq out of limit", 130101 "send too fast"
/// (reference §7.3), -1 "system busy"; Feishu: 11232 (reference §7.4), 9499 "too many requests".
/// Only 130101 (WeCom) and 11232 (Feishu) are in the reference; the others are from the vendors'
/// error-code lists as commonly quoted and unconfirmed.
fn robot_retry_code(kind: ReceiverKind, code: i64) -> bool {
    match kind {
        ReceiverKind::DingTalk => matches!(code, 130101 | 410100 | -1),
        ReceiverKind::WeCom => matches!(code, 45009 | 130101 | -1),
        ReceiverKind::Feishu => matches!(code, 11232 | 9499),
        ReceiverKind::Webhook | ReceiverKind::Slack => false,
    }
}

/// The robot's error code and message from its JSON answer, if it is a robot that answers that
/// way and the body says so. DingTalk and WeCom: `errcode`/`errmsg`; Feishu: `code`/`msg` (older
/// bots: `StatusCode`/`StatusMessage`).
fn robot_code(kind: ReceiverKind, body: &[u8]) -> Option<(i64, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let (code, msg) = match kind {
        ReceiverKind::DingTalk | ReceiverKind::WeCom => ("errcode", "errmsg"),
        ReceiverKind::Feishu if v.get("code").is_some() => ("code", "msg"),
        ReceiverKind::Feishu => ("StatusCode", "StatusMessage"),
        ReceiverKind::Webhook | ReceiverKind::Slack => return None,
    };
    let code = v.get(code)?.as_i64()?;
    let msg = v.get(msg).and_then(|m| m.as_str()).unwrap_or("").to_owned();
    Some((code, msg))
}

/// The wait a receiver asked for: `Retry-After` as seconds or as an HTTP date, else Feishu's
/// `x-ogw-ratelimit-reset` seconds; capped at [`MAX_AFTER`].
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let after = if let Some(v) = text("retry-after") {
        if let Ok(secs) = v.parse::<u64>() {
            Some(Duration::from_secs(secs))
        } else {
            let at = DateTime::parse_from_rfc2822(v).ok()?;
            Some(
                (at.with_timezone(&Utc) - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO),
            )
        }
    } else {
        text("x-ogw-ratelimit-reset")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs)
    };
    after.map(|a| a.min(MAX_AFTER))
}

/// Text of a body for a reason: at most 200 characters, one line.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one_line.trim().to_owned()
}

/// Decides what an attempt's outcome means for a receiver of `kind`. `now` reads `Retry-After`
/// dates.
pub fn classify(kind: ReceiverKind, outcome: Outcome<'_>, now: DateTime<Utc>) -> Delivery {
    let (status, headers, body) = match outcome {
        Outcome::Failed(e) => {
            let reason = match e.kind {
                TransportErrorKind::Connect => format!("connect failed: {}", e.message),
                TransportErrorKind::Timeout => format!("timed out: {}", e.message),
                TransportErrorKind::Build => {
                    return Delivery::Reject {
                        reason: format!("invalid request: {}", e.message),
                    };
                }
                TransportErrorKind::Other => format!("request failed: {}", e.message),
            };
            return Delivery::Retry {
                reason,
                after: None,
            };
        }
        Outcome::Answer {
            status,
            headers,
            body,
        } => (status, headers, body),
    };
    if let Some((code, msg)) = robot_code(kind, body).filter(|(code, _)| *code != 0) {
        let reason = format!("HTTP {status}, {kind} error {code}: {msg}");
        if robot_retry_code(kind, code) {
            let after = retry_after(headers, now).or(Some(ROBOT_RATE_LIMIT_WAIT));
            return Delivery::Retry { reason, after };
        }
        if (200..300).contains(&status) || (400..500).contains(&status) {
            return Delivery::Reject { reason };
        }
    }
    match status {
        200..=299 => Delivery::Delivered,
        408 | 429 | 500..=599 => Delivery::Retry {
            reason: format!("HTTP {status}: {}", snippet(body)),
            after: retry_after(headers, now),
        },
        300..=399 => Delivery::Reject {
            reason: format!("HTTP {status}: redirect not followed"),
        },
        _ => Delivery::Reject {
            reason: format!("HTTP {status}: {}", snippet(body)),
        },
    }
}

/// Exponential backoff from [`Backoff::BASE`], doubling to [`Backoff::CAP`], each delay drawn
/// uniformly from its upper half (so it never collapses to zero, and retries of many receivers
/// spread out).
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The first delay's upper bound.
    pub const BASE: Duration = Duration::from_secs(1);
    /// The longest delay.
    pub const CAP: Duration = Duration::from_secs(60);

    /// A backoff before its first retry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The upper bound of the delay after `attempt` failures before (0-based):
    /// `min(BASE * 2^attempt, CAP)`.
    pub fn ceiling(attempt: u32) -> Duration {
        Self::BASE
            .checked_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .map_or(Self::CAP, |d| d.min(Self::CAP))
    }

    /// The delay for `attempt` with `jitter` in `[0, 1]`: between half the ceiling and the
    /// ceiling.
    pub fn delay(attempt: u32, jitter: f64) -> Duration {
        let ceiling = Self::ceiling(attempt);
        ceiling.div_f64(2.0) + ceiling.div_f64(2.0).mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The next delay, with fresh jitter, and one more attempt counted.
    pub fn next_delay(&mut self) -> Duration {
        let d = Self::delay(self.attempt, fastrand::f64());
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// Failures counted so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        crate::notify::testkit::t0()
    }

    fn answer(
        kind: ReceiverKind,
        status: u16,
        headers: &[(&'static str, &str)],
        body: &str,
    ) -> Delivery {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        classify(
            kind,
            Outcome::Answer {
                status,
                headers: &h,
                body: body.as_bytes(),
            },
            now(),
        )
    }

    fn kind_of(d: &Delivery) -> &'static str {
        match d {
            Delivery::Delivered => "delivered",
            Delivery::Retry { .. } => "retry",
            Delivery::Reject { .. } => "reject",
        }
    }

    #[test]
    fn every_outcome_is_classified_as_the_table_says() {
        use ReceiverKind::*;
        let dt_ok = r#"{"errcode":0,"errmsg":"ok"}"#;
        let table: &[(ReceiverKind, u16, &str, &str)] = &[
            (Webhook, 200, "", "delivered"),
            (Webhook, 204, "", "delivered"),
            (Webhook, 202, "not json at all", "delivered"),
            (Webhook, 408, "", "retry"),
            (Webhook, 429, "", "retry"),
            (Webhook, 500, "", "retry"),
            (Webhook, 502, "", "retry"),
            (Webhook, 503, "", "retry"),
            (Webhook, 400, "bad", "reject"),
            (Webhook, 401, "", "reject"),
            (Webhook, 403, "", "reject"),
            (Webhook, 404, "", "reject"),
            (Webhook, 413, "", "reject"),
            (Webhook, 301, "", "reject"),
            (Webhook, 200, r#"{"errcode":130101}"#, "delivered"),
            (DingTalk, 200, dt_ok, "delivered"),
            (
                DingTalk,
                200,
                r#"{"errcode":130101,"errmsg":"send too fast"}"#,
                "retry",
            ),
            (
                DingTalk,
                200,
                r#"{"errcode":410100,"errmsg":"flow limited"}"#,
                "retry",
            ),
            (
                DingTalk,
                200,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#,
                "reject",
            ),
            (
                DingTalk,
                200,
                r#"{"errcode":300001,"errmsg":"token is not exist"}"#,
                "reject",
            ),
            (DingTalk, 500, dt_ok, "retry"),
            (WeCom, 200, dt_ok, "delivered"),
            (
                WeCom,
                200,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
                "retry",
            ),
            (
                WeCom,
                200,
                r#"{"errcode":130101,"errmsg":"send too fast"}"#,
                "retry",
            ),
            (
                WeCom,
                200,
                r#"{"errcode":-1,"errmsg":"system busy"}"#,
                "retry",
            ),
            (
                WeCom,
                200,
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#,
                "reject",
            ),
            (
                Feishu,
                200,
                r#"{"code":0,"msg":"success","data":{}}"#,
                "delivered",
            ),
            (
                Feishu,
                200,
                r#"{"StatusCode":0,"StatusMessage":"success"}"#,
                "delivered",
            ),
            (
                Feishu,
                200,
                r#"{"code":11232,"msg":"frequency limited"}"#,
                "retry",
            ),
            (
                Feishu,
                400,
                r#"{"code":9499,"msg":"Too Many Request"}"#,
                "retry",
            ),
            (
                Feishu,
                200,
                r#"{"code":19021,"msg":"sign match fail"}"#,
                "reject",
            ),
            (
                Feishu,
                400,
                r#"{"code":19001,"msg":"param invalid"}"#,
                "reject",
            ),
            (Feishu, 429, "", "retry"),
            (Slack, 200, "ok", "delivered"),
            (Slack, 400, "invalid_payload", "reject"),
            (Slack, 404, "no_service", "reject"),
            (Slack, 429, "", "retry"),
        ];
        for (kind, status, body, want) in table {
            let got = answer(*kind, *status, &[], body);
            assert_eq!(kind_of(&got), *want, "{kind} {status} {body}: {got:?}");
        }
    }

    #[test]
    fn a_rejection_keeps_the_status_and_the_answer() {
        let d = answer(ReceiverKind::Webhook, 400, &[], "missing field `alerts`\n");
        assert_eq!(
            d,
            Delivery::Reject {
                reason: "HTTP 400: missing field `alerts`".into()
            }
        );
        let d = answer(
            ReceiverKind::DingTalk,
            200,
            &[],
            r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
        );
        assert_eq!(
            d,
            Delivery::Reject {
                reason: "HTTP 200, dingtalk error 310000: keywords not in content".into()
            }
        );
    }

    #[test]
    fn transport_failures_are_retried_but_a_request_that_cannot_be_built_is_not() {
        for (kind, want) in [
            (TransportErrorKind::Connect, "retry"),
            (TransportErrorKind::Timeout, "retry"),
            (TransportErrorKind::Other, "retry"),
            (TransportErrorKind::Build, "reject"),
        ] {
            let e = TransportError {
                kind,
                message: "x".into(),
            };
            let got = classify(ReceiverKind::Webhook, Outcome::Failed(&e), now());
            assert_eq!(kind_of(&got), want, "{kind:?}");
        }
    }

    #[test]
    fn retry_after_and_the_feishu_reset_header_set_the_wait() {
        let after = |headers: &[(&'static str, &str)], status, body| match answer(
            ReceiverKind::Feishu,
            status,
            headers,
            body,
        ) {
            Delivery::Retry { after, .. } => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            after(&[("retry-after", "7")], 429, ""),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            after(&[("retry-after", "Mon, 02 Mar 2026 07:14:35 GMT")], 503, ""),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            after(&[("retry-after", "Mon, 02 Mar 2026 07:00:00 GMT")], 503, ""),
            Some(Duration::ZERO)
        );
        assert_eq!(
            after(&[("x-ogw-ratelimit-reset", "12")], 429, ""),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            after(&[("retry-after", "999999")], 429, ""),
            Some(MAX_AFTER)
        );
        assert_eq!(after(&[("retry-after", "soon")], 429, ""), None);
        assert_eq!(after(&[], 500, ""), None);
        // A robot's rate-limit code without a header waits out the robot's minute.
        assert_eq!(
            after(&[], 200, r#"{"code":11232,"msg":"busy"}"#),
            Some(ROBOT_RATE_LIMIT_WAIT)
        );
    }

    #[test]
    fn backoff_doubles_from_one_second_up_to_a_minute_within_its_jitter() {
        let secs = |a| Backoff::ceiling(a).as_secs();
        let ceilings: Vec<u64> = (0..9).map(secs).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(Backoff::ceiling(u32::MAX), Backoff::CAP);
        assert_eq!(Backoff::delay(0, 0.0), Duration::from_millis(500));
        assert_eq!(Backoff::delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(Backoff::delay(3, 0.5), Duration::from_secs(6));
        assert_eq!(Backoff::delay(40, 1.0), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_sleeps_grow_exponentially_and_stay_capped_in_paused_time() {
        let mut b = Backoff::new();
        let mut slept = Vec::new();
        for _ in 0..12 {
            let start = tokio::time::Instant::now();
            tokio::time::sleep(b.next_delay()).await;
            slept.push(start.elapsed());
        }
        for (attempt, d) in (0u32..).zip(&slept) {
            let ceiling = Backoff::ceiling(attempt);
            assert!(
                *d >= ceiling / 2 && *d <= ceiling,
                "attempt {attempt}: {d:?}"
            );
        }
        assert!(slept.iter().all(|d| *d <= Backoff::CAP));
        assert_eq!(b.attempts(), 12);
        // The jitter is drawn afresh: twelve delays are not all at their ceilings' midpoint.
        let midpoints = (0u32..)
            .zip(&slept)
            .filter(|(a, d)| **d == Backoff::ceiling(*a).mul_f64(0.75))
            .count();
        assert!(midpoints < 12);
    }
}
