//! The SQLite history: survives a restart, keeps a health timeline and samples on change,
//! and prunes rows past retention.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{TestGateway, modbus_device, modbus_sim, wait_for};
use plcdiag::store::{Store, writer::prune_older_than};

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_written_before_a_restart_is_there_after_it() {
    let sim = modbus_sim().await;
    let text = format!(
        "[gateway]\ndatabase = \"h.db\"\n{}",
        modbus_device("plc", &sim, "interval = \"50ms\"")
    );
    let gw = TestGateway::start(&text).await;
    wait_for("first values", LIMIT, || async {
        gw.device("plc").values[0].value.map(|_| ())
    })
    .await;
    sim.set_holding(0, &[7]);
    wait_for("changed value", LIMIT, || async {
        (gw.device("plc").values[0].value == Some(7.0)).then_some(())
    })
    .await;
    // Shutdown flushes the writer; a new gateway on the same folder reads the same history.
    let dir = gw.stop().await;
    let gw = TestGateway::start_in(&text, dir).await;
    let from = Utc::now() - chrono::Duration::hours(1);
    let h = gw
        .gateway
        .store
        .history("plc", from, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no device"));
    let r0: Vec<f64> = h
        .samples
        .iter()
        .filter(|s| s.tag == "r0")
        .filter_map(|s| s.value)
        .collect();
    assert!(r0.starts_with(&[100.0, 7.0]), "samples of r0: {r0:?}");
    // Unchanged values are stored once (deadband 0, max_interval 60s), not every 50 ms poll.
    let r1 = h.samples.iter().filter(|s| s.tag == "r1").count();
    assert_eq!(r1, 1, "r1 never changed: {:?}", h.samples);
    assert_eq!(h.timeline.first().map(|t| t.state.as_str()), Some("online"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_timeline_records_offline_and_back() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_device(
        "plc",
        &sim,
        "interval = \"50ms\"\ntimeout = \"200ms\"\ndemote_after = 0",
    ))
    .await;
    wait_for("online", LIMIT, || async {
        (gw.device("plc").health.state.as_str() == "online").then_some(())
    })
    .await;
    sim.stop().await;
    wait_for("offline", LIMIT, || async {
        (gw.device("plc").health.state.as_str() == "offline").then_some(())
    })
    .await;
    sim.restart().await.unwrap_or_else(|e| panic!("{e}"));
    wait_for("online again", LIMIT, || async {
        (gw.device("plc").health.consecutive_failures == 0
            && gw.device("plc").health.state.as_str() == "online")
            .then_some(())
    })
    .await;
    let h = gw
        .gateway
        .store
        .history("plc", Utc::now() - chrono::Duration::hours(1), Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no device"));
    let states: Vec<&str> = h.timeline.iter().map(|t| t.state.as_str()).collect();
    let compact: Vec<&str> = states.iter().copied().fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    assert_eq!(
        compact,
        ["online", "offline", "online"],
        "timeline {states:?}"
    );
    let offline = h
        .timeline
        .iter()
        .find(|t| t.state == "offline")
        .unwrap_or_else(|| panic!("no offline row"));
    assert!(offline.error.is_some());
    gw.stop().await;
}

#[tokio::test]
async fn retention_prunes_rows_older_than_the_period_and_keeps_newer_ones() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sim = modbus_sim().await;
    let text = format!(
        "[gateway]\ndatabase = \"h.db\"\n{}",
        modbus_device("plc", &sim, "interval = \"50ms\"")
    );
    let gw = TestGateway::start_in(&text, dir).await;
    wait_for("first values", LIMIT, || async {
        gw.device("plc").values[0].value.map(|_| ())
    })
    .await;
    let dir = gw.stop().await;
    let store = Store::open(&dir.path().join("h.db"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let all = |s: Store| async move {
        s.history("plc", Utc::now() - chrono::Duration::days(1), Utc::now())
            .await
            .ok()
            .flatten()
            .map(|h| (h.samples.len(), h.timeline.len()))
    };
    let (samples, transitions) = all(store.clone()).await.unwrap_or_default();
    assert!(
        samples >= 2 && transitions >= 1,
        "samples {samples}, transitions {transitions}"
    );
    // A retention of one hour, seen from now: nothing is old enough.
    assert_eq!(
        prune_older_than(&store, Utc::now(), Duration::from_secs(3600))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    // Seen from two hours in the future, every row is past retention.
    let pruned = prune_older_than(
        &store,
        Utc::now() + chrono::Duration::hours(2),
        Duration::from_secs(3600),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pruned as usize, samples + transitions);
    assert_eq!(all(store.clone()).await, Some((0, 0)));
    store.close().await;
}
