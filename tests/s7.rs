//! A gateway polling the S7 CPU simulator: mode, identity, incremental diagnostic buffer
//! (each entry exactly once across a simulator restart and a gateway restart), tag values.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestGateway, wait_for};
use plcdiag_s7::sim::{S7Sim, S7SimHandle, SimMode};

const LIMIT: Duration = Duration::from_secs(20);

async fn cpu() -> S7SimHandle {
    let mut db10 = vec![0u8; 16];
    db10[4..8].copy_from_slice(&21.5f32.to_be_bytes());
    db10[8..10].copy_from_slice(&(-7i16).to_be_bytes());
    S7Sim::builder()
        .identity(
            "6ES7 315-2EH14-0AB0",
            "V3.2.6",
            "Line 4 CPU",
            "S C-X4U421302009",
        )
        .db(10, &db10)
        .markers(&[0b0000_1000, 0, 0])
        .cycle_times(12, 3, 40)
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"))
}

fn config(sim: &S7SimHandle) -> String {
    format!(
        "[gateway]\ndatabase = \"h.db\"\n\n[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"{}\"\n\
         interval = \"100ms\"\ntimeout = \"500ms\"\nstatus_interval = \"200ms\"\n\n\
         [[devices.tags]]\nname = \"temperature\"\naddress = \"DB10.DBD4:REAL\"\n\n\
         [[devices.tags]]\nname = \"offset\"\naddress = \"DB10.DBW8:INT\"\nscale = 0.5\n\n\
         [[devices.tags]]\nname = \"pump_on\"\naddress = \"M0.3\"\n\n\
         [[devices.tags]]\nname = \"missing\"\naddress = \"DB99.DBW0\"\n",
        sim.addr()
    )
}

