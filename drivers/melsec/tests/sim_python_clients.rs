//! The MC/SLMP simulator against independent clients (reference melsec-cclink.md §4.1,
//! §4.3): the Python package plc-comm-slmp 5.2.0 (3E and 4E, TCP and UDP, Q/L and iQ-R
//! device specifications) and pymcprotocol 0.3.0 in binary mode (3E and 4E over TCP), via
//! `tests/peers/slmp_client.py` and `tests/peers/mcprotocol_client.py`.
//!
//! The expected SW/SB bitmaps are computed here from the station numbers (reference §2.3:
//! station n → word (n−1)/16, bit (n−1)%16), not with the simulator's encoder.
//!
//! Needs the venv made by `scripts/setup-test-peers.sh` (or `PLCDIAG_PYTHON`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plcdiag_melsec::sim::{McSim, McSimHandle, SimSeries, SimStation};
use serde_json::Value;

fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("PLCDIAG_PYTHON") {
        return path.into();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        path.exists(),
        "Python test peers not found at {}: run scripts/setup-test-peers.sh \
         (or set PLCDIAG_PYTHON to a python with plc-comm-slmp 5.2.0 and pymcprotocol 0.3.0)",
        path.display()
    );
    path
}

/// Runs a peer script against the simulator and parses its JSON.
async fn run_peer(script: &str, args: &[String]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script);
    let run = tokio::process::Command::new(python())
        .arg(&script)
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the python client finishes within 60 s")
        .expect("the python client starts");
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{} printed no JSON ({error}): {}",
            script.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Station n → SW0080 + (n−1)/16, bit (n−1)%16 (reference §2.3).
fn bitmap(stations: &[u8]) -> [u16; 4] {
    let mut words = [0u16; 4];
    for &n in stations {
        words[usize::from((n - 1) / 16)] |= 1 << ((n - 1) % 16);
    }
    words
}

/// Words as u16, also from pymcprotocol, which returns them signed (§4.1).
fn words(value: &Value) -> Vec<u16> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array of words: {value}"))
        .iter()
        .map(|w| (w.as_i64().expect("a number") & 0xFFFF) as u16)
        .collect()
}

fn word(value: &Value) -> u16 {
    (value
        .as_i64()
        .unwrap_or_else(|| panic!("a number: {value}"))
        & 0xFFFF) as u16
}

const D100: [u16; 10] = [0, 1, 0x1234, 0x7FFF, 0x8000, 0xFFFF, 42, 0xBEEF, 9, 0x0100];
const M20: [bool; 8] = [true, false, false, true, true, true, false, true];

/// A line of nine devices; station 5 dropped and a cable break after station 9 (devices at
/// 13, 20, 33 and 64 down, the 4-station device at 9 still up); WDT ERROR 5000; STOP.
async fn faulted_sim(series: SimSeries, code: u16) -> McSimHandle {
    let sim = McSim::builder()
        .series(series)
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "AJ65SBTB1-32D"),
                SimStation::remote_io(2, "AJ65SBTB1-32T"),
                SimStation::remote_device(3, 2, "valve terminal"),
                SimStation::remote_io(5, "AJ65SBTB1-16D"),
                SimStation::intelligent(9, 4, "inverter"),
                SimStation::remote_io(13, "AJ65SBTB1-16T"),
                SimStation::remote_io(20, "AJ65SBTB1-32D"),
                SimStation::remote_io(33, "AJ65SBTB1-32D"),
                SimStation::remote_io(64, "AJ65SBTB1-32T"),
            ],
        )
        .words("D100", &D100)
        .bits("M20", &M20)
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("the simulator binds");
    sim.drop_station(0, 5, true);
    sim.cable_break_after(0, Some(9));
    sim.set_cpu_error(Some(code));
    sim.set_run_state(false);
    sim
}

