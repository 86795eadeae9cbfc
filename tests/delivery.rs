//! Webhook delivery end to end: a real HTTP receiver that fails its first requests, then goes
//! down, while the gateway restarts in between. Every alarm change must arrive, in order per
//! alarm, and the set received must be exactly the journal.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{TestGateway, modbus_sim, wait_for};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// The gateway's address in the config (written with a trailing `/`, which is dropped) and
/// the link each alert must carry.
const EXTERNAL_URL: &str = "https://scada.example/plcdiag";
const GENERATOR_URL: &str = "https://scada.example/plcdiag/alarms?device=boiler&rule=level_high";

/// What the receiver got: (journal id, alarm id, transition, idempotency key) in arrival order.
type Received = Arc<Mutex<Vec<(i64, i64, String, String)>>>;

#[derive(Clone)]
struct Receiver {
    got: Received,
    /// Requests still to refuse with 500.
    fail_first: Arc<AtomicUsize>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if r.fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut got = r.got.lock().unwrap_or_else(|e| e.into_inner());
    // The link back to the UI, from `gateway.external_url`: a wrong one is refused, and the
    // refused notices are then missing from the set the test expects.
    let links_ok = v["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|a| a["generatorURL"] == GENERATOR_URL);
    if v["externalURL"] != EXTERNAL_URL || !links_ok {
        return StatusCode::BAD_REQUEST;
    }
    for a in v["alerts"].as_array().into_iter().flatten() {
        let ann = &a["annotations"];
        let num = |k: &str| {
            ann[k]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or(ann[k].as_i64())
                .unwrap_or(-1)
        };
        got.push((
            num("journal_id"),
            num("alarm_id"),
            ann["transition"].as_str().unwrap_or("").to_owned(),
            key.clone(),
        ));
    }
    StatusCode::OK
}

/// Binds the receiver (on `addr`, or a free port) and serves until the handle is aborted.
async fn serve(r: Receiver, addr: SocketAddr) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("bind receiver: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let app = Router::new().route("/hook", post(hook)).with_state(r);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

async fn open_alarm(gw: &TestGateway, state: &str) -> Value {
    wait_for(&format!("an alarm {state}"), LIMIT, || async {
        let (_, body) = gw.get_json("/api/alarms").await;
        body["alarms"]
            .as_array()?
            .iter()
            .find(|a| a["state"] == state)
            .cloned()
    })
    .await
}

async fn ack(gw: &TestGateway, alarm: &Value) {
    let r = gw
        .http
        .post(format!("{}/api/alarms/{}/ack", gw.base, alarm["id"]))
        .json(&serde_json::json!({ "user": "ann" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("ack: {e}"));
    assert_eq!(r.status().as_u16(), 200);
}

/// One full alarm cycle: raised, cleared, acknowledged.
async fn cycle(gw: &TestGateway, sim: &plcdiag_modbus::SimHandle) {
    sim.set_holding(0, &[200]);
    open_alarm(gw, "unacknowledged").await;
    sim.set_holding(0, &[100]);
    let a = open_alarm(gw, "rtn_unacknowledged").await;
    ack(gw, &a).await;
    wait_for("alarm closed", LIMIT, || async {
        let (_, body) = gw.get_json("/api/alarms").await;
        body["alarms"].as_array()?.is_empty().then_some(())
    })
    .await;
}

/// Journal ids by alarm, from the API.
async fn journal_ids(gw: &TestGateway) -> BTreeMap<i64, Vec<i64>> {
    let (_, body) = gw.get_json("/api/alarms/history?limit=10000").await;
    let mut by_alarm: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for e in body["entries"].as_array().into_iter().flatten() {
        by_alarm
            .entry(e["alarm_id"].as_i64().unwrap_or(-1))
            .or_default()
            .push(e["id"].as_i64().unwrap_or(-1));
    }
    for ids in by_alarm.values_mut() {
        ids.sort_unstable();
    }
    by_alarm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alarm_change_arrives_in_order_through_failures_an_outage_and_a_restart() {
    let got: Received = Arc::default();
    let receiver = Receiver {
        got: got.clone(),
        fail_first: Arc::new(AtomicUsize::new(3)),
    };
    let (addr, server) = serve(receiver.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let sim = modbus_sim().await;
    let port = sim.addr().map_or(0, |a| a.port());
    let text = format!(
        r#"[gateway]
database = "h.db"
external_url = "{EXTERNAL_URL}/"

[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://127.0.0.1:{port}"
interval = "50ms"

[[devices.tags]]
name = "level"
address = "hr:0"

[[rules]]
name = "level_high"
device = "boiler"
when = "level > 150"

[[receivers]]
name = "hook"
kind = "webhook"
url = "http://{addr}/hook"
"#
    );

    // 1. The receiver refuses the first three requests: retried until delivered.
    let gw = TestGateway::start(&text).await;
    cycle(&gw, &sim).await;

    // 2. The receiver goes down (connections refused) while alarms keep changing.
    server.abort();
    let _ = server.await;
    cycle(&gw, &sim).await;
    sim.set_holding(0, &[200]);
    open_alarm(&gw, "unacknowledged").await;

    // 3. The gateway restarts while the receiver is still down, and more happens.
    let dir = gw.stop().await;
    let gw = TestGateway::start_in(&text, dir).await;
    sim.set_holding(0, &[100]);
    let a = open_alarm(&gw, "rtn_unacknowledged").await;
    ack(&gw, &a).await;

    // 4. The receiver returns on the same address: everything pending is delivered.
    let (_, server) = serve(receiver, addr).await;
    let expected = journal_ids(&gw).await;
    let all: BTreeSet<i64> = expected.values().flatten().copied().collect();
    assert_eq!(all.len(), 9, "three full cycles journalled: {expected:?}");
    wait_for("every journal row received", LIMIT, || async {
        let got = got.lock().unwrap_or_else(|e| e.into_inner());
        let ids: BTreeSet<i64> = got.iter().map(|g| g.0).collect();
        (ids == all).then_some(())
    })
    .await;

    let got = got.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Exactly the journal: nothing missing, nothing that is not in it.
    let ids: BTreeSet<i64> = got.iter().map(|g| g.0).collect();
    assert_eq!(ids, all);
    // In order per alarm (first arrival of each row).
    let mut seen = BTreeSet::new();
    let mut arrival: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (journal, alarm, _, _) in &got {
        if seen.insert(*journal) {
            arrival.entry(*alarm).or_default().push(*journal);
        }
    }
    assert_eq!(arrival, expected, "per-alarm order");
    // A repeat is only ever a resend of the same request (same idempotency key).
    let mut keys: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (journal, _, _, key) in &got {
        keys.entry(*journal).or_default().insert(key.clone());
    }
    for (journal, k) in &keys {
        assert_eq!(
            k.len(),
            1,
            "row {journal} was sent under several keys: {k:?}"
        );
    }
    let transitions: Vec<&str> = got.iter().map(|g| g.2.as_str()).collect();
    assert!(transitions.contains(&"raised") && transitions.contains(&"acknowledged"));
    gw.stop().await;
    server.abort();
}

/// Issue 12: a receiver that always fails does not hold its notices forever: past
/// `max_attempts` they are dead-lettered, listed by the API and on the alarms page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_a_receiver_keeps_failing_are_given_up_and_listed() {
    let receiver = Receiver {
        got: Arc::default(),
        fail_first: Arc::new(AtomicUsize::new(usize::MAX)),
    };
    let (addr, _server) = serve(receiver.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let sim = modbus_sim().await;
    let text = format!(
        r#"{}
[[rules]]
name = "level_high"
device = "boiler"
when = "level > 150"

[[receivers]]
name = "broken-hook"
kind = "webhook"
url = "http://{addr}/hook"
max_attempts = 2
"#,
        common::boiler_level(&sim)
    );
    let gw = TestGateway::start(&text).await;
    sim.set_holding(0, &[200]);
    open_alarm(&gw, "unacknowledged").await;
    let dead = wait_for("a notice given up", LIMIT, || async {
        let (_, body) = gw.get_json("/api/notifications/undelivered").await;
        body["notices"]
            .as_array()
            .filter(|a| !a.is_empty())
            .cloned()
    })
    .await;
    assert_eq!(dead[0]["receiver"], "broken-hook", "{dead:?}");
    assert_eq!(dead[0]["transition"], "raised", "{dead:?}");
    assert_eq!(dead[0]["attempts"], 2, "{dead:?}");
    let reason = dead[0]["reason"].as_str().unwrap_or("");
    assert!(
        reason.starts_with("given up after 2 failed attempts"),
        "{reason}"
    );
    let page = gw.get_text("/alarms").await;
    let html = scraper::Html::parse_document(&page);
    let row = scraper::Selector::parse("#undelivered tbody tr").unwrap_or_else(|e| panic!("{e:?}"));
    let rows: Vec<String> = html.select(&row).map(|r| r.text().collect()).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("broken-hook") && rows[0].contains("given up"),
        "{rows:?}"
    );
    gw.stop().await;
}
