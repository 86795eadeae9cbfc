//! Soak run (docs/RELIABILITY.md, "Soak"): one gateway polls simulated S7 CPUs, MELSEC PLCs
//! with CC-Link lines and Modbus devices while a fault injector breaks them at random (dropped
//! and refused connections, garbage and truncated answers, slow answers, CPU STOP/RUN,
//! diagnostic events, CC-Link station loss, CPU errors, values crossing alarm limits) and a
//! webhook receiver flaps (40 s up, 20 s answering 500, and 5 % random 500s while up).
//!
//! `cargo bench --bench soak -- run [--devices 1000] [--minutes 30] [--seed 1]`
//!
//! Every 30 s it prints the process's RSS and open file descriptors (simulators, receiver and
//! gateway share the process), polls so far and rows journalled. At the end it heals every
//! device, lets the receiver stay up, waits for the outbox to drain, stops the gateway (which
//! flushes the history) and checks, from the database file:
//! - every diagnostic event each S7 simulator holds is in the history exactly once;
//! - the journal holds exactly the alarm transitions the engine counted;
//! - every journalled notice routed to the receiver reached it (repeats are counted: delivery
//!   is at least once);
//! - no task panicked.
//!
//! Benchmarks are not tests: without `run` (as under `cargo test --all-targets`) it prints its
//! usage and exits.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use plcdiag::bench::{args, opt};
use plcdiag::gateway::Gateway;
use plcdiag_melsec::sim::{McFault, McSim, McSimHandle, SimStation};
use plcdiag_modbus::{Fault, Sim, SimHandle};
use plcdiag_s7::sim::{S7Fault, S7Sim, S7SimHandle, SimMode};

/// Diagnostic events the injector pushes into S7 buffers.
const S7_EVENTS: [u16; 6] = [0x4304, 0x3942, 0x3842, 0x4302, 0x1381, 0x3501];
/// Modbus devices per simulator (a fault of a simulator hits all its devices).
const PER_MODBUS_SIM: usize = 25;

static PANICS: AtomicU64 = AtomicU64::new(0);

struct Plant {
    s7: Vec<S7SimHandle>,
    mc: Vec<McSimHandle>,
    modbus: Vec<SimHandle>,
    modbus_devices: usize,
}

impl Plant {
    async fn spawn(devices: usize) -> anyhow::Result<Self> {
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let (n_s7, n_mc) = (devices / 3, devices / 3);
        let modbus_devices = devices - n_s7 - n_mc;
        let mut s7 = Vec::with_capacity(n_s7);
        for _ in 0..n_s7 {
            s7.push(
                S7Sim::builder()
                    .module(0, 4, 256)
                    .buffer_capacity(100_000)
                    .spawn_tcp(local)
                    .await?,
            );
        }
        let mut mc = Vec::with_capacity(n_mc);
        for _ in 0..n_mc {
            let stations = (1..=8).map(|n| SimStation::remote_io(n, "rio"));
            mc.push(McSim::builder().cclink(0, 0, stations).spawn(local).await?);
        }
        let mut modbus = Vec::new();
        for _ in 0..modbus_devices.div_ceil(PER_MODBUS_SIM) {
            modbus.push(Sim::builder().spawn_tcp(local).await?);
        }
        Ok(Self {
            s7,
            mc,
            modbus,
            modbus_devices,
        })
    }

