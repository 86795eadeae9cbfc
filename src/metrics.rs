//! Prometheus metrics of the gateway, served at `/metrics`.
//!
//! Each event kind has one function here that records it, so the metric names live in one place.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::model::HealthState;
use crate::store::FaultKind;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabel {
    device: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    device: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReceiverLabel {
    receiver: String,
}

/// A receiver's notification counters so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyCounts {
    /// Notices the receiver accepted.
    pub delivered: u64,
    /// Failed attempts that were (or will be) retried.
    pub retried: u64,
    /// Notices dead-lettered (rejected for good, or unreadable).
    pub dead_lettered: u64,
}

fn receiver_label(receiver: &str) -> ReceiverLabel {
    ReceiverLabel {
        receiver: receiver.to_owned(),
    }
}

fn rtt_histogram() -> Histogram {
    // 0.5 ms .. ~8 s: loopback simulators up to slow serial lines.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The gateway's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Mutex<Registry>,
    polls: Family<DeviceLabel, Counter>,
    poll_errors: Family<ErrorLabels, Counter>,
    values: Family<DeviceLabel, Counter>,
    rtt: Family<DeviceLabel, Histogram, fn() -> Histogram>,
    up: Family<DeviceLabel, Gauge>,
    diag_events: Family<DeviceLabel, Counter>,
    hub_blocked: Family<NameLabel, Counter>,
    rows_written: Family<NameLabel, Counter>,
    store_batches: Counter,
    notify_delivered: Family<ReceiverLabel, Counter>,
    notify_retried: Family<ReceiverLabel, Counter>,
    notify_dead: Family<ReceiverLabel, Counter>,
    rule_evaluations: Counter,
    alarm_transitions: Family<TransitionLabel, Counter>,
    alarm_commit: Histogram,
    store_fault: Family<FaultLabels, Gauge>,
    store_write_failures: Family<FaultLabels, Counter>,
    store_held: Gauge,
    store_samples_dropped: Counter,
    http_refused: Counter,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    component: String,
    kind: String,
}

