//! Issue 12, finding 1: a full disk loses nothing. While SQLite answers `SQLITE_FULL` the
//! writer names the fault, keeps taking observations and holds them; when space comes back
//! it recovers by itself and writes what it held, and its counters match the file.
//!
//! The portable tests fill the "disk" with the store's size limit (`max_page_count`); where the
//! test runs as root it also mounts a real 4 MiB tmpfs and fills it with a file.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use plcdiag::hub::Message;
use plcdiag::metrics::Metrics;
use plcdiag::model::{DiagEvent, Observation};
use plcdiag::store::writer::{self, WriterSettings};
use plcdiag::store::{FaultKind, Store};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(30);

fn config(dir: &Path) -> plcdiag::config::Config {
    let text = "[[devices]]\nname = \"cpu\"\nkind = \"modbus\"\naddress = \"tcp://127.0.0.1:1\"\n\
                \n[[devices.tags]]\nname = \"t\"\naddress = \"hr:0\"\n";
    plcdiag::config::parse(text, dir).unwrap_or_else(|p| panic!("{p:?}"))
}

/// One diagnostic event of about 600 bytes, told apart by `n`.
fn event(n: u32) -> Message {
    let raw = n.to_be_bytes().to_vec();
    Arc::new(Observation::Diagnostics {
        device: "cpu".into(),
        backlog: false,
        events: Arc::from(vec![DiagEvent {
            device_time: None,
            gateway_time: Utc::now(),
            event_id: 0x4304,
            class: 4,
            entering: Some(true),
            text: format!("event {n} {}", "x".repeat(512)),
            details: serde_json::Value::Null,
            raw,
        }]),
    })
}

fn settings() -> WriterSettings {
    WriterSettings::new(Duration::from_secs(86_400))
}

type WriterTask = tokio::task::JoinHandle<Result<(), plcdiag::store::Error>>;

