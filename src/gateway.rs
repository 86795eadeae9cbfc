//! Assembles and runs the gateway: store, hub, live view, HTTP server and device tasks, and
//! shuts them down in the order that loses nothing.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use futures::FutureExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::hub::{Hub, HubBuilder};
use crate::live::{self, Live};
use crate::metrics::Metrics;
use crate::notify::{self, Notifier};
use crate::rules::engine::{self as rules_engine, Clock};
use crate::store::{self, Store, writer::WriterSettings};
use crate::web::{self, AppState};

/// The listen rule of an open gateway (see [`Gateway::start`]); logs whether auth is on.
/// `bound` is the address of a listener the caller bound itself.
fn check_listen(config: &Config, bound: Option<SocketAddr>) -> anyhow::Result<()> {
    let auth = &config.auth;
    if auth.enabled() {
        info!(
            users = auth.users.len(),
            tokens = auth.tokens.len(),
            trust_proxy = auth.trust_proxy,
            "authentication is on: pages and the API need a login or a token"
        );
        return Ok(());
    }
    let listen = bound.unwrap_or(config.gateway.listen);
    if listen.ip().is_loopback() {
        info!(%listen, "authentication is off (no [auth] users or tokens): everything is open, on loopback only");
        return Ok(());
    }
    if auth.insecure_no_auth || bound.is_some() {
        warn!(%listen, "authentication is off and the gateway listens beyond loopback (--insecure-no-auth): anyone who reaches it can acknowledge and shelve alarms");
        return Ok(());
    }
    anyhow::bail!(
        "gateway.listen = {listen} is not a loopback address, and no [[auth.users]] or [[auth.tokens]] are configured: add users (see `plcdiag passwd`) or tokens, listen on 127.0.0.1, or start with --insecure-no-auth"
    )
}

