//! S7 benchmarks (docs/PERFORMANCE.md, section "S7"). A plain `main` (`harness = false`):
//!
//! * `cargo bench --bench s7 -- szl [--seconds 10]`: SZL diagnostic polls per second on one
//!   connection, and per CPU-second of the client process, for plcdiag's [`Client`]
//!   (`diag_buffer(1)` = SZL 0x01A0 index 1, `cpu_mode()` = 0x0424) and, in the same run
//!   against the same server, for the native Snap7 client of python-snap7 2.0.2
//!   (`benches/peers/snap7_szl_loop.py`, `Client.read_szl`). Two servers: the native Snap7
//!   server of python-snap7 2.0.2 and plcdiag's simulator.
//! * `cargo bench --bench s7 -- readvar [--seconds 10] [--reals 400] [--pdu 240]`: read-var
//!   values per second and per CPU-second: one connection reading a DB of REALs as one item
//!   per value, which the client merges and packs into PDU-sized jobs.
//! * `cargo bench --bench s7 -- fleet [--cpus 500] [--seconds 30] [--warmup 5]`: one
//!   gateway (in this process, as `plcdiag run` would run it) polling that many simulated
//!   CPUs every second: diagnostic polls/s, failed polls, gateway CPU and peak RSS.
//! * `serve-sim [--count 1] [--pdu 480] [--reals 400]`: the simulator child the others start.
//!
//! **Every server runs in another process** (a child started here: the Snap7 server script
//! of the interop tests, or this binary re-executed with `serve-sim`), so the CPU time read
//! from `/proc/self/stat` is the client's (or the gateway's) alone; the server's CPU is read
//! from its own `/proc/<pid>/stat` and shown apart. Clients run on a current-thread tokio
//! runtime (one connection, one request in flight, like the Snap7 client's blocking calls);
//! the fleet gateway on the multi-threaded runtime `plcdiag run` uses.
//!
//! Benchmarks are not tests: nothing here asserts on time. Without a mode (as under
//! `cargo test --all-targets`) the binary prints its usage and exits.

