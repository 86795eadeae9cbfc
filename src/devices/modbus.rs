//! Modbus adapter: maps plcdiag-modbus replies to the gateway model.
//!
//! The read plan is made once from the configured tags. A Modbus exception for one request is
//! the device answering ("online, but this value is bad"), while a timeout or a broken
//! connection is a failed poll that drops the connection.

use std::time::Duration;

use plcdiag_modbus::{Client, Error, ReadRequest, plan};

use super::{PollError, ResolveError};
use crate::config::{ModbusDevice, ModbusTransport, Scaling};
use crate::model::{Quality, TagReading};

/// Polls one Modbus device.
pub struct ModbusPoller {
    cfg: ModbusDevice,
    scaling: Vec<Scaling>,
    timeout: Duration,
    requests: Vec<ReadRequest>,
    client: Option<Client>,
}

impl ModbusPoller {
    /// A poller for `cfg` with one scaling per tag, not connected yet.
    pub fn new(cfg: ModbusDevice, scaling: Vec<Scaling>, timeout: Duration) -> Self {
        let requests = plan(&cfg.points, &cfg.limits);
        Self {
            cfg,
            scaling,
            timeout,
            requests,
            client: None,
        }
    }

    /// Number of Modbus requests one poll makes.
    pub fn requests_per_poll(&self) -> usize {
        self.requests.len()
    }

    /// Reads every tag once.
    pub async fn poll(&mut self) -> Result<Vec<TagReading>, PollError> {
        let client = match &mut self.client {
            Some(c) => c,
            None => self.client.insert(connect(&self.cfg, self.timeout).await?),
        };
        let results = match client.read_points(&self.requests, &self.cfg.points).await {
            Ok(r) => r,
            Err(e) => {
                // A half-read stream must never be reused: reconnect on the next poll.
                self.client = None;
                return Err(poll_error(&e));
            }
        };
        let mut readings: Vec<TagReading> = (0..self.cfg.points.len())
            .map(|tag| TagReading {
                tag,
                value: None,
                quality: Quality::Bad("not in any read request".into()),
            })
            .collect();
        for (i, r) in results {
            let Some(slot) = readings.get_mut(i) else {
                continue;
            };
            match r {
                Ok(v) => {
                    let scaled = self
                        .scaling
                        .get(i)
                        .map_or(v.as_f64(), |s| s.apply(v.as_f64()));
                    slot.value = Some(scaled);
                    slot.quality = Quality::Good;
                }
                Err(e) => slot.quality = Quality::Bad(e.to_string()),
            }
        }
        Ok(readings)
    }
}

async fn connect(cfg: &ModbusDevice, timeout: Duration) -> Result<Client, PollError> {
    match &cfg.transport {
        ModbusTransport::Tcp { host, port } => {
            let addr = super::resolve(host, *port, timeout)
                .await
                .map_err(|e| match e {
                    ResolveError::Timeout(d) => PollError {
                        kind: "connect_timeout",
                        message: format!("resolving {host} took longer than {d:?}"),
                    },
                    ResolveError::Failed(e) => PollError {
                        kind: "connect",
                        message: e.to_string(),
                    },
                })?;
            Client::connect_tcp(addr, cfg.unit_id, timeout)
                .await
                .map_err(|e| poll_error(&e))
        }
        ModbusTransport::Rtu(settings) => {
            Client::open_rtu(settings, cfg.unit_id, timeout).map_err(|e| poll_error(&e))
        }
    }
}

fn poll_error(e: &Error) -> PollError {
    let kind = match e {
        Error::ConnectTimeout(_) => "connect_timeout",
        Error::Connect(_) => "connect",
        Error::ResponseTimeout(_) => "timeout",
        Error::Io(_) => "io",
        Error::Serial(_) => "serial",
        _ => "protocol",
    };
    PollError {
        kind,
        message: e.to_string(),
    }
}
