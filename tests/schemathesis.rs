//! The JSON API against its OpenAPI description (`/api/openapi.json`), fuzzed by schemathesis
//! (an independent tool, installed by scripts/setup-test-peers.sh into `.venv-schemathesis`)
//! against a live gateway polling simulators of every kind, with alarms raised and journalled:
//! no 5xx, every status code, content type, header and body as documented.
//!
//! Two of schemathesis' checks are left out, on purpose: `positive_data_acceptance` (the API
//! refuses `from` after `to` and other cross-parameter mistakes that OpenAPI cannot express)
//! and `negative_data_rejection` (the API clamps out-of-range limits instead of refusing them).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::{TestGateway, modbus_sim, wait_for};
use plcdiag_melsec::sim::{McSim, SimStation};
use plcdiag_s7::sim::S7Sim;

fn schemathesis() -> PathBuf {
    std::env::var_os("PLCDIAG_SCHEMATHESIS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-schemathesis/bin/schemathesis"),
        PathBuf::from,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_to_its_openapi_description_under_schemathesis() {
    let bin = schemathesis();
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup-test-peers.sh (or set PLCDIAG_SCHEMATHESIS)",
        bin.display()
    );
    let (gw, _sims) = plant().await;
    let url = format!("{}/api/openapi.json", gw.base);
    let out = tokio::process::Command::new(&bin)
        .args(["run", &url, "--checks", "all"])
        .args([
            "--exclude-checks",
            "positive_data_acceptance,negative_data_rejection",
        ])
        .args([
            "--max-examples",
            "15",
            "--max-time",
            "60",
            "--workers",
            "1",
            "--seed",
            "12",
        ])
        .args(["--no-color", "--request-timeout", "10"])
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every operation it selected was tested (schemathesis leaves out the document itself).
    let count = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.split('/').next())
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    let (selected, tested) = (count("Selected:"), count("Tested:"));
    assert!(selected >= Some(14), "{stdout}");
    assert_eq!(selected, tested, "{stdout}");
    gw.stop().await;
}

/// The simulators behind [`plant`]'s gateway, kept alive by holding them.
type Sims = (
    plcdiag_modbus::SimHandle,
    plcdiag_s7::sim::S7SimHandle,
    plcdiag_melsec::sim::McSimHandle,
);

/// A gateway polling a Modbus device, an S7 CPU in STOP and a MELSEC PLC with a station down,
/// once an alarm is raised: something in every part of the API.
async fn plant() -> (TestGateway, Sims) {
    let modbus = modbus_sim().await;
    let s7 = S7Sim::builder()
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    s7.push_event(0x4304, 0, 0, 0);
    let mc = McSim::builder()
        .cclink(0, 0, [SimStation::remote_io(1, "conveyor inputs")])
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    mc.drop_station(0, 1, true);
    let port = modbus.addr().map_or(0, |a| a.port());
    let text = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://127.0.0.1:{port}"
interval = "100ms"

[[devices.tags]]
name = "level"
address = "hr:0"

[[devices]]
name = "cpu"
kind = "s7"
address = "{s7}"
interval = "200ms"

[[devices]]
name = "plc"
kind = "melsec"
address = "{mc}"
interval = "200ms"

[[devices.cclink]]
name = "line 3"

[[rules]]
name = "level_high"
device = "boiler"
when = "level > 50"

[[rules]]
name = "cpu_stop"
device = "cpu"
when = 'cpu_mode() == "STOP"'
"#,
        s7 = s7.addr(),
        mc = mc.addr(),
    );
    let gw = TestGateway::start(&text).await;
    wait_for("an alarm", Duration::from_secs(20), || async {
        let (_, body) = gw.get_json("/api/alarms").await;
        body["alarms"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|_| ())
    })
    .await;
    (gw, (modbus, s7, mc))
}
