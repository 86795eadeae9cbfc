//! Shared helpers for the gateway's end-to-end tests: a gateway on port 0 with its history in
//! a temporary folder, simulators on port 0, polling until a condition holds.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plcdiag::config;
use plcdiag::gateway::Gateway;
use plcdiag::live::DeviceView;
use plcdiag_modbus::{Sim, SimHandle};

/// A gateway started from config text, with its own temp folder.
pub struct TestGateway {
    pub gateway: Gateway,
    pub dir: tempfile::TempDir,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestGateway {
    /// Starts a gateway; `database` in the text is relative to a fresh temp folder.
    pub async fn start(config_text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        Self::start_in(config_text, dir).await
    }

    /// Starts a gateway whose relative paths are in `dir` (to restart on the same history).
    pub async fn start_in(config_text: &str, dir: tempfile::TempDir) -> Self {
        // RUST_LOG=debug shows the gateway's logs in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let cfg =
            config::parse(config_text, dir.path()).unwrap_or_else(|p| panic!("config: {p:#?}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let gateway = Gateway::start(cfg, Some(listener))
            .await
            .unwrap_or_else(|e| panic!("start: {e:#}"));
        let base = format!("http://{}", gateway.http_addr);
        Self {
            gateway,
            dir,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// The live view of one device.
    pub fn device(&self, name: &str) -> DeviceView {
        self.gateway
            .live
            .device(name, chrono::Utc::now())
            .unwrap_or_else(|| panic!("no device {name}"))
    }

    /// GET `path` and parse the JSON body; returns status and body.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status().as_u16();
        let body = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: body is not JSON: {e}"));
        (status, body)
    }

    /// GET `path` as text (a page, the metrics).
    pub async fn get_text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .text()
            .await
            .unwrap_or_default()
    }

    /// Shuts down and hands back the temp folder.
    pub async fn stop(self) -> tempfile::TempDir {
        self.gateway
            .shutdown()
            .await
            .unwrap_or_else(|e| panic!("shutdown: {e:#}"));
        self.dir
    }
}

/// A Modbus simulator on a free loopback port with holding registers 0..10 = 100..110.
pub async fn modbus_sim() -> SimHandle {
    let regs: Vec<u16> = (100..110).collect();
    Sim::builder()
        .holding(0, &regs)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"))
}

/// Config text for one Modbus TCP device at `sim` reading hr:0 and hr:1.
pub fn modbus_device(name: &str, sim: &SimHandle, extra: &str) -> String {
    let port = sim.addr().map_or(0, |a| a.port());
    format!(
        "[[devices]]\nname = \"{name}\"\nkind = \"modbus\"\naddress = \"tcp://127.0.0.1:{port}\"\n{extra}\n\
         [[devices.tags]]\nname = \"r0\"\naddress = \"hr:0\"\n\
         [[devices.tags]]\nname = \"r1\"\naddress = \"hr:1\"\n"
    )
}

/// Config text of a gateway with its history in `h.db` and one Modbus device `boiler` at `sim`
/// whose tag `level` is hr:0, polled every 50 ms; rules and receivers go after it.
pub fn boiler_level(sim: &SimHandle) -> String {
    let port = sim.addr().map_or(0, |a| a.port());
    format!(
        "[gateway]\ndatabase = \"h.db\"\n\n[[devices]]\nname = \"boiler\"\nkind = \"modbus\"\n\
         address = \"tcp://127.0.0.1:{port}\"\ninterval = \"50ms\"\n\n\
         [[devices.tags]]\nname = \"level\"\naddress = \"hr:0\"\n"
    )
}

/// Polls `check` every 20 ms until it returns `Some`, failing the test after `limit`
/// (a limit for a hung test, not a timing claim).
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Python interpreter with the test peers installed (`scripts/setup-test-peers.sh`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PLCDIAG_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "no Python with the test peers: run scripts/setup-test-peers.sh (or set PLCDIAG_PYTHON)"
    );
}

/// A cheap argon2id hash for `[[auth.users]]` (tests log in often; the cost is part of the PHC
/// string, and the gateway verifies with it).
pub fn cheap_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(64, 1, 1, None).unwrap_or_else(|e| panic!("{e}"));
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"plcdiag-test-salt").unwrap_or_else(|e| panic!("{e}"));
    a.hash_password(password.as_bytes(), &salt)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}

/// The `Set-Cookie` header a response sets for cookie `name`.
pub fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value in a `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

/// The `value` of the hidden input `name` in a page (the login form's CSRF token).
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        .to_owned()
}
