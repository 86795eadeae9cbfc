//! One end-to-end smoke test: the crate's own client against the simulator. The independent
//! check is `sim_python_client.rs`; this only shows the two halves of the crate agree.

use plcdiag_s7::sim::{S7Sim, SimMode};
use plcdiag_s7::{Client, ConnectOptions, CpuMode, Reply};

#[tokio::test]
async fn the_crate_client_reads_a_fragmented_buffer_and_the_mode_from_the_simulator() {
    let entries: Vec<[u8; 20]> = (0..60u16)
        .map(|n| {
            let mut record = [0u8; 20];
            record[0..2].copy_from_slice(&(0xA100 | n).to_be_bytes());
            record[12..20].copy_from_slice(&[0x24, 0x03, 0x05, 0x14, 0x07, 0x09, 0x12, 0x33]);
            record
        })
        .collect();
    let sim = S7Sim::builder()
        .pdu_size(240)
        .diag_buffer(entries)
        .spawn_tcp("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let mut client = Client::connect(sim.addr(), &ConnectOptions::default())
        .await
        .expect("connect");

    let Reply::Ok(buffer) = client.diag_buffer(0).await.expect("0x00A0") else {
        panic!("0x00A0 refused");
    };
    assert_eq!(buffer.len(), 60);
    assert_eq!(buffer[0].event_id.0, 0xA100 | 59, "newest first");

    sim.set_mode(SimMode::Stop);
    let Reply::Ok(newest) = client.diag_buffer(1).await.expect("0x01A0") else {
        panic!("0x01A0 refused");
    };
    assert_eq!(newest[0].event_id.0, 0x4304);
    let Reply::Ok(mode) = client.cpu_mode().await.expect("0x0424") else {
        panic!("0x0424 refused");
    };
    assert_eq!(mode.mode, CpuMode::Stop);
    assert_eq!(mode.previous, CpuMode::Run);
    sim.stop().await;
}
