//! `GET /events`: the pages' live feed, as Server-Sent Events.
//!
//! Events:
//! - `devices`: a JSON array of device rows (as the overview renders them) that changed. The
//!   live view is read every 500 ms on the server, so a burst of observations becomes one
//!   event; the first event after (re)connecting carries every device.
//! - `alarm`: one committed alarm transition (the notice's JSON).
//! - `heartbeat`: every 15 s, so the page can tell a quiet feed from a dead one.
//! - `reload`: this browser fell behind the alarm broadcast and missed notices; the page
//!   reloads to get a consistent snapshot (the web's lossy subscription: a slow browser never
//!   slows the engine).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures::Stream;
use futures::stream::{self, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::overview::DeviceRow;
use super::{AppState, Lang, PageCtx};
use crate::live::Live;

/// How often the live view is compared with what this browser has.
const POLL: Duration = Duration::from_millis(500);
/// Heartbeat every this many polls (15 s).
const HEARTBEAT_EVERY: u32 = 30;
/// How long the browser waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

struct Feed {
    live: Live,
    lang: Lang,
    alarms: Option<broadcast::Receiver<std::sync::Arc<crate::rules::Notice>>>,
    sent: HashMap<String, DeviceRow>,
    tick: tokio::time::Interval,
    ticks: u32,
    first: bool,
}

/// `GET /events`.
pub(super) async fn events(
    State(state): State<AppState>,
    ctx: PageCtx,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed {
        live: state.live.clone(),
        lang: ctx.lang,
        alarms: Some(state.alarms.subscribe()),
        sent: HashMap::new(),
        tick,
        ticks: 0,
        first: true,
    };
    let stream = stream::unfold(feed, |mut feed| async move {
        let events = feed.next().await;
        Some((events, feed))
    })
    .flat_map(stream::iter)
    .map(Ok)
    .take_until(state.shutdown.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(30)))
}

impl Feed {
    /// The next events to send (never empty).
    async fn next(&mut self) -> Vec<Event> {
        loop {
            let alarm = async {
                match &mut self.alarms {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                got = alarm => match got {
                    Ok(notice) => return vec![alarm_event(&notice)],
                    Err(RecvError::Lagged(n)) => {
                        return vec![Event::default().event("reload").data(format!("missed {n} alarm notices"))];
                    }
                    // The engine is not running (or stopped): devices still update.
                    Err(RecvError::Closed) => self.alarms = None,
                },
                _ = self.tick.tick() => {
                    let mut events = Vec::new();
                    if let Some(e) = self.changed_devices() {
                        events.push(e);
                    }
                    self.ticks = self.ticks.wrapping_add(1);
                    if self.ticks.is_multiple_of(HEARTBEAT_EVERY) {
                        events.push(Event::default().event("heartbeat").data(super::overview::rfc3339(Utc::now())));
                    }
                    if !events.is_empty() {
                        return events;
                    }
                }
            }
        }
    }

    /// The rows that differ from what was sent; on the first call every row.
    fn changed_devices(&mut self) -> Option<Event> {
        let rows: Vec<DeviceRow> = self
            .live
            .devices(Utc::now())
            .iter()
            .map(|d| DeviceRow::new(d, self.lang))
            .filter(|r| self.sent.get(&r.name) != Some(r))
            .collect();
        let first = std::mem::take(&mut self.first);
        if rows.is_empty() && !first {
            return None;
        }
        for r in &rows {
            self.sent.insert(r.name.clone(), r.clone());
        }
        let data = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into());
        let event = Event::default().event("devices").data(data);
        Some(if first { event.retry(RETRY) } else { event })
    }
}

fn alarm_event(notice: &crate::rules::Notice) -> Event {
    let data = serde_json::to_string(notice).unwrap_or_else(|_| "{}".into());
    Event::default()
        .event("alarm")
        .id(notice.journal_id.to_string())
        .data(data)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rules::{AlarmState, Notice, Priority, Transition};

    fn notice(id: i64) -> Arc<Notice> {
        let now = Utc::now();
        Arc::new(Notice {
            journal_id: id,
            alarm_id: id,
            rule: "r".into(),
            device: "d".into(),
            driver: "s7".into(),
            priority: Priority::High,
            transition: Transition::Raised,
            state: AlarmState::Unacknowledged,
            active: true,
            acked: false,
            at: now,
            raised_at: now,
            cleared_at: None,
            message: "m".into(),
            values: serde_json::Value::Null,
            user: None,
            note: None,
            shelved_until: None,
        })
    }

    fn feed(rx: broadcast::Receiver<Arc<Notice>>) -> Feed {
        Feed {
            live: Live::new(&[], Utc::now()),
            lang: Lang::En,
            alarms: Some(rx),
            sent: HashMap::new(),
            tick: tokio::time::interval(POLL),
            ticks: 0,
            first: true,
        }
    }

    #[tokio::test]
    async fn a_browser_that_fell_behind_the_alarm_broadcast_is_told_to_reload() {
        let (tx, rx) = broadcast::channel(2);
        let mut f = feed(rx);
        for id in 1..=5 {
            let _ = tx.send(notice(id));
        }
        let events = f.next().await;
        assert_eq!(events.len(), 1);
        // The lag is reported before anything else; then the newest notices follow.
        assert!(format!("{:?}", events[0]).contains("reload"), "{events:?}");
        let next = f.next().await;
        assert!(format!("{:?}", next[0]).contains("alarm"), "{next:?}");
    }

    #[tokio::test]
    async fn without_the_engine_the_feed_still_sends_device_snapshots() {
        let (tx, rx) = broadcast::channel(2);
        drop(tx);
        let mut f = feed(rx);
        let events = f.next().await;
        assert!(format!("{:?}", events[0]).contains("devices"), "{events:?}");
    }
}
