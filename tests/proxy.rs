//! The gateway behind nginx, configured with the very `location` block docs/DEPLOY.md shows:
//! the base path, login through the proxy, the forwarded headers and the live event stream.
//!
//! Needs Debian's nginx (`scripts/setup-nginx.sh`; `.ci/run` runs it) or `PLCDIAG_NGINX`
//! pointing at an nginx binary; without it this test fails and says so.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{TestGateway, cheap_hash, cookie_value, hidden, set_cookie as cookie};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::redirect::Policy;

const LIMIT: Duration = Duration::from_secs(20);

fn nginx_binary() -> PathBuf {
    let path = std::env::var_os("PLCDIAG_NGINX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    assert!(
        path.exists(),
        "{} not found: run scripts/setup-nginx.sh, or set PLCDIAG_NGINX",
        path.display()
    );
    path
}

/// The `location` block between the markers in docs/DEPLOY.md, aimed at `upstream`.
fn documented_location(upstream: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/DEPLOY.md"))
        .unwrap_or_else(|e| panic!("docs/DEPLOY.md: {e}"));
    let block = doc
        .split("<!-- nginx-location-begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- nginx-location-end -->").next())
        .unwrap_or_else(|| panic!("no nginx-location markers in docs/DEPLOY.md"));
    let block = block
        .trim()
        .trim_start_matches("```nginx")
        .trim_end_matches("```");
    assert!(
        block.contains("http://127.0.0.1:8080"),
        "the documented block should proxy to the default listen address: {block}"
    );
    block.replace("http://127.0.0.1:8080", upstream)
}

/// nginx in the foreground, killed on drop.
struct Nginx {
    child: tokio::process::Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(location: &str) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // nginx binds the port itself; ask the OS for a free one first.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             server {{\n    listen 127.0.0.1:{port};\n{location}\n  }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap_or_else(|e| panic!("{e}"));
        let child = tokio::process::Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting nginx: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let nginx = Self { child, base, dir };
        let probe = reqwest::Client::new();
        let url = format!("{}/healthz-of-nginx", nginx.base);
        common::wait_for("nginx to answer", LIMIT, || {
            let r = probe.get(&url).send();
            async move { r.await.ok() }
        })
        .await;
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_documented_nginx_block_serves_the_ui_under_its_base_path_with_login_and_live_feed() {
    let sim = common::modbus_sim().await;
    let config = format!(
        "[gateway]\ndatabase = \"h.db\"\nbase_path = \"/plcdiag\"\n\n{}\n\
         [auth]\ntrust_proxy = true\n[[auth.users]]\nname = \"otto\"\npassword_hash = \"{}\"\n\
         role = \"operator\"\n",
        common::modbus_device("boiler", &sim, "interval = \"100ms\""),
        cheap_hash("otto-pw"),
    );
    let gw = TestGateway::start(&config).await;
    let nginx = Nginx::start(&documented_location(&gw.base)).await;
    let base = nginx.base.clone();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let get = |path: &str, session: Option<&str>| {
        let mut r = http
            .get(format!("{base}{path}"))
            .header("accept", "text/html");
        if let Some(s) = session {
            r = r.header("cookie", format!("plcdiag_session={s}"));
        }
        r.send()
    };

    // Anonymous: the overview sends the browser to the login page, under the prefix.
    let r = get("/plcdiag", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 303, "{}", nginx.error_log());
    assert!(
        location(r.headers()).starts_with("/plcdiag/login"),
        "{:?}",
        r.headers()
    );
    // `/plcdiag/` goes to `/plcdiag` once, and nginx does not send it back (no loop).
    let r = get("/plcdiag/", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 308);
    assert_eq!(location(r.headers()), "/plcdiag");

    // Log in through the proxy; a client's own X-Forwarded-Proto is replaced by nginx's.
    let page = get("/plcdiag/login", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200);
    let form_cookie = cookie(page.headers(), "plcdiag_login")
        .map(|c| cookie_value(&c))
        .unwrap_or_else(|| panic!("no login cookie"));
    let csrf = hidden(&page.text().await.unwrap_or_default(), "csrf");
    let login = http
        .post(format!("{base}/plcdiag/login"))
        .header("cookie", format!("plcdiag_login={form_cookie}"))
        .header("x-forwarded-proto", "https")
        .form(&[
            ("username", "otto"),
            ("password", "otto-pw"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(login.status(), 303);
    assert_eq!(location(login.headers()), "/plcdiag");
    let set = cookie(login.headers(), "plcdiag_session")
        .unwrap_or_else(|| panic!("no session cookie: {:?}", login.headers()));
    assert!(set.contains("Path=/plcdiag"), "{set}");
    assert!(
        !set.contains("Secure"),
        "nginx said http, whatever the client claimed: {set}"
    );
    let session = cookie_value(&set);

    // The pages and their assets, all under the prefix.
    let overview = get("/plcdiag", Some(&session))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(overview.status(), 200);
    let html = overview.text().await.unwrap_or_default();
    assert!(html.contains(r#"href="/plcdiag/devices/boiler""#), "{html}");
    let js = get("/plcdiag/static/plcdiag.js", Some(&session))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(js.status(), 200);
    let device = get("/plcdiag/devices/boiler", Some(&session))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(device.status(), 200);

    // The live feed passes through unbuffered: its first event arrives while the stream is
    // still open (a buffering proxy would hold it back until the stream ends).
    let events = get("/plcdiag/events", Some(&session))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.status(), 200);
    let mut events = events;
    let mut seen = String::new();
    let first = tokio::time::timeout(LIMIT, async {
        while let Ok(Some(chunk)) = events.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: devices") && seen.contains("boiler") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(first, Ok(true), "{seen}\n{}", nginx.error_log());
    drop(events);
    drop(nginx);
    gw.stop().await;
    sim.stop().await;
}
