//! Web UI server-time benchmark (docs/PERFORMANCE.md, section "Web UI"). A plain `main`
//! (`harness = false`):
//!
//! * `cargo bench --bench web -- all [--samples 1000] [--warmup 100] [--devices 1000]
//!   [--days 365] [--fresh]`: both cases below.
//! * `cargo bench --bench web -- overview [...]`, `cargo bench --bench web -- device [...]`: one.
//! * `cargo bench --bench web -- --quick`: both, small (8 days of history seeded into a
//!   temporary directory, 30 samples), for a reviewer: well under a minute once built.
//!
//! The router is the gateway's own ([`plcdiag::web::router`]) over a real [`Live`] view and a
//! real SQLite [`Store`] opened through the project's migrations. Requests go through
//! `tower::ServiceExt::oneshot` on the router, in the bench process, one after the other on a
//! 2-worker tokio runtime: no socket, no HTTP parsing. Server time is from the call until the
//! whole body has been collected (handler, store queries, template rendering, body).
//!
//! * overview: `GET /` with `--devices` configured devices (a third each S7, MELSEC with one
//!   CC-Link master, Modbus; never connected), their state set through the live view as the
//!   hub would (`Live::apply` of health, status, values and diagnostic observations): online,
//!   offline, demoted, unknown, CPU in STOP, CC-Link station down; about 60 % with a last
//!   diagnostic; open alarms on about 15 % of them among 20,000 finished ones. Fresh store in
//!   a temporary directory.
//! * device: one S7 CPU (`line4-cpu`) and one MELSEC PLC (`press-plc`, one CC-Link master
//!   with 6 stations) with `--days` of history ending now, written as the store writer writes
//!   it: S7 cycle times every 10 s (the default `status_interval`), CC-Link network status
//!   every 60 s (`status_interval = "60s"`, and on every change), operating-mode changes, S7
//!   diagnostic-buffer events (one every 2 minutes on average, in bursts), CC-Link station
//!   events and MELSEC CPU errors, health transitions and tag samples (2 tags per device, one
//!   row per 30 s each). Generated once into `target/web-bench/` keyed by [`SEED_VERSION`] and
//!   the number of days, topped up to now and pruned with the writer's own retention delete
//!   when reused (`--fresh` seeds into a temporary directory instead). Cases: `GET
//!   /devices/NAME` (24 h window), `?window=7d`, and for the S7 CPU `?class=3` (the
//!   diagnostic table filtered to one event class).
//!
//! Every response is checked before timing (status 200, the expected number of device rows,
//! a diagnostic row of the filtered class, the charts present), so an error page is never
//! measured. Printed: count, p50, p90, p99 and max per case; the machine (cores, CPU model,
//! kernel); the CPU that other processes used and the hypervisor stole while measuring
//! (`/proc/stat`); a warning on stderr when a compiler ran beside the measurement.
//!
//! Benchmarks are not tests: nothing here asserts on time. Without a mode (as under
//! `cargo test --all-targets`) the binary prints its usage and exits.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use plcdiag::bench::{ms, opt, other_load, pct, watch_compilers};
use plcdiag::config::Config;
use plcdiag::live::Live;
use plcdiag::metrics::Metrics;
use plcdiag::model::{
    CpuModeView, CycleTimesView, DiagEvent, Health, HealthState, Observation, Quality,
    StatusUpdate, TagReading,
};
use plcdiag::store::{DiagPageAt, DiagPosition, Store};
use plcdiag::web::{AppState, AuthState};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use tower::ServiceExt;

const USAGE: &str = "usage: cargo bench --bench web -- <mode> [options]
  all | overview | device
      [--samples 1000] [--warmup 100] [--devices 1000] [--days 365] [--fresh]
      GET / with --devices devices; GET /devices/NAME (24h, 7d, class filter) with --days of
      history for one S7 CPU and one MELSEC PLC (cached under target/web-bench/ unless --fresh)
  store [--days 365] [--fresh]
      only the store calls the device pages make, timed alone
  --quick
      both, small: 8 days of history in a temporary directory, 30 samples, 5 warm-up";

/// Bump when the generated history changes: the cached database is keyed by it.
const SEED_VERSION: u32 = 2;

const S7_NAME: &str = "line4-cpu";
const MELSEC_NAME: &str = "press-plc";
const NETWORK: &str = "press line";

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// S7 cycle times are stored at every status read (default `status_interval`).
const CYCLE_EVERY: i64 = 10 * SECOND;
/// The CC-Link network status is stored on change and at least this often.
const NETWORK_EVERY: i64 = 60 * SECOND;
/// Tag samples: one row per tag this often on average (deadband, heartbeat).
const SAMPLE_EVERY: i64 = 30 * SECOND;
/// S7 diagnostic events: one this often on average.
const S7_DIAG_EVERY: i64 = 2 * MINUTE;

struct Options {
    samples: usize,
    warmup: usize,
    devices: usize,
    days: i64,
    fresh: bool,
    /// `store`: only the store calls of the device pages, timed alone.
    store_only: bool,
}

