//! The HTTP API against a gateway polling simulators.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{TestGateway, modbus_device, modbus_sim, python, wait_for};
use tokio::io::AsyncWriteExt;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_devices_tells_the_truth_after_a_device_is_killed() {
    let a = modbus_sim().await;
    let b = modbus_sim().await;
    let text = format!(
        "{}\n{}",
        modbus_device(
            "a",
            &a,
            "interval = \"50ms\"\ntimeout = \"200ms\"\ndemote_after = 0"
        ),
        modbus_device("b", &b, "interval = \"50ms\"")
    );
    let gw = TestGateway::start(&text).await;
    let body = wait_for("both online in the API", LIMIT, || async {
        let (status, body) = gw.get_json("/api/devices").await;
        assert_eq!(status, 200);
        let states: Vec<String> = body["devices"]
            .as_array()?
            .iter()
            .map(|d| d["health"]["state"].as_str().unwrap_or("").to_owned())
            .collect();
        (states == ["online", "online"]).then_some(body)
    })
    .await;
    assert_eq!(body["devices"][0]["name"], "a");
    assert_eq!(body["devices"][0]["values"][0]["tag"], "r0");
    assert_eq!(body["devices"][0]["values"][0]["value"], 100.0);
    assert_eq!(body["devices"][0]["values"][0]["quality"], "good");
    assert!(body["devices"][0]["values"][0]["age_ms"].as_i64().is_some());
    assert!(body["devices"][0]["health"]["rtt_ms"].as_f64().is_some());

    a.stop().await;
    let dev = wait_for("a offline in the API", LIMIT, || async {
        let (_, d) = gw.get_json("/api/devices/a").await;
        (d["health"]["state"] == "offline").then_some(d)
    })
    .await;
    assert!(
        dev["health"]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{dev}"
    );
    assert_eq!(
        dev["values"][0]["quality"], "stale",
        "a dead device's values are stale: {dev}"
    );
    assert_eq!(
        dev["values"][0]["value"], 100.0,
        "the last known value stays visible"
    );
    let (_, b_now) = gw.get_json("/api/devices/b").await;
    assert_eq!(b_now["health"]["state"], "online");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_endpoint_returns_timeline_and_samples_and_rejects_bad_windows() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_device("plc", &sim, "interval = \"50ms\"")).await;
    wait_for("a stored sample", LIMIT, || async {
        let (status, h) = gw.get_json("/api/devices/plc/history").await;
        assert_eq!(status, 200);
        (h["samples"].as_array().is_some_and(|s| !s.is_empty())
            && h["timeline"].as_array().is_some_and(|t| !t.is_empty()))
        .then_some(())
    })
    .await;
    let (status, h) = gw
        .get_json("/api/devices/plc/history?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z")
        .await;
    assert_eq!(status, 200);
    assert_eq!(h["samples"].as_array().map(Vec::len), Some(0));
    let (status, e) = gw.get_json("/api/devices/plc/history?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("`from`")),
        "{e}"
    );
    let (status, _) = gw
        .get_json("/api/devices/plc/history?from=2000&to=1000")
        .await;
    assert_eq!(status, 400);
    let (status, e) = gw.get_json("/api/devices/nope").await;
    assert_eq!(status, 404);
    assert_eq!(e["error"], "no device named `nope`");
    let (status, _) = gw.get_json("/api/devices/nope/history").await;
    assert_eq!(status, 404);
    let (status, _) = gw.get_json("/api/nothing-here").await;
    assert_eq!(status, 404);
    let (status, h) = gw.get_json("/healthz").await;
    assert_eq!((status, h["status"].as_str()), (200, Some("ok")));
    gw.stop().await;
}

/// The exposition is parsed by the Prometheus project's own Python parser, not by ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_and_count_polls_errors_and_rtt() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_device(
        "plc",
        &sim,
        "interval = \"50ms\"\ntimeout = \"200ms\"\ndemote_after = 0",
    ))
    .await;
    wait_for("online", LIMIT, || async {
        (gw.device("plc").health.state.as_str() == "online").then_some(())
    })
    .await;
    sim.stop().await;
    wait_for("offline", LIMIT, || async {
        (gw.device("plc").health.state.as_str() == "offline").then_some(())
    })
    .await;

    let resp = gw
        .http
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let text = resp.text().await.unwrap_or_else(|e| panic!("{e}"));

    let script = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.setdefault(s.name, []).append([s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = tokio::process::Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("python: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    stdin
        .write_all(text.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
    let out = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "parser rejected the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let value = |name: &str, device: &str| -> f64 {
        parsed[name]
            .as_array()
            .and_then(|v| v.iter().find(|s| s[0]["device"] == device))
            .and_then(|s| s[1].as_f64())
            .unwrap_or_else(|| panic!("no {name} for {device} in {parsed}"))
    };
    assert!(value("plcdiag_polls_total", "plc") >= 1.0);
    assert!(value("plcdiag_poll_rtt_seconds_count", "plc") >= 1.0);
    assert_eq!(value("plcdiag_device_up", "plc"), 0.0);
    let errors: f64 = parsed["plcdiag_poll_errors_total"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|s| s[0]["device"] == "plc")
                .filter_map(|s| s[1].as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    assert!(errors >= 1.0, "{parsed}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_everything_lives_under_the_base_path() {
    let sim = modbus_sim().await;
    let text = format!(
        "[gateway]\nbase_path = \"/plcdiag/\"\n\n{}",
        modbus_device("a", &sim, "interval = \"50ms\"")
    );
    let gw = TestGateway::start(&text).await;
    let (status, body) = gw.get_json("/plcdiag/api/devices").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["devices"][0]["name"], "a");
    let (status, _) = gw.get_json("/plcdiag/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = gw.get_json("/api/devices").await;
    assert_eq!(status, 404, "nothing outside the base path");
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .get(format!("{}/plcdiag/", gw.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.status().as_u16(),
        308,
        "the overview with a slash redirects"
    );
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/plcdiag")
    );
    gw.stop().await;
}
