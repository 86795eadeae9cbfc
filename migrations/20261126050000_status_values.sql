-- The numbers the device page charts (cycle time, link scan time, a CC-Link network's down
-- stations), one narrow row each, written next to their status row (src/store/series.rs).
-- A week of charts then reads these instead of parsing a JSON text per stored status.
CREATE TABLE status_values (
    device_id INTEGER NOT NULL REFERENCES devices(id),
    series    TEXT    NOT NULL,   -- cycle_ms, link_scan_ms:NETWORK, stations:NETWORK
    at_ms     INTEGER NOT NULL,
    value                         -- REAL for times; INTEGER station mask, NULL = unknown
);
-- Covering: a chart reads only this index.
CREATE INDEX status_values_series_at ON status_values (device_id, series, at_ms, value);

-- The same values from the status rows stored before this migration.
INSERT INTO status_values (device_id, series, at_ms, value)
SELECT device_id, 'cycle_ms', at_ms, CAST(value ->> '$.current_ms' AS REAL)
FROM device_status
WHERE kind = 'cycle_times' AND value ->> '$.current_ms' IS NOT NULL;

INSERT INTO status_values (device_id, series, at_ms, value)
SELECT device_id, 'link_scan_ms:' || (value ->> '$.name'), at_ms,
       CAST(value ->> '$.status.link_scan.current_ms' AS REAL)
FROM device_status
WHERE kind = 'network' AND value ->> '$.name' IS NOT NULL
  AND value ->> '$.status.link_scan.current_ms' IS NOT NULL;

INSERT INTO status_values (device_id, series, at_ms, value)
SELECT d.device_id, 'stations:' || (d.value ->> '$.name'), d.at_ms,
       CASE WHEN d.value -> '$.status.error' IS NOT NULL THEN NULL
            ELSE (SELECT COALESCE(SUM(1 << ((s.value ->> '$.number') - 1)), 0)
                  FROM json_each(d.value, '$.status.stations') AS s
                  WHERE s.value ->> '$.down' = 1
                    AND s.value ->> '$.number' BETWEEN 1 AND 64) END
FROM device_status AS d
WHERE d.kind = 'network' AND d.value ->> '$.name' IS NOT NULL;
