//! `plcdiag bench modbus`: many simulated Modbus devices polled by one gateway.
//!
//! The simulator runs as a child process (`plcdiag sim modbus`), so the CPU time and peak RSS
//! reported are the gateway's alone: device tasks, hub, live view, metrics and the SQLite
//! store writer, as in production. Figures go to docs/PERFORMANCE.md with this command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use plcdiag_modbus::{DataType, Encoding, PlanLimits, Point};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::config::{
    Config, DeviceConfig, DeviceKind, GatewaySettings, ModbusDevice, ModbusTransport, PollSettings,
    TagConfig,
};
use crate::gateway::Gateway;

/// `plcdiag bench modbus` arguments.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Number of devices (one TCP connection each).
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    /// Holding registers read per device (u16 tags hr:0..N).
    #[arg(long, default_value_t = 1000)]
    pub registers: u16,
    /// Poll interval of every device.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Measured time, after the warm-up.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Time before measuring (connections, first samples).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Registers the simulator changes every second (the rest stay constant).
    #[arg(long, default_value_t = 100)]
    pub changing: u16,
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.devices == 0 || args.registers == 0 {
        bail!("--devices and --registers must be at least 1");
    }
    let exe = std::env::current_exe().context("locating the plcdiag binary")?;
    let mut sim = Command::new(exe)
        .args(["sim", "modbus", "--listen", "127.0.0.1:0"])
        .args([
            "--registers",
            &args.registers.to_string(),
            "--changing",
            &args.changing.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the simulator process")?;
    let stdout = sim.stdout.take().context("simulator stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .context("the simulator did not start within 10s")??
        .context("the simulator exited")?;
    let addr = line
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .parse::<std::net::SocketAddr>()
        .with_context(|| format!("simulator said {line:?}"))?;

    let database = std::env::temp_dir().join(format!("plcdiag-bench-{}.db", std::process::id()));
    let config = bench_config(&args, addr, database.clone());
    let names: Vec<String> = config.devices.iter().map(|d| d.name.to_string()).collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let gateway = Gateway::start(config, Some(listener)).await?;

    tokio::time::sleep(args.warmup).await;
    let count = |g: &Gateway| -> (u64, u64) {
        names.iter().fold((0, 0), |(v, e), n| {
            (v + g.metrics.values_read(n), e + g.metrics.polls_failed(n))
        })
    };
    let (values0, errors0) = count(&gateway);
    let cpu0 = cpu_time()?;
    let t0 = Instant::now();
    tokio::time::sleep(args.duration).await;
    let elapsed = t0.elapsed();
    let (values1, errors1) = count(&gateway);
    let cpu = cpu_time()? - cpu0;
    let peak_rss_kib = peak_rss_kib()?;
    gateway.shutdown().await?;
    drop(sim);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(PathBuf::from(format!("{}{suffix}", database.display())));
    }

    let values = values1 - values0;
    let secs = elapsed.as_secs_f64();
    let expected = args.devices as f64 * f64::from(args.registers) / args.interval.as_secs_f64();
    println!(
        "plcdiag bench modbus: {} devices x {} registers every {:?}, measured {:.1}s after {:?} warm-up",
        args.devices, args.registers, args.interval, secs, args.warmup
    );
    println!(
        "  values read:     {:>12.0} /s  (configured rate {expected:.0} /s)",
        values as f64 / secs
    );
    println!("  failed polls:    {:>12}", errors1 - errors0);
    println!(
        "  gateway CPU:     {:>12.1} %  of one core ({:.2}s CPU in {secs:.1}s)",
        100.0 * cpu.as_secs_f64() / secs,
        cpu.as_secs_f64()
    );
    println!(
        "  gateway peak RSS:{:>12.1} MiB",
        peak_rss_kib as f64 / 1024.0
    );
    Ok(())
}

fn bench_config(args: &BenchArgs, addr: std::net::SocketAddr, database: PathBuf) -> Config {
    let points: Vec<Point> = (0..args.registers)
        .map(|i| {
            Point::new(
                plcdiag_modbus::Address::new(plcdiag_modbus::Table::HoldingRegister, i),
                Encoding::new(DataType::U16),
            )
        })
        .collect();
    let tags: Vec<TagConfig> = (0..args.registers)
        .map(|i| TagConfig {
            name: format!("hr{i}"),
            unit: None,
            deadband: 0.0,
            max_interval: Duration::from_secs(60),
            scaling: Default::default(),
        })
        .collect();
    let device = |i: usize| DeviceConfig {
        name: format!("bench-{i:04}").into(),
        address: addr.to_string(),
        enabled: true,
        poll: PollSettings {
            interval: args.interval,
            timeout: Duration::from_secs(2),
            demote_after: 3,
            demote_for: Duration::from_secs(5),
        },
        tags: tags.clone(),
        kind: DeviceKind::Modbus(ModbusDevice {
            transport: ModbusTransport::Tcp {
                host: addr.ip().to_string(),
                port: addr.port(),
            },
            unit_id: 1,
            points: points.clone(),
            limits: PlanLimits::default(),
        }),
    };
    Config {
        gateway: GatewaySettings {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            database,
            retention: Duration::from_secs(86400),
            external_url: None,
            base_path: String::new(),
            header_timeout: crate::config::DEFAULT_HEADER_TIMEOUT,
            body_timeout: crate::config::DEFAULT_BODY_TIMEOUT,
            max_connections: crate::config::DEFAULT_MAX_CONNECTIONS,
        },
        devices: (0..args.devices)
            .map(|i| std::sync::Arc::new(device(i)))
            .collect(),
        rules: Vec::new(),
        receivers: Vec::new(),
        auth: Default::default(),
        warnings: Vec::new(),
    }
}

/// User plus system CPU time from a `/proc/<pid>/stat` file (Linux, USER_HZ = 100 ticks/s).
pub fn cpu_time_of(path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, s)| s)
        .context("unexpected /proc stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        Ok(fields.get(i).context("short /proc stat")?.parse()?)
    };
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// User plus system CPU time of this process.
pub fn cpu_time() -> anyhow::Result<Duration> {
    cpu_time_of("/proc/self/stat")
}