/// Capacity of each lossless hub subscription, in messages (one message is one poll's readings).
const SUBSCRIBER_CAPACITY: usize = 64;
/// How long shutdown waits for the store writer's final commit.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one of the tasks the gateway cannot do without (the store writer, the live view's
/// follower, the rules engine, the HTTP server). If it ends (returns or panics) before
/// `stopping` is cancelled, the gateway is broken although its process lives on: say so in
/// the log and in `failed`, which `/healthz` reports and `plcdiag run` exits on, so that
/// systemd or the container runtime restarts it.
async fn essential<F: Future>(
    name: &'static str,
    task: F,
    stopping: CancellationToken,
    failed: watch::Sender<Option<String>>,
) -> F::Output {
    let out = AssertUnwindSafe(task).catch_unwind().await;
    if !stopping.is_cancelled() {
        let why = match &out {
            Ok(_) => format!("the {name} stopped"),
            Err(_) => format!("the {name} panicked"),
        };
        error!(
            task = name,
            "{why} while the gateway was running; it needs a restart"
        );
        failed.send_if_modified(|f| {
            // The first failure is the cause; later ones may be its consequences.
            let first = f.is_none();
            if first {
                *f = Some(why);
            }
            first
        });
    }
    match out {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Spawns the gateway's essential tasks, each under [`essential`].
struct Essentials {
    stopping: CancellationToken,
    failed: watch::Sender<Option<String>>,
}

impl Essentials {
    fn spawn<F>(&self, name: &'static str, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (stopping, failed) = (self.stopping.clone(), self.failed.clone());
        tokio::spawn(essential(name, task, stopping, failed))
    }
}

/// A started gateway.
pub struct Gateway {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Current device state.
    pub live: Live,
    /// History.
    pub store: Store,
    /// Metrics.
    pub metrics: Metrics,
    hub: Hub,
    shutdown: CancellationToken,
    devices: JoinSet<()>,
    writer: JoinHandle<Result<(), store::Error>>,
    follower: JoinHandle<()>,
    rules: Option<JoinHandle<()>>,
    notifier: Notifier,
    pruner: JoinHandle<()>,
    http: JoinHandle<std::io::Result<()>>,
    http_shutdown: CancellationToken,
    failed: watch::Receiver<Option<String>>,
}

impl Gateway {
    /// Opens the history, binds the HTTP listener (or uses `listener`, e.g. one bound to port 0
    /// by a test) and starts polling.
    ///
    /// Without any user or token in `[auth]` it refuses to bind a non-loopback
    /// `gateway.listen` unless `auth.insecure_no_auth` is set (`--insecure-no-auth`); a caller
    /// that passes its own listener has made that choice itself.
    pub async fn start(config: Config, listener: Option<TcpListener>) -> anyhow::Result<Self> {
        check_listen(&config, listener.as_ref().and_then(|l| l.local_addr().ok()))?;
        let store = Store::open(&config.gateway.database).await?;
        let metrics = Metrics::new();
        let mut hub = HubBuilder::new(metrics.clone());
        let store_rx = hub.subscribe_lossless("store", SUBSCRIBER_CAPACITY);
        let live_rx = hub.subscribe_lossless("live", SUBSCRIBER_CAPACITY);
        let rules_rx = (!config.rules.is_empty())
            .then(|| hub.subscribe_lossless("rules", SUBSCRIBER_CAPACITY));
        let hub = hub.build();

        // Cancelled first thing on shutdown: tasks ending after it are expected to.
        let shutdown = CancellationToken::new();
        // Should starting fail below, the tasks already spawned end as on a shutdown.
        let started = shutdown.clone().drop_guard();
        let (failed_tx, failed) = watch::channel(None);
        let essentials = Essentials {
            stopping: shutdown.clone(),
            failed: failed_tx,
        };

        let live = Live::new(&config.devices, Utc::now());
        let settings = WriterSettings::new(config.gateway.retention);
        let writer = store::writer::prepare(store.clone(), config.devices.clone()).await?;
        let writer = writer
            .run(store_rx, metrics.clone(), settings)
            .inspect(|r| {
                if let Err(e) = r {
                    error!(error = %e, "store writer failed");
                }
            });
        let writer = essentials.spawn("store writer", writer);
        let follower = live::follow(live.clone(), metrics.clone(), live_rx);
        let follower = essentials.spawn("live view follower", follower);

        let names: Vec<&str> = config.receivers.iter().map(|r| &*r.name).collect();
        match store.outbox_dead_unknown(&names, Utc::now()).await? {
            0 => {}
            n => warn!(
                rows = n,
                "dead-lettered notifications of receivers no longer in the config"
            ),
        }
        // Notifications first, so the engine's first commit can wake them.
        let notifier = notify::spawn(
            store.clone(),
            config.receivers.clone(),
            metrics.clone(),
            CancellationToken::new(),
        );
        let (alarms_live, _) = tokio::sync::broadcast::channel(256);
        let (engine_handle, rules) = match rules_rx {
            Some(rx) => {
                let clock = Clock::system();
                let engine = rules_engine::prepare(&config, &store, &clock)
                    .await?
                    .with_metrics(metrics.clone())
                    .with_live(alarms_live.clone());
                info!(
                    rules = config.rules.len(),
                    points = engine.len(),
                    receivers = config.receivers.len(),
                    "rules engine started"
                );
                let (handle, commands) = rules_engine::command_channel();
                let waker = notifier.waker();
                let task =
                    rules_engine::run(engine, rx, commands, store.clone(), clock, move || {
                        waker.wake()
                    });
                let task = essentials.spawn("rules engine", task);
                (Some(handle), Some(task))
            }
            None => (None, None),
        };
        let auth = std::sync::Arc::new(web::AuthState::with_store(
            config.auth.clone(),
            store.clone(),
        ));
        let pruner = tokio::spawn(prune_alarms(
            store.clone(),
            config.gateway.retention,
            auth.clone(),
        ));

        let listener = match listener {
            Some(l) => l,
            None => TcpListener::bind(config.gateway.listen)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {} (gateway.listen)",
                        config.gateway.listen
                    )
                })?,
        };
        let http_addr = listener.local_addr()?;
        let http_shutdown = CancellationToken::new();
        let app = web::router(AppState {
            shutdown: http_shutdown.clone(),
            live: live.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
            engine: engine_handle,
            auth: auth.clone(),
            base_path: std::sync::Arc::from(config.gateway.base_path.as_str()),
            alarms: alarms_live,
            failed: failed.clone(),
        });
        let limits = web::Limits {
            header_timeout: config.gateway.header_timeout,
            body_timeout: config.gateway.body_timeout,
            max_connections: config.gateway.max_connections,
        };
        let serve = web::serve(
            listener,
            app,
            limits,
            metrics.clone(),
            http_shutdown.clone(),
        );
        let http = essentials.spawn("HTTP server", serve);

        let resume = store.last_diag_records().await?;
        let devices = crate::devices::spawn_all(&config.devices, &hub, &shutdown, &resume);
        info!(http = %http_addr, devices = devices.len(), database = %config.gateway.database.display(), "gateway started");
        started.disarm();
        Ok(Self {
            http_addr,
            live,
            store,
            metrics,
            hub,
            shutdown,
            devices,
            writer,
            follower,
            rules,
            notifier,
            pruner,
            http,
            http_shutdown,
            failed,
        })
    }

    /// Resolves, with what happened, when a task the gateway cannot do without has ended
    /// while it runs (see [`essential`]); pending while the gateway is healthy.
    pub async fn failed(&self) -> String {
        let mut failed = self.failed.clone();
        match failed.wait_for(Option::is_some).await {
            Ok(why) => why.clone().unwrap_or_default(),
            // The senders live in the tasks; with all of them gone nothing can fail any more.
            Err(_) => std::future::pending().await,
        }
    }

    /// A clone of the hub, to publish (tests) or follow (live streams). Drop it before
    /// [`Gateway::shutdown`]: the history is flushed when the last publisher is gone.
    pub fn hub(&self) -> Hub {
        self.hub.clone()
    }

    /// Stops polling, stops the HTTP server, flushes the history and closes it.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        // Device tasks stop at their next await; the limit only guards against a stuck one.
        let devices = &mut self.devices;
        let stopped = tokio::time::timeout(Duration::from_secs(5), async {
            while devices.join_next().await.is_some() {}
        })
        .await;
        if stopped.is_err() {
            warn!("device tasks still running 5s after shutdown; aborting them");
            self.devices.abort_all();
        }
        self.http_shutdown.cancel();
        // A failed server is reported and the rest still runs: the history must be flushed.
        match tokio::time::timeout(Duration::from_secs(3), &mut self.http).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => warn!(error = %e, "HTTP server failed"),
            Ok(Err(e)) => warn!(error = %e, "HTTP server task failed"),
            Err(_) => {
                warn!("HTTP connections still open after 3s; closing them");
                self.http.abort();
            }
        }
        // Every publisher is gone once the hub is dropped: the subscribers drain and finish.
        drop(self.hub);
        let flushed = tokio::time::timeout(FLUSH_TIMEOUT, self.writer).await;
        // The rules engine commits what the last observations caused, then ends.
        if let Some(rules) = self.rules
            && tokio::time::timeout(FLUSH_TIMEOUT, rules).await.is_err()
        {
            warn!("rules engine did not finish within {FLUSH_TIMEOUT:?}");
        }
        // Undelivered notifications stay in the outbox for the next start.
        self.notifier.stop().await;
        self.pruner.abort();
        // The live view has nothing to save; it only must not outlive the gateway.
        self.follower.abort();
        self.store.close().await;
        match flushed {
            Ok(r) => r.context("store writer task")?.context("store writer")?,
            Err(_) => anyhow::bail!(
                "store writer did not finish within {FLUSH_TIMEOUT:?}; the last batch may be lost"
            ),
        }
        info!("gateway stopped; history flushed");
        Ok(())
    }
}