/// UTC seconds of a BCD or binary civil time.
fn unix(year: u16, month: u16, day: u16, hour: u16, minute: u16, second: u16) -> i64 {
    chrono::NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
        .and_then(|d| d.and_hms_opt(u32::from(hour), u32::from(minute), u32::from(second)))
        .unwrap_or_else(|| panic!("a valid time {year}-{month}-{day} {hour}:{minute}:{second}"))
        .and_utc()
        .timestamp()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn from_bcd(byte: u16) -> u16 {
    (byte >> 4) * 10 + (byte & 0x0F)
}

/// Asserts what every client must have read from [`faulted_sim`] on a Q CPU.
fn assert_q_image(out: &Value) {
    let who = format!("{} {}", out["client"], out["frame"]);
    let down = bitmap(&[5, 13, 20, 33, 64]);
    assert_eq!(words(&out["sw0080"]), down, "{who}: SW0080..83");
    // SB0080 (any station error) is bit 0 of the fifth word from SB0040; SB0090 (line down)
    // stays off while some stations still communicate.
    assert_eq!(
        words(&out["sb0040_words"]),
        [0, 0, 0, 0, 0x0001, 0],
        "{who}: SB0040..9F"
    );
    assert_eq!(words(&out["d100"]), D100, "{who}: D100..109");
    let m20: Vec<bool> = out["m20"]
        .as_array()
        .expect("bits")
        .iter()
        .map(|b| b.as_bool().expect("bool"))
        .collect();
    assert_eq!(m20, M20, "{who}: M20..27");

    let sd = words(&out["sd0"]);
    assert_eq!(
        sd[0], 5000,
        "{who}: SD0 holds the decimal code 5000 in binary"
    );
    let (yy, mo) = (from_bcd(sd[1] >> 8), from_bcd(sd[1] & 0xFF));
    let (dd, hh) = (from_bcd(sd[2] >> 8), from_bcd(sd[2] & 0xFF));
    let (mi, ss) = (from_bcd(sd[3] >> 8), from_bcd(sd[3] & 0xFF));
    let stamped = unix(2000 + yy, mo, dd, hh, mi, ss);
    assert!(
        (now() - stamped).abs() < 300,
        "{who}: SD1..3 {:04X} {:04X} {:04X} is the BCD time of the error (now)",
        sd[1],
        sd[2],
        sd[3]
    );
    assert_eq!(sd[4], 0x0300, "{who}: SD4 individual category 3 (WDT time)");
    assert_eq!(word(&out["sd203"]), 0x0042, "{who}: SD203 STOP by error");

    assert_eq!(
        words(&out["random_words"]),
        [down[0], 0],
        "{who}: random SW0080, SW0090"
    );
    let dword = out["random_dword"].as_i64().expect("dword") as u32;
    assert_eq!(
        dword,
        u32::from(D100[0]) | u32::from(D100[1]) << 16,
        "{who}: random D100 as a double word"
    );
    assert_eq!(
        out["write_end_code"].as_u64(),
        Some(0xC059),
        "{who}: writes are refused"
    );
}

async fn slmp(sim: &McSimHandle, transport: &str, frame: &str) -> Value {
    let args = [
        sim.addr().port().to_string(),
        transport.into(),
        frame.into(),
    ];
    run_peer("slmp_client.py", &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plc_comm_slmp_3e_tcp_reads_the_station_bitmap_and_cpu_error() {
    let sim = faulted_sim(SimSeries::Q, 5000).await;
    let out = slmp(&sim, "tcp", "3e").await;
    assert_eq!(out["frame"], "3E");
    assert_q_image(&out);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plc_comm_slmp_3e_udp_reads_the_station_bitmap_and_cpu_error() {
    let sim = faulted_sim(SimSeries::Q, 5000).await;
    let out = slmp(&sim, "udp", "3e").await;
    assert_eq!(out["frame"], "3E");
    assert_q_image(&out);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plc_comm_slmp_4e_tcp_reads_the_station_bitmap_and_cpu_error() {
    let sim = faulted_sim(SimSeries::Q, 5000).await;
    let out = slmp(&sim, "tcp", "4e").await;
    assert_eq!(out["frame"], "4E");
    assert_q_image(&out);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plc_comm_slmp_4e_udp_reads_the_station_bitmap_and_cpu_error() {
    let sim = faulted_sim(SimSeries::Q, 5000).await;
    let out = slmp(&sim, "udp", "4e").await;
    assert_eq!(out["frame"], "4E");
    assert_q_image(&out);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymcprotocol_3e_and_4e_binary_read_the_station_bitmap_and_cpu_error() {
    let sim = faulted_sim(SimSeries::Q, 5000).await;
    for frame in ["3e", "4e"] {
        let out = run_peer(
            "mcprotocol_client.py",
            &[sim.addr().port().to_string(), frame.into()],
        )
        .await;
        assert_q_image(&out);
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plc_comm_slmp_iqr_reads_the_hex_code_and_binary_time_with_the_iqr_specification() {
    let sim = faulted_sim(SimSeries::IqR, 0x3C00).await;
    // The repaired line and a healthy station 5 read as all zero; a later fault shows up.
    sim.cable_break_after(0, None);
    sim.drop_station(0, 5, false);
    sim.drop_station(0, 10, true); // inside the device at 9..=12
    let args = [
        sim.addr().port().to_string(),
        "tcp".into(),
        "4e".into(),
        "iq-r".into(),
    ];
    let out = run_peer("slmp_client.py", &args).await;
    assert_eq!(out["frame"], "4E");
    assert_eq!(words(&out["sw0080"]), bitmap(&[9, 10, 11, 12]));
    let sd = words(&out["sd0"]);
    assert_eq!(sd[0], 0x3C00, "SD0 holds the hexadecimal code");
    let stamped = unix(sd[1], sd[2], sd[3], sd[4], 0, 0);
    assert!(
        (now() - stamped).abs() < 3600 + 300,
        "SD1..SD4 = year {} month {} day {} hour {} in binary",
        sd[1],
        sd[2],
        sd[3],
        sd[4]
    );
    assert_eq!(words(&out["d100"]), D100);
    assert_eq!(out["write_end_code"].as_u64(), Some(0xC059));
    sim.stop().await;
}
