//! Device tasks: one per enabled device, each with its own poll schedule and connection.
//!
//! A task polls at its interval, feeds each outcome to its [`DeviceHealth`] state machine and
//! publishes what changed to the hub. Devices share nothing but the hub, so a device that never
//! answers only ever waits on its own timeout. A task that panics is logged, shown offline and
//! restarted by its supervisor; it never takes the gateway or another device down.

mod melsec;
mod modbus;
mod s7;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{DeviceConfig, DeviceKind};
use crate::health::{DeviceHealth, HealthPolicy};
use crate::hub::Hub;
use crate::model::{
    DeviceName, DiagEvent, Health, HealthState, Observation, StatusUpdate, TagReading,
};

pub use melsec::MelsecPoller;
pub use modbus::ModbusPoller;
pub use s7::S7Poller;

/// What a device task gets from the gateway (Vector's `SourceContext`, minus the plugins).
#[derive(Clone)]
pub struct DeviceContext {
    /// The device's name.
    pub name: DeviceName,
    /// Where observations go.
    pub hub: Hub,
    /// Cancelled when the gateway shuts down.
    pub shutdown: CancellationToken,
    /// The newest diagnostic record already in the history, where diagnostic polling resumes.
    pub resume: Option<Vec<u8>>,
}

/// What one answered poll produced.
#[derive(Debug, Default)]
pub struct PollOutput {
    /// One reading per configured tag, in tag order.
    pub readings: Vec<TagReading>,
    /// Diagnostic events not reported before, oldest first.
    pub diagnostics: Vec<DiagEvent>,
    /// Status parts that changed (or are read on a slower schedule).
    pub status: Vec<StatusUpdate>,
    /// `diagnostics` is the device's backlog: the first read of a device with no history,
    /// reporting what happened before the gateway watched (see [`Observation::Diagnostics`]).
    /// Set once per poller, on its first diagnostic read, even when that read found nothing.
    pub backlog: bool,
}

/// A failed poll: a short stable kind (for metrics) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollError {
    /// `connect_timeout`, `connect`, `timeout`, `io`, `protocol`, ...
    pub kind: &'static str,
    /// What happened, naming the device's answer or the failure.
    pub message: String,
}

/// Why a device's host name gave no address.
#[derive(Debug)]
pub enum ResolveError {
    /// The lookup took longer than the device's timeout (a DNS server that does not answer
    /// must not hold up a poll longer than a device that does not).
    Timeout(Duration),
    /// The name does not resolve, or has no address.
    Failed(std::io::Error),
}

impl ResolveError {
    fn failed(host: &str, why: impl std::fmt::Display) -> Self {
        Self::Failed(std::io::Error::other(format!(
            "cannot resolve {host}: {why}"
        )))
    }
}

/// Resolves `host:port` to its first address within `timeout`.
pub async fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<std::net::SocketAddr, ResolveError> {
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(ResolveError::Timeout(timeout)),
        Ok(Err(e)) => Err(ResolveError::failed(host, e)),
        Ok(Ok(mut addrs)) => addrs
            .next()
            .ok_or_else(|| ResolveError::failed(host, "no address")),
    }
}

/// The protocol side of a device task: connects on demand, polls once, drops the connection
/// after any communication error so the next poll reconnects.
pub enum Poller {
    /// A Modbus device.
    Modbus(ModbusPoller),
    /// A Siemens S7 CPU.
    S7(Box<S7Poller>),
    /// A Mitsubishi MELSEC PLC.
    Melsec(Box<MelsecPoller>),
}

impl Poller {
    /// The poller for a configured device.
    pub fn new(cfg: &DeviceConfig, resume: Option<Vec<u8>>) -> Self {
        let scaling = cfg.tags.iter().map(|t| t.scaling).collect();
        match &cfg.kind {
            DeviceKind::Modbus(m) => {
                Self::Modbus(ModbusPoller::new(m.clone(), scaling, cfg.poll.timeout))
            }
            DeviceKind::S7(s) => Self::S7(Box::new(S7Poller::new(s.clone(), scaling, resume))),
            DeviceKind::Melsec(m) => Self::Melsec(Box::new(MelsecPoller::new(
                m.clone(),
                scaling,
                resume.is_none(),
            ))),
        }
    }

    /// Polls the device once.
    pub async fn poll(&mut self) -> Result<PollOutput, PollError> {
        match self {
            Self::Modbus(p) => p.poll().await.map(|readings| PollOutput {
                readings,
                ..PollOutput::default()
            }),
            Self::S7(p) => p.poll().await,
            Self::Melsec(p) => p.poll().await,
        }
    }
}

