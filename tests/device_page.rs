//! The device page (issue #6) against a gateway polling the simulators: identity, mode and its
//! timeline, tags, the S7 diagnostic buffer with its class filter and module status, the
//! MELSEC station map with a dropped and a joined station, Chinese texts, the 404 page, and
//! the device page's live feed (`/events?device=NAME`).
//! Elements are selected from the parsed HTML, as the browser tests select them.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestGateway, wait_for};
use plcdiag_melsec::sim::{McSim, McSimHandle, SimStation};
use plcdiag_s7::sim::{S7Sim, S7SimHandle};
use scraper::{ElementRef, Html, Selector};

const LIMIT: Duration = Duration::from_secs(20);

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"))
}

/// GET `path` as a browser would, with an optional `Accept-Language`.
async fn get_page(gw: &TestGateway, path: &str, accept_language: Option<&str>) -> (u16, Html) {
    let mut req = gw.http.get(format!("{}{path}", gw.base));
    if let Some(l) = accept_language {
        req = req.header("Accept-Language", l);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (status, Html::parse_document(&body))
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&sel(css)).collect()
}

fn text(e: &ElementRef<'_>) -> String {
    e.text().collect()
}

/// Waits until the page at `path` has an element matching `css`; returns the page.
async fn page_with(gw: &TestGateway, path: &str, css: &str) -> Html {
    wait_for(css, LIMIT, || async {
        let (status, doc) = get_page(gw, path, None).await;
        (status == 200 && !select(&doc, css).is_empty()).then_some(doc)
    })
    .await
}

async fn cpu() -> S7SimHandle {
    let mut db10 = vec![0u8; 16];
    db10[4..8].copy_from_slice(&21.5f32.to_be_bytes());
    S7Sim::builder()
        .identity(
            "6ES7 315-2EH14-0AB0",
            "V3.2.6",
            "Line 4 CPU",
            "S C-X4U421302009",
        )
        .db(10, &db10)
        .cycle_times(12, 3, 40)
        .module(0, 4, 256)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"))
}

