//! Interop against the native Snap7 server bundled in python-snap7 2.0.2 (`s7.md` §8.1): its
//! SZL answers are byte dumps of a real CPU 315-2 PN/DP. The peer is
//! `tests/peers/snap7_server.py`; run `scripts/setup-test-peers.sh` to install it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use plcdiag_s7::{Client, ConnectOptions, CpuMode, ItemError, Reply, ReturnCode, SzlId, VarValue};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

struct Peer {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    port: u16,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PLCDIAG_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        p.exists(),
        "python with python-snap7 2.0.2 not found at {}; run scripts/setup-test-peers.sh (or set PLCDIAG_PYTHON)",
        p.display()
    );
    p
}

impl Peer {
    async fn start() -> Peer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/snap7_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the python-snap7 server; run scripts/setup-test-peers.sh");
        let stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the snap7 server did not print PORT within 20 s")
            .expect("read the snap7 server's stdout")
            .expect(
                "the snap7 server exited before printing PORT (is python-snap7 2.0.2 installed?)",
            );
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        Peer {
            _child: child,
            stdin,
            lines,
            port,
        }
    }

    async fn command(&mut self, cmd: &str) {
        self.stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .expect("write command");
        self.stdin.flush().await.expect("flush");
        let line = timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("no OK")
            .expect("read")
            .expect("eof");
        assert_eq!(line, "OK");
    }

    async fn client(&self) -> Client {
        let opts = ConnectOptions {
            rack: 0,
            slot: 2,
            ..ConnectOptions::default()
        };
        Client::connect(
            format!("127.0.0.1:{}", self.port).parse().expect("addr"),
            &opts,
        )
        .await
        .expect("connect to the snap7 server")
    }
}

fn ok<T: std::fmt::Debug>(reply: Reply<T>) -> T {
    match reply {
        Reply::Ok(t) => t,
        Reply::Refused(r) => panic!("refused: {r}"),
    }
}

#[tokio::test]
async fn client_connects_and_negotiates_pdu_480() {
    let peer = Peer::start().await;
    let client = peer.client().await;
    assert_eq!(client.pdu_size(), 480);
}

#[tokio::test]
async fn identity_reports_the_real_cpu_315_order_number() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let id = ok(client.identity().await.expect("identity"));
    let order = id.order_number.clone().expect("order number");
    assert!(order.starts_with("6ES7 315-2"), "order number {order:?}");
    assert!(
        id.firmware.as_deref().is_some_and(|v| v.starts_with('V')),
        "{id:?}"
    );
    assert!(
        id.module_type.is_some() || id.module_name.is_some(),
        "{id:?}"
    );
}

#[tokio::test]
async fn cpu_mode_follows_set_cpu_status_run_stop_run() {
    let mut peer = Peer::start().await;
    let mut client = peer.client().await;
    peer.command("run").await;
    assert_eq!(
        ok(client.cpu_mode().await.expect("mode")).mode,
        CpuMode::Run
    );
    peer.command("stop").await;
    let stopped = ok(client.cpu_mode().await.expect("mode"));
    assert_eq!(stopped.mode, CpuMode::Stop);
    assert_eq!(stopped.raw_records, 1);
    peer.command("run").await;
    assert_eq!(
        ok(client.cpu_mode().await.expect("mode")).mode,
        CpuMode::Run
    );
}

#[tokio::test]
async fn diag_buffer_decodes_the_ten_real_cpu_entries() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let entries = ok(client.diag_buffer(0).await.expect("diag buffer"));
    assert_eq!(entries.len(), 10);
    // §2.3: newest first, 0x4302 STARTUP→RUN at 1994-02-04 23:52:16.388.
    assert_eq!(entries[0].event_id.0, 0x4302);
    assert_eq!(
        entries[0].timestamp.map(|t| t.to_string()).as_deref(),
        Some("1994-02-04 23:52:16.388")
    );
    for e in &entries {
        assert!((1..=0xF).contains(&e.event_id.class()), "{e:?}");
        assert!(
            e.timestamp.is_some() || e.raw[12..].iter().all(|b| *b == 0),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn newest_diag_entry_equals_the_first_of_the_full_buffer() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let all = ok(client.diag_buffer(0).await.expect("all"));
    let newest = ok(client.diag_buffer(1).await.expect("newest"));
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0], all[0]);
}

#[tokio::test]
async fn unsupported_szl_is_refused_as_unsupported() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let reply = client
        .read_szl(SzlId::MODULE_STATUS, 0)
        .await
        .expect("no communication error");
    assert!(matches!(reply, Reply::Refused(_)), "{reply:?}");
    assert!(reply.unsupported());
    // The connection stays usable after a refusal.
    ok(client.cpu_mode().await.expect("mode"));
}

#[tokio::test]
async fn supported_szl_ids_include_diag_buffer_and_mode() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let ids = ok(client.supported_szl_ids().await.expect("ids"));
    assert!(ids.contains(&SzlId(0x00A0)), "{ids:?}");
    assert!(ids.contains(&SzlId(0x0424)), "{ids:?}");
}

#[tokio::test]
async fn module_status_protection_and_cycle_times_decode_the_real_dumps() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let modules = ok(client.module_status().await.expect("modules"));
    let cpu = modules.first().expect("at least the CPU");
    assert_eq!(
        (cpu.rack(), cpu.slot(), cpu.logical_address),
        (0, 2, 0x7FFF)
    );
    assert!(cpu.exists());
    let p = ok(client.protection().await.expect("protection"));
    assert_eq!(
        (p.key_switch_level, p.parameterised_level, p.level),
        (1, 0, 1)
    );
    assert!(!p.password_set);
    let c = ok(client.cycle_times().await.expect("cycle"));
    assert_eq!((c.min_ms, c.max_ms), (0, 1));
}

#[tokio::test]
async fn read_vars_reads_a_registered_db_and_reports_a_missing_one_per_item() {
    let peer = Peer::start().await;
    let mut client = peer.client().await;
    let items: Vec<_> = ["DB1.DBB3", "DB1.DBW4", "DB1.DBX1.0", "DB2.DBB0"]
        .iter()
        .map(|s| s.parse().expect("address"))
        .collect();
    let values = client.read_vars(&items).await.expect("read");
    assert_eq!(values[0], Ok(VarValue::Byte(3)));
    assert_eq!(values[1], Ok(VarValue::Word(0x0405)));
    assert_eq!(values[2], Ok(VarValue::Bool(true)));
    assert!(
        matches!(values[3], Err(ItemError::Return(code)) if code != ReturnCode::Success),
        "{:?}",
        values[3]
    );
}
