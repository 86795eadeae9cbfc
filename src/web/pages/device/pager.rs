//! The device page's event tables (the S7 diagnostic buffer, the MELSEC CPU error history):
//! what `?class=&from=&to=&before=&after=` ask for, and the links to the pages around the one
//! shown.
//!
//! A page holds [`DIAG_ROWS`](super::DIAG_ROWS) rows. `before=POS` is the page just older than
//! the event at POS, `after=POS` the page just newer (POS is `gatewayms-rowid`, see
//! [`DiagPosition`]). Links are query-only (`?window=…`), so they resolve against the page's
//! own path and work under any base path; every link keeps the chart window and the filter.

use chrono::{DateTime, Utc};

use super::{DeviceQuery, input_time, parse_time};
use crate::store::{DiagPage, DiagPageAt, DiagPosition, parse_class};
use crate::web::pages::i18n::DeviceMsgs;

/// The table filter and page the query asks for, each value checked; what was not understood
/// is named in a notice and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct TableQuery {
    /// Only events of this class (S7 tables).
    pub(super) class: Option<u8>,
    /// Events seen from then (S7 tables).
    pub(super) from: Option<DateTime<Utc>>,
    /// Events seen until then (S7 tables).
    pub(super) to: Option<DateTime<Utc>>,
    /// Which page.
    pub(super) at: DiagPageAt,
}

impl TableQuery {
    pub(super) fn of(q: &DeviceQuery, l: &DeviceMsgs, notices: &mut Vec<String>) -> Self {
        let mut ignored = |key: &str, v: &str| notices.push(format!("{}: {key}={v}", l.ignored));
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let class = given(&q.class).and_then(|c| {
            let class = parse_class(&c);
            if class.is_none() {
                ignored("class", &c);
            }
            class
        });
        let mut time = |key: &str, v: &Option<String>| {
            given(v).and_then(|s| {
                let t = parse_time(&s);
                if t.is_none() {
                    ignored(key, &s);
                }
                t
            })
        };
        let from = time("from", &q.from);
        let to = time("to", &q.to);
        let mut position = |key: &str, v: &Option<String>| {
            given(v).and_then(|s| {
                let p = s.parse::<DiagPosition>().ok();
                if p.is_none() {
                    ignored(key, &s);
                }
                p
            })
        };
        let at = match (position("before", &q.before), position("after", &q.after)) {
            (Some(p), _) => DiagPageAt::Before(p),
            (None, Some(p)) => DiagPageAt::After(p),
            (None, None) => DiagPageAt::Newest,
        };
        Self {
            class,
            from,
            to,
            at,
        }
    }

    /// The query string (with its `?`) of this filter at `at`, for the chart `window`.
    pub(super) fn href(&self, window: &str, at: DiagPageAt) -> String {
        // Every value is one the page wrote itself (a known window, a number, a
        // `datetime-local` time, a position), so none needs escaping.
        let mut out = format!("?window={window}");
        if let Some(c) = self.class {
            out.push_str(&format!("&class={c}"));
        }
        if let Some(t) = self.from {
            out.push_str(&format!("&from={}", input_time(t)));
        }
        if let Some(t) = self.to {
            out.push_str(&format!("&to={}", input_time(t)));
        }
        match at {
            DiagPageAt::Newest => {}
            DiagPageAt::Before(p) => out.push_str(&format!("&before={p}")),
            DiagPageAt::After(p) => out.push_str(&format!("&after={p}")),
        }
        out
    }
}

/// The links around a page of an event table; `None` where there is nothing to go to.
#[derive(Debug, Default)]
pub(super) struct Pager {
    /// Back to the newest events (only when this is not the newest page).
    pub(super) newest: Option<String>,
    pub(super) newer: Option<String>,
    pub(super) older: Option<String>,
}

impl Pager {
    pub(super) fn of(page: &DiagPage, q: &TableQuery, window: &str) -> Self {
        let first = page.events.first().map(DiagPosition::of);
        let last = page.events.last().map(DiagPosition::of);
        Self {
            newest: (q.at != DiagPageAt::Newest).then(|| q.href(window, DiagPageAt::Newest)),
            newer: first
                .filter(|_| page.newer)
                .map(|p| q.href(window, DiagPageAt::After(p))),
            older: last
                .filter(|_| page.older)
                .map(|p| q.href(window, DiagPageAt::Before(p))),
        }
    }

    /// Whether there is any link to show.
    pub(super) fn any(&self) -> bool {
        self.newest.is_some() || self.newer.is_some() || self.older.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::pages::Lang;

    fn query(pairs: &[(&str, &str)]) -> DeviceQuery {
        let mut q = DeviceQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "class" => q.class = v,
                "from" => q.from = v,
                "to" => q.to = v,
                "before" => q.before = v,
                "after" => q.after = v,
                other => panic!("{other}"),
            }
        }
        q
    }

    #[test]
    fn links_keep_the_window_and_filter_and_name_the_page() {
        let mut notices = Vec::new();
        let q = TableQuery::of(
            &query(&[
                ("class", "3"),
                ("from", "2026-11-01T00:00"),
                ("before", "1764130000123-98"),
            ]),
            Lang::En.device(),
            &mut notices,
        );
        assert!(notices.is_empty(), "{notices:?}");
        let p = DiagPosition {
            gateway_ms: 1_764_130_000_123,
            id: 98,
        };
        assert_eq!(q.at, DiagPageAt::Before(p));
        assert_eq!(
            q.href("7d", DiagPageAt::After(p)),
            "?window=7d&class=3&from=2026-11-01T00:00&after=1764130000123-98"
        );
        assert_eq!(
            q.href("24h", DiagPageAt::Newest),
            "?window=24h&class=3&from=2026-11-01T00:00"
        );
    }

    #[test]
    fn what_is_not_understood_is_named_and_the_newest_page_shown() {
        let mut notices = Vec::new();
        let q = TableQuery::of(
            &query(&[
                ("class", "16"),
                ("to", "yesterday"),
                ("before", "12;DROP"),
                ("after", " "),
            ]),
            Lang::En.device(),
            &mut notices,
        );
        assert_eq!(q, TableQuery::default());
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(
            notices.iter().any(|n| n.ends_with("before=12;DROP")),
            "{notices:?}"
        );
    }
}