/// CPU time the whole machine spent busy (user, nice, system, irq, softirq) and stolen by the
/// hypervisor, from `/proc/stat` (USER_HZ = 100 ticks/s).
pub fn machine_cpu() -> anyhow::Result<(Duration, Duration)> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let get = |i: usize| f.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6);
    Ok((
        Duration::from_millis(busy * 10),
        Duration::from_millis(get(7) * 10),
    ))
}

/// Starts watching the machine's other load; the returned function, given the seconds since,
/// says how much CPU other processes used and the hypervisor stole meanwhile (a line for a
/// bench's report, marked when the figures are noisy).
pub fn other_load() -> anyhow::Result<impl FnOnce(f64) -> anyhow::Result<String>> {
    let (busy0, steal0) = machine_cpu()?;
    let own0 = cpu_time()?;
    Ok(move |secs: f64| {
        let (busy1, steal1) = machine_cpu()?;
        let own = cpu_time()?.saturating_sub(own0);
        let others = (busy1.saturating_sub(busy0)).saturating_sub(own);
        let pct = |d: Duration| 100.0 * d.as_secs_f64() / secs;
        Ok(format!(
            "other load: {:.1} % of one core by other processes, {:.1} % stolen by the hypervisor (of {} cores){}",
            pct(others),
            pct(steal1.saturating_sub(steal0)),
            std::thread::available_parallelism().map_or(0, usize::from),
            if pct(others) > 10.0 {
                "  <- figures are noisy"
            } else {
                ""
            }
        ))
    })
}

/// The bench's command-line arguments, without the `--bench` that `cargo bench` appends.
pub fn args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect()
}

/// Nearest-rank percentile of sorted `v` (`p` = 100: the maximum); zero when empty.
pub fn pct(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len()) - 1)
        .copied()
        .unwrap_or_default()
}

/// `d` in milliseconds, for a report.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak resident set size (VmHWM) of this process, in KiB.
pub fn peak_rss_kib() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmHWM value")?
        .parse()?)
}

/// The value after `--name` in a benchmark's arguments, parsed; `default` when absent.
pub fn opt<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let v = args.get(i + 1).map_or("", String::as_str);
            v.parse().ok().with_context(|| format!("bad {name} {v:?}"))
        }
    }
}

