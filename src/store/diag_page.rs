//! Pages of a device's diagnostic events for the device page's tables: newest first, filtered
//! by time and class in SQL, paged by position (keyset), not by offset.
//!
//! Invariants: a page reads only the rows it shows plus one (to know whether there are more),
//! however deep in a year of events it lies; a position is an event's gateway time and row id,
//! so events of one poll (which share their gateway time) are neither skipped nor repeated at
//! a page boundary, and new events arriving between two clicks do not shift the older pages.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::{Error, Store, StoredDiagEvent, stored_diag_event};

/// Where a stored diagnostic event stands in the newest-first order: its gateway time, then
/// its row id (the order it was stored in). Written `MS-ID` in links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagPosition {
    /// When the gateway saw the event, Unix milliseconds.
    pub gateway_ms: i64,
    /// The row id.
    pub id: i64,
}

impl DiagPosition {
    /// The position of a stored event.
    pub fn of(e: &StoredDiagEvent) -> Self {
        Self {
            gateway_ms: e.gateway_time.timestamp_millis(),
            id: e.id,
        }
    }
}

impl fmt::Display for DiagPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.gateway_ms, self.id)
    }
}

impl FromStr for DiagPosition {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (ms, id) = s.split_once('-').ok_or(())?;
        Ok(Self {
            gateway_ms: ms.parse().map_err(|_| ())?,
            id: id.parse().map_err(|_| ())?,
        })
    }
}

/// An event class as a filter gives it: 0 to 15 (S7 classes are one hex digit; MELSEC events
/// use 1 and 2).
pub fn parse_class(s: &str) -> Option<u8> {
    s.parse::<u8>().ok().filter(|c| *c < 16)
}

/// Which page of the events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiagPageAt {
    /// The newest events.
    #[default]
    Newest,
    /// The events just older than this position.
    Before(DiagPosition),
    /// The events just newer than this position.
    After(DiagPosition),
}

/// What a page shows and what lies around it.
#[derive(Debug, Clone, Default)]
pub struct DiagPage {
    /// The events, newest first.
    pub events: Vec<StoredDiagEvent>,
    /// How many events match the time and class filter in all, counted up to the cap asked
    /// for (a count that reaches it means "at least").
    pub matching: u64,
    /// Whether events older than the last one shown match the filter.
    pub older: bool,
    /// Whether events newer than the first one shown match the filter.
    pub newer: bool,
}

