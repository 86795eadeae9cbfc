//! The numbers the device page charts, taken from status rows as they are written, so that a
//! chart over a week reads narrow rows instead of parsing a JSON text per status read (see
//! docs/PERFORMANCE.md, "Web UI").
//!
//! Series, per device, in `status_values`:
//! - `cycle_ms`: an S7 CPU's current cycle time (`cycle_times.current_ms`);
//! - `link_scan_ms:NETWORK`: a CC-Link network's current link scan time;
//! - `stations:NETWORK`: the network's down stations as a bit mask (bit n-1 for station n,
//!   1 to 64), `NULL` while the network status is an error (the timeline's UNKNOWN); written
//!   only when it changes.
//!
//! Numbers also go, as per-minute min and max, to `status_minutes`, which longer charts read.
//! Migrations 20261126050000 and 20261126060000 compute the same from rows stored before them.

use serde_json::Value;
use sqlx::SqliteConnection;

/// One value of a series: a number, or a station mask (`None`: unknown).
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValue {
    Number(f64),
    Mask(Option<i64>),
}

/// The series a status row of `kind` with `value` (as stored) adds to.
pub fn of(kind: &str, value: &Value) -> Vec<(String, SeriesValue)> {
    match kind {
        "cycle_times" => value
            .get("current_ms")
            .and_then(Value::as_f64)
            .map(|v| vec![("cycle_ms".to_owned(), SeriesValue::Number(v))])
            .unwrap_or_default(),
        "network" => {
            let (Some(name), Some(status)) = (
                value.get("name").and_then(Value::as_str),
                value.get("status"),
            ) else {
                return Vec::new();
            };
            let mut out = Vec::with_capacity(2);
            if let Some(v) = status
                .get("link_scan")
                .and_then(|l| l.get("current_ms"))
                .and_then(Value::as_f64)
            {
                out.push((format!("link_scan_ms:{name}"), SeriesValue::Number(v)));
            }
            out.push((
                format!("stations:{name}"),
                SeriesValue::Mask(down_mask(status)),
            ));
            out
        }
        _ => Vec::new(),
    }
}

/// Writes one value of a series: its row, and for a number its minute's min and max.
pub async fn insert(
    conn: &mut SqliteConnection,
    device_id: i64,
    series: &str,
    at_ms: i64,
    value: &SeriesValue,
) -> Result<(), sqlx::Error> {
    match value {
        SeriesValue::Number(n) => {
            sqlx::query(
                "INSERT INTO status_values (device_id, series, at_ms, value) VALUES (?, ?, ?, ?)",
            )
            .bind(device_id)
            .bind(series)
            .bind(at_ms)
            .bind(n)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO status_minutes (device_id, series, minute, min, max) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (device_id, series, minute)
                 DO UPDATE SET min = MIN(min, excluded.min), max = MAX(max, excluded.max)",
            )
            .bind(device_id)
            .bind(series)
            .bind(at_ms.div_euclid(60_000))
            .bind(n)
            .execute(&mut *conn)
            .await?;
        }
        SeriesValue::Mask(m) => {
            // Only when it differs from the newest stored one: the timeline needs the changes,
            // and a network's status is stored every few seconds.
            sqlx::query(
                "INSERT INTO status_values (device_id, series, at_ms, value)
                 SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (
                     SELECT 1 FROM (SELECT value FROM status_values
                                    WHERE device_id = ?1 AND series = ?2
                                    ORDER BY at_ms DESC LIMIT 1)
                     WHERE value IS ?4)",
            )
            .bind(device_id)
            .bind(series)
            .bind(at_ms)
            .bind(m)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// The down stations of a network status as a bit mask; `None` when the status is an error.
pub fn down_mask(status: &Value) -> Option<i64> {
    if status.get("error").is_some() {
        return None;
    }
    let mut mask = 0u64;
    for s in status
        .get("stations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if s.get("down").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        if let Some(n) = s
            .get("number")
            .and_then(Value::as_u64)
            .filter(|n| (1..=64).contains(n))
        {
            mask |= 1 << (n - 1);
        }
    }
    // Stored as SQLite's signed integer; station 64 is the sign bit.
    Some(mask as i64)
}

/// The station numbers set in a mask, ascending.
pub fn stations_in(mask: i64) -> Vec<u64> {
    let bits = mask as u64;
    (1..=64u64).filter(|n| bits & (1 << (n - 1)) != 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cycle_times_give_the_current_cycle() {
        let v = json!({"current_ms": 12.0, "min_ms": 3, "max_ms": 40});
        assert_eq!(
            of("cycle_times", &v),
            [("cycle_ms".to_owned(), SeriesValue::Number(12.0))]
        );
        assert!(of("cycle_times", &json!({})).is_empty());
        assert!(of("cpu_mode", &json!({"mode": "RUN"})).is_empty());
    }

    #[test]
    fn a_network_gives_its_link_scan_and_its_down_stations() {
        let v = json!({"name": "line 3", "status": {
            "stations": [{"number": 1, "down": false}, {"number": 5, "down": true},
                         {"number": 64, "down": true}, {"number": 99, "down": true}],
            "link_scan": {"current_ms": 3.0}}});
        let got = of("network", &v);
        assert_eq!(
            got[0],
            ("link_scan_ms:line 3".to_owned(), SeriesValue::Number(3.0))
        );
        let SeriesValue::Mask(Some(mask)) = got[1].1 else {
            panic!("{got:?}")
        };
        assert_eq!(got[1].0, "stations:line 3");
        assert_eq!(stations_in(mask), [5, 64]);
        let error = json!({"name": "line 3", "status": {"error": "refused"}});
        assert_eq!(
            of("network", &error),
            [("stations:line 3".to_owned(), SeriesValue::Mask(None))]
        );
    }
}
