//! The engine task: observations, timers and operator commands in, journalled changes out.
//!
//! Invariants:
//! - A change reaches the outbox, the log, the live pages and the operator's reply only once
//!   its transaction committed: nothing is announced that the journal does not hold.
//! - Changes are journalled in the order the engine made them. While the journal cannot be
//!   written (a full disk), the engine keeps evaluating, holds its changes in order (at most
//!   [`MAX_UNJOURNALLED`]; past that it stops taking observations and the hub makes polling
//!   wait), names the fault in the store's faults and retries with back-off; when a commit
//!   succeeds everything held is journalled in one transaction.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tracing::{error, info};

use super::{
    Action, AlarmChange, AlarmState, Clock, Command, CommandReceiver, Engine, EngineError, Notice,
    Transition,
};
use crate::hub::Message;
use crate::metrics::Metrics;
use crate::store::fault::{LogLine, Retry};
use crate::store::{FaultKind, Store};

/// Who reports the engine's faults (see [`crate::store::fault`]).
const COMPONENT: &str = "rules engine";
/// The most changes held while the journal cannot be written.
const MAX_UNJOURNALLED: usize = 10_000;
/// How long the engine keeps trying to journal what it holds once the hub has closed.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Runs the engine until the hub's publishers are gone: observations, timers and commands in,
/// committed changes out; `committed` is called after each commit that created outbox rows.
pub async fn run(
    mut engine: Engine,
    mut observations: mpsc::Receiver<Message>,
    CommandReceiver(mut commands): CommandReceiver,
    store: Store,
    clock: Clock,
    committed: impl Fn() + Send,
) {
    let mut journal = Journal {
        store,
        committed,
        metrics: engine.metrics.clone(),
        live: engine.notices.clone(),
        held: Vec::new(),
        replies: Vec::new(),
        started: None,
        retry: Retry::default(),
    };
    journal.add(engine.start(clock.now()), Instant::now(), None);
    journal.write().await;
    let mut counted = engine.evaluations();
    let mut commands_open = true;
    loop {
        // Timers first when due, so a stream of observations cannot starve them.
        if engine.next_deadline().is_some_and(|t| t <= clock.now()) {
            let started = Instant::now();
            journal.add(engine.tick(clock.now()), started, None);
        }
        if journal.due() {
            journal.write().await;
        }
        let deadline = engine.next_deadline().map(|t| clock.instant_at(t));
        tokio::select! {
            biased;
            cmd = commands.recv(), if commands_open => {
                let Some(cmd) = cmd else { commands_open = false; continue };
                let started = Instant::now();
                let Command { id, action, user, note, reply } = cmd;
                match command(&mut engine, &journal.store, id, action, &user, note.as_deref(), clock.now()).await {
                    Ok(changes) => journal.add(changes, started, Some(reply)),
                    // The caller may have gone (request cancelled).
                    Err(e) => { let _ = reply.send(Err(e)); }
                }
            }
            msg = observations.recv(), if journal.held.len() < MAX_UNJOURNALLED => {
                let Some(msg) = msg else { break };
                let started = Instant::now();
                journal.add(engine.observe(&msg, clock.now()), started, None);
            }
            () = sleep_until(deadline) => {
                let started = Instant::now();
                journal.add(engine.tick(clock.now()), started, None);
            }
            () = journal.wait() => {
                // Full and failing, the engine takes no observations: notice a shutdown all the same.
                if journal.held.len() >= MAX_UNJOURNALLED && observations.is_closed() {
                    while let Ok(msg) = observations.try_recv() {
                        journal.add(engine.observe(&msg, clock.now()), Instant::now(), None);
                    }
                    break;
                }
            }
        }
        if journal.due() {
            journal.write().await;
        }
        if let Some(m) = &journal.metrics {
            let n = engine.evaluations();
            m.rule_evaluations(n - counted);
            counted = n;
        }
    }
    journal.close().await;
    info!(points = engine.len(), "rules engine stopped");
}