impl Store {
    /// One page of `device`'s diagnostic events seen within `window` (both ends included), of
    /// `class` only when given: `limit` events at `at`, newest first, and how many match in
    /// all, counted up to `count_up_to` (0 skips the count). `None` for an unknown device.
    ///
    /// The filter and the limit apply in SQL, so a page reads only the rows it shows; with a
    /// class, the (device_id, class, gateway_ms) index finds them.
    pub async fn diagnostics_page(
        &self,
        device: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
        class: Option<u8>,
        at: DiagPageAt,
        limit: u32,
        count_up_to: u32,
    ) -> Result<Option<DiagPage>, Error> {
        let Some(device_id) = self.device_id(device).await? else {
            return Ok(None);
        };
        let q = PageQuery {
            device_id,
            window: (window.0.timestamp_millis(), window.1.timestamp_millis()),
            class: class.map(i64::from),
        };
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut events = self.read(&q, at, limit.saturating_add(1)).await?;
        let more = events.len() > want;
        events.truncate(want);
        // The other direction is looked up from the page's own edge (its first row as read,
        // the one nearest the position), so the event at the position, which the page came
        // from, counts; an empty page looks from the position itself, inclusive.
        let edge = events.first().map(DiagPosition::of);
        let (older, newer) = match at {
            DiagPageAt::Newest => (more, false),
            DiagPageAt::Before(p) => {
                let from = edge.unwrap_or(DiagPosition {
                    id: p.id.saturating_sub(1),
                    ..p
                });
                let newer = self.read(&q, DiagPageAt::After(from), 1).await?;
                (more, !newer.is_empty())
            }
            DiagPageAt::After(p) => {
                let from = edge.unwrap_or(DiagPosition {
                    id: p.id.saturating_add(1),
                    ..p
                });
                let older = self.read(&q, DiagPageAt::Before(from), 1).await?;
                (!older.is_empty(), more)
            }
        };
        if matches!(at, DiagPageAt::After(_)) {
            events.reverse();
        }
        let matching = if count_up_to == 0 {
            0
        } else {
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM diag_events
                 WHERE device_id = ?1 AND {} AND gateway_ms BETWEEN ?3 AND ?4 LIMIT ?5)",
                class_filter(q.class)
            );
            let n: i64 = sqlx::query_scalar(&sql)
                .bind(q.device_id)
                .bind(q.class)
                .bind(q.window.0)
                .bind(q.window.1)
                .bind(i64::from(count_up_to))
                .fetch_one(&self.pool)
                .await?;
            u64::try_from(n).unwrap_or(0)
        };
        Ok(Some(DiagPage {
            events,
            matching,
            older,
            newer,
        }))
    }

    /// Up to `limit` matching events at `at`: newest first, except `After`, which reads
    /// upwards from its position (oldest first).
    async fn read(
        &self,
        q: &PageQuery,
        at: DiagPageAt,
        limit: u32,
    ) -> Result<Vec<StoredDiagEvent>, Error> {
        let (mut from, mut to) = q.window;
        // The position narrows the indexed time range; among events of its very millisecond
        // the row id decides.
        let (position, order) = match at {
            DiagPageAt::Newest => ("1", "DESC"),
            DiagPageAt::Before(p) => {
                to = to.min(p.gateway_ms);
                ("(gateway_ms < ?6 OR id < ?7)", "DESC")
            }
            DiagPageAt::After(p) => {
                from = from.max(p.gateway_ms);
                ("(gateway_ms > ?6 OR id > ?7)", "ASC")
            }
        };
        let p = match at {
            DiagPageAt::Newest => DiagPosition {
                gateway_ms: 0,
                id: 0,
            },
            DiagPageAt::Before(p) | DiagPageAt::After(p) => p,
        };
        let sql = format!(
            "SELECT id, gateway_ms, device_time, event_id, class, entering, text, details, raw
             FROM diag_events
             WHERE device_id = ?1 AND {} AND gateway_ms BETWEEN ?3 AND ?4 AND {position}
             ORDER BY gateway_ms {order}, id {order} LIMIT ?5",
            class_filter(q.class)
        );
        let rows = sqlx::query(&sql)
            .bind(q.device_id)
            .bind(q.class)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .bind(p.gateway_ms)
            .bind(p.id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_diag_event).collect()
    }
}

/// The filter of one page, as bound to the queries.
struct PageQuery {
    device_id: i64,
    window: (i64, i64),
    class: Option<i64>,
}

