//! Issue #6, security: users with argon2id passwords and sessions, bearer tokens, roles on every
//! route, CSRF on every write made with a session, the login rate limit, cookie flags, the
//! redirect after login, `plcdiag passwd` and the loopback-only rule of an open gateway.

mod common;

use std::process::Stdio;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use common::{TestGateway, cheap_hash as hash, cookie_value, hidden, set_cookie};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::redirect::Policy;
use tokio::io::AsyncWriteExt;

const VIEWER_TOKEN: &str = "viewer-token-0123456789";
const OPERATOR_TOKEN: &str = "operator-token-0123456789";

fn auth_config(extra: &str) -> String {
    format!(
        r#"{extra}
[auth]
[[auth.users]]
name = "vera"
password_hash = "{v}"
role = "viewer"

[[auth.users]]
name = "otto"
password_hash = "{o}"
role = "operator"

[[auth.users]]
name = "ada"
password_hash = "{a}"
role = "admin"

[[auth.tokens]]
name = "wallboard"
token = "{VIEWER_TOKEN}"
role = "viewer"

[[auth.tokens]]
name = "scada"
token = "{OPERATOR_TOKEN}"
"#,
        v = hash("vera-pw"),
        o = hash("otto-pw"),
        a = hash("ada-pw"),
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A browser's view: the login form's cookie and token.
struct Browser {
    http: reqwest::Client,
    base: String,
    prefix: String,
}

/// What a login answered.
struct LoginReply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl LoginReply {
    fn session(&self) -> String {
        set_cookie(&self.headers, "plcdiag_session")
            .map(|c| cookie_value(&c))
            .unwrap_or_else(|| panic!("no session cookie; status {}", self.status))
    }
}

impl Browser {
    fn new(gw: &TestGateway, prefix: &str) -> Self {
        Self {
            http: client(),
            base: gw.base.clone(),
            prefix: prefix.to_owned(),
        }
    }

    async fn login_with(
        &self,
        user: &str,
        password: &str,
        next: Option<&str>,
        extra: &[(&str, &str)],
    ) -> LoginReply {
        let page = self
            .http
            .get(format!("{}{}/login", self.base, self.prefix))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.status(), 200);
        let form_cookie = set_cookie(page.headers(), "plcdiag_login")
            .map(|c| cookie_value(&c))
            .unwrap_or_else(|| panic!("no login cookie"));
        let html = page.text().await.unwrap_or_default();
        let csrf = hidden(&html, "csrf");
        let mut form = vec![
            ("username", user.to_owned()),
            ("password", password.to_owned()),
            ("csrf", csrf),
        ];
        if let Some(n) = next {
            form.push(("next", n.to_owned()));
        }
        let mut req = self
            .http
            .post(format!("{}{}/login", self.base, self.prefix))
            .header("cookie", format!("plcdiag_login={form_cookie}"))
            .form(&form);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        LoginReply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn login(&self, user: &str, password: &str) -> Session {
        let r = self.login_with(user, password, None, &[]).await;
        assert_eq!(r.status, 303, "login of {user}: {}", r.body);
        let id = r.session();
        let me: serde_json::Value = self
            .http
            .get(format!("{}{}/api/session", self.base, self.prefix))
            .header("cookie", format!("plcdiag_session={id}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(me["user"], user, "{me}");
        let csrf = me["csrf"].as_str().unwrap_or_default().to_owned();
        assert_eq!(csrf.len(), 64, "{me}");
        Session { id, csrf }
    }
}

struct Session {
    id: String,
    csrf: String,
}

/// Who sends a request.
#[derive(Clone, Copy)]
enum Who<'a> {
    Anonymous,
    Bearer(&'a str),
    /// A session; the CSRF token goes in the header unless told otherwise.
    Session(&'a Session),
    SessionWithoutCsrf(&'a Session),
    SessionWrongCsrf(&'a Session),
    SessionCsrfInForm(&'a Session),
}

async fn send(base: &str, method: &str, path: &str, who: Who<'_>) -> (u16, HeaderMap) {
    let http = client();
    let url = format!("{base}{path}");
    let mut req = if method == "GET" && !path.contains("/api/") {
        // What a browser sends when a person opens a page.
        http.get(&url)
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
    } else if method == "GET" {
        http.get(&url)
    } else {
        http.post(&url)
            .header("content-type", "application/json")
            .body("{}")
    };
    req = match who {
        Who::Anonymous => req,
        Who::Bearer(t) => req.bearer_auth(t),
        Who::Session(s) => req
            .header("cookie", format!("plcdiag_session={}", s.id))
            .header("x-csrf-token", &s.csrf),
        Who::SessionWithoutCsrf(s) => req.header("cookie", format!("plcdiag_session={}", s.id)),
        Who::SessionWrongCsrf(s) => req
            .header("cookie", format!("plcdiag_session={}", s.id))
            .header("x-csrf-token", "0".repeat(64)),
        Who::SessionCsrfInForm(s) => http
            .post(&url)
            .header("cookie", format!("plcdiag_session={}", s.id))
            .form(&[("csrf", s.csrf.as_str())]),
    };
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (r.status().as_u16(), r.headers().clone())
}

const PAGE_READS: [&str; 4] = ["/", "/alarms", "/devices/nope", "/events"];
const API_READS: [&str; 9] = [
    "/api/devices",
    "/api/devices/nope",
    "/api/devices/nope/history",
    "/api/devices/nope/diagnostics",
    "/api/devices/nope/status",
    "/api/alarms",
    "/api/alarms/history",
    "/api/alarms/kpis",
    "/api/alarms/1",
];
const WRITES: [&str; 3] = [
    "/api/alarms/1/ack",
    "/api/alarms/1/shelve",
    "/api/alarms/1/unshelve",
];
const OPEN: [&str; 4] = ["/healthz", "/metrics", "/login", "/static/plcdiag.css"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_issue_says() {
    // What each route answers when nobody needs to log in: an authorised request must get the
    // same (404 for the unknown device, 503 for writes without a rules engine, ...).
    let open = TestGateway::start("").await;
    let gw = TestGateway::start(&auth_config("")).await;
    let b = Browser::new(&gw, "");
    let vera = b.login("vera", "vera-pw").await;
    let otto = b.login("otto", "otto-pw").await;
    let ada = b.login("ada", "ada-pw").await;

    for path in PAGE_READS.iter().chain(&API_READS).chain(&OPEN) {
        let (expected, _) = send(&open.base, "GET", path, Who::Anonymous).await;
        assert!(
            expected < 500 && expected != 401 && expected != 403,
            "{path}: {expected}"
        );
        for (who, name) in [
            (Who::Session(&vera), "viewer"),
            (Who::Session(&otto), "operator"),
            (Who::Session(&ada), "admin"),
            (Who::Bearer(VIEWER_TOKEN), "viewer token"),
            (Who::Bearer(OPERATOR_TOKEN), "operator token"),
        ] {
            let (status, _) = send(&gw.base, "GET", path, who).await;
            // The login page sends whoever is logged in straight on.
            let expected = if *path == "/login" { 303 } else { expected };
            assert_eq!(status, expected, "GET {path} as {name}");
        }
        let (status, headers) = send(&gw.base, "GET", path, Who::Anonymous).await;
        if OPEN.contains(path) {
            assert_eq!(status, expected, "GET {path} needs no login");
        } else if path.starts_with("/api/") {
            assert_eq!(status, 401, "anonymous GET {path}");
        } else {
            assert_eq!(status, 303, "anonymous GET {path}");
            let to = headers.get(LOCATION).and_then(|v| v.to_str().ok());
            assert_eq!(
                to.map(str::to_owned),
                Some(format!("/login?next={}", path)),
                "anonymous GET {path}"
            );
        }
        let (status, _) = send(&gw.base, "GET", path, Who::Bearer("not-a-token-at-all-000")).await;
        if !OPEN.contains(path) {
            assert_eq!(status, 401, "GET {path} with a wrong token");
        }
    }

    for path in WRITES {
        let (expected, _) = send(&open.base, "POST", path, Who::Anonymous).await;
        assert_eq!(
            expected, 503,
            "{path}: the open gateway has no rules engine"
        );
        for (who, name, want) in [
            (Who::Anonymous, "anonymous", 401),
            (Who::Bearer("not-a-token-at-all-000"), "wrong token", 401),
            (Who::Bearer(VIEWER_TOKEN), "viewer token", 403),
            (Who::Bearer(OPERATOR_TOKEN), "operator token", expected),
            (Who::Session(&vera), "viewer", 403),
            (Who::Session(&otto), "operator", expected),
            (Who::Session(&ada), "admin", expected),
            (Who::SessionWithoutCsrf(&otto), "operator without CSRF", 403),
            (
                Who::SessionWrongCsrf(&otto),
                "operator with a wrong CSRF",
                403,
            ),
            (Who::SessionWithoutCsrf(&ada), "admin without CSRF", 403),
            // The token in the form passes the guard; the JSON API then refuses the form body.
            (
                Who::SessionCsrfInForm(&otto),
                "operator with CSRF in a form",
                400,
            ),
        ] {
            let (status, _) = send(&gw.base, "POST", path, who).await;
            assert_eq!(status, want, "POST {path} as {name}");
        }
    }
    gw.stop().await;
    open.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_users_or_tokens_everything_is_open_and_the_body_names_the_caller() {
    let gw = TestGateway::start("").await;
    for path in API_READS.iter().chain(&["/api/session"]) {
        let (status, _) = send(&gw.base, "GET", path, Who::Anonymous).await;
        assert_ne!(status, 401, "{path}");
        assert_ne!(status, 303, "{path}");
    }
    let (_, me) = gw.get_json("/api/session").await;
    assert_eq!(me["auth"], false);
    let (status, _) = send(&gw.base, "POST", "/api/alarms/1/ack", Who::Anonymous).await;
    assert_eq!(status, 503, "not refused, only no rules engine");
    gw.stop().await;
}

fn flags(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|f| f.trim().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_httponly_strict_and_secure_only_behind_a_trusted_https_proxy() {
    let gw = TestGateway::start(&auth_config("")).await;
    let b = Browser::new(&gw, "");
    let r = b.login_with("otto", "otto-pw", None, &[]).await;
    let c = set_cookie(&r.headers, "plcdiag_session").unwrap_or_default();
    let f = flags(&c);
    assert!(f.contains(&"HttpOnly".to_owned()), "{c}");
    assert!(f.contains(&"SameSite=Strict".to_owned()), "{c}");
    assert!(f.contains(&"Path=/".to_owned()), "{c}");
    assert!(!f.contains(&"Secure".to_owned()), "{c}");
    // An untrusted proxy header changes nothing.
    let r = b
        .login_with("otto", "otto-pw", None, &[("x-forwarded-proto", "https")])
        .await;
    let c = set_cookie(&r.headers, "plcdiag_session").unwrap_or_default();
    assert!(!flags(&c).contains(&"Secure".to_owned()), "{c}");
    gw.stop().await;

    let gw =
        TestGateway::start(&auth_config("").replace("[auth]", "[auth]\ntrust_proxy = true")).await;
    let b = Browser::new(&gw, "");
    let r = b
        .login_with("otto", "otto-pw", None, &[("x-forwarded-proto", "https")])
        .await;
    let c = set_cookie(&r.headers, "plcdiag_session").unwrap_or_default();
    assert!(flags(&c).contains(&"Secure".to_owned()), "{c}");
    let r = b.login_with("otto", "otto-pw", None, &[]).await;
    let c = set_cookie(&r.headers, "plcdiag_session").unwrap_or_default();
    assert!(!flags(&c).contains(&"Secure".to_owned()), "plain HTTP: {c}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_page_navigations_are_sent_to_the_login_page() {
    // Found by the browser test: Chromium fetches /favicon.ico with every page; had that been
    // redirected to /login, the login page's answer would have replaced the form cookie of the
    // page on screen and the person's login would fail as "expired".
    let gw = TestGateway::start(&auth_config("")).await;
    let http = client();
    let r = http
        .get(format!("{}/favicon.ico", gw.base))
        .header("accept", "image/avif,image/webp,image/*,*/*;q=0.8")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 204);
    let r = http
        .get(format!("{}/events", gw.base))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.status().as_u16(),
        401,
        "a script's request is refused, not redirected"
    );
    assert!(set_cookie(r.headers(), "plcdiag_login").is_none());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_base_path_the_cookie_login_and_redirects_stay_below_it() {
    let gw = TestGateway::start(&auth_config("[gateway]\nbase_path = \"/plc\"\n")).await;
    let (status, headers) = send(&gw.base, "GET", "/plc/alarms?x=1", Who::Anonymous).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/plc/login?next=/plc/alarms%3Fx%3D1")
    );
    let b = Browser::new(&gw, "/plc");
    let r = b
        .login_with("otto", "otto-pw", Some("/plc/alarms?x=1"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/plc/alarms?x=1")
    );
    let c = set_cookie(&r.headers, "plcdiag_session").unwrap_or_default();
    assert!(flags(&c).contains(&"Path=/plc".to_owned()), "{c}");
    let r = b
        .login_with("otto", "otto-pw", Some("/elsewhere"), &[])
        .await;
    assert_eq!(
        r.headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/plc"),
        "outside the base path: the overview"
    );
    let s = b.login("otto", "otto-pw").await;
    let (status, _) = send(&gw.base, "GET", "/plc/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 200);
    let (status, _) = send(
        &gw.base,
        "POST",
        "/plc/api/alarms/1/ack",
        Who::SessionWithoutCsrf(&s),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(&gw.base, "GET", "/plc/healthz", Who::Anonymous).await;
    assert_eq!(status, 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_redirects_only_to_this_site_and_a_wrong_password_gets_a_generic_401() {
    let gw = TestGateway::start(&auth_config("")).await;
    let b = Browser::new(&gw, "");
    for (next, want) in [
        ("/alarms?x=1", "/alarms?x=1"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let r = b.login_with("vera", "vera-pw", Some(next), &[]).await;
        assert_eq!(r.status, 303);
        assert_eq!(
            r.headers.get(LOCATION).and_then(|v| v.to_str().ok()),
            Some(want),
            "next = {next}"
        );
    }
    let wrong = b.login_with("vera", "nope", None, &[]).await;
    let unknown = b.login_with("nobody", "nope", None, &[]).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(
        wrong.body.contains("Wrong user name or password."),
        "{}",
        wrong.body
    );
    assert!(unknown.body.contains("Wrong user name or password."));
    assert!(set_cookie(&wrong.headers, "plcdiag_session").is_none());

    // The login form's own token: a post from elsewhere has no form cookie.
    let r = client()
        .post(format!("{}/login", gw.base))
        .form(&[("username", "vera"), ("password", "vera-pw"), ("csrf", "x")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);

    let zh = client()
        .get(format!("{}/login", gw.base))
        .header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(zh.contains("用户名") && zh.contains("密码"), "{zh}");
    assert!(zh.contains("/static/plcdiag.css"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failed_logins_a_minute_per_user_or_per_address_get_429() {
    let gw =
        TestGateway::start(&auth_config("").replace("[auth]", "[auth]\ntrust_proxy = true")).await;
    let b = Browser::new(&gw, "");
    // Per user: five addresses fail for otto, the sixth is refused even with the password.
    for i in 1..=5 {
        let ip = format!("10.0.0.{i}");
        let r = b
            .login_with("otto", "wrong", None, &[("x-forwarded-for", &ip)])
            .await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let r = b
        .login_with("otto", "otto-pw", None, &[("x-forwarded-for", "10.0.0.6")])
        .await;
    assert_eq!(r.status, 429);
    let wait: u64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let r = b
        .login_with("ada", "ada-pw", None, &[("x-forwarded-for", "10.0.0.7")])
        .await;
    assert_eq!(r.status, 303, "another user is not limited");

    // Per address: five names fail from one address, then even a good login from it waits.
    for i in 1..=5 {
        let r = b
            .login_with(
                &format!("guess{i}"),
                "x",
                None,
                &[("x-forwarded-for", "10.0.0.9")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = b
        .login_with("ada", "ada-pw", None, &[("x-forwarded-for", "10.0.0.9")])
        .await;
    assert_eq!(r.status, 429);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_needs_the_csrf_token_and_ends_the_session() {
    let gw = TestGateway::start(&auth_config("")).await;
    let b = Browser::new(&gw, "");
    let s = b.login("otto", "otto-pw").await;
    let (status, _) = send(&gw.base, "POST", "/logout", Who::SessionWithoutCsrf(&s)).await;
    assert_eq!(status, 403);
    let (status, _) = send(&gw.base, "GET", "/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 200, "still logged in");
    let (status, headers) = send(&gw.base, "POST", "/logout", Who::SessionCsrfInForm(&s)).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers.get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    let c = set_cookie(&headers, "plcdiag_session").unwrap_or_default();
    assert!(flags(&c).contains(&"Max-Age=0".to_owned()), "{c}");
    let (status, _) = send(&gw.base, "GET", "/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 401, "the session is gone");
    let (status, _) = send(&gw.base, "GET", "/", Who::Session(&s)).await;
    assert_eq!(status, 303);
    gw.stop().await;
}

fn plcdiag() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_plcdiag"));
    c.kill_on_drop(true);
    c
}

#[tokio::test]
async fn passwd_prints_an_argon2id_hash_that_verifies_and_never_the_password() {
    let mut child = plcdiag()
        .args(["passwd", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    stdin
        .write_all(b"correct horse battery\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
    let out = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("correct horse") && !stderr.contains("correct horse"));
    let line = stdout.trim();
    assert!(line.starts_with("$argon2id$"), "{line}");
    let parsed = PasswordHash::new(line).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        argon2::Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok()
    );
    assert!(
        argon2::Argon2::default()
            .verify_password(b"correct horse battery!", &parsed)
            .is_err()
    );
    // The hash is accepted by the config as it is printed.
    let cfg = format!(
        "[[auth.users]]\nname = \"ann\"\npassword_hash = \"{line}\"\nrole = \"operator\"\n"
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    plcdiag::config::parse(&cfg, dir.path()).unwrap_or_else(|p| panic!("{p:?}"));

    let empty = plcdiag()
        .args(["passwd", "--stdin"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty.status.code(), Some(2), "an empty password is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_gateway_refuses_a_non_loopback_address_without_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = "[gateway]\nlisten = \"0.0.0.0:0\"\ndatabase = \"h.db\"\n";
    let cfg = plcdiag::config::parse(text, dir.path()).unwrap_or_else(|p| panic!("{p:?}"));
    let err = plcdiag::gateway::Gateway::start(cfg.clone(), None)
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(err.contains("--insecure-no-auth"), "{err}");

    let mut insecure = cfg.clone();
    insecure.auth.insecure_no_auth = true;
    let gw = plcdiag::gateway::Gateway::start(insecure, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(gw.http_addr.ip().is_unspecified());
    gw.shutdown().await.unwrap_or_else(|e| panic!("{e:#}"));

    let with_users = plcdiag::config::parse(&format!("{text}{}", auth_config("")), dir.path())
        .unwrap_or_else(|p| panic!("{p:?}"));
    let gw = plcdiag::gateway::Gateway::start(with_users, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    gw.shutdown().await.unwrap_or_else(|e| panic!("{e:#}"));

    // The command line says so before starting anything, with the config exit code.
    let file = dir.path().join("open.toml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let out = plcdiag()
        .arg("run")
        .arg("--config")
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-no-auth"));
    let out = plcdiag()
        .args(["demo", "--listen", "0.0.0.0:0", "--database"])
        .arg(dir.path().join("demo.db"))
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-no-auth"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_the_session_csrf_token_that_writes_and_logout_accept() {
    let gw = TestGateway::start(&auth_config("")).await;
    let b = Browser::new(&gw, "");
    let s = b.login("otto", "otto-pw").await;
    let html = client()
        .get(format!("{}/alarms", gw.base))
        .header("cookie", format!("plcdiag_session={}", s.id))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let doc = scraper::Html::parse_document(&html);
    let meta =
        scraper::Selector::parse(r#"meta[name="csrf-token"]"#).unwrap_or_else(|e| panic!("{e}"));
    let token = doc
        .select(&meta)
        .next()
        .and_then(|m| m.value().attr("content"))
        .unwrap_or_default();
    assert_eq!(token, s.csrf, "the page's token is the session's");
    let logout = scraper::Selector::parse(r#"form[action="/logout"] input[name="csrf"]"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let field = doc
        .select(&logout)
        .next()
        .and_then(|m| m.value().attr("value"))
        .unwrap_or_default();
    assert_eq!(field, s.csrf, "the logout form posts the token");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_rate_limit_counts_the_address_the_proxy_added() {
    let gw =
        TestGateway::start(&auth_config("").replace("[auth]", "[auth]\ntrust_proxy = true")).await;
    let b = Browser::new(&gw, "");
    // The client forges a different first entry each time; the proxy's last entry is the same.
    for i in 1..=5 {
        let forwarded = format!("192.0.2.{i}, 10.1.1.1");
        let r = b
            .login_with(
                &format!("guess{i}"),
                "x",
                None,
                &[("x-forwarded-for", &forwarded)],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = b
        .login_with(
            "ada",
            "ada-pw",
            None,
            &[("x-forwarded-for", "192.0.2.99, 10.1.1.1")],
        )
        .await;
    assert_eq!(r.status, 429);
    gw.stop().await;
}

/// Issue 12: a restart no longer logs operators out; the role is the config's at each request,
/// so a demoted or removed user, or one whose password changed, loses their rights with the
/// next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_a_restart_and_its_role_follows_the_config() {
    let text = auth_config("[gateway]\ndatabase = \"h.db\"\n");
    let gw = TestGateway::start(&text).await;
    let s = Browser::new(&gw, "").login("otto", "otto-pw").await;
    let dir = gw.stop().await;

    let gw = TestGateway::start_in(&text, dir).await;
    let (status, _) = send(&gw.base, "GET", "/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 200, "still logged in after a restart");
    let (status, _) = send(&gw.base, "POST", "/api/alarms/1/ack", Who::Session(&s)).await;
    assert_ne!(status, 403, "an operator may acknowledge");
    let dir = gw.stop().await;

    // Otto is a viewer now: the same session may read, not write.
    let demoted = text.replacen("role = \"operator\"", "role = \"viewer\"", 1);
    assert_ne!(demoted, text);
    let gw = TestGateway::start_in(&demoted, dir).await;
    let (status, _) = send(&gw.base, "GET", "/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 200);
    let (status, _) = send(&gw.base, "POST", "/api/alarms/1/ack", Who::Session(&s)).await;
    assert_eq!(status, 403, "the role of the config, not of the login");
    let dir = gw.stop().await;

    // A new password for Otto: his sessions end, as a password change after a leak must end them.
    let rehashed = text.replace(&hash("otto-pw"), &hash("otto-pw2"));
    assert_ne!(rehashed, text);
    let gw = TestGateway::start_in(&rehashed, dir).await;
    let (status, _) = send(&gw.base, "GET", "/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 401, "a changed password ends the session");
    let s = Browser::new(&gw, "").login("otto", "otto-pw2").await;
    let dir = gw.stop().await;

    // Otto is gone from the config: the session ends.
    let removed = rehashed.replacen("name = \"otto\"", "name = \"olga\"", 1);
    let gw = TestGateway::start_in(&removed, dir).await;
    let (status, _) = send(&gw.base, "GET", "/api/alarms", Who::Session(&s)).await;
    assert_eq!(status, 401);
    gw.stop().await;
}
