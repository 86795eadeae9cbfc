//! `GET /events`: the pages' live feed, as Server-Sent Events. `GET /events?device=NAME&key=KEY`
//! is the device page's feed: the same events plus `device` for that one device. `KEY` is the
//! page's `data-live-key`, what the page showed when it was rendered, so a change between the
//! render and the connection is not missed. An unknown name just never gets a `device` event.
//!
//! Events:
//! - `devices`: a JSON array of device rows (as the overview renders them) that changed. The
//!   live view is read every 500 ms on the server, so a burst of observations becomes one
//!   event; the first event after (re)connecting carries every device.
//! - `device`: `{"device": NAME, "why": "state"|"values"|"again"}`: what the device page shows
//!   of NAME changed (`state`: health, mode, a new diagnostic or CPU error, CC-Link stations,
//!   modules, at most one event per [`STATE_GAP`]; `values`: round-trip time, tag values, cycle
//!   and link scan times alone, at most one per [`VALUES_GAP`]). `again` follows a `state`
//!   event once, [`STATE_GAP`] later, for rows the store committed after the first refetch.
//!   The page then fetches itself again; the event carries no HTML.
//! - `alarm`: one committed alarm transition (the notice's JSON).
//! - `fault`: the text of the banner every page shows while the gateway is not whole (the
//!   history cannot be written, a task it needs has ended), `""` when that is over; sent on
//!   connecting and whenever it changes.
//! - `heartbeat`: every 15 s, so the page can tell a quiet feed from a dead one.
//! - `reload`: this browser fell behind the alarm broadcast and missed notices; the page
//!   reloads to get a consistent snapshot (the web's lossy subscription: a slow browser never
//!   slows the engine).

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures::Stream;
use futures::stream::{self, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::overview::DeviceRow;
use super::{AppState, Lang, PageCtx};
use crate::live::{DeviceView, Live};

/// How often the live view is compared with what this browser has.
const POLL: Duration = Duration::from_millis(500);
/// Heartbeat every this many polls (15 s).
const HEARTBEAT_EVERY: u32 = 30;
/// How long the browser waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);
/// The shortest time between two `device` events to one browser: each makes the page render
/// again, with its store queries.
const STATE_GAP: Duration = Duration::from_millis(1500);
/// The shortest time between `device` events for changes of values only (round-trip time, tag
/// values, cycle and link scan times), which move with nearly every poll.
const VALUES_GAP: Duration = Duration::from_secs(5);

struct Feed {
    live: Live,
    failed: tokio::sync::watch::Receiver<Option<String>>,
    faults: crate::store::Faults,
    /// The fault banner's text as last sent (`None`: nothing sent yet).
    fault_sent: Option<Option<String>>,
    lang: Lang,
    alarms: Option<broadcast::Receiver<std::sync::Arc<crate::rules::Notice>>>,
    sent: HashMap<String, DeviceRow>,
    tick: tokio::time::Interval,
    ticks: u32,
    first: bool,
    /// The device a device page shows.
    page: Option<Watched>,
}

/// The device a device page shows, and what that page has of it.
struct Watched {
    name: String,
    /// What the page shows (or will show once it has refetched itself); `None` until known.
    shown: Option<PageKey>,
    /// Changes the page has not been told of yet.
    state_changed: bool,
    values_changed: bool,
    last_sent: Option<Instant>,
    /// One more refetch after a state change: the page reads diagnostics and timelines from
    /// the store, which may commit a moment after the live view changed.
    again_at: Option<Instant>,
}

/// Why a device page is told to refetch itself (the `why` of a `device` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Health, mode, a diagnostic, stations or modules changed.
    State,
    /// Only values moved.
    Values,
    /// The follow-up of a state change, for what the store had not committed yet.
    Again,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Values => "values",
            Self::Again => "again",
        }
    }
}

impl Watched {
    fn new(name: String, shown: Option<PageKey>) -> Self {
        Self {
            name,
            shown,
            state_changed: false,
            values_changed: false,
            last_sent: None,
            again_at: None,
        }
    }