fn main() -> anyhow::Result<()> {
    let args = plcdiag::bench::args();
    let Some((mode, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let quick = mode == "--quick" || rest.iter().any(|a| a == "--quick");
    let (overview, device) = match mode.as_str() {
        "all" | "--quick" => (true, true),
        "overview" => (true, false),
        "device" | "store" => (false, true),
        other => bail!("unknown mode {other:?}\n{USAGE}"),
    };
    let o = Options {
        samples: opt(rest, "--samples", if quick { 30 } else { 1000 })?,
        warmup: opt(rest, "--warmup", if quick { 5 } else { 100 })?,
        devices: opt(rest, "--devices", 1000)?,
        days: opt(rest, "--days", if quick { 8 } else { 365 })?,
        fresh: quick || rest.iter().any(|a| a == "--fresh"),
        store_only: mode == "store",
    };
    ensure!(
        o.samples > 0 && o.devices >= 10 && o.days >= 8,
        "--samples must be at least 1, --devices at least 10, --days at least 8\n{USAGE}"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        print_machine();
        if overview {
            overview_bench(&o).await?;
        }
        if device {
            device_bench(&o).await?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// The machine

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or_else(String::new, |kib| {
            format!(", {:.1} GiB RAM", kib / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {} cores ({model}){mem}, Linux {}; load average at start {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

// ---------------------------------------------------------------------------------------
// Requests and figures

/// The gateway's router over `live` and `store`, open (no `[auth]`), no rules engine.
fn router(live: Live, store: Store) -> Router {
    let (alarms, _) = tokio::sync::broadcast::channel(16);
    plcdiag::web::router(AppState {
        live,
        store,
        metrics: Metrics::new(),
        engine: None,
        auth: Arc::new(AuthState::new(Default::default())),
        alarms,
        base_path: Arc::from(""),
        shutdown: tokio_util::sync::CancellationToken::new(),
        failed: tokio::sync::watch::channel(None).1,
    })
}

/// One `GET path`: status, whole body, and the time from the call to the last body byte.
async fn get(app: &Router, path: &str) -> anyhow::Result<(StatusCode, String, Duration)> {
    let req = Request::builder()
        .uri(path)
        .body(Body::empty())
        .context("building a request")?;
    let t0 = Instant::now();
    let res = app.clone().oneshot(req).await?;
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
    let took = t0.elapsed();
    Ok((status, String::from_utf8(body.to_vec())?, took))
}

/// The diagnostic table's "older" link in a device page (query only, unescaped).
fn older_link(body: &str) -> Option<String> {
    let before = body
        .split("data-page=\"older\"")
        .next()
        .filter(|b| b.len() < body.len())?;
    let href = before.rsplit("href=\"").next()?.split('"').next()?;
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

/// Checks a page's body; says what it found.
type Check = Box<dyn Fn(&str) -> anyhow::Result<String>>;

/// A case: a path and what its page must contain.
struct Case {
    label: String,
    path: String,
    check: Check,
}

/// Checks each case once, then measures them interleaved (one request of each in turn, so a
/// noisy second spreads over all of them): `warmup` rounds, then `samples` rounds.
async fn measure(app: &Router, cases: &[Case], o: &Options) -> anyhow::Result<()> {
    for c in cases {
        let (status, body, took) = get(app, &c.path).await?;
        ensure!(
            status == StatusCode::OK,
            "{}: GET {} answered {status}: {}",
            c.label,
            c.path,
            body.chars().take(300).collect::<String>()
        );
        let what = (c.check)(&body).with_context(|| format!("{}: GET {}", c.label, c.path))?;
        println!(
            "  check {:<28} 200, {} KiB, {what} (first request {:.1} ms)",
            c.label,
            body.len() / 1024,
            ms(took)
        );
    }
    for _ in 0..o.warmup {
        for c in cases {
            get(app, &c.path).await?;
        }
    }
    let noise = watch_compilers();
    let load = other_load()?;
    let t0 = Instant::now();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(o.samples); cases.len()];
    for _ in 0..o.samples {
        for (c, t) in cases.iter().zip(times.iter_mut()) {
            let (status, _, took) = get(app, &c.path).await?;
            ensure!(status == StatusCode::OK, "{}: answered {status}", c.label);
            t.push(took);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let load = load(secs)?;
    noise();
    println!(
        "  {:<30} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "case", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (c, t) in cases.iter().zip(times.iter_mut()) {
        t.sort();
        println!(
            "  {:<30} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2}{}",
            c.label,
            t.len(),
            ms(pct(t, 50.0)),
            ms(pct(t, 90.0)),
            ms(pct(t, 99.0)),
            ms(pct(t, 100.0)),
            if pct(t, 99.0) < Duration::from_millis(30) {
                ""
            } else {
                "  <- p99 over 30 ms"
            }
        );
    }
    println!("  {load} (over {secs:.1} s)");
    Ok(())
}

/// Whether the page shows `window` (`24h`, `7d`) as the chosen chart window.
fn active_window(body: &str, window: &str) -> bool {
    let spaced = window.replace('h', " h").replace('d', " d");
    body.contains(&format!("<b>{window}</b>")) || body.contains(&format!("<b>{spaced}</b>"))
}

fn count(body: &str, needle: &str) -> usize {
    body.matches(needle).count()
}

// ---------------------------------------------------------------------------------------
// Config and live state

fn parse_config(text: &str, dir: &Path) -> anyhow::Result<Config> {
    plcdiag::config::parse(text, dir).map_err(|problems| {
        let first: Vec<String> = problems.iter().take(5).map(|p| format!("{p:?}")).collect();
        anyhow::anyhow!("the generated config was refused: {first:?}")
    })
}

/// Station names and models of the CC-Link line every MELSEC PLC here hosts.
const STATIONS: [(u8, u8, &str, &str); 6] = [
    (1, 1, "feeder inputs", "AJ65SBTB1-16D"),
    (2, 1, "feeder outputs", "AJ65SBTB1-16T"),
    (3, 4, "servo amplifier", "MR-J3-10T"),
    (7, 1, "gripper valves", "AJ65SBTB1-16T"),
    (8, 1, "light curtain", "AJ65SBTB1-16D"),
    (9, 2, "press HMI", "GT2710"),
];

fn melsec_toml(name: &str, address: &str, status_interval: &str) -> String {
    let mut t = format!(
        "\n[[devices]]\nname = \"{name}\"\nkind = \"melsec\"\naddress = \"{address}\"\n\
         status_interval = \"{status_interval}\"\n\n[[devices.cclink]]\nname = \"{NETWORK}\"\n"
    );
    for (number, _, station, model) in STATIONS {
        let _ = write!(
            t,
            "\n[[devices.cclink.stations]]\nnumber = {number}\nname = \"{station}\"\nmodel = \"{model}\"\n"
        );
    }
    t
}

/// A CC-Link network status as the MELSEC adapter publishes it, with `down` stations down.
fn network_status(down: &[u8], link_scan_ms: f64, retries: u64) -> Value {
    let stations: Vec<Value> = STATIONS
        .iter()
        .map(|(number, occupies, name, model)| {
            let is_down = down.contains(number);
            json!({
                "number": number, "occupies": occupies, "name": name, "model": model,
                "state": if is_down { "faulty" } else { "ok" }, "down": is_down,
                "data_link_error": is_down, "watchdog_error": false, "fuse_blown": false,
                "switch_changed": false, "number_overlap": false, "parameter_mismatch": false,
            })
        })
        .collect();
    let findings: Vec<Value> = if down.is_empty() {
        Vec::new()
    } else {
        vec![json!({
            "kind": "CableOrPower", "stations": down, "confirmed": true,
            "text": {
                "en": "No answer from the station: cable, terminating resistor or station power",
                "zh": "站无应答：检查电缆、终端电阻或站电源"
            },
            "remedy": {
                "en": "Check the CC-Link cable and connectors to the station, the terminating resistors at both ends, and the station's 24 V supply.",
                "zh": "检查到该站的 CC-Link 电缆和接头、两端终端电阻以及该站的 24 V 电源。"
            },
        })]
    };
    json!({
        "kind": "CC-Link Ver.1", "line_ok": true, "stations": stations, "findings": findings,
        "link_scan": { "current_ms": link_scan_ms, "min_ms": 2.0, "max_ms": 6.0 },
        "retries": retries,
    })
}

fn s7_identity() -> Value {
    json!({
        "order_number": "6ES7 315-2EH14-0AB0", "firmware": "V3.2.6", "hardware": "5",
        "plc_name": "Line 4 CPU", "module_name": "CPU 315-2 PN/DP", "plant_id": "Line 4",
        "serial": "S C-X4U421302009", "module_type": "CPU 315-2 PN/DP", "pdu_size": 240,
    })
}

fn s7_modules(faulty_slot: Option<u64>) -> Value {
    let list: Vec<Value> = (2..10u64)
        .map(|slot| {
            let error = faulty_slot == Some(slot);
            json!({
                "rack": 0, "slot": slot, "logical_address": 256 + 16 * slot,
                "expected_type": "0x8C01", "actual_type": if error { "0x0000" } else { "0x8C01" },
                "error": error, "exists": true, "not_available": false, "disabled": false,
                "station_error": false,
            })
        })
        .collect();
    json!(list)
}

fn mode(mode: &str, previous: Option<&str>) -> StatusUpdate {
    StatusUpdate::CpuMode(CpuModeView {
        mode: mode.into(),
        previous: previous.map(str::to_owned),
        changed_at: None,
    })
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// An S7 diagnostic event as the S7 adapter makes it from a buffer entry.
fn s7_event(event_id: u16, device_ms: i64, gateway_ms: i64, seq: u64) -> DiagEvent {
    let text = plcdiag_s7::catalog::describe(event_id, plcdiag_s7::catalog::Lang::En)
        .text
        .into_owned();
    let ob = match event_id >> 12 {
        1 => 1,
        2 => 121,
        3 => 82,
        4 => 100,
        _ => 80,
    };
    let info2 = (seq as u32).wrapping_mul(2_654_435_761);
    let mut raw = Vec::with_capacity(20);
    raw.extend_from_slice(&event_id.to_be_bytes());
    raw.extend_from_slice(&[26, ob]);
    raw.extend_from_slice(&0xC4u16.to_be_bytes());
    raw.extend_from_slice(&0x0101u16.to_be_bytes());
    raw.extend_from_slice(&info2.to_be_bytes());
    raw.extend_from_slice(&device_ms.to_be_bytes());
    DiagEvent {
        device_time: Some(at(device_ms).naive_utc()),
        gateway_time: at(gateway_ms),
        event_id,
        class: (event_id >> 12) as u8,
        entering: Some(event_id & 0x0100 != 0),
        text,
        details: json!({
            "priority": 26, "ob": ob, "dat_id": "0xC400", "info1": "0x0101",
            "info2": format!("0x{info2:08X}"),
            "internal": event_id & 0x0400 != 0, "external": event_id & 0x0800 != 0,
        }),
        raw,
    }
}

/// A CC-Link station event as the MELSEC adapter makes it.
fn station_event(number: u8, down: bool, gateway_ms: i64) -> DiagEvent {
    let (_, _, name, model) = STATIONS
        .iter()
        .find(|s| s.0 == number)
        .copied()
        .unwrap_or((number, 1, "station", "?"));
    let what = format!("CC-Link {NETWORK}: station {number} ({name}, {model})");
    let (text, details) = if down {
        (
            format!(
                "{what}: data link error (No answer from the station: cable, terminating resistor or station power)"
            ),
            json!({ "network": NETWORK, "station": number, "remedy": "Check the CC-Link cable and connectors to the station, the terminating resistors at both ends, and the station's 24 V supply.", "seen_at_start": false }),
        )
    } else {
        (
            format!("{what}: back on the link"),
            json!({ "network": NETWORK, "station": number }),
        )
    };
    let mut raw = vec![2, u8::from(down)];
    raw.extend_from_slice(&u16::from(number).to_be_bytes());
    raw.extend_from_slice(&gateway_ms.to_be_bytes());
    DiagEvent {
        device_time: None,
        gateway_time: at(gateway_ms),
        event_id: u16::from(number),
        class: 2,
        entering: Some(down),
        text,
        details,
        raw,
    }
}

/// A MELSEC CPU error (class 1) or its clearing, as the MELSEC adapter makes it.
fn cpu_error_event(code: u16, entering: bool, gateway_ms: i64) -> DiagEvent {
    use plcdiag_melsec::Series;
    use plcdiag_melsec::errors::{Lang, describe};
    let t = describe(code, Series::Q, Lang::En);
    let (text, details) = if entering {
        (
            t.text.into_owned(),
            json!({
                "remedy": t.remedy, "stops_cpu": t.stops_cpu, "text_confirmed": t.confirmed,
                "detail_layout": 0, "detail": [], "run_state": "RUN", "stop_cause": null,
            }),
        )
    } else {
        (format!("cleared: {}", t.text), json!({}))
    };
    let mut raw = vec![1, u8::from(entering)];
    raw.extend_from_slice(&code.to_be_bytes());
    raw.extend_from_slice(&gateway_ms.to_be_bytes());
    DiagEvent {
        device_time: Some(at(gateway_ms - 400).naive_utc()),
        gateway_time: at(gateway_ms),
        event_id: code,
        class: 1,
        entering: Some(entering),
        text,
        details,
        raw,
    }
}

fn status(live: &Live, device: &str, at_ms: i64, update: StatusUpdate) {
    live.apply(&Observation::Status {
        device: device.into(),
        at: at(at_ms),
        update,
    });
}

fn health(live: &Live, device: &str, state: HealthState, since_ms: i64, error: Option<&str>) {
    live.apply(&Observation::Health {
        device: device.into(),
        health: Health {
            state,
            since: at(since_ms),
            last_error: error.map(str::to_owned),
            rtt: (state == HealthState::Online).then(|| Duration::from_micros(4_300)),
            consecutive_failures: if state == HealthState::Online { 0 } else { 5 },
        },
    });
}

fn values(live: &Live, device: &str, at_ms: i64, values: &[f64]) {
    let readings: Vec<TagReading> = values
        .iter()
        .enumerate()
        .map(|(tag, v)| TagReading {
            tag,
            value: Some(*v),
            quality: Quality::Good,
        })
        .collect();
    live.apply(&Observation::Values {
        device: device.into(),
        at: at(at_ms),
        rtt: Duration::from_micros(4_300),
        readings: readings.into(),
    });
}

fn diagnostics(live: &Live, device: &str, events: Vec<DiagEvent>) {
    live.apply(&Observation::Diagnostics {
        device: device.into(),
        events: events.into(),
        backlog: false,
    });
}

// ---------------------------------------------------------------------------------------
// Overview

async fn overview_bench(o: &Options) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("plcdiag-bench-web-")
        .tempdir()
        .context("creating a temporary directory")?;
    let database = dir.path().join("overview.db");
    let mut text = String::from("[gateway]\ndatabase = \"overview.db\"\n");
    let name = |i: usize| format!("dev-{i:04}");
    for i in 0..o.devices {
        let host = format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256 + 1);
        match i % 3 {
            0 => {
                let _ = write!(
                    text,
                    "\n[[devices]]\nname = \"{}\"\nkind = \"s7\"\naddress = \"{host}:102\"\nrack = 0\nslot = 2\n\
                     \n[[devices.tags]]\nname = \"temperature\"\naddress = \"DB10.DBD4:REAL\"\nunit = \"°C\"\n",
                    name(i)
                );
            }
            1 => text.push_str(&melsec_toml(&name(i), &format!("{host}:5007"), "10s")),
            _ => {
                let _ = write!(
                    text,
                    "\n[[devices]]\nname = \"{}\"\nkind = \"modbus\"\naddress = \"tcp://{host}:502\"\n\
                     \n[[devices.tags]]\nname = \"flow\"\naddress = \"hr:0\"\nunit = \"m³/h\"\n\
                     \n[[devices.tags]]\nname = \"pressure\"\naddress = \"hr:1\"\nunit = \"bar\"\n",
                    name(i)
                );
            }
        }
    }
    let config = parse_config(&text, dir.path())?;
    let t0 = Instant::now();
    let store = Store::open(&database).await?;
    plcdiag::store::writer::prepare(store.clone(), config.devices.clone()).await?;

    let now = Utc::now().timestamp_millis();
    let live = Live::new(&config.devices, at(now - 3 * DAY));
    let mut rng = fastrand::Rng::with_seed(6);
    let mut states = std::collections::BTreeMap::<&str, usize>::new();
    let mut with_diag = 0;
    for i in 0..o.devices {
        let n = name(i);
        let since = now - rng.i64(MINUTE..3 * DAY);
        let roll = rng.u32(0..100);
        let state = match roll {
            0..80 => HealthState::Online,
            80..90 => HealthState::Offline,
            90..95 => HealthState::Demoted,
            _ => HealthState::Unknown,
        };
        match state {
            HealthState::Online => health(&live, &n, state, since, None),
            HealthState::Offline | HealthState::Demoted => health(
                &live,
                &n,
                state,
                since,
                Some("connect to 10.0.0.1:102 timed out after 500ms"),
            ),
            HealthState::Unknown => {}
        }
        let diag = rng.u32(0..100) < 60;
        let kind = i % 3;
        let mut shown = state.as_str();
        if kind == 0 {
            let stop = state == HealthState::Online && rng.u32(0..100) < 5;
            if state != HealthState::Unknown {
                status(&live, &n, since, StatusUpdate::Identity(s7_identity()));
                let m = if stop { "STOP" } else { "RUN" };
                status(&live, &n, since, mode(m, Some("STARTUP")));
                status(
                    &live,
                    &n,
                    since,
                    StatusUpdate::CycleTimes(CycleTimesView {
                        current_ms: 12.0,
                        min_ms: 3.0,
                        max_ms: 40.0,
                    }),
                );
                status(&live, &n, since, StatusUpdate::Modules(s7_modules(None)));
                values(&live, &n, now - 800, &[21.5]);
                if stop {
                    shown = "stop";
                }
            }
            if diag {
                let id = [0x3942u16, 0x3501, 0x4302, 0x2521][i % 4];
                diagnostics(&live, &n, vec![s7_event(id, since, since, i as u64)]);
            }
        } else if kind == 1 {
            if state != HealthState::Unknown {
                status(&live, &n, since, mode("RUN", None));
                let down: &[u8] = if state == HealthState::Online && rng.u32(0..100) < 10 {
                    shown = "cclink_fault";
                    &[3]
                } else {
                    &[]
                };
                status(
                    &live,
                    &n,
                    since,
                    StatusUpdate::Network {
                        name: NETWORK.into(),
                        status: network_status(down, 3.5, 0),
                    },
                );
            }
            if diag {
                let e = if i % 2 == 0 {
                    station_event(3, true, since)
                } else {
                    cpu_error_event(2110, true, since)
                };
                diagnostics(&live, &n, vec![e]);
            }
        } else if state != HealthState::Unknown {
            values(&live, &n, now - 800, &[12.5, 4.2]);
        }
        with_diag += usize::from(diag);
        *states.entry(shown).or_default() += 1;
    }

    // Alarms: finished ones (a year of them) and open ones on about 15 % of the devices.
    let mut conn = raw_connection(&database, false).await?;
    let mut b = Bulk::new(
        "alarms",
        &[
            "rule",
            "device",
            "driver",
            "priority",
            "state",
            "active",
            "acked",
            "message",
            "vals",
            "raised_ms",
            "cleared_ms",
            "acked_ms",
            "updated_ms",
        ],
    );
    let kinds = ["s7", "melsec", "modbus"];
    let priorities = ["low", "medium", "high", "critical"];
    let mut tx = conn.begin().await?;
    for k in 0..20_000i64 {
        let i = rng.usize(0..o.devices);
        let raised = now - 365 * DAY + k * (365 * DAY / 20_000);
        b.push(
            &mut tx,
            vec![
                Cell::T(format!("rule-{}", k % 40)),
                Cell::T(name(i)),
                Cell::T(kinds[i % 3].into()),
                Cell::T(priorities[(k % 4) as usize].into()),
                Cell::T("normal".into()),
                Cell::I(0),
                Cell::I(1),
                Cell::T("Temperature above 80 °C".into()),
                Cell::T(r#"{"temperature":81.5}"#.into()),
                Cell::I(raised),
                Cell::I(raised + 5 * MINUTE),
                Cell::I(raised + 2 * MINUTE),
                Cell::I(raised + 5 * MINUTE),
            ],
        )
        .await?;
    }
    let mut open = 0;
    for i in 0..o.devices {
        if rng.u32(0..100) >= 15 {
            continue;
        }
        for j in 0..rng.i64(1..4) {
            let raised = now - rng.i64(MINUTE..2 * DAY);
            let acked = j == 1;
            b.push(
                &mut tx,
                vec![
                    Cell::T(format!("rule-{j}")),
                    Cell::T(name(i)),
                    Cell::T(kinds[i % 3].into()),
                    Cell::T(priorities[rng.usize(0..4)].into()),
                    Cell::T(
                        if acked {
                            "acknowledged"
                        } else {
                            "unacknowledged"
                        }
                        .into(),
                    ),
                    Cell::I(1),
                    Cell::I(i64::from(acked)),
                    Cell::T("Temperature above 80 °C".into()),
                    Cell::T(r#"{"temperature":81.5}"#.into()),
                    Cell::I(raised),
                    Cell::Null,
                    if acked {
                        Cell::I(raised + MINUTE)
                    } else {
                        Cell::Null
                    },
                    Cell::I(raised),
                ],
            )
            .await?;
            open += 1;
        }
    }
    b.flush(&mut tx).await?;
    tx.commit().await?;
    conn.close().await?;
    let seeded = t0.elapsed();

    let states: Vec<String> = states.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "\noverview: GET / with {} devices ({}; {with_diag} with a last diagnostic), {open} open \
         alarms among {} alarm rows; store and live view set up in {:.1} s",
        o.devices,
        states.join(", "),
        open + 20_000,
        seeded.as_secs_f64()
    );
    let devices = o.devices;
    let cases = [Case {
        label: "overview /".into(),
        path: "/".into(),
        check: Box::new(move |body| {
            let rows = count(body, "<tr data-device=\"");
            ensure!(rows == devices, "{rows} device rows, expected {devices}");
            let alarms = format!("data-count=\"alarms\">Alarms <b>{open}</b>");
            ensure!(
                body.contains(&alarms) || count(body, "data-count=\"alarms\"") == 1,
                "no alarm count"
            );
            Ok(format!("{rows} device rows"))
        }),
    }];
    let app = router(live.clone(), store.clone());
    measure(&app, &cases, o).await?;
    // Alone: the live view's full snapshot (what `/api/devices` copies; the page borrows the
    // view under its lock instead) and the page's open-alarm query.
    let rounds = o.samples.clamp(1, 200);
    let (mut snapshot, mut alarms) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t0 = Instant::now();
        let n = live.devices(Utc::now()).len();
        snapshot.push(t0.elapsed());
        let t0 = Instant::now();
        let a = store.open_alarms().await?.len();
        alarms.push(t0.elapsed());
        ensure!(n == o.devices && a == open, "{n} devices, {a} open alarms");
    }
    snapshot.sort();
    alarms.sort();
    println!(
        "  alone ({rounds} each): Live::devices (API) {:.2} / {:.2} ms, Store::open_alarms ({open} rows) {:.2} / {:.2} ms (p50 / p99)",
        ms(pct(&snapshot, 50.0)),
        ms(pct(&snapshot, 99.0)),
        ms(pct(&alarms, 50.0)),
        ms(pct(&alarms, 99.0))
    );
    store.close().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Device pages

fn device_config_text() -> String {
    let mut t = format!(
        "[gateway]\ndatabase = \"history.db\"\n\n[[devices]]\nname = \"{S7_NAME}\"\nkind = \"s7\"\n\
         address = \"10.4.0.10:102\"\nrack = 0\nslot = 2\n\
         \n[[devices.tags]]\nname = \"hydraulic_temperature\"\naddress = \"DB20.DBD0:REAL\"\nunit = \"°C\"\ndeadband = 0.5\n\
         \n[[devices.tags]]\nname = \"press_force\"\naddress = \"DB20.DBD4:REAL\"\nunit = \"kN\"\ndeadband = 1.0\n"
    );
    t.push_str(&melsec_toml(MELSEC_NAME, "10.4.0.20:5007", "60s"));
    t.push_str(
        "\n[[devices.tags]]\nname = \"strokes\"\naddress = \"D100\"\n\
         \n[[devices.tags]]\nname = \"oil_pressure\"\naddress = \"D102\"\nunit = \"bar\"\n",
    );
    t
}

async fn device_bench(o: &Options) -> anyhow::Result<()> {
    let temp = tempfile::Builder::new()
        .prefix("plcdiag-bench-web-")
        .tempdir()
        .context("creating a temporary directory")?;
    let database = if o.fresh {
        temp.path().join("history.db")
    } else {
        cache_dir()?.join(format!("history-v{SEED_VERSION}-{}d.db", o.days))
    };
    let config = parse_config(&device_config_text(), temp.path())?;
    let t0 = Instant::now();
    let seeded = seed_history(&database, &config, o.days).await?;
    let store = Store::open(&database).await?;
    let setup = t0.elapsed();
    let ids = plcdiag::store::writer::prepare(store.clone(), config.devices.clone()).await;
    ids.context("registering the devices")?;

    let mut sizes = String::new();
    let mut conn = raw_connection(&database, false).await?;
    for table in [
        "device_status",
        "status_values",
        "diag_events",
        "tag_samples",
        "health_transitions",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await?;
        let _ = write!(sizes, "{table} {n}, ");
    }
    let by_kind: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM device_status GROUP BY kind ORDER BY 2 DESC")
            .fetch_all(&mut conn)
            .await?;
    conn.close().await?;
    let file = std::fs::metadata(&database).map_or(0, |m| m.len());
    println!(
        "\ndevice pages: {} days of history for {S7_NAME} (s7) and {MELSEC_NAME} (melsec) in {}\n  \
         {seeded}; ready in {:.1} s; {:.0} MiB\n  rows: {}\n  device_status by kind: {}",
        o.days,
        database.display(),
        setup.as_secs_f64(),
        file as f64 / 1024.0 / 1024.0,
        sizes.trim_end_matches(", "),
        by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let now = Utc::now().timestamp_millis();
    let live = Live::new(&config.devices, at(now - 2 * DAY));
    health(&live, S7_NAME, HealthState::Online, now - 2 * DAY, None);
    status(&live, S7_NAME, now, StatusUpdate::Identity(s7_identity()));
    status(&live, S7_NAME, now, mode("RUN", Some("STARTUP")));
    status(
        &live,
        S7_NAME,
        now,
        StatusUpdate::CycleTimes(CycleTimesView {
            current_ms: 12.0,
            min_ms: 3.0,
            max_ms: 41.0,
        }),
    );
    status(
        &live,
        S7_NAME,
        now,
        StatusUpdate::Modules(s7_modules(Some(5))),
    );
    values(&live, S7_NAME, now - 700, &[48.2, 812.0]);
    diagnostics(&live, S7_NAME, vec![s7_event(0x3942, now, now, 1)]);
    health(&live, MELSEC_NAME, HealthState::Online, now - 2 * DAY, None);
    status(&live, MELSEC_NAME, now, mode("RUN", None));
    status(
        &live,
        MELSEC_NAME,
        now,
        StatusUpdate::Network {
            name: NETWORK.into(),
            status: network_status(&[8], 3.6, 2),
        },
    );
    values(&live, MELSEC_NAME, now - 700, &[120_344.0, 182.5]);
    diagnostics(&live, MELSEC_NAME, vec![station_event(8, true, now)]);

    let s7_check = |window: &'static str, class: Option<u8>| -> Check {
        Box::new(move |body| {
            ensure!(body.contains("id=\"cycle-trend\""), "no cycle-time chart");
            ensure!(body.contains("id=\"mode-timeline\""), "no mode timeline");
            ensure!(active_window(body, window), "not the {window} window");
            let rows = count(body, "<tr data-event-id=\"");
            ensure!(rows > 0, "no diagnostic row");
            if let Some(c) = class {
                let of_class = count(body, &format!("data-class=\"{c}\" data-entering"));
                ensure!(
                    of_class == rows,
                    "{rows} diagnostic rows, {of_class} of class {c}"
                );
            }
            Ok(format!("{rows} diagnostic rows"))
        })
    };
    let melsec_check = |window: &'static str| -> Check {
        Box::new(move |body| {
            ensure!(
                body.contains("id=\"station-timeline\""),
                "no station timeline"
            );
            ensure!(
                body.contains("id=\"link-scan-trend\""),
                "no link scan chart"
            );
            ensure!(active_window(body, window), "not the {window} window");
            let stations = count(body, "data-occupies=\"");
            ensure!(stations == STATIONS.len(), "{stations} station cells");
            Ok(format!("{stations} stations"))
        })
    };
    let cases = vec![
        Case {
            label: format!("{S7_NAME} 24h"),
            path: format!("/devices/{S7_NAME}"),
            check: s7_check("24h", None),
        },
        Case {
            label: format!("{S7_NAME} 7d"),
            path: format!("/devices/{S7_NAME}?window=7d"),
            check: s7_check("7d", None),
        },
        Case {
            label: format!("{S7_NAME} class=3"),
            path: format!("/devices/{S7_NAME}?class=3"),
            check: s7_check("24h", Some(3)),
        },
        Case {
            label: format!("{MELSEC_NAME} 24h"),
            path: format!("/devices/{MELSEC_NAME}"),
            check: melsec_check("24h"),
        },
        Case {
            label: format!("{MELSEC_NAME} 7d"),
            path: format!("/devices/{MELSEC_NAME}?window=7d"),
            check: melsec_check("7d"),
        },
    ];
    if !o.store_only {
        let app = router(live, store.clone());
        let mut cases = cases;
        // A page deep in the diagnostic table, reached as a user would: "older" 100 times.
        let base = format!("/devices/{S7_NAME}");
        let mut deep = base.clone();
        for _ in 0..100 {
            let (_, body, _) = get(&app, &deep).await?;
            match older_link(&body) {
                Some(href) => deep = format!("{base}{href}"),
                None => break,
            }
        }
        cases.push(Case {
            label: format!("{S7_NAME} 100 pages older"),
            check: Box::new(move |body| {
                ensure!(body.contains("data-page=\"newer\""), "not an older page");
                s7_check("24h", None)(body)
            }),
            path: deep,
        });
        measure(&app, &cases, o).await?;
    }
    store_breakdown(&store, o).await?;
    store.close().await;
    Ok(())
}

/// The store calls the device pages make, timed alone (same store, same windows), to show
/// where a page's time goes: rows returned, p50, p99.
async fn store_breakdown(store: &Store, o: &Options) -> anyhow::Result<()> {
    let rounds = o.samples.clamp(1, 200);
    println!("  store calls alone ({rounds} each):");
    println!(
        "  {:<52} {:>7} {:>9} {:>9}",
        "call", "rows", "p50 ms", "p99 ms"
    );
    // Each call gets the window ending at the moment it starts, as a page request would.
    async fn time<F, Fut>(label: &str, rounds: usize, call: F) -> anyhow::Result<()>
    where
        F: Fn(DateTime<Utc>) -> Fut,
        Fut: Future<Output = anyhow::Result<usize>>,
    {
        let mut times = Vec::with_capacity(rounds);
        let mut rows = 0;
        for _ in 0..rounds {
            let now = Utc::now();
            let t0 = Instant::now();
            rows = call(now).await?;
            times.push(t0.elapsed());
        }
        times.sort();
        println!(
            "  {label:<52} {rows:>7} {:>9.2} {:>9.2}",
            ms(pct(&times, 50.0)),
            ms(pct(&times, 99.0))
        );
        Ok(())
    }
    let buckets = 500;
    let stations = format!("stations:{NETWORK}");
    let link_scan = format!("link_scan_ms:{NETWORK}");
    for (w, span) in [("24h", DAY), ("7d", 7 * DAY)] {
        let window = |now: DateTime<Utc>| (now - chrono::Duration::milliseconds(span), now);
        time(
            &format!("status_history {S7_NAME} cpu_mode {w}"),
            rounds,
            |now| async move {
                let (from, to) = window(now);
                Ok(store
                    .status_history(S7_NAME, Some("cpu_mode"), from, to)
                    .await?
                    .map_or(0, |v| v.len()))
            },
        )
        .await?;
        time(
            &format!("series_buckets {S7_NAME} cycle_ms {w}"),
            rounds,
            |now| async move {
                Ok(store
                    .series_buckets(S7_NAME, "cycle_ms", window(now), buckets)
                    .await?
                    .len())
            },
        )
        .await?;
        let label = format!("series_buckets {MELSEC_NAME} link_scan_ms {w}");
        time(&label, rounds, |now| {
            let link_scan = &link_scan;
            async move {
                Ok(store
                    .series_buckets(MELSEC_NAME, link_scan, window(now), buckets)
                    .await?
                    .len())
            }
        })
        .await?;
        let label = format!("series_changes {MELSEC_NAME} stations {w}");
        time(&label, rounds, |now| {
            let stations = &stations;
            async move {
                Ok(store
                    .series_changes(MELSEC_NAME, stations, window(now))
                    .await?
                    .len())
            }
        })
        .await?;
    }

    // The event tables: one page of 100 within the last 30 days, the newest and, for the S7
    // CPU, the page 100 pages deep (found by following "older" from the newest page).
    let mut deep = DiagPageAt::Newest;
    for _ in 0..100 {
        let now = Utc::now();
        let page = store
            .diagnostics_page(
                S7_NAME,
                (now - chrono::Duration::days(30), now),
                None,
                deep,
                100,
                0,
            )
            .await?
            .context("device")?;
        match page.events.last() {
            Some(e) if page.older => deep = DiagPageAt::Before(DiagPosition::of(e)),
            _ => break,
        }
    }
    let pages = [
        (S7_NAME, None, DiagPageAt::Newest, "all classes"),
        (S7_NAME, Some(3u8), DiagPageAt::Newest, "class 3"),
        (S7_NAME, None, deep, "all classes, 100 pages deep"),
        (MELSEC_NAME, Some(1u8), DiagPageAt::Newest, "class 1"),
    ];
    for (device, class, at, what) in pages {
        let label = format!("diagnostics_page {device} 30d {what}");
        time(&label, rounds, |now| async move {
            let window = (now - chrono::Duration::days(30), now);
            let page = store
                .diagnostics_page(device, window, class, at, 100, 5_000)
                .await?
                .context("device")?;
            Ok(page.events.len())
        })
        .await?;
    }
    Ok(())
}

/// `target/web-bench/`, next to the bench binary's profile directory.
fn cache_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    // target/release/deps/web-HASH
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    let dir = target.join("web-bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

// ---------------------------------------------------------------------------------------
// Seeding

/// A raw connection to the database (`fast`: for bulk writes, without syncing to disk).
async fn raw_connection(path: &Path, fast: bool) -> anyhow::Result<SqliteConnection> {
    let mut opts = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .busy_timeout(Duration::from_secs(5));
    if fast {
        // The journal stays WAL: leaving it needs the file to itself, and a connection of the
        // store just closed may not have let go yet.
        opts = opts.synchronous(SqliteSynchronous::Off);
    }
    Ok(SqliteConnection::connect_with(&opts).await?)
}

/// A value to bind.
enum Cell {
    I(i64),
    F(f64),
    T(String),
    B(Vec<u8>),
    Null,
}

/// Rows for one table, inserted [`Bulk::ROWS`] per statement.
struct Bulk {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
    sql: String,
    written: u64,
}

impl Bulk {
    const ROWS: usize = 100;

    fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            rows: Vec::with_capacity(Self::ROWS),
            sql: Self::statement(table, columns, Self::ROWS),
            written: 0,
        }
    }

    fn statement(table: &str, columns: &[&str], rows: usize) -> String {
        let one = format!("({})", vec!["?"; columns.len()].join(","));
        format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(","),
            vec![one; rows].join(",")
        )
    }

    async fn push(&mut self, conn: &mut SqliteConnection, row: Vec<Cell>) -> anyhow::Result<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
        if self.rows.len() == Self::ROWS {
            self.flush(conn).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &mut SqliteConnection) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let partial;
        let sql = if self.rows.len() == Self::ROWS {
            &self.sql
        } else {
            partial = Self::statement(self.table, self.columns, self.rows.len());
            &partial
        };
        let mut q = sqlx::query(sql);
        for cell in self.rows.iter().flatten() {
            q = match cell {
                Cell::I(v) => q.bind(*v),
                Cell::F(v) => q.bind(*v),
                Cell::T(v) => q.bind(v.as_str()),
                Cell::B(v) => q.bind(v.as_slice()),
                Cell::Null => q.bind(None::<i64>),
            };
        }
        q.execute(&mut *conn)
            .await
            .with_context(|| format!("inserting into {}", self.table))?;
        self.written += self.rows.len() as u64;
        self.rows.clear();
        Ok(())
    }
}

/// The device ids the store gave the two devices, and their tag ids.
struct Ids {
    s7: i64,
    melsec: i64,
    s7_tags: Vec<i64>,
    melsec_tags: Vec<i64>,
}

async fn device_ids(conn: &mut SqliteConnection, name: &str) -> anyhow::Result<(i64, Vec<i64>)> {
    let id: i64 = sqlx::query_scalar("SELECT id FROM devices WHERE name = ?")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    let tags: Vec<i64> = sqlx::query_scalar("SELECT id FROM tags WHERE device_id = ? ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok((id, tags))
}

async fn ids(conn: &mut SqliteConnection) -> anyhow::Result<Ids> {
    let device = device_ids;
    let (s7, s7_tags) = device(conn, S7_NAME).await?;
    let (melsec, melsec_tags) = device(conn, MELSEC_NAME).await?;
    Ok(Ids {
        s7,
        melsec,
        s7_tags,
        melsec_tags,
    })
}

/// Brings the history at `path` to `days` ending now: seeds it when missing, appends what
/// is missing since it was last brought up to date and prunes what is older (with the
/// writer's own retention delete). Returns what it did.
async fn seed_history(path: &Path, config: &Config, days: i64) -> anyhow::Result<String> {
    let now = Utc::now().timestamp_millis();
    let t0 = Instant::now();
    let (from, building) = if path.exists() {
        let store = Store::open(path).await?;
        plcdiag::store::writer::prepare(store.clone(), config.devices.clone()).await?;
        store.close().await;
        let mut conn = raw_connection(path, false).await?;
        let ids = ids(&mut conn).await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(at_ms) FROM device_status WHERE device_id = ?")
                .bind(ids.s7)
                .fetch_one(&mut conn)
                .await?;
        conn.close().await?;
        (last.map_or(now - days * DAY, |l| l + 1), None)
    } else {
        let building = path.with_extension("db.building");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
        }
        let store = Store::open(&building).await?;
        plcdiag::store::writer::prepare(store.clone(), config.devices.clone()).await?;
        store.close().await;
        (now - days * DAY, Some(building))
    };
    let target = building.as_deref().unwrap_or(path);
    let mut conn = raw_connection(target, true).await?;
    let ids = ids(&mut conn).await?;
    let written = generate(&mut conn, &ids, from, now).await?;
    // The per-minute chart table the writer keeps with each number (series::insert), for the
    // minutes just written; bulk here rather than one upsert per row.
    sqlx::query(
        "INSERT INTO status_minutes (device_id, series, minute, min, max)
         SELECT device_id, series, at_ms / 60000, MIN(value), MAX(value) FROM status_values
         WHERE at_ms >= ?1 AND series NOT LIKE 'stations:%' AND value IS NOT NULL
         GROUP BY device_id, series, at_ms / 60000
         ON CONFLICT (device_id, series, minute)
         DO UPDATE SET min = MIN(min, excluded.min), max = MAX(max, excluded.max)",
    )
    .bind(from)
    .execute(&mut conn)
    .await?;
    // The writer stores a network's station mask only when it changes (series::insert).
    sqlx::query(
        "DELETE FROM status_values WHERE rowid IN (
             SELECT rowid FROM (
                 SELECT rowid, value, at_ms,
                        LAG(value, 1, -1) OVER (PARTITION BY device_id, series ORDER BY at_ms) AS before,
                        ROW_NUMBER() OVER (PARTITION BY device_id, series ORDER BY at_ms) AS n
                 FROM status_values WHERE series LIKE 'stations:%')
             WHERE n > 1 AND value IS before AND at_ms >= ?1)",
    )
    .bind(from)
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    let mut pruned = 0;
    if building.is_none() {
        let store = Store::open(path).await?;
        let retention = Duration::from_millis(u64::try_from(days * DAY).unwrap_or(u64::MAX));
        pruned = plcdiag::store::writer::prune_older_than(&store, at(now), retention).await?;
        store.close().await;
    }
    if let Some(b) = &building {
        std::fs::rename(b, path).with_context(|| format!("renaming {}", b.display()))?;
    }
    let verb = if building.is_some() {
        "seeded"
    } else {
        "reused, topped up"
    };
    Ok(format!(
        "{verb}: {written} rows written for {:.1} h, {pruned} pruned, in {:.1} s",
        (now - from) as f64 / HOUR as f64,
        t0.elapsed().as_secs_f64()
    ))
}

/// Writes the history of both devices between `from` and `to` (ms), in time order, as the
/// store writer would have; returns the number of rows.
async fn generate(
    conn: &mut SqliteConnection,
    ids: &Ids,
    from: i64,
    to: i64,
) -> anyhow::Result<u64> {
    let mut status = Bulk::new("device_status", &["device_id", "at_ms", "kind", "value"]);
    let mut diag = Bulk::new(
        "diag_events",
        &[
            "device_id",
            "gateway_ms",
            "device_time",
            "event_id",
            "class",
            "entering",
            "text",
            "details",
            "raw",
        ],
    );
    let mut samples = Bulk::new(
        "tag_samples",
        &["tag_id", "at_ms", "value", "quality", "reason"],
    );
    // The charted numbers the store writer adds next to a status row (store::series).
    let mut values = Bulk::new("status_values", &["device_id", "series", "at_ms", "value"]);
    let mut transitions = Bulk::new(
        "health_transitions",
        &["device_id", "at_ms", "state", "error", "rtt_us", "failures"],
    );
    let mut rng = fastrand::Rng::with_seed(from as u64);
    let diag_row = |device: i64, e: &DiagEvent| -> Vec<Cell> {
        vec![
            Cell::I(device),
            Cell::I(e.gateway_time.timestamp_millis()),
            e.device_time.map_or(Cell::Null, |t| {
                Cell::T(t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
            }),
            Cell::I(i64::from(e.event_id)),
            Cell::I(i64::from(e.class)),
            e.entering.map_or(Cell::Null, |b| Cell::I(i64::from(b))),
            Cell::T(e.text.clone()),
            Cell::T(e.details.to_string()),
            Cell::B(e.raw.clone()),
        ]
    };

    // Day by day (one transaction each), every stream in time order within the day.
    let mut day_start = from;
    let mut seq: u64 = from as u64;
    let mut s7_mode_stop_until: Option<i64> = None;
    let mut down: Vec<(i64, u8)> = Vec::new();
    while day_start < to {
        let day_end = (day_start + DAY).min(to);
        let mut tx = conn.begin().await?;

        // S7: a maintenance stop about every 12 h (STOP, then RUN 5 to 30 minutes later),
        // with its buffer events; the rest of the buffer is a Poisson stream in bursts.
        let mut events: Vec<DiagEvent> = Vec::new();
        let mut modes: Vec<(i64, &str, &str)> = Vec::new();
        let mut t = day_start;
        loop {
            t += rng.i64(6 * HOUR..18 * HOUR);
            if t >= day_end {
                break;
            }
            let back = t + rng.i64(5 * MINUTE..30 * MINUTE);
            modes.push((t, "STOP", "RUN"));
            events.push(s7_event(0x4304, t, t + 300, seq));
            events.push(s7_event(0x1381, back - 2_000, back - 1_700, seq + 1));
            events.push(s7_event(0x4302, back, back + 300, seq + 2));
            seq += 3;
            if back < day_end {
                modes.push((back, "RUN", "STOP"));
            } else {
                s7_mode_stop_until = Some(back);
            }
        }
        if let Some(back) = s7_mode_stop_until.take()
            && back >= day_start
            && back < day_end
        {
            modes.push((back, "RUN", "STOP"));
        }
        let mut t = day_start;
        loop {
            t += (-(rng.f64().max(1e-9)).ln() * (S7_DIAG_EVERY * 3) as f64) as i64 + 1;
            if t >= day_end {
                break;
            }
            // A burst of 1..5 related events, e.g. a module fault coming and going.
            let burst = rng.usize(1..6);
            for k in 0..burst {
                let id = match rng.u32(0..100) {
                    0..35 => [0x3942u16, 0x3842][k % 2],
                    35..50 => [0x3921u16, 0x3821][k % 2],
                    50..65 => 0x3501,
                    65..80 => 0x2521,
                    80..90 => 0x113A,
                    _ => [0x3961u16, 0x3861][k % 2],
                };
                let dt = t + k as i64 * 40;
                events.push(s7_event(id, dt, dt + rng.i64(100..1_000), seq));
                seq += 1;
            }
        }
        events.sort_by_key(|e| e.gateway_time);
        for e in &events {
            diag.push(&mut tx, diag_row(ids.s7, e)).await?;
        }
        modes.sort_by_key(|m| m.0);
        for (t, m, prev) in &modes {
            let v = json!({ "mode": m, "previous": prev, "changed_at": null });
            status
                .push(
                    &mut tx,
                    vec![
                        Cell::I(ids.s7),
                        Cell::I(*t),
                        Cell::T("cpu_mode".into()),
                        Cell::T(v.to_string()),
                    ],
                )
                .await?;
        }
        // A reconnect a day: unsupported, identity, modules (published again), a health blip.
        let reconnect = day_start + rng.i64(0..(day_end - day_start).max(1));
        for (kind, v) in [
            ("unsupported", json!([])),
            ("identity", s7_identity()),
            (
                "protection",
                json!({"level": 1, "parameterised_level": 1, "key_switch": "Run", "password_set": false}),
            ),
            ("modules", s7_modules(None)),
        ] {
            status
                .push(
                    &mut tx,
                    vec![
                        Cell::I(ids.s7),
                        Cell::I(reconnect),
                        Cell::T(kind.into()),
                        Cell::T(v.to_string()),
                    ],
                )
                .await?;
        }
        for (device, dt) in [(ids.s7, 0), (ids.melsec, 7 * MINUTE)] {
            for (state, err, off) in [
                (
                    "offline",
                    Some("connect to 10.4.0.10:102 timed out after 500ms"),
                    0,
                ),
                ("online", None, 40 * SECOND),
            ] {
                transitions
                    .push(
                        &mut tx,
                        vec![
                            Cell::I(device),
                            Cell::I(reconnect + dt + off),
                            Cell::T(state.into()),
                            err.map_or(Cell::Null, |e: &str| Cell::T(e.into())),
                            if state == "online" {
                                Cell::I(4_300)
                            } else {
                                Cell::Null
                            },
                            Cell::I(if state == "online" { 0 } else { 3 }),
                        ],
                    )
                    .await?;
            }
        }
        // S7 cycle times at every status read.
        let mut t = day_start - day_start.rem_euclid(CYCLE_EVERY) + CYCLE_EVERY;
        while t < day_end {
            let current = 11.0
                + f64::from(rng.u8(0..40)) / 10.0
                + if rng.u32(0..500) == 0 { 25.0 } else { 0.0 };
            status
                .push(
                    &mut tx,
                    vec![
                        Cell::I(ids.s7),
                        Cell::I(t),
                        Cell::T("cycle_times".into()),
                        Cell::T(format!(
                            r#"{{"current_ms":{current:.1},"min_ms":3.0,"max_ms":41.0}}"#
                        )),
                    ],
                )
                .await?;
            let v = json!({ "current_ms": (current * 10.0).round() / 10.0, "min_ms": 3.0, "max_ms": 41.0 });
            push_series(&mut values, &mut tx, ids.s7, t, "cycle_times", &v).await?;
            t += CYCLE_EVERY;
        }

        // MELSEC: the network status every NETWORK_EVERY and at each station change; station
        // drop-outs about 3 a day lasting 10 s to 30 minutes, each with its events; a CPU
        // error about once a week, cleared after a few minutes.
        let mut changes: Vec<(i64, u8, bool)> = Vec::new();
        let mut t = day_start;
        loop {
            t += rng.i64(2 * HOUR..14 * HOUR);
            if t >= day_end {
                break;
            }
            let (number, ..) = STATIONS[rng.usize(0..STATIONS.len())];
            changes.push((t, number, true));
            changes.push((t + rng.i64(10 * SECOND..30 * MINUTE), number, false));
        }
        for (back, number) in down.drain(..) {
            changes.push((back, number, false));
        }
        changes.sort_by_key(|c| c.0);
        let mut events: Vec<DiagEvent> = Vec::new();
        let mut rows: Vec<(i64, Vec<u8>)> = Vec::new();
        let mut now_down: Vec<u8> = Vec::new();
        for (t, number, is_down) in changes {
            if t >= day_end {
                down.push((t, number));
                continue;
            }
            if is_down {
                if now_down.contains(&number) {
                    continue;
                }
                now_down.push(number);
            } else {
                now_down.retain(|n| *n != number);
            }
            events.push(station_event(number, is_down, t));
            rows.push((t, now_down.clone()));
        }
        if rng.u32(0..7) == 0 {
            let t = day_start + rng.i64(0..(day_end - day_start).max(1));
            let code = [2110u16, 1610, 3300][rng.usize(0..3)];
            events.push(cpu_error_event(code, true, t));
            events.push(cpu_error_event(
                code,
                false,
                t + rng.i64(MINUTE..10 * MINUTE),
            ));
        }
        events.sort_by_key(|e| e.gateway_time);
        for e in events
            .iter()
            .filter(|e| e.gateway_time.timestamp_millis() < to)
        {
            diag.push(&mut tx, diag_row(ids.melsec, e)).await?;
        }
        let mut t = day_start - day_start.rem_euclid(NETWORK_EVERY) + NETWORK_EVERY;
        let mut change = rows.iter().peekable();
        let mut current: Vec<u8> = Vec::new();
        let mut retries = 0u64;
        while t < day_end {
            while let Some((ct, d)) = change.next_if(|(ct, _)| *ct <= t) {
                current = d.clone();
                retries += 1;
                let v =
                    json!({ "name": NETWORK, "status": network_status(&current, 3.5, retries) });
                status
                    .push(
                        &mut tx,
                        vec![
                            Cell::I(ids.melsec),
                            Cell::I(*ct),
                            Cell::T("network".into()),
                            Cell::T(v.to_string()),
                        ],
                    )
                    .await?;
                push_series(&mut values, &mut tx, ids.melsec, *ct, "network", &v).await?;
            }
            let scan = 3.0 + f64::from(rng.u8(0..20)) / 10.0;
            let v = json!({ "name": NETWORK, "status": network_status(&current, scan, retries) });
            status
                .push(
                    &mut tx,
                    vec![
                        Cell::I(ids.melsec),
                        Cell::I(t),
                        Cell::T("network".into()),
                        Cell::T(v.to_string()),
                    ],
                )
                .await?;
            push_series(&mut values, &mut tx, ids.melsec, t, "network", &v).await?;
            t += NETWORK_EVERY;
        }

        // Tag samples: a row per tag every SAMPLE_EVERY on average (on change and heartbeat).
        for (k, tag) in ids.s7_tags.iter().chain(&ids.melsec_tags).enumerate() {
            let mut t = day_start + rng.i64(0..SAMPLE_EVERY);
            let mut v = 50.0 + 10.0 * k as f64;
            while t < day_end {
                v += f64::from(rng.i8(-10..=10)) / 10.0;
                samples
                    .push(
                        &mut tx,
                        vec![
                            Cell::I(*tag),
                            Cell::I(t),
                            Cell::F(v),
                            Cell::T("good".into()),
                            Cell::Null,
                        ],
                    )
                    .await?;
                t += rng.i64(SAMPLE_EVERY / 2..SAMPLE_EVERY * 3 / 2);
            }
        }

        for b in [
            &mut status,
            &mut values,
            &mut diag,
            &mut samples,
            &mut transitions,
        ] {
            b.flush(&mut tx).await?;
        }
        tx.commit().await?;
        day_start = day_end;
    }
    Ok(status.written + values.written + diag.written + samples.written + transitions.written)
}

/// The `status_values` rows the store writer writes for a status row of `kind`.
async fn push_series(
    values: &mut Bulk,
    conn: &mut SqliteConnection,
    device: i64,
    at_ms: i64,
    kind: &str,
    value: &Value,
) -> anyhow::Result<()> {
    use plcdiag::store::series::{self, SeriesValue};
    for (name, v) in series::of(kind, value) {
        let cell = match v {
            SeriesValue::Number(n) => Cell::F(n),
            SeriesValue::Mask(Some(m)) => Cell::I(m),
            SeriesValue::Mask(None) => Cell::Null,
        };
        values
            .push(
                conn,
                vec![Cell::I(device), Cell::T(name), Cell::I(at_ms), cell],
            )
            .await?;
    }
    Ok(())
}
