use chrono::TimeZone;

use super::*;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0)
        .single()
        .unwrap_or_default()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn transitions(events: &[Event]) -> Vec<Transition> {
    events.iter().map(|e| e.transition).collect()
}

fn point(f: impl FnOnce(&mut AlarmSettings)) -> AlarmPoint {
    let mut s = AlarmSettings::default();
    f(&mut s);
    AlarmPoint::new(s)
}

#[test]
fn a_true_condition_raises_an_unacknowledged_alarm_with_a_new_id() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    assert_eq!(p.state(t(0)), AlarmState::Normal);
    let ev = p.update(Some(true), t(1), &mut ids);
    assert_eq!(transitions(&ev), [Transition::Raised]);
    assert_eq!(p.state(t(1)), AlarmState::Unacknowledged);
    assert_eq!(p.saved().alarm_id, Some(1));
    assert_eq!(p.saved().raised_at, Some(t(1)));
}

#[test]
fn unacknowledged_then_acknowledged_then_normal_on_return() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    p.update(Some(true), t(0), &mut ids);
    let ev = p
        .acknowledge("ann", Some("checked the valve"), t(5))
        .unwrap_or_default();
    assert_eq!(transitions(&ev), [Transition::Acknowledged]);
    assert_eq!(ev[0].user.as_deref(), Some("ann"));
    assert_eq!(ev[0].note.as_deref(), Some("checked the valve"));
    assert_eq!(p.state(t(5)), AlarmState::Acknowledged);
    let ev = p.update(Some(false), t(9), &mut ids);
    assert_eq!(transitions(&ev), [Transition::Cleared]);
    assert_eq!(p.state(t(9)), AlarmState::Normal);
    assert!(!p.is_open());
}

#[test]
fn a_return_before_acknowledgement_waits_in_rtn_unacknowledged() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    p.update(Some(true), t(0), &mut ids);
    p.update(Some(false), t(3), &mut ids);
    assert_eq!(p.state(t(3)), AlarmState::RtnUnacknowledged);
    assert!(p.is_open());
    let ev = p.acknowledge("bo", None, t(4)).unwrap_or_default();
    assert_eq!(transitions(&ev), [Transition::Acknowledged]);
    assert_eq!(p.state(t(4)), AlarmState::Normal);
}

#[test]
fn a_condition_returning_while_unacknowledged_continues_the_same_activation() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    p.update(Some(true), t(0), &mut ids);
    p.update(Some(false), t(1), &mut ids);
    let ev = p.update(Some(true), t(2), &mut ids);
    assert_eq!(transitions(&ev), [Transition::Raised]);
    assert_eq!(p.saved().alarm_id, Some(1));
    assert_eq!(p.saved().raised_at, Some(t(0)));
    assert_eq!(p.state(t(2)), AlarmState::Unacknowledged);
}

#[test]
fn once_acknowledged_and_normal_the_next_raise_is_a_new_activation() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    p.update(Some(true), t(0), &mut ids);
    let _ = p.acknowledge("ann", None, t(1));
    p.update(Some(false), t(2), &mut ids);
    p.update(Some(true), t(3), &mut ids);
    assert_eq!(p.saved().alarm_id, Some(2));
    assert_eq!(p.saved().raised_at, Some(t(3)));
    assert!(!p.saved().acked);
}

#[test]
fn acknowledging_twice_is_refused() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    assert_eq!(
        p.acknowledge("ann", None, t(0)),
        Err(CommandError::NotUnacknowledged)
    );
    p.update(Some(true), t(0), &mut ids);
    assert!(p.acknowledge("ann", None, t(1)).is_ok());
    assert_eq!(
        p.acknowledge("ann", None, t(2)),
        Err(CommandError::NotUnacknowledged)
    );
}

#[test]
fn a_condition_that_flickers_shorter_than_the_on_delay_never_raises() {
    let mut ids = 0i64;
    let mut p = point(|s| s.on_delay = secs(5));
    for k in 0..10 {
        // true for 4 s, false for 1 s, over and over
        assert!(p.update(Some(true), t(k * 5), &mut ids).is_empty());
        assert_eq!(p.next_deadline(), Some(t(k * 5 + 5)));
        assert!(p.tick(t(k * 5 + 4), &mut ids).is_empty());
        assert!(p.update(Some(false), t(k * 5 + 4), &mut ids).is_empty());
        assert_eq!(p.next_deadline(), None);
    }
    assert_eq!(p.state(t(60)), AlarmState::Normal);
    assert_eq!(p.saved().alarm_id, None);
}

#[test]
fn the_on_delay_raises_exactly_at_its_end_with_that_time() {
    let mut ids = 0i64;
    let mut p = point(|s| s.on_delay = secs(5));
    p.update(Some(true), t(10), &mut ids);
    // Repeated true values do not restart the delay.
    p.update(Some(true), t(12), &mut ids);
    assert!(p.tick(t(14), &mut ids).is_empty());
    let ev = p.tick(t(15), &mut ids);
    assert_eq!(transitions(&ev), [Transition::Raised]);
    assert_eq!(ev[0].at, t(15));
    assert_eq!(p.saved().raised_at, Some(t(15)));
}