/// Applies an operator command; the changes it makes.
async fn command(
    engine: &mut Engine,
    store: &Store,
    id: i64,
    action: Action,
    user: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<AlarmChange>, EngineError> {
    let result = match action {
        Action::Acknowledge => engine.acknowledge(id, user, note, now),
        Action::Shelve(d) => engine.shelve(id, d, user, note, now),
        Action::Unshelve => engine.unshelve(id, user, note, now),
    };
    match result {
        Err(EngineError::NotFound(id)) => {
            let ack = matches!(action, Action::Acknowledge).then_some((user, note));
            not_current(engine, store, id, ack, now).await
        }
        other => other,
    }
}

/// A command for an alarm that no point holds: an older activation (refused: finished), or an
/// open alarm whose rule or device was removed from the config, which an acknowledgement
/// closes (nothing else could ever close it).
async fn not_current(
    engine: &Engine,
    store: &Store,
    id: i64,
    ack: Option<(&str, Option<&str>)>,
    now: DateTime<Utc>,
) -> Result<Vec<AlarmChange>, EngineError> {
    let row = store
        .alarm(id)
        .await
        .map_err(|e| EngineError::Store(e.to_string()))?
        .ok_or(EngineError::NotFound(id))?;
    let orphan = !engine.has_point(&row.rule, &row.device);
    let open = row.active || !row.acked || row.state != AlarmState::Normal;
    match ack {
        Some((user, note)) if orphan && open => {
            let notice = Notice {
                journal_id: 0,
                alarm_id: id,
                rule: row.rule,
                device: row.device,
                driver: row.driver,
                priority: row.priority,
                transition: Transition::Acknowledged,
                state: AlarmState::Normal,
                active: false,
                acked: true,
                at: now,
                raised_at: row.raised_at,
                cleared_at: row.cleared_at.or(Some(now)),
                message: row.message,
                values: row.values,
                user: Some(user.to_owned()),
                note: note.map(str::to_owned),
                shelved_until: None,
            };
            let receivers = engine.route(&notice);
            Ok(vec![AlarmChange {
                notice,
                receivers,
                point: serde_json::Value::Null,
            }])
        }
        _ => Err(EngineError::NotCurrent(id)),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The engine's changes on their way into the journal (see the module docs).
struct Journal<F> {
    store: Store,
    committed: F,
    metrics: Option<Metrics>,
    live: Option<broadcast::Sender<Arc<Notice>>>,
    /// Changes not journalled yet, in order.
    held: Vec<AlarmChange>,
    /// Operators waiting for their changes to be journalled.
    replies: Vec<oneshot::Sender<Result<(), EngineError>>>,
    /// When the oldest held change was caused.
    started: Option<Instant>,
    /// While writes fail: when to try again.
    retry: Retry,
}

impl<F: Fn()> Journal<F> {
    fn add(
        &mut self,
        changes: Vec<AlarmChange>,
        started: Instant,
        reply: Option<oneshot::Sender<Result<(), EngineError>>>,
    ) {
        if let Some(r) = reply {
            self.replies.push(r);
        }
        if !changes.is_empty() {
            self.started.get_or_insert(started);
            self.held.extend(changes);
        }
    }

    /// Something to write, and not waiting out a failure.
    fn due(&self) -> bool {
        (!self.held.is_empty() || !self.replies.is_empty()) && self.retry.due()
    }

    /// Resolves when a retry is due (pending while nothing failed).
    async fn wait(&self) {
        if self.held.is_empty() {
            std::future::pending().await
        } else {
            self.retry.wait().await
        }
    }

    /// Commits everything held in one transaction; then announces it.
    async fn write(&mut self) {
        if !self.held.is_empty() {
            if let Err(e) = self.store.commit_alarm_changes(&mut self.held).await {
                self.failed(&e);
                return;
            }
            if self.retry.succeeded()
                && let Some(f) = self.store.faults().recovered(COMPONENT)
            {
                if let Some(m) = &self.metrics {
                    m.store_recovered(COMPONENT, f.kind);
                }
                info!(fault = f.kind.as_str(), since = %f.since, changes = self.held.len(), "rules engine: the alarm journal is writable again; journalled what was held");
            }
            self.announce();
        }
        for r in self.replies.drain(..) {
            // The caller may have gone (request cancelled); the change stands.
            let _ = r.send(Ok(()));
        }
    }

    fn failed(&mut self, e: &crate::store::Error) {
        let delay = self.retry.failed();
        let kind = FaultKind::of(e);
        if let Some(m) = &self.metrics {
            m.store_write_failed(COMPONENT, kind);
        }
        let held = self.held.len();
        if self.store.faults().failed(COMPONENT, e, held, Utc::now()) == LogLine::Due {
            error!(error = %e, fault = kind.as_str(), changes = held, retry_in = ?delay, "rules engine: cannot journal alarm changes; holding them and retrying (repeated every minute while it lasts)");
        }
    }

    /// Logs, counts, wakes the notifier and tells the live pages what was just journalled.
    fn announce(&mut self) {
        let changes = std::mem::take(&mut self.held);
        let started = self.started.take().unwrap_or_else(Instant::now);
        if let Some(m) = &self.metrics {
            let transitions: Vec<&str> = changes
                .iter()
                .map(|c| c.notice.transition.as_str())
                .collect();
            m.alarm_changes_committed(&transitions, started.elapsed());
        }
        for c in &changes {
            let n = &c.notice;
            info!(alarm = n.alarm_id, rule = %n.rule, device = %n.device, transition = %n.transition, state = %n.state, priority = %n.priority, "{}", n.message);
        }
        if changes.iter().any(|c| !c.receivers.is_empty()) {
            (self.committed)();
        }
        if let Some(live) = &self.live {
            for c in changes {
                // Nobody watching is fine.
                let _ = live.send(Arc::new(c.notice));
            }
        }
    }

    /// The hub closed: journal what is held, trying for [`CLOSE_WITHIN`].
    async fn close(&mut self) {
        let give_up = Instant::now() + CLOSE_WITHIN;
        loop {
            self.retry.due_now();
            self.write().await;
            if self.held.is_empty() {
                return;
            }
            if Instant::now() + Duration::from_millis(500) >= give_up {
                error!(
                    changes = self.held.len(),
                    "rules engine: stopped with alarm changes it could not journal; they are lost (the points resume from the journal at the next start)"
                );
                for r in self.replies.drain(..) {
                    let _ = r.send(Err(EngineError::Stopped));
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