/// The class condition on `?2`. Two texts rather than `(?2 IS NULL OR class = ?2)`, which
/// SQLite cannot plan onto the class index.
fn class_filter(class: Option<i64>) -> &'static str {
    if class.is_some() {
        "class = ?2"
    } else {
        "?2 IS NULL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{at, store_with_events};

    async fn page(
        store: &Store,
        window: (i64, i64),
        class: Option<u8>,
        page_at: DiagPageAt,
        limit: u32,
        cap: u32,
    ) -> DiagPage {
        store
            .diagnostics_page(
                "cpu",
                (at(window.0), at(window.1)),
                class,
                page_at,
                limit,
                cap,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("device cpu"))
    }

    fn ids(p: &DiagPage) -> Vec<u16> {
        p.events.iter().map(|e| e.event_id).collect()
    }

    #[tokio::test]
    async fn a_page_has_the_newest_events_of_the_class_and_counts_up_to_the_cap() {
        let (_dir, store) = store_with_events().await;
        let p = page(&store, (0, 10_000), Some(2), DiagPageAt::Newest, 3, 5).await;
        // Class 2 are the odd events; the newest is 19 (stored after 18 at the same time).
        assert_eq!(ids(&p), vec![0x2000 + 19, 0x2000 + 17, 0x2000 + 15]);
        assert_eq!(p.matching, 5, "10 match; counted up to the cap");
        assert!(p.older && !p.newer);
        assert_eq!(p.events[0].raw, "AB13");
        assert_eq!(p.events[0].details, serde_json::json!({ "n": 1 }));

        let p = page(&store, (0, 10_000), None, DiagPageAt::Newest, 2, 100).await;
        assert_eq!(
            ids(&p),
            vec![0x2000 + 19, 0x1000 + 18],
            "ties keep the stored order"
        );
        assert_eq!(p.matching, 20);
    }

    #[tokio::test]
    async fn a_page_keeps_to_its_window_and_knows_no_unknown_device() {
        let (_dir, store) = store_with_events().await;
        let p = page(&store, (1_000, 1_030), Some(1), DiagPageAt::Newest, 10, 100).await;
        assert_eq!(ids(&p), vec![0x1000 + 2, 0x1000]);
        assert_eq!(p.matching, 2);
        assert!(!p.older && !p.newer);
        let none = store
            .diagnostics_page(
                "nope",
                (at(0), at(10_000)),
                None,
                DiagPageAt::Newest,
                10,
                100,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn paging_older_then_newer_walks_every_event_once_across_shared_times() {
        let (_dir, store) = store_with_events().await;
        // Events 18 and 19 share their gateway time; pages of 3 split them from the rest at
        // various places. Walk to the oldest, then back to the newest.
        let mut seen = Vec::new();
        let mut p = page(&store, (0, 10_000), None, DiagPageAt::Newest, 3, 0).await;
        loop {
            seen.extend(ids(&p));
            if !p.older {
                break;
            }
            let last = p.events.last().map(DiagPosition::of);
            let Some(last) = last else {
                panic!("older than nothing")
            };
            p = page(&store, (0, 10_000), None, DiagPageAt::Before(last), 3, 0).await;
            assert!(p.newer, "a page reached by 'older' has newer events");
        }
        let all: Vec<u16> = (0..20).rev().map(|i| 0x1000 * (1 + i % 2) + i).collect();
        assert_eq!(seen, all, "each event once, newest first");

        let mut back = Vec::new();
        loop {
            back.splice(0..0, ids(&p));
            if !p.newer {
                break;
            }
            let first = p.events.first().map(DiagPosition::of);
            let Some(first) = first else {
                panic!("newer than nothing")
            };
            p = page(&store, (0, 10_000), None, DiagPageAt::After(first), 3, 0).await;
            assert!(p.older, "a page reached by 'newer' has older events");
            assert!(p.events.len() <= 3);
        }
        assert_eq!(back, all, "and back again");
    }

    #[tokio::test]
    async fn a_page_of_one_row_still_links_back_to_where_it_came_from() {
        let (_dir, store) = store_with_events().await;
        let all = (0, 10_000);
        // 20 events in pages of 19: the older page has one row; from it, "newer" gives the
        // first page again, which must still know its older row.
        let first = page(&store, all, None, DiagPageAt::Newest, 19, 0).await;
        let Some(last) = first.events.last().map(DiagPosition::of) else {
            panic!("a page")
        };
        let older = page(&store, all, None, DiagPageAt::Before(last), 19, 0).await;
        assert_eq!(ids(&older), vec![0x1000]);
        assert!(older.newer && !older.older);
        let Some(only) = older.events.first().map(DiagPosition::of) else {
            panic!("a row")
        };
        let back = page(&store, all, None, DiagPageAt::After(only), 19, 0).await;
        assert_eq!(ids(&back), ids(&first));
        assert!(
            back.older && !back.newer,
            "the one older row is still there"
        );
    }

    #[tokio::test]
    async fn a_page_from_a_position_keeps_to_the_class_and_window() {
        let (_dir, store) = store_with_events().await;
        let newest = page(&store, (0, 10_000), Some(1), DiagPageAt::Newest, 2, 0).await;
        assert_eq!(ids(&newest), vec![0x1000 + 18, 0x1000 + 16]);
        let Some(last) = newest.events.last().map(DiagPosition::of) else {
            panic!("a page")
        };
        let older = page(
            &store,
            (1_050, 10_000),
            Some(1),
            DiagPageAt::Before(last),
            10,
            0,
        )
        .await;
        // Class 1 in [1050, 1150): 14, 12, 10 (at 1140, 1120, 1100), not 8 at 1080... nor
        // anything of class 2.
        assert_eq!(
            ids(&older),
            vec![
                0x1000 + 14,
                0x1000 + 12,
                0x1000 + 10,
                0x1000 + 8,
                0x1000 + 6
            ]
        );
        assert!(!older.older && older.newer);
    }

    #[test]
    fn positions_read_back_what_links_write_and_refuse_anything_else() {
        let p = DiagPosition {
            gateway_ms: 1_764_130_000_123,
            id: 98_765,
        };
        assert_eq!(p.to_string(), "1764130000123-98765");
        assert_eq!("1764130000123-98765".parse::<DiagPosition>(), Ok(p));
        for bad in [
            "",
            "12",
            "12-",
            "-5",
            "a-1",
            "1-b",
            "1-2-3",
            "99999999999999999999-1",
        ] {
            assert!(bad.parse::<DiagPosition>().is_err(), "{bad}");
        }
    }
}
