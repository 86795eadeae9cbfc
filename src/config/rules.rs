//! Validation of `[[rules]]` and `[[receivers]]`: conditions are compiled for every
//! device a rule applies to, so a wrong tag name or a function the device cannot answer is
//! reported with the rule, the device, and the line and column inside the condition.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use chrono::{FixedOffset, NaiveTime};
use toml::Spanned;

use super::raw::{RawReceiver, RawRule};
use super::secret::Secret;
use super::{Checker, DeviceConfig, pattern};
use crate::notify::{ReceiverConfig, ReceiverKind};
use crate::rules::alarm::AlarmSettings;
use crate::rules::check::Check;
use crate::rules::expr::{self, Expr, Scope};
use crate::rules::schedule::{Schedule, Window, parse_days};
use crate::rules::{AckMode, Priority, Rule, Target, Transition, facts};

impl Checker<'_> {
    /// Where the text of a TOML string value starts (after its opening quotes).
    fn string_start(&self, span: &Range<usize>) -> usize {
        let rest = self.text.get(span.start..).unwrap_or("");
        let quotes = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
            3
        } else {
            1
        };
        span.start + quotes
    }

    fn compile(
        &mut self,
        source: &Spanned<String>,
        rule: &str,
        key: &str,
        device: &DeviceConfig,
    ) -> Option<Expr> {
        match expr::compile(source.get_ref(), &Scope { device }) {
            Ok(e) => Some(e),
            Err(e) => {
                let start = self.string_start(&source.span()) + e.span.start;
                self.error(
                    Some(start..start + e.span.len().max(1)),
                    format!(
                        "rule `{rule}`, {key} on device `{}`: {}",
                        device.name, e.message
                    ),
                );
                None
            }
        }
    }

    pub(super) fn rules(
        &mut self,
        raw: Vec<RawRule>,
        devices: &[Arc<DeviceConfig>],
    ) -> Vec<Arc<Rule>> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for r in raw {
            let name = r.name.get_ref().trim().to_owned();
            if name.is_empty() {
                self.error(Some(r.name.span()), "rules: name must not be empty".into());
                continue;
            }
            if !names.insert(name.clone()) {
                self.error(
                    Some(r.name.span()),
                    format!("rules: duplicate rule name `{name}`"),
                );
                continue;
            }
            if let Some(rule) = self.rule(&r, &name, devices) {
                out.push(Arc::new(rule));
            }
        }
        out
    }

    fn rule(&mut self, r: &RawRule, name: &str, devices: &[Arc<DeviceConfig>]) -> Option<Rule> {
        let before = self.problems.len();
        let mut patterns: Vec<String> = Vec::new();
        if let Some(d) = &r.device {
            patterns.push(d.get_ref().clone());
        }
        if let Some(ds) = &r.devices {
            patterns.extend(ds.get_ref().iter().cloned());
        }
        let targets: Vec<&Arc<DeviceConfig>> = devices
            .iter()
            .filter(|d| d.enabled && pattern::any(&patterns, &d.name))
            .collect();
        if targets.is_empty() {
            let span = r
                .device
                .as_ref()
                .map(Spanned::span)
                .or(r.devices.as_ref().map(Spanned::span))
                .or(Some(r.name.span()));
            self.error(
                span,
                format!("rule `{name}`: matches no enabled device ({patterns:?})"),
            );
        }
        let priority = match &r.priority {
            None => Priority::Medium,
            Some(p) => Priority::parse(p.get_ref()).unwrap_or_else(|| {
                self.error(
                    Some(p.span()),
                    format!(
                        "rule `{name}`: priority {:?} is not one of low, medium, high, critical",
                        p.get_ref()
                    ),
                );
                Priority::Medium
            }),
        };
        let ack = match r.ack.as_ref().map(|a| (a, a.get_ref().as_str())) {
            None | Some((_, "manual")) => AckMode::Manual,
            Some((_, "auto")) => AckMode::Auto,
            Some((_, "none")) => AckMode::None,
            Some((a, other)) => {
                self.error(
                    Some(a.span()),
                    format!("rule `{name}`: ack {other:?} is not one of manual, auto, none"),
                );
                AckMode::Manual
            }
        };
        let key = |k: &str| format!("rule `{name}`: {k}");
        let settings = AlarmSettings {
            priority,
            on_delay: self.duration(&r.on_delay, &key("on_delay"), Duration::ZERO),
            off_delay: self.duration(&r.off_delay, &key("off_delay"), Duration::ZERO),
            latch: r.latch.unwrap_or(false),
            ack,
            re_alarm: r
                .re_alarm
                .as_ref()
                .map(|_| self.duration(&r.re_alarm, &key("re_alarm"), Duration::ZERO))
                .filter(|d| !d.is_zero()),
            shelving_allowed: r.shelving.unwrap_or(true),
            max_shelve: self.duration(
                &r.max_shelve,
                &key("max_shelve"),
                Duration::from_secs(8 * 3600),
            ),
            out_of_service: r.out_of_service.unwrap_or(false),
        };
        let deadband = match &r.deadband {
            Some(d) if !d.get_ref().is_finite() || *d.get_ref() < 0.0 => {
                self.error(
                    Some(d.span()),
                    format!("rule `{name}`: deadband must be zero or positive"),
                );
                0.0
            }
            Some(d) => *d.get_ref(),
            None => 0.0,
        };
        let schedule = self.schedule(r, name);
        // Bounded so that no `now + duration` can overflow the calendar.
        for (key, value, d) in [
            ("on_delay", &r.on_delay, settings.on_delay),
            ("off_delay", &r.off_delay, settings.off_delay),
            (
                "re_alarm",
                &r.re_alarm,
                settings.re_alarm.unwrap_or_default(),
            ),
            ("max_shelve", &r.max_shelve, settings.max_shelve),
        ] {
            if d > MAX_RULE_DURATION {
                self.error(
                    value.as_ref().map(Spanned::span),
                    format!("rule `{name}`: {key} may be at most 366 days"),
                );
            }
        }
        if r.utc_offset.is_some() && r.schedule.is_empty() {
            let span = r.utc_offset.as_ref().map(Spanned::span);
            self.warn(
                span,
                format!("rule `{name}`: utc_offset has no effect without [[rules.schedule]]"),
            );
        }

        let kind = r
            .kind
            .as_ref()
            .map_or("condition", |k| k.get_ref().as_str());
        let mut compiled = Vec::new();
        for device in &targets {
            let check = match kind {
                "condition" => {
                    let Some(when) = self.required(&r.when, name, "when", "condition", r) else {
                        break;
                    };
                    self.compile(when, name, "when", device)
                        .map(Check::condition)
                }
                "reaction" => {
                    let trigger = self.required(&r.trigger, name, "trigger", "reaction", r);
                    let expect = self.required(&r.expect, name, "expect", "reaction", r);
                    let within_raw = self.required(&r.within, name, "within", "reaction", r);
                    let (Some(trigger), Some(expect), Some(_)) = (trigger, expect, within_raw)
                    else {
                        break;
                    };
                    let within = self.duration(&r.within, &key("within"), Duration::ZERO);
                    if within.is_zero() || within > MAX_RULE_DURATION {
                        let span = r.within.as_ref().map(Spanned::span);
                        self.error(
                            span,
                            format!("rule `{name}`: within must be longer than zero and at most 366 days"),
                        );
                        break;
                    }
                    let t = self.compile(trigger, name, "trigger", device);
                    let e = self.compile(expect, name, "expect", device);
                    t.zip(e).map(|(t, e)| Check::reaction(t, e, within))
                }
                "interlock" => {
                    let Some(when) = self.required(&r.when, name, "when", "interlock", r) else {
                        break;
                    };
                    let require = r.require.as_deref().unwrap_or_default();
                    if require.is_empty() {
                        self.error(
                            Some(r.name.span()),
                            format!("rule `{name}`: kind \"interlock\" needs `require = [..]`, the conditions that must hold while `when` is true"),
                        );
                        break;
                    }
                    let action = self.compile(when, name, "when", device);
                    let mut reqs = Vec::new();
                    for q in require {
                        reqs.extend(self.compile(q, name, "require", device));
                    }
                    action
                        .filter(|_| reqs.len() == require.len())
                        .map(|a| Check::interlock(a, reqs))
                }
                other => {
                    let span = r.kind.as_ref().map(Spanned::span);
                    self.error(
                        span,
                        format!("rule `{name}`: kind {other:?} is not one of condition, reaction, interlock"),
                    );
                    break;
                }
            };
            if let Some(msg) = &r.message
                && let Err((span, m)) = facts::check_template(msg.get_ref(), device)
            {
                let start = self.string_start(&msg.span()) + span.start;
                self.error(
                    Some(start..start + span.len().max(1)),
                    format!("rule `{name}`, message on device `{}`: {m}", device.name),
                );
            }
            if let Some(check) = check {
                if check.uses_pulses() && !settings.on_delay.is_zero() {
                    let span = r.on_delay.as_ref().map(Spanned::span);
                    self.error(
                        span,
                        format!("rule `{name}`: on_delay cannot apply to event()/event_class(): an event lasts an instant; use event_active(..) for events that have a leaving counterpart, or off_delay to hold the alarm"),
                    );
                }
                compiled.push(Target {
                    device: device.name.clone(),
                    driver: device.kind_name(),
                    check,
                });
            }
        }
        if self.problems.len() > before {
            return None;
        }
        let uses_health = compiled.iter().any(|t| t.check.uses_health());
        let message = r.message.as_ref().map_or_else(
            || {
                let cond = r
                    .when
                    .as_ref()
                    .or(r.expect.as_ref())
                    .map_or(String::new(), |w| w.get_ref().clone());
                match kind {
                    "reaction" => format!("{name}: no `{{failed}}` within the expected time"),
                    "interlock" => format!("{name}: interlock `{{failed}}` not met"),
                    _ => format!("{name}: {cond} ({{condition}})"),
                }
            },
            |m| m.get_ref().clone(),
        );
        Some(Rule {
            name: Arc::from(name),
            settings,
            message,
            deadband,
            schedule,
            suppress_when_offline: r.suppress_when_offline.unwrap_or(!uses_health),
            targets: compiled,
        })
    }

    fn required<'r>(
        &mut self,
        value: &'r Option<Spanned<String>>,
        rule: &str,
        key: &str,
        kind: &str,
        r: &RawRule,
    ) -> Option<&'r Spanned<String>> {
        if value.is_none() {
            self.error(
                Some(r.name.span()),
                format!("rule `{rule}`: kind \"{kind}\" needs `{key}`"),
            );
        }
        value.as_ref()
    }

    fn schedule(&mut self, r: &RawRule, name: &str) -> Option<Schedule> {
        let offset = r.utc_offset.as_ref().and_then(|o| {
            let parsed = chrono::DateTime::parse_from_str(
                &format!("2000-01-01T00:00:00{}", o.get_ref()),
                "%Y-%m-%dT%H:%M:%S%:z",
            )
            .ok()
            .map(|t| *t.offset());
            if parsed.is_none() {
                self.error(
                    Some(o.span()),
                    format!(
                        "rule `{name}`: utc_offset {:?} is not like \"+08:00\"",
                        o.get_ref()
                    ),
                );
            }
            parsed
        });
        if r.schedule.is_empty() {
            return None;
        }
        let mut windows = Vec::new();
        for w in &r.schedule {
            let days = parse_days(&w.days).unwrap_or_else(|e| {
                self.error(
                    Some(w.from.span()),
                    format!("rule `{name}`: schedule days: {e}"),
                );
                [true; 7]
            });
            let mut time = |v: &Spanned<String>| {
                NaiveTime::parse_from_str(v.get_ref(), "%H:%M").unwrap_or_else(|_| {
                    self.error(
                        Some(v.span()),
                        format!(
                            "rule `{name}`: schedule time {:?} is not \"HH:MM\"",
                            v.get_ref()
                        ),
                    );
                    NaiveTime::MIN
                })
            };
            let from = time(&w.from);
            let to = time(&w.to);
            windows.push(Window { days, from, to });
        }
        Some(Schedule {
            windows,
            offset: offset.map(|o: FixedOffset| o),
        })
    }

    pub(super) fn receivers(
        &mut self,
        raw: Vec<RawReceiver>,
        external_url: Option<&str>,
    ) -> Vec<Arc<ReceiverConfig>> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for r in raw {
            let name = r.name.get_ref().trim().to_owned();
            if name.is_empty() || !names.insert(name.clone()) {
                self.error(
                    Some(r.name.span()),
                    format!("receivers: name {name:?} is empty or used twice"),
                );
                continue;
            }
            let kind = match r.kind.get_ref().as_str() {
                "webhook" => ReceiverKind::Webhook,
                "dingtalk" => ReceiverKind::DingTalk,
                "wecom" => ReceiverKind::WeCom,
                "feishu" | "lark" => ReceiverKind::Feishu,
                "slack" => ReceiverKind::Slack,
                other => {
                    self.error(
                        Some(r.kind.span()),
                        format!("receiver `{name}`: kind {other:?} is not one of webhook, dingtalk, wecom, feishu, slack"),
                    );
                    continue;
                }
            };
            let url = self.secret_value(&r.url, &r.url_env, &format!("receiver `{name}`: url"));
            let Some(url) = url else {
                if r.url.is_none() && r.url_env.is_none() {
                    self.error(
                        Some(r.name.span()),
                        format!("receiver `{name}`: needs `url` or `url_env`"),
                    );
                }
                continue;
            };
            if !(url.expose().starts_with("http://") || url.expose().starts_with("https://")) {
                let span = r.url.as_ref().or(r.url_env.as_ref()).map(Spanned::span);
                self.error(
                    span,
                    format!("receiver `{name}`: the url must start with http:// or https://"),
                );
                continue;
            }
            let mut cfg = ReceiverConfig::defaults(Arc::from(name.as_str()), kind, url);
            if r.secret.is_some() || r.secret_env.is_some() {
                cfg.secret = self.secret_value(
                    &r.secret,
                    &r.secret_env,
                    &format!("receiver `{name}`: secret"),
                );
            }
            if let Some(ps) = &r.priorities {
                cfg.priorities = ps
                    .get_ref()
                    .iter()
                    .filter_map(|p| {
                        let parsed = Priority::parse(p);
                        if parsed.is_none() {
                            self.error(
                                Some(ps.span()),
                                format!("receiver `{name}`: priority {p:?} is not one of low, medium, high, critical"),
                            );
                        }
                        parsed
                    })
                    .collect();
            }
            if let Some(ts) = &r.transitions {
                cfg.transitions = ts
                    .get_ref()
                    .iter()
                    .filter_map(|t| {
                        let parsed = TRANSITIONS.iter().find(|x| x.as_str() == t).copied();
                        if parsed.is_none() {
                            self.error(
                                Some(ts.span()),
                                format!("receiver `{name}`: transition {t:?} is unknown"),
                            );
                        }
                        parsed
                    })
                    .collect();
            }
            cfg.devices = r.devices.clone().unwrap_or_default();
            cfg.external_url = external_url.map(str::to_owned);
            cfg.send_resolved = r.send_resolved.unwrap_or(true);
            if let Some(n) = r.rate_per_minute {
                if n == 0 {
                    self.error(
                        Some(r.name.span()),
                        format!("receiver `{name}`: rate_per_minute must be at least 1"),
                    );
                }
                cfg.rate_per_minute = n.max(1);
            }
            cfg.group_wait = self.duration(
                &r.group_wait,
                &format!("receiver `{name}`: group_wait"),
                cfg.group_wait,
            );
            if let Some(n) = r.max_batch {
                cfg.max_batch = n.max(1);
            }
            cfg.timeout = self.duration(
                &r.timeout,
                &format!("receiver `{name}`: timeout"),
                cfg.timeout,
            );
            cfg.max_age = self.duration(
                &r.max_age,
                &format!("receiver `{name}`: max_age"),
                cfg.max_age,
            );
            cfg.max_attempts = r.max_attempts.unwrap_or(cfg.max_attempts);
            out.push(Arc::new(cfg));
        }
        out
    }

    /// A secret given in the file or named by an environment variable (`*_env`), trimmed:
    /// a value read from an env file often ends in a newline that is no part of it.
    pub(super) fn secret_value(
        &mut self,
        value: &Option<Spanned<String>>,
        env: &Option<Spanned<String>>,
        what: &str,
    ) -> Option<Secret> {
        match (value, env) {
            (Some(v), None) => Some(Secret::new(v.get_ref().trim())),
            (None, Some(e)) => match std::env::var(e.get_ref()) {
                Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
                _ => {
                    self.error(
                        Some(e.span()),
                        format!("{what}: environment variable {} is not set", e.get_ref()),
                    );
                    None
                }
            },
            (Some(v), Some(_)) => {
                self.error(
                    Some(v.span()),
                    format!("{what}: give the value or the environment variable, not both"),
                );
                None
            }
            (None, None) => None,
        }
    }
}

/// The longest delay, re-alarm, shelving or reaction time a rule may set.
const MAX_RULE_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

const TRANSITIONS: [Transition; 10] = [
    Transition::Raised,
    Transition::Cleared,
    Transition::Acknowledged,
    Transition::Reset,
    Transition::ReAlarmed,
    Transition::Shelved,
    Transition::Unshelved,
    Transition::ShelveExpired,
    Transition::Suppressed,
    Transition::Unsuppressed,
];
