//! The `plcdiag` binary as users and service managers see it: exit codes, messages, signals.

mod common;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_plcdiag");
const LIMIT: Duration = Duration::from_secs(20);

fn plcdiag() -> Command {
    let mut c = Command::new(BIN);
    c.kill_on_drop(true).stdin(Stdio::null());
    c
}

/// Reads stdout lines until one contains `marker`; returns that line.
async fn line_with(
    child: &mut Child,
    marker: &str,
) -> (
    String,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("stdout not piped"));
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(LIMIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(marker) {
                return Some(line);
            }
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("no {marker:?} line within {LIMIT:?}"))
    .unwrap_or_else(|| panic!("stdout closed before a {marker:?} line"));
    (found, lines)
}

fn sigterm(child: &Child) {
    let pid = child.id().unwrap_or_else(|| panic!("child already gone"));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success());
}

#[tokio::test]
async fn check_config_accepts_the_example_and_exits_0() {
    let out = plcdiag()
        .args(["check-config", "examples/plcdiag.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (3 devices"));
}

#[tokio::test]
async fn check_config_reports_every_problem_with_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h\"\nintervall = \"1s\"\n\n[[devices]]\nname = \"b\"\nkind = \"modbus\"\naddress = \"h:nope\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = plcdiag()
        .arg("check-config")
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:5:1: devices[0]: unknown field `intervall`",
            file.display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{}:10:11:", file.display())), "{err}");
    assert!(err.contains("has 2 problems"), "{err}");
}

