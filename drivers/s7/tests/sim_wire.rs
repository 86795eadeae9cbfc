//! The S7 simulator on the wire, driven with hand-written frames from the reference
//! (s7.md §1–§2) rather than with the crate's client: connection setup, read-var, refused
//! jobs, faults, stop/restart.

use std::time::Duration;

use plcdiag_s7::sim::{S7Fault, S7Sim, S7SimHandle, SimMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// COTP CR as python-snap7 3.3.0 sends it (parameters C1, C2, C0; §1.2).
const CR: &[u8] = &[
    0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC1, 0x02, 0x01, 0x00, 0xC2,
    0x02, 0x01, 0x02, 0xC0, 0x01, 0x0A,
];

const LIMIT: Duration = Duration::from_secs(10);

async fn spawn(builder: plcdiag_s7::sim::S7SimBuilder) -> S7SimHandle {
    builder
        .spawn_tcp("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind")
}

/// Sends a TPKT frame and reads one back (None on EOF).
async fn exchange(stream: &mut TcpStream, frame: &[u8]) -> Option<Vec<u8>> {
    stream.write_all(frame).await.expect("write");
    tokio::time::timeout(LIMIT, read_frame(stream))
        .await
        .expect("an answer or EOF within the limit")
}

async fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.ok()?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut rest = vec![0u8; len - 4];
    stream.read_exact(&mut rest).await.ok()?;
    Some([header.to_vec(), rest].concat())
}

/// Wraps an S7 PDU in TPKT + COTP DT.
fn dt(pdu: &[u8]) -> Vec<u8> {
    let len = (pdu.len() + 7) as u16;
    let mut frame = vec![0x03, 0x00, (len >> 8) as u8, len as u8, 0x02, 0xF0, 0x80];
    frame.extend_from_slice(pdu);
    frame
}

/// Connects, exchanges CR/CC and setup communication asking for `pdu`.
async fn connect(sim: &S7SimHandle, pdu: u16) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(sim.addr()).await.expect("connect");
    let cc = exchange(&mut stream, CR).await.expect("CC");
    assert_eq!(cc[5], 0xD0, "COTP CC");
    assert_eq!(&cc[6..8], &[0x00, 0x01], "dst-ref = the client's src-ref");
    let mut setup = vec![0x32, 0x01, 0, 0, 0, 1, 0, 8, 0, 0, 0xF0, 0, 0, 1, 0, 1];
    setup.extend_from_slice(&pdu.to_be_bytes());
    let ack = exchange(&mut stream, &dt(&setup)).await.expect("setup ack");
    (stream, ack[7..].to_vec())
}

fn read_var_item(transport: u8, count: u16, db: u16, area: u8, byte: u32, bit: u32) -> Vec<u8> {
    let address = (byte << 3 | bit).to_be_bytes();
    let mut item = vec![0x12, 0x0A, 0x10, transport];
    item.extend_from_slice(&count.to_be_bytes());
    item.extend_from_slice(&db.to_be_bytes());
    item.push(area);
    item.extend_from_slice(&address[1..]);
    item
}

fn read_var(items: &[Vec<u8>]) -> Vec<u8> {
    let params: Vec<u8> = [vec![0x04, items.len() as u8], items.concat()].concat();
    let mut pdu = vec![0x32, 0x01, 0, 0, 0, 2];
    pdu.extend_from_slice(&(params.len() as u16).to_be_bytes());
    pdu.extend_from_slice(&[0, 0]);
    pdu.extend_from_slice(&params);
    dt(&pdu)
}

fn szl_request(id: u16, index: u16) -> Vec<u8> {
    let mut pdu = vec![
        0x32, 0x07, 0, 0, 4, 0, 0, 8, 0, 8, 0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00, 0xFF,
        0x09, 0x00, 0x04,
    ];
    pdu.extend_from_slice(&id.to_be_bytes());
    pdu.extend_from_slice(&index.to_be_bytes());
    dt(&pdu)
}

#[tokio::test]
async fn setup_answers_the_smaller_of_requested_and_maximum_pdu() {
    let sim = spawn(S7Sim::builder().pdu_size(240)).await;
    let (_s, ack) = connect(&sim, 480).await;
    assert_eq!(
        ack,
        [
            0x32, 0x03, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0xF0, 0, 0, 1, 0, 1, 0x00, 0xF0
        ]
    );
    let sim = spawn(S7Sim::builder().pdu_size(960)).await;
    let (_s, ack) = connect(&sim, 480).await;
    assert_eq!(&ack[18..20], &[0x01, 0xE0]);
}

#[tokio::test]
async fn read_var_answers_each_item_with_its_own_return_code_and_length_unit() {
    let sim = spawn(
        S7Sim::builder()
            .db(10, &[0x11, 0x22, 0x33, 0x44, 0x55])
            .markers(&[0b0000_0100]),
    )
    .await;
    let (mut stream, _) = connect(&sim, 240).await;
    let request = read_var(&[
        read_var_item(0x02, 3, 10, 0x84, 1, 0), // DB10.DBB1, 3 bytes
        read_var_item(0x02, 1, 99, 0x84, 0, 0), // DB99 does not exist
        read_var_item(0x04, 1, 10, 0x84, 4, 0), // DB10.DBW4 runs past the end
        read_var_item(0x01, 1, 0, 0x83, 0, 2),  // M0.2
        read_var_item(0x08, 1, 10, 0x84, 0, 0), // REAL: length in bytes
    ]);
    let answer = exchange(&mut stream, &request).await.expect("ack data");
    let pdu = &answer[7..];
    assert_eq!(&pdu[..2], &[0x32, 0x03]);
    assert_eq!(&pdu[10..12], &[0, 0], "no header error");
    assert_eq!(&pdu[12..14], &[0x04, 5]);
    assert_eq!(
        &pdu[14..],
        &[
            0xFF, 0x04, 0x00, 24, 0x22, 0x33, 0x44, 0x00, // 3 bytes = 24 bits, padded
            0x0A, 0x00, 0x00, 0x00, // object does not exist
            0x05, 0x00, 0x00, 0x00, // out of range
            0xFF, 0x03, 0x00, 0x01, 0x01, 0x00, // one bit, padded
            0xFF, 0x07, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, // REAL: 4 bytes
        ][..]
    );
}