/// Spawns a supervised task for every enabled device.
pub fn spawn_all(
    devices: &[Arc<DeviceConfig>],
    hub: &Hub,
    shutdown: &CancellationToken,
    resume: &HashMap<String, Vec<u8>>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for cfg in devices.iter().filter(|d| d.enabled) {
        let ctx = DeviceContext {
            name: cfg.name.clone(),
            hub: hub.clone(),
            shutdown: shutdown.clone(),
            resume: resume.get(&*cfg.name).cloned(),
        };
        set.spawn(supervise(cfg.clone(), ctx));
    }
    set
}

/// Runs a device task and restarts it if it panics.
async fn supervise(cfg: Arc<DeviceConfig>, ctx: DeviceContext) {
    loop {
        let task = tokio::spawn(run(cfg.clone(), ctx.clone()));
        match task.await {
            Ok(()) => return,
            Err(e) => {
                let message = if e.is_panic() {
                    "internal error: device task panicked"
                } else {
                    "device task cancelled"
                };
                error!(device = %ctx.name, "{message}; restarting it in 1s");
                ctx.hub
                    .publish(Observation::Health {
                        device: ctx.name.clone(),
                        health: Health {
                            state: HealthState::Offline,
                            since: Utc::now(),
                            last_error: Some(message.into()),
                            rtt: None,
                            consecutive_failures: 0,
                        },
                    })
                    .await;
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

/// The poll loop of one device, until shutdown.
pub async fn run(cfg: Arc<DeviceConfig>, ctx: DeviceContext) {
    let policy = HealthPolicy {
        interval: cfg.poll.interval,
        demote_after: cfg.poll.demote_after,
        demote_for: cfg.poll.demote_for,
    };
    let mut health = DeviceHealth::new(policy, Instant::now());
    let mut shown: Option<Health> = None;
    let mut poller = Poller::new(&cfg, ctx.resume.clone());
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(health.next_poll_at()) => {}
        }
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            r = poller.poll() => r,
        };
        let now = Instant::now();
        let transition = match outcome {
            Ok(out) => {
                let rtt = now.duration_since(started);
                let t = health.on_success(rtt, now);
                let at = Utc::now();
                let device = || ctx.name.clone();
                for update in out.status {
                    if let StatusUpdate::CpuMode(m) = &update {
                        match m.mode.as_str() {
                            "RUN" => {
                                info!(device = %ctx.name, previous = m.previous.as_deref(), "CPU in RUN")
                            }
                            mode => {
                                warn!(device = %ctx.name, previous = m.previous.as_deref(), "CPU in {mode}")
                            }
                        }
                    }
                    ctx.hub
                        .publish(Observation::Status {
                            device: device(),
                            at,
                            update,
                        })
                        .await;
                }
                // An empty backlog is published too: it tells the rules engine that the
                // device's history starts now, so its next event is a new one.
                if !out.diagnostics.is_empty() || out.backlog {
                    let events = out.diagnostics.into();
                    ctx.hub
                        .publish(Observation::Diagnostics {
                            device: device(),
                            events,
                            backlog: out.backlog,
                        })
                        .await;
                }
                let readings = out.readings.into();
                ctx.hub
                    .publish(Observation::Values {
                        device: device(),
                        at,
                        rtt,
                        readings,
                    })
                    .await;
                t
            }
            Err(e) => {
                let t = health.on_failure(e.message, now);
                let failed = Observation::PollFailed {
                    device: ctx.name.clone(),
                    kind: e.kind,
                    consecutive_failures: health.consecutive_failures(),
                };
                ctx.hub.publish(failed).await;
                t
            }
        };
        if let Some(t) = transition {
            match t.to {
                HealthState::Online => info!(device = %ctx.name, from = %t.from, "device online"),
                HealthState::Demoted => warn!(
                    device = %ctx.name,
                    error = health.last_error().unwrap_or(""),
                    off_scan_for = ?cfg.poll.demote_for,
                    "device demoted after {} failed polls in a row",
                    health.consecutive_failures()
                ),
                _ => {
                    warn!(device = %ctx.name, error = health.last_error().unwrap_or(""), "device {}", t.to)
                }
            }
        }
        // Publish a health change on a new state, and on a new error while failing.
        let error_changed = shown
            .as_ref()
            .is_some_and(|s| s.last_error.as_deref() != health.last_error())
            && health.state() != HealthState::Online;
        if transition.is_some() || error_changed || shown.is_none() {
            let since = match (&shown, transition) {
                (Some(s), None) => s.since,
                _ => Utc::now(),
            };
            let h = Health {
                state: health.state(),
                since,
                last_error: health.last_error().map(str::to_owned),
                rtt: health.rtt(),
                consecutive_failures: health.consecutive_failures(),
            };
            ctx.hub
                .publish(Observation::Health {
                    device: ctx.name.clone(),
                    health: h.clone(),
                })
                .await;
            shown = Some(h);
        }
    }
}