use plcdiag::bench::{
    ServerChild, answer_requests, cpu_time, peak_rss_kib, polls_total, watch_compilers,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use plcdiag::gateway::Gateway;
use plcdiag_s7::sim::{S7Sim, S7SimHandle};
use plcdiag_s7::{Area, Client, ConnectOptions, Reply, VarAddress, VarType, VarValue};
use tokio::process::Command;

const USAGE: &str = "usage: cargo bench --bench s7 -- <mode> [options]
  szl       [--seconds 10]                            SZL polls/s, plcdiag vs native Snap7 client
  readvar   [--seconds 10] [--reals 400] [--pdu 240]  read-var values/s on one connection
  fleet     [--cpus 500] [--seconds 30] [--warmup 5]  one gateway polling simulated CPUs every 1 s (whole seconds)
  serve-sim [--count 1] [--pdu 480] [--reals 400]     simulator child: prints PORT n per CPU";

fn main() -> anyhow::Result<()> {
    let args = plcdiag::bench::args();
    let Some((mode, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let opts = Opts(rest.to_vec());
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    match mode.as_str() {
        "szl" => current_thread()?.block_on(szl(opts.secs("--seconds", 10.0)?)),
        "readvar" => current_thread()?.block_on(readvar(
            opts.secs("--seconds", 10.0)?,
            opts.num("--reals", 400)?,
            opts.num("--pdu", 240)?,
        )),
        "fleet" => tokio::runtime::Runtime::new()?.block_on(fleet(
            opts.num("--cpus", 500)?,
            opts.secs("--seconds", 30.0)?,
            opts.secs("--warmup", 5.0)?,
        )),
        "serve-sim" => current_thread()?.block_on(serve_sim(
            opts.num("--count", 1)?,
            opts.num("--pdu", 480)?,
            opts.num("--reals", 400)?,
        )),
        other => bail!("unknown mode {other:?}\n{USAGE}"),
    }
}

/// `--name value` options after the mode.
struct Opts(Vec<String>);

impl Opts {
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        plcdiag::bench::opt(&self.0, name, default)
    }

    fn secs(&self, name: &str, default: f64) -> anyhow::Result<Duration> {
        let s: f64 = self.num(name, default)?;
        Duration::try_from_secs_f64(s).with_context(|| format!("bad {name} {s}"))
    }
}

// ---------------------------------------------------------------------------------------
// Child processes and CPU accounting

type Server = ServerChild;

/// The native Snap7 server of python-snap7 2.0.2 (the interop tests' peer script).
async fn snap7_server() -> anyhow::Result<Server> {
    let script = repo().join("drivers/s7/tests/peers/snap7_server.py");
    let mut cmd = Command::new(python()?);
    cmd.arg(script);
    ServerChild::start(cmd, 1, "the python-snap7 server").await
}

/// This binary re-executed as `serve-sim`.
async fn sim_server(count: usize, pdu: u16, reals: usize) -> anyhow::Result<Server> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["serve-sim", "--count", &count.to_string()])
        .args(["--pdu", &pdu.to_string(), "--reals", &reals.to_string()]);
    ServerChild::start(cmd, count, "the simulator").await
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `PLCDIAG_PYTHON`, else the repository's `.venv` (scripts/setup-test-peers.sh).
fn python() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("PLCDIAG_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let p = repo().join(".venv/bin/python");
    if !p.exists() {
        bail!(
            "no python with python-snap7 2.0.2 at {}: run scripts/setup-test-peers.sh or set PLCDIAG_PYTHON",
            p.display()
        );
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------
// serve-sim: the simulator child

/// Diagnostic-buffer entries every simulated CPU starts with, so that 0x01A0 index 1
/// answers one record as a real CPU (and the Snap7 server) does.
const SIM_ENTRIES: u16 = 10;

async fn serve_sim(count: usize, pdu: u16, reals: usize) -> anyhow::Result<()> {
    // DB1: REAL i = i / 4 at byte 4 i, for `readvar`.
    let db: Vec<u8> = (0..reals)
        .flat_map(|i| (i as f32 / 4.0).to_be_bytes())
        .collect();
    let mut sims: Vec<S7SimHandle> = Vec::with_capacity(count);
    for _ in 0..count {
        let sim = S7Sim::builder()
            .pdu_size(pdu)
            .db(1, &db)
            .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await?;
        for i in 0..SIM_ENTRIES {
            // 0x4302 "mode transition from STARTUP to RUN", OB 100-like fields.
            sim.push_event(0x4302, 0xFF, i, 0);
        }
        println!("PORT {}", sim.addr().port());
        sims.push(sim);
    }
    // Serve until the parent closes our stdin (or kills us).
    answer_requests(|| sims.iter().map(S7SimHandle::requests_served).sum()).await
}

// ---------------------------------------------------------------------------------------
// szl

/// One row of the szl table.
struct Row {
    server: &'static str,
    client: &'static str,
    szl: &'static str,
    /// Records in the answer (checked on the first poll), or why there are none.
    answer: String,
    polls: u64,
    wall: Duration,
    client_cpu: Duration,
    server_cpu: Duration,
}

impl Row {
    fn print(&self) {
        let secs = self.wall.as_secs_f64();
        let per_cpu = if self.client_cpu.is_zero() {
            "-".to_string()
        } else {
            format!("{:.0}", self.polls as f64 / self.client_cpu.as_secs_f64())
        };
        let server_us = if self.polls == 0 {
            "-".to_string()
        } else {
            format!(
                "{:.1}",
                self.server_cpu.as_secs_f64() * 1e6 / self.polls as f64
            )
        };
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} % | {} | {} |",
            self.server,
            self.client,
            self.szl,
            self.answer,
            self.polls as f64 / secs,
            100.0 * self.client_cpu.as_secs_f64() / secs,
            per_cpu,
            server_us,
        );
    }
}

/// Which SZL read a loop does.
#[derive(Clone, Copy)]
enum Szl {
    /// `diag_buffer(1)`: 0x01A0 index 1.
    Newest,
    /// `cpu_mode()`: 0x0424 index 0.
    Mode,
}

impl Szl {
    fn label(self) -> &'static str {
        match self {
            Szl::Newest => "0x01A0 idx 1",
            Szl::Mode => "0x0424 idx 0",
        }
    }

    fn id_index(self) -> (&'static str, &'static str) {
        match self {
            Szl::Newest => ("01A0", "1"),
            Szl::Mode => ("0424", "0"),
        }
    }

    /// One poll with plcdiag's client: the records decoded, or the refusal.
    async fn poll(self, client: &mut Client) -> anyhow::Result<Result<usize, String>> {
        Ok(match self {
            Szl::Newest => match client.diag_buffer(1).await? {
                Reply::Ok(entries) => Ok(entries.len()),
                Reply::Refused(r) => Err(format!("refused: {r}")),
            },
            Szl::Mode => match client.cpu_mode().await? {
                Reply::Ok(mode) => Ok(mode.raw_records),
                Reply::Refused(r) => Err(format!("refused: {r}")),
            },
        })
    }
}

fn connect_options() -> ConnectOptions {
    ConnectOptions {
        rack: 0,
        slot: 2,
        ..ConnectOptions::default()
    }
}