/// Compiler and linker processes running now. The benchmark machine has 2 cores: figures
/// taken while something else compiles are noisy.
pub fn compilers_running() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|comm| {
            matches!(
                comm.trim(),
                "rustc" | "cc1" | "cc1plus" | "ld" | "rust-lld" | "ld.lld" | "clippy-driver"
            )
        })
        .count()
}

/// Samples [`compilers_running`] once a second on a thread until the returned function is
/// called, which warns on stderr if any sample saw a compiler.
pub fn watch_compilers() -> impl FnOnce() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let (mut samples, mut busy) = (0u32, 0u32);
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            samples += 1;
            busy += u32::from(compilers_running() > 0);
            std::thread::sleep(Duration::from_secs(1));
        }
        (samples, busy)
    });
    move || {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Ok((samples, busy)) = thread.join()
            && busy > 0
        {
            eprintln!(
                "warning: a compiler was running in {busy} of {samples} one-second samples; figures are noisy"
            );
        }
    }
}

/// Sum of the `plcdiag_polls_total` counters (every device) in the gateway's metrics.
pub fn polls_total(gateway: &Gateway) -> anyhow::Result<u64> {
    let text = gateway.metrics.encode()?;
    let mut total = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("plcdiag_polls_total{"))
    {
        let value = line.rsplit(' ').next().unwrap_or_default();
        total += value
            .parse::<f64>()
            .with_context(|| format!("metrics line {line:?}"))? as u64;
    }
    Ok(total)
}

/// A benchmark's server child process: it prints one `PORT n` line per server it runs, then
/// answers `requests` on stdin with `REQUESTS n` (see [`answer_requests`]). Killed when dropped.
pub struct ServerChild {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    /// The ports the child printed, in order.
    pub ports: Vec<u16>,
}

impl ServerChild {
    /// Starts `cmd` and waits for `count` `PORT n` lines; `what` names it in errors.
    pub async fn start(mut cmd: Command, count: usize, what: &str) -> anyhow::Result<ServerChild> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let stdin = child.stdin.take().context("child stdin")?;
        let mut server = ServerChild {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            ports: Vec::with_capacity(count),
        };
        while server.ports.len() < count {
            let line = server.line(what, "PORT").await?;
            let port = line
                .strip_prefix("PORT ")
                .and_then(|p| p.trim().parse().ok())
                .with_context(|| format!("{what} said {line:?}"))?;
            server.ports.push(port);
        }
        Ok(server)
    }

    async fn line(&mut self, what: &str, expected: &str) -> anyhow::Result<String> {
        tokio::time::timeout(Duration::from_secs(60), self.lines.next_line())
            .await
            .with_context(|| format!("{what} did not print {expected} within 60 s"))??
            .with_context(|| format!("{what} exited"))
    }

    /// The loopback address of the `i`-th server.
    pub fn addr(&self, i: usize) -> anyhow::Result<SocketAddr> {
        let port = self.ports.get(i).context("no such server port")?;
        Ok(SocketAddr::from(([127, 0, 0, 1], *port)))
    }

    /// Requests the child's servers have received so far.
    pub async fn requests(&mut self) -> anyhow::Result<u64> {
        use tokio::io::AsyncWriteExt as _;
        self.stdin.write_all(b"requests\n").await?;
        self.stdin.flush().await?;
        let line = self.line("the simulator", "REQUESTS").await?;
        line.strip_prefix("REQUESTS ")
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("the simulator said {line:?}"))
    }

    /// User + system CPU time of the child so far.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        let pid = self.child.id().context("the server exited")?;
        cpu_time_of(&format!("/proc/{pid}/stat"))
    }
}

/// The child side of [`ServerChild`]: answers each `requests` line on stdin with
/// `REQUESTS <total()>` until the parent closes stdin (or kills the child).
pub async fn answer_requests(total: impl Fn() -> u64) -> anyhow::Result<()> {
    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    while let Some(command) = commands.next_line().await? {
        if command.trim() == "requests" {
            println!("REQUESTS {}", total());
        }
    }
    Ok(())
}
