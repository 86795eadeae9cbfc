-- The device page's diagnostic table filtered by event class, newest first
-- (Store::diagnostics_page): without it a class filter reads the device's whole time window.
CREATE INDEX diag_events_device_class_time ON diag_events (device_id, class, gateway_ms);
