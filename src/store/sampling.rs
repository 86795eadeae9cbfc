//! Which tag readings become history rows: on change beyond a deadband, on a quality change,
//! and at least every `max_interval` (a heartbeat that shows the value was still being read).

use std::time::Duration;

use crate::model::TagReading;

/// The last row stored for one tag.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LastStored {
    value: Option<f64>,
    quality: &'static str,
    at_ms: i64,
}

/// Decides whether `reading` at `at_ms` is stored, and remembers it if so.
pub(crate) fn should_store(
    last: &mut Option<LastStored>,
    reading: &TagReading,
    at_ms: i64,
    deadband: f64,
    max_interval: Duration,
) -> bool {
    let quality = reading.quality.as_str();
    let store = match last {
        None => true,
        Some(l) => {
            let heartbeat = at_ms.saturating_sub(l.at_ms)
                >= i64::try_from(max_interval.as_millis()).unwrap_or(i64::MAX);
            let moved = match (l.value, reading.value) {
                (Some(a), Some(b)) => (b - a).abs() > deadband || (deadband == 0.0 && a != b),
                (None, None) => false,
                _ => true,
            };
            heartbeat || moved || l.quality != quality
        }
    };
    if store {
        *last = Some(LastStored {
            value: reading.value,
            quality,
            at_ms,
        });
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Quality;

    fn good(v: f64) -> TagReading {
        TagReading {
            tag: 0,
            value: Some(v),
            quality: Quality::Good,
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn first_reading_is_stored() {
        let mut last = None;
        assert!(should_store(&mut last, &good(1.0), 0, 0.5, MINUTE));
    }

    #[test]
    fn changes_within_the_deadband_are_not_stored_and_do_not_move_the_reference() {
        let mut last = None;
        should_store(&mut last, &good(10.0), 0, 0.5, MINUTE);
        assert!(!should_store(&mut last, &good(10.4), 1000, 0.5, MINUTE));
        // Drift that adds up past the deadband relative to the last *stored* value is stored.
        assert!(!should_store(&mut last, &good(10.5), 2000, 0.5, MINUTE));
        assert!(should_store(&mut last, &good(10.6), 3000, 0.5, MINUTE));
    }

    #[test]
    fn with_zero_deadband_any_change_is_stored_and_repeats_are_not() {
        let mut last = None;
        should_store(&mut last, &good(1.0), 0, 0.0, MINUTE);
        assert!(!should_store(&mut last, &good(1.0), 1000, 0.0, MINUTE));
        assert!(should_store(&mut last, &good(1.000001), 2000, 0.0, MINUTE));
    }

    #[test]
    fn an_unchanged_value_is_stored_again_after_max_interval() {
        let mut last = None;
        should_store(&mut last, &good(1.0), 0, 0.0, MINUTE);
        assert!(!should_store(&mut last, &good(1.0), 59_999, 0.0, MINUTE));
        assert!(should_store(&mut last, &good(1.0), 60_000, 0.0, MINUTE));
    }

    #[test]
    fn a_quality_change_is_stored() {
        let mut last = None;
        should_store(&mut last, &good(1.0), 0, 5.0, MINUTE);
        let bad = TagReading {
            tag: 0,
            value: None,
            quality: Quality::Bad("Illegal Data Address (0x02)".into()),
        };
        assert!(should_store(&mut last, &bad, 1000, 5.0, MINUTE));
        assert!(!should_store(&mut last, &bad, 2000, 5.0, MINUTE));
        assert!(should_store(&mut last, &good(1.0), 3000, 5.0, MINUTE));
    }
}
