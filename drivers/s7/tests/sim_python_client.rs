//! The S7 simulator against an independent client: python-snap7 3.3.0 (pure Python,
//! `tests/peers/snap7_client.py`). Proves that the simulator's SZL answers, including
//! fragmented ones at PDU 240, are what a real client expects (reference s7.md §8.4 item 2).
//!
//! Needs the venv made by `scripts/setup-test-peers.sh` (or `PLCDIAG_SNAP7_CLIENT_PYTHON`).

use std::path::PathBuf;
use std::time::Duration;

use plcdiag_s7::sim::{S7Sim, S7SimHandle, SimFamily, SimMode};
use serde_json::Value;

fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("PLCDIAG_SNAP7_CLIENT_PYTHON") {
        return path.into();
    }
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-snap7-client/bin/python");
    assert!(
        path.exists(),
        "python-snap7 3.3.0 client not found at {}: run scripts/setup-test-peers.sh \
         (or set PLCDIAG_SNAP7_CLIENT_PYTHON)",
        path.display()
    );
    path
}

/// Runs the Python client against the simulator, reading the given `ID[:INDEX]` lists.
async fn read_szl(sim: &S7SimHandle, lists: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/snap7_client.py");
    let run = tokio::process::Command::new(python())
        .arg(script)
        .arg(sim.addr().port().to_string())
        .args(lists)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the python client finishes within 60 s")
        .expect("the python client starts");
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the python client prints JSON")
}

fn read(out: &Value, i: usize) -> &Value {
    &out["reads"][i]
}

fn data(out: &Value, i: usize) -> Vec<u8> {
    let read = read(out, i);
    assert_eq!(read["ok"], true, "read {i} failed: {read}");
    hex(read["data"].as_str().expect("hex data"))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn entry(n: u16) -> [u8; 20] {
    let mut record = [0u8; 20];
    record[0..2].copy_from_slice(&(0xA000 | n).to_be_bytes());
    record[2] = 0xFF;
    record[6..8].copy_from_slice(&n.to_be_bytes());
    record[12..20].copy_from_slice(&[0x24, 0x03, 0x05, 0x14, 0x07, 0x09, 0x12, 0x33]);
    record
}

async fn sim(family: SimFamily) -> S7SimHandle {
    S7Sim::builder()
        .pdu_size(240)
        .family(family)
        .diag_buffer((0..55).map(entry))
        .identity(
            "6ES7 315-2EH14-0AB0",
            "V3.2.6",
            "LINE-3 PRESS",
            "S C-X4U421302009",
        )
        .spawn_tcp("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("the simulator binds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_snap7_reassembles_a_fragmented_55_entry_buffer_byte_for_byte() {
    let sim = sim(SimFamily::S7300).await;
    let out = read_szl(&sim, &["00A0", "01A0:3"]).await;
    assert_eq!(out["pdu"], 240);

    let bytes = data(&out, 0);
    // LENTHDR 20, N_DR 55, then the records newest first, exactly as the simulator holds them.
    assert_eq!(&bytes[..4], &[0x00, 0x14, 0x00, 55]);
    let expected: Vec<u8> = sim.diag_entries().concat();
    assert_eq!(expected.len(), 55 * 20);
    assert_eq!(&bytes[4..], &expected[..]);
    assert_eq!(&bytes[4..6], &[0xA0, 54], "the newest entry comes first");

    let newest = data(&out, 1);
    assert_eq!(&newest[..4], &[0x00, 0x14, 0x00, 3]);
    assert_eq!(&newest[4..], &expected[..60]);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_snap7_sees_the_mode_byte_follow_set_mode_and_the_stop_event_in_the_buffer() {
    let sim = sim(SimFamily::S7300).await;
    let out = read_szl(&sim, &["0424"]).await;
    let mode = data(&out, 0);
    assert_eq!(&mode[..4], &[0x00, 0x14, 0x00, 0x01]);
    assert_eq!(mode[4 + 3] & 0x0F, 0x08, "RUN");

    sim.set_mode(SimMode::Stop);
    let out = read_szl(&sim, &["0424", "01A0:1"]).await;
    let mode = data(&out, 0);
    assert_eq!(
        &mode[4..8],
        &[0x43, 0x04, 0xFF, 0x84],
        "STOP by PG, previous RUN"
    );
    let newest = data(&out, 1);
    assert_eq!(&newest[4..6], &[0x43, 0x04]);

    sim.set_mode(SimMode::Run);
    let out = read_szl(&sim, &["0424", "01A0:3"]).await;
    assert_eq!(data(&out, 0)[4 + 3], 0x58, "RUN, previous STARTUP");
    let newest = data(&out, 1);
    let ids: Vec<[u8; 2]> = newest[4..].chunks(20).map(|r| [r[0], r[1]]).collect();
    assert_eq!(ids, [[0x43, 0x02], [0x13, 0x81], [0x43, 0x01]]);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_snap7_reads_identity_and_is_refused_for_lists_the_cpu_does_not_have() {
    let sim = sim(SimFamily::S7300).await;
    let out = read_szl(&sim, &["0011", "001C", "0091", "1234", "0D91:0000"]).await;

    let ident = data(&out, 0);
    assert_eq!(&ident[..4], &[0x00, 0x1C, 0x00, 0x03]);
    assert_eq!(&ident[4..6], &[0x00, 0x01]);
    assert_eq!(&ident[6..26], b"6ES7 315-2EH14-0AB0 ");
    // Index 7 (firmware): 'V' 3 . 2 . 6 in the last bytes.
    assert_eq!(&ident[ident.len() - 4..], &[b'V', 3, 2, 6]);

    let components = data(&out, 1);
    assert_eq!(&components[..4], &[0x00, 0x22, 0x00, 0x06]);
    assert_eq!(&components[6..18], b"LINE-3 PRESS");

    for i in [2, 3] {
        assert_eq!(
            read(&out, i)["ok"],
            false,
            "read {i} should be refused: {}",
            read(&out, i)
        );
    }
    let modules = data(&out, 4);
    assert_eq!(&modules[..4], &[0x00, 0x10, 0x00, 0x01]);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_snap7_sees_a_module_fault_in_0091_of_an_s7_400() {
    let sim = sim(SimFamily::S7400).await;
    sim.set_module_fault(0, 5, true);
    let out = read_szl(&sim, &["0091", "01A0:1"]).await;
    let modules = data(&out, 0);
    assert_eq!(&modules[..4], &[0x00, 0x10, 0x00, 0x02]);
    let faulty = &modules[4 + 16..4 + 32];
    assert_eq!(&faulty[2..4], &[0x05, 0x00], "slot 5");
    assert_eq!(faulty[13] & 0x01, 0x01, "eastat bit 0: module error");
    assert_eq!(&data(&out, 1)[4..6], &[0x39, 0x42]);
    sim.stop().await;
}
