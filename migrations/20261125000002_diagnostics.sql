-- Diagnostic events (S7 diagnostic buffer, later MELSEC error history) and device status changes.

-- One row per event, reported once: the adapter deduplicates on the raw record, and the unique
-- index makes a repeat after a crash between read and commit harmless.
CREATE TABLE diag_events (
    id          INTEGER PRIMARY KEY,
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    gateway_ms  INTEGER NOT NULL,
    device_time TEXT,              -- the device's local time, ISO 8601 without zone
    event_id    INTEGER NOT NULL,
    class       INTEGER NOT NULL,
    entering    INTEGER,           -- 1 entering, 0 leaving, NULL when the protocol has no such bit
    text        TEXT    NOT NULL,  -- English catalogue text at the time of reading
    details     TEXT    NOT NULL,  -- JSON
    raw         BLOB    NOT NULL
);
CREATE UNIQUE INDEX diag_events_device_raw ON diag_events (device_id, raw);
CREATE INDEX diag_events_device_time ON diag_events (device_id, gateway_ms);

-- Status parts on change: kind = cpu_mode | identity | protection | cycle_times | modules | unsupported.
-- The cpu_mode rows are the operating-mode timeline.
CREATE TABLE device_status (
    id        INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    at_ms     INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    value     TEXT    NOT NULL     -- JSON
);
CREATE INDEX device_status_device_kind_at ON device_status (device_id, kind, at_ms);
