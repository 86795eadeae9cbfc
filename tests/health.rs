//! Device health end to end: a device that stops answering goes offline, is demoted after N
//! failures, does not slow another device down, and comes back online.

mod common;

use std::time::Duration;

use common::{TestGateway, modbus_device, modbus_sim, wait_for};
use plcdiag::model::HealthState;
use plcdiag_modbus::Fault;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_goes_offline_then_demoted_while_others_keep_polling_and_it_recovers() {
    let failing = modbus_sim().await;
    let healthy = modbus_sim().await;
    let text = format!(
        "{}\n{}",
        modbus_device(
            "failing",
            &failing,
            "interval = \"100ms\"\ntimeout = \"400ms\"\ndemote_after = 3\ndemote_for = \"1s\""
        ),
        modbus_device(
            "healthy",
            &healthy,
            "interval = \"50ms\"\ntimeout = \"400ms\""
        ),
    );
    let gw = TestGateway::start(&text).await;
    wait_for("both online", LIMIT, || async {
        (gw.device("failing").health.state == HealthState::Online
            && gw.device("healthy").health.state == HealthState::Online)
            .then_some(())
    })
    .await;

    failing.set_fault(Fault::NoAnswer);
    let healthy_before = healthy.requests_served();
    let offline = wait_for("failing offline", LIMIT, || async {
        let d = gw.device("failing");
        (d.health.state == HealthState::Offline).then_some(d)
    })
    .await;
    assert_eq!(
        offline.health.consecutive_failures, 1,
        "offline on the first unanswered poll"
    );
    assert!(
        offline
            .health
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no response")),
        "{:?}",
        offline.health.last_error
    );
    assert!(
        offline
            .values
            .iter()
            .all(|v| v.quality == plcdiag::model::Quality::Stale),
        "{:?}",
        offline.values
    );

    let demoted = wait_for("failing demoted", LIMIT, || async {
        let d = gw.device("failing");
        (d.health.state == HealthState::Demoted).then_some(d)
    })
    .await;
    assert_eq!(demoted.health.consecutive_failures, 3);
    // Three failed polls took at least 3 x 400 ms; the healthy device (every 50 ms, two
    // registers in one request) went on meanwhile instead of waiting behind them.
    let healthy_polls = healthy.requests_served() - healthy_before;
    assert!(
        healthy_polls >= 8,
        "healthy device polled only {healthy_polls} times during three timeouts of the other"
    );
    assert_eq!(gw.device("healthy").health.state, HealthState::Online);

    failing.set_fault(Fault::None);
    let back = wait_for("failing online again", LIMIT, || async {
        let d = gw.device("failing");
        (d.health.state == HealthState::Online).then_some(d)
    })
    .await;
    assert_eq!(back.health.consecutive_failures, 0);
    assert_eq!(back.values[0].value, Some(100.0));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_whose_server_is_gone_is_offline_and_reconnects_when_it_returns() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_device(
        "plc",
        &sim,
        "interval = \"100ms\"\ntimeout = \"300ms\"\ndemote_after = 0",
    ))
    .await;
    wait_for("online", LIMIT, || async {
        (gw.device("plc").health.state == HealthState::Online).then_some(())
    })
    .await;
    sim.stop().await;
    let d = wait_for("offline", LIMIT, || async {
        let d = gw.device("plc");
        (d.health.state == HealthState::Offline).then_some(d)
    })
    .await;
    assert!(d.health.last_error.is_some());
    sim.restart()
        .await
        .unwrap_or_else(|e| panic!("restart: {e}"));
    sim.set_holding(0, &[4242]);
    wait_for("online with the new value", LIMIT, || async {
        let d = gw.device("plc");
        (d.health.state == HealthState::Online && d.values[0].value == Some(4242.0)).then_some(())
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_errors_at_startup_does_not_stop_the_other_devices() {
    let sim = modbus_sim().await;
    let text = format!(
        "[[devices]]\nname = \"no-port\"\nkind = \"modbus\"\naddress = \"rtu:///dev/plcdiag-no-such-tty\"\n\
         interval = \"100ms\"\ntimeout = \"100ms\"\n[[devices.tags]]\nname = \"x\"\naddress = \"hr:0\"\n\n{}",
        modbus_device("ok", &sim, "interval = \"100ms\"")
    );
    let gw = TestGateway::start(&text).await;
    let broken = wait_for("broken device reports its error", LIMIT, || async {
        let d = gw.device("no-port");
        (d.health.state == HealthState::Offline).then_some(d)
    })
    .await;
    assert!(
        broken
            .health
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("plcdiag-no-such-tty")),
        "{:?}",
        broken.health.last_error
    );
    wait_for("good device online", LIMIT, || async {
        (gw.device("ok").health.state == HealthState::Online).then_some(())
    })
    .await;
    gw.stop().await;
}
