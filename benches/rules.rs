//! Rules-engine benchmarks (docs/PERFORMANCE.md, section "Rules engine"). A plain `main`
//! (`harness = false`):
//!
//! * `cargo bench --bench rules -- eval [--devices 100] [--tags 1000] [--rules 100]
//!   [--seconds 10]`: pure engine throughput, one thread, no I/O. A config of that many Modbus
//!   devices (never connected: the engine only sees observations) with that many tags each and
//!   that many rules per device (10,000 by default), mixed: comparisons with a deadband,
//!   out-of-range (`!(x in lo..hi)`) with a deadband, boolean logic over 2 and 3 tags, and
//!   `abs(rate(x))`. Each round feeds one `Observation::Values` per device in which every tag
//!   changes (a random walk of ±1..10 on 0..1000; simulated time, one round = one second), and
//!   the figures are evaluations/s ([`Engine::evaluations`]), observations/s, value changes/s,
//!   alarm changes produced, engine CPU per million evaluations (this thread's CPU time from
//!   `/proc/thread-self/schedstat`) and peak RSS. Updating the values between rounds is timed
//!   apart and not counted. The live heap after parsing the config and after `Engine::new` is
//!   counted by a global allocator that counts during setup only.
//! * `cargo bench --bench rules -- latency [--devices 100] [--tags 1000] [--rules 100]
//!   [--changes 100] [--flip-every 5] [--seconds 30] [--warmup 5]`: the engine task
//!   ([`engine::run`]) with a real SQLite store in a temporary directory and one webhook
//!   receiver (`group_wait = "0s"`, not rate-limited) served by an axum receiver on
//!   127.0.0.1:0 and delivered by the real notifier ([`plcdiag::notify::spawn`], woken from the
//!   commit callback as the gateway does). Same config, except that rule 0 of each device is
//!   `t<last> > 500` at priority `critical`, the only priority the receiver takes. A feeder task
//!   sends one observation per device per second, spread evenly (tokio interval, real time),
//!   each with `--changes` changed tags (10,000 value changes/s by default); every
//!   `--flip-every`-th observation also flips its device's last tag between 0 and 1000, which
//!   raises or clears that rule, so a commit with an outbox row follows continuously. Per
//!   flipping observation: send → commit callback (observation to outbox commit) and send →
//!   arrival of the webhook request carrying it, matched by order (outbox rows exist only for
//!   the flips; the device label is checked). Whether the engine kept up is printed (channel
//!   depth, feeder lateness, rate reached), followed by a breakdown measured apart: the time
//!   of one `Engine::observe` and of one `Store::commit_alarm_changes`.
//!
//! Benchmarks are not tests: nothing here asserts on time. Without a mode (as under
//! `cargo test --all-targets`) the binary prints its usage and exits. Both modes print the CPU
//! other processes used and the hypervisor stole during the measurement (`/proc/stat`), and
//! warn on stderr when a compiler ran beside them (sampled once a second).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use plcdiag::bench::{cpu_time, ms, opt, other_load, pct, peak_rss_kib, watch_compilers};
use plcdiag::config::Config;
use plcdiag::hub::Message;
use plcdiag::metrics::Metrics;
use plcdiag::model::{DeviceName, Observation, Quality, TagReading};
use plcdiag::rules::engine::{self, Clock, Engine};
use plcdiag::store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Counts live heap bytes while [`HEAP_COUNTING`] is on (setup only: `eval` turns it off
/// before the measured rounds, so the figures are not perturbed), to tell the engine's memory
/// from the config's and the allocator's (RSS alone cannot).
struct CountingAlloc;

static HEAP_COUNTING: AtomicBool = AtomicBool::new(true);
static HEAP_LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is passed on unchanged to the system allocator; the counter is a side
// effect that never touches the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if HEAP_COUNTING.load(Ordering::Relaxed) {
            HEAP_LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if HEAP_COUNTING.load(Ordering::Relaxed) {
            HEAP_LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if HEAP_COUNTING.load(Ordering::Relaxed) {
            HEAP_LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Live heap bytes counted so far, in MiB.
fn heap_mib() -> f64 {
    HEAP_LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

const USAGE: &str = "usage: cargo bench --bench rules -- <mode> [options]
  eval    [--devices 100] [--tags 1000] [--rules 100] [--seconds 10]
          engine throughput, one thread, no I/O: every value of every device changes each round
  latency [--devices 100] [--tags 1000] [--rules 100] [--changes 100] [--flip-every 5]
          [--seconds 30] [--warmup 5]
          engine task + SQLite store + webhook: each device observed once a second with
          --changes changed tags; every --flip-every-th observation raises or clears a rule;
          observation -> outbox commit and value change -> webhook request latencies
  (--rules is per device)";

/// The capacity of the engine's observation channel in the gateway (`SUBSCRIBER_CAPACITY`).
const CHANNEL: usize = 64;

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
    let shape = Shape {
        devices: opt(rest, "--devices", 100)?,
        tags: opt(rest, "--tags", 1000)?,
        rules: opt(rest, "--rules", 100)?,
    };
    if shape.devices == 0 || shape.tags < 4 || shape.rules == 0 {
        bail!("--devices and --rules must be at least 1, --tags at least 4\n{USAGE}");
    }
    match mode.as_str() {
        "eval" => eval(&shape, secs("--seconds", 10.0)?),
        "latency" => {
            let changes: usize = opt(rest, "--changes", 100)?;
            let flip_every: u64 = opt(rest, "--flip-every", 5)?;
            if changes == 0 || changes >= shape.tags || flip_every == 0 {
                bail!("--changes must be 1..tags-1 and --flip-every at least 1\n{USAGE}");
            }
            tokio::runtime::Runtime::new()?.block_on(latency(
                &shape,
                changes,
                flip_every,
                secs("--seconds", 30.0)?,
                secs("--warmup", 5.0)?,
            ))
        }
        other => bail!("unknown mode {other:?}\n{USAGE}"),
    }
}

// ---------------------------------------------------------------------------------------
// The generated config

/// Size of the generated config.
struct Shape {
    devices: usize,
    /// Tags per device (`t0`..).
    tags: usize,
    /// Rules per device.
    rules: usize,
}

/// The webhook receiver of `latency`.
struct Hook {
    url: String,
}

impl Shape {
    fn device_name(d: usize) -> String {
        format!("dev-{d:03}")
    }

    /// The tags the background rules use: all, or all but the last (the flip tag) with a hook.
    fn background_tags(&self, flip: bool) -> usize {
        if flip { self.tags - 1 } else { self.tags }
    }

    /// The TOML text: devices with tags `t0`.. on `hr:0`.., rules, and with `hook`, rule 0 of
    /// each device as the flip rule and a webhook receiver that takes only its priority.
    fn config_text(&self, database: &Path, hook: Option<&Hook>) -> String {
        let mut t = String::with_capacity(self.devices * (self.tags * 40 + self.rules * 80));
        let _ = writeln!(
            t,
            "[gateway]\nlisten = \"127.0.0.1:0\"\ndatabase = {:?}\n\n[defaults]\ninterval = \"1s\"",
            database.display().to_string()
        );
        for d in 0..self.devices {
            let _ = writeln!(
                t,
                "\n[[devices]]\nname = \"{}\"\nkind = \"modbus\"\naddress = \"tcp://192.0.2.1:{}\"",
                Self::device_name(d),
                1502 + d
            );
            for i in 0..self.tags {
                let _ = writeln!(t, "[[devices.tags]]\nname = \"t{i}\"\naddress = \"hr:{i}\"");
            }
        }
        let n = self.background_tags(hook.is_some());
        for d in 0..self.devices {
            for j in 0..self.rules {
                let _ = write!(
                    t,
                    "\n[[rules]]\nname = \"r-{d:03}-{j:03}\"\ndevice = \"{}\"\n",
                    Self::device_name(d)
                );
                if j == 0 && hook.is_some() {
                    let _ = writeln!(
                        t,
                        "when = \"t{} > 500\"\npriority = \"critical\"",
                        self.tags - 1
                    );
                    continue;
                }
                let a = (j * 7 + d * 3) % n;
                let b = (a + 1 + j * 13) % n;
                let c = (a + n / 2) % n;
                let (when, deadband) = match j % 5 {
                    0 => (format!("t{a} > 900"), true),
                    1 => (format!("!(t{a} in 100..900)"), true),
                    2 => (format!("t{a} > 800 && t{b} < 200"), false),
                    3 => (format!("(t{a} > 950 || t{b} < 50) && t{c} != 0"), false),
                    _ => (format!("abs(rate(t{a})) > 12"), false),
                };
                let _ = writeln!(t, "when = \"{when}\"");
                if deadband {
                    let _ = writeln!(t, "deadband = 5.0");
                }
            }
        }
        if let Some(h) = hook {
            let _ = writeln!(
                t,
                "\n[[receivers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
                 group_wait = \"0s\"\nrate_per_minute = 1000000\npriorities = [\"critical\"]",
                h.url
            );
        }
        t
    }

    fn config(&self, database: &Path, hook: Option<&Hook>) -> anyhow::Result<Config> {
        let text = self.config_text(database, hook);
        let dir = database.parent().unwrap_or(Path::new("."));
        plcdiag::config::parse(&text, dir).map_err(|problems| {
            let first: Vec<String> = problems.iter().take(5).map(|p| format!("{p:?}")).collect();
            anyhow::anyhow!("the generated config was refused: {first:?}")
        })
    }
}

/// One random-walk step of ±1..10 inside 0..1000: the value always changes.
fn walk(rng: &mut fastrand::Rng, v: f64) -> f64 {
    let step = f64::from(rng.u8(1..=10)) * if rng.bool() { 1.0 } else { -1.0 };
    let next = v + step;
    if (0.0..=1000.0).contains(&next) {
        next
    } else {
        v - step
    }
}

fn good(tag: usize, value: f64) -> TagReading {
    TagReading {
        tag,
        value: Some(value),
        quality: Quality::Good,
    }
}

/// Resident set size now (VmRSS), in KiB.
fn rss_kib() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS in /proc/self/status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

/// CPU time of the calling thread (the scheduler's `sum_exec_runtime`, in nanoseconds).
fn thread_cpu() -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("reading /proc/thread-self/schedstat")?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .context("empty schedstat")?
        .parse()?;
    Ok(Duration::from_nanos(ns))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------
// eval

fn eval(shape: &Shape, duration: Duration) -> anyhow::Result<()> {
    let noise = watch_compilers();
    let t = Instant::now();
    let config = shape.config(Path::new("/nonexistent/rules-bench.db"), None)?;
    let parse_time = t.elapsed();
    let heap_config = heap_mib();
    let start: DateTime<Utc> = Utc::now();
    let t = Instant::now();
    let mut engine = Engine::new(&config, Vec::new(), 0, start);
    let build_time = t.elapsed();
    let heap_engine = heap_mib();
    let setup_changes = engine.start(start).len();

    // One observation per device, kept and updated in place between rounds (the engine only
    // borrows it), so the feed allocates nothing.
    let mut rng = fastrand::Rng::with_seed(7);
    let mut feeds: Vec<Observation> = config
        .devices
        .iter()
        .map(|d| Observation::Values {
            device: d.name.clone(),
            at: start,
            rtt: Duration::from_millis(5),
            readings: (0..shape.tags)
                .map(|i| good(i, f64::from(rng.u16(0..=1000))))
                .collect(),
        })
        .collect();
    let heap_feed = heap_mib();
    drop(config);
    let heap_alone = heap_mib();
    HEAP_COUNTING.store(false, Ordering::Relaxed);
    let setup_rss = rss_kib()?;

    let mut round = 0i64;
    let mut run_round = |engine: &mut Engine,
                         feeds: &mut [Observation],
                         gen_time: &mut Duration|
     -> anyhow::Result<(usize, Duration, Duration)> {
        let now = start + chrono::Duration::seconds(round);
        round += 1;
        let g = Instant::now();
        for obs in feeds.iter_mut() {
            let Observation::Values { at, readings, .. } = obs else {
                continue;
            };
            *at = now;
            let readings = Arc::get_mut(readings).context("the engine kept a reading")?;
            for r in readings.iter_mut() {
                r.value = r.value.map(|v| walk(&mut rng, v));
            }
        }
        *gen_time += g.elapsed();
        let (cpu0, t0) = (thread_cpu()?, Instant::now());
        let mut changes = 0;
        for obs in feeds.iter() {
            changes += engine.observe(obs, now).len();
        }
        Ok((changes, t0.elapsed(), thread_cpu()? - cpu0))
    };

    // Warm-up: the first round has no previous values (no rates); the second settles.
    let mut gen_time = Duration::ZERO;
    let mut warm_changes = 0;
    for _ in 0..2 {
        warm_changes += run_round(&mut engine, &mut feeds, &mut gen_time)?.0;
    }

    let evals0 = engine.evaluations();
    let mut gen_time = Duration::ZERO;
    let (mut rounds, mut changes) = (0u64, 0usize);
    let (mut wall, mut cpu) = (Duration::ZERO, Duration::ZERO);
    let mut round_times: Vec<Duration> = Vec::new();
    let load = other_load()?;
    let t0 = Instant::now();
    while rounds < 3 || t0.elapsed() < duration {
        let (c, w, u) = run_round(&mut engine, &mut feeds, &mut gen_time)?;
        changes += c;
        wall += w;
        cpu += u;
        rounds += 1;
        round_times.push(w);
    }
    let load = load(t0.elapsed().as_secs_f64())?;
    let evaluations = engine.evaluations() - evals0;
    let peak_rss = peak_rss_kib()?;
    let end_rss = rss_kib()?;

    let secs = wall.as_secs_f64();
    let observations = rounds * shape.devices as u64;
    let values = observations * shape.tags as u64;
    round_times.sort_unstable();
    println!(
        "rules engine, eval: {} devices x {} tags ({} values), {} rules ({} per device); \
         every value changes each round; one thread, no I/O",
        shape.devices,
        shape.tags,
        shape.devices * shape.tags,
        shape.devices * shape.rules,
        shape.rules
    );
    println!(
        "  setup:           config parse {:.2} s, Engine::new {:.3} s ({} alarm changes at start, {} in the 2 warm-up rounds)",
        parse_time.as_secs_f64(),
        build_time.as_secs_f64(),
        setup_changes,
        warm_changes
    );
    println!(
        "  live heap:       config {heap_config:.1} MiB; Engine::new +{:.1} MiB; the feed +{:.1} MiB; engine and feed alone (config dropped) {heap_alone:.1} MiB; RSS then {:.1} MiB (the rest: freed by TOML parsing, kept by the allocator)",
        heap_engine - heap_config,
        heap_feed - heap_engine,
        mib(setup_rss)
    );
    println!(
        "  rounds:          {rounds} in {secs:.2} s of engine time (round p50 {:.1} ms, max {:.1} ms; updating the values took {:.2} s more, not counted)",
        ms(pct(&round_times, 50.0)),
        ms(pct(&round_times, 100.0)),
        gen_time.as_secs_f64()
    );
    println!(
        "  evaluations:     {:>12.0} /s  ({evaluations} in all, {:.0} per observation)",
        evaluations as f64 / secs,
        evaluations as f64 / observations as f64
    );
    println!("  observations:    {:>12.0} /s", observations as f64 / secs);
    println!("  value changes:   {:>12.0} /s", values as f64 / secs);
    println!(
        "  alarm changes:   {:>12} ({:.1} per round)",
        changes,
        changes as f64 / rounds as f64
    );
    println!(
        "  engine CPU:      {:>12.1} ms per million evaluations ({:.2} µs per observation; thread CPU from schedstat, tick-granular: {:.1} % of the engine time)",
        cpu.as_secs_f64() * 1e3 / (evaluations as f64 / 1e6),
        cpu.as_secs_f64() * 1e6 / observations as f64,
        100.0 * cpu.as_secs_f64() / secs
    );
    println!(
        "  RSS:             {:>12.1} MiB peak (VmHWM, includes parsing the generated TOML), {:.1} MiB at the end",
        mib(peak_rss),
        mib(end_rss)
    );
    println!("  {load}");
    noise();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// latency

/// What the webhook receiver got: one entry per alert, in arrival order.
#[derive(Clone, Default)]
struct Received {
    alerts: Arc<Mutex<Vec<Arrival>>>,
    requests: Arc<AtomicU64>,
}

struct Arrival {
    at: Instant,
    device: String,
}

async fn hook(State(r): State<Received>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    r.requests.fetch_add(1, Ordering::Relaxed);
    let mut alerts = r.alerts.lock().unwrap_or_else(|e| e.into_inner());
    for a in v["alerts"].as_array().into_iter().flatten() {
        alerts.push(Arrival {
            at,
            device: a["labels"]["device"].as_str().unwrap_or("").to_owned(),
        });
    }
    StatusCode::OK
}

/// One flipping observation, as the feeder sent it.
struct Flip {
    device: usize,
    /// Just before `send`: the value changed now.
    sent: Instant,
    /// Inside the measured window.
    measured: bool,
}

/// What the feeder did.
#[derive(Default)]
struct Fed {
    flips: Vec<Flip>,
    /// Observations sent inside the measured window.
    observations: u64,
    /// Value changes sent inside the measured window.
    values: u64,
    /// Send completed minus the interval's scheduled instant, inside the window.
    lateness: Vec<Duration>,
    /// Most observations waiting in the engine's channel right after a send.
    max_depth: usize,
}

/// Per-device state of the feeder: the background values and where the rotation is.
struct DeviceFeed {
    name: DeviceName,
    values: Vec<f64>,
    cursor: usize,
    flipped: bool,
}

/// The feeder: one observation per device per second, evenly spread, each with `changes`
/// changed tags (rotating through the background tags); every `flip_every`-th also flips the
/// device's last tag.
async fn feed(
    tx: mpsc::Sender<Message>,
    mut devices: Vec<DeviceFeed>,
    changes: usize,
    flip_every: u64,
    start: tokio::time::Instant,
    measure: std::ops::Range<tokio::time::Instant>,
) -> anyhow::Result<Fed> {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut fed = Fed::default();
    let n = devices.len();
    let period = Duration::from_secs(1) / u32::try_from(n)?;
    let mut interval = tokio::time::interval_at(start, period);
    let mut k = 0u64;
    loop {
        let scheduled = interval.tick().await;
        if scheduled >= measure.end {
            break;
        }
        let d = usize::try_from(k % n as u64)?;
        let dev = devices.get_mut(d).context("device index")?;
        let bg = dev.values.len();
        let flip = k.is_multiple_of(flip_every);
        let mut readings = Vec::with_capacity(changes + 1);
        for i in 0..changes {
            let tag = (dev.cursor + i) % bg;
            let v = dev.values.get_mut(tag).context("tag index")?;
            *v = walk(&mut rng, *v);
            readings.push(good(tag, *v));
        }
        dev.cursor = (dev.cursor + changes) % bg;
        if flip {
            dev.flipped = !dev.flipped;
            readings.push(good(bg, if dev.flipped { 1000.0 } else { 0.0 }));
        }
        let obs = Arc::new(Observation::Values {
            device: dev.name.clone(),
            at: Utc::now(),
            rtt: Duration::from_millis(5),
            readings: readings.into(),
        });
        let sent = Instant::now();
        tx.send(obs).await.context("the engine task stopped")?;
        let measured = measure.contains(&scheduled);
        if flip {
            fed.flips.push(Flip {
                device: d,
                sent,
                measured,
            });
        }
        if measured {
            fed.observations += 1;
            fed.values += (changes + usize::from(flip)) as u64;
            fed.lateness
                .push(tokio::time::Instant::now().saturating_duration_since(scheduled));
            fed.max_depth = fed.max_depth.max(CHANNEL - tx.capacity());
        }
        k += 1;
    }
    Ok(fed)
}

async fn latency(
    shape: &Shape,
    changes: usize,
    flip_every: u64,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<()> {
    HEAP_COUNTING.store(false, Ordering::Relaxed);
    let noise = watch_compilers();
    let dir = tempfile::Builder::new()
        .prefix("plcdiag-bench-rules-")
        .tempdir()
        .context("creating a temporary directory")?;

    // The webhook receiver.
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(received.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let database = dir.path().join("bench.db");
    let hook_cfg = Hook {
        url: format!("http://{addr}/hook"),
    };
    let config = shape.config(&database, Some(&hook_cfg))?;
    let store = Store::open(&database).await?;
    let clock = Clock::start();
    let engine = engine::prepare(&config, &store, &clock).await?;
    let notifier = plcdiag::notify::spawn(
        store.clone(),
        config.receivers.clone(),
        Metrics::new(),
        CancellationToken::new(),
    );
    let commits: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let (tx, rx) = mpsc::channel::<Message>(CHANNEL);
    let (_commands_handle, commands) = engine::command_channel();
    let waker = notifier.waker();
    let on_commit = {
        let commits = commits.clone();
        move || {
            commits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Instant::now());
            waker.wake();
        }
    };
    let engine_task = tokio::spawn(engine::run(
        engine,
        rx,
        commands,
        store.clone(),
        clock,
        on_commit,
    ));

    // Every device's tags once, so every rule sees values from the start.
    let bg = shape.background_tags(true);
    let mut rng = fastrand::Rng::with_seed(3);
    let mut devices = Vec::with_capacity(shape.devices);
    for d in &config.devices {
        let values: Vec<f64> = (0..bg).map(|_| f64::from(rng.u16(0..=1000))).collect();
        let mut readings: Vec<TagReading> = values
            .iter()
            .enumerate()
            .map(|(i, v)| good(i, *v))
            .collect();
        readings.push(good(bg, 0.0));
        tx.send(Arc::new(Observation::Values {
            device: d.name.clone(),
            at: Utc::now(),
            rtt: Duration::from_millis(5),
            readings: readings.into(),
        }))
        .await
        .context("the engine task stopped")?;
        devices.push(DeviceFeed {
            name: d.name.clone(),
            values,
            cursor: 0,
            flipped: false,
        });
    }
    let names: Vec<String> = config.devices.iter().map(|d| d.name.to_string()).collect();
    drop(config);

    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let measure = start + warmup..start + warmup + duration;
    let feeder = tokio::spawn(feed(
        tx,
        devices,
        changes,
        flip_every,
        start,
        measure.clone(),
    ));
    tokio::time::sleep_until(measure.start).await;
    let (cpu0, t0, load) = (cpu_time()?, Instant::now(), other_load()?);
    tokio::time::sleep_until(measure.end).await;
    let (cpu, secs) = (cpu_time()? - cpu0, t0.elapsed().as_secs_f64());
    let load = load(secs)?;
    let fed = feeder.await??;

    // Wait for every flip's commit and webhook request (the feeder has stopped).
    let expected = fed.flips.len();
    let drain = Instant::now();
    let (mut committed, mut arrived);
    loop {
        committed = commits.lock().unwrap_or_else(|e| e.into_inner()).len();
        arrived = received
            .alerts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        if (committed >= expected && arrived >= expected)
            || drain.elapsed() > Duration::from_secs(60)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_in = drain.elapsed();
    let peak_rss = peak_rss_kib()?;
    // The feeder dropped its sender: the engine commits what is left and stops.
    engine_task.await?;
    notifier.stop().await;
    server.abort();

    let commits = std::mem::take(&mut *commits.lock().unwrap_or_else(|e| e.into_inner()));
    let alerts = std::mem::take(&mut *received.alerts.lock().unwrap_or_else(|e| e.into_inner()));
    let requests = received.requests.load(Ordering::Relaxed);
    let (mut to_commit, mut to_webhook, mut mismatched) = (Vec::new(), Vec::new(), 0usize);
    for (i, f) in fed.flips.iter().enumerate() {
        if let Some(alert) = alerts.get(i)
            && names.get(f.device).is_none_or(|n| *n != alert.device)
        {
            mismatched += 1;
        }
        if !f.measured {
            continue;
        }
        if let Some(c) = commits.get(i) {
            to_commit.push(c.saturating_duration_since(f.sent));
        }
        if let Some(a) = alerts.get(i) {
            to_webhook.push(a.at.saturating_duration_since(f.sent));
        }
    }
    to_commit.sort_unstable();
    to_webhook.sort_unstable();
    let mut lateness = fed.lateness.clone();
    lateness.sort_unstable();
    let journal = journal_rows(&database).await?;

    let configured_obs = shape.devices as f64;
    let configured_values = shape.devices as f64 * changes as f64;
    let measured_flips = fed.flips.iter().filter(|f| f.measured).count();
    println!(
        "rules engine, latency: {} devices x {} tags, {} rules ({} per device); {} observations/s of {} changed tags \
         ({:.0} value changes/s), every {}th flips a critical rule ({:.0} alarm changes/s to one webhook); \
         measured {:.1} s after {:.0} s warm-up",
        shape.devices,
        shape.tags,
        shape.devices * shape.rules,
        shape.rules,
        shape.devices,
        changes,
        configured_values,
        flip_every,
        configured_obs / flip_every as f64,
        secs,
        warmup.as_secs_f64()
    );
    println!(
        "  fed:             {:.1} observations/s, {:.0} value changes/s (configured {configured_obs:.0} and {configured_values:.0}, plus the flips)",
        fed.observations as f64 / secs,
        fed.values as f64 / secs
    );
    println!(
        "  feeder:          lateness after send p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; channel depth max {} of {CHANNEL}",
        ms(pct(&lateness, 50.0)),
        ms(pct(&lateness, 99.0)),
        ms(pct(&lateness, 100.0)),
        fed.max_depth
    );
    let kept_up = fed.observations as f64 >= 0.99 * configured_obs * secs
        && fed.max_depth < CHANNEL
        && pct(&lateness, 100.0) < Duration::from_secs(1);
    if kept_up {
        println!(
            "  engine kept up:  yes (the channel never filled, the feeder was never held back)"
        );
    } else {
        println!(
            "  engine kept up:  NO: the channel filled or the feeder fell behind its schedule; the latencies below include waiting to be taken"
        );
    }
    let line = |what: &str, v: &[Duration]| {
        println!(
            "  {what} n={:<5} p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            v.len(),
            ms(pct(v, 50.0)),
            ms(pct(v, 90.0)),
            ms(pct(v, 99.0)),
            ms(pct(v, 100.0))
        );
    };
    line("observation -> outbox commit:  ", &to_commit);
    line("value change -> webhook request:", &to_webhook);
    println!(
        "  counts:          {measured_flips} flips measured, {expected} sent in all; {committed} commit callbacks, {arrived} alerts in {requests} requests \
         (drained in {:.2} s); {mismatched} alerts not of the expected device; {journal} journal rows (flips, background alarms)",
        drained_in.as_secs_f64()
    );
    if committed < expected || arrived < expected {
        println!("  WARNING: not every flip was committed and delivered within 60 s");
    }
    println!(
        "  process CPU:     {:.1} % of one core (engine, store, notifier, receiver, feeder)",
        100.0 * cpu.as_secs_f64() / secs
    );
    println!("  peak RSS:        {:.1} MiB", mib(peak_rss));
    println!("  {load}");
    store.close().await;

    breakdown(shape, changes, flip_every, dir.path()).await?;
    noise();
    Ok(())
}

/// Journal rows written during the run.
async fn journal_rows(database: &Path) -> anyhow::Result<i64> {
    let url = format!("sqlite:{}", database.display());
    let pool = sqlx::SqlitePool::connect(&url).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alarm_journal")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(n)
}

/// Where the time of the engine task goes, measured apart on a fresh engine and store: one
/// `Engine::observe` of a latency-mode observation, and one `commit_alarm_changes` of what a
/// flip produces (no channel, no callback, no notifier).
async fn breakdown(
    shape: &Shape,
    changes: usize,
    flip_every: u64,
    dir: &Path,
) -> anyhow::Result<()> {
    let database = dir.join("breakdown.db");
    // The same routing as in the run; nothing is sent.
    let hook_cfg = Hook {
        url: "http://127.0.0.1:9/hook".into(),
    };
    let config = shape.config(&database, Some(&hook_cfg))?;
    let store = Store::open(&database).await?;
    let now = Utc::now();
    let mut engine = Engine::new(&config, Vec::new(), 0, now);
    let bg = shape.background_tags(true);
    let mut rng = fastrand::Rng::with_seed(5);
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(shape.devices);
    for d in &config.devices {
        let v: Vec<f64> = (0..bg).map(|_| f64::from(rng.u16(0..=1000))).collect();
        let mut readings: Vec<TagReading> =
            v.iter().enumerate().map(|(i, x)| good(i, *x)).collect();
        readings.push(good(bg, 0.0));
        let obs = Observation::Values {
            device: d.name.clone(),
            at: now,
            rtt: Duration::from_millis(5),
            readings: readings.into(),
        };
        let mut c = engine.observe(&obs, now);
        store.commit_alarm_changes(&mut c).await?;
        values.push(v);
    }
    let names: Vec<DeviceName> = config.devices.iter().map(|d| d.name.clone()).collect();
    let (mut observe_all, mut observe_flip, mut commit) = (Vec::new(), Vec::new(), Vec::new());
    let mut flipped = vec![false; shape.devices];
    let mut cursor = vec![0usize; shape.devices];
    let samples = (shape.devices as u64 * 20).max(2000);
    for k in 0..samples {
        let d = usize::try_from(k % shape.devices as u64)?;
        let flip = k.is_multiple_of(flip_every);
        let v = values.get_mut(d).context("device")?;
        let c = cursor.get_mut(d).context("device")?;
        let mut readings = Vec::with_capacity(changes + 1);
        for i in 0..changes {
            let tag = (*c + i) % bg;
            let x = v.get_mut(tag).context("tag")?;
            *x = walk(&mut rng, *x);
            readings.push(good(tag, *x));
        }
        *c = (*c + changes) % bg;
        if flip {
            let f = flipped.get_mut(d).context("device")?;
            *f = !*f;
            readings.push(good(bg, if *f { 1000.0 } else { 0.0 }));
        }
        let at = now + chrono::Duration::milliseconds(i64::try_from(k)? * 10);
        let obs = Observation::Values {
            device: names.get(d).context("device")?.clone(),
            at,
            rtt: Duration::from_millis(5),
            readings: readings.into(),
        };
        let t = Instant::now();
        let mut out = engine.observe(&obs, at);
        let took = t.elapsed();
        observe_all.push(took);
        if flip {
            observe_flip.push(took);
        }
        if !out.is_empty() {
            let t = Instant::now();
            store.commit_alarm_changes(&mut out).await?;
            commit.push(t.elapsed());
        }
    }
    store.close().await;
    for v in [&mut observe_all, &mut observe_flip, &mut commit] {
        v.sort_unstable();
    }
    println!(
        "  breakdown, measured apart (fresh engine and store, same config, one task, no notifier):"
    );
    let line = |what: &str, v: &[Duration]| {
        println!(
            "    {what} n={:<5} p50 {:>6.3} ms  p99 {:>6.3} ms  max {:>7.3} ms",
            v.len(),
            ms(pct(v, 50.0)),
            ms(pct(v, 99.0)),
            ms(pct(v, 100.0))
        );
    };
    line("Engine::observe, any observation:     ", &observe_all);
    line("Engine::observe, flipping observation:", &observe_flip);
    line("Store::commit_alarm_changes:          ", &commit);
    Ok(())
}
