//! Times in requests, one parser for the API and the pages: RFC 3339, Unix milliseconds, or a
//! `datetime-local` value (read as UTC), between [`EARLIEST`] and [`LATEST`]. The bounds keep
//! every window arithmetic (`to - 30 days`, `to - from`) far from chrono's limits, so no
//! request can make a handler overflow; a time outside them is a 400 that says so.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// The earliest time a request may name: 1970-01-01T00:00:00Z.
pub const EARLIEST_MS: i64 = 0;
/// The latest time a request may name: 9999-12-31T23:59:59.999Z.
pub const LATEST_MS: i64 = 253_402_300_799_999;

/// Why a time parameter was refused; the message names the parameter and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not one of the accepted forms.
    #[error(
        "`{key}`: {value:?} is neither RFC 3339 (2026-11-25T08:00:00Z) nor Unix milliseconds nor YYYY-MM-DDTHH:MM"
    )]
    Malformed {
        /// The parameter.
        key: &'static str,
        /// What was sent (cut to 64 characters).
        value: String,
    },
    /// A valid time outside 1970..9999.
    #[error("`{key}`: {value} is out of range (1970-01-01 to 9999-12-31)")]
    OutOfRange {
        /// The parameter.
        key: &'static str,
        /// What was sent.
        value: String,
    },
}

/// Parses the time parameter `key`.
pub fn parse(key: &'static str, s: &str) -> Result<DateTime<Utc>, TimeError> {
    let out_of_range = || TimeError::OutOfRange {
        key,
        value: s.chars().take(64).collect(),
    };
    let t = if let Ok(ms) = s.parse::<i64>() {
        Utc.timestamp_millis_opt(ms)
            .single()
            .ok_or_else(out_of_range)?
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else {
        [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| TimeError::Malformed {
            key,
            value: s.chars().take(64).collect(),
        })?
    };
    if (EARLIEST_MS..=LATEST_MS).contains(&t.timestamp_millis()) {
        Ok(t)
    } else {
        Err(out_of_range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_accepted_forms_parse_and_extreme_times_are_refused() {
        for ok in [
            "2026-11-25T08:00:00Z",
            "2026-11-25T09:00:00+01:00",
            "1700000000000",
            "2026-11-25T08:00",
            "2026-11-25 08:00",
            "0",
        ] {
            assert!(parse("from", ok).is_ok(), "{ok}");
        }
        // Issue 12, finding 3: this made `to - span` overflow and the handler panic.
        assert!(matches!(
            parse("from", "-8334601228800000"),
            Err(TimeError::OutOfRange { key: "from", .. })
        ));
        assert!(matches!(
            parse("to", "+262143-01-01T00:00:00Z"),
            Err(TimeError::Malformed { .. } | TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse("to", &i64::MAX.to_string()),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse("to", "yesterday"),
            Err(TimeError::Malformed { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_text_gives_a_time_in_range_or_an_error(s in "\\PC{0,40}") {
            if let Ok(t) = parse("from", &s) {
                prop_assert!((EARLIEST_MS..=LATEST_MS).contains(&t.timestamp_millis()));
                // Window arithmetic on an accepted time cannot overflow.
                let _ = t - chrono::Duration::days(366);
            }
        }

        #[test]
        fn any_millisecond_number_gives_a_time_in_range_or_an_error(ms in any::<i64>()) {
            if let Ok(t) = parse("to", &ms.to_string()) {
                prop_assert_eq!(t.timestamp_millis(), ms);
            }
        }
    }
}