fn s7_config(sim: &S7SimHandle) -> String {
    format!(
        "[gateway]\ndatabase = \"h.db\"\n\n[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"{}\"\n\
         interval = \"100ms\"\ntimeout = \"500ms\"\nstatus_interval = \"200ms\"\n\n\
         [[devices.tags]]\nname = \"temperature\"\naddress = \"DB10.DBD4:REAL\"\nunit = \"°C\"\n",
        sim.addr()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s7_page_shows_identity_mode_tags_modules_and_a_filterable_diagnostic_buffer() {
    let sim = cpu().await;
    let gw = TestGateway::start(&s7_config(&sim)).await;
    // Tags and module status are read by different polls: wait for both.
    page_with(
        &gw,
        "/devices/cpu",
        r#"table#tags tr[data-tag="temperature"][data-quality="good"]"#,
    )
    .await;
    let doc = page_with(
        &gw,
        "/devices/cpu",
        r#"#modules [data-slot="4"][data-state="ok"]"#,
    )
    .await;
    let identity = select(&doc, "#identity")
        .iter()
        .map(text)
        .collect::<String>();
    assert!(identity.contains("6ES7 315-2EH14-0AB0"), "{identity}");
    assert!(identity.contains("V3.2.6"), "{identity}");
    assert!(identity.contains("S C-X4U421302009"), "{identity}");
    let mode = select(&doc, "#cpu-mode");
    assert_eq!(mode.len(), 1);
    assert_eq!(mode[0].value().attr("data-mode"), Some("RUN"));
    for chart in ["svg#mode-timeline", "svg#cycle-trend"] {
        let svg = select(&doc, chart);
        assert_eq!(svg.len(), 1, "{chart}");
        assert!(svg[0].value().attr("viewBox").is_some(), "{chart}");
    }
    assert!(
        !select(
            &doc,
            r#"table#tags tr[data-tag="temperature"][data-quality="good"]"#
        )
        .is_empty()
    );
    assert!(!select(&doc, "select#diag-class").is_empty());

    // A module fault: the CPU writes 0x3942 (entering) and the module shows as faulty.
    sim.set_module_fault(0, 4, true);
    sim.push_event(0x4302, 0x64, 0, 0);
    let doc = page_with(
        &gw,
        "/devices/cpu",
        r#"table#diag-buffer tr[data-event-id="0x4302"]"#,
    )
    .await;
    let doc = if select(&doc, r#"#modules [data-slot="4"][data-state="fault"]"#).is_empty() {
        page_with(
            &gw,
            "/devices/cpu",
            r#"#modules [data-slot="4"][data-state="fault"]"#,
        )
        .await
    } else {
        doc
    };
    let row = select(
        &doc,
        r#"table#diag-buffer tr[data-event-id="0x3942"][data-entering="true"]"#,
    );
    assert_eq!(row.len(), 1, "one module-error row");
    assert!(text(&row[0]).contains("Module error"), "{}", text(&row[0]));

    // The class filter narrows the rows to class 3.
    let (_, filtered) = get_page(&gw, "/devices/cpu?class=3", None).await;
    let rows = select(&filtered, "table#diag-buffer tbody tr");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.value().attr("data-class") == Some("3")),
        "only class 3 rows"
    );
    assert!(select(&filtered, r#"tr[data-event-id="0x4302"]"#).is_empty());
    assert_eq!(
        select(&filtered, "select#diag-class option[selected]")
            .first()
            .and_then(|o| o.value().attr("value")),
        Some("3")
    );
    // A time window in the future has no rows.
    let (_, empty) = get_page(&gw, "/devices/cpu?from=2999-01-01T00:00", None).await;
    assert!(select(&empty, "table#diag-buffer tbody tr").is_empty());

    // In Chinese the event text comes from the catalogue in Chinese.
    let zh = plcdiag_s7::catalog::describe(0x3942, plcdiag_s7::catalog::Lang::ZhCn).text;
    for (path, header) in [
        ("/devices/cpu?lang=zh-CN", None),
        ("/devices/cpu", Some("zh-CN,zh;q=0.9")),
    ] {
        let (_, doc) = get_page(&gw, path, header).await;
        let row = select(&doc, r#"table#diag-buffer tr[data-event-id="0x3942"]"#);
        assert!(
            row.first().is_some_and(|r| text(r).contains(&*zh)),
            "{path}: Chinese text {zh}"
        );
    }

    // The 7-day window renders too.
    let (status, doc) = get_page(&gw, "/devices/cpu?window=7d", None).await;
    assert_eq!(status, 200);
    assert_eq!(select(&doc, "svg#cycle-trend").len(), 1);
    gw.stop().await;
}

async fn plc() -> McSimHandle {
    McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "conveyor inputs"),
                SimStation::remote_device(3, 2, "inverter"),
                SimStation::remote_io(5, "valve terminal"),
            ],
        )
        .words("D100", &[1234])
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"))
}

