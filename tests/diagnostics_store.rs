//! Diagnostic events and status changes through the hub into the history and out of the API.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::{TestGateway, wait_for};
use plcdiag::model::{CpuModeView, DiagEvent, Observation, StatusUpdate};

const LIMIT: Duration = Duration::from_secs(20);
/// A device that is registered but not polled, so only the test publishes for it.
const CONFIG: &str = "[gateway]\ndatabase = \"h.db\"\n[[devices]]\nname = \"cpu\"\nkind = \"modbus\"\naddress = \"h\"\nenabled = false\n";

fn event(n: u8) -> DiagEvent {
    DiagEvent {
        device_time: chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.and_hms_milli_opt(8, 0, u32::from(n), 5)),
        gateway_time: Utc::now(),
        event_id: 0x4302,
        class: 4,
        entering: Some(true),
        text: "Mode transition from RUN to STOP".into(),
        details: serde_json::json!({ "ob": 0 }),
        raw: vec![0x43, 0x02, 0xFF, n],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostic_events_are_stored_once_served_newest_first_and_resume_after_restart() {
    let gw = TestGateway::start(CONFIG).await;
    let hub = gw.gateway.hub();
    let publish = |events: Vec<DiagEvent>| Observation::Diagnostics {
        device: "cpu".into(),
        events: Arc::from(events),
        backlog: false,
    };
    hub.publish(publish(vec![event(1), event(2)])).await;
    // The same record again (e.g. read twice around a crash) is not stored twice.
    hub.publish(publish(vec![event(2), event(3)])).await;
    drop(hub);
    let body = wait_for("three events in the API", LIMIT, || async {
        let (status, body) = gw.get_json("/api/devices/cpu/diagnostics").await;
        assert_eq!(status, 200);
        (body["events"].as_array().map(Vec::len) == Some(3)).then_some(body)
    })
    .await;
    let raws: Vec<&str> = body["events"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["raw"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(raws, ["4302FF03", "4302FF02", "4302FF01"], "newest first");
    assert_eq!(body["events"][0]["event_hex"], "0x4302");
    assert_eq!(body["events"][0]["device_time"], "2026-11-25T08:00:03.005");
    assert_eq!(body["events"][0]["entering"], true);
    let (status, limited) = gw.get_json("/api/devices/cpu/diagnostics?limit=1").await;
    assert_eq!(
        (status, limited["events"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    // Paging: `next_before` leads through every event once, newest first, and the last page
    // has none.
    let mut paged = Vec::new();
    let mut path = "/api/devices/cpu/diagnostics?limit=1".to_owned();
    loop {
        let (status, page) = gw.get_json(&path).await;
        assert_eq!(status, 200, "{path}");
        paged.extend(
            page["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["raw"].as_str().map(str::to_owned)),
        );
        let Some(next) = page["next_before"].as_str() else {
            break;
        };
        assert!(paged.len() < 3, "a third page has no next_before");
        path = format!("/api/devices/cpu/diagnostics?limit=1&before={next}");
    }
    assert_eq!(paged, raws, "paged as served at once");
    let (_, other) = gw.get_json("/api/devices/cpu/diagnostics?class=5").await;
    assert_eq!(other["events"].as_array().map(Vec::len), Some(0));
    let (_, same) = gw.get_json("/api/devices/cpu/diagnostics?class=4").await;
    assert_eq!(same["events"].as_array().map(Vec::len), Some(3));
    for bad in ["limit=0", "class=16", "class=x", "before=8", "before=1-x"] {
        let (status, body) = gw
            .get_json(&format!("/api/devices/cpu/diagnostics?{bad}"))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = gw.get_json("/api/devices/nope/diagnostics").await;
    assert_eq!(status, 404);

    let dir = gw.stop().await;
    let store = plcdiag::store::Store::open(&dir.path().join("h.db"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cursors = store
        .last_diag_records()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cursors.get("cpu"),
        Some(&vec![0x43, 0x02, 0xFF, 3]),
        "resume point is the newest record"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_mode_changes_form_a_timeline_and_show_in_the_live_status() {
    let gw = TestGateway::start(CONFIG).await;
    let hub = gw.gateway.hub();
    for (mode, previous) in [("RUN", None), ("STOP", Some("RUN")), ("RUN", Some("STOP"))] {
        let update = StatusUpdate::CpuMode(CpuModeView {
            mode: mode.into(),
            previous: previous.map(Into::into),
            changed_at: None,
        });
        hub.publish(Observation::Status {
            device: "cpu".into(),
            at: Utc::now(),
            update,
        })
        .await;
    }
    drop(hub);
    let body = wait_for("three mode changes", LIMIT, || async {
        let (_, body) = gw.get_json("/api/devices/cpu/status?kind=cpu_mode").await;
        (body["changes"].as_array().map(Vec::len) == Some(3)).then_some(body)
    })
    .await;
    let modes: Vec<&str> = body["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["value"]["mode"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(modes, ["RUN", "STOP", "RUN"]);
    let (_, dev) = gw.get_json("/api/devices/cpu").await;
    assert_eq!(dev["status"]["cpu_mode"]["mode"], "RUN");
    assert_eq!(dev["status"]["cpu_mode"]["previous"], "STOP");
    let (status, _) = gw.get_json("/api/devices/cpu/status?kind=colour").await;
    assert_eq!(status, 400);
    gw.stop().await;
}
