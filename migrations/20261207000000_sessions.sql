-- Login sessions, so a restart does not log operators out. `key` is the SHA-256 of the
-- cookie's session id (the id itself is never stored); the role is not stored: it is looked
-- up in the config on every request. `pw` fingerprints the user's password hash at login: a
-- changed password ends the user's sessions.
CREATE TABLE sessions (
    key BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    pw TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    seen_ms INTEGER NOT NULL
);
