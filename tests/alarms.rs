//! Alarm rules end to end: diagnostic events from the S7 and MELSEC simulators raise alarms,
//! operators acknowledge and shelve them through the API (with tokens once auth is
//! configured), and an active unacknowledged alarm survives a gateway restart.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestGateway, modbus_sim, wait_for};
use plcdiag_melsec::sim::{McSim, SimStation};
use plcdiag_modbus::SimHandle;
use plcdiag_s7::sim::{S7Sim, SimMode};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(20);

/// The open alarm of `rule`, once it is in `state`.
async fn alarm_in_state(gw: &TestGateway, rule: &str, state: &str) -> Value {
    alarm_in_state_as(gw, rule, state, None).await
}

/// GET `path` with an optional bearer token.
async fn get_as(gw: &TestGateway, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = gw.http.get(format!("{}{path}", gw.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// [`alarm_in_state`] reading with a bearer token.
async fn alarm_in_state_as(
    gw: &TestGateway,
    rule: &str,
    state: &str,
    token: Option<&str>,
) -> Value {
    wait_for(&format!("alarm {rule} {state}"), LIMIT, || async {
        let (_, body) = get_as(gw, "/api/alarms", token).await;
        body["alarms"]
            .as_array()?
            .iter()
            .find(|a| a["rule"] == rule && a["state"] == state)
            .cloned()
    })
    .await
}

/// Transitions of alarm `id`, oldest first.
async fn journal(gw: &TestGateway, id: i64) -> Vec<(String, String, Option<String>)> {
    let (status, body) = gw.get_json(&format!("/api/alarms/{id}")).await;
    assert_eq!(status, 200, "{body}");
    let mut rows: Vec<(String, String, Option<String>)> = body["journal"]
        .as_array()
        .map(|j| {
            j.iter()
                .map(|r| {
                    (
                        r["transition"].as_str().unwrap_or("").to_owned(),
                        r["state"].as_str().unwrap_or("").to_owned(),
                        r["user"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    rows.reverse();
    rows
}

async fn post(gw: &TestGateway, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = gw.http.post(format!("{}{path}", gw.base)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn id(alarm: &Value) -> i64 {
    alarm["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {alarm}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s7_module_fault_raises_an_alarm_that_clears_with_its_leaving_event() {
    let sim = S7Sim::builder()
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let text = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "cpu"
kind = "s7"
address = "{}"
interval = "100ms"
status_interval = "200ms"

[[rules]]
name = "io_fault"
device = "cpu"
when = "event_active(0x3942)"
priority = "high"
message = "{{device}}: {{event}}"

[[rules]]
name = "cpu_stop"
device = "cpu"
when = 'cpu_mode() == "STOP"'
priority = "critical"
"#,
        sim.addr()
    );
    let gw = TestGateway::start(&text).await;
    wait_for("cpu online", LIMIT, || async {
        (gw.device("cpu").health.state == plcdiag::model::HealthState::Online).then_some(())
    })
    .await;
    let (_, none) = gw.get_json("/api/alarms").await;
    assert_eq!(none["alarms"], json!([]), "nothing is wrong yet");

    sim.set_module_fault(0, 4, true);
    let alarm = alarm_in_state(&gw, "io_fault", "unacknowledged").await;
    assert_eq!(alarm["device"], "cpu");
    assert_eq!(alarm["priority"], "high");
    assert!(
        alarm["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("cpu: ") && m.len() > 6),
        "the message carries the event text: {alarm}"
    );

    // The leaving event (0x3842) clears it; it waits for acknowledgement.
    sim.set_module_fault(0, 4, false);
    let alarm = alarm_in_state(&gw, "io_fault", "rtn_unacknowledged").await;
    let (status, body) = post(
        &gw,
        &format!("/api/alarms/{}/ack", id(&alarm)),
        None,
        json!({ "user": "ann", "note": "module replaced" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alarm"]["state"], "normal");
    assert_eq!(body["alarm"]["acked_by"], "ann");
    assert_eq!(
        journal(&gw, id(&alarm)).await,
        [
            ("raised".into(), "unacknowledged".into(), None),
            ("cleared".into(), "rtn_unacknowledged".into(), None),
            ("acknowledged".into(), "normal".into(), Some("ann".into())),
        ]
    );
    let (_, open) = gw.get_json("/api/alarms").await;
    assert_eq!(
        open["alarms"],
        json!([]),
        "acknowledged and cleared: {open}"
    );

    // A second acknowledgement is refused, with the reason.
    let (status, body) = post(
        &gw,
        &format!("/api/alarms/{}/ack", id(&alarm)),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // STOP raises the mode rule.
    sim.set_mode(SimMode::Stop);
    let stop = alarm_in_state(&gw, "cpu_stop", "unacknowledged").await;
    assert_eq!(stop["priority"], "critical");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_melsec_station_drop_and_a_cpu_error_raise_alarms_naming_the_cause() {
    let sim = McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "conveyor inputs"),
                SimStation::remote_io(2, "valve terminal"),
            ],
        )
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let text = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "plc"
kind = "melsec"
address = "{}"
interval = "100ms"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
name = "conveyor inputs"

[[devices.cclink.stations]]
number = 2
name = "valve terminal"
model = "AJ65SBTB1-16T"

[[rules]]
name = "valves_down"
device = "plc"
when = 'station_down("line 3", 2)'
priority = "high"
message = "{{stations}}"

[[rules]]
name = "cpu_error"
device = "plc"
when = "cpu_error() != 0"
ack = "auto"
"#,
        sim.addr()
    );
    let gw = TestGateway::start(&text).await;
    wait_for("plc online", LIMIT, || async {
        (gw.device("plc").health.state == plcdiag::model::HealthState::Online).then_some(())
    })
    .await;

    sim.drop_station(0, 2, true);
    let alarm = alarm_in_state(&gw, "valves_down", "unacknowledged").await;
    let message = alarm["message"].as_str().unwrap_or("");
    assert!(
        message.contains("valve terminal") && message.contains('2'),
        "the message names the station: {message}"
    );
    sim.drop_station(0, 2, false);
    alarm_in_state(&gw, "valves_down", "rtn_unacknowledged").await;

    // A CPU error code raises; ack = "auto" acknowledges it when the error clears.
    sim.set_cpu_error(Some(0x0A20));
    let err = alarm_in_state(&gw, "cpu_error", "unacknowledged").await;
    sim.set_cpu_error(None);
    wait_for("cpu error alarm closed", LIMIT, || async {
        let (_, body) = gw.get_json("/api/alarms").await;
        let open = body["alarms"].as_array()?;
        (!open.iter().any(|a| a["id"] == err["id"])).then_some(())
    })
    .await;
    let states: Vec<String> = journal(&gw, id(&err))
        .await
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(states, ["unacknowledged", "normal"]);
    gw.stop().await;
}

fn modbus_rules(sim: &SimHandle, extra: &str) -> String {
    let port = sim.addr().map_or(0, |a| a.port());
    format!(
        r#"[gateway]
database = "h.db"

{extra}

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
priority = "medium"
message = "level {{level}} over 150"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_actions_need_an_operator_token_once_auth_is_configured() {
    let sim = modbus_sim().await;
    sim.set_holding(0, &[200]);
    let auth = r#"[[auth.tokens]]
name = "scada"
token = "operator-token-0123456789"

[[auth.tokens]]
name = "wallboard"
token = "viewer-token-0123456789"
role = "viewer"
"#;
    let gw = TestGateway::start(&modbus_rules(&sim, auth)).await;
    let viewer = Some("viewer-token-0123456789");
    let alarm = alarm_in_state_as(&gw, "level_high", "unacknowledged", viewer).await;
    assert_eq!(alarm["message"], "level 200 over 150");
    let path = format!("/api/alarms/{}/ack", id(&alarm));

    let (status, body) = post(&gw, &path, None, json!({})).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = post(&gw, &path, Some("not-a-token-at-all-000"), json!({})).await;
    assert_eq!(status, 401);
    let (status, body) = post(&gw, &path, Some("viewer-token-0123456789"), json!({})).await;
    assert_eq!(status, 403, "{body}");
    // Reads need a token too once auth is configured; a viewer may read.
    let (status, _) = gw.get_json("/api/alarms/history").await;
    assert_eq!(status, 401);
    let (status, _) = get_as(&gw, "/api/alarms/history", viewer).await;
    assert_eq!(status, 200);

    let (status, body) = post(
        &gw,
        &path,
        Some("operator-token-0123456789"),
        json!({ "user": "mallory", "note": "seen" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["alarm"]["acked_by"], "scada",
        "the token's name is recorded, not the claimed user"
    );
    assert_eq!(body["alarm"]["state"], "acknowledged");

    // Shelve and unshelve, also with the operator token.
    let shelve = format!("/api/alarms/{}/shelve", id(&alarm));
    let (status, _) = post(&gw, &shelve, None, json!({ "duration": "2h" })).await;
    assert_eq!(status, 401);
    let (status, body) = post(
        &gw,
        &shelve,
        Some("operator-token-0123456789"),
        json!({ "duration": "2h", "note": "sensor being recalibrated" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alarm"]["state"], "shelved");
    let (status, body) = post(
        &gw,
        &format!("/api/alarms/{}/unshelve", id(&alarm)),
        Some("operator-token-0123456789"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alarm"]["state"], "acknowledged");

    let metrics = gw
        .http
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("metrics: {e}"))
        .text()
        .await
        .unwrap_or_default();
    for line in [
        "plcdiag_alarm_transitions_total{transition=\"raised\"} 1",
        "plcdiag_alarm_transitions_total{transition=\"acknowledged\"} 1",
        "plcdiag_alarm_commit_seconds_count",
        "plcdiag_rule_evaluations_total",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    let (status, body) = post(
        &gw,
        "/api/alarms/999999/ack",
        Some("operator-token-0123456789"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(
        &gw,
        &shelve,
        Some("operator-token-0123456789"),
        json!({ "duration": "soon" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_unacknowledged_alarm_is_still_so_after_a_restart() {
    let sim = modbus_sim().await;
    sim.set_holding(0, &[200]);
    let text = modbus_rules(&sim, "");
    let gw = TestGateway::start(&text).await;
    let before = alarm_in_state(&gw, "level_high", "unacknowledged").await;
    let dir = gw.stop().await;

    let gw = TestGateway::start_in(&text, dir).await;
    wait_for("boiler polled after the restart", LIMIT, || async {
        (gw.device("boiler").health.state == plcdiag::model::HealthState::Online).then_some(())
    })
    .await;
    let after = alarm_in_state(&gw, "level_high", "unacknowledged").await;
    assert_eq!(
        after["id"], before["id"],
        "the same activation, not a new one"
    );
    assert_eq!(after["raised_at"], before["raised_at"]);
    // The condition still holds after the restart: no second raise in the journal.
    let raised = journal(&gw, id(&after))
        .await
        .into_iter()
        .filter(|r| r.0 == "raised")
        .count();
    assert_eq!(raised, 1);

    // It still clears and acknowledges as usual.
    sim.set_holding(0, &[100]);
    alarm_in_state(&gw, "level_high", "rtn_unacknowledged").await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_and_kpis_endpoints_filter_and_count_activations() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_rules(&sim, "")).await;
    for _ in 0..3 {
        sim.set_holding(0, &[200]);
        alarm_in_state(&gw, "level_high", "unacknowledged").await;
        sim.set_holding(0, &[100]);
        let a = alarm_in_state(&gw, "level_high", "rtn_unacknowledged").await;
        let (status, _) = post(&gw, &format!("/api/alarms/{}/ack", id(&a)), None, json!({})).await;
        assert_eq!(status, 200);
    }
    let (status, body) = gw
        .get_json("/api/alarms/history?device=boiler&transition=raised")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entries"].as_array().map(Vec::len), Some(3));
    let (_, body) = gw.get_json("/api/alarms/history?device=nobody").await;
    assert_eq!(body["entries"], json!([]));
    let (status, body) = gw.get_json("/api/alarms/history?priority=urgent").await;
    assert_eq!(status, 400, "{body}");

    let (status, kpis) = gw.get_json("/api/alarms/kpis").await;
    assert_eq!(status, 200, "{kpis}");
    assert_eq!(kpis["total_activations"], 3, "{kpis}");
    assert_eq!(
        kpis["chattering"][0]["rule"], "level_high",
        "3 within a minute: {kpis}"
    );
    assert_eq!(kpis["top10"][0]["activations"], 3);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_buffer_entries_raise_no_pulses_and_open_events_stay_open_across_a_restart() {
    let sim = S7Sim::builder()
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    // Already in the CPU's buffer before the gateway ever saw it: an old STOP by the switch,
    // and a module error that is still there.
    sim.push_event(0x4304, 0, 0, 0);
    sim.push_event(0x3942, 82, 256, 4);
    let text = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "cpu"
kind = "s7"
address = "{}"
interval = "100ms"

[[rules]]
name = "stop_switch"
device = "cpu"
when = "event(0x4304)"

[[rules]]
name = "io_fault"
device = "cpu"
when = "event_active(0x3942)"
"#,
        sim.addr()
    );
    let gw = TestGateway::start(&text).await;
    let io = alarm_in_state(&gw, "io_fault", "unacknowledged").await;
    let (_, history) = gw.get_json("/api/alarms/history?rule=stop_switch").await;
    assert_eq!(
        history["entries"],
        json!([]),
        "an old entry is no new event: {history}"
    );
    let dir = gw.stop().await;

    let gw = TestGateway::start_in(&text, dir).await;
    // A new STOP after the restart is an event: it raises.
    sim.push_event(0x4304, 0, 0, 0);
    alarm_in_state(&gw, "stop_switch", "rtn_unacknowledged").await;
    // The module error never left: its alarm is the same, still active.
    let (_, open) = gw.get_json("/api/alarms").await;
    let still = open["alarms"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["rule"] == "io_fault").cloned())
        .unwrap_or_default();
    assert_eq!(still["id"], io["id"], "{open}");
    assert_eq!(still["state"], "unacknowledged", "{open}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_alarm_of_a_removed_rule_can_still_be_acknowledged_and_a_finished_one_not() {
    let sim = modbus_sim().await;
    sim.set_holding(0, &[200]);
    let text = modbus_rules(&sim, "");
    let gw = TestGateway::start(&text).await;
    let first = alarm_in_state(&gw, "level_high", "unacknowledged").await;
    let (status, _) = post(
        &gw,
        &format!("/api/alarms/{}/ack", id(&first)),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    sim.set_holding(0, &[100]);
    wait_for("first activation closed", LIMIT, || async {
        let (_, body) = gw.get_json("/api/alarms").await;
        body["alarms"].as_array()?.is_empty().then_some(())
    })
    .await;
    sim.set_holding(0, &[200]);
    let second = alarm_in_state(&gw, "level_high", "unacknowledged").await;
    assert_ne!(second["id"], first["id"]);
    // The first activation is finished: it cannot be acknowledged again.
    let (status, body) = post(
        &gw,
        &format!("/api/alarms/{}/shelve", id(&first)),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let dir = gw.stop().await;

    // The rule is renamed: the open alarm of the old name has no point any more.
    let renamed = text.replace("name = \"level_high\"", "name = \"level_very_high\"");
    let gw = TestGateway::start_in(&renamed, dir).await;
    let (status, body) = post(
        &gw,
        &format!("/api/alarms/{}/ack", id(&second)),
        None,
        json!({ "user": "ann", "note": "rule was renamed" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alarm"]["state"], "normal");
    assert_eq!(body["alarm"]["acked_by"], "ann");
    gw.stop().await;
}

/// Issue 12, finding 2: on a new gateway (no history) whose CPU's buffer was empty at the first
/// read, the first diagnostic event is news: it raises its `event()` alarm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_s7_event_of_a_new_gateway_raises_its_alarm() {
    let sim = S7Sim::builder()
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let text = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "cpu"
kind = "s7"
address = "{}"
interval = "100ms"

[[rules]]
name = "stop_switch"
device = "cpu"
when = "event(0x4304)"
"#,
        sim.addr()
    );
    let gw = TestGateway::start(&text).await;
    // Several polls have read the (empty) buffer.
    let served = sim.requests_served();
    wait_for("a few polls", LIMIT, || async {
        (sim.requests_served() > served + 10).then_some(())
    })
    .await;
    sim.push_event(0x4304, 0, 0, 0);
    alarm_in_state(&gw, "stop_switch", "rtn_unacknowledged").await;
    gw.stop().await;
}

/// Issue 12, finding 2, for MELSEC: the first CC-Link station drop of a new gateway raises
/// its `event_class()` alarm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_melsec_station_event_of_a_new_gateway_raises_its_alarm() {
    let sim = McSim::builder()
        .cclink(0, 0, [SimStation::remote_io(1, "conveyor inputs")])
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let text = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "plc"
kind = "melsec"
address = "{}"
interval = "100ms"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
name = "conveyor inputs"

[[rules]]
name = "station_event"
device = "plc"
when = "event_class(2)"
"#,
        sim.addr()
    );
    let gw = TestGateway::start(&text).await;
    let served = sim.requests_served();
    wait_for("a few polls", LIMIT, || async {
        (sim.requests_served() > served + 10).then_some(())
    })
    .await;
    sim.drop_station(0, 1, true);
    alarm_in_state(&gw, "station_event", "rtn_unacknowledged").await;
    gw.stop().await;
}
