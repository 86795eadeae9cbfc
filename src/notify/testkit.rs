//! Test fixtures: notices and alarm changes built by hand, as the rules engine would.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::rules::{AlarmChange, AlarmState, Notice, Priority, Transition};

/// 2026-03-02T07:14:05Z, the time of the reference's example payload.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 7, 14, 5)
        .single()
        .unwrap_or_default()
}

/// A notice of alarm `alarm_id` (rule `cpu_stop`) on `device`, with the state that follows
/// `transition`, `alarm_id` seconds after [`t0`].
pub(crate) fn notice(alarm_id: i64, device: &str, transition: Transition) -> Notice {
    let raised_at = t0();
    let at = raised_at + chrono::Duration::seconds(alarm_id);
    let (state, active, acked) = match transition {
        Transition::Raised | Transition::ReAlarmed | Transition::Unshelved => {
            (AlarmState::Unacknowledged, true, false)
        }
        Transition::Acknowledged => (AlarmState::Acknowledged, true, true),
        Transition::Cleared | Transition::Reset => (AlarmState::Normal, false, true),
        Transition::Shelved | Transition::ShelveExpired => (AlarmState::Shelved, true, false),
        Transition::Suppressed | Transition::Unsuppressed => (AlarmState::Suppressed, true, false),
    };
    Notice {
        journal_id: 0,
        alarm_id,
        rule: "cpu_stop".into(),
        device: device.into(),
        driver: "s7".into(),
        priority: Priority::High,
        transition,
        state,
        active,
        acked,
        at,
        raised_at,
        cleared_at: (!active).then_some(at),
        message: format!("CPU in STOP (alarm {alarm_id})"),
        values: serde_json::json!({"mode": "STOP", "event": "0x4304"}),
        user: (transition == Transition::Acknowledged).then(|| "li.wei".to_owned()),
        note: (transition == Transition::Acknowledged).then(|| "checked on site".to_owned()),
        shelved_until: None,
    }
}

/// The change that commits `notice` with one outbox row for each of `receivers`.
pub(crate) fn change(notice: Notice, receivers: &[&str]) -> AlarmChange {
    AlarmChange {
        notice,
        receivers: receivers.iter().map(|r| Arc::<str>::from(*r)).collect(),
        point: serde_json::json!({}),
    }
}
