//! The live view: each device's current health and last values, as the API shows them.
//!
//! A lossless hub subscriber keeps it current; readers take a snapshot under a short read lock.
//! Ages and staleness are computed when read, so a value shown is never claimed fresher than it is.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::DeviceConfig;
use crate::hub::Message;
use crate::metrics::Metrics;
use crate::model::{
    DeviceName, DeviceStatus, DiagEvent, Health, HealthState, Observation, Quality,
};

/// Shared live state; cheap to clone.
#[derive(Clone, Default)]
pub struct Live {
    devices: Arc<RwLock<Devices>>,
}

#[derive(Default)]
struct Devices {
    order: Vec<DeviceName>,
    by_name: HashMap<DeviceName, DeviceLive>,
}

struct DeviceLive {
    config: Arc<DeviceConfig>,
    health: Health,
    values: Vec<Option<LastValue>>,
    status: DeviceStatus,
    last_diagnostic: Option<DiagEvent>,
}

/// A tag's last reading and when it was read.
#[derive(Clone)]
struct LastValue {
    value: Option<f64>,
    quality: Quality,
    at: DateTime<Utc>,
}

/// A device as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    /// Name.
    pub name: String,
    /// Kind (`modbus`, ...).
    pub kind: &'static str,
    /// Address as configured.
    pub address: String,
    /// False when the device is configured but not polled.
    pub enabled: bool,
    /// Poll interval in milliseconds.
    pub interval_ms: u64,
    /// Health.
    pub health: Health,
    /// Last value of each tag.
    pub values: Vec<ValueView>,
    /// CPU mode, identity, cycle times ... as far as the device kind reports them.
    pub status: DeviceStatus,
    /// The newest diagnostic event seen since the gateway started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_diagnostic: Option<DiagEvent>,
}

/// A device borrowed from the live view (see [`Live::map_devices`]).
#[derive(Debug, Clone, Copy)]
pub struct DeviceRef<'a> {
    /// Name.
    pub name: &'a str,
    /// Kind (`modbus`, ...).
    pub kind: &'static str,
    /// Address as configured.
    pub address: &'a str,
    /// Health.
    pub health: &'a Health,
    /// CPU mode, CC-Link networks ... as far as the device kind reports them.
    pub status: &'a DeviceStatus,
    /// The newest diagnostic event seen since the gateway started.
    pub last_diagnostic: Option<&'a DiagEvent>,
}

/// A tag's last value with its age.
#[derive(Debug, Clone, Serialize)]
pub struct ValueView {
    /// Tag name.
    pub tag: String,
    /// Engineering unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Last value read (`null` if never read or bad).
    pub value: Option<f64>,
    /// Quality and, when bad, the reason.
    #[serde(flatten)]
    pub quality: Quality,
    /// When it was read.
    pub at: Option<DateTime<Utc>>,
    /// How old it is now, in milliseconds.
    pub age_ms: Option<i64>,
}

impl Live {
    /// A live view of the configured devices, all health `unknown` as of `now`.
    pub fn new(devices: &[Arc<DeviceConfig>], now: DateTime<Utc>) -> Self {
        let mut d = Devices::default();
        for cfg in devices {
            d.order.push(cfg.name.clone());
            let health = Health {
                state: HealthState::Unknown,
                since: now,
                last_error: None,
                rtt: None,
                consecutive_failures: 0,
            };
            let values = vec![None; cfg.tags.len()];
            d.by_name.insert(
                cfg.name.clone(),
                DeviceLive {
                    config: cfg.clone(),
                    health,
                    values,
                    status: DeviceStatus::default(),
                    last_diagnostic: None,
                },
            );
        }
        Self {
            devices: Arc::new(RwLock::new(d)),
        }
    }

