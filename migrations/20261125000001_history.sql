-- History of record on the gateway: devices, their tags, health timeline and tag samples.
-- Times are Unix milliseconds (UTC).

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE tags (
    id        INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    name      TEXT    NOT NULL,
    unit      TEXT,
    UNIQUE (device_id, name)
);

-- One row per health change (state, or the error while failing): a status timeline per device.
CREATE TABLE health_transitions (
    id        INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    at_ms     INTEGER NOT NULL,
    state     TEXT    NOT NULL,
    error     TEXT,
    rtt_us    INTEGER,
    failures  INTEGER NOT NULL
);
CREATE INDEX health_transitions_device_at ON health_transitions (device_id, at_ms);

-- Stored on change (deadband) and at least every max_interval; quality good/stale/bad.
CREATE TABLE tag_samples (
    tag_id  INTEGER NOT NULL REFERENCES tags(id),
    at_ms   INTEGER NOT NULL,
    value   REAL,
    quality TEXT    NOT NULL,
    reason  TEXT
);
CREATE INDEX tag_samples_tag_at ON tag_samples (tag_id, at_ms);
