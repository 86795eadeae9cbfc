//! Login sessions and the login rate limit, in memory.
//!
//! Invariants: a session id is 256 bits from the operating system's random source and is
//! stored only as its SHA-256, so neither a lookup's timing nor a memory dump gives out a usable
//! cookie; a session ends after [`IDLE`] without a request or [`ABSOLUTE`] after the login,
//! whichever comes first; everything is lost on restart (people log in again). Times come from
//! `tokio::time::Instant`, so tests move them with a paused clock instead of sleeping.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::config::Role;

/// A session ends after this long without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after the login, used or not.
pub(crate) const ABSOLUTE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Failed logins allowed per user name and per client address in [`WINDOW`].
pub(crate) const MAX_FAILURES: usize = 5;
/// The window of the login rate limit.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Most sessions kept at once; the oldest is dropped beyond (a flood of logins cannot exhaust
/// memory).
const MAX_SESSIONS: usize = 10_000;

/// 256 random bits, hex-encoded.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// A logged-in person, as the session store knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionInfo {
    /// Login name.
    pub(crate) name: String,
    /// Their role at login.
    pub(crate) role: Role,
    /// The synchronizer token every write made with this session must carry.
    pub(crate) csrf: String,
}

struct Entry {
    info: SessionInfo,
    created: Instant,
    last_seen: Instant,
}

/// The sessions of logged-in people.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding the lock leaves the map consistent (every change is one call).
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session; returns the id for the cookie.
    pub(crate) fn create(&self, name: &str, role: Role) -> (String, SessionInfo) {
        let id = random_token();
        let info = SessionInfo {
            name: name.to_owned(),
            role,
            csrf: random_token(),
        };
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, e| alive(e, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.created).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            key(&id),
            Entry {
                info: info.clone(),
                created: now,
                last_seen: now,
            },
        );
        (id, info)
    }

    /// The session with this id if it is still valid; counts as activity.
    pub(crate) fn get(&self, id: &str) -> Option<SessionInfo> {
        let now = Instant::now();
        let k = key(id);
        let mut map = self.lock();
        let entry = map.get_mut(&k)?;
        if !alive(entry, now) {
            map.remove(&k);
            return None;
        }
        entry.last_seen = now;
        Some(entry.info.clone())
    }

    /// Ends a session (logout).
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(&key(id));
    }
}

fn alive(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.last_seen) < IDLE && now.duration_since(e.created) < ABSOLUTE
}

/// Failed logins per user name and per client address over the last [`WINDOW`].
#[derive(Default)]
pub(crate) struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Some(wait)` when any of `keys` has used up its failures: try again after `wait`.
    pub(crate) fn blocked(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.lock();
        let mut wait = None;
        for k in keys {
            let Some(q) = map.get_mut(k) else { continue };
            while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                q.pop_front();
            }
            if q.len() >= MAX_FAILURES {
                let until = q
                    .front()
                    .map_or(WINDOW, |t| WINDOW.saturating_sub(now.duration_since(*t)));
                wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
            }
        }
        wait
    }

    /// Records a failed login under every key.
    pub(crate) fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        for k in keys {
            let q = map.entry(k.clone()).or_default();
            q.push_back(now);
            while q.len() > MAX_FAILURES {
                q.pop_front();
            }
        }
    }

    /// Forgets the failures under `key` (a successful login of that user).
    pub(crate) fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_after_the_idle_time_without_requests() {
        let s = Sessions::default();
        let (id, info) = s.create("ann", Role::Operator);
        assert_eq!(info.csrf.len(), 64);
        assert_eq!(id.len(), 64);
        tokio::time::advance(IDLE - Duration::from_secs(1)).await;
        assert_eq!(s.get(&id).map(|i| i.name), Some("ann".to_owned()));
        tokio::time::advance(IDLE - Duration::from_secs(1)).await;
        assert!(
            s.get(&id).is_some(),
            "the request above counted as activity"
        );
        tokio::time::advance(IDLE).await;
        assert!(s.get(&id).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_ends_at_the_absolute_limit_however_busy() {
        let s = Sessions::default();
        let (id, _) = s.create("ann", Role::Viewer);
        let step = Duration::from_secs(3600);
        let mut t = Duration::ZERO;
        while t + step < ABSOLUTE {
            tokio::time::advance(step).await;
            t += step;
            assert!(s.get(&id).is_some(), "at {t:?}");
        }
        tokio::time::advance(step).await;
        assert!(s.get(&id).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn logout_removes_the_session_and_unknown_ids_find_nothing() {
        let s = Sessions::default();
        let (id, _) = s.create("ann", Role::Viewer);
        let (other, _) = s.create("bob", Role::Viewer);
        assert_ne!(id, other);
        s.remove(&id);
        assert!(s.get(&id).is_none());
        assert!(s.get(&other).is_some());
        assert!(s.get("not-a-session").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn five_failures_in_a_minute_block_until_the_first_one_is_a_minute_old() {
        let l = LoginLimiter::default();
        let keys = ["user:ann".to_owned(), "ip:10.0.0.1".to_owned()];
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.blocked(&keys), None);
            l.failed(&keys);
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(l.blocked(&keys), Some(Duration::from_secs(55)));
        assert_eq!(
            l.blocked(&["ip:10.0.0.1".to_owned()]),
            Some(Duration::from_secs(55)),
            "the address alone is blocked too"
        );
        assert_eq!(
            l.blocked(&["user:bob".to_owned(), "ip:10.0.0.2".to_owned()]),
            None
        );
        tokio::time::advance(Duration::from_secs(55)).await;
        assert_eq!(l.blocked(&keys), None);
    }
}
