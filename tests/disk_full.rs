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
    let cfg = config(dir);
    let w = writer::prepare(store.clone(), cfg.devices.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::channel(16);
    let metrics = Metrics::new();
    let task = tokio::spawn(w.run(
        rx,
        metrics.clone(),
        WriterSettings::new(Duration::from_secs(86_400)),
    ));
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