/// Deletes finished alarms, their journal and delivered notifications older than the
/// retention, and expired login sessions, once an hour (the store writer does the same for
/// the history).
async fn prune_alarms(store: Store, retention: Duration, auth: std::sync::Arc<web::AuthState>) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        auth.expire_sessions().await;
        // The config caps durations at 100 years; a cut-off out of range prunes nothing.
        let Some(cutoff) = chrono::Duration::from_std(retention)
            .ok()
            .and_then(|span| Utc::now().checked_sub_signed(span))
        else {
            return;
        };
        match store.prune_alarms(cutoff).await {
            Ok(0) => {}
            Ok(n) => info!(rows = n, "pruned old alarms and notifications"),
            Err(e) => warn!(error = %e, "cannot prune old alarms; will retry in an hour"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
        stop_first: bool,
    ) -> (Result<T, tokio::task::JoinError>, Option<String>) {
        let stopping = CancellationToken::new();
        if stop_first {
            stopping.cancel();
        }
        let (tx, rx) = watch::channel(None);
        let out = tokio::spawn(essential("rules engine", task, stopping, tx)).await;
        let failed = rx.borrow().clone();
        (out, failed)
    }

    #[tokio::test]
    async fn an_essential_task_that_ends_while_the_gateway_runs_is_a_failure() {
        let (out, failed) = run(async { 7 }, false).await;
        assert_eq!(out.ok(), Some(7));
        assert_eq!(failed.as_deref(), Some("the rules engine stopped"));

        let (out, failed) = run(async { panic!("bug") }, false).await;
        assert!(
            out.is_err_and(|e| e.is_panic()),
            "the panic goes on to the join handle"
        );
        assert_eq!(failed.as_deref(), Some("the rules engine panicked"));
    }

    #[tokio::test]
    async fn ending_on_shutdown_is_not_a_failure_and_the_first_failure_is_kept() {
        let (out, failed) = run(async { 7 }, true).await;
        assert_eq!(out.ok(), Some(7));
        assert_eq!(failed, None);

        let (tx, rx) = watch::channel(None);
        let running = CancellationToken::new();
        essential("store writer", async {}, running.clone(), tx.clone()).await;
        essential("HTTP server", async {}, running, tx).await;
        assert_eq!(rx.borrow().as_deref(), Some("the store writer stopped"));
    }
}
