//! The HTML pages, read the way a browser test would: status codes, then elements selected from
//! the parsed HTML (the DOM contract in `src/web/pages/mod.rs`), with a gateway polling
//! simulators; the live feed read from `/events` with reqwest.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestGateway, modbus_device, modbus_sim, wait_for};
use plcdiag_melsec::sim::{McSim, SimStation};
use plcdiag_s7::sim::{S7Sim, S7SimHandle, SimMode};
use scraper::{ElementRef, Html, Selector};

const LIMIT: Duration = Duration::from_secs(20);

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"))
}

/// GET `path` with extra headers: status, headers and the parsed page.
async fn page(
    gw: &TestGateway,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Html) {
    let mut req = gw.http.get(format!("{}{path}", gw.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = r.status().as_u16();
    let h = r.headers().clone();
    let text = r.text().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (status, h, Html::parse_document(&text))
}

fn one<'a>(doc: &'a Html, css: &str) -> ElementRef<'a> {
    doc.select(&sel(css))
        .next()
        .unwrap_or_else(|| panic!("no element {css} in\n{}", doc.html()))
}

fn attr<'a>(e: ElementRef<'a>, name: &str) -> &'a str {
    e.value().attr(name).unwrap_or_default()
}

fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_owned()
}

async fn cpu() -> S7SimHandle {
    S7Sim::builder()
        .identity("6ES7 315-2EH14-0AB0", "V3.2.6", "Line 4 CPU", "S C-1")
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"))
}

fn s7_config(sim: &S7SimHandle, gateway: &str) -> String {
    format!(
        r#"[gateway]
database = "h.db"
{gateway}

[[devices]]
name = "cpu"
kind = "s7"
address = "{}"
interval = "100ms"
timeout = "500ms"
status_interval = "200ms"

[[rules]]
name = "cpu_stop"
device = "cpu"
when = 'cpu_mode() == "STOP"'
priority = "critical"
message = "{{device}} is in STOP"
"#,
        sim.addr()
    )
}

