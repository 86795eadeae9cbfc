//! Rule schedules: a rule that runs only in time windows (a shift, working days).
//!
//! Outside its windows a rule's points are suppressed by design. Windows are in the gateway's
//! local time unless the rule gives a UTC offset; a window whose end is not after its start
//! runs past midnight and belongs to the day it starts on.

use chrono::{
    DateTime, Datelike, Duration as Span, FixedOffset, Local, NaiveDate, NaiveTime, TimeZone, Utc,
};

/// When a rule runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The windows; the rule runs while any is open.
    pub windows: Vec<Window>,
    /// The time zone of the windows; `None`: the gateway's local time.
    pub offset: Option<FixedOffset>,
}

/// One weekly window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Days the window starts on, Monday first.
    pub days: [bool; 7],
    /// Start (local time of day).
    pub from: NaiveTime,
    /// End; not after `from`: the next day.
    pub to: NaiveTime,
}

impl Schedule {
    /// Whether the rule runs at `now`.
    pub fn is_on(&self, now: DateTime<Utc>) -> bool {
        let local = self.local(now);
        let date = local.date();
        // A window that started yesterday may still be open.
        [date.pred_opt(), Some(date)]
            .into_iter()
            .flatten()
            .any(|day| {
                self.windows.iter().any(|w| {
                    let (start, end) = w.span(day);
                    w.starts_on(day) && start <= local && local < end
                })
            })
    }

    /// The next moment after `now` at which [`Schedule::is_on`] changes, within two weeks.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = self.local(now).date();
        let on = self.is_on(now);
        let mut candidates: Vec<DateTime<Utc>> = (-1..15)
            .filter_map(|d| today.checked_add_signed(Span::days(d)))
            .flat_map(|day| {
                self.windows
                    .iter()
                    .filter(move |w| w.starts_on(day))
                    .flat_map(move |w| {
                        let (start, end) = w.span(day);
                        [start, end]
                    })
            })
            .filter_map(|t| self.utc(t))
            .filter(|t| *t > now)
            .collect();
        candidates.sort();
        candidates.into_iter().find(|t| self.is_on(*t) != on)
    }

    fn local(&self, now: DateTime<Utc>) -> chrono::NaiveDateTime {
        match self.offset {
            Some(o) => now.with_timezone(&o).naive_local(),
            None => now.with_timezone(&Local).naive_local(),
        }
    }

    fn utc(&self, t: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
        let at = |t: chrono::NaiveDateTime| match self.offset {
            Some(o) => o.from_local_datetime(&t).earliest().map(|t| t.to_utc()),
            None => Local.from_local_datetime(&t).earliest().map(|t| t.to_utc()),
        };
        // A time in a spring-forward gap does not exist: the window edge is the first
        // minute after the gap (gaps are at most a few hours).
        at(t).or_else(|| (1..=4 * 60).find_map(|m| at(t + Span::minutes(m))))
    }
}

impl Window {
    fn starts_on(&self, day: NaiveDate) -> bool {
        let i = day.weekday().num_days_from_monday() as usize;
        self.days.get(i).copied().unwrap_or(false)
    }

    fn span(&self, day: NaiveDate) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
        let start = day.and_time(self.from);
        let end_day = if self.to <= self.from {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        (start, end_day.and_time(self.to))
    }
}

/// Parses day lists like `["mon-fri"]`, `["sat", "sun"]`, `["daily"]`.
pub fn parse_days(items: &[String]) -> Result<[bool; 7], String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let index = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .position(|n| s.starts_with(n) && n.len() <= s.len())
            .ok_or_else(|| format!("unknown day `{s}`, expected mon, tue, wed, thu, fri, sat, sun"))
    };
    let mut days = [false; 7];
    if items.is_empty() {
        return Ok([true; 7]);
    }
    for item in items {
        if item.eq_ignore_ascii_case("daily") {
            return Ok([true; 7]);
        }
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                let mut i = a;
                loop {
                    if let Some(d) = days.get_mut(i) {
                        *d = true;
                    }
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => {
                if let Some(d) = days.get_mut(index(item)?) {
                    *d = true;
                }
            }
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.to_utc())
            .unwrap_or_default()
    }

    fn shift(from: &str, to: &str, days: &[&str]) -> Schedule {
        let days: Vec<String> = days.iter().map(|s| s.to_string()).collect();
        Schedule {
            windows: vec![Window {
                days: parse_days(&days).unwrap_or_default(),
                from: NaiveTime::parse_from_str(from, "%H:%M").unwrap_or_default(),
                to: NaiveTime::parse_from_str(to, "%H:%M").unwrap_or_default(),
            }],
            offset: FixedOffset::east_opt(8 * 3600),
        }
    }

    #[test]
    fn a_day_shift_runs_from_its_start_to_its_end_in_its_time_zone() {
        let s = shift("06:00", "14:00", &["mon-fri"]);
        // 2026-11-26 is a Thursday; 06:00 at +08:00 is 22:00 UTC the day before.
        assert!(!s.is_on(at("2026-11-25T21:59:59Z")));
        assert!(s.is_on(at("2026-11-25T22:00:00Z")));
        assert!(s.is_on(at("2026-11-26T05:59:59Z")));
        assert!(!s.is_on(at("2026-11-26T06:00:00Z")));
        assert_eq!(
            s.next_change(at("2026-11-25T12:00:00Z")),
            Some(at("2026-11-25T22:00:00Z"))
        );
        assert_eq!(
            s.next_change(at("2026-11-25T22:00:00Z")),
            Some(at("2026-11-26T06:00:00Z"))
        );
    }

    #[test]
    fn a_night_shift_crosses_midnight_and_belongs_to_its_start_day() {
        let s = shift("22:00", "06:00", &["fri"]);
        // Friday 2026-11-27 22:00 +08:00 = 14:00 UTC; it ends Saturday 06:00 +08:00.
        assert!(s.is_on(at("2026-11-27T14:00:00Z")));
        assert!(s.is_on(at("2026-11-27T21:59:00Z")));
        assert!(!s.is_on(at("2026-11-27T22:00:00Z")));
        // Saturday night is not in the schedule.
        assert!(!s.is_on(at("2026-11-28T15:00:00Z")));
    }

    #[test]
    fn day_lists_accept_ranges_names_and_daily() {
        assert_eq!(
            parse_days(&["mon-wed".into()]),
            Ok([true, true, true, false, false, false, false])
        );
        assert_eq!(
            parse_days(&["sat-mon".into()]),
            Ok([true, false, false, false, false, true, true])
        );
        assert_eq!(parse_days(&["daily".into()]), Ok([true; 7]));
        assert!(parse_days(&["someday".into()]).is_err());
    }
}
