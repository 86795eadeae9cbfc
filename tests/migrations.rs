//! Migrations applied to a history written before them: the chart tables (`status_values`,
//! `status_minutes`, migrations 20261126050000 to 070000) must be what the store writer makes
//! from the same status rows, or a gateway upgraded in place would draw different charts for
//! its old history than for its new.
//!
//! A gateway polls the S7 and MELSEC simulators while cycle times, link scan times and CC-Link
//! stations change; its status rows are then copied into a database migrated only up to
//! before those migrations, which the store opens (applying the rest). Both chart tables must
//! come out equal, row for row.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{TestGateway, wait_for};
use plcdiag::store::Store;
use plcdiag_melsec::sim::{McSim, SimStation};
use plcdiag_s7::sim::S7Sim;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Row, SqlitePool};

/// The first migration that derives chart rows from stored status rows.
const FIRST_CHART_MIGRATION: &str = "20261126050000";

async fn pool(path: &Path) -> SqlitePool {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    SqlitePool::connect_with(opts)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(device_id, series, at_ms, value as text)` of every `status_values` row, in order.
async fn values(pool: &SqlitePool, skip_series: &str) -> Vec<(i64, String, i64, Option<String>)> {
    sqlx::query(
        "SELECT device_id, series, at_ms, CAST(value AS TEXT) AS v FROM status_values
         WHERE series <> ? ORDER BY device_id, series, at_ms",
    )
    .bind(skip_series)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .iter()
    .map(|r| {
        (
            r.get("device_id"),
            r.get("series"),
            r.get("at_ms"),
            r.get("v"),
        )
    })
    .collect()
}

/// Every `status_minutes` row, in order.
async fn minutes(pool: &SqlitePool) -> Vec<(i64, String, i64, f64, f64)> {
    sqlx::query_as(
        "SELECT device_id, series, minute, min, max FROM status_minutes
         ORDER BY device_id, series, minute",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_rows_migrated_from_old_status_rows_equal_what_the_writer_writes() {
    let s7 = S7Sim::builder()
        .cycle_times(12, 3, 40)
        .spawn_tcp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let mc = McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "conveyor inputs"),
                SimStation::remote_device(3, 2, "inverter"),
                SimStation::remote_io(5, "valve terminal"),
            ],
        )
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    mc.jitter_link_scan(0, true);
    let config = format!(
        "[gateway]\ndatabase = \"h.db\"\n\n\
         [[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"{}\"\n\
         interval = \"100ms\"\ntimeout = \"500ms\"\nstatus_interval = \"100ms\"\n\n\
         [[devices]]\nname = \"plc\"\nkind = \"melsec\"\naddress = \"{}\"\n\
         interval = \"100ms\"\ntimeout = \"500ms\"\nstatus_interval = \"100ms\"\n\n\
         [[devices.cclink]]\nname = \"line 3\"\n\n\
         [[devices.cclink.stations]]\nnumber = 1\nname = \"conveyor inputs\"\n\n\
         [[devices.cclink.stations]]\nnumber = 3\noccupies = 2\nname = \"inverter\"\n\n\
         [[devices.cclink.stations]]\nnumber = 5\nname = \"valve terminal\"\n",
        s7.addr(),
        mc.addr()
    );
    let gw = TestGateway::start(&config).await;
    let db = gw.dir.path().join("h.db");
    let written = pool(&db).await;
    let stored = |series: &'static str| {
        let written = written.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT value) FROM status_values WHERE series = ?",
            )
            .bind(series)
            .fetch_one(&written)
            .await
            .unwrap_or(0);
            n
        }
    };
    // Cycle times and stations change while the gateway stores them.
    for (cycle, down) in [(15, Some(5)), (9, None), (22, Some(3)), (11, None)] {
        s7.set_cycle_times(cycle, 3, 40);
        match down {
            Some(n) => mc.drop_station(0, n, true),
            None => {
                mc.drop_station(0, 5, false);
                mc.drop_station(0, 3, false);
            }
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    wait_for(
        "four cycle times and three station sets",
        Duration::from_secs(20),
        || async {
            (stored("cycle_ms").await >= 4 && stored("stations:line 3").await >= 3).then_some(())
        },
    )
    .await;
    let dir = gw.stop().await;
    let want_values = values(&written, "").await;
    let want_minutes = minutes(&written).await;
    written.close().await;
    for series in ["cycle_ms", "link_scan_ms:line 3", "stations:line 3"] {
        assert!(want_values.iter().any(|v| v.1 == series), "{series} stored");
    }
    assert!(!want_minutes.is_empty(), "minutes stored");

    // A database as a gateway from before the chart migrations left it, with the same
    // devices and status rows.
    let old_migrations = dir.path().join("old-migrations");
    std::fs::create_dir(&old_migrations).unwrap_or_else(|e| panic!("{e}"));
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&all).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name < FIRST_CHART_MIGRATION {
            std::fs::copy(&path, old_migrations.join(name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let old_db = dir.path().join("old.db");
    let old = pool(&old_db).await;
    sqlx::migrate::Migrator::new(old_migrations.as_path())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .run(&old)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut conn = old.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    for sql in [
        format!("ATTACH DATABASE '{}' AS new", db.display()),
        "INSERT INTO devices SELECT * FROM new.devices".to_owned(),
        "INSERT INTO device_status SELECT * FROM new.device_status".to_owned(),
        "DETACH DATABASE new".to_owned(),
    ] {
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // A second network of the PLC whose status read failed twice between two reads of one
    // station down: unknown (NULL) once, the repeats dropped.
    for (at, status) in [
        (1, r#"{"stations":[{"number":2,"down":true}]}"#),
        (2, r#"{"error":"the PLC refused the SB/SW read: 0xC059"}"#),
        (3, r#"{"error":"the PLC refused the SB/SW read: 0xC059"}"#),
        (4, r#"{"stations":[{"number":2,"down":true}]}"#),
        (
            5,
            r#"{"stations":[{"number":2,"down":true},{"number":64,"down":false}]}"#,
        ),
    ] {
        sqlx::query(
            "INSERT INTO device_status (device_id, at_ms, kind, value)
             SELECT id, ?, 'network', json_object('name', 'line 9', 'status', json(?))
             FROM devices WHERE name = 'plc'",
        )
        .bind(at)
        .bind(status)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    drop(conn);
    old.close().await;

    // The store applies the chart migrations on open.
    let store = Store::open(&old_db).await.unwrap_or_else(|e| panic!("{e}"));
    store.close().await;
    let migrated = pool(&old_db).await;
    let got_values = values(&migrated, "stations:line 9").await;
    assert_eq!(got_values.len(), want_values.len());
    assert_eq!(got_values, want_values, "status_values");
    assert_eq!(minutes(&migrated).await, want_minutes, "status_minutes");
    let line9: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT at_ms, value FROM status_values WHERE series = 'stations:line 9' ORDER BY at_ms",
    )
    .fetch_all(&migrated)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(line9, [(1, Some(2)), (2, None), (4, Some(2))]);
    migrated.close().await;
}