fn melsec_config(sim: &McSimHandle) -> String {
    format!(
        r#"[[devices]]
name = "plc"
kind = "melsec"
address = "{addr}"
interval = "100ms"
timeout = "500ms"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 1
name = "conveyor inputs"

[[devices.cclink.stations]]
number = 3
occupies = 2
name = "inverter"

[[devices.cclink.stations]]
number = 5
name = "valve terminal"
model = "AJ65SBTB1-16D"

[[devices.tags]]
name = "count"
address = "D100:INT"
"#,
        addr = sim.addr()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_melsec_page_shows_the_station_map_with_a_dropped_and_a_joined_station() {
    let sim = plc().await;
    let gw = TestGateway::start(&melsec_config(&sim)).await;
    let map = r#"section.station-map[data-network="line 3"]"#;
    let doc = page_with(
        &gw,
        "/devices/plc",
        &format!("{map} [data-station=\"5\"][data-state=\"ok\"]"),
    )
    .await;
    // Station 3 occupies 3 and 4: one element, no separate 4.
    let joined = select(&doc, &format!("{map} [data-station=\"3\"]"));
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].value().attr("data-occupies"), Some("2"));
    assert!(select(&doc, &format!("{map} .grid [data-station=\"4\"]")).is_empty());
    assert_eq!(
        select(&doc, "#cpu-mode")
            .first()
            .and_then(|m| m.value().attr("data-mode")),
        Some("RUN")
    );
    assert_eq!(select(&doc, "svg#link-scan-trend").len(), 1);
    assert_eq!(select(&doc, "svg#mode-timeline").len(), 1);
    assert!(
        !select(
            &doc,
            r#"table#tags tr[data-tag="count"][data-quality="good"]"#
        )
        .is_empty()
    );

    sim.drop_station(0, 5, true);
    let down = format!("{map} .grid [data-station=\"5\"][data-state=\"down\"]");
    let doc = page_with(&gw, "/devices/plc", &down).await;
    let title = select(&doc, &down)
        .first()
        .and_then(|s| s.value().attr("title").map(str::to_owned))
        .unwrap_or_default();
    assert!(
        title.contains("Cause:") && title.contains("What to do:"),
        "{title}"
    );

    let (_, doc) = get_page(&gw, "/devices/plc?lang=zh-CN", None).await;
    let title = select(&doc, &down)
        .first()
        .and_then(|s| s.value().attr("title").map(str::to_owned))
        .unwrap_or_default();
    assert!(
        title.contains("原因") && title.contains("处理措施"),
        "{title}"
    );
    let doc = page_with(
        &gw,
        "/devices/plc",
        r#"svg#station-timeline rect.span[data-state="DOWN 5"]"#,
    )
    .await;
    assert_eq!(
        select(
            &doc,
            "section.station-map .station-causes [data-station=\"5\"]"
        )
        .len(),
        1
    );

    // A CPU error shows with its code, in the history, and in Chinese from the error table.
    sim.set_cpu_error(Some(5000));
    let doc = page_with(&gw, "/devices/plc", r#"#cpu-error[data-code="5000"]"#).await;
    assert!(
        !select(
            &doc,
            r#"table#cpu-errors tr[data-code="5000"][data-entering="true"]"#
        )
        .is_empty()
    );
    let zh = plcdiag_melsec::errors::describe(
        5000,
        plcdiag_melsec::Series::Q,
        plcdiag_melsec::errors::Lang::ZhCn,
    )
    .text;
    let (_, doc) = get_page(&gw, "/devices/plc?lang=zh-CN", None).await;
    let error = select(&doc, "#cpu-error")
        .iter()
        .map(text)
        .collect::<String>();
    assert!(error.contains(&*zh), "{error} should contain {zh}");
    gw.stop().await;
}

/// Reads the event stream `res` until `want` holds for the text read so far or `limit` has
/// passed; returns the text and whether `want` held.
async fn read_events(
    res: &mut reqwest::Response,
    limit: Duration,
    want: impl Fn(&str) -> bool,
) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = String::new();
    while !want(&seen) {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => panic!("the event stream ended; got:\n{seen}"),
            Ok(Err(e)) => panic!("reading events: {e}; got:\n{seen}"),
            Err(_) => return (seen, false),
        }
    }
    (seen, true)
}