/// plcdiag's client: one connection, `szl` back to back for `duration`.
async fn ours(server: &Server, szl: Szl, duration: Duration) -> anyhow::Result<Row> {
    let mut client = Client::connect(server.addr(0)?, &connect_options()).await?;
    let answer = match szl.poll(&mut client).await? {
        Ok(n) => format!("{n} record(s)"),
        Err(refused) => refused,
    };
    let (cpu0, server0, t0) = (cpu_time()?, server.cpu()?, Instant::now());
    let deadline = t0 + duration;
    let (mut polls, mut refused) = (0u64, 0u64);
    while Instant::now() < deadline {
        if szl.poll(&mut client).await?.is_err() {
            refused += 1;
        }
        polls += 1;
    }
    let answer = if refused > 0 {
        format!("{answer}; {refused} polls refused")
    } else {
        answer
    };
    Ok(Row {
        server: "",
        client: "plcdiag",
        szl: szl.label(),
        answer,
        polls,
        wall: t0.elapsed(),
        client_cpu: cpu_time()? - cpu0,
        server_cpu: server.cpu()? - server0,
    })
}

/// The native Snap7 client (python-snap7 2.0.2) in `benches/peers/snap7_szl_loop.py`.
async fn native(server: &Server, szl: Szl, duration: Duration) -> anyhow::Result<Row> {
    let (id, index) = szl.id_index();
    let port = server.addr(0)?.port().to_string();
    let secs = duration.as_secs_f64().to_string();
    let server0 = server.cpu()?;
    let out = Command::new(python()?)
        .arg(repo().join("benches/peers/snap7_szl_loop.py"))
        .args([port.as_str(), id, index, secs.as_str()])
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("running benches/peers/snap7_szl_loop.py")?;
    // Includes the Python start-up and connect, which are outside the client's loop: the
    // server is idle then, so its CPU time is (nearly) all the loop's.
    let server_cpu = server.cpu()? - server0;
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("snap7_szl_loop.py printed {text:?}"))?;
    let f = |k: &str| json.get(k).and_then(serde_json::Value::as_f64);
    let mut answer = match (f("records"), f("bytes")) {
        (Some(n), Some(b)) => format!("{n} record(s), {b} bytes"),
        _ => String::new(),
    };
    if let Some(e) = json.get("error").and_then(serde_json::Value::as_str) {
        answer = format!("{answer} ERROR {e}").trim().to_string();
    }
    Ok(Row {
        server: "",
        client: "Snap7 (python-snap7 2.0.2)",
        szl: szl.label(),
        answer,
        polls: f("polls").unwrap_or(0.0) as u64,
        wall: Duration::try_from_secs_f64(f("seconds").unwrap_or(0.0)).unwrap_or(duration),
        client_cpu: Duration::try_from_secs_f64(f("cpu_seconds").unwrap_or(0.0))
            .unwrap_or_default(),
        server_cpu,
    })
}

async fn szl(duration: Duration) -> anyhow::Result<()> {
    let noise = watch_compilers();
    println!(
        "S7 SZL polls, one connection, back to back, {:.0} s per row",
        duration.as_secs_f64()
    );
    println!(
        "| server | client | SZL | answer | polls/s | client CPU (one core = 100 %) | polls per client CPU-s | server CPU per poll (µs) |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|");
    let servers: [(&'static str, Server); 2] = [
        ("Snap7 server (python-snap7 2.0.2)", snap7_server().await?),
        (
            "plcdiag simulator",
            sim_server(1, 480, 0).await.context("serve-sim")?,
        ),
    ];
    for (name, server) in &servers {
        for szl in [Szl::Newest, Szl::Mode] {
            for native_client in [false, true] {
                let mut row = if native_client {
                    native(server, szl, duration).await?
                } else {
                    ours(server, szl, duration).await?
                };
                row.server = name;
                row.print();
            }
        }
    }
    noise();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// readvar

async fn readvar(duration: Duration, reals: usize, pdu: u16) -> anyhow::Result<()> {
    let noise = watch_compilers();
    let server = sim_server(1, pdu, reals).await?;
    let items: Vec<VarAddress> = (0..reals)
        .map(|i| VarAddress {
            area: Area::DataBlock(1),
            byte: 4 * i as u32,
            var_type: VarType::Real,
        })
        .collect();
    let options = ConnectOptions {
        pdu_size: pdu,
        ..connect_options()
    };
    let mut client = Client::connect(server.addr(0)?, &options).await?;
    let jobs = plcdiag_s7::ReadPlan::new(&items, client.pdu_size()).job_count();
    // Check once that every value arrives and is the one the simulator holds.
    let first = client.read_vars(&items).await?;
    let good = first
        .iter()
        .enumerate()
        .filter(|(i, v)| matches!(v, Ok(VarValue::Real(x)) if *x == *i as f32 / 4.0))
        .count();
    if good != reals {
        bail!("only {good} of {reals} values read correctly");
    }
    let (cpu0, server0, t0) = (cpu_time()?, server.cpu()?, Instant::now());
    let deadline = t0 + duration;
    let (mut polls, mut values) = (0u64, 0u64);
    while Instant::now() < deadline {
        let answers = client.read_vars(&items).await?;
        values += answers.iter().filter(|a| a.is_ok()).count() as u64;
        polls += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_time()? - cpu0).as_secs_f64();
    let server_cpu = (server.cpu()? - server0).as_secs_f64();
    println!(
        "S7 read-var: plcdiag simulator, one connection, {reals} REAL items per poll (DB1.DBD0..), \
         PDU {}, {jobs} read-var jobs per poll, {secs:.1} s",
        client.pdu_size()
    );
    println!("  polls:                 {:>12.0} /s", polls as f64 / secs);
    println!("  values:                {:>12.0} /s", values as f64 / secs);
    println!(
        "  client CPU:            {:>12.1} % of one core",
        100.0 * cpu / secs
    );
    if cpu > 0.0 {
        println!("  values per client CPU-s:{:>11.0}", values as f64 / cpu);
    }
    println!(
        "  server CPU:            {:>12.1} % of one core",
        100.0 * server_cpu / secs
    );
    noise();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// fleet

/// The gateway config of `fleet`: one `kind = "s7"` device per simulated CPU, no tags, polled
/// every second with the default timeout; status (cycle times, protection, modules) every 10 s.
fn fleet_config(ports: &[u16], database: &Path) -> String {
    let mut text = format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\ndatabase = {:?}\nretention = \"1d\"\n\n[defaults]\ninterval = \"1s\"\n",
        database.display().to_string()
    );
    for (i, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            "\n[[devices]]\nname = \"cpu-{i:04}\"\nkind = \"s7\"\naddress = \"127.0.0.1:{port}\"\n"
        ));
    }
    text
}

