-- A network's down-station mask (status_values, series stations:NETWORK) is now written only
-- when it changes; drop the repeats stored before, so a week's station timeline reads its
-- few changes rather than a row per status read.
DELETE FROM status_values WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, value,
               LAG(value, 1, -1) OVER (PARTITION BY device_id, series ORDER BY at_ms) AS before,
               ROW_NUMBER() OVER (PARTITION BY device_id, series ORDER BY at_ms) AS n
        FROM status_values
        WHERE series LIKE 'stations:%')
    WHERE n > 1 AND value IS before);