    /// Notes the device as it is now; `Some` when the page should refetch itself now.
    fn update(&mut self, now_key: PageKey, now: Instant) -> Option<Why> {
        if let Some(shown) = self.shown {
            self.state_changed |= shown.state != now_key.state;
            self.values_changed |= shown.values != now_key.values;
        }
        self.shown = Some(now_key);
        let (why, gap) = if self.state_changed {
            (Why::State, STATE_GAP)
        } else if self.values_changed {
            (Why::Values, VALUES_GAP)
        } else if self.again_at.is_some_and(|t| now >= t) {
            (Why::Again, Duration::ZERO)
        } else {
            return None;
        };
        if self.last_sent.is_some_and(|t| now.duration_since(t) < gap) {
            return None;
        }
        self.state_changed = false;
        self.values_changed = false;
        self.last_sent = Some(now);
        // Any refetch now covers an earlier follow-up; a state change asks for a new one.
        self.again_at = (why == Why::State).then(|| now + STATE_GAP);
        Some(why)
    }
}

/// What a device page shows of a device's live view, as two fingerprints: `state` for what
/// should reach the page soon (health, mode, the newest diagnostic or CPU error, CC-Link
/// stations, modules, identity), `values` for what moves with nearly every poll (round-trip
/// time, tag values and qualities, cycle and link scan times). Ages are left out: they change
/// every moment and come along with any refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PageKey {
    state: u64,
    values: u64,
}

impl PageKey {
    /// The fingerprints of `d`; the page renders them as `data-live-key`.
    pub(super) fn of(d: &DeviceView) -> Self {
        // A network's link scan time moves with every read and its retry counter is not shown:
        // the station map is the state, the link scan a value.
        let mut networks = d.status.networks.clone();
        let link_scan: Vec<serde_json::Value> = networks
            .values_mut()
            .filter_map(|n| {
                let n = n.as_object_mut()?;
                n.remove("retries");
                n.remove("link_scan")
            })
            .collect();
        let diag = d
            .last_diagnostic
            .as_ref()
            .map(|e| (e.gateway_time, e.event_id, e.entering, &e.raw));
        let state = serde_json::json!({
            "health": d.health.state.as_str(),
            "since": d.health.since,
            "error": d.health.last_error,
            "mode": d.status.cpu_mode,
            "identity": d.status.identity,
            "modules": d.status.modules,
            "unsupported": d.status.unsupported,
            "networks": networks,
            "diagnostic": diag,
        });
        let tags: Vec<_> = d
            .values
            .iter()
            .map(|v| (v.value.map(f64::to_bits), &v.quality))
            .collect();
        let values = serde_json::json!({
            // As the page shows it.
            "rtt": d.health.rtt.map(|r| format!("{:.1}", r.as_secs_f64() * 1000.0)),
            "tags": tags,
            "cycle": d.status.cycle_times,
            "link_scan": link_scan,
        });
        Self {
            state: fingerprint(&state),
            values: fingerprint(&values),
        }
    }

    /// Reads what [`PageKey`]'s `Display` wrote; anything else is `None`.
    pub(super) fn parse(s: &str) -> Option<Self> {
        let (state, values) = s.split_once('.')?;
        Some(Self {
            state: u64::from_str_radix(state, 16).ok()?,
            values: u64::from_str_radix(values, 16).ok()?,
        })
    }
}

impl fmt::Display for PageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}.{:016x}", self.state, self.values)
    }
}