    /// Applies one observation.
    pub fn apply(&self, obs: &Observation) {
        let Ok(mut d) = self.devices.write() else {
            return;
        };
        let Some(dev) = d.by_name.get_mut(obs.device()) else {
            return;
        };
        match obs {
            Observation::Health { health, .. } => dev.health = health.clone(),
            Observation::Values {
                at, rtt, readings, ..
            } => {
                dev.health.rtt = Some(*rtt);
                for r in readings.iter() {
                    if let Some(slot) = dev.values.get_mut(r.tag) {
                        // A bad reading keeps the last good value visible, with the bad quality.
                        let value = r.value.or_else(|| slot.as_ref().and_then(|old| old.value));
                        *slot = Some(LastValue {
                            value,
                            quality: r.quality.clone(),
                            at: *at,
                        });
                    }
                }
            }
            Observation::Diagnostics { events, .. } => {
                if let Some(e) = events.last() {
                    dev.last_diagnostic = Some(e.clone());
                }
            }
            Observation::Status { update, .. } => dev.status.apply(update),
            Observation::PollFailed {
                consecutive_failures,
                ..
            } => dev.health.consecutive_failures = *consecutive_failures,
        }
    }

    /// All devices in config order, as of `now`.
    pub fn devices(&self, now: DateTime<Utc>) -> Vec<DeviceView> {
        let Ok(d) = self.devices.read() else {
            return Vec::new();
        };
        d.order
            .iter()
            .filter_map(|n| d.by_name.get(n).map(|dev| view(dev, now)))
            .collect()
    }

    /// `f` of every device in config order, borrowed under the read lock: for summaries of
    /// many devices (the overview, its live rows), which need neither tag values nor a copy of
    /// each status map. `f` runs under the lock, so keep it short.
    pub fn map_devices<T>(&self, mut f: impl FnMut(DeviceRef<'_>) -> T) -> Vec<T> {
        let Ok(d) = self.devices.read() else {
            return Vec::new();
        };
        d.order
            .iter()
            .filter_map(|n| d.by_name.get(n))
            .map(|dev| {
                f(DeviceRef {
                    name: &dev.config.name,
                    kind: dev.config.kind_name(),
                    address: &dev.config.address,
                    health: &dev.health,
                    status: &dev.status,
                    last_diagnostic: dev.last_diagnostic.as_ref(),
                })
            })
            .collect()
    }

    /// One device by name, as of `now`.
    pub fn device(&self, name: &str, now: DateTime<Utc>) -> Option<DeviceView> {
        let d = self.devices.read().ok()?;
        d.by_name.get(name).map(|dev| view(dev, now))
    }
}

fn view(dev: &DeviceLive, now: DateTime<Utc>) -> DeviceView {
    let cfg = &dev.config;
    let online = dev.health.state == HealthState::Online;
    let values = cfg
        .tags
        .iter()
        .zip(&dev.values)
        .map(|(tag, v)| {
            let (value, quality, at) = match v {
                None => (None, Quality::Bad("never read".into()), None),
                Some(last) => {
                    // Not refreshed by the last polls, or the device stopped answering: stale.
                    let late = now
                        .signed_duration_since(last.at)
                        .to_std()
                        .unwrap_or_default()
                        > cfg.poll.interval * 3;
                    let quality = match &last.quality {
                        Quality::Good if !online || late => Quality::Stale,
                        q => q.clone(),
                    };
                    (last.value, quality, Some(last.at))
                }
            };
            ValueView {
                tag: tag.name.clone(),
                unit: tag.unit.clone(),
                value,
                quality,
                at,
                age_ms: at.map(|at| now.signed_duration_since(at).num_milliseconds().max(0)),
            }
        })
        .collect();
    DeviceView {
        name: cfg.name.to_string(),
        kind: cfg.kind_name(),
        address: cfg.address.clone(),
        enabled: cfg.enabled,
        interval_ms: u64::try_from(cfg.poll.interval.as_millis()).unwrap_or(u64::MAX),
        health: dev.health.clone(),
        values,
        status: dev.status.clone(),
        last_diagnostic: dev.last_diagnostic.clone(),
    }
}

/// Keeps `live` and `metrics` current from a lossless hub subscription until the hub closes.
pub async fn follow(live: Live, metrics: Metrics, mut rx: mpsc::Receiver<Message>) {
    while let Some(obs) = rx.recv().await {
        match &*obs {
            Observation::Values {
                device,
                rtt,
                readings,
                ..
            } => metrics.poll_answered(device, *rtt, readings.len()),
            Observation::PollFailed { device, kind, .. } => metrics.poll_failed(device, kind),
            Observation::Health { device, health } => metrics.health(device, health.state),
            Observation::Diagnostics { device, events, .. } => {
                metrics.diagnostic_events(device, events.len())
            }
            Observation::Status { .. } => {}
        }
        live.apply(&obs);
    }
}
