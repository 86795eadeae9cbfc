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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Observation;

    fn failed(n: u32) -> Observation {
        Observation::PollFailed {
            device: "d".into(),
            kind: "timeout",
            consecutive_failures: n,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_lossless_subscriber_makes_the_publisher_wait_and_loses_nothing() {
        let metrics = Metrics::new();
        let mut b = HubBuilder::new(metrics.clone());
        let mut store = b.subscribe_lossless("store", 2);
        let hub = b.build();
        let publisher = tokio::spawn({
            let hub = hub.clone();
            async move {
                for n in 0..10 {
                    hub.publish(failed(n)).await;
                }
            }
        });
        // A slow consumer: the publisher can only be two messages ahead of it.
        let mut got = Vec::new();
        while got.len() < 10 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let Some(m) = store.recv().await else { break };
            if let Observation::PollFailed {
                consecutive_failures,
                ..
            } = &*m
            {
                got.push(*consecutive_failures);
            }
        }
        assert!(publisher.await.is_ok());
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        let text = metrics.encode().unwrap_or_default();
        assert!(
            text.contains("plcdiag_hub_blocked_sends_total{name=\"store\"}"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_lagging_live_stream_never_blocks_the_publisher() {
        let hub = HubBuilder::new(Metrics::new()).build();
        let mut live = hub.subscribe_lossy();
        // Far more than the broadcast capacity, with nobody reading: publish still returns.
        for n in 0..5000 {
            hub.publish(failed(n)).await;
        }
        assert!(matches!(
            live.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
        // After the lag notice the receiver continues with the newest messages.
        assert!(live.recv().await.is_ok());
    }
}