#[test]
fn a_late_tick_still_stamps_the_raise_at_the_delay_end() {
    let mut ids = 0i64;
    let mut p = point(|s| s.on_delay = secs(5));
    p.update(Some(true), t(0), &mut ids);
    let ev = p.update(Some(true), t(7), &mut ids);
    assert_eq!(ev.first().map(|e| e.at), Some(t(5)));
}

#[test]
fn a_dip_shorter_than_the_off_delay_keeps_the_alarm_active() {
    let mut ids = 0i64;
    let mut p = point(|s| s.off_delay = secs(10));
    p.update(Some(true), t(0), &mut ids);
    assert!(p.update(Some(false), t(1), &mut ids).is_empty());
    assert_eq!(p.next_deadline(), Some(t(11)));
    assert!(p.update(Some(true), t(9), &mut ids).is_empty());
    assert!(p.tick(t(30), &mut ids).is_empty());
    assert_eq!(p.state(t(30)), AlarmState::Unacknowledged);
    p.update(Some(false), t(31), &mut ids);
    let ev = p.tick(t(41), &mut ids);
    assert_eq!(transitions(&ev), [Transition::Cleared]);
    assert_eq!(p.saved().cleared_at, Some(t(41)));
}

#[test]
fn an_unknown_condition_changes_nothing() {
    let mut ids = 0i64;
    let mut p = point(|s| s.on_delay = secs(5));
    p.update(Some(true), t(0), &mut ids);
    assert!(p.update(None, t(3), &mut ids).is_empty());
    let ev = p.tick(t(5), &mut ids);
    assert_eq!(transitions(&ev), [Transition::Raised]);
    assert!(p.update(None, t(6), &mut ids).is_empty());
    assert_eq!(p.state(t(6)), AlarmState::Unacknowledged);
}

#[test]
fn a_latched_alarm_stays_until_an_operator_resets_it() {
    let mut ids = 0i64;
    let mut p = point(|s| s.latch = true);
    p.update(Some(true), t(0), &mut ids);
    let _ = p.acknowledge("ann", None, t(1));
    p.update(Some(false), t(2), &mut ids);
    assert_eq!(p.state(t(2)), AlarmState::Latched);
    assert!(p.is_open());
    let ev = p
        .acknowledge("ann", Some("reset after inspection"), t(3))
        .unwrap_or_default();
    assert_eq!(transitions(&ev), [Transition::Reset]);
    assert_eq!(p.state(t(3)), AlarmState::Normal);
}

#[test]
fn acknowledging_an_unacknowledged_latched_alarm_acknowledges_and_resets_it() {
    let mut ids = 0i64;
    let mut p = point(|s| s.latch = true);
    p.update(Some(true), t(0), &mut ids);
    p.update(Some(false), t(2), &mut ids);
    assert_eq!(p.state(t(2)), AlarmState::Latched);
    let ev = p.acknowledge("ann", None, t(3)).unwrap_or_default();
    assert_eq!(
        transitions(&ev),
        [Transition::Acknowledged, Transition::Reset]
    );
    assert_eq!(p.state(t(3)), AlarmState::Normal);
}

#[test]
fn acknowledging_an_active_latching_alarm_does_not_reset_it() {
    let mut ids = 0i64;
    let mut p = point(|s| s.latch = true);
    p.update(Some(true), t(0), &mut ids);
    let ev = p.acknowledge("ann", None, t(1)).unwrap_or_default();
    assert_eq!(transitions(&ev), [Transition::Acknowledged]);
    assert_eq!(p.state(t(1)), AlarmState::Acknowledged);
}

#[test]
fn auto_ack_acknowledges_when_the_condition_clears() {
    let mut ids = 0i64;
    let mut p = point(|s| s.ack = AckMode::Auto);
    p.update(Some(true), t(0), &mut ids);
    assert_eq!(p.state(t(0)), AlarmState::Unacknowledged);
    p.update(Some(false), t(1), &mut ids);
    assert_eq!(p.state(t(1)), AlarmState::Normal);
    assert!(!p.is_open());
}

#[test]
fn ack_mode_none_raises_already_acknowledged() {
    let mut ids = 0i64;
    let mut p = point(|s| s.ack = AckMode::None);
    p.update(Some(true), t(0), &mut ids);
    assert_eq!(p.state(t(0)), AlarmState::Acknowledged);
    p.update(Some(false), t(1), &mut ids);
    assert_eq!(p.state(t(1)), AlarmState::Normal);
}

#[test]
fn an_unacknowledged_alarm_is_announced_again_after_the_re_alarm_time() {
    let mut ids = 0i64;
    let mut p = point(|s| s.re_alarm = Some(secs(60)));
    p.update(Some(true), t(0), &mut ids);
    assert_eq!(p.next_deadline(), Some(t(60)));
    assert!(p.tick(t(59), &mut ids).is_empty());
    assert_eq!(
        transitions(&p.tick(t(60), &mut ids)),
        [Transition::ReAlarmed]
    );
    assert_eq!(p.next_deadline(), Some(t(120)));
    let _ = p.acknowledge("ann", None, t(70));
    assert_eq!(p.next_deadline(), None);
    assert!(p.tick(t(200), &mut ids).is_empty());
}