fn fault_labels(component: &str, kind: FaultKind) -> FaultLabels {
    FaultLabels {
        component: component.to_owned(),
        kind: kind.as_str().to_owned(),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabel {
    transition: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every plcdiag metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("plcdiag");
        let polls = Family::<DeviceLabel, Counter>::default();
        registry.register("polls", "Polls answered by the device", polls.clone());
        let poll_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "poll_errors",
            "Polls that failed, by failure kind",
            poll_errors.clone(),
        );
        let values = Family::<DeviceLabel, Counter>::default();
        registry.register("values_read", "Tag values read", values.clone());
        let rtt = Family::<DeviceLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            rtt_histogram as fn() -> Histogram,
        );
        registry.register(
            "poll_rtt_seconds",
            "Round-trip time of answered polls",
            rtt.clone(),
        );
        let up = Family::<DeviceLabel, Gauge>::default();
        registry.register(
            "device_up",
            "1 while the device answers, 0 otherwise",
            up.clone(),
        );
        let diag_events = Family::<DeviceLabel, Counter>::default();
        registry.register(
            "diagnostic_events",
            "Diagnostic events read from the device",
            diag_events.clone(),
        );
        let hub_blocked = Family::<NameLabel, Counter>::default();
        registry.register(
            "hub_blocked_sends",
            "Publishes that waited for a full lossless subscriber",
            hub_blocked.clone(),
        );
        let rows_written = Family::<NameLabel, Counter>::default();
        registry.register(
            "store_rows_written",
            "Rows written to the history, by table",
            rows_written.clone(),
        );
        let store_batches = Counter::default();
        registry.register(
            "store_batches",
            "Transactions committed by the store writer",
            store_batches.clone(),
        );
        let notify_delivered = Family::<ReceiverLabel, Counter>::default();
        registry.register(
            "notifications_delivered",
            "Alarm notices accepted by the receiver",
            notify_delivered.clone(),
        );
        let notify_retried = Family::<ReceiverLabel, Counter>::default();
        registry.register(
            "notification_retries",
            "Notification requests that failed and are retried",
            notify_retried.clone(),
        );
        let notify_dead = Family::<ReceiverLabel, Counter>::default();
        registry.register(
            "notifications_dead_lettered",
            "Alarm notices given up on: rejected by the receiver or unreadable",
            notify_dead.clone(),
        );
        let rule_evaluations = Counter::default();
        registry.register(
            "rule_evaluations",
            "Alarm rule conditions evaluated",
            rule_evaluations.clone(),
        );
        let alarm_transitions = Family::<TransitionLabel, Counter>::default();
        registry.register(
            "alarm_transitions",
            "Alarm transitions journalled, by transition",
            alarm_transitions.clone(),
        );
        // 0.1 ms .. ~1.6 s: from a fast SQLite commit to a stalled disk.
        let alarm_commit = Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        registry.register(
            "alarm_commit_seconds",
            "Time from an observation (or timer, or command) to its alarm changes being committed",
            alarm_commit.clone(),
        );
        let store_fault = Family::<FaultLabels, Gauge>::default();
        registry.register(
            "store_fault",
            "1 while a writer cannot write the history, by writer and fault kind (disk_full, io_error, ...)",
            store_fault.clone(),
        );
        let store_write_failures = Family::<FaultLabels, Counter>::default();
        registry.register(
            "store_write_failures",
            "Failed history transactions, by writer and fault kind",
            store_write_failures.clone(),
        );
        let store_held = Gauge::default();
        registry.register(
            "store_held_observations",
            "Observations the store writer holds in memory because the history cannot be written",
            store_held.clone(),
        );
        let store_samples_dropped = Counter::default();
        registry.register(
            "store_samples_dropped",
            "Tag-sample observations dropped because the history could not be written for too long",
            store_samples_dropped.clone(),
        );
        let http_refused = Counter::default();
        registry.register(
            "http_connections_refused",
            "HTTP connections closed at once because gateway.max_connections were open",
            http_refused.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                polls,
                poll_errors,
                values,
                rtt,
                up,
                diag_events,
                hub_blocked,
                rows_written,
                store_batches,
                notify_delivered,
                notify_retried,
                notify_dead,
                rule_evaluations,
                alarm_transitions,
                alarm_commit,
                store_fault,
                store_write_failures,
                store_held,
                store_samples_dropped,
                http_refused,
            }),
        }
    }

    /// An answered poll.
    pub fn poll_answered(&self, device: &str, rtt: Duration, values: usize) {
        let l = DeviceLabel {
            device: device.to_owned(),
        };
        self.inner.polls.get_or_create(&l).inc();
        self.inner.values.get_or_create(&l).inc_by(values as u64);
        self.inner.rtt.get_or_create(&l).observe(rtt.as_secs_f64());
    }

    /// Tag values read so far from `device`.
    pub fn values_read(&self, device: &str) -> u64 {
        self.inner
            .values
            .get_or_create(&DeviceLabel {
                device: device.to_owned(),
            })
            .get()
    }

    /// Failed polls so far of `device`, all kinds.
    pub fn polls_failed(&self, device: &str) -> u64 {
        [
            "connect_timeout",
            "connect",
            "timeout",
            "io",
            "serial",
            "protocol",
        ]
        .iter()
        .map(|kind| {
            let l = ErrorLabels {
                device: device.to_owned(),
                kind: (*kind).to_owned(),
            };
            self.inner.poll_errors.get_or_create(&l).get()
        })
        .sum()
    }

    /// A failed poll.
    pub fn poll_failed(&self, device: &str, kind: &str) {
        let l = ErrorLabels {
            device: device.to_owned(),
            kind: kind.to_owned(),
        };
        self.inner.poll_errors.get_or_create(&l).inc();
    }

    /// New diagnostic events from a device.
    pub fn diagnostic_events(&self, device: &str, n: usize) {
        let l = DeviceLabel {
            device: device.to_owned(),
        };
        self.inner.diag_events.get_or_create(&l).inc_by(n as u64);
    }

    /// A device's health changed.
    pub fn health(&self, device: &str, state: HealthState) {
        let l = DeviceLabel {
            device: device.to_owned(),
        };
        self.inner
            .up
            .get_or_create(&l)
            .set(i64::from(state == HealthState::Online));
    }

    /// A publish waited for the subscriber `name`.
    pub fn hub_send_blocked(&self, name: &str) {
        self.inner
            .hub_blocked
            .get_or_create(&NameLabel {
                name: name.to_owned(),
            })
            .inc();
    }

    /// The store writer committed a transaction with these row counts per table.
    pub fn store_committed(&self, rows: &[(&str, u64)]) {
        self.inner.store_batches.inc();
        for (table, n) in rows {
            self.inner
                .rows_written
                .get_or_create(&NameLabel {
                    name: (*table).to_owned(),
                })
                .inc_by(*n);
        }
    }

    /// `component` failed to write the history with a fault of `kind`.
    pub fn store_write_failed(&self, component: &str, kind: FaultKind) {
        let labels = fault_labels(component, kind);
        self.inner.store_write_failures.get_or_create(&labels).inc();
        for k in FaultKind::ALL {
            let on = i64::from(k == kind);
            self.inner
                .store_fault
                .get_or_create(&fault_labels(component, k))
                .set(on);
        }
    }

    /// `component` wrote again after a fault of `kind`.
    pub fn store_recovered(&self, component: &str, kind: FaultKind) {
        self.inner
            .store_fault
            .get_or_create(&fault_labels(component, kind))
            .set(0);
    }

    /// The store writer holds `n` observations it could not write yet.
    pub fn store_held(&self, n: usize) {
        self.inner
            .store_held
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// `n` tag-sample observations were dropped from what the store writer held.
    pub fn store_samples_dropped(&self, n: u64) {
        self.inner.store_samples_dropped.inc_by(n);
    }

    /// An HTTP connection was closed at once: the connection limit was reached.
    pub fn http_connection_refused(&self) {
        self.inner.http_refused.inc();
    }

    /// `n` notices delivered to `receiver`.
    pub fn notices_delivered(&self, receiver: &str, n: usize) {
        self.inner
            .notify_delivered
            .get_or_create(&receiver_label(receiver))
            .inc_by(n as u64);
    }

    /// A request to `receiver` failed and will be retried.
    pub fn notification_retried(&self, receiver: &str) {
        self.inner
            .notify_retried
            .get_or_create(&receiver_label(receiver))
            .inc();
    }

    /// `n` notices to `receiver` dead-lettered.
    pub fn notices_dead_lettered(&self, receiver: &str, n: usize) {
        self.inner
            .notify_dead
            .get_or_create(&receiver_label(receiver))
            .inc_by(n as u64);
    }

    /// `receiver`'s notification counters so far.
    pub fn notify_counts(&self, receiver: &str) -> NotifyCounts {
        let l = receiver_label(receiver);
        NotifyCounts {
            delivered: self.inner.notify_delivered.get_or_create(&l).get(),
            retried: self.inner.notify_retried.get_or_create(&l).get(),
            dead_lettered: self.inner.notify_dead.get_or_create(&l).get(),
        }
    }

    /// The rules engine evaluated `n` more conditions.
    pub fn rule_evaluations(&self, n: u64) {
        self.inner.rule_evaluations.inc_by(n);
    }

    /// Alarm changes were committed, `took` after their cause arrived.
    pub fn alarm_changes_committed(&self, transitions: &[&str], took: Duration) {
        for t in transitions {
            self.inner
                .alarm_transitions
                .get_or_create(&TransitionLabel {
                    transition: (*t).to_owned(),
                })
                .inc();
        }
        self.inner.alarm_commit.observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        let registry = self.inner.registry.lock().map_err(|_| std::fmt::Error)?;
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}
