//! MELSEC / CC-Link benchmarks (docs/PERFORMANCE.md, section "MELSEC / CC-Link"). A plain
//! `main` (`harness = false`):
//!
//! * `cargo bench --bench melsec -- diag [--seconds 10] [--stations 64] [--occupies 4]`: full
//!   diagnostic polls (`cpu_diagnosis()` + `cclink()` of one master) per second on one
//!   connection, and per CPU-second of the client process, over TCP with 3E frames and over
//!   UDP with 4E frames, against a simulated Q CPU whose CC-Link master has 64 station numbers
//!   (16 remote device stations occupying 4 each). MC requests per poll are counted at the
//!   simulator ([`McSimHandle::requests_served`]).
//! * `cargo bench --bench melsec -- words [--seconds 10] [--words 960]`: tag polling, device
//!   words per second and per CPU-second: `read_tags` over D0..D(n-1) as INT tags.
//! * `cargo bench --bench melsec -- fleet [--plcs 500] [--stations 8] [--seconds 30]
//!   [--warmup 5]`: one gateway (in this process, as `plcdiag run` would run it) polling that
//!   many simulated PLCs every second, each with one CC-Link master and its station list:
//!   diagnostic polls/s, failed polls, MC requests/s, gateway CPU and peak RSS.
//! * `serve-sim [--count 1] [--stations 64] [--occupies 4] [--words 0]`: the simulator child
//!   the others start.
//!
//! **Every simulator runs in another process** (this binary re-executed with `serve-sim`), so
//! the CPU time read from `/proc/self/stat` is the client's (or the gateway's) alone; the
//! simulator's is read from its own `/proc/<pid>/stat` and shown apart. Clients run on a
//! current-thread tokio runtime (one connection, one request in flight); the fleet gateway on
//! the multi-threaded runtime `plcdiag run` uses.
//!
//! Benchmarks are not tests: nothing here asserts on time. Without a mode (as under
//! `cargo test --all-targets`) the binary prints its usage and exits.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use plcdiag::bench::{
    ServerChild, answer_requests, cpu_time, opt, peak_rss_kib, polls_total, watch_compilers,
};
use plcdiag::gateway::Gateway;
use plcdiag_melsec::sim::{McSim, McSimHandle, SimStation};
use plcdiag_melsec::{
    CcLinkMaster, Client, ConnectOptions, FrameKind, NetworkKind, ReadPlan, Reply, RunState,
    StationConfig, StationState, TagAddress, TagValue, Transport,
};
use tokio::process::Command;

const USAGE: &str = "usage: cargo bench --bench melsec -- <mode> [options]
  diag      [--seconds 10] [--stations 64] [--occupies 4]  full diagnostic polls/s (CPU + CC-Link) on one connection, TCP 3E and UDP 4E
  words     [--seconds 10] [--words 960]                   read_tags over D0.. as INT tags: words/s on one connection
  fleet     [--plcs 500] [--stations 8] [--seconds 30] [--warmup 5]
                                                           one gateway polling simulated PLCs every 1 s (whole seconds)
  serve-sim [--count 1] [--stations 64] [--occupies 4] [--words 0]
                                                           simulator child: prints PORT n per PLC";

