//! The `plcdiag` command: run the gateway, the demo, config checks, probes, simulators and benchmarks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use plcdiag::{bench, config, demo, gateway::Gateway, probe};
use tracing::{error, info, warn};

/// Exit codes, for service managers and scripts (documented in docs/DEPLOY.md).
mod exit {
    /// A runtime failure: the database cannot be opened, the HTTP port is taken, ...
    pub(crate) const FAILURE: u8 = 1;
    /// Bad command line or invalid configuration: fix the input, do not restart in a loop.
    pub(crate) const CONFIG: u8 = 2;
    /// `probe`: the device did not answer.
    pub(crate) const NO_ANSWER: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "plcdiag",
    version,
    about = "PLC diagnostics gateway: polls devices, keeps their health and history, serves a JSON API"
)]
struct Cli {
    /// Log line format: `text` for people, `json` for log shippers (ELK, Loki).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "PLCDIAG_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway with a configuration file.
    Run {
        /// The TOML configuration (see docs/CONFIG.md).
        #[arg(long, short)]
        config: PathBuf,
        /// Allow a non-loopback `gateway.listen` although no user or token is configured:
        /// anyone who reaches the gateway can then acknowledge and shelve alarms.
        #[arg(long)]
        insecure_no_auth: bool,
        /// Serve the UI and API under this path prefix, e.g. `/plcdiag` behind a reverse proxy
        /// (overrides `gateway.base_path`).
        #[arg(long, value_parser = parse_base_path)]
        base_path: Option<String>,
    },
    /// Run the gateway against built-in simulated devices with scripted faults.
    Demo {
        /// HTTP address of the API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// History database file.
        #[arg(long, default_value = "plcdiag-demo.db")]
        database: PathBuf,
        /// Allow a non-loopback `--listen`: the demo has no users, so everything is open.
        #[arg(long)]
        insecure_no_auth: bool,
        /// Serve the UI and API under this path prefix, e.g. `/plcdiag`.
        #[arg(long, value_parser = parse_base_path)]
        base_path: Option<String>,
    },
    /// Read a password and print its argon2id hash for `[[auth.users]] password_hash`.
    Passwd {
        /// Read the password once from standard input (one line) instead of twice from the
        /// terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// Validate a configuration file and report every problem in it.
    CheckConfig {
        /// The TOML configuration.
        file: PathBuf,
    },
    /// Connect to one device once, read, print what it answered.
    Probe(probe::ProbeArgs),
    /// Run a device simulator on its own.
    Sim {
        #[command(subcommand)]
        kind: SimKind,
    },
    /// Measure polling throughput against simulated devices.
    Bench {
        #[command(subcommand)]
        kind: BenchKind,
    },
    /// Alarm notifications.
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
    },
    /// Ask a running gateway's `/healthz` whether it is up: exit 0 when it answers 200, 1
    /// otherwise (a container image's HEALTHCHECK; the image has no curl).
    Healthcheck {
        /// The gateway's health URL (add the base path if one is set).
        #[arg(default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
}

#[derive(Subcommand)]
enum NotifyAction {
    /// Send a test message to one receiver of a config file and print its answer.
    Test {
        /// The receiver's name (`[[receivers]] name`).
        receiver: String,
        /// The TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum SimKind {
    /// A Modbus TCP slave with a register map and optional faults.
    Modbus(demo::SimArgs),
    /// An S7-300/400 CPU on ISO-on-TCP: SZL lists, diagnostic buffer, read-var.
    S7(demo::S7SimArgs),
    /// A MELSEC Q CPU with a CC-Link master, over MC protocol (TCP and UDP, 3E and 4E).
    Melsec(demo::McSimArgs),
}

#[derive(Subcommand)]
enum BenchKind {
    /// Many Modbus devices polled by one gateway.
    Modbus(bench::BenchArgs),
}

/// `--base-path`: the same rules as `gateway.base_path` (`/` alone means none).
fn parse_base_path(s: &str) -> Result<String, String> {
    config::normalize_base_path(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(exit::FAILURE);
        }
    };
    runtime.block_on(dispatch(cli.command))
}

async fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::CheckConfig { file } => check_config(&file),
        Command::Run {
            config,
            insecure_no_auth,
            base_path,
        } => match config::load(&config) {
            Err(e) => {
                eprint!("{e}");
                ExitCode::from(exit::CONFIG)
            }
            Ok(mut cfg) => {
                cfg.auth.insecure_no_auth = insecure_no_auth;
                if let Some(base) = base_path {
                    cfg.gateway.base_path = base;
                }
                let listen = cfg.gateway.listen;
                if !cfg.auth.enabled() && !listen.ip().is_loopback() && !insecure_no_auth {
                    eprintln!(
                        "plcdiag: gateway.listen = {listen} is not a loopback address and no [[auth.users]] or [[auth.tokens]] are configured: add users (see `plcdiag passwd`), listen on 127.0.0.1, or start with --insecure-no-auth"
                    );
                    return ExitCode::from(exit::CONFIG);
                }
                for w in &cfg.warnings {
                    warn!(file = %config.display(), line = w.line, column = w.column, "{}", w.message);
                }
                outcome(run_until_signal(cfg).await)
            }
        },
        Command::Demo {
            listen,
            database,
            insecure_no_auth,
            base_path,
        } => {
            if !listen.ip().is_loopback() && !insecure_no_auth {
                eprintln!(
                    "plcdiag demo: --listen {listen} is not a loopback address and the demo has no users: use 127.0.0.1, or add --insecure-no-auth"
                );
                return ExitCode::from(exit::CONFIG);
            }
            outcome(
                demo::run(
                    listen,
                    database,
                    base_path.unwrap_or_default(),
                    wait_for_signal(),
                )
                .await,
            )
        }
        Command::Passwd { stdin } => passwd(stdin),
        Command::Probe(args) => match probe::run(args).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(exit::NO_ANSWER),
            Err(e) => {
                eprintln!("plcdiag probe: {e:#}");
                ExitCode::from(exit::CONFIG)
            }
        },
        Command::Sim {
            kind: SimKind::Modbus(args),
        } => outcome(demo::run_sim(args, wait_for_signal()).await),
        Command::Sim {
            kind: SimKind::S7(args),
        } => outcome(demo::run_s7_sim(args, wait_for_signal()).await),
        Command::Sim {
            kind: SimKind::Melsec(args),
        } => outcome(demo::run_mc_sim(args, wait_for_signal()).await),
        Command::Bench {
            kind: BenchKind::Modbus(args),
        } => outcome(bench::run(args).await),
        Command::Notify {
            action: NotifyAction::Test { receiver, config },
        } => notify_test(&config, &receiver).await,
        Command::Healthcheck { url, timeout } => healthcheck(&url, timeout).await,
    }
}

