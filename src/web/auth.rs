//! Who is calling: bearer tokens from `[auth]`, checked for the API's write actions.
//!
//! Without any token configured the gateway is open (and listens on loopback by default); the
//! caller's name then comes from the request body, defaulting to `anonymous`. With tokens, a
//! write action needs a valid token of role operator or admin, and the token's name is what
//! the journal records, whatever the body says.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{AppState, WebError};
use crate::config::Role;

/// The login and logout routes (none yet: tokens only).
pub(super) fn router() -> Router<AppState> {
    Router::new()
}

/// The authenticated caller of a write action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Caller {
    /// Authentication is not configured: anyone may write.
    Open,
    /// A token holder with an operator (or higher) role.
    Token {
        /// The token's name.
        name: String,
    },
}

impl Caller {
    /// The name recorded in the journal: the token's, or the one the caller gives when open.
    pub(super) fn user(&self, claimed: Option<&str>) -> String {
        match self {
            Self::Token { name } => name.clone(),
            Self::Open => claimed
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("anonymous")
                .chars()
                .take(100)
                .collect(),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if !state.auth.enabled() {
            return Ok(Self::Open);
        }
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(WebError::Unauthorized)?;
        // Compare with every token in constant time, so timing tells nothing about a prefix.
        let token = state
            .auth
            .tokens
            .iter()
            .fold(None, |found, t| {
                let same = constant_time_eq(t.token.expose().as_bytes(), presented.as_bytes());
                if same { Some(t) } else { found }
            })
            .ok_or(WebError::Unauthorized)?;
        if token.role < Role::Operator {
            return Err(WebError::Forbidden(format!(
                "token `{}` has role {}; acknowledging and shelving need operator",
                token.name,
                token.role.as_str()
            )));
        }
        Ok(Self::Token {
            name: token.name.clone(),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnop"));
        assert!(!constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnoq"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn the_journal_records_the_token_name_not_the_claimed_user() {
        let t = Caller::Token {
            name: "scada".into(),
        };
        assert_eq!(t.user(Some("mallory")), "scada");
        assert_eq!(Caller::Open.user(Some(" ann ")), "ann");
        assert_eq!(Caller::Open.user(None), "anonymous");
        assert_eq!(Caller::Open.user(Some("")), "anonymous");
    }
}
