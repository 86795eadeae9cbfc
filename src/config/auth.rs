//! Validation of `[auth]`: bearer tokens for machines and users with argon2id password hashes
//! for people, each with a [`Role`].
//!
//! Invariant: a validated [`AuthConfig`] holds only password hashes that parse as PHC strings,
//! so a login can never fail because of a malformed hash, and no plain password is ever kept.

use std::collections::HashSet;

use toml::Spanned;

use super::Checker;
use super::raw::RawAuth;
use super::secret::Secret;

/// What a user or an API token may do. Ordered: a higher role may everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read only.
    Viewer,
    /// May acknowledge, shelve and unshelve alarms.
    Operator,
    /// Everything an operator may, and administration.
    Admin,
}

impl Role {
    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// The role named in the config, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// One API bearer token.
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// Who uses it.
    pub name: String,
    /// The token.
    pub token: Secret,
    /// What it may do.
    pub role: Role,
}

/// One person who logs in to the UI.
#[derive(Debug, Clone)]
pub struct User {
    /// Login name; recorded in the journal for their actions.
    pub name: String,
    /// The argon2id hash of the password as a PHC string (`$argon2id$v=19$...`), checked to
    /// parse when the config is loaded.
    pub password_hash: Secret,
    /// What they may do.
    pub role: Role,
}

/// `[auth]` after validation.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Bearer tokens for machines and scripts.
    pub tokens: Vec<ApiToken>,
    /// People who log in to the UI.
    pub users: Vec<User>,
    /// Believe `X-Forwarded-Proto: https` from a reverse proxy (session cookies get `Secure`)
    /// and take the client address for the login rate limit from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Set by `--insecure-no-auth` on the command line, never from the file: the gateway may
    /// listen on a non-loopback address although no user and no token is configured.
    pub insecure_no_auth: bool,
}

impl AuthConfig {
    /// Whether any authentication is configured (a user or a token). Without, everything is
    /// open and the gateway only listens on loopback.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty() || !self.users.is_empty()
    }
}

const MIN_TOKEN_LEN: usize = 16;

impl Checker<'_> {
    pub(super) fn auth(&mut self, raw: RawAuth) -> AuthConfig {
        let mut tokens = Vec::new();
        let mut seen = HashSet::new();
        for t in raw.tokens {
            let name = t.name.get_ref().trim().to_owned();
            if t.token.is_none() && t.token_env.is_none() {
                self.error(
                    Some(t.name.span()),
                    format!("auth token `{name}`: needs `token` or `token_env`"),
                );
                continue;
            }
            let Some(token) =
                self.secret_value(&t.token, &t.token_env, &format!("auth token `{name}`"))
            else {
                continue;
            };
            if token.expose().chars().count() < MIN_TOKEN_LEN {
                let span = t.token.as_ref().or(t.token_env.as_ref()).map(Spanned::span);
                self.error(
                    span,
                    format!(
                        "auth token `{name}`: a token needs at least {MIN_TOKEN_LEN} characters"
                    ),
                );
                continue;
            }
            if !seen.insert(token.expose().to_owned()) {
                self.error(
                    Some(t.name.span()),
                    format!("auth token `{name}`: the same token is given twice"),
                );
                continue;
            }
            let Some(role) = self.role(t.role.as_ref(), &format!("auth token `{name}`")) else {
                continue;
            };
            tokens.push(ApiToken { name, token, role });
        }
        let mut users = Vec::new();
        let mut names = HashSet::new();
        for u in raw.users {
            let name = u.name.get_ref().trim().to_owned();
            if name.is_empty() || name.chars().count() > 100 {
                self.error(
                    Some(u.name.span()),
                    "auth user: the name must have 1 to 100 characters".to_owned(),
                );
                continue;
            }
            if !names.insert(name.clone()) {
                self.error(
                    Some(u.name.span()),
                    format!("auth user `{name}` is given twice"),
                );
                continue;
            }
            let hash = u.password_hash.get_ref().trim();
            match argon2::PasswordHash::new(hash) {
                Ok(h) if h.algorithm.as_str() == "argon2id" => {}
                Ok(h) => {
                    self.error(
                        Some(u.password_hash.span()),
                        format!(
                            "auth user `{name}`: password_hash uses {}, expected argon2id (make one with `plcdiag passwd`)",
                            h.algorithm
                        ),
                    );
                    continue;
                }
                Err(e) => {
                    // The message names the problem, never the value.
                    self.error(
                        Some(u.password_hash.span()),
                        format!(
                            "auth user `{name}`: password_hash is not an argon2id PHC string ({e}); make one with `plcdiag passwd`"
                        ),
                    );
                    continue;
                }
            }
            let role = match u.role.as_ref() {
                None => {
                    self.error(
                        Some(u.name.span()),
                        format!("auth user `{name}`: needs a `role` (viewer, operator or admin)"),
                    );
                    continue;
                }
                Some(r) => match self.role(Some(r), &format!("auth user `{name}`")) {
                    Some(r) => r,
                    None => continue,
                },
            };
            users.push(User {
                name,
                password_hash: Secret::new(hash),
                role,
            });
        }
        AuthConfig {
            tokens,
            users,
            trust_proxy: raw.trust_proxy.unwrap_or(false),
            insecure_no_auth: false,
        }
    }

    /// A role given in the file; tokens default to operator.
    fn role(&mut self, raw: Option<&Spanned<String>>, what: &str) -> Option<Role> {
        match raw {
            None => Some(Role::Operator),
            Some(r) => {
                let role = Role::parse(r.get_ref());
                if role.is_none() {
                    self.error(
                        Some(r.span()),
                        format!(
                            "{what}: role {:?} is not one of viewer, operator, admin",
                            r.get_ref()
                        ),
                    );
                }
                role
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Xh0Yl4mY7uVt4lZ3ZQ6Yk0m9m3yT0a0Jm8Qm1yYc3M";

    fn auth(text: &str) -> Result<AuthConfig, Vec<super::super::Problem>> {
        super::super::parse(text, std::path::Path::new(".")).map(|c| c.auth)
    }

    #[test]
    fn users_with_an_argon2id_hash_and_a_role_are_accepted() {
        let a = auth(&format!(
            "[[auth.users]]\nname = \"ann\"\npassword_hash = \"{HASH}\"\nrole = \"viewer\"\n"
        ))
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(a.users.len(), 1);
        assert_eq!(a.users[0].role, Role::Viewer);
        assert!(a.enabled());
        assert!(!a.trust_proxy);
    }

    #[test]
    fn a_password_hash_that_does_not_parse_is_an_error_that_hides_the_value() {
        let p = auth(
            "[[auth.users]]\nname = \"ann\"\npassword_hash = \"hunter2-secret\"\nrole = \"admin\"\n",
        )
        .err()
        .unwrap_or_default();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("not an argon2id PHC string"), "{p:?}");
        assert!(!p[0].message.contains("hunter2"), "{p:?}");
    }

    #[test]
    fn a_user_needs_a_known_role_and_a_unique_name() {
        let text = format!(
            "[[auth.users]]\nname = \"ann\"\npassword_hash = \"{HASH}\"\n\
             [[auth.users]]\nname = \"bob\"\npassword_hash = \"{HASH}\"\nrole = \"root\"\n\
             [[auth.users]]\nname = \"bob\"\npassword_hash = \"{HASH}\"\nrole = \"viewer\"\n"
        );
        let p = auth(&text).err().unwrap_or_default();
        let messages: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("needs a `role`"));
        assert!(messages[1].contains("\"root\" is not one of"));
        assert!(messages[2].contains("given twice"));
    }
}