/// `plcdiag healthcheck`: 0 when the gateway answers 200, else 1 (container runtimes read
/// other codes as reserved).
async fn healthcheck(url: &str, timeout: std::time::Duration) -> ExitCode {
    let answer = async {
        // Straight to the gateway: an HTTP(S)_PROXY meant for notifications must not carry it.
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()?;
        let response = client.get(url).send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.text().await.unwrap_or_default()))
    };
    match answer.await {
        Ok((status, _)) if status == reqwest::StatusCode::OK => {
            println!("{url}: ok");
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            println!("{url}: {status} {}", body.trim());
            ExitCode::from(exit::FAILURE)
        }
        Err(e) => {
            println!("{url}: no answer: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// `plcdiag notify test`: exit 0 when the receiver accepted the message, 3 when it could not be
/// reached, 1 when it answered with a refusal, 2 for a bad config or receiver name.
async fn notify_test(file: &std::path::Path, name: &str) -> ExitCode {
    let cfg = match config::load(file) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    let Some(receiver) = cfg.receivers.iter().find(|r| &*r.name == name) else {
        let names: Vec<&str> = cfg.receivers.iter().map(|r| &*r.name).collect();
        eprintln!(
            "plcdiag notify test: {} has no receiver named `{name}` (receivers: {})",
            file.display(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
        return ExitCode::from(exit::CONFIG);
    };
    let client = match plcdiag::notify::http_client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("plcdiag notify test: cannot build the HTTP client: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match plcdiag::notify::send_test(receiver, &client).await {
        Ok(reply) => {
            println!("receiver `{name}` answered HTTP {}", reply.status);
            if !reply.body.is_empty() {
                println!("{}", reply.body);
            }
            match &reply.delivery {
                plcdiag::notify::Delivery::Delivered => {
                    println!("outcome: delivered");
                    ExitCode::SUCCESS
                }
                plcdiag::notify::Delivery::Retry { reason, .. } => {
                    println!("outcome: would be retried: {reason}");
                    ExitCode::from(exit::FAILURE)
                }
                plcdiag::notify::Delivery::Reject { reason } => {
                    println!("outcome: rejected: {reason}");
                    ExitCode::from(exit::FAILURE)
                }
            }
        }
        Err(e) => {
            eprintln!("plcdiag notify test: receiver `{name}`: {e}");
            ExitCode::from(exit::NO_ANSWER)
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match config::load(file) {
        Err(e) => {
            eprint!("{e}");
            ExitCode::from(exit::CONFIG)
        }
        Ok(cfg) => {
            for w in &cfg.warnings {
                let mut text = String::new();
                let _ = config::write_problem(&mut text, file, w);
                eprint!("warning: {text}");
            }
            let enabled = cfg.devices.iter().filter(|d| d.enabled).count();
            let tags: usize = cfg.devices.iter().map(|d| d.tags.len()).sum();
            let points: usize = cfg.rules.iter().map(|r| r.targets.len()).sum();
            println!(
                "{}: OK ({} device{}, {enabled} enabled, {tags} tag{}; {} rule{} ({points} alarm point{}), {} receiver{}; {} warning{})",
                file.display(),
                cfg.devices.len(),
                plural(cfg.devices.len()),
                plural(tags),
                cfg.rules.len(),
                plural(cfg.rules.len()),
                plural(points),
                cfg.receivers.len(),
                plural(cfg.receivers.len()),
                cfg.warnings.len(),
                plural(cfg.warnings.len())
            );
            ExitCode::SUCCESS
        }
    }
}

/// `plcdiag passwd`: the password is never echoed, logged or printed; only its hash is.
fn passwd(from_stdin: bool) -> ExitCode {
    let password = if from_stdin {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            eprintln!("plcdiag passwd: cannot read standard input: {e}");
            return ExitCode::from(exit::FAILURE);
        }
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ");
        let second = rpassword::prompt_password("Again: ");
        match (first, second) {
            (Ok(a), Ok(b)) if a == b => a,
            (Ok(_), Ok(_)) => {
                eprintln!("plcdiag passwd: the passwords differ");
                return ExitCode::from(exit::CONFIG);
            }
            (Err(e), _) | (_, Err(e)) => {
                eprintln!(
                    "plcdiag passwd: cannot read from the terminal ({e}); use --stdin to read from standard input"
                );
                return ExitCode::from(exit::CONFIG);
            }
        }
    };
    if password.is_empty() {
        eprintln!("plcdiag passwd: the password is empty");
        return ExitCode::from(exit::CONFIG);
    }
    match plcdiag::web::hash_password(&password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plcdiag passwd: cannot hash: {e}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

async fn run_until_signal(cfg: config::Config) -> anyhow::Result<()> {
    let gateway = Gateway::start(cfg, None).await?;
    println!("plcdiag: API on http://{}/api/devices", gateway.http_addr);
    let failed = tokio::select! {
        () = wait_for_signal() => None,
        why = gateway.failed() => Some(why),
    };
    info!("shutting down");
    let stopped = gateway.shutdown().await;
    match failed {
        // A non-zero exit, so that systemd (`Restart=on-failure`) or the container runtime
        // starts a whole gateway again.
        Some(why) => {
            if let Err(e) = stopped {
                error!("{e:#}");
            }
            Err(anyhow::anyhow!(
                "{why}; stopped so that it can be restarted"
            ))
        }
        None => stopped,
    }
}

/// Resolves on Ctrl-C or SIGTERM (what systemd and container runtimes send).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn outcome(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("plcdiag: {e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