/// A store writer for the device of [`config`], fed through the returned channel.
async fn start_writer(
    store: &Store,
    dir: &Path,
    settings: WriterSettings,
) -> (mpsc::Sender<Message>, Metrics, WriterTask) {
    let w = writer::prepare(store.clone(), config(dir).devices.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::channel(16);
    let metrics = Metrics::new();
    let task = tokio::spawn(w.run(rx, metrics.clone(), settings));
    (tx, metrics, task)
}

async fn rows(db: &Path) -> i64 {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query_scalar("SELECT count(*) FROM diag_events")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn written(metrics: &Metrics) -> i64 {
    let text = metrics.encode().unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("plcdiag_store_rows_written_total{name=\"diag_events\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let t0 = tokio::time::Instant::now();
    while !check() {
        assert!(t0.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `from..to` to the writer; each send must be taken (the writer holds, it does not
/// make the publisher wait, while it has room).
async fn send(tx: &mpsc::Sender<Message>, from: u32, to: u32) {
    for n in from..to {
        tokio::time::timeout(LIMIT, tx.send(event(n)))
            .await
            .unwrap_or_else(|_| panic!("the writer stopped taking observations at {n}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Drives a writer through a full disk: `fill` makes writes fail, `free` gives space back.
async fn full_then_free(
    db: &Path,
    store: Store,
    fill: impl AsyncFnOnce(),
    free: impl AsyncFnOnce(),
) {
    let dir = db.parent().unwrap_or_else(|| panic!("no folder"));
    let (tx, metrics, task) = start_writer(&store, dir, settings()).await;
    send(&tx, 0, 50).await;
    wait_until("the first rows", || written(&metrics) == 50).await;

    fill().await;
    send(&tx, 50, 400).await;
    wait_until("a disk_full fault", || {
        store
            .faults()
            .first()
            .is_some_and(|f| f.kind == FaultKind::DiskFull)
    })
    .await;
    let fault = store.faults().first().unwrap_or_else(|| panic!("a fault"));
    assert_eq!(fault.component, "store writer");
    // Nothing is counted that is not in the file.
    let at_fault = written(&metrics);
    assert!(at_fault < 400, "all 400 written although the disk is full");
    // More than the hub channel holds: the writer keeps taking them while it fails.
    send(&tx, 400, 600).await;
    let text = metrics.encode().unwrap_or_default();
    assert!(
        text.contains("plcdiag_store_fault{component=\"store writer\",kind=\"disk_full\"} 1"),
        "{text}"
    );

    free().await;
    wait_until("recovery", || store.faults().first().is_none()).await;
    drop(tx);
    task.await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("writer: {e}"));
    assert_eq!(written(&metrics), 600, "counted");
    store.close().await;
    assert_eq!(rows(db).await, 600, "in the file");
    let text = metrics.encode().unwrap_or_default();
    assert!(
        text.contains("plcdiag_store_fault{component=\"store writer\",kind=\"disk_full\"} 0"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_holds_what_it_cannot_write_and_writes_it_when_space_returns() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("h.db");
    let store = Store::open(&db).await.unwrap_or_else(|e| panic!("{e}"));
    let (s1, s2, file) = (store.clone(), store.clone(), db.clone());
    full_then_free(
        &db,
        store,
        async move || {
            let size = std::fs::metadata(&file).map_or(0, |m| m.len());
            s1.set_size_limit(Some(size + 200 * 1024))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        },
        async move || {
            s2.set_size_limit(None)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_full_filesystem_is_survived_when_running_as_root() {
    let Some(mount) = Tmpfs::mount("4m") else {
        eprintln!("skipped: not root, or tmpfs cannot be mounted here");
        return;
    };
    let db = mount.path.join("h.db");
    let store = Store::open(&db).await.unwrap_or_else(|e| panic!("{e}"));
    let filler = mount.path.join("filler");
    let f1 = filler.clone();
    full_then_free(
        &db,
        store,
        async move || {
            // Take all but ~150 KiB of the 2 MiB: the WAL then cannot grow.
            let free = fs_free(&f1);
            let take = free.saturating_sub(150 * 1024);
            std::fs::write(&f1, vec![0u8; take as usize]).unwrap_or_else(|e| panic!("{e}"));
        },
        async move || {
            std::fs::remove_file(&filler).unwrap_or_else(|e| panic!("{e}"));
        },
    )
    .await;
}

fn fs_free(inside: &Path) -> u64 {
    let dir = inside.parent().unwrap_or(inside);
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("df: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

/// A tmpfs of its own, unmounted on drop.
struct Tmpfs {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self {
            path: dir.path().to_owned(),
            _dir: dir,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// What a webhook receiver got: (journal id, idempotency key), in arrival order.
type Got = Arc<std::sync::Mutex<Vec<(i64, String)>>>;

async fn receiver(got: Got) -> std::net::SocketAddr {
    use axum::http::{HeaderMap, StatusCode};
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: HeaderMap, body: axum::body::Bytes| async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let key = headers
                    .get("idempotency-key")
                    .and_then(|k| k.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let mut got = got.lock().unwrap_or_else(|p| p.into_inner());
                for a in v["alerts"].as_array().into_iter().flatten() {
                    let id = &a["annotations"]["journal_id"];
                    let id = id.as_i64().or(id.as_str().and_then(|s| s.parse().ok()));
                    got.push((id.unwrap_or(-1), key.clone()));
                }
                StatusCode::OK
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The whole gateway through a full disk (the situation of issue 12): `/healthz` names it,
/// every page shows it, polling keeps the live view current, alarms keep changing; when space
/// returns everything held is written, the journal holds every transition the engine made,
/// and the receiver gets each journalled notice exactly once, under the key of its batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_on_a_full_disk_names_it_keeps_polling_and_loses_nothing() {
    let got: Got = Arc::default();
    let hook = receiver(got.clone()).await;
    let sim = common::modbus_sim().await;
    let text = format!(
        r#"{}
[[rules]]
name = "level_high"
device = "boiler"
when = "level > 150"
ack = "none"

[[receivers]]
name = "hook"
kind = "webhook"
url = "http://{hook}/hook"
"#,
        common::boiler_level(&sim)
    );
    let gw = common::TestGateway::start(&text).await;
    let level = |gw: &common::TestGateway| gw.device("boiler").values[0].value;
    common::wait_for("first values", LIMIT, || async { level(&gw) }).await;
    let store = gw.gateway.store.clone();
    let db = gw.dir.path().join("h.db");
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    store
        .set_size_limit(Some(size + 48 * 1024))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Values change every poll until the disk is full, and alarms raise and clear.
    let mut n = 0u16;
    let (status, health) = loop {
        n += 1;
        sim.set_holding(
            0,
            &[if n.is_multiple_of(2) {
                200
            } else {
                100 + n % 50
            }],
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (status, body) = gw.get_json("/healthz").await;
        if status == 503 || n > 2000 {
            break (status, body);
        }
    };
    assert_eq!(status, 503, "{health}");
    assert_eq!(
        health["store"]["faults"][0]["kind"], "disk_full",
        "{health}"
    );
    // Polling goes on: the live view follows the device while nothing can be written.
    for v in [120u16, 210, 130, 220, 140] {
        sim.set_holding(0, &[v]);
        common::wait_for("the live view to follow", LIMIT, || async {
            (level(&gw) == Some(f64::from(v))).then_some(())
        })
        .await;
    }
    // Every page says so, and the metrics.
    assert_banner_and_metric_name_the_full_disk(&gw).await;

    store
        .set_size_limit(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    common::wait_for("recovery", LIMIT, || async {
        let (status, _) = gw.get_json("/healthz").await;
        (status == 200).then_some(())
    })
    .await;
    sim.set_holding(0, &[100]);
    assert_every_transition_journalled_and_delivered_once(&gw, &got).await;
    gw.stop().await;
}

/// The page's fault banner and the `store_fault` metric name the full disk.
async fn assert_banner_and_metric_name_the_full_disk(gw: &common::TestGateway) {
    let page = gw.get_text("/").await;
    let html = scraper::Html::parse_document(&page);
    let sel =
        scraper::Selector::parse("#gateway-fault:not([hidden])").unwrap_or_else(|e| panic!("{e}"));
    let banner: String = html
        .select(&sel)
        .next()
        .map(|e| e.text().collect())
        .unwrap_or_default();
    assert!(banner.contains("disk is full"), "banner: {banner:?}");
    let fault_metric = metrics_text(gw).await;
    assert!(
        fault_metric
            .contains("plcdiag_store_fault{component=\"rules engine\",kind=\"disk_full\"} 1")
            || fault_metric
                .contains("plcdiag_store_fault{component=\"store writer\",kind=\"disk_full\"} 1"),
        "{fault_metric}"
    );
}

/// The journal holds every transition the engine counted, and the receiver got each
/// journalled notice exactly once, under the key of its batch.
async fn assert_every_transition_journalled_and_delivered_once(
    gw: &common::TestGateway,
    got: &Got,
) {
    let transitions = |text: &str| -> i64 {
        text.lines()
            .filter(|l| l.starts_with("plcdiag_alarm_transitions_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
            .sum()
    };
    let journal = common::wait_for("every notice delivered", LIMIT, || async {
        let (_, body) = gw.get_json("/api/alarms/history?limit=10000").await;
        let ids: Vec<i64> = body["entries"]
            .as_array()?
            .iter()
            .filter_map(|e| e["id"].as_i64())
            .collect();
        let delivered = got.lock().unwrap_or_else(|p| p.into_inner()).len();
        (delivered >= ids.len() && !ids.is_empty()).then_some(ids)
    })
    .await;
    let committed = transitions(&metrics_text(gw).await);
    assert_eq!(committed, journal.len() as i64, "counted = journalled");
    let got = got.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut ids: Vec<i64> = got.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    let mut want = journal.clone();
    want.sort_unstable();
    assert_eq!(ids, want, "each journalled notice delivered exactly once");
    // A batch's key names its journal ids: a notice sent again would come under the same key.
    for (id, key) in &got {
        let range: Vec<i64> = key
            .rsplit('-')
            .take(2)
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(
            matches!(range[..], [hi, lo] if (lo..=hi).contains(id)),
            "notice {id} sent under {key}"
        );
    }
    assert!(journal.len() >= 4, "alarms changed while full: {journal:?}");
}

async fn metrics_text(gw: &common::TestGateway) -> String {
    gw.get_text("/metrics").await
}

/// Shutdown while the disk is still full: the writer does not claim a flush; it says how much
/// it could not write, and the rows it did count are the rows in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_stopped_on_a_full_disk_names_what_it_could_not_write() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("h.db");
    let store = Store::open(&db).await.unwrap_or_else(|e| panic!("{e}"));
    let mut settings = settings();
    settings.close_within = Duration::from_millis(300);
    let (tx, metrics, task) = start_writer(&store, dir.path(), settings).await;
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    store
        .set_size_limit(Some(size + 64 * 1024))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    send(&tx, 0, 300).await;
    wait_until("a fault", || store.faults().first().is_some()).await;
    drop(tx);
    let out = task.await.unwrap_or_else(|e| panic!("{e}"));
    match out {
        Err(plcdiag::store::Error::Unwritten { messages, fault }) => {
            assert!(messages > 0);
            assert_eq!(fault, "disk_full");
        }
        other => panic!("expected Unwritten, got {other:?}"),
    }
    let counted = written(&metrics);
    store.close().await;
    assert_eq!(rows(&db).await, counted);
}

fn sample(n: u32) -> Message {
    Arc::new(Observation::Values {
        device: "cpu".into(),
        at: Utc::now(),
        rtt: Duration::from_millis(1),
        readings: Arc::from(vec![plcdiag::model::TagReading {
            tag: 0,
            value: Some(f64::from(n)),
            quality: plcdiag::model::Quality::Good,
        }]),
    })
}

/// Past `max_held` the writer drops the oldest tag samples, never an event, and keeps taking
/// observations, so polling never waits on a full disk while samples can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_bound_the_writer_drops_old_samples_and_keeps_every_event() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("h.db");
    let store = Store::open(&db).await.unwrap_or_else(|e| panic!("{e}"));
    let mut settings = settings();
    settings.max_held = 100;
    let (tx, metrics, task) = start_writer(&store, dir.path(), settings).await;
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    store
        .set_size_limit(Some(size + 4 * 1024))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    send(&tx, 0, 50).await;
    wait_until("a fault", || store.faults().first().is_some()).await;
    // Far past the bound: samples with a few events (fewer than the bound); every send is
    // taken, though the events alone would fill it if there were more.
    for n in 0..1000 {
        let m = if n % 50 == 0 {
            event(10_000 + n)
        } else {
            sample(n)
        };
        tokio::time::timeout(LIMIT, tx.send(m))
            .await
            .unwrap_or_else(|_| panic!("the writer stopped taking observations at {n}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let text = metrics.encode().unwrap_or_default();
    assert!(
        !text.contains("plcdiag_store_samples_dropped_total 0"),
        "samples were dropped: {text}"
    );
    store
        .set_size_limit(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(tx);
    task.await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("writer: {e}"));
    store.close().await;
    assert_eq!(
        rows(&db).await,
        70,
        "the 50 first events and the 20 later ones"
    );
}