#[tokio::test]
async fn write_var_and_plc_control_are_refused_because_the_simulator_is_read_only() {
    let sim = spawn(S7Sim::builder()).await;
    let (mut stream, _) = connect(&sim, 240).await;
    for function in [0x05u8, 0x28, 0x29] {
        let pdu = [0x32, 0x01, 0, 0, 0, 3, 0, 2, 0, 0, function, 0];
        let answer = exchange(&mut stream, &dt(&pdu)).await.expect("ack data");
        assert_eq!(answer[7 + 1], 0x03, "Ack_Data");
        assert_ne!(
            &answer[7 + 10..7 + 12],
            &[0, 0],
            "a header error for 0x{function:02X}"
        );
    }
}

#[tokio::test]
async fn an_unknown_szl_is_refused_with_d402_and_0a_like_a_real_cpu() {
    let sim = spawn(S7Sim::builder()).await;
    let (mut stream, _) = connect(&sim, 240).await;
    let answer = exchange(&mut stream, &szl_request(0x0091, 0))
        .await
        .expect("answer");
    // §2.3 error example: parameter error D402, data 0A 00 00 00.
    assert_eq!(
        &answer[7 + 10..],
        &[
            0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x00, 0x00, 0x00, 0xD4, 0x02, 0x0A, 0x00,
            0x00, 0x00
        ][..]
    );
}

#[tokio::test]
async fn szl_error_and_error_class_faults_refuse_every_request() {
    let sim = spawn(S7Sim::builder().fault(S7Fault::SzlError(0xD406))).await;
    let (mut stream, _) = connect(&sim, 240).await;
    let answer = exchange(&mut stream, &szl_request(0x0424, 0))
        .await
        .expect("answer");
    assert_eq!(&answer[7 + 20..7 + 22], &[0xD4, 0x06]);

    sim.set_fault(S7Fault::ErrorClass {
        class: 0x85,
        code: 0x00,
    });
    let answer = exchange(
        &mut stream,
        &read_var(&[read_var_item(0x02, 1, 1, 0x84, 0, 0)]),
    )
    .await
    .expect("answer");
    assert_eq!(&answer[7 + 10..7 + 12], &[0x85, 0x00]);
}

#[tokio::test]
async fn no_answer_on_one_connection_does_not_block_another() {
    let sim = spawn(S7Sim::builder()).await;
    let (mut silent, _) = connect(&sim, 240).await;
    sim.set_fault(S7Fault::NoAnswer);
    silent
        .write_all(&szl_request(0x0424, 0))
        .await
        .expect("write");
    let served = sim.requests_served();
    sim.set_fault(S7Fault::None);
    let (mut other, _) = connect(&sim, 240).await;
    let answer = exchange(&mut other, &szl_request(0x0424, 0))
        .await
        .expect("answer");
    assert_eq!(&answer[7 + 20..7 + 22], &[0x00, 0x00]);
    assert!(sim.requests_served() > served);
}

#[tokio::test]
async fn drop_connection_and_truncated_close_the_connection() {
    let sim = spawn(S7Sim::builder()).await;
    let (mut stream, _) = connect(&sim, 240).await;
    sim.set_fault(S7Fault::DropConnection);
    assert_eq!(exchange(&mut stream, &szl_request(0x0424, 0)).await, None);

    sim.set_fault(S7Fault::None);
    let (mut stream, _) = connect(&sim, 240).await;
    sim.set_fault(S7Fault::Truncated);
    stream
        .write_all(&szl_request(0x0424, 0))
        .await
        .expect("write");
    let mut received = Vec::new();
    tokio::time::timeout(LIMIT, stream.read_to_end(&mut received))
        .await
        .expect("closed within the limit")
        .expect("read");
    let declared = usize::from(u16::from_be_bytes([received[2], received[3]]));
    assert!(
        received.len() < declared,
        "a cut frame: {} of {declared}",
        received.len()
    );
}

#[tokio::test]
async fn restart_rebinds_the_same_address_and_keeps_the_buffer_and_mode() {
    let sim = spawn(S7Sim::builder()).await;
    sim.set_mode(SimMode::Stop);
    sim.push_event(0x3501, 80, 0x0001, 0);
    let (mut stream, _) = connect(&sim, 240).await;
    sim.stop().await;
    assert_eq!(read_frame(&mut stream).await, None, "EOF after stop");
    assert!(TcpStream::connect(sim.addr()).await.is_err());

    sim.restart().await.expect("restart");
    let (mut stream, _) = connect(&sim, 240).await;
    let answer = exchange(&mut stream, &szl_request(0x01A0, 2))
        .await
        .expect("answer");
    let records = &answer[7 + 22 + 4 + 8..];
    assert_eq!(&records[..4], &[0x35, 0x01, 0xFF, 80]);
    assert_eq!(&records[20..22], &[0x43, 0x04]);
    assert_eq!(sim.mode(), SimMode::Stop);
}