async fn open_events(gw: &TestGateway, query: &str) -> reqwest::Response {
    let res = gw
        .http
        .get(format!("{}/events{query}", gw.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /events{query}: {e}"));
    assert_eq!(res.status().as_u16(), 200, "/events{query}");
    res
}

/// The device page's feed: `device` events for the page's device (whose page then shows the
/// new entry), none for an unknown name, none on the overview's feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_feed_tells_a_device_page_of_its_new_diagnostic_and_no_other_page() {
    let sim = cpu().await;
    let gw = TestGateway::start(&s7_config(&sim)).await;
    // A page rendered once the CPU is fully read (mode, modules), so nothing else changes.
    page_with(&gw, "/devices/cpu", r#"#cpu-mode[data-mode="RUN"]"#).await;
    let doc = page_with(
        &gw,
        "/devices/cpu",
        r#"#modules [data-slot="4"][data-state="ok"]"#,
    )
    .await;
    let key = select(&doc, ".device-page[data-live-key]")
        .first()
        .and_then(|p| p.value().attr("data-live-key").map(str::to_owned))
        .unwrap_or_else(|| panic!("the page carries its live key"));
    assert!(!key.is_empty());
    let mut mine = open_events(&gw, &format!("?device=cpu&key={key}")).await;
    let mut unknown = open_events(&gw, "?device=nope%3Cb%3E").await;
    let mut overview = open_events(&gw, "").await;

    // A state change, not the round-trip time that moves with every poll.
    let device_event =
        |s: &str| s.contains("event: device\ndata: {\"device\":\"cpu\",\"why\":\"state\"}");
    // Nothing the page shows has changed yet: no state event before the diagnostic.
    let (seen, early) = read_events(&mut mine, Duration::from_secs(1), device_event).await;
    assert!(!early, "a state event before anything changed:\n{seen}");
    sim.push_event(0x4302, 0x64, 0, 0);
    let (seen, got) = read_events(&mut mine, LIMIT, device_event).await;
    assert!(got, "a device event for cpu; got:\n{seen}");
    // What the event tells the page to fetch shows the entry.
    page_with(
        &gw,
        "/devices/cpu",
        r#"table#diag-buffer tr[data-event-id="0x4302"][data-key]"#,
    )
    .await;

    // The other feeds saw the same seconds go by: rows and heartbeats, never a `device` event.
    for (what, res) in [
        ("?device=nope<b>", &mut unknown),
        ("the overview", &mut overview),
    ] {
        let (seen, _) = read_events(res, Duration::from_secs(2), |_| false).await;
        assert!(seen.contains("event: devices\n"), "{what}: {seen}");
        assert!(!seen.contains("event: device\n"), "{what}: {seen}");
    }
    drop((mine, unknown, overview));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_device_gets_the_404_page() {
    let gw = TestGateway::start("").await;
    let (status, doc) = get_page(&gw, "/devices/nope%3Cb%3E", None).await;
    assert_eq!(status, 404);
    assert_eq!(select(&doc, "#not-found").len(), 1);
    assert!(select(&doc, "b").is_empty(), "the name is escaped");
    gw.stop().await;
}

/// A year of stored history (a cycle time every 10 minutes, a mode change a day, 20,000
/// diagnostic events): the page draws at most 500 points per trend and one page of 100 table
/// rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_history_is_downsampled_and_limited() {
    // Nothing listens on port 1: the device stays offline and only the stored history shows.
    let gw = TestGateway::start(
        "[gateway]\ndatabase = \"h.db\"\n\n[[devices]]\nname = \"cpu\"\nkind = \"s7\"\n\
         address = \"127.0.0.1:1\"\ninterval = \"1s\"\ntimeout = \"200ms\"\n",
    )
    .await;
    let db = gw.dir.path().join("h.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM devices WHERE name = 'cpu'")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp_millis();
    let year = 365 * 86_400_000i64;
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    for i in 0..(year / 600_000) {
        let at = now - year + i * 600_000;
        let ms = 10 + i % 17;
        sqlx::query("INSERT INTO device_status (device_id, at_ms, kind, value) VALUES (?, ?, 'cycle_times', ?)")
            .bind(id)
            .bind(at)
            .bind(format!(r#"{{"current_ms":{ms},"min_ms":3,"max_ms":40}}"#))
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // What the store writer writes beside it for the chart.
        let v = plcdiag::store::series::SeriesValue::Number(ms as f64);
        plcdiag::store::series::insert(&mut tx, id, "cycle_ms", at, &v)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if i % 144 == 0 {
            let mode = if (i / 144) % 2 == 0 { "RUN" } else { "STOP" };
            sqlx::query("INSERT INTO device_status (device_id, at_ms, kind, value) VALUES (?, ?, 'cpu_mode', ?)")
                .bind(id)
                .bind(at)
                .bind(format!(r#"{{"mode":"{mode}","previous":null,"changed_at":null}}"#))
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    for i in 0..20_000i64 {
        sqlx::query(
            "INSERT INTO diag_events (device_id, gateway_ms, device_time, event_id, class, entering, text, details, raw)
             VALUES (?, ?, NULL, 14658, 3, 1, 'Module error', '{}', ?)",
        )
        .bind(id)
        .bind(now - i * 60_000)
        .bind(i.to_be_bytes().to_vec())
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // One STOP (class 4) older than all 20,000 module errors: the class filter must find it.
    sqlx::query(
        "INSERT INTO diag_events (device_id, gateway_ms, device_time, event_id, class, entering, text, details, raw)
         VALUES (?, ?, NULL, 17156, 4, 1, 'STOP', '{}', X'4304')",
    )
    .bind(id)
    .bind(now - 20 * 86_400_000)
    .execute(&mut *tx)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;

    let (_, doc) = get_page(&gw, "/devices/cpu?class=4", None).await;
    let rows = select(&doc, "table#diag-buffer tbody tr[data-class=\"4\"]");
    assert_eq!(
        rows.len(),
        1,
        "the old STOP behind 20,000 newer module errors"
    );
    let count = select(&doc, "p.row-count")
        .first()
        .map(text)
        .unwrap_or_default();
    assert!(count.starts_with("1 ") && count.ends_with(" 1"), "{count}");
    let (_, doc) = get_page(&gw, "/devices/cpu", None).await;
    let count = select(&doc, "p.row-count")
        .first()
        .map(text)
        .unwrap_or_default();
    assert!(count.ends_with("5000+"), "counted up to the limit: {count}");

    for (window, spans) in [("1h", 1), ("24h", 1), ("7d", 7)] {
        let (status, doc) = get_page(&gw, &format!("/devices/cpu?window={window}"), None).await;
        assert_eq!(status, 200);
        let points: usize = select(&doc, "svg#cycle-trend polyline")
            .iter()
            .filter_map(|p| p.value().attr("points"))
            .map(|p| p.split(' ').count())
            .max()
            .unwrap_or(0);
        assert!((2..=500).contains(&points), "{window}: {points} points");
        assert!(
            select(&doc, "svg#mode-timeline rect.span").len() >= spans,
            "{window}: the mode timeline starts from the mode before the window"
        );
        let rows = select(&doc, "table#diag-buffer tbody tr").len();
        assert_eq!(rows, 100, "{window}");
    }
    gw.stop().await;
}

/// The link of the pager's `data-page` link, resolved against `path`; `None` without one.
fn page_link(doc: &Html, table: &str, which: &str, path: &str) -> Option<String> {
    let css = format!("{table} nav.pager a[data-page=\"{which}\"]");
    let href = select(doc, &css).first()?.value().attr("href")?.to_owned();
    assert!(
        href.starts_with('?'),
        "query-only links work under any base path: {href}"
    );
    Some(format!("{path}{href}"))
}

/// The `data-key`s of a table's rows.
fn row_keys(doc: &Html, rows: &str) -> Vec<String> {
    select(doc, rows)
        .iter()
        .filter_map(|r| r.value().attr("data-key").map(str::to_owned))
        .collect()
}

/// Stores `n` diagnostic events of `class` for `device`, newest at `now`, three to a gateway
/// time (as one poll stores them), the newest entering.
async fn store_events(gw: &TestGateway, device: &str, class: i64, event_id: i64, n: i64) {
    let db = gw.dir.path().join("h.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM devices WHERE name = ?")
        .bind(device)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    // Oldest first, as the gateway stores them.
    for i in (0..n).rev() {
        sqlx::query(
            "INSERT INTO diag_events (device_id, gateway_ms, device_time, event_id, class, entering, text, details, raw)
             VALUES (?, ?, NULL, ?, ?, ?, 'e', '{}', ?)",
        )
        .bind(id)
        .bind(now - (i / 3) * 60_000)
        .bind(event_id + i % 2)
        .bind(class)
        .bind(i64::from(i % 2 == 0))
        .bind(i.to_be_bytes().to_vec())
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;
}

/// 250 diagnostic events, three to a poll: "older" walks 100 + 100 + 50 rows, each once and
/// newest first, with the class filter and the chart window kept; "newer" and "newest" walk
/// back. The MELSEC CPU error history pages the same way, and an older page still shows the
/// error the CPU has now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_tables_page_through_their_history_by_position() {
    // Nothing listens on port 1: the devices stay offline and only the stored history shows.
    let gw = TestGateway::start(
        "[gateway]\ndatabase = \"h.db\"\n\n[[devices]]\nname = \"cpu\"\nkind = \"s7\"\n\
         address = \"127.0.0.1:1\"\ninterval = \"1s\"\ntimeout = \"200ms\"\n\n\
         [[devices]]\nname = \"plc\"\nkind = \"melsec\"\naddress = \"127.0.0.1:1\"\n\
         interval = \"1s\"\ntimeout = \"200ms\"\n",
    )
    .await;
    store_events(&gw, "cpu", 3, 0x3942, 250).await;
    store_events(&gw, "plc", 1, 5000, 150).await;

    let rows = "table#diag-buffer tbody tr";
    let first = "/devices/cpu?window=7d&class=3";
    let (_, doc) = get_page(&gw, first, None).await;
    assert!(page_link(&doc, "#diagnostics", "newest", "/devices/cpu").is_none());
    assert!(page_link(&doc, "#diagnostics", "newer", "/devices/cpu").is_none());
    // Gateway times carry their instant for the script, which shows them in the browser's
    // zone as the overview does.
    for css in [
        "#health time[datetime]",
        "table#diag-buffer .seen time[datetime]",
    ] {
        let at = select(&doc, css)
            .first()
            .and_then(|t| t.value().attr("datetime").map(str::to_owned))
            .unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(&at).is_ok(),
            "{css}: {at:?}"
        );
    }
    let mut pages = vec![row_keys(&doc, rows)];
    let mut doc = doc;
    while let Some(older) = page_link(&doc, "#diagnostics", "older", "/devices/cpu") {
        assert!(
            older.contains("window=7d") && older.contains("class=3"),
            "{older}"
        );
        let (status, next) = get_page(&gw, &older, None).await;
        assert_eq!(status, 200, "{older}");
        assert!(
            select(&next, "p.notice").is_empty(),
            "the page understood its own link"
        );
        // The chart window links keep the page too.
        let window_links: Vec<String> = select(&next, "#mode .windows a")
            .iter()
            .filter_map(|a| a.value().attr("href").map(str::to_owned))
            .collect();
        assert!(
            window_links
                .iter()
                .all(|h| h.contains("before=") && h.contains("class=3")),
            "{window_links:?}"
        );
        pages.push(row_keys(&next, rows));
        doc = next;
        assert!(pages.len() <= 3, "250 rows are three pages");
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let walked: Vec<String> = pages.concat();
    // Newest first across page boundaries (keys are `gatewayms-raw`).
    let times: Vec<i64> = walked
        .iter()
        .filter_map(|k| k.split('-').next()?.parse().ok())
        .collect();
    assert_eq!(times.len(), 250);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // Each stored event once: the keys (gateway time and raw record) are all different.
    let mut unique = walked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 250, "no event twice, none skipped");

    // Back: "newer" from the last page gives the middle page again, "newest" the first.
    let newer = page_link(&doc, "#diagnostics", "newer", "/devices/cpu")
        .unwrap_or_else(|| panic!("an older page links to newer events"));
    let (_, middle) = get_page(&gw, &newer, None).await;
    assert_eq!(row_keys(&middle, rows), pages[1]);
    let newest = page_link(&middle, "#diagnostics", "newest", "/devices/cpu")
        .unwrap_or_else(|| panic!("an older page links to the newest"));
    let (_, top) = get_page(&gw, &newest, None).await;
    assert_eq!(row_keys(&top, rows), pages[0]);

    // A link that was not written by the page is named and the newest page shown.
    let (status, doc) = get_page(&gw, "/devices/cpu?before=yesterday", None).await;
    assert_eq!(status, 200);
    assert_eq!(row_keys(&doc, rows), pages[0]);
    let notice = select(&doc, "p.notice")
        .first()
        .map(text)
        .unwrap_or_default();
    assert!(notice.contains("before=yesterday"), "{notice}");

    // MELSEC: 150 CPU errors, the newest (code 5000) entering.
    let errors = "table#cpu-errors tbody tr";
    let (_, doc) = get_page(&gw, "/devices/plc", None).await;
    assert_eq!(row_keys(&doc, errors).len(), 100);
    let current = |d: &Html| {
        select(d, "#cpu-error")
            .first()
            .and_then(|e| e.value().attr("data-code").map(str::to_owned))
    };
    assert_eq!(current(&doc).as_deref(), Some("5000"));
    let older = page_link(&doc, "#cpu-error-now", "older", "/devices/plc")
        .unwrap_or_else(|| panic!("150 errors have an older page"));
    let (_, doc) = get_page(&gw, &older, None).await;
    assert_eq!(row_keys(&doc, errors).len(), 50);
    assert_eq!(
        current(&doc).as_deref(),
        Some("5000"),
        "the CPU's error now, not the newest of the older page"
    );
    gw.stop().await;
}