    fn config(&self, hook: SocketAddr) -> anyhow::Result<String> {
        let mut t = String::from(
            "[gateway]\ndatabase = \"soak.db\"\n\n[defaults]\ninterval = \"2s\"\ntimeout = \"1s\"\n",
        );
        for (i, s) in self.s7.iter().enumerate() {
            t.push_str(&format!(
                "\n[[devices]]\nname = \"cpu-{i}\"\nkind = \"s7\"\naddress = \"{}\"\nstatus_interval = \"30s\"\n",
                s.addr()
            ));
        }
        for (i, s) in self.mc.iter().enumerate() {
            t.push_str(&format!(
                "\n[[devices]]\nname = \"plc-{i}\"\nkind = \"melsec\"\naddress = \"{}\"\n\n[[devices.cclink]]\nname = \"line\"\n",
                s.addr()
            ));
            for n in 1..=8 {
                t.push_str(&format!(
                    "\n[[devices.cclink.stations]]\nnumber = {n}\nname = \"rio {n}\"\n"
                ));
            }
        }
        for i in 0..self.modbus_devices {
            let sim = self
                .modbus
                .get(i / PER_MODBUS_SIM)
                .and_then(|s| s.addr())
                .context("modbus sim address")?;
            t.push_str(&format!(
                "\n[[devices]]\nname = \"mb-{i}\"\nkind = \"modbus\"\naddress = \"tcp://{sim}\"\n\n[[devices.tags]]\nname = \"level\"\naddress = \"hr:{}\"\n",
                i % PER_MODBUS_SIM
            ));
        }
        t.push_str(&format!(
            r#"
[[rules]]
name = "cpu_stop"
devices = ["cpu-*"]
when = 'cpu_mode() == "STOP"'
ack = "auto"

[[rules]]
name = "stop_event"
devices = ["cpu-*"]
when = "event(0x4304)"

[[rules]]
name = "module_fault"
devices = ["cpu-*"]
when = "event_active(0x3942)"
ack = "auto"

[[rules]]
name = "station_down"
devices = ["plc-*"]
when = "stations_down() > 0"
ack = "auto"

[[rules]]
name = "cpu_error"
devices = ["plc-*"]
when = "cpu_error() != 0"
ack = "auto"

[[rules]]
name = "level_high"
devices = ["mb-*"]
when = "level > 150"
ack = "auto"

[[rules]]
name = "offline"
when = "offline()"
ack = "auto"

[[receivers]]
name = "hook"
kind = "webhook"
url = "http://{hook}/hook"
max_age = "0s"
"#
        ));
        Ok(t)
    }
}

/// The flapping receiver: journal ids received, and whether it is in a down phase.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<i64>>>,
    started: Arc<Mutex<Option<Instant>>>,
    healed: Arc<std::sync::atomic::AtomicBool>,
    requests: Arc<AtomicU64>,
}

