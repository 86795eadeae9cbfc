//! Login sessions, kept so that a restart does not log operators out. Only the SHA-256 of a
//! session id is stored, never the id; the role is not stored (the web layer looks it up in
//! the config on every request). The web layer's in-memory map is the cache in front of this.

use super::{Error, Store};

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Login name.
    pub name: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// Fingerprint of the user's password hash at login.
    pub pw: String,
    /// Login time, Unix ms.
    pub created_ms: i64,
    /// Last request, Unix ms (updated at most once a minute).
    pub seen_ms: i64,
}

impl Store {
    /// Saves a new session under `key` (the SHA-256 of its id).
    pub async fn session_insert(&self, key: &[u8], s: &StoredSession) -> Result<(), Error> {
        sqlx::query(
            "INSERT OR REPLACE INTO sessions (key, name, csrf, pw, created_ms, seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(key)
        .bind(&s.name)
        .bind(&s.csrf)
        .bind(&s.pw)
        .bind(s.created_ms)
        .bind(s.seen_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session stored under `key`.
    pub async fn session(&self, key: &[u8]) -> Result<Option<StoredSession>, Error> {
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, csrf, pw, created_ms, seen_ms FROM sessions WHERE key = ?",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(name, csrf, pw, created_ms, seen_ms)| StoredSession {
                name,
                csrf,
                pw,
                created_ms,
                seen_ms,
            }),
        )
    }

    /// Notes a request of the session under `key` at `seen_ms`.
    pub async fn session_seen(&self, key: &[u8], seen_ms: i64) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET seen_ms = ? WHERE key = ?")
            .bind(seen_ms)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends the session under `key`.
    pub async fn session_delete(&self, key: &[u8]) -> Result<(), Error> {
        sqlx::query("DELETE FROM sessions WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes sessions idle since before `idle_before_ms` or created before
    /// `created_before_ms`; returns how many.
    pub async fn sessions_expire(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> Result<u64, Error> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE seen_ms < ? OR created_ms < ?")
                .bind(idle_before_ms)
                .bind(created_before_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
