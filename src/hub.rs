//! The hub: in-process fan-out of observations from device tasks to everything downstream.
//!
//! Each subscriber is registered with an explicit overflow policy (Vector's `WhenFull`):
//! - [`HubBuilder::subscribe_lossless`]: a bounded channel; a full channel makes the publisher
//!   wait. The store and the live view use it, because health transitions and samples must not
//!   be dropped. Waits are counted (`plcdiag_hub_blocked_sends_total`).
//! - [`Hub::subscribe_lossy`]: a broadcast channel for live streams to browsers; a receiver that
//!   lags loses messages (it sees `RecvError::Lagged` and should reload a snapshot), and never
//!   slows the device tasks.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use crate::metrics::Metrics;
use crate::model::Observation;

/// What subscribers receive: shared, so fan-out does not copy readings.
pub type Message = Arc<Observation>;

/// Registers subscribers before the device tasks start.
pub struct HubBuilder {
    lossless: Vec<(&'static str, mpsc::Sender<Message>)>,
    metrics: Metrics,
}

impl HubBuilder {
    /// A hub that counts its waits in `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self {
            lossless: Vec::new(),
            metrics,
        }
    }

    /// Adds a subscriber that never loses a message: publishers wait while its `capacity` is used up.
    pub fn subscribe_lossless(
        &mut self,
        name: &'static str,
        capacity: usize,
    ) -> mpsc::Receiver<Message> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.lossless.push((name, tx));
        rx
    }

    /// Finishes registration.
    pub fn build(self) -> Hub {
        let (lossy, _) = broadcast::channel(1024);
        Hub {
            inner: Arc::new(Inner {
                lossless: self.lossless,
                lossy,
                metrics: self.metrics,
            }),
        }
    }
}

/// The publishing side; cheap to clone, one per device task.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    lossless: Vec<(&'static str, mpsc::Sender<Message>)>,
    lossy: broadcast::Sender<Message>,
    metrics: Metrics,
}

impl Hub {
    /// Delivers `obs` to every subscriber, waiting for lossless ones that are full.
    pub async fn publish(&self, obs: Observation) {
        let msg = Arc::new(obs);
        for (name, tx) in &self.inner.lossless {
            match tx.try_send(msg.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(m)) => {
                    self.inner.metrics.hub_send_blocked(name);
                    // A closed subscriber has shut down; nothing to deliver to.
                    let _ = tx.send(m).await;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        // No receivers is fine: nobody is watching live.
        let _ = self.inner.lossy.send(msg);
    }

    /// A live-stream receiver that may lag (see the module docs).
    pub fn subscribe_lossy(&self) -> broadcast::Receiver<Message> {
        self.inner.lossy.subscribe()
    }
}
