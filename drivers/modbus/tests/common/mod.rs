//! Shared helpers for plcdiag-modbus's integration tests.
//!
//! Every server binds port 0 on 127.0.0.1 and hands its address over; nothing sleeps to wait
//! for startup.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use plcdiag_modbus::{
    Address, Client, DataType, Encoding, PlanLimits, Point, ReadRequest, SimBuilder, SimHandle,
    Table, plan,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A generous timeout for requests that are expected to succeed.
pub const OK_TIMEOUT: Duration = Duration::from_secs(5);

/// A short timeout for requests that are expected never to be answered.
pub const SHORT_TIMEOUT: Duration = Duration::from_millis(200);

/// 127.0.0.1, port 0.
pub fn any_local_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Spawns `builder` on a free local port.
pub async fn spawn_tcp(builder: SimBuilder) -> SimHandle {
    builder
        .spawn_tcp(any_local_port())
        .await
        .expect("binding 127.0.0.1:0 works")
}

/// Connects a client with unit 1 to a running TCP simulator.
pub async fn connect(sim: &SimHandle, timeout: Duration) -> Client {
    let addr = sim.addr().expect("a TCP simulator has an address");
    Client::connect_tcp(addr, 1, timeout)
        .await
        .expect("connecting to the simulator works")
}

/// A point at `address` ("hr:10") with `data_type` and default byte/word order.
pub fn point(address: &str, data_type: DataType) -> Point {
    Point::new(
        address.parse::<Address>().expect("test address parses"),
        Encoding::new(data_type),
    )
}

/// A hand-made request without items.
pub fn raw_request(table: Table, start: u16, count: u16) -> ReadRequest {
    ReadRequest {
        table,
        start,
        count,
        items: Vec::new(),
    }
}

/// Plans with default limits.
pub fn plan_default(points: &[Point]) -> Vec<ReadRequest> {
    plan(points, &PlanLimits::default())
}

/// The Python interpreter for the peer tests: `$PLCDIAG_PYTHON`, else
/// `<workspace root>/.venv/bin/python`. Panics (fails the test) with setup instructions if
/// neither exists: the peer tests must never be skipped silently.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("PLCDIAG_PYTHON") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "PLCDIAG_PYTHON={} does not exist; unset it or run scripts/setup-test-peers.sh",
            path.display()
        );
        return path;
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python for the pymodbus peer tests: {} does not exist and PLCDIAG_PYTHON is not set. \
         Run scripts/setup-test-peers.sh (it creates the venv and installs pymodbus==3.16.1).",
        venv.display()
    );
    venv
}

/// The workspace root: two levels above this crate.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A peer script in `tests/peers/`.
pub fn peer_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// A running pymodbus server, killed when dropped.
pub struct PyServer {
    pub addr: SocketAddr,
    _child: Child,
}

/// Starts `tests/peers/pymodbus_server.py` and reads its `PORT <n>` line (within 30 s).
pub async fn spawn_pymodbus_server() -> PyServer {
    let mut child = Command::new(python())
        .arg(peer_script("pymodbus_server.py"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the pymodbus server script");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("reading server stdout") {
            if let Some(port) = line.strip_prefix("PORT ") {
                return port.trim().parse::<u16>().expect("PORT line holds a port");
            }
        }
        panic!("pymodbus server exited without printing its PORT line (see stderr above)");
    })
    .await
    .expect("pymodbus server printed its PORT line within 30 s");
    PyServer {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _child: child,
    }
}

/// Runs `tests/peers/pymodbus_client.py` against `addr` and parses its JSON output.
pub async fn run_pymodbus_client(addr: SocketAddr) -> serde_json::Value {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(python())
            .arg(peer_script("pymodbus_client.py"))
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("pymodbus client finished within 60 s")
    .expect("running the pymodbus client script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pymodbus client failed ({}): stdout {stdout} stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("bad JSON {stdout:?}: {e}"))
}