/// A hash of `v`'s JSON text: the page and the feed run in one process, so the same hasher
/// gives the same number for the same view.
fn fingerprint(v: &serde_json::Value) -> u64 {
    let mut h = DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

/// `GET /events`.
pub(super) async fn events(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    ctx: PageCtx,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let page = q.get("device").map(|name| {
        let shown = q.get("key").and_then(|k| PageKey::parse(k));
        Watched::new(name.clone(), shown)
    });
    let feed = Feed {
        live: state.live.clone(),
        failed: state.failed.clone(),
        faults: state.store.faults().clone(),
        fault_sent: None,
        lang: ctx.lang,
        alarms: Some(state.alarms.subscribe()),
        sent: HashMap::new(),
        tick,
        ticks: 0,
        first: true,
        page,
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
                    if let Some(e) = self.changed_page() {
                        events.push(e);
                    }
                    if let Some(e) = self.changed_fault() {
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
        let lang = self.lang;
        let rows: Vec<DeviceRow> = self
            .live
            .map_devices(|d| DeviceRow::new(d, lang))
            .into_iter()
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

    /// A `fault` event when the banner's text changed (and on the first call).
    fn changed_fault(&mut self) -> Option<Event> {
        let now = super::fault_banner(&self.failed, &self.faults, self.lang);
        if self.fault_sent.as_ref() == Some(&now) {
            return None;
        }
        let data = now.clone().unwrap_or_default();
        self.fault_sent = Some(now);
        Some(Event::default().event("fault").data(data))
    }

    /// A `device` event when the watched device changed in what its page shows (throttled).
    fn changed_page(&mut self) -> Option<Event> {
        let page = self.page.as_mut()?;
        let view = self.live.device(&page.name, Utc::now())?;
        let why = page.update(PageKey::of(&view), Instant::now())?;
        let data = serde_json::json!({ "device": page.name, "why": why.as_str() }).to_string();
        Some(Event::default().event("device").data(data))
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
    use crate::model::{DiagEvent, Observation, Quality, TagReading};
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
            failed: tokio::sync::watch::channel(None).1,
            faults: crate::store::Faults::default(),
            fault_sent: None,
            lang: Lang::En,
            alarms: Some(rx),
            sent: HashMap::new(),
            tick: tokio::time::interval(POLL),
            ticks: 0,
            first: true,
            page: None,
        }
    }

    const PLANT: &str = "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"10.0.0.1\"\n\
                         [[devices.tags]]\nname = \"t\"\naddress = \"DB1.DBD0:REAL\"\n\n\
                         [[devices]]\nname = \"other\"\nkind = \"s7\"\naddress = \"10.0.0.2\"\n";

    fn plant() -> Live {
        let cfg = crate::config::parse(PLANT, std::path::Path::new("."))
            .unwrap_or_else(|p| panic!("{p:?}"));
        Live::new(&cfg.devices, Utc::now())
    }

    /// A feed for the device page of `name`, which shows the device as it is now.
    fn page_feed(live: &Live, name: &str) -> Feed {
        let (_tx, rx) = broadcast::channel(2);
        let shown = live.device(name, Utc::now()).map(|d| PageKey::of(&d));
        Feed {
            live: live.clone(),
            page: Some(Watched::new(name.to_owned(), shown)),
            ..feed(rx)
        }
    }

    fn diagnostic(device: &str, event_id: u16) -> Observation {
        Observation::Diagnostics {
            device: device.into(),
            backlog: false,
            events: Arc::from([DiagEvent {
                device_time: None,
                gateway_time: Utc::now(),
                event_id,
                class: 3,
                entering: Some(true),
                text: "Module error".into(),
                details: serde_json::Value::Null,
                raw: event_id.to_be_bytes().to_vec(),
            }]),
        }
    }

    fn answered(device: &str, rtt_ms: u64, value: f64) -> Observation {
        Observation::Values {
            device: device.into(),
            at: Utc::now(),
            rtt: Duration::from_millis(rtt_ms),
            readings: Arc::from([TagReading {
                tag: 0,
                value: Some(value),
                quality: Quality::Good,
            }]),
        }
    }

    /// Whether `e` is the `device` event for `name` sent for `why` (read from its debug form:
    /// the bytes sent).
    fn is_device_event(e: &Option<Event>, name: &str, why: &str) -> bool {
        let sent = format!(r#"event: device\ndata: {{\"device\":\"{name}\",\"why\":\"{why}\"}}\n"#);
        e.as_ref().is_some_and(|e| format!("{e:?}").contains(&sent))
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_diagnostic_of_the_shown_device_sends_a_device_event_and_others_do_not() {
        let live = plant();
        let mut f = page_feed(&live, "cpu");
        assert!(
            f.changed_page().is_none(),
            "nothing changed since the render"
        );

        live.apply(&diagnostic("other", 0x3942));
        assert!(f.changed_page().is_none(), "another device's diagnostic");

        live.apply(&diagnostic("cpu", 0x3942));
        let e = f.changed_page();
        assert!(is_device_event(&e, "cpu", "state"), "{e:?}");
        assert!(f.changed_page().is_none(), "told once");

        // Once more a little later, for rows the store committed after the first refetch.
        tokio::time::advance(STATE_GAP).await;
        let e = f.changed_page();
        assert!(is_device_event(&e, "cpu", "again"), "{e:?}");
        tokio::time::advance(STATE_GAP * 4).await;
        assert!(f.changed_page().is_none(), "and that is all");
    }

    #[tokio::test(start_paused = true)]
    async fn device_events_are_throttled_and_a_held_change_is_sent_late_not_lost() {
        let live = plant();
        let mut f = page_feed(&live, "cpu");
        live.apply(&diagnostic("cpu", 0x3942));
        assert!(f.changed_page().is_some());

        // A second diagnostic right after: held until the gap has passed, then sent.
        tokio::time::advance(POLL).await;
        live.apply(&diagnostic("cpu", 0x4302));
        assert!(
            f.changed_page().is_none(),
            "within {STATE_GAP:?} of the last event"
        );
        tokio::time::advance(POLL).await;
        assert!(f.changed_page().is_none());
        tokio::time::advance(POLL).await;
        assert!(
            is_device_event(&f.changed_page(), "cpu", "state"),
            "sent once the gap passed"
        );
        tokio::time::advance(STATE_GAP * 4).await;
        assert!(is_device_event(&f.changed_page(), "cpu", "again"));
        assert!(f.changed_page().is_none(), "and only once");
    }

    #[tokio::test(start_paused = true)]
    async fn round_trip_and_values_alone_refresh_the_page_at_most_every_few_seconds() {
        let live = plant();
        let mut f = page_feed(&live, "cpu");
        live.apply(&answered("cpu", 3, 1.0));
        assert!(
            f.changed_page().is_some(),
            "the first values since the render"
        );
        let mut sent = 0;
        let start = Instant::now();
        for i in 0..20u32 {
            tokio::time::advance(POLL).await;
            live.apply(&answered("cpu", 3 + u64::from(i % 5), f64::from(i)));
            if f.changed_page().is_some() {
                sent += 1;
            }
        }
        // 10 s of a value changing on every poll: one event per VALUES_GAP.
        let expected = start.elapsed().as_millis() / VALUES_GAP.as_millis();
        assert_eq!(sent, expected as usize);

        // A state change is not held for the values' gap.
        live.apply(&diagnostic("cpu", 0x3942));
        tokio::time::advance(STATE_GAP).await;
        assert!(f.changed_page().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_device_or_page_key_is_harmless() {
        let live = plant();
        let mut f = page_feed(&live, "nope");
        live.apply(&diagnostic("cpu", 0x3942));
        assert!(f.changed_page().is_none());

        // Without a key the first look is taken as what the page shows.
        let (_tx, rx) = broadcast::channel(2);
        let mut f = Feed {
            live: live.clone(),
            page: Some(Watched::new("cpu".into(), PageKey::parse("not a key"))),
            ..feed(rx)
        };
        assert!(f.changed_page().is_none());
        live.apply(&diagnostic("cpu", 0x4302));
        assert!(f.changed_page().is_some());
    }

    fn network(station_5_down: bool, link_scan_ms: f64, retries: u64) -> Observation {
        Observation::Status {
            device: "cpu".into(),
            at: Utc::now(),
            update: crate::model::StatusUpdate::Network {
                name: "line 3".into(),
                status: serde_json::json!({
                    "kind": "cc-link", "line_ok": true,
                    "stations": [{ "number": 5, "state": "ok", "down": station_5_down }],
                    "findings": [],
                    "link_scan": { "current_ms": link_scan_ms, "min_ms": 1.0, "max_ms": 4.0 },
                    "retries": retries,
                }),
            },
        }
    }

    #[test]
    fn a_dropped_station_is_a_state_change_and_the_link_scan_time_a_value() {
        let live = plant();
        let key = |live: &Live| live.device("cpu", Utc::now()).map(|d| PageKey::of(&d));
        live.apply(&network(false, 2.0, 0));
        let before = key(&live);

        live.apply(&network(false, 3.0, 7));
        let scan = key(&live);
        assert_eq!(scan.map(|k| k.state), before.map(|k| k.state));
        assert_ne!(scan.map(|k| k.values), before.map(|k| k.values));

        live.apply(&network(true, 3.0, 7));
        let dropped = key(&live);
        assert_ne!(dropped.map(|k| k.state), scan.map(|k| k.state));
        assert_eq!(dropped.map(|k| k.values), scan.map(|k| k.values));
    }

    #[test]
    fn a_page_key_reads_back_what_it_wrote() {
        let live = plant();
        let view = live.device("cpu", Utc::now());
        let key = view.as_ref().map(PageKey::of);
        let text = key.map(|k| k.to_string()).unwrap_or_default();
        assert_eq!(PageKey::parse(&text), key);
        assert_eq!(PageKey::parse("12.zz"), None);
        assert_eq!(PageKey::parse(""), None);
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