fn main() -> anyhow::Result<()> {
    let args = plcdiag::bench::args();
    let Some((mode, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    let secs = |name: &str, default: f64| -> anyhow::Result<Duration> {
        let s: f64 = opt(rest, name, default)?;
        Duration::try_from_secs_f64(s).with_context(|| format!("bad {name} {s}"))
    };
    let current_thread = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    match mode.as_str() {
        "diag" => current_thread()?.block_on(diag(
            secs("--seconds", 10.0)?,
            Line::new(opt(rest, "--stations", 64)?, opt(rest, "--occupies", 4)?)?,
        )),
        "words" => {
            current_thread()?.block_on(words(secs("--seconds", 10.0)?, opt(rest, "--words", 960)?))
        }
        "fleet" => tokio::runtime::Runtime::new()?.block_on(fleet(
            opt(rest, "--plcs", 500)?,
            Line::new(opt(rest, "--stations", 8)?, 1)?,
            secs("--seconds", 30.0)?,
            secs("--warmup", 5.0)?,
        )),
        "serve-sim" => current_thread()?.block_on(serve_sim(
            opt(rest, "--count", 1)?,
            Line::new(opt(rest, "--stations", 64)?, opt(rest, "--occupies", 4)?)?,
            opt(rest, "--words", 0)?,
        )),
        other => bail!("unknown mode {other:?}\n{USAGE}"),
    }
}

// ---------------------------------------------------------------------------------------
// The simulated CC-Link line

/// A CC-Link line of `stations` station numbers filled by devices occupying `occupies`
/// numbers each (remote I/O stations when 1, remote device stations otherwise).
#[derive(Clone, Copy)]
struct Line {
    stations: u8,
    occupies: u8,
}

impl Line {
    fn new(stations: u8, occupies: u8) -> anyhow::Result<Line> {
        if !(1..=4).contains(&occupies) || stations == 0 || stations > 64 {
            bail!("--stations must be 1 to 64 and --occupies 1 to 4");
        }
        if !stations.is_multiple_of(occupies) {
            bail!("--stations {stations} is not a multiple of --occupies {occupies}");
        }
        Ok(Line { stations, occupies })
    }

    fn devices(self) -> usize {
        usize::from(self.stations / self.occupies)
    }

    /// Head station numbers: 1, 1 + occupies, …
    fn heads(self) -> impl Iterator<Item = u8> {
        (0..self.stations / self.occupies).map(move |i| 1 + i * self.occupies)
    }

    fn sim_stations(self) -> Vec<SimStation> {
        self.heads()
            .map(|n| {
                let name = format!("station {n}");
                if self.occupies == 1 {
                    SimStation::remote_io(n, &name)
                } else {
                    SimStation::remote_device(n, self.occupies, &name)
                }
            })
            .collect()
    }

    /// The client's view of the master: SB/SW at 0, default CC-Link map, every device listed.
    fn master(self) -> CcLinkMaster {
        let mut master = CcLinkMaster::new("line 1", NetworkKind::CcLink);
        master.stations = self
            .heads()
            .map(|n| StationConfig {
                occupies: self.occupies,
                ..StationConfig::new(n, format!("station {n}"))
            })
            .collect();
        master
    }

    fn describe(self) -> String {
        let kind = if self.occupies == 1 {
            "remote I/O stations"
        } else {
            "remote device stations"
        };
        format!(
            "{} station numbers ({} {kind} × {})",
            self.stations,
            self.devices(),
            self.occupies
        )
    }
}

// ---------------------------------------------------------------------------------------
// The simulator child

type Sims = ServerChild;

/// Starts `count` simulated Q CPUs (this binary re-executed as `serve-sim`) with one CC-Link
/// master (`line`, SB/SW at 0) and D0.. holding `words` words, and waits for their ports.
async fn start_sims(count: usize, line: Line, words: usize) -> anyhow::Result<Sims> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["serve-sim", "--count", &count.to_string()])
        .args(["--stations", &line.stations.to_string()])
        .args(["--occupies", &line.occupies.to_string()])
        .args(["--words", &words.to_string()]);
    ServerChild::start(cmd, count, "the simulator").await
}

