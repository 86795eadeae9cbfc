//! Request bodies, as pure functions of the receiver and a batch of notices.
//!
//! Webhooks get a Prometheus Alertmanager v4 envelope (reference §6.1) with plcdiag's OT fields
//! (§6.7): one alert per notice, in outbox order, identity in `labels` (so the fingerprint is
//! stable across an alarm's transitions) and everything that changes in `annotations`.
//!
//! Chat robots get one digest message per batch (§7.7): a header with counts by transition, then
//! one line per notice. When the digest would pass the robot's size limit, the lines that do not
//! fit are left out and counted in a last line; those notices are still delivered (the header
//! counts them), so nothing is silently lost.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::sign;
use super::{ReceiverConfig, ReceiverKind};
use crate::rules::{Notice, Transition};

/// `endsAt` of an alert that is still firing: Go's zero time, as Alertmanager sends it.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The Alertmanager v4 webhook body (reference §6.1, §6.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerMessage {
    /// Always `"4"`.
    pub version: &'static str,
    /// `{}/{receiver="<name>"}:{}`: plcdiag groups by receiver only, so the key is stable.
    pub group_key: String,
    /// Always 0: a batch is never truncated (`max_batch` bounds it instead).
    pub truncated_alerts: u32,
    /// `firing` if any alert of the batch is active, else `resolved`.
    pub status: &'static str,
    /// The receiver's name.
    pub receiver: String,
    /// Empty: batches are formed in outbox order, not by labels.
    pub group_labels: BTreeMap<String, String>,
    /// The labels every alert of the batch has with the same value.
    pub common_labels: BTreeMap<String, String>,
    /// The annotations every alert of the batch has with the same value.
    pub common_annotations: BTreeMap<String, String>,
    /// The gateway UI's base URL, or empty.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// One per notice, in outbox order.
    pub alerts: Vec<Alert>,
}

/// One alert of an [`AlertmanagerMessage`]: one notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` while the condition is active, else `resolved`.
    pub status: &'static str,
    /// Identity: `alertname` (the rule), `device`, `driver`, `priority`.
    pub labels: BTreeMap<String, String>,
    /// What changes: `summary`, `isa_state`, `transition`, `alarm_id`, `journal_id`, `ack_by`,
    /// `ack_at`, `note`, `values` (JSON text).
    pub annotations: BTreeMap<String, String>,
    /// When the activation was raised (RFC 3339).
    pub starts_at: String,
    /// When it cleared, or [`ZERO_TIME`] while firing.
    pub ends_at: String,
    /// Link to the alarm in the gateway UI, or empty.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager's fingerprint of the labels: FNV-1a 64 over the sorted pairs, 16 hex digits.
    pub fingerprint: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The labels' fingerprint as Prometheus computes it (`model.LabelSet.Fingerprint`): FNV-1a 64
/// over each name and value in name order, each followed by the separator byte 0xff.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        add(name.as_bytes());
        add(value.as_bytes());
    }
    format!("{h:016x}")
}

fn base_url(receiver: &ReceiverConfig) -> Option<&str> {
    receiver
        .external_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'))
        .filter(|u| !u.is_empty())
}

/// The alarms page of the gateway's UI filtered to this alarm's device and rule: where a
/// person who follows the link sees it with its journal and can acknowledge it.
fn alarm_page(base: &str, n: &Notice) -> Option<String> {
    let mut url = reqwest::Url::parse(&format!("{base}/alarms")).ok()?;
    url.query_pairs_mut()
        .append_pair("device", &n.device)
        .append_pair("rule", &n.rule);
    Some(url.into())
}

/// Who acknowledged or reset the alarm in this transition, if it was that kind of transition.
fn ack_by(n: &Notice) -> Option<&str> {
    matches!(n.transition, Transition::Acknowledged | Transition::Reset)
        .then_some(n.user.as_deref())
        .flatten()
}