/// Raw records of the stored diagnostic events, oldest first.
async fn stored(gw: &TestGateway) -> Vec<String> {
    let (status, body) = gw
        .get_json("/api/devices/cpu/diagnostics?limit=10000")
        .await;
    assert_eq!(status, 200, "{body}");
    let mut raws: Vec<String> = body["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["raw"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    raws.reverse();
    raws
}

fn hex(raw: &[u8; 20]) -> String {
    raw.iter().map(|b| format!("{b:02X}")).collect()
}

/// The simulator's buffer, oldest first, as hex.
fn in_sim(sim: &S7SimHandle) -> Vec<String> {
    let mut v: Vec<String> = sim.diag_entries().iter().map(hex).collect();
    v.reverse();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s7_cpu_shows_mode_identity_status_and_tag_values() {
    let sim = cpu().await;
    let gw = TestGateway::start(&config(&sim)).await;
    let dev = wait_for(
        "cpu online with mode, identity and cycle times",
        LIMIT,
        || async {
            let (_, d) = gw.get_json("/api/devices/cpu").await;
            (d["health"]["state"] == "online"
                && d["status"]["cycle_times"].is_object()
                && d["values"][0]["quality"] == "good")
                .then_some(d)
        },
    )
    .await;
    assert_eq!(dev["kind"], "s7");
    assert_eq!(dev["status"]["cpu_mode"]["mode"], "RUN");
    assert_eq!(
        dev["status"]["identity"]["order_number"],
        "6ES7 315-2EH14-0AB0"
    );
    assert_eq!(dev["status"]["identity"]["firmware"], "V3.2.6");
    assert_eq!(dev["status"]["cycle_times"]["max_ms"], 40.0);
    assert!(dev["status"]["protection"].is_object(), "{dev}");
    assert_eq!(dev["values"][0]["value"], 21.5);
    assert_eq!(dev["values"][1]["value"], -3.5, "INT -7 scaled by 0.5");
    assert_eq!(dev["values"][2]["value"], 1.0, "M0.3 is set");
    assert_eq!(
        dev["values"][3]["quality"], "bad",
        "a DB that does not exist: {dev}"
    );
    assert!(
        dev["values"][3]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("0x0A") || r.to_lowercase().contains("exist")),
        "{dev}"
    );

    // STOP: the CPU still answers (online), the mode says STOP, the buffer says why.
    sim.set_mode(SimMode::Stop);
    let dev = wait_for("mode STOP", LIMIT, || async {
        let (_, d) = gw.get_json("/api/devices/cpu").await;
        (d["status"]["cpu_mode"]["mode"] == "STOP").then_some(d)
    })
    .await;
    assert_eq!(dev["health"]["state"], "online");
    assert_eq!(dev["status"]["cpu_mode"]["previous"], "RUN");
    assert_eq!(dev["last_diagnostic"]["event_id"], 0x4304, "{dev}");
    let (_, timeline) = gw.get_json("/api/devices/cpu/status?kind=cpu_mode").await;
    let modes: Vec<&str> = timeline["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["value"]["mode"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(modes, ["RUN", "STOP"]);

    // A module fault: the module status shows it and the buffer has the CPU's entry for it.
    sim.set_module_fault(0, 4, true);
    let dev = wait_for("module 4 faulty", LIMIT, || async {
        let (_, d) = gw.get_json("/api/devices/cpu").await;
        let faulty = d["status"]["modules"]
            .as_array()?
            .iter()
            .any(|m| m["slot"] == 4 && m["error"] == true);
        faulty.then_some(d)
    })
    .await;
    assert_eq!(dev["last_diagnostic"]["event_id"], 0x3942, "{dev}");
    assert_eq!(dev["last_diagnostic"]["entering"], true);
    // Unchanged module status is not stored again at every status read.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, changes) = gw.get_json("/api/devices/cpu/status?kind=modules").await;
    let n = changes["changes"].as_array().map_or(0, Vec::len);
    assert_eq!(n, 2, "one row before the fault, one after: {changes}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostic_entries_are_stored_exactly_once_across_simulator_and_gateway_restarts() {
    let sim = cpu().await;
    for i in 0..5u16 {
        sim.push_event(0x3942, 82, 0x0100 + i, 0);
    }
    let text = config(&sim);
    let gw = TestGateway::start(&text).await;
    wait_for("the five initial entries", LIMIT, || async {
        (stored(&gw).await == in_sim(&sim)).then_some(())
    })
    .await;
    assert_eq!(stored(&gw).await.len(), 5);

    sim.push_event(0x3842, 82, 0x0200, 0);
    sim.set_mode(SimMode::Stop);
    wait_for("new entries after the mode change", LIMIT, || async {
        (stored(&gw).await == in_sim(&sim)).then_some(())
    })
    .await;
    let before_restart = stored(&gw).await.len();
    assert!(
        before_restart > 6,
        "STOP adds at least one entry: {before_restart}"
    );

    // The simulator restarts (connection lost, buffer kept): nothing is reported twice.
    sim.stop().await;
    wait_for("device offline", LIMIT, || async {
        (gw.device("cpu").health.state.as_str() != "online").then_some(())
    })
    .await;
    sim.restart().await.unwrap_or_else(|e| panic!("{e}"));
    sim.set_mode(SimMode::Run);
    wait_for("entries after the sim restart", LIMIT, || async {
        (stored(&gw).await == in_sim(&sim)).then_some(())
    })
    .await;

    // The gateway restarts: it resumes after the newest stored entry.
    let dir = gw.stop().await;
    let count = in_sim(&sim).len();
    sim.push_event(0x3942, 82, 0x0300, 0);
    let gw = TestGateway::start_in(&text, dir).await;
    wait_for(
        "the one new entry after the gateway restart",
        LIMIT,
        || async { (stored(&gw).await == in_sim(&sim)).then_some(()) },
    )
    .await;
    let all = stored(&gw).await;
    assert_eq!(all.len(), count + 1);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no entry stored twice");
    gw.stop().await;
}