async fn hook(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    let n = r.requests.fetch_add(1, Ordering::Relaxed);
    if !r.healed.load(Ordering::Relaxed) {
        let up_for = r
            .started
            .lock()
            .map(|s| s.map_or(0, |t| t.elapsed().as_secs()))
            .unwrap_or(0);
        if up_for % 60 >= 40 || fastrand::u64(0..100) < 5 {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut got = r.got.lock().unwrap_or_else(|p| p.into_inner());
    for a in v["alerts"].as_array().into_iter().flatten() {
        let id = &a["annotations"]["journal_id"];
        if let Some(id) = id
            .as_i64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
        {
            got.push(id);
        }
    }
    let _ = n;
    StatusCode::OK
}

async fn serve_receiver(r: Receiver) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(r);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// A fault that ends by itself.
enum Heal {
    S7(usize),
    Mc(usize),
    Modbus(usize),
}

/// Breaks `per_second` random devices every second until `until`.
async fn inject(plant: &Plant, until: Instant, per_second: usize, rng: &mut fastrand::Rng) {
    let mut healing: Vec<(Instant, Heal)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while Instant::now() < until {
        tick.tick().await;
        let now = Instant::now();
        healing.retain(|(at, h)| {
            if *at > now {
                return true;
            }
            match h {
                Heal::S7(i) => plant.s7.get(*i).map(|s| s.set_fault(S7Fault::None)),
                Heal::Mc(i) => plant.mc.get(*i).map(|s| s.set_fault(McFault::None)),
                Heal::Modbus(i) => plant.modbus.get(*i).map(|s| s.set_fault(Fault::None)),
            };
            false
        });
        for _ in 0..per_second {
            let for_a_while = now + Duration::from_secs(rng.u64(3..20));
            match rng.u32(0..3) {
                0 if !plant.s7.is_empty() => {
                    let i = rng.usize(0..plant.s7.len());
                    let s = &plant.s7[i];
                    match rng.u32(0..10) {
                        0..=4 => {
                            let id = S7_EVENTS[rng.usize(0..S7_EVENTS.len())];
                            s.push_event(id, 1, rng.u16(..), rng.u32(..));
                        }
                        5 => s.set_mode(if s.mode() == SimMode::Run {
                            SimMode::Stop
                        } else {
                            SimMode::Run
                        }),
                        6 => s.set_module_fault(0, 4, rng.bool()),
                        _ => {
                            let f = match rng.u32(0..4) {
                                0 => S7Fault::NoAnswer,
                                1 => S7Fault::Truncated,
                                2 => S7Fault::DropConnection,
                                _ => S7Fault::Slow(Duration::from_millis(rng.u64(100..1500))),
                            };
                            s.set_fault(f);
                            healing.push((for_a_while, Heal::S7(i)));
                        }
                    }
                }
                1 if !plant.mc.is_empty() => {
                    let i = rng.usize(0..plant.mc.len());
                    let s = &plant.mc[i];
                    match rng.u32(0..10) {
                        0..=4 => s.drop_station(0, rng.u8(1..=8), rng.bool()),
                        5 => s.set_cpu_error(rng.bool().then_some(0x0A20)),
                        6 => s.cable_break_after(0, rng.bool().then(|| rng.u8(1..8))),
                        _ => {
                            let f = match rng.u32(0..4) {
                                0 => McFault::NoAnswer,
                                1 => McFault::Truncated,
                                2 => McFault::DropConnection,
                                _ => McFault::Slow(Duration::from_millis(rng.u64(100..1500))),
                            };
                            s.set_fault(f);
                            healing.push((for_a_while, Heal::Mc(i)));
                        }
                    }
                }
                _ if !plant.modbus.is_empty() => {
                    let i = rng.usize(0..plant.modbus.len());
                    let s = &plant.modbus[i];
                    if rng.u32(0..10) < 8 {
                        let reg = rng.u16(0..PER_MODBUS_SIM as u16);
                        s.set_holding(reg, &[rng.u16(0..300)]);
                    } else {
                        s.set_fault(Fault::NoAnswer);
                        healing.push((for_a_while, Heal::Modbus(i)));
                    }
                }
                _ => {}
            }
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn metric_sum(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = args();
    if args.first().map(String::as_str) != Some("run") {
        println!(
            "usage: cargo bench --bench soak -- run [--devices 1000] [--minutes 30] [--seed 1]"
        );
        return Ok(());
    }
    let devices: usize = opt(&args, "--devices", 1000)?;
    let minutes: f64 = opt(&args, "--minutes", 30.0)?;
    let seed: u64 = opt(&args, "--seed", 1)?;
    if devices < 3 {
        bail!("--devices must be at least 3");
    }
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::Relaxed);
        default_hook(info);
    }));
    let mut rng = fastrand::Rng::with_seed(seed);
    let receiver = Receiver::default();
    let hook_addr = serve_receiver(receiver.clone()).await?;
    let plant = Plant::spawn(devices).await?;
    let dir = tempfile::tempdir()?;
    let config = plcdiag::config::parse(&plant.config(hook_addr)?, dir.path())
        .map_err(|p| anyhow::anyhow!("config: {p:?}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gw = Gateway::start(config, Some(listener)).await?;
    *receiver.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    println!(
        "soak: {} S7, {} MELSEC, {} Modbus devices, {minutes} min, seed {seed}",
        plant.s7.len(),
        plant.mc.len(),
        plant.modbus_devices
    );
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs_f64(minutes * 60.0);
    let sampler = {
        let metrics = gw.metrics.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut every = tokio::time::interval(Duration::from_secs(30));
            loop {
                every.tick().await;
                let text = metrics.encode().unwrap_or_default();
                let s = (
                    t0.elapsed().as_secs(),
                    rss_kib(),
                    open_fds(),
                    metric_sum(&text, "plcdiag_polls_total"),
                    metric_sum(&text, "plcdiag_alarm_transitions_total"),
                    metric_sum(
                        &text,
                        "plcdiag_store_rows_written_total{name=\"diag_events\"}",
                    ),
                );
                println!(
                    "t={:>5}s rss={:>7} KiB fds={:>5} polls={:>9} alarm_transitions={:>7} diag_rows={:>7}",
                    s.0, s.1, s.2, s.3, s.4, s.5
                );
                samples.push(s);
                if Instant::now() >= until {
                    return samples;
                }
            }
        })
    };
    inject(&plant, until, (devices / 100).max(1), &mut rng).await;
    let samples = sampler.await?;

    // Heal everything; the receiver stays up; wait for the outbox to drain.
    for s in &plant.s7 {
        s.set_fault(S7Fault::None);
    }
    for s in &plant.mc {
        s.set_fault(McFault::None);
    }
    for s in &plant.modbus {
        s.set_fault(Fault::None);
    }
    receiver.healed.store(true, Ordering::Relaxed);
    // Demoted devices are probed again after `demote_for` (30 s): wait for every device to be
    // read once more after the heal, so what their buffers got meanwhile reaches the history.
    tokio::time::sleep(Duration::from_secs(45)).await;
    let drain_until = Instant::now() + Duration::from_secs(600);
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let c = gw.store.outbox_counts("hook").await?;
        if c.pending == 0 || Instant::now() > drain_until {
            break;
        }
    }
    let metrics_text = gw.metrics.encode().unwrap_or_default();
    let counted_transitions = metric_sum(&metrics_text, "plcdiag_alarm_transitions_total");
    let db = dir.path().join("soak.db");
    gw.shutdown().await?;
    report(&plant, &db, &receiver, counted_transitions, &samples).await
}