async fn fleet(cpus: usize, duration: Duration, warmup: Duration) -> anyhow::Result<()> {
    let noise = watch_compilers();
    let mut sims = sim_server(cpus, 480, 0).await?;
    let database = std::env::temp_dir().join(format!("plcdiag-bench-s7-{}.db", std::process::id()));
    let text = fleet_config(&sims.ports, &database);
    let config = plcdiag::config::parse(&text, &std::env::temp_dir())
        .map_err(|problems| anyhow::anyhow!("the generated config was refused: {problems:?}"))?;
    let names: Vec<String> = config.devices.iter().map(|d| d.name.to_string()).collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gateway = Gateway::start(config, Some(listener)).await?;
    // Every device task starts now and polls on the same 1 s grid, so the polls come in
    // bursts on whole seconds from here, and the metrics (updated by the live follower) lag a
    // burst by a little. Read the counters half a second off the grid, at both ends.
    let started = tokio::time::Instant::now();
    let window = Duration::from_secs_f64(duration.as_secs_f64().round().max(1.0));
    tokio::time::sleep_until(started + warmup + Duration::from_millis(500)).await;
    let failed = |g: &Gateway| names.iter().map(|n| g.metrics.polls_failed(n)).sum::<u64>();
    let requests0 = sims.requests().await?;
    let (polls0, failed0, cpu0, sims0) = (
        polls_total(&gateway)?,
        failed(&gateway),
        cpu_time()?,
        sims.cpu()?,
    );
    let t0 = Instant::now();
    tokio::time::sleep_until(started + warmup + Duration::from_millis(500) + window).await;
    let secs = t0.elapsed().as_secs_f64();
    let (polls, failed_polls) = (polls_total(&gateway)? - polls0, failed(&gateway) - failed0);
    let cpu = (cpu_time()? - cpu0).as_secs_f64();
    let sims_cpu = (sims.cpu()? - sims0).as_secs_f64();
    let requests = sims.requests().await? - requests0;
    let peak_rss = peak_rss_kib()?;
    gateway.shutdown().await?;
    drop(sims);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }

    println!(
        "S7 fleet: one gateway polling {cpus} simulated CPUs every 1 s (mode 0x0424 + newest \
         diagnostic entry 0x01A0 each poll, status every 10 s), measured {secs:.1} s after {:.0} s warm-up",
        warmup.as_secs_f64()
    );
    println!(
        "  diagnostic polls:  {:>10.1} /s  (configured rate {cpus} /s)",
        polls as f64 / secs
    );
    println!("  failed polls:      {failed_polls:>10}");
    println!(
        "  S7 requests:       {:>10.1} /s  (received by the simulators)",
        requests as f64 / secs
    );
    println!(
        "  gateway CPU:       {:>10.1} % of one core ({cpu:.2} s CPU in {secs:.1} s)",
        100.0 * cpu / secs
    );
    println!(
        "  gateway peak RSS:  {:>10.1} MiB",
        peak_rss as f64 / 1024.0
    );
    println!(
        "  simulators' CPU:   {:>10.1} % of one core (another process)",
        100.0 * sims_cpu / secs
    );
    noise();
    Ok(())
}
