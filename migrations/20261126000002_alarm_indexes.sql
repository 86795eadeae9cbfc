-- Indexes the alarm queries need (found by reading their query plans).

-- Pruning the journal checks each deleted row's outbox references.
CREATE INDEX outbox_journal ON outbox (journal_id);
-- The open-alarm list includes shelved and latched rows that are already cleared and acked.
CREATE INDEX alarms_attention ON alarms (id)
    WHERE active = 1 OR acked = 0 OR state IN ('shelved', 'latched');
-- Journal filters by device or rule, newest first.
CREATE INDEX alarm_journal_device ON alarm_journal (device, id);
CREATE INDEX alarm_journal_rule ON alarm_journal (rule, id);