type Sample = (u64, u64, usize, u64, u64, u64);

async fn report(
    plant: &Plant,
    db: &std::path::Path,
    receiver: &Receiver,
    counted_transitions: u64,
    samples: &[Sample],
) -> anyhow::Result<()> {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await?;
    let (mut missing, mut stored_total, mut held_total) = (0usize, 0usize, 0usize);
    for (i, s) in plant.s7.iter().enumerate() {
        let held: BTreeSet<Vec<u8>> = s.diag_entries().iter().map(|r| r.to_vec()).collect();
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT raw FROM diag_events WHERE device_id = (SELECT id FROM devices WHERE name = ?)",
        )
        .bind(format!("cpu-{i}"))
        .fetch_all(&mut conn)
        .await?;
        let stored: BTreeSet<Vec<u8>> = rows.iter().cloned().collect();
        assert_eq!(stored.len(), rows.len(), "a raw record stored twice");
        for m in held.difference(&stored) {
            println!("  missing on cpu-{i}: {}", plcdiag::model::raw_hex(m));
        }
        missing += held.difference(&stored).count();
        stored_total += stored.len();
        held_total += held.len();
    }
    let journal: Vec<i64> = sqlx::query_scalar("SELECT id FROM alarm_journal")
        .fetch_all(&mut conn)
        .await?;
    let routed: BTreeSet<i64> =
        sqlx::query_scalar::<_, i64>("SELECT journal_id FROM outbox WHERE receiver = 'hook'")
            .fetch_all(&mut conn)
            .await?
            .into_iter()
            .collect();
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL",
    )
    .fetch_one(&mut conn)
    .await?;
    let got = receiver.got.lock().map(|g| g.clone()).unwrap_or_default();
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for id in &got {
        *times.entry(*id).or_default() += 1;
    }
    let received: BTreeSet<i64> = times.keys().copied().collect();
    let undelivered = routed.difference(&received).count();
    let repeats: usize = times.values().map(|n| n - 1).sum();
    let first = samples.get(1).or(samples.first());
    let last = samples.last();
    println!("\nsoak result");
    println!(
        "  S7 diagnostic events: {held_total} in the simulators' buffers, {stored_total} stored, {missing} missing"
    );
    println!(
        "  alarm transitions: {counted_transitions} counted by the engine, {} journalled",
        journal.len()
    );
    println!(
        "  notices: {} routed to the receiver, {} received ({repeats} repeats), {undelivered} never received, {pending} pending, {} requests",
        routed.len(),
        received.len(),
        receiver.requests.load(Ordering::Relaxed)
    );
    if let (Some(a), Some(b)) = (first, last) {
        println!(
            "  RSS {} -> {} KiB, fds {} -> {} (t={}s -> t={}s)",
            a.1, b.1, a.2, b.2, a.0, b.0
        );
    }
    let panics = PANICS.load(Ordering::Relaxed);
    println!("  panics: {panics}");
    let ok = missing == 0
        && counted_transitions == journal.len() as u64
        && undelivered == 0
        && pending == 0
        && panics == 0;
    println!("  verdict: {}", if ok { "PASS" } else { "FAIL" });
    if ok { Ok(()) } else { bail!("soak failed") }
}