#[tokio::test]
async fn run_stops_on_sigterm_with_exit_0_and_flushes_history_and_logs_json() {
    let sim = common::modbus_sim().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listen = nothing_listening();
    let config = format!(
        "[gateway]\nlisten = \"{listen}\"\ndatabase = \"h.db\"\n{}",
        common::modbus_device("plc", &sim, "interval = \"50ms\"")
    );
    let file = dir.path().join("plcdiag.toml");
    std::fs::write(&file, config).unwrap_or_else(|e| panic!("{e}"));
    let mut gw = plcdiag()
        .args(["--log-format", "json", "run", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let (_line, _rest) = line_with(&mut gw, "API on").await;
    let http = reqwest::Client::new();
    common::wait_for("device online via the API", LIMIT, || async {
        let v: serde_json::Value = http
            .get(format!("http://{listen}/api/devices/plc"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["health"]["state"] == "online").then_some(())
    })
    .await;
    sigterm(&gw);
    let status = tokio::time::timeout(LIMIT, gw.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit after SIGTERM"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    gw.stderr
        .take()
        .unwrap_or_else(|| panic!("stderr"))
        .read_to_string(&mut stderr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
    assert!(stderr.contains("history flushed"), "{stderr}");
    let store = plcdiag::store::Store::open(&dir.path().join("h.db"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let h = store
        .history(
            "plc",
            chrono::Utc::now() - chrono::Duration::hours(1),
            chrono::Utc::now(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("device missing"));
    assert!(!h.samples.is_empty() && !h.timeline.is_empty());
    store.close().await;
}

#[tokio::test]
async fn run_with_an_invalid_config_exits_2_and_names_the_problem() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[gateway]\nlisten = \"nowhere\"\n").unwrap_or_else(|e| panic!("{e}"));
    let out = plcdiag()
        .arg("run")
        .arg("--config")
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(":2:10: gateway.listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `plcdiag demo` on a free port with its history in `dir`, stdout piped.
fn spawn_demo(dir: &tempfile::TempDir, extra: &[&str]) -> Child {
    plcdiag()
        .args(["demo", "--listen", "127.0.0.1:0", "--database"])
        .arg(dir.path().join("demo.db"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_demo_serves_its_simulated_devices_and_cpus_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut demo = spawn_demo(&dir, &[]);
    let (line, _rest) = line_with(&mut demo, "API:").await;
    let url = line
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    let http = reqwest::Client::new();
    let body = common::wait_for("six devices online", LIMIT, || async {
        let v: serde_json::Value = http.get(&url).send().await.ok()?.json().await.ok()?;
        let online = v["devices"]
            .as_array()?
            .iter()
            .filter(|d| d["health"]["state"] == "online")
            .count();
        (online == 6).then_some(v)
    })
    .await;
    let names: Vec<&str> = body["devices"]
        .as_array()
        .map(|d| d.iter().filter_map(|d| d["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "boiler-1",
            "packer-3",
            "chiller-2",
            "press-cpu",
            "oven-cpu",
            "assembly-plc"
        ]
    );
    let oven = &body["devices"][4];
    assert_eq!(oven["status"]["cpu_mode"]["mode"], "RUN", "{oven}");
    assert_eq!(
        oven["status"]["identity"]["order_number"],
        "6ES7 416-3XR05-0AB0"
    );
    // The boiler's o2_trim tag sits on a refused address: shown bad, with the device's reason.
    let o2 = &body["devices"][0]["values"][3];
    assert_eq!(o2["quality"], "bad");
    assert!(
        o2["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Illegal Data Address (0x02)")),
        "{o2}"
    );
    stop(demo).await;
}

#[tokio::test]
async fn the_demo_under_a_base_path_serves_the_ui_and_api_there_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut demo = spawn_demo(&dir, &["--base-path", "/plcdiag/"]);
    let (line, _rest) = line_with(&mut demo, "UI:").await;
    let ui = line
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    // The trailing slash of the flag is dropped; the overview is the prefix itself.
    assert!(ui.ends_with("/plcdiag"), "{line}");
    let root = ui.trim_end_matches("/plcdiag");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let page = common::wait_for("the overview under the base path", LIMIT, || async {
        let r = http.get(&ui).send().await.ok()?;
        (r.status() == 200).then_some(r.text().await.ok()?)
    })
    .await;
    assert!(
        page.contains(r#"href="/plcdiag/devices/oven-cpu""#),
        "{page}"
    );
    assert!(page.contains("/plcdiag/static/"), "{page}");
    let api = http
        .get(format!("{ui}/api/devices"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api.status(), 200);
    let outside = http
        .get(format!("{root}/api/devices"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outside.status(), 404, "only the prefix is served");
    // What a container's HEALTHCHECK runs: 0 while the gateway answers, 1 otherwise.
    let health = |url: String| async move {
        let out = plcdiag()
            .args(["healthcheck", &url, "--timeout", "2s"])
            .output()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, said) = health(format!("{ui}/healthz")).await;
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = health(format!("{root}/healthz")).await;
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("404"), "{said}");
    let (code, said) = health(format!("http://{}/healthz", nothing_listening())).await;
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("no answer"), "{said}");
    stop(demo).await;
}

#[tokio::test]
async fn a_base_path_that_is_not_a_path_is_refused_with_exit_2() {
    let out = plcdiag()
        .args(["demo", "--listen", "127.0.0.1:0", "--base-path", "plcdiag"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must start with `/`"), "{err}");
}

/// Starts `plcdiag sim ARGS` on a free port; returns the child and the address it printed.
async fn start_sim(args: &[&str]) -> (Child, String) {
    let mut sim = plcdiag()
        .arg("sim")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let (line, _lines) = line_with(&mut sim, "listening on").await;
    let addr = line.rsplit(' ').next().unwrap_or_default().to_owned();
    (sim, addr)
}

/// Stops a child with SIGTERM and checks it exits 0.
async fn stop(mut child: Child) {
    sigterm(&child);
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit after SIGTERM"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
}

/// Runs `plcdiag probe ARGS`; returns the exit code and stdout.
async fn probe(args: &[&str]) -> (Option<i32>, String) {
    let out = plcdiag()
        .arg("probe")
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// An address nothing listens on: bind a port, note it, close it.
fn nothing_listening() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("probe output is not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn probe_reads_a_simulator_and_exits_0_and_exits_3_when_nothing_answers() {
    let (sim, addr) = start_sim(&["modbus", "--registers", "20"]).await;
    let (code, out) = probe(&[
        &format!("modbus://{addr}?unit=1"),
        "hr:3",
        "coil:1",
        "hr:19",
        "--json",
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    let v = json(&out);
    assert_eq!(v["answered"], true);
    assert_eq!(
        v["values"][0]["value"], 3.0,
        "hr:3 holds its own address: {v}"
    );
    assert_eq!(
        v["values"][1]["value"], 0.0,
        "coils alternate from true at 0: {v}"
    );
    assert_eq!(v["values"][2]["value"], 19.0);

    let (code, out) = probe(&[
        &format!("modbus://{}", nothing_listening()),
        "--timeout",
        "500ms",
    ])
    .await;
    assert_eq!(code, Some(3));
    assert!(out.contains("no answer"), "{out}");
    let (code, _) = probe(&["ftp://x"]).await;
    assert_eq!(code, Some(2));
    stop(sim).await;
}

#[tokio::test]
async fn probe_s7_reads_identity_mode_and_diagnostics_from_the_s7_simulator() {
    let (sim, addr) = start_sim(&["s7", "--stop"]).await;
    let (code, out) = probe(&[
        &format!("s7://{addr}?rack=0&slot=2"),
        "DB1.DBD0:REAL",
        "DB9.DBW0",
        "--json",
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    let v = json(&out);
    let cpu = &v["cpu"];
    assert_eq!(cpu["mode"]["mode"], "STOP", "{v}");
    assert!(
        cpu["identity"]["order_number"]
            .as_str()
            .is_some_and(|o| o.starts_with("6ES7")),
        "{v}"
    );
    assert_eq!(
        cpu["diagnostic_buffer"][0]["event_id"], "0x4304",
        "the STOP is the newest entry: {v}"
    );
    assert_eq!(cpu["values"][0]["value"], 21.5);
    assert!(
        cpu["values"][1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("0x0A")),
        "{v}"
    );

    let (_, text) = probe(&[&format!("s7://{addr}"), "--entries", "2"]).await;
    assert!(text.contains("Mode:        STOP"), "{text}");
    assert!(
        text.contains("0x4304  STOP caused by PG STOP operation"),
        "{text}"
    );

    let (code, _) = probe(&[
        &format!("s7://{}", nothing_listening()),
        "--timeout",
        "500ms",
    ])
    .await;
    assert_eq!(code, Some(3));
    stop(sim).await;
}

#[tokio::test]
async fn probe_mc_reads_cpu_state_and_the_cclink_station_map_from_the_melsec_simulator() {
    let (sim, addr) = start_sim(&["melsec", "--stations", "6"]).await;
    let (code, out) = probe(&[&format!("mc://{addr}?stations=1-6"), "D5:INT", "--json"]).await;
    assert_eq!(code, Some(0), "{out}");
    let v = json(&out);
    assert_eq!(v["plc"]["cpu"]["run_state"], "RUN", "{v}");
    assert_eq!(v["plc"]["cclink"]["line_ok"], true, "{v}");
    let stations = v["plc"]["cclink"]["stations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(stations.len(), 6, "{v}");
    assert!(stations.iter().all(|s| s["down"] == false), "{v}");
    assert_eq!(
        v["plc"]["values"][0]["value"], 5.0,
        "D0.. hold their own numbers: {v}"
    );

    let (_, text) = probe(&[&format!("mc://{addr}")]).await;
    assert!(
        text.contains("assuming one master refreshed to SB0000/SW0000 with up to 64 stations"),
        "{text}"
    );
    let (code, _) = probe(&[
        &format!("mc://{}", nothing_listening()),
        "--timeout",
        "500ms",
    ])
    .await;
    assert_eq!(code, Some(3));
    let (code, _) = probe(&["mc://plc-without-port"]).await;
    assert_eq!(code, Some(2));
    stop(sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_sends_one_signed_message_and_reports_the_answer() {
    use axum::http::HeaderMap;
    // A receiver that accepts once, then refuses: exit 0, then 1.
    let (tx, mut got) = tokio::sync::mpsc::unbounded_channel::<(HeaderMap, String)>();
    let answers = std::sync::Arc::new(std::sync::Mutex::new(vec![400u16, 200]));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let answers = answers.clone();
            async move {
                let _ = tx.send((headers, body));
                let status = answers.lock().ok().and_then(|mut a| a.pop()).unwrap_or(500);
                (
                    axum::http::StatusCode::from_u16(status)
                        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                    "thanks",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("notify.toml");
    let text = format!(
        "[[receivers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"http://{addr}/hook\"\nsecret = \"hook-secret\"\n"
    );
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));

    let out = plcdiag()
        .args(["notify", "test", "ops", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("answered HTTP 200") && stdout.contains("delivered"),
        "{stdout}"
    );
    let (headers, body) = got.recv().await.unwrap_or_default();
    assert!(body.contains("\"plcdiag_test\""), "{body}");
    let signature = headers
        .get("x-plcdiag-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(signature.starts_with("sha256="), "signed: {headers:?}");

    let out = plcdiag()
        .args(["notify", "test", "ops", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a refusal: {stdout}");
    assert!(stdout.contains("rejected"), "{stdout}");

    let out = plcdiag()
        .args(["notify", "test", "nobody", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no receiver named `nobody`"));
}

/// The JSON-array instruction `name [...]` of the Dockerfile, as arguments.
fn dockerfile_args(dockerfile: &str, name: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(name)?.trim_start();
            // HEALTHCHECK has options before its CMD.
            Some(
                rest.split_once("CMD ")
                    .map_or(rest, |(_, cmd)| cmd)
                    .to_owned(),
            )
        })
        .unwrap_or_else(|| panic!("no {name} in the Dockerfile"));
    serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{name} {line}: {e}"))
}

#[tokio::test]
async fn the_container_image_commands_are_ones_the_binary_takes() {
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile"))
        .unwrap_or_else(|e| panic!("{e}"));
    let entry = dockerfile_args(&dockerfile, "ENTRYPOINT");
    assert_eq!(entry, ["plcdiag"]);
    for name in ["CMD", "HEALTHCHECK"] {
        let mut args = dockerfile_args(&dockerfile, name);
        if name == "HEALTHCHECK" {
            assert_eq!(args.first().map(String::as_str), Some("plcdiag"));
            args.remove(0);
        }
        // The same words with --help: clap exits 0 only if every one of them is known.
        let out = plcdiag()
            .args(&args)
            .arg("--help")
            .output()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The image's health check asks the port the image exposes.
    assert!(dockerfile.contains("EXPOSE 8080"));
    let help = plcdiag()
        .args(["healthcheck", "--help"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&help.stdout).contains("http://127.0.0.1:8080/healthz"));
}