async fn serve_sim(count: usize, line: Line, words: usize) -> anyhow::Result<()> {
    // D i = i, for `words`.
    let values: Vec<u16> = (0..words).map(|i| i as u16).collect();
    let mut sims: Vec<McSimHandle> = Vec::with_capacity(count);
    for _ in 0..count {
        let mut builder = McSim::builder().cclink(0, 0, line.sim_stations());
        if !values.is_empty() {
            builder = builder.words("D0", &values);
        }
        let sim = builder.spawn(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        println!("PORT {}", sim.addr().port());
        sims.push(sim);
    }
    // Serve until the parent closes our stdin (or kills us).
    answer_requests(|| sims.iter().map(McSimHandle::requests_served).sum()).await
}

// ---------------------------------------------------------------------------------------
// diag and words: one connection

/// The two connections measured: TCP with 3E frames (the gateway's default) and UDP with 4E.
const LINKS: [(Transport, FrameKind, &str); 2] = [
    (Transport::Tcp, FrameKind::E3, "TCP 3E"),
    (Transport::Udp, FrameKind::E4, "UDP 4E"),
];

fn options(transport: Transport, frame: FrameKind) -> ConnectOptions {
    ConnectOptions {
        transport,
        frame,
        ..ConnectOptions::default()
    }
}

/// Wall, client CPU and simulator CPU from the start of a measured loop.
struct Clock {
    t0: Instant,
    cpu0: Duration,
    sim0: Duration,
}

impl Clock {
    fn start(sims: &Sims) -> anyhow::Result<Clock> {
        Ok(Clock {
            cpu0: cpu_time()?,
            sim0: sims.cpu()?,
            t0: Instant::now(),
        })
    }

    /// (wall s, client CPU s, simulator CPU s) so far.
    fn read(&self, sims: &Sims) -> anyhow::Result<(f64, f64, f64)> {
        Ok((
            self.t0.elapsed().as_secs_f64(),
            (cpu_time()? - self.cpu0).as_secs_f64(),
            (sims.cpu()? - self.sim0).as_secs_f64(),
        ))
    }
}

fn per(n: f64, secs: f64) -> String {
    if secs > 0.0 {
        format!("{:.0}", n / secs)
    } else {
        "-".to_string()
    }
}

/// One full diagnostic poll as the gateway does it: the CPU self-diagnosis, then the master.
/// Ok((RUN, stations Ok)), or what was refused.
async fn diag_poll(
    client: &mut Client,
    master: &CcLinkMaster,
) -> anyhow::Result<Result<(bool, usize), String>> {
    let run = match client.cpu_diagnosis().await? {
        Reply::Ok(d) => d.run_state == RunState::Run && !d.error,
        Reply::EndCode(e) => return Ok(Err(format!("cpu_diagnosis refused: {e}"))),
    };
    let ok = match client.cclink(master).await? {
        Reply::Ok(net) => net
            .stations
            .iter()
            .filter(|s| s.state == StationState::Ok)
            .count(),
        Reply::EndCode(e) => return Ok(Err(format!("cclink refused: {e}"))),
    };
    Ok(Ok((run, ok)))
}

async fn diag(duration: Duration, line: Line) -> anyhow::Result<()> {
    let done = watch_compilers();
    let mut sims = start_sims(1, line, 0).await?;
    let master = line.master();
    let (sw_first, sw_words) = master.sw_block();
    let sb = master
        .sb_block()
        .map_or("no SB".to_string(), |(f, w)| format!("SB{f:04X} {w} words"));
    println!(
        "MELSEC diagnostic polls: simulated Q CPU, one CC-Link master with {} (all in data link), \
         one connection, back to back, {:.0} s per row; CC-Link block SW{sw_first:04X} {sw_words} words, {sb}",
        line.describe(),
        duration.as_secs_f64()
    );
    println!(
        "| connection | answer | MC requests per poll (CPU + CC-Link) | polls/s | client CPU (one core = 100 %) | polls per client CPU-s | simulator CPU per poll (µs) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (transport, frame, label) in LINKS {
        let mut client = Client::connect(sims.addr(0)?, &options(transport, frame)).await?;
        // One checked poll, its requests counted part by part at the simulator.
        let r0 = sims.requests().await?;
        let cpu = client.cpu_diagnosis().await?;
        let r1 = sims.requests().await?;
        let net = client.cclink(&master).await?;
        let r2 = sims.requests().await?;
        let (cpu_requests, cclink_requests) = (r1 - r0, r2 - r1);
        let answer = match (cpu, net) {
            (Reply::Ok(d), Reply::Ok(n)) => {
                let ok = n
                    .stations
                    .iter()
                    .filter(|s| s.state == StationState::Ok)
                    .count();
                format!(
                    "{}, {ok} of {} devices OK",
                    d.run_state,
                    master.stations.len()
                )
            }
            (Reply::EndCode(e), _) | (_, Reply::EndCode(e)) => format!("refused: {e}"),
        };
        let requests0 = sims.requests().await?;
        let clock = Clock::start(&sims)?;
        let deadline = clock.t0 + duration;
        let (mut polls, mut bad) = (0u64, 0u64);
        while Instant::now() < deadline {
            match diag_poll(&mut client, &master).await? {
                Ok((true, ok)) if ok == master.stations.len() => {}
                _ => bad += 1,
            }
            polls += 1;
        }
        let (secs, cpu_s, sim_s) = clock.read(&sims)?;
        let requests = sims.requests().await? - requests0;
        let answer = if bad > 0 {
            format!("{answer}; {bad} polls not RUN/all OK")
        } else {
            answer
        };
        println!(
            "| {label} | {answer} | {:.2} ({cpu_requests} + {cclink_requests}) | {:.0} | {:.1} % | {} | {:.1} |",
            requests as f64 / polls.max(1) as f64,
            polls as f64 / secs,
            100.0 * cpu_s / secs,
            per(polls as f64, cpu_s),
            sim_s * 1e6 / polls.max(1) as f64,
        );
    }
    done();
    Ok(())
}

async fn words(duration: Duration, count: usize) -> anyhow::Result<()> {
    if count == 0 || count > 0x10000 {
        bail!("--words must be 1 to 65536");
    }
    let done = watch_compilers();
    let mut sims = start_sims(1, Line::new(64, 4)?, count).await?;
    let tags: Vec<TagAddress> = (0..count)
        .map(|i| format!("D{i}:INT").parse())
        .collect::<Result<_, _>>()?;
    let planned = ReadPlan::new(&tags).reads.len();
    println!(
        "MELSEC tag polling: simulated Q CPU, one connection, read_tags over {count} INT tags \
         D0..D{} per poll ({planned} planned reads), back to back, {:.0} s per row",
        count - 1,
        duration.as_secs_f64()
    );
    println!(
        "| connection | words per poll | MC requests per poll | polls/s | words/s | client CPU (one core = 100 %) | words per client CPU-s | simulator CPU per poll (µs) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (transport, frame, label) in LINKS {
        let mut client = Client::connect(sims.addr(0)?, &options(transport, frame)).await?;
        // Check once that every value arrives and is the one the simulator holds.
        let first = client.read_tags(&tags).await?;
        let good = first
            .iter()
            .enumerate()
            .filter(|(i, v)| matches!(v, Ok(TagValue::Int(x)) if *x == *i as u16 as i16))
            .count();
        if good != count {
            bail!("{label}: only {good} of {count} values read correctly");
        }
        let requests0 = sims.requests().await?;
        let clock = Clock::start(&sims)?;
        let deadline = clock.t0 + duration;
        let (mut polls, mut values) = (0u64, 0u64);
        while Instant::now() < deadline {
            let answers = client.read_tags(&tags).await?;
            values += answers.iter().filter(|a| a.is_ok()).count() as u64;
            polls += 1;
        }
        let (secs, cpu_s, sim_s) = clock.read(&sims)?;
        let requests = sims.requests().await? - requests0;
        println!(
            "| {label} | {count} | {:.2} | {:.0} | {:.0} | {:.1} % | {} | {:.1} |",
            requests as f64 / polls.max(1) as f64,
            polls as f64 / secs,
            values as f64 / secs,
            100.0 * cpu_s / secs,
            per(values as f64, cpu_s),
            sim_s * 1e6 / polls.max(1) as f64,
        );
    }
    done();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// fleet

/// The gateway config of `fleet`: one `kind = "melsec"` device per simulated PLC (TCP 3E, no
/// tags), each with one CC-Link master at SB0/SW0 and its station list, polled every second
/// with the default timeout; the station map is stored on change and every 10 s.
fn fleet_config(ports: &[u16], line: Line, database: &Path) -> String {
    let mut text = format!(
        "[gateway]\nlisten = \"127.0.0.1:0\"\ndatabase = {:?}\nretention = \"1d\"\n\n[defaults]\ninterval = \"1s\"\n",
        database.display().to_string()
    );
    for (i, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            "\n[[devices]]\nname = \"plc-{i:04}\"\nkind = \"melsec\"\naddress = \"127.0.0.1:{port}\"\n\
             \n[[devices.cclink]]\nname = \"line 1\"\n"
        ));
        for n in line.heads() {
            text.push_str(&format!(
                "\n[[devices.cclink.stations]]\nnumber = {n}\noccupies = {}\nname = \"station {n}\"\n",
                line.occupies
            ));
        }
    }
    text
}