async fn state_on_overview(gw: &TestGateway, device: &str) -> String {
    let (status, _, doc) = page(gw, "/", &[]).await;
    assert_eq!(status, 200);
    attr(
        one(&doc, &format!("[data-device=\"{device}\"]")),
        "data-state",
    )
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_cpu_shows_as_stop_on_the_overview_and_its_alarm_can_be_acknowledged() {
    let sim = cpu().await;
    let gw = TestGateway::start(&s7_config(&sim, "")).await;
    wait_for("cpu online on the overview", LIMIT, || async {
        (state_on_overview(&gw, "cpu").await == "online").then_some(())
    })
    .await;
    let (_, _, doc) = page(&gw, "/", &[]).await;
    assert_eq!(text(one(&doc, "#counts [data-count=\"online\"] b")), "1");
    assert_eq!(text(one(&doc, "#counts [data-count=\"stop\"] b")), "0");
    // Nothing happened yet: the journal says so inside its table (a live refresh of
    // #journal then replaces the message with the first entry).
    let (_, _, alarms) = page(&gw, "/alarms", &[]).await;
    one(&alarms, "#journal tr.empty");
    one(&alarms, "section.active-alarms #no-active-alarms");
    one(&doc, "input#device-filter");
    assert_eq!(attr(one(&doc, "#live-status"), "data-live"), "lost");
    assert_eq!(
        attr(one(&doc, "[data-device=\"cpu\"] td.name a"), "href"),
        "/devices/cpu"
    );

    sim.set_mode(SimMode::Stop);
    wait_for("cpu in STOP on the overview", LIMIT, || async {
        (state_on_overview(&gw, "cpu").await == "stop").then_some(())
    })
    .await;
    let (_, _, doc) = page(&gw, "/", &[]).await;
    assert_eq!(text(one(&doc, "#counts [data-count=\"stop\"] b")), "1");
    assert_eq!(text(one(&doc, "#counts [data-count=\"online\"] b")), "0");
    assert!(text(one(&doc, "[data-device=\"cpu\"] .badge")).contains("STOP"));

    // The rule raises a critical alarm; the alarms page lists it with its actions.
    let row = wait_for("the cpu_stop alarm on the alarms page", LIMIT, || async {
        let (status, _, doc) = page(&gw, "/alarms", &[]).await;
        assert_eq!(status, 200);
        doc.select(&sel("#active-alarms tr[data-alarm-id]"))
            .next()
            .map(|r| r.html())
    })
    .await;
    let frag = Html::parse_fragment(&format!("<table>{row}</table>"));
    let tr = one(&frag, "tr[data-alarm-id]");
    assert_eq!(attr(tr, "data-state"), "unacknowledged");
    assert_eq!(attr(tr, "data-priority"), "critical");
    let id = attr(tr, "data-alarm-id").to_owned();
    let msg = text(one(&frag, "tr td.msg"));
    assert!(msg.starts_with("cpu is in STOP"), "{msg}");
    one(&frag, "tr button[data-action=\"ack\"]");
    one(&frag, "tr button[data-action=\"shelve\"]");
    one(&frag, "tr input[name=\"note\"]");
    one(&frag, "tr select[name=\"duration\"]");
    let (_, _, doc) = page(&gw, "/alarms", &[]).await;
    one(&doc, "#kpis [data-kpi=\"total\"]");
    one(&doc, "#journal tr[data-transition=\"raised\"]");
    assert!(doc.select(&sel("#journal tr.empty")).next().is_none());
    assert_eq!(
        text(one(&doc, "#active-alarms tr[data-alarm-id] .astate")),
        "Unacknowledged"
    );
    // States and transitions in the page's language, the machine names in the attributes.
    let (_, _, zh) = page(&gw, "/alarms", &[("accept-language", "zh-CN")]).await;
    assert_eq!(
        text(one(&zh, "#active-alarms tr[data-alarm-id] .astate")),
        "未确认"
    );
    let raised = one(&zh, "#journal tr[data-transition=\"raised\"]");
    assert!(text(raised).contains("报警"), "{}", text(raised));
    assert!(
        zh.select(&sel(
            "select[name=\"state\"] option[value=\"unacknowledged\"]"
        ))
        .any(|o| text(o) == "未确认")
    );
    let overview = page(&gw, "/", &[]).await.2;
    assert_eq!(
        attr(
            one(&overview, "[data-device=\"cpu\"] td.alarms"),
            "data-alarms"
        ),
        "1"
    );

    // What the button sends: the JSON action with a note.
    let r = gw
        .http
        .post(format!("{}/api/alarms/{id}/ack", gw.base))
        .header("X-CSRF-Token", "")
        .json(&serde_json::json!({ "note": "key switch checked" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("ack: {e}"));
    assert_eq!(r.status().as_u16(), 200);
    let (_, _, doc) = page(&gw, "/alarms", &[]).await;
    let tr = one(&doc, &format!("tr[data-alarm-id=\"{id}\"]"));
    assert_eq!(attr(tr, "data-state"), "acknowledged");
    assert!(
        tr.select(&sel("button[data-action=\"ack\"]"))
            .next()
            .is_none(),
        "no ack button once acknowledged"
    );
    one(&doc, "#journal tr[data-transition=\"acknowledged\"]");
    gw.stop().await;
}

/// Reads the event stream until `want` holds for the text read so far.
async fn read_until(
    res: &mut reqwest::Response,
    seen: &mut String,
    what: &str,
    want: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !want(seen) {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}; got:\n{seen}"))
            .unwrap_or_else(|e| panic!("reading events: {e}"))
            .unwrap_or_else(|| panic!("the event stream ended before {what}; got:\n{seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_sends_device_rows_and_alarm_notices() {
    let sim = cpu().await;
    let gw = TestGateway::start(&s7_config(&sim, "")).await;
    wait_for("cpu online", LIMIT, || async {
        (gw.device("cpu").health.state == plcdiag::model::HealthState::Online).then_some(())
    })
    .await;
    let mut res = gw
        .http
        .get(format!("{}/events", gw.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /events: {e}"));
    assert_eq!(res.status().as_u16(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let mut seen = String::new();
    read_until(&mut res, &mut seen, "the device snapshot", |s| {
        s.contains("event: devices") && s.contains("\"name\":\"cpu\"")
    })
    .await;
    seen.clear();
    sim.set_mode(SimMode::Stop);
    read_until(&mut res, &mut seen, "the device row in STOP", |s| {
        s.contains("\"state\":\"stop\"")
    })
    .await;
    read_until(&mut res, &mut seen, "the alarm notice", |s| {
        s.contains("event: alarm") && s.contains("\"rule\":\"cpu_stop\"")
    })
    .await;
    // A browser still watching when the gateway stops: its stream ends with the shutdown
    // instead of holding the server open.
    let stopping = tokio::spawn(gw.stop());
    let end = tokio::time::timeout(LIMIT, async {
        loop {
            match res.chunk().await {
                Ok(Some(_)) => {}
                // The server finished the response: it ended the stream itself.
                Ok(None) => return Ok(()),
                // The connection was cut (the server gave up waiting and aborted it).
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    match end {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the event stream was cut, not ended, at shutdown: {e}"),
        Err(_) => panic!("the event stream did not end at shutdown"),
    }
    let _ = stopping.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_base_path_every_link_and_asset_starts_with_it() {
    let sim = modbus_sim().await;
    let text = format!(
        "[gateway]\nbase_path = \"/plcdiag/\"\n\n{}",
        modbus_device("boiler", &sim, "interval = \"50ms\"")
    );
    let gw = TestGateway::start(&text).await;
    for path in ["/plcdiag", "/plcdiag/alarms"] {
        let (status, _, doc) = page(&gw, path, &[]).await;
        assert_eq!(status, 200, "{path}");
        for a in doc.select(&sel("a[href]")) {
            let href = attr(a, "href");
            assert!(
                href == "/plcdiag" || href.starts_with("/plcdiag/"),
                "{path}: link {href}"
            );
        }
        for e in doc.select(&sel("link[href], script[src]")) {
            let url = attr(e, "href").to_owned() + attr(e, "src");
            assert!(url.starts_with("/plcdiag/static/"), "{path}: asset {url}");
        }
        assert_eq!(
            attr(one(&doc, "meta[name=\"plcdiag-base\"]"), "content"),
            "/plcdiag"
        );
    }
    let (_, _, doc) = page(&gw, "/plcdiag", &[]).await;
    assert_eq!(
        attr(one(&doc, "[data-device=\"boiler\"] td.name a"), "href"),
        "/plcdiag/devices/boiler"
    );
    let (status, _, _) = page(&gw, "/", &[]).await;
    assert_eq!(status, 404, "nothing outside the base path");
    let r = gw
        .http
        .get(format!("{}/plcdiag/events", gw.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("events: {e}"));
    assert_eq!(r.status().as_u16(), 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_follows_the_browser_and_the_switch() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_device("boiler", &sim, "")).await;

    let (_, _, doc) = page(&gw, "/", &[]).await;
    assert_eq!(attr(one(&doc, "html"), "lang"), "en");
    assert_eq!(text(one(&doc, "a[data-nav=\"alarms\"]")), "Alarms");

    let (_, _, doc) = page(
        &gw,
        "/alarms",
        &[("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")],
    )
    .await;
    assert_eq!(attr(one(&doc, "html"), "lang"), "zh-CN");
    assert_eq!(text(one(&doc, "a[data-nav=\"alarms\"]")), "报警");
    assert_eq!(
        text(one(&doc, "section.active-alarms h1"))
            .split_whitespace()
            .next(),
        Some("活动报警")
    );

    // The switch links keep the page and set the language.
    let (_, _, doc) = page(&gw, "/alarms?device=boiler", &[]).await;
    let zh = attr(one(&doc, "a[data-lang=\"zh-CN\"]"), "href").to_owned();
    assert_eq!(zh, "/alarms?device=boiler&lang=zh-CN");
    assert_eq!(
        attr(one(&doc, "a[data-lang=\"en\"]"), "href"),
        "/alarms?device=boiler&lang=en"
    );

    // Choosing Chinese sets the cookie; the cookie then wins over the browser.
    let (status, headers, doc) = page(&gw, "/?lang=zh-CN", &[("Accept-Language", "en")]).await;
    assert_eq!(status, 200);
    let cookie = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("plcdiag_lang=zh-CN;"), "{cookie}");
    assert_eq!(text(one(&doc, "a[data-nav=\"overview\"]")), "总览");
    let (_, _, doc) = page(
        &gw,
        "/",
        &[("Accept-Language", "en"), ("Cookie", "plcdiag_lang=zh-CN")],
    )
    .await;
    assert_eq!(attr(one(&doc, "html"), "lang"), "zh-CN");
    let (_, _, doc) = page(&gw, "/?lang=en", &[("Cookie", "plcdiag_lang=zh-CN")]).await;
    assert_eq!(attr(one(&doc, "html"), "lang"), "en");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_assets_have_their_types_and_caching_and_unknown_pages_are_404() {
    let sim = modbus_sim().await;
    let gw = TestGateway::start(&modbus_device("boiler", &sim, "")).await;
    let (_, _, doc) = page(&gw, "/", &[]).await;
    let css = attr(one(&doc, "link[rel=\"stylesheet\"]"), "href").to_owned();
    let js = attr(one(&doc, "script[src]"), "src").to_owned();
    for (url, ty) in [(&css, "text/css"), (&js, "text/javascript")] {
        let r = gw
            .http
            .get(format!("{}{url}", gw.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(r.status().as_u16(), 200, "{url}");
        let h = r.headers();
        let got = h
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(got.starts_with(ty), "{url}: {got}");
        let cache = h
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(cache.contains("immutable"), "{url}: {cache}");
        let etag = h
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // Unversioned: revalidated with the ETag.
        let plain = url.split('?').next().unwrap_or_default();
        let r = gw
            .http
            .get(format!("{}{plain}", gw.base))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{plain}: {e}"));
        assert_eq!(r.status().as_u16(), 304, "{plain}");
    }
    let (status, _, _) = page(&gw, "/static/nope.js", &[]).await;
    assert_eq!(status, 404);

    let (status, headers, doc) = page(&gw, "/no/such/page", &[]).await;
    assert_eq!(status, 404);
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{ct}");
    one(&doc, "#not-found");
    assert_eq!(attr(one(&doc, "#not-found a"), "href"), "/");
    let (status, _, _) = page(&gw, "/plcdiag", &[]).await;
    assert_eq!(status, 404);
    // The API keeps its JSON errors.
    let (status, body) = gw.get_json("/api/nothing").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "{body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_cclink_station_shows_as_a_station_fault() {
    let sim = McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "conveyor inputs"),
                SimStation::remote_io(5, "valve terminal"),
            ],
        )
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let config = format!(
        r#"[[devices]]
name = "plc"
kind = "melsec"
address = "{}"
interval = "100ms"
timeout = "500ms"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
name = "conveyor inputs"

[[devices.cclink.stations]]
number = 5
name = "valve terminal"
"#,
        sim.addr()
    );
    let gw = TestGateway::start(&config).await;
    wait_for("plc online", LIMIT, || async {
        (state_on_overview(&gw, "plc").await == "online").then_some(())
    })
    .await;
    sim.drop_station(0, 5, true);
    wait_for("plc with a station fault", LIMIT, || async {
        (state_on_overview(&gw, "plc").await == "cclink_fault").then_some(())
    })
    .await;
    let (_, _, doc) = page(&gw, "/?lang=zh-CN", &[]).await;
    let row = one(&doc, "[data-device=\"plc\"]");
    assert_eq!(
        text(one(&doc, "#counts [data-count=\"cclink_fault\"] b")),
        "1"
    );
    assert!(text(row).contains("CC-Link 站故障"), "{}", row.html());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_no_write_buttons_and_operators_do() {
    let sim = cpu().await;
    let auth = "\n[[auth.tokens]]\nname = \"wallboard\"\ntoken = \"viewer-token-0123456789\"\nrole = \"viewer\"\n\n\
                [[auth.tokens]]\nname = \"scada\"\ntoken = \"operator-token-0123456789\"\nrole = \"operator\"\n";
    let gw = TestGateway::start(&(s7_config(&sim, "") + auth)).await;
    sim.set_mode(SimMode::Stop);
    let viewer = [("Authorization", "Bearer viewer-token-0123456789")];
    let operator = [("Authorization", "Bearer operator-token-0123456789")];
    wait_for("the cpu_stop alarm on the alarms page", LIMIT, || async {
        let (status, _, doc) = page(&gw, "/alarms", &viewer).await;
        assert_eq!(status, 200);
        doc.select(&sel("tr[data-alarm-id]")).next().map(|_| ())
    })
    .await;
    let (_, _, doc) = page(&gw, "/alarms", &viewer).await;
    assert!(doc.select(&sel("button[data-action]")).next().is_none());
    assert_eq!(text(one(&doc, "#current-user")), "wallboard");
    let (_, _, doc) = page(&gw, "/alarms", &operator).await;
    one(&doc, "tr[data-alarm-id] button[data-action=\"ack\"]");
    one(&doc, "tr[data-alarm-id] button[data-action=\"shelve\"]");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_renders_a_thousand_devices_with_their_counts() {
    let mut text = String::new();
    for i in 0..1000 {
        // Configured but not polled: the page reads the live view only.
        text.push_str(&format!(
            "[[devices]]\nname = \"dev-{i:04}\"\nkind = \"modbus\"\naddress = \"tcp://127.0.0.1:1\"\nenabled = false\n\n"
        ));
    }
    let gw = TestGateway::start(&text).await;
    let started = std::time::Instant::now();
    let (status, _, doc) = page(&gw, "/", &[]).await;
    eprintln!("overview with 1000 devices: {:?}", started.elapsed());
    assert_eq!(status, 200);
    assert_eq!(doc.select(&sel("tr[data-device]")).count(), 1000);
    assert_eq!(text_of(&doc, "#counts [data-count=\"unknown\"] b"), "1000");
    one(&doc, "[data-device=\"dev-0999\"][data-state=\"unknown\"]");
    gw.stop().await;
}

fn text_of(doc: &Html, css: &str) -> String {
    text(one(doc, css))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s7_diagnostic_event_is_shown_in_the_chosen_language_with_its_remedy() {
    let sim = cpu().await;
    let gw = TestGateway::start(&s7_config(&sim, "")).await;
    wait_for("cpu online", LIMIT, || async {
        (gw.device("cpu").health.state == plcdiag::model::HealthState::Online).then_some(())
    })
    .await;
    // Module fault (entering state), a catalogued event.
    sim.push_event(0x3942, 0x53, 0x0004, 0);
    let zh = plcdiag_s7::catalog::describe(0x3942, plcdiag_s7::catalog::Lang::ZhCn);
    let en = plcdiag_s7::catalog::describe(0x3942, plcdiag_s7::catalog::Lang::En);
    wait_for("the event on the Chinese overview", LIMIT, || async {
        let (_, _, doc) = page(&gw, "/", &[("Accept-Language", "zh-CN")]).await;
        let diag = doc
            .select(&sel("[data-device=\"cpu\"] .diag-text"))
            .next()
            .map(text)?;
        (diag == zh.text).then_some(())
    })
    .await;
    let (_, _, doc) = page(&gw, "/", &[("Accept-Language", "zh-CN")]).await;
    if let Some(remedy) = zh.remedy {
        assert!(text_of(&doc, "[data-device=\"cpu\"] .remedy").contains(remedy));
    }
    let (_, _, doc) = page(&gw, "/", &[("Accept-Language", "en")]).await;
    assert!(text_of(&doc, "[data-device=\"cpu\"] .diag-text").starts_with(&*en.text));
    gw.stop().await;
}
