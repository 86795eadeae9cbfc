-- Alarms: per-point state that survives a restart, one row per activation, the journal of every
-- transition, and the notification outbox. Times are Unix milliseconds (UTC).

-- One row per alarm point (rule x device): the state machine's persisted state, written in the
-- same transaction as the journal row of the change that produced it.
CREATE TABLE alarm_points (
    rule       TEXT    NOT NULL,
    device     TEXT    NOT NULL,
    state      TEXT    NOT NULL,   -- JSON, see rules::alarm::Persisted
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (rule, device)
) WITHOUT ROWID;

-- One row per activation (ISA-18.2: a cleared alarm never becomes active again; a new
-- activation is a new alarm). The id is the one the API acknowledges and shelves.
CREATE TABLE alarms (
    id            INTEGER PRIMARY KEY,
    rule          TEXT    NOT NULL,
    device        TEXT    NOT NULL,
    driver        TEXT    NOT NULL,
    priority      TEXT    NOT NULL,   -- low | medium | high | critical
    state         TEXT    NOT NULL,   -- current ISA-18.2 state, see rules::AlarmState
    active        INTEGER NOT NULL,
    acked         INTEGER NOT NULL,
    message       TEXT    NOT NULL,
    vals          TEXT    NOT NULL,   -- JSON: the values that explain the alarm, at raise time
    raised_ms     INTEGER NOT NULL,
    cleared_ms    INTEGER,
    acked_ms      INTEGER,
    acked_by      TEXT,
    ack_note      TEXT,
    shelved_until_ms INTEGER,
    updated_ms    INTEGER NOT NULL
);
-- Open alarms (active, or waiting for acknowledgement) are what the alarm list shows.
CREATE INDEX alarms_open ON alarms (active, acked);
CREATE INDEX alarms_raised ON alarms (raised_ms);

-- Every transition of every alarm, in order.
CREATE TABLE alarm_journal (
    id         INTEGER PRIMARY KEY,
    alarm_id   INTEGER NOT NULL REFERENCES alarms(id),
    at_ms      INTEGER NOT NULL,
    rule       TEXT    NOT NULL,
    device     TEXT    NOT NULL,
    priority   TEXT    NOT NULL,
    transition TEXT    NOT NULL,   -- see rules::Transition
    state      TEXT    NOT NULL,   -- state after the transition
    message    TEXT    NOT NULL,
    vals       TEXT    NOT NULL,   -- JSON
    user       TEXT,
    note       TEXT
);
CREATE INDEX alarm_journal_at ON alarm_journal (at_ms);
CREATE INDEX alarm_journal_alarm ON alarm_journal (alarm_id, id);

-- Notifications waiting for a receiver: one row per (journal row, receiver), inserted in the
-- journal row's transaction. A row is marked delivered only after the receiver's 2xx, and
-- dead-lettered (dead_ms, last_error) when the receiver rejects it for good.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    receiver    TEXT    NOT NULL,
    journal_id  INTEGER NOT NULL REFERENCES alarm_journal(id),
    alarm_id    INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    payload     TEXT    NOT NULL,  -- JSON, see rules::Notice
    batch       TEXT,              -- idempotency key of the first request that carried the row
    attempts    INTEGER NOT NULL DEFAULT 0,
    delivered_ms INTEGER,
    dead_ms     INTEGER,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (receiver, id) WHERE delivered_ms IS NULL AND dead_ms IS NULL;
CREATE INDEX outbox_created ON outbox (created_ms);
