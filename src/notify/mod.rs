//! Alarm notifications: webhook and chat-robot receivers fed from the SQLite outbox.

#[cfg(test)]
pub(crate) mod testkit;
