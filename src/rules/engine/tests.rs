use std::path::Path;
use std::sync::Arc;

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::model::{DiagEvent, Health, Quality, TagReading};

fn t(s: f64) -> DateTime<Utc> {
    let base = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default();
    base + chrono::Duration::milliseconds((s * 1000.0) as i64)
}

const DEVICES: &str = r#"
[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://10.0.0.5"

[[devices.tags]]
name = "temperature"
address = "hr:0"
unit = "°C"

[[devices.tags]]
name = "start"
address = "coil:0"

[[devices.tags]]
name = "running"
address = "coil:1"

[[devices.tags]]
name = "guard_closed"
address = "coil:2"

[[devices]]
name = "cpu"
kind = "s7"
address = "10.0.0.7"

[[receivers]]
name = "all"
kind = "webhook"
url = "http://127.0.0.1:1/hook"

[[receivers]]
name = "urgent"
kind = "webhook"
url = "http://127.0.0.1:1/urgent"
priorities = ["critical"]
"#;

fn engine(rules: &str, now: DateTime<Utc>) -> Engine {
    let text = format!("{DEVICES}{rules}");
    let cfg = crate::config::parse(&text, Path::new(".")).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut e = Engine::new(&cfg, Vec::new(), 0, now);
    assert!(e.start(now).is_empty());
    e
}

/// A boiler poll: temperature, start, running, guard_closed.
fn values(
    temperature: f64,
    start: bool,
    running: bool,
    guard: bool,
    at: DateTime<Utc>,
) -> Observation {
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    let readings: Vec<TagReading> = [temperature, b(start), b(running), b(guard)]
        .into_iter()
        .enumerate()
        .map(|(tag, v)| TagReading {
            tag,
            value: Some(v),
            quality: Quality::Good,
        })
        .collect();
    Observation::Values {
        device: "boiler".into(),
        at,
        rtt: Duration::from_millis(5),
        readings: Arc::from(readings),
    }
}

fn health(state: HealthState, at: DateTime<Utc>) -> Observation {
    Observation::Health {
        device: "boiler".into(),
        health: Health {
            state,
            since: at,
            last_error: None,
            rtt: None,
            consecutive_failures: 0,
        },
    }
}

fn transitions(changes: &[AlarmChange]) -> Vec<(String, Transition)> {
    changes
        .iter()
        .map(|c| (c.notice.rule.clone(), c.notice.transition))
        .collect()
}

fn tr(rule: &str, t: Transition) -> (String, Transition) {
    (rule.to_owned(), t)
}

const HOT: &str = r#"
[[rules]]
name = "hot"
device = "boiler"
when = "temperature > 90"
on_delay = "5s"
deadband = 2.0
priority = "high"
message = "{device} water {temperature}"
"#;

#[test]
fn a_limit_raises_after_its_on_delay_with_the_values_that_explain_it() {
    let mut e = engine(HOT, t(0.0));
    assert!(
        e.observe(&values(95.0, false, false, true, t(0.0)), t(0.0))
            .is_empty()
    );
    assert_eq!(e.next_deadline(), Some(t(5.0)));
    assert!(e.tick(t(4.999)).is_empty());
    let c = e.tick(t(5.0));
    assert_eq!(transitions(&c), [tr("hot", Transition::Raised)]);
    let n = &c[0].notice;
    assert_eq!(n.at, t(5.0));
    assert_eq!(n.alarm_id, 1);
    assert_eq!(n.state, AlarmState::Unacknowledged);
    assert_eq!(n.priority, crate::rules::Priority::High);
    assert!(n.message.starts_with("boiler water 95"), "{}", n.message);
    assert_eq!(n.values["operands"][0]["name"], "temperature");
    assert_eq!(n.values["operands"][0]["value"], json!(95));
    assert_eq!(
        c[0].receivers,
        vec![Arc::<str>::from("all")],
        "high is not critical"
    );
}

#[test]
fn a_value_that_dips_under_the_limit_within_the_on_delay_never_raises() {
    let mut e = engine(HOT, t(0.0));
    for k in 0..20 {
        let s = f64::from(k) * 5.0;
        assert!(
            e.observe(&values(95.0, false, false, true, t(s)), t(s))
                .is_empty()
        );
        assert!(e.tick(t(s + 4.0)).is_empty());
        assert!(
            e.observe(&values(80.0, false, false, true, t(s + 4.0)), t(s + 4.0))
                .is_empty()
        );
    }
    assert_eq!(e.next_deadline(), None);
}

#[test]
fn the_deadband_keeps_an_alarm_until_the_value_is_back_past_it() {
    let mut e = engine(HOT, t(0.0));
    e.observe(&values(95.0, false, false, true, t(0.0)), t(0.0));
    assert_eq!(
        transitions(&e.tick(t(5.0))),
        [tr("hot", Transition::Raised)]
    );
    // 89 is under the limit but inside the 2 °C deadband: still active.
    assert!(
        e.observe(&values(89.0, false, false, true, t(6.0)), t(6.0))
            .is_empty()
    );
    let c = e.observe(&values(87.9, false, false, true, t(7.0)), t(7.0));
    assert_eq!(transitions(&c), [tr("hot", Transition::Cleared)]);
    assert_eq!(c[0].notice.state, AlarmState::RtnUnacknowledged);
}

#[test]
fn a_reaction_monitor_raises_when_the_feedback_does_not_follow_and_names_it() {
    let rules = r#"
[[rules]]
name = "m1_feedback"
device = "boiler"
kind = "reaction"
trigger = "start"
expect = "running"
within = "5s"
message = "motor M1 started but no {failed} within 5 s"
"#;
    let mut e = engine(rules, t(0.0));
    assert!(
        e.observe(&values(20.0, true, false, true, t(0.0)), t(0.0))
            .is_empty()
    );
    assert_eq!(e.next_deadline(), Some(t(5.0)));
    let c = e.tick(t(5.0));
    assert_eq!(transitions(&c), [tr("m1_feedback", Transition::Raised)]);
    assert_eq!(
        c[0].notice.message,
        "motor M1 started but no running within 5 s"
    );
    assert_eq!(c[0].notice.values["failed"], json!(["running"]));
    // The feedback arrives late: the condition is gone.
    let c = e.observe(&values(20.0, true, true, true, t(7.0)), t(7.0));
    assert_eq!(transitions(&c), [tr("m1_feedback", Transition::Cleared)]);

    // Feedback within the time: nothing.
    let mut e = engine(rules, t(0.0));
    e.observe(&values(20.0, true, false, true, t(0.0)), t(0.0));
    assert!(
        e.observe(&values(20.0, true, true, true, t(2.0)), t(2.0))
            .is_empty()
    );
    assert!(e.tick(t(10.0)).is_empty());
}

#[test]
fn an_interlock_monitor_names_each_requirement_that_failed() {
    let rules = r#"
[[rules]]
name = "press_interlock"
device = "boiler"
kind = "interlock"
when = "start"
require = ["guard_closed", "temperature < 60"]
message = "stroke with {failed}"
priority = "critical"
"#;
    let mut e = engine(rules, t(0.0));
    assert!(
        e.observe(&values(20.0, true, false, true, t(0.0)), t(0.0))
            .is_empty()
    );
    let c = e.observe(&values(70.0, true, false, false, t(1.0)), t(1.0));
    assert_eq!(transitions(&c), [tr("press_interlock", Transition::Raised)]);
    assert_eq!(
        c[0].notice.message,
        "stroke with guard_closed, temperature < 60"
    );
    let mut to: Vec<&str> = c[0].receivers.iter().map(|r| &**r).collect();
    to.sort_unstable();
    assert_eq!(to, ["all", "urgent"], "critical goes to both receivers");
    // Without the action nothing is required.
    let c = e.observe(&values(70.0, false, false, false, t(2.0)), t(2.0));
    assert_eq!(
        transitions(&c),
        [tr("press_interlock", Transition::Cleared)]
    );
}

#[test]
fn value_alarms_are_suppressed_while_the_device_is_offline_and_its_health_alarm_is_not() {
    let rules = format!(
        "{HOT}{}",
        r#"
[[rules]]
name = "offline"
device = "boiler"
when = "offline()"
"#
    );
    let mut e = engine(&rules, t(0.0));
    e.observe(&health(HealthState::Online, t(0.0)), t(0.0));
    e.observe(&values(95.0, false, false, true, t(0.0)), t(0.0));
    assert_eq!(
        transitions(&e.tick(t(5.0))),
        [tr("hot", Transition::Raised)]
    );
    let c = e.observe(&health(HealthState::Offline, t(6.0)), t(6.0));
    assert_eq!(
        transitions(&c),
        [
            tr("hot", Transition::Suppressed),
            tr("offline", Transition::Raised)
        ]
    );
    assert_eq!(c[0].notice.state, AlarmState::Suppressed);
    let c = e.observe(&health(HealthState::Online, t(9.0)), t(9.0));
    assert_eq!(
        transitions(&c),
        [
            tr("hot", Transition::Unsuppressed),
            tr("offline", Transition::Cleared)
        ]
    );
}

#[test]
fn a_shelved_alarm_is_journalled_but_announced_to_nobody() {
    let mut e = engine(HOT, t(0.0));
    e.observe(&values(95.0, false, false, true, t(0.0)), t(0.0));
    let raised = e.tick(t(5.0));
    let id = raised[0].notice.alarm_id;
    let c = e.shelve(
        id,
        Duration::from_secs(60),
        "ann",
        Some("recalibrating"),
        t(6.0),
    );
    let c = c.unwrap_or_default();
    assert_eq!(transitions(&c), [tr("hot", Transition::Shelved)]);
    assert_eq!(c[0].notice.user.as_deref(), Some("ann"));
    assert_eq!(c[0].notice.shelved_until, Some(t(66.0)));
    assert!(
        !c[0].receivers.is_empty(),
        "the shelving itself is announced"
    );
    let c = e.observe(&values(50.0, false, false, true, t(7.0)), t(7.0));
    assert_eq!(transitions(&c), [tr("hot", Transition::Cleared)]);
    assert!(
        c[0].receivers.is_empty(),
        "changes while shelved are not sent"
    );
    let c = e.tick(t(66.0));
    assert_eq!(transitions(&c), [tr("hot", Transition::ShelveExpired)]);
    assert_eq!(c[0].notice.state, AlarmState::RtnUnacknowledged);
    assert!(matches!(
        e.acknowledge(999, "ann", None, t(70.0)),
        Err(EngineError::NotFound(999))
    ));
    assert!(e.acknowledge(id, "ann", None, t(70.0)).is_ok());
    assert!(matches!(
        e.acknowledge(id, "ann", None, t(71.0)),
        Err(EngineError::Refused(CommandError::NotUnacknowledged))
    ));
}

#[test]
fn a_rule_outside_its_schedule_does_not_raise_until_its_window_opens() {
    let rules = r#"
[[rules]]
name = "day_shift_hot"
device = "boiler"
when = "temperature > 90"
utc_offset = "+00:00"

[[rules.schedule]]
from = "06:00"
to = "14:00"
"#;
    // 1_800_000_000 is 2027-01-15 08:00:00 UTC; start at 05:00 the same day.
    let start = t(-3.0 * 3600.0);
    let mut e = engine(rules, start);
    assert!(
        e.observe(&values(95.0, false, false, true, start), start)
            .is_empty()
    );
    let opens = t(-2.0 * 3600.0);
    assert_eq!(e.next_deadline(), Some(opens));
    let c = e.tick(opens);
    assert_eq!(transitions(&c), [tr("day_shift_hot", Transition::Raised)]);
    assert_eq!(c[0].notice.at, opens);
    // At 14:00 the window closes: the open alarm is suppressed.
    let closes = t(6.0 * 3600.0);
    assert_eq!(e.next_deadline(), Some(closes));
    assert_eq!(
        transitions(&e.tick(closes)),
        [tr("day_shift_hot", Transition::Suppressed)]
    );
}

fn s7_event(id: u16, at: DateTime<Utc>) -> Observation {
    Observation::Diagnostics {
        device: "cpu".into(),
        backlog: false,
        events: Arc::from(vec![DiagEvent {
            device_time: None,
            gateway_time: at,
            event_id: id,
            class: (id >> 12) as u8,
            entering: Some(id & 0x0100 != 0),
            text: "STOP caused by stop switch being activated".into(),
            details: json!({}),
            raw: id.to_be_bytes().to_vec(),
        }]),
    }
}

#[test]
fn an_event_pulse_raises_and_returns_at_once_and_waits_for_acknowledgement() {
    let rules = r#"
[[rules]]
name = "stop_switch"
device = "cpu"
when = "event(0x4304)"
message = "{event}"
"#;
    let mut e = engine(rules, t(0.0));
    let c = e.observe(&s7_event(0x4304, t(1.0)), t(1.0));
    assert_eq!(
        transitions(&c),
        [
            tr("stop_switch", Transition::Raised),
            tr("stop_switch", Transition::Cleared)
        ]
    );
    assert_eq!(
        c[0].notice.message,
        "STOP caused by stop switch being activated"
    );
    assert_eq!(c[1].notice.state, AlarmState::RtnUnacknowledged);
}

#[test]
fn saved_points_restore_their_alarm_and_ids_continue_after_the_highest() {
    let text = format!("{DEVICES}{HOT}");
    let cfg = crate::config::parse(&text, Path::new(".")).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut e = Engine::new(&cfg, Vec::new(), 41, t(0.0));
    e.observe(&values(95.0, false, false, true, t(0.0)), t(0.0));
    let c = e.tick(t(5.0));
    assert_eq!(c[0].notice.alarm_id, 42);
    let saved = vec![SavedPoint {
        rule: "hot".into(),
        device: "boiler".into(),
        state: c[0].point.clone(),
    }];
    let mut again = Engine::new(&cfg, saved, 42, t(100.0));
    assert_eq!(again.points(t(100.0))[0].state, AlarmState::Unacknowledged);
    // Still hot after the restart: no second raise.
    assert!(
        again
            .observe(&values(95.0, false, false, true, t(101.0)), t(101.0))
            .is_empty()
    );
    assert!(again.tick(t(200.0)).is_empty());
    assert!(again.acknowledge(42, "ann", None, t(201.0)).is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_engine_clock_follows_tokios_paused_time_exactly() {
    let clock = Clock::start();
    let t0 = clock.now();
    tokio::time::advance(Duration::from_millis(5000)).await;
    assert_eq!(clock.now() - t0, chrono::Duration::milliseconds(5000));
    let at = t0 + chrono::Duration::seconds(7);
    assert_eq!(
        clock.instant_at(at) - Instant::now(),
        Duration::from_secs(2)
    );
}

#[test]
fn the_first_report_of_a_device_without_history_is_backlog_and_raises_no_pulse() {
    let rules = r#"
[[rules]]
name = "stop_switch"
device = "cpu"
when = "event(0x4304)"
"#;
    let mut e = engine(rules, t(0.0));
    let mut first = s7_event(0x4304, t(1.0));
    if let Observation::Diagnostics { backlog, .. } = &mut first {
        *backlog = true;
    }
    assert!(e.observe(&first, t(1.0)).is_empty());
    let mut again = s7_event(0x4304, t(2.0));
    if let Observation::Diagnostics { events, .. } = &mut again {
        let mut e2 = events.to_vec();
        if let Some(first) = e2.first_mut() {
            first.raw.push(2);
        }
        *events = Arc::from(e2);
    }
    let c = e.observe(&again, t(2.0));
    assert_eq!(
        transitions(&c),
        [
            tr("stop_switch", Transition::Raised),
            tr("stop_switch", Transition::Cleared)
        ]
    );
}

#[test]
fn a_schedule_that_is_always_open_files_no_timer() {
    let rules = r#"
[[rules]]
name = "always"
device = "boiler"
when = "temperature > 90"
utc_offset = "+00:00"

[[rules.schedule]]
from = "06:00"
to = "06:00"
"#;
    let mut e = engine(rules, t(0.0));
    assert!(e.tick(t(0.0)).is_empty());
    assert_eq!(e.next_deadline(), None, "nothing will ever be due");
    let c = e.observe(&values(95.0, false, false, true, t(1.0)), t(1.0));
    assert_eq!(transitions(&c), [tr("always", Transition::Raised)]);
}

#[test]
fn a_reaction_watch_stops_while_its_device_is_offline() {
    let rules = r#"
[[rules]]
name = "m1_feedback"
device = "boiler"
kind = "reaction"
trigger = "start"
expect = "running"
within = "5s"
"#;
    let mut e = engine(rules, t(0.0));
    e.observe(&health(HealthState::Online, t(0.0)), t(0.0));
    e.observe(&values(20.0, true, false, true, t(0.0)), t(0.0));
    e.observe(&health(HealthState::Offline, t(1.0)), t(1.0));
    assert_eq!(e.next_deadline(), None, "no watch while offline");
    assert!(e.tick(t(10.0)).is_empty());
    // Back online with the trigger still set: the old watch does not raise at once.
    e.observe(&health(HealthState::Online, t(20.0)), t(20.0));
    assert!(
        e.observe(&values(20.0, true, false, true, t(20.0)), t(20.0))
            .is_empty()
    );
}

#[test]
fn a_restart_keeps_the_deadband_of_an_active_alarm_and_reports_the_end_of_a_suppression() {
    let text = format!("{DEVICES}{HOT}");
    let cfg = crate::config::parse(&text, Path::new(".")).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut e = Engine::new(&cfg, Vec::new(), 0, t(0.0));
    e.observe(&values(95.0, false, false, true, t(0.0)), t(0.0));
    e.tick(t(5.0));
    let c = e.observe(&health(HealthState::Offline, t(6.0)), t(6.0));
    assert_eq!(transitions(&c), [tr("hot", Transition::Suppressed)]);
    let saved = vec![SavedPoint {
        rule: "hot".into(),
        device: "boiler".into(),
        state: c[0].point.clone(),
    }];
    let mut again = Engine::new(&cfg, saved, 1, t(100.0));
    assert_eq!(again.points(t(100.0))[0].state, AlarmState::Suppressed);
    let c = again.observe(&health(HealthState::Online, t(101.0)), t(101.0));
    assert_eq!(transitions(&c), [tr("hot", Transition::Unsuppressed)]);
    // 89 °C is inside the 2 °C deadband of the limit the alarm was raised on: still active.
    assert!(
        again
            .observe(&values(89.0, false, false, true, t(102.0)), t(102.0))
            .is_empty()
    );
    assert_eq!(again.points(t(102.0))[0].state, AlarmState::Unacknowledged);
}

/// Issue 12, finding 2: a device with no history whose buffer was empty at the first read
/// reports an empty backlog; its first event after that is news and raises the alarm.
#[test]
fn the_first_event_after_an_empty_backlog_raises_the_alarm() {
    let rules = r#"
[[rules]]
name = "stop_switch"
device = "cpu"
when = "event(0x4304)"
"#;
    let mut e = engine(rules, t(0.0));
    let empty = Observation::Diagnostics {
        device: "cpu".into(),
        events: Arc::from(Vec::new()),
        backlog: true,
    };
    assert!(e.observe(&empty, t(1.0)).is_empty());
    let c = e.observe(&s7_event(0x4304, t(2.0)), t(2.0));
    assert_eq!(
        transitions(&c),
        [
            tr("stop_switch", Transition::Raised),
            tr("stop_switch", Transition::Cleared)
        ]
    );
}
