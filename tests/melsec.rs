//! A gateway polling the MELSEC simulator: CPU run state and errors, the CC-Link station map
//! with station events and causes, tag values.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestGateway, wait_for};
use plcdiag_melsec::sim::{McSim, McSimHandle, SimStation};

const LIMIT: Duration = Duration::from_secs(20);

async fn plc() -> McSimHandle {
    McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "conveyor inputs"),
                SimStation::remote_io(2, "conveyor outputs"),
                SimStation::remote_device(3, 2, "inverter"),
                SimStation::remote_io(5, "valve terminal"),
                SimStation::remote_io(6, "light curtain"),
            ],
        )
        .words("D100", &[1234, 0xFFFE])
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"))
}

fn config(sim: &McSimHandle, transport: &str, frame: &str) -> String {
    format!(
        r#"[[devices]]
name = "plc"
kind = "melsec"
address = "{addr}"
transport = "{transport}"
frame = "{frame}"
interval = "100ms"
timeout = "500ms"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
name = "conveyor inputs"
model = "AJ65SBTB1-16D"

[[devices.cclink.stations]]
number = 2
name = "conveyor outputs"
model = "AJ65SBTB1-16T"

[[devices.cclink.stations]]
number = 3
occupies = 2
name = "inverter"

[[devices.cclink.stations]]
number = 5
name = "valve terminal"
model = "AJ65SBTB1-16D"

[[devices.cclink.stations]]
number = 6
name = "light curtain"

[[devices.tags]]
name = "count"
address = "D100:INT"

[[devices.tags]]
name = "setpoint"
address = "D101:INT"
scale = 0.5
"#,
        addr = sim.addr()
    )
}

async fn events(gw: &TestGateway) -> Vec<serde_json::Value> {
    let (_, body) = gw.get_json("/api/devices/plc/diagnostics?limit=1000").await;
    body["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_map_shows_a_dropped_station_and_a_cable_break_with_causes() {
    let sim = plc().await;
    let gw = TestGateway::start(&config(&sim, "tcp", "3e")).await;
    let dev = wait_for("plc online with its station map", LIMIT, || async {
        let (_, d) = gw.get_json("/api/devices/plc").await;
        (d["health"]["state"] == "online"
            && d["status"]["networks"]["line 3"]["stations"].is_array())
        .then_some(d)
    })
    .await;
    assert_eq!(dev["status"]["cpu_mode"]["mode"], "RUN");
    let net = &dev["status"]["networks"]["line 3"];
    let stations = net["stations"].as_array().cloned().unwrap_or_default();
    assert_eq!(stations.len(), 5, "{net}");
    assert!(stations.iter().all(|s| s["down"] == false), "{net}");
    assert_eq!(dev["values"][0]["value"], 1234.0);
    assert_eq!(
        dev["values"][1]["value"], -1.0,
        "INT 0xFFFE = -2, scaled by 0.5"
    );

    // One remote I/O station drops off the link.
    sim.drop_station(0, 5, true);
    let event = wait_for("a station event", LIMIT, || async {
        events(&gw)
            .await
            .into_iter()
            .find(|e| e["class"] == 2 && e["event_id"] == 5 && e["entering"] == true)
    })
    .await;
    let text = event["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("station 5 (valve terminal, AJ65SBTB1-16D): data link error"),
        "{text}"
    );
    let (_, d) = gw.get_json("/api/devices/plc").await;
    let s5 = d["status"]["networks"]["line 3"]["stations"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["number"] == 5).cloned());
    assert_eq!(s5.map(|s| s["down"].clone()), Some(serde_json::json!(true)));
    sim.drop_station(0, 5, false);
    wait_for("station 5 back", LIMIT, || async {
        events(&gw)
            .await
            .into_iter()
            .find(|e| e["class"] == 2 && e["event_id"] == 5 && e["entering"] == false)
    })
    .await;

    // A cable break after station 4 takes stations 5 and 6 together: one finding names it.
    sim.cable_break_after(0, Some(4));
    let finding = wait_for("a cable-break finding", LIMIT, || async {
        let (_, d) = gw.get_json("/api/devices/plc").await;
        d["status"]["networks"]["line 3"]["findings"]
            .as_array()?
            .iter()
            .find(|f| f["kind"] == "CableBreak")
            .cloned()
    })
    .await;
    assert_eq!(finding["stations"], serde_json::json!([5, 6]), "{finding}");
    assert!(
        finding["text"]["zh"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_errors_and_stop_are_reported_over_udp_4e() {
    let sim = plc().await;
    let gw = TestGateway::start(&config(&sim, "udp", "4e")).await;
    wait_for("online", LIMIT, || async {
        (gw.device("plc").health.state.as_str() == "online").then_some(())
    })
    .await;
    sim.set_cpu_error(Some(5000));
    sim.set_run_state(false);
    let dev = wait_for("STOP", LIMIT, || async {
        let (_, d) = gw.get_json("/api/devices/plc").await;
        (d["status"]["cpu_mode"]["mode"] == "STOP").then_some(d)
    })
    .await;
    assert_eq!(
        dev["health"]["state"], "online",
        "a stopped CPU still answers"
    );
    let error = wait_for("the CPU error event", LIMIT, || async {
        events(&gw)
            .await
            .into_iter()
            .find(|e| e["class"] == 1 && e["event_id"] == 5000 && e["entering"] == true)
    })
    .await;
    assert!(
        error["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{error}"
    );
    assert!(
        error["device_time"].is_string(),
        "the CPU's own error time (SD1-SD3): {error}"
    );
    sim.set_cpu_error(None);
    sim.set_run_state(true);
    wait_for("error cleared", LIMIT, || async {
        events(&gw)
            .await
            .into_iter()
            .find(|e| e["class"] == 1 && e["event_id"] == 5000 && e["entering"] == false)
    })
    .await;
    let (_, timeline) = gw.get_json("/api/devices/plc/status?kind=cpu_mode").await;
    let modes: Vec<&str> = timeline["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["value"]["mode"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(modes, ["RUN", "STOP", "RUN"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_station_list_a_station_that_returns_is_reported_and_can_drop_again() {
    let sim = plc().await;
    let text = format!(
        "[[devices]]\nname = \"plc\"\nkind = \"melsec\"\naddress = \"{}\"\ninterval = \"100ms\"\n[[devices.cclink]]\nname = \"line 3\"\n",
        sim.addr()
    );
    let gw = TestGateway::start(&text).await;
    let count = |entering: bool| {
        let gw = &gw;
        async move {
            events(gw)
                .await
                .iter()
                .filter(|e| e["class"] == 2 && e["event_id"] == 5 && e["entering"] == entering)
                .count()
        }
    };
    wait_for("online", LIMIT, || async {
        (gw.device("plc").health.state.as_str() == "online").then_some(())
    })
    .await;
    for round in 1..=2 {
        sim.drop_station(0, 5, true);
        wait_for("station 5 down", LIMIT, || async {
            (count(true).await == round).then_some(())
        })
        .await;
        sim.drop_station(0, 5, false);
        wait_for("station 5 back", LIMIT, || async {
            (count(false).await == round).then_some(())
        })
        .await;
    }
    gw.stop().await;
}
