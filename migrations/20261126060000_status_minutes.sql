-- Per-minute min and max of the numeric chart series (status_values without the station
-- masks): a chart over more than a few hours reads at most one row per minute and series
-- instead of every status read (a week of 10 s cycle times is 60,480 rows, 10,080 here).
CREATE TABLE status_minutes (
    device_id INTEGER NOT NULL REFERENCES devices(id),
    series    TEXT    NOT NULL,
    minute    INTEGER NOT NULL,   -- at_ms / 60000
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    PRIMARY KEY (device_id, series, minute)
) WITHOUT ROWID;

INSERT INTO status_minutes (device_id, series, minute, min, max)
SELECT device_id, series, at_ms / 60000, MIN(value), MAX(value)
FROM status_values
WHERE series NOT LIKE 'stations:%' AND value IS NOT NULL
GROUP BY device_id, series, at_ms / 60000;
