//! Issue #6 end to end in a real browser: Debian's headless Chromium, driven by playwright-core
//! from `tests/e2e/run.mjs`, against a gateway polling the Modbus, S7 and MELSEC (CC-Link)
//! simulators, with a viewer and an operator who log in through the login form. The overview,
//! the device pages (a new S7 diagnostic entry, a dropped CC-Link station) and the alarm list
//! must follow the simulators without being reloaded.
//!
//! The script prints `STEP <name>` when it needs a simulator changed; this test changes it and
//! answers `GO` on the script's stdin. Screenshots land in `target/e2e-artifacts/`.
//!
//! Needs `/usr/bin/chromium` (or `PLCDIAG_CHROMIUM`), Node.js and `tests/e2e/node_modules`:
//! `scripts/setup-browser.sh` installs them (CI runs it). Without them this test fails: it
//! never passes without having run the browser.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{TestGateway, cheap_hash as hash};
use plcdiag_melsec::sim::{McSim, SimStation};
use plcdiag_modbus::Sim;
use plcdiag_s7::sim::{S7Sim, SimMode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The whole browser run, simulators included (a limit for a hung run; it takes ~15 s).
const LIMIT: Duration = Duration::from_secs(90);

const SETUP: &str = "run scripts/setup-browser.sh (installs Debian's chromium package and runs \
                     `npm ci` in tests/e2e)";

/// Chromium, Node.js and playwright-core, or a failure that says how to install them.
fn browser_setup(root: &Path) -> PathBuf {
    let chromium = std::env::var_os("PLCDIAG_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.is_file(),
        "no Chromium at {}: {SETUP}, or set PLCDIAG_CHROMIUM to a Chromium binary",
        chromium.display()
    );
    let playwright = root.join("tests/e2e/node_modules/playwright-core/package.json");
    assert!(
        playwright.is_file(),
        "playwright-core is not installed in tests/e2e/node_modules: {SETUP}"
    );
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "no Node.js (`node`) on PATH: install Node.js 20 or newer, then {SETUP}"
    );
    chromium
}

fn artifacts_dir(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = target.join("e2e-artifacts");
    // Only this run's screenshots.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_headless_chromium_follow_the_simulators() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = browser_setup(root);
    let artifacts = artifacts_dir(root);

    let regs: Vec<u16> = (100..110).collect();
    let modbus = Sim::builder()
        .holding(0, &regs)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("modbus sim: {e}"));
    let s7 = S7Sim::builder()
        .identity("6ES7 315-2EH14-0AB0", "V3.2.6", "Line 4 CPU", "S C-1")
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("s7 sim: {e}"));
    let mc = McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "conveyor inputs"),
                SimStation::remote_io(5, "valve terminal"),
            ],
        )
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("melsec sim: {e}"));

    let config = format!(
        r#"[gateway]
database = "h.db"

[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://127.0.0.1:{modbus_port}"
interval = "100ms"
timeout = "500ms"
# Stays offline (not demoted) once its simulator stops.
demote_after = 0

[[devices.tags]]
name = "r0"
address = "hr:0"

[[devices]]
name = "cpu"
kind = "s7"
address = "{s7}"
interval = "100ms"
timeout = "500ms"
status_interval = "200ms"

[[devices]]
name = "plc"
kind = "melsec"
address = "{mc}"
interval = "100ms"
timeout = "500ms"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
name = "conveyor inputs"

[[devices.cclink.stations]]
number = 5
name = "valve terminal"

[[rules]]
name = "cpu_stop"
device = "cpu"
when = 'cpu_mode() == "STOP"'
priority = "critical"
message = "{{device}} is in STOP"

[[rules]]
name = "conveyor_inputs_down"
device = "plc"
when = 'station_down(1)'
priority = "low"
message = "{{device}}: conveyor inputs off the link"

[auth]
[[auth.users]]
name = "vera"
password_hash = "{vera}"
role = "viewer"

[[auth.users]]
name = "otto"
password_hash = "{otto}"
role = "operator"
"#,
        modbus_port = modbus.addr().map_or(0, |a| a.port()),
        s7 = s7.addr(),
        mc = mc.addr(),
        vera = hash("vera-pw"),
        otto = hash("otto-pw"),
    );
    let gw = TestGateway::start(&config).await;

    let mut child = tokio::process::Command::new("node")
        .arg(root.join("tests/e2e/run.mjs"))
        .current_dir(root.join("tests/e2e"))
        .env("PLCDIAG_BASE", &gw.base)
        .env("PLCDIAG_CHROMIUM", &chromium)
        .env("PLCDIAG_ARTIFACTS", &artifacts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("node tests/e2e/run.mjs: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();

    let mut log = Vec::new();
    let mut passed = false;
    let run = tokio::time::timeout(LIMIT, async {
        while let Some(line) = lines
            .next_line()
            .await
            .unwrap_or_else(|e| panic!("reading the script's output: {e}"))
        {
            eprintln!("e2e: {line}");
            log.push(line.clone());
            if line == "PASS" {
                passed = true;
                continue;
            }
            let Some(step) = line.strip_prefix("STEP ") else {
                continue;
            };
            match step {
                "stop-modbus" => modbus.stop().await,
                // Module error (entering state), a catalogued event.
                "inject-s7-event" => s7.push_event(0x3942, 0x53, 0x0004, 0),
                "drop-station" => mc.drop_station(0, 5, true),
                "stop-cpu" => s7.set_mode(SimMode::Stop),
                // A second alarm while the operator types a note for the first.
                "drop-station-1" => mc.drop_station(0, 1, true),
                other => panic!("the script asked for an unknown step {other}"),
            }
            stdin
                .write_all(b"GO\n")
                .await
                .unwrap_or_else(|e| panic!("answering {step}: {e}"));
            stdin
                .flush()
                .await
                .unwrap_or_else(|e| panic!("answering {step}: {e}"));
        }
        child
            .wait()
            .await
            .unwrap_or_else(|e| panic!("waiting for node: {e}"))
    })
    .await;
    let status = run.unwrap_or_else(|_| {
        panic!(
            "the browser run took over {LIMIT:?}; its output:\n{}",
            log.join("\n")
        )
    });
    assert!(
        status.success() && passed,
        "the browser scenarios failed ({status}); screenshots in {}; output:\n{}",
        artifacts.display(),
        log.join("\n")
    );
    for name in [
        "01-overview-online",
        "02-overview-boiler-offline",
        "03-device-cpu-diagnostic-entry",
        "04-device-plc-station-map",
        "05-alarms-viewer-no-actions",
        "06-alarms-operator-acknowledged",
    ] {
        let png = artifacts.join(format!("{name}.png"));
        assert!(png.is_file(), "no screenshot {}", png.display());
    }
    gw.stop().await;
    s7.stop().await;
    mc.stop().await;
}