#[test]
fn a_shelved_point_expires_back_to_its_live_state() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    p.update(Some(true), t(0), &mut ids);
    let ev = p
        .shelve(secs(600), "ann", Some("sensor being replaced"), t(10))
        .unwrap_or_default();
    assert_eq!(transitions(&ev), [Transition::Shelved]);
    assert_eq!(p.state(t(10)), AlarmState::Shelved);
    assert_eq!(p.next_deadline(), Some(t(610)));
    // Changes while shelved are still tracked.
    p.update(Some(false), t(20), &mut ids);
    assert_eq!(p.state(t(20)), AlarmState::Shelved);
    let ev = p.tick(t(610), &mut ids);
    assert_eq!(transitions(&ev), [Transition::ShelveExpired]);
    assert_eq!(p.state(t(610)), AlarmState::RtnUnacknowledged);
}

#[test]
fn shelving_is_capped_at_the_rules_maximum() {
    let mut p = point(|s| s.max_shelve = secs(3600));
    assert!(p.shelve(secs(86_400), "ann", None, t(0)).is_ok());
    assert_eq!(p.saved().shelved_until, Some(t(3600)));
}

#[test]
fn shelving_is_refused_when_the_rule_forbids_it_or_for_zero_time() {
    let mut p = point(|s| s.shelving_allowed = false);
    assert_eq!(
        p.shelve(secs(60), "ann", None, t(0)),
        Err(CommandError::ShelvingNotAllowed)
    );
    let mut p = point(|_| {});
    assert_eq!(
        p.shelve(Duration::ZERO, "ann", None, t(0)),
        Err(CommandError::ZeroShelve)
    );
}

#[test]
fn unshelve_returns_the_live_state_and_is_refused_when_not_shelved() {
    let mut ids = 0i64;
    let mut p = point(|_| {});
    assert_eq!(p.unshelve("ann", None, t(0)), Err(CommandError::NotShelved));
    p.update(Some(true), t(0), &mut ids);
    let _ = p.shelve(secs(60), "ann", None, t(1));
    let ev = p.unshelve("bo", None, t(2)).unwrap_or_default();
    assert_eq!(transitions(&ev), [Transition::Unshelved]);
    assert_eq!(p.state(t(2)), AlarmState::Unacknowledged);
}

#[test]
fn a_suppressed_point_neither_raises_nor_clears_and_restarts_its_delays_afterwards() {
    let mut ids = 0i64;
    let mut p = point(|s| s.on_delay = secs(5));
    // A normal point is suppressed silently.
    assert!(p.suppress(true, t(0)).is_empty());
    assert_eq!(p.state(t(0)), AlarmState::Suppressed);
    assert!(p.update(Some(true), t(1), &mut ids).is_empty());
    assert!(p.tick(t(100), &mut ids).is_empty());
    assert!(p.suppress(false, t(100)).is_empty());
    p.update(Some(true), t(101), &mut ids);
    assert!(p.tick(t(105), &mut ids).is_empty());
    assert_eq!(transitions(&p.tick(t(106), &mut ids)), [Transition::Raised]);
    // An open alarm reports its suppression.
    assert_eq!(
        transitions(&p.suppress(true, t(110))),
        [Transition::Suppressed]
    );
    assert!(p.update(Some(false), t(111), &mut ids).is_empty());
    assert_eq!(p.state(t(111)), AlarmState::Suppressed);
    assert_eq!(
        transitions(&p.suppress(false, t(120))),
        [Transition::Unsuppressed]
    );
    assert_eq!(p.state(t(120)), AlarmState::Unacknowledged);
}

#[test]
fn an_out_of_service_point_never_raises() {
    let mut ids = 0i64;
    let mut p = point(|s| s.out_of_service = true);
    assert!(p.update(Some(true), t(0), &mut ids).is_empty());
    assert_eq!(p.state(t(0)), AlarmState::OutOfService);
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn an_active_unacknowledged_alarm_is_still_so_after_a_restart() {
    let mut ids = 0i64;
    let mut p = point(|s| s.re_alarm = Some(secs(60)));
    p.update(Some(true), t(0), &mut ids);
    p.explain(
        "boiler too hot".into(),
        serde_json::json!({ "temperature": 95.0 }),
    );
    let saved = serde_json::to_value(p.saved()).unwrap_or_default();
    let back: Persisted = serde_json::from_value(saved).unwrap_or_default();
    let mut q = AlarmPoint::restore(p.settings().clone(), back);
    assert_eq!(q.state(t(30)), AlarmState::Unacknowledged);
    assert_eq!(q.saved().message, "boiler too hot");
    // Its re-alarm timer runs on from before the restart.
    assert_eq!(q.next_deadline(), Some(t(60)));
    // The first evaluation after the restart finds the condition still true: no new raise.
    assert!(q.update(Some(true), t(31), &mut ids).is_empty());
    assert_eq!(q.saved().alarm_id, Some(1));
}
