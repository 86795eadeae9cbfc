-- The dead-letter list (API and alarms page) reads dead-lettered rows newest first.
CREATE INDEX outbox_dead ON outbox (dead_ms) WHERE dead_ms IS NOT NULL;