fn alert(receiver: &ReceiverConfig, n: &Notice) -> Alert {
    let labels: BTreeMap<String, String> = [
        ("alertname", n.rule.clone()),
        ("device", n.device.clone()),
        ("driver", n.driver.clone()),
        ("priority", n.priority.as_str().to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let ack_at = if ack_by(n).is_some() || n.transition == Transition::Acknowledged {
        rfc3339(n.at)
    } else {
        String::new()
    };
    let annotations: BTreeMap<String, String> = [
        ("summary", n.message.clone()),
        ("isa_state", n.state.as_str().to_owned()),
        ("transition", n.transition.as_str().to_owned()),
        ("alarm_id", n.alarm_id.to_string()),
        ("journal_id", n.journal_id.to_string()),
        ("ack_by", ack_by(n).unwrap_or("").to_owned()),
        ("ack_at", ack_at),
        ("note", n.note.clone().unwrap_or_default()),
        ("values", n.values.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let ends_at = if n.active {
        ZERO_TIME.to_owned()
    } else {
        rfc3339(n.cleared_at.unwrap_or(n.at))
    };
    Alert {
        status: if n.active { "firing" } else { "resolved" },
        fingerprint: fingerprint(&labels),
        labels,
        annotations,
        starts_at: rfc3339(n.raised_at),
        ends_at,
        generator_url: base_url(receiver)
            .and_then(|u| alarm_page(u, n))
            .unwrap_or_default(),
    }
}

/// The pairs that every map has with the same value.
fn common(maps: &[&BTreeMap<String, String>]) -> BTreeMap<String, String> {
    let Some((first, rest)) = maps.split_first() else {
        return BTreeMap::new();
    };
    first
        .iter()
        .filter(|(k, v)| rest.iter().all(|m| m.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The Alertmanager v4 body for a batch: one alert per notice, in the given order.
pub fn alertmanager(receiver: &ReceiverConfig, notices: &[Notice]) -> AlertmanagerMessage {
    let alerts: Vec<Alert> = notices.iter().map(|n| alert(receiver, n)).collect();
    let labels: Vec<_> = alerts.iter().map(|a| &a.labels).collect();
    let annotations: Vec<_> = alerts.iter().map(|a| &a.annotations).collect();
    AlertmanagerMessage {
        version: "4",
        group_key: format!("{{}}/{{receiver={:?}}}:{{}}", &*receiver.name),
        truncated_alerts: 0,
        status: if notices.iter().any(|n| n.active) {
            "firing"
        } else {
            "resolved"
        },
        receiver: receiver.name.to_string(),
        group_labels: BTreeMap::new(),
        common_labels: common(&labels),
        common_annotations: common(&annotations),
        external_url: base_url(receiver).unwrap_or("").to_owned(),
        alerts,
    }
}

/// A size limit of a chat message's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many UTF-8 bytes.
    Bytes(usize),
    /// At most this many characters (Unicode scalar values).
    Chars(usize),
}

impl Limit {
    fn measure(self, s: &str) -> usize {
        match self {
            Self::Bytes(_) => s.len(),
            Self::Chars(_) => s.chars().count(),
        }
    }

    fn max(self) -> usize {
        match self {
            Self::Bytes(n) | Self::Chars(n) => n,
        }
    }

    /// The longest prefix of `s` within `max` units, cut at a character boundary.
    fn prefix(self, s: &str, max: usize) -> &str {
        let end = match self {
            Self::Bytes(_) => {
                let mut end = max.min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                end
            }
            Self::Chars(_) => s.char_indices().nth(max).map_or(s.len(), |(i, _)| i),
        };
        s.get(..end).unwrap_or("")
    }
}

/// The text limit of a robot's digest. DingTalk documents none in the reference, so WeCom's
/// 4096 bytes is used for both; Feishu's is its 20 KB body limit less room for the JSON and the
/// signature; Slack's is a section block's 3000 characters.
pub fn digest_limit(kind: ReceiverKind) -> Limit {
    match kind {
        ReceiverKind::DingTalk | ReceiverKind::WeCom => Limit::Bytes(4096),
        ReceiverKind::Feishu => Limit::Bytes(16 * 1024),
        ReceiverKind::Slack => Limit::Chars(3000),
        ReceiverKind::Webhook => Limit::Bytes(usize::MAX),
    }
}

/// The most of one notice's line shown in a digest, so that one huge message cannot push every
/// other notice out.
const LINE_MAX: usize = 400;

/// How a digest is marked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// DingTalk and WeCom markdown.
    Markdown,
    /// Slack mrkdwn (`*bold*`, `<url|text>`, `&`, `<`, `>` escaped).
    Slack,
    /// Plain text (Feishu `text` messages).
    Plain,
}

impl Markup {
    fn of(kind: ReceiverKind) -> Self {
        match kind {
            ReceiverKind::DingTalk | ReceiverKind::WeCom => Self::Markdown,
            ReceiverKind::Slack => Self::Slack,
            ReceiverKind::Feishu | ReceiverKind::Webhook => Self::Plain,
        }
    }

    fn text(self, s: &str) -> String {
        let one_line = s.replace(['\r', '\n'], " ");
        match self {
            Self::Slack => one_line
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
            Self::Markdown | Self::Plain => one_line,
        }
    }

    fn bold(self, s: &str) -> String {
        match self {
            Self::Markdown => format!("**{s}**"),
            Self::Slack => format!("*{s}*"),
            Self::Plain => s.to_owned(),
        }
    }
}

/// `N notices: 2 raised, 1 cleared`, transitions in order of first appearance.
pub fn counts_by_transition(notices: &[Notice]) -> String {
    let mut counts: Vec<(Transition, usize)> = Vec::new();
    for n in notices {
        match counts.iter_mut().find(|(t, _)| *t == n.transition) {
            Some((_, c)) => *c += 1,
            None => counts.push((n.transition, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(t, c)| format!("{c} {}", t.as_str().replace('_', " ")))
        .collect();
    let noun = if notices.len() == 1 {
        "notice"
    } else {
        "notices"
    };
    format!("{} {noun}: {}", notices.len(), parts.join(", "))
}

fn digest_line(markup: Markup, n: &Notice) -> String {
    let mut line = format!(
        "{} {} · {} · {} · {} · {}",
        markup.bold(&n.priority.as_str().to_uppercase()),
        markup.text(&n.device),
        n.transition.as_str().replace('_', " "),
        markup.text(&n.message),
        n.state.as_str().replace('_', " "),
        n.at.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    if let Some(user) = &n.user {
        line.push_str(&format!(" · {}", markup.text(user)));
    }
    let bullet = match markup {
        Markup::Markdown => "- ",
        Markup::Slack => "• ",
        Markup::Plain => "",
    };
    let limit = Limit::Chars(LINE_MAX);
    if limit.measure(&line) > LINE_MAX {
        line = format!("{}…", limit.prefix(&line, LINE_MAX - 1));
    }
    format!("{bullet}{line}")
}

fn more_line(markup: Markup, omitted: usize) -> String {
    markup.text(&format!(
        "… and {omitted} more not listed here (counted above, delivered with this message)"
    ))
}

/// The digest of a batch for a chat robot: a header with counts by transition, one line per
/// notice, a link to the gateway when its URL is known, all within `limit`. Lines that do not
/// fit are replaced by one `… and N more` line.
pub fn digest(receiver: &ReceiverConfig, notices: &[Notice], limit: Limit) -> String {
    let markup = Markup::of(receiver.kind);
    let title = format!("plcdiag · {}", markup.text(&receiver.name));
    let counts = counts_by_transition(notices);
    let header = match markup {
        Markup::Markdown => format!("#### {title}\n\n{}\n\n", markup.bold(&counts)),
        Markup::Slack => format!("{}: {counts}\n", markup.bold(&title)),
        Markup::Plain => format!("{title}: {counts}\n"),
    };
    let footer = match (base_url(receiver), markup) {
        (None, _) => String::new(),
        (Some(u), Markup::Markdown) => format!("\n[Open plcdiag]({u}/alarms)"),
        (Some(u), Markup::Slack) => format!("\n<{u}/alarms|Open plcdiag>"),
        (Some(u), Markup::Plain) => format!("\n{u}/alarms"),
    };
    let reserve = limit.measure(&more_line(markup, notices.len())) + 1 + limit.measure(&footer);
    let mut out = header;
    let mut shown = 0;
    for (i, n) in notices.iter().enumerate() {
        let line = digest_line(markup, n);
        let last = i + 1 == notices.len();
        let room = if last {
            limit.measure(&footer)
        } else {
            reserve
        };
        if limit.measure(&out) + limit.measure(&line) + 1 + room > limit.max() {
            break;
        }
        out.push_str(&line);
        out.push('\n');
        shown += 1;
    }
    if shown < notices.len() {
        out.push_str(&more_line(markup, notices.len() - shown));
        out.push('\n');
    }
    out.push_str(&footer);
    let out = out.trim_end().to_owned();
    // Only a receiver name longer than the limit gets here; cut rather than be refused.
    if limit.measure(&out) > limit.max() {
        return limit.prefix(&out, limit.max()).to_owned();
    }
    out
}

/// The JSON body of a request carrying `notices` to `receiver`. `now` is the signing time of
/// Feishu's body signature; webhooks and the other robots do not use it here.
pub fn body(
    receiver: &ReceiverConfig,
    notices: &[Notice],
    now: DateTime<Utc>,
) -> serde_json::Value {
    use serde_json::json;
    let kind = receiver.kind;
    if kind == ReceiverKind::Webhook {
        // Serializing this struct cannot fail: string keys and plain values only.
        return serde_json::to_value(alertmanager(receiver, notices))
            .unwrap_or(serde_json::Value::Null);
    }
    let text = digest(receiver, notices, digest_limit(kind));
    match kind {
        ReceiverKind::DingTalk => json!({
            "msgtype": "markdown",
            "markdown": {
                "title": format!("plcdiag: {}", counts_by_transition(notices)),
                "text": text,
            },
        }),
        ReceiverKind::WeCom => json!({"msgtype": "markdown", "markdown": {"content": text}}),
        ReceiverKind::Feishu => {
            let mut v = json!({"msg_type": "text", "content": {"text": text}});
            if let (Some(secret), Some(obj)) = (&receiver.secret, v.as_object_mut()) {
                let ts = now.timestamp();
                obj.insert("timestamp".into(), json!(ts.to_string()));
                obj.insert("sign".into(), json!(sign::feishu_sign(secret.expose(), ts)));
            }
            v
        }
        ReceiverKind::Slack => {
            let fallback = format!(
                "plcdiag · {}: {}",
                Markup::Slack.text(&receiver.name),
                counts_by_transition(notices)
            );
            json!({
                "text": fallback,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
        ReceiverKind::Webhook => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::Secret;
    use crate::notify::testkit::notice;
    use crate::rules::Priority;
    use serde_json::Value;

    fn receiver(kind: ReceiverKind) -> ReceiverConfig {
        let mut r = ReceiverConfig::defaults("maintenance", kind, Secret::new("http://x/"));
        r.external_url = Some("http://gw-01.example:8080/".into());
        r
    }

    fn webhook_json(notices: &[Notice]) -> Value {
        serde_json::to_value(alertmanager(&receiver(ReceiverKind::Webhook), notices))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
        path.split('.').fold(v, |v, k| match k.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[k],
        })
    }

    #[test]
    fn links_go_to_the_alarms_page_under_the_base_path_with_the_names_encoded() {
        let mut r = receiver(ReceiverKind::Webhook);
        r.external_url = Some("https://scada.example/plcdiag".into());
        let mut n = notice(7, "line 3 press&co", Transition::Raised);
        n.rule = "cpu_stop".into();
        let v = serde_json::to_value(alertmanager(&r, &[n])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            get(&v, "alerts.0.generatorURL"),
            "https://scada.example/plcdiag/alarms?device=line+3+press%26co&rule=cpu_stop"
        );
    }

    #[test]
    fn the_webhook_body_is_an_alertmanager_v4_envelope() {
        let mut raised = notice(7, "press-07", Transition::Raised);
        raised.journal_id = 41;
        let v = webhook_json(&[raised.clone()]);
        let s = |p: &str| get(&v, p).as_str().unwrap_or_else(|| panic!("{p}: {v}"));
        assert_eq!(s("version"), "4");
        assert_eq!(s("groupKey"), r#"{}/{receiver="maintenance"}:{}"#);
        assert_eq!(get(&v, "truncatedAlerts"), 0);
        assert_eq!(s("status"), "firing");
        assert_eq!(s("receiver"), "maintenance");
        assert_eq!(get(&v, "groupLabels"), &serde_json::json!({}));
        assert_eq!(s("externalURL"), "http://gw-01.example:8080");
        assert_eq!(s("commonLabels.device"), "press-07");
        assert_eq!(s("commonAnnotations.transition"), "raised");
        assert_eq!(s("alerts.0.status"), "firing");
        assert_eq!(s("alerts.0.labels.alertname"), "cpu_stop");
        assert_eq!(s("alerts.0.labels.device"), "press-07");
        assert_eq!(s("alerts.0.labels.driver"), "s7");
        assert_eq!(s("alerts.0.labels.priority"), "high");
        assert_eq!(s("alerts.0.annotations.summary"), raised.message);
        assert_eq!(s("alerts.0.annotations.isa_state"), "unacknowledged");
        assert_eq!(s("alerts.0.annotations.alarm_id"), "7");
        assert_eq!(s("alerts.0.annotations.journal_id"), "41");
        assert_eq!(s("alerts.0.annotations.ack_by"), "");
        assert_eq!(s("alerts.0.annotations.ack_at"), "");
        assert_eq!(s("alerts.0.annotations.note"), "");
        let values: Value = serde_json::from_str(s("alerts.0.annotations.values"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(values["event"], "0x4304");
        assert_eq!(s("alerts.0.startsAt"), "2026-03-02T07:14:05Z");
        assert_eq!(s("alerts.0.endsAt"), ZERO_TIME);
        assert_eq!(
            s("alerts.0.generatorURL"),
            "http://gw-01.example:8080/alarms?device=press-07&rule=cpu_stop"
        );
        assert_eq!(s("alerts.0.fingerprint").len(), 16);
    }

    #[test]
    fn a_batch_keeps_every_transition_of_an_alarm_in_order() {
        let batch = [
            notice(3, "press-07", Transition::Raised),
            notice(3, "press-07", Transition::Acknowledged),
            notice(3, "press-07", Transition::Cleared),
        ];
        let v = webhook_json(&batch);
        let alerts = v["alerts"].as_array().map_or(0, Vec::len);
        assert_eq!(alerts, 3);
        let t: Vec<&str> = (0..3)
            .filter_map(|i| v["alerts"][i]["annotations"]["transition"].as_str())
            .collect();
        assert_eq!(t, ["raised", "acknowledged", "cleared"]);
        // Any active alert makes the batch firing; the cleared one is resolved with its end.
        assert_eq!(v["status"], "firing");
        assert_eq!(v["alerts"][2]["status"], "resolved");
        assert_eq!(v["alerts"][2]["endsAt"], "2026-03-02T07:14:08Z");
        assert_eq!(v["alerts"][1]["annotations"]["ack_by"], "li.wei");
        assert_eq!(
            v["alerts"][1]["annotations"]["ack_at"],
            "2026-03-02T07:14:08Z"
        );
        assert_eq!(v["alerts"][1]["annotations"]["note"], "checked on site");
        // Annotations that differ are not common; labels are.
        assert!(v["commonAnnotations"].get("transition").is_none());
        assert_eq!(v["commonLabels"]["alertname"], "cpu_stop");
    }

    #[test]
    fn a_batch_of_resolutions_is_resolved() {
        let v = webhook_json(&[notice(3, "press-07", Transition::Cleared)]);
        assert_eq!(v["status"], "resolved");
    }

    #[test]
    fn the_fingerprint_is_stable_across_an_alarms_transitions() {
        let a = webhook_json(&[
            notice(3, "press-07", Transition::Raised),
            notice(3, "press-07", Transition::Acknowledged),
            notice(3, "press-07", Transition::Cleared),
        ]);
        let b = webhook_json(&[notice(4, "press-08", Transition::Raised)]);
        let f = |v: &Value, i: usize| v["alerts"][i]["fingerprint"].as_str().map(str::to_owned);
        assert_eq!(f(&a, 0), f(&a, 1));
        assert_eq!(f(&a, 0), f(&a, 2));
        assert_ne!(f(&a, 0), f(&b, 0));
    }

    #[test]
    fn the_fingerprint_is_the_one_prometheus_computes() {
        // Computed once with Python, following prometheus/common model.labelSetToFingerprint:
        //   h = 0xcbf29ce484222325
        //   for k in sorted(labels): for b in k.encode() + b"\xff" + labels[k].encode() + b"\xff":
        //       h = ((h ^ b) * 0x100000001b3) % 2**64
        //   "%016x" % h
        let labels: BTreeMap<String, String> = [
            ("alertname", "cpu_stop"),
            ("device", "press-07"),
            ("driver", "s7"),
            ("priority", "high"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(fingerprint(&labels), "4b14faf6f338979c");
    }

    fn parse(v: &Value) -> &str {
        v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
    }

    #[test]
    fn each_robot_gets_its_documented_json_shape() {
        let batch = [
            notice(1, "press-07", Transition::Raised),
            notice(2, "press-08", Transition::Raised),
            notice(1, "press-07", Transition::Cleared),
        ];
        let now = crate::notify::testkit::t0();
        let d = body(&receiver(ReceiverKind::DingTalk), &batch, now);
        assert_eq!(d["msgtype"], "markdown");
        assert!(
            parse(&d["markdown"]["title"]).starts_with("plcdiag: 3 notices: 2 raised, 1 cleared")
        );
        let text = parse(&d["markdown"]["text"]);
        assert!(
            text.contains("**3 notices: 2 raised, 1 cleared**"),
            "{text}"
        );
        assert_eq!(text.matches("- **HIGH** ").count(), 3, "{text}");
        assert!(
            text.ends_with("[Open plcdiag](http://gw-01.example:8080/alarms)"),
            "{text}"
        );

        let w = body(&receiver(ReceiverKind::WeCom), &batch, now);
        assert_eq!(w["msgtype"], "markdown");
        assert!(parse(&w["markdown"]["content"]).contains("press-08"));

        let mut feishu = receiver(ReceiverKind::Feishu);
        let f = body(&feishu, &batch, now);
        assert_eq!(f["msg_type"], "text");
        assert!(parse(&f["content"]["text"]).starts_with("plcdiag · maintenance: 3 notices"));
        assert!(f.get("sign").is_none());
        feishu.secret = Some(Secret::new("feishu-secret"));
        let f = body(&feishu, &batch, now);
        assert_eq!(f["timestamp"], now.timestamp().to_string());
        assert_eq!(
            parse(&f["sign"]),
            sign::feishu_sign("feishu-secret", now.timestamp())
        );

        let s = body(&receiver(ReceiverKind::Slack), &batch, now);
        assert!(parse(&s["text"]).contains("3 notices"));
        assert_eq!(s["blocks"][0]["type"], "section");
        assert_eq!(s["blocks"][0]["text"]["type"], "mrkdwn");
        let text = parse(&s["blocks"][0]["text"]["text"]);
        assert_eq!(text.matches("• *HIGH* ").count(), 3, "{text}");
        assert!(text.ends_with("<http://gw-01.example:8080/alarms|Open plcdiag>"));
    }

    #[test]
    fn slack_text_escapes_its_control_characters() {
        let mut n = notice(1, "press-07", Transition::Raised);
        n.message = "a < b && c > d".into();
        let text = digest(&receiver(ReceiverKind::Slack), &[n], Limit::Chars(3000));
        assert!(text.contains("a &lt; b &amp;&amp; c &gt; d"), "{text}");
    }

    fn cjk_batch(n: i64) -> Vec<Notice> {
        (1..=n)
            .map(|i| {
                let mut x = notice(i, &format!("压力机-{i:02}"), Transition::Raised);
                x.message =
                    format!("主轴温度过高 {i}：当前 95.5 °C，上限 90 °C，请立即检查冷却水泵");
                x.priority = Priority::Critical;
                x
            })
            .collect()
    }

    #[test]
    fn a_long_cjk_digest_is_cut_at_the_limit_and_counts_what_it_left_out() {
        let batch = cjk_batch(100);
        for kind in [
            ReceiverKind::DingTalk,
            ReceiverKind::WeCom,
            ReceiverKind::Feishu,
        ] {
            let limit = digest_limit(kind);
            let text = digest(&receiver(kind), &batch, limit);
            assert!(text.len() <= limit.max(), "{kind}: {} bytes", text.len());
            let shown = text.matches("主轴温度过高").count();
            assert!(shown > 0 && shown < 100, "{kind}: {shown} shown");
            let more = format!("… and {} more not listed here", 100 - shown);
            assert!(text.contains(&more), "{kind}: {text}");
            assert!(text.contains("100 notices: 100 raised"));
        }
        let text = digest(&receiver(ReceiverKind::Slack), &batch, Limit::Chars(3000));
        assert!(text.chars().count() <= 3000);
        assert!(text.contains("more not listed here"));
    }

    #[test]
    fn a_digest_that_fits_lists_every_notice() {
        let batch = cjk_batch(5);
        let text = digest(&receiver(ReceiverKind::WeCom), &batch, Limit::Bytes(4096));
        assert_eq!(text.matches("主轴温度过高").count(), 5);
        assert!(!text.contains("more not listed"));
    }

    #[test]
    fn cutting_never_splits_a_character() {
        let s = "压力机温度";
        assert_eq!(Limit::Bytes(0).prefix(s, 4), "压");
        assert_eq!(Limit::Bytes(0).prefix(s, 2), "");
        assert_eq!(Limit::Bytes(0).prefix(s, 100), s);
        assert_eq!(Limit::Chars(0).prefix(s, 2), "压力");
        let mut n = cjk_batch(1).remove(0);
        n.message = "超".repeat(2000);
        let line = digest_line(Markup::Plain, &n);
        assert_eq!(line.chars().count(), LINE_MAX);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn a_tiny_limit_still_gives_valid_text() {
        let text = digest(
            &receiver(ReceiverKind::WeCom),
            &cjk_batch(3),
            Limit::Bytes(10),
        );
        assert!(text.len() <= 10);
    }
}
