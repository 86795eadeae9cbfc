-- A new activation tidies the finished ones of the same alarm point (rule, device).
CREATE INDEX alarms_point ON alarms (rule, device, id);