async fn fleet(
    plcs: usize,
    line: Line,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<()> {
    let done = watch_compilers();
    let mut sims = start_sims(plcs, line, 0).await?;
    let database =
        std::env::temp_dir().join(format!("plcdiag-bench-melsec-{}.db", std::process::id()));
    let text = fleet_config(&sims.ports, line, &database);
    let config = plcdiag::config::parse(&text, &std::env::temp_dir())
        .map_err(|problems| anyhow::anyhow!("the generated config was refused: {problems:?}"))?;
    let names: Vec<String> = config.devices.iter().map(|d| d.name.to_string()).collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gateway = Gateway::start(config, Some(listener)).await?;
    // Every device task starts now and polls on the same 1 s grid, so the polls come in
    // bursts on whole seconds from here, and the metrics lag a burst by a little. Read the
    // counters half a second off the grid, at both ends.
    let started = tokio::time::Instant::now();
    let window = Duration::from_secs_f64(duration.as_secs_f64().round().max(1.0));
    let at = started + warmup + Duration::from_millis(500);
    tokio::time::sleep_until(at).await;
    let failed = |g: &Gateway| names.iter().map(|n| g.metrics.polls_failed(n)).sum::<u64>();
    let requests0 = sims.requests().await?;
    let (polls0, failed0, cpu0, sims0) = (
        polls_total(&gateway)?,
        failed(&gateway),
        cpu_time()?,
        sims.cpu()?,
    );
    let t0 = Instant::now();
    tokio::time::sleep_until(at + window).await;
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
        "MELSEC fleet: one gateway polling {plcs} simulated Q CPUs every 1 s over TCP 3E (CPU \
         self-diagnosis + one CC-Link master with {} each poll, no tags), measured {secs:.1} s \
         after {:.0} s warm-up",
        line.describe(),
        warmup.as_secs_f64()
    );
    println!(
        "  diagnostic polls:  {:>10.1} /s  (configured rate {plcs} /s)",
        polls as f64 / secs
    );
    println!("  failed polls:      {failed_polls:>10}");
    println!(
        "  MC requests:       {:>10.1} /s  (received by the simulators; {:.2} per poll)",
        requests as f64 / secs,
        requests as f64 / polls.max(1) as f64
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
    done();
    Ok(())
}
