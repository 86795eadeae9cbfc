//! The MC/SLMP simulator on the wire, with raw bytes from the reference (melsec-cclink.md
//! §1.8) and without the crate's client: framing, end codes, limits, faults, UDP, stop and
//! restart.

use std::time::Duration;

use plcdiag_melsec::sim::{McFault, McSim, McSimHandle, SimStation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// §1.8(a): batch read SW0080 × 4, binary 3E.
const READ_SW0080: [u8; 21] = [
    0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x0C, 0x00, 0x10, 0x00, 0x01, 0x04, 0x00, 0x00, 0x80,
    0x00, 0x00, 0xB5, 0x04, 0x00,
];

async fn sim() -> McSimHandle {
    McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(3, "a"),
                SimStation::remote_io(64, "b"),
            ],
        )
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("binds")
}

/// Sends one request and reads one whole response (header + L).
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).await.expect("send");
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head))
        .await
        .expect("an answer within 5 s")
        .expect("read");
    let header_len = if head == [0xD4, 0x00] { 13 } else { 9 };
    let mut rest = vec![0u8; header_len - 2];
    stream.read_exact(&mut rest).await.expect("header");
    let l = usize::from(u16::from_le_bytes([
        rest[header_len - 4],
        rest[header_len - 3],
    ]));
    let mut body = vec![0u8; l];
    stream.read_exact(&mut body).await.expect("body");
    [head.to_vec(), rest, body].concat()
}

async fn connect(sim: &McSimHandle) -> TcpStream {
    TcpStream::connect(sim.addr()).await.expect("connect")
}

#[tokio::test]
async fn reference_vector_a_reads_station_3_and_64_as_faulty() {
    let sim = sim().await;
    sim.drop_station(0, 3, true);
    sim.drop_station(0, 64, true);
    let mut stream = connect(&sim).await;
    assert_eq!(
        exchange(&mut stream, &READ_SW0080).await,
        [
            0xD0, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x80
        ]
    );
    assert_eq!(sim.requests_served(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn reference_vector_c_4e_echoes_the_serial_on_tcp_and_udp() {
    let sim = sim().await;
    sim.drop_station(0, 3, true);
    sim.drop_station(0, 64, true);
    let mut request = vec![0x54, 0x00, 0x34, 0x12, 0x00, 0x00];
    request.extend_from_slice(&READ_SW0080[2..]);
    let expected = [
        0xD4, 0x00, 0x34, 0x12, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x0A, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
    ];
    let mut stream = connect(&sim).await;
    assert_eq!(exchange(&mut stream, &request).await, expected);

    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    udp.send_to(&request, sim.addr()).await.expect("send");
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), udp.recv_from(&mut buf))
        .await
        .expect("a datagram within 5 s")
        .expect("recv");
    assert_eq!(&buf[..n], expected);
    sim.stop().await;
}

#[tokio::test]
async fn reference_vector_g_a_write_is_refused_with_c059_and_error_information() {
    let sim = sim().await;
    let write = [
        0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x0E, 0x00, 0x10, 0x00, 0x01, 0x14, 0x00, 0x00,
        0x64, 0x00, 0x00, 0xA8, 0x01, 0x00, 0x01, 0x00,
    ];
    let mut stream = connect(&sim).await;
    assert_eq!(
        exchange(&mut stream, &write).await,
        [
            0xD0, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x0B, 0x00, 0x59, 0xC0, 0x00, 0xFF, 0xFF,
            0x03, 0x00, 0x01, 0x14, 0x00, 0x00
        ]
    );
    // Remote STOP (1002) likewise; the state is unchanged afterwards.
    let stop = [
        0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x08, 0x00, 0x10, 0x00, 0x02, 0x10, 0x00, 0x00,
        0x01, 0x00,
    ];
    let answer = exchange(&mut stream, &stop).await;
    assert_eq!(&answer[9..11], [0x59, 0xC0]);
    let sd203 = [
        0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x0C, 0x00, 0x10, 0x00, 0x01, 0x04, 0x00, 0x00,
        0xCB, 0x00, 0x00, 0xA9, 0x01, 0x00,
    ];
    assert_eq!(&exchange(&mut stream, &sd203).await[9..], [0, 0, 0, 0]);
    sim.stop().await;
}

#[tokio::test]
async fn more_than_960_words_and_a_short_request_get_their_end_codes() {
    let sim = sim().await;
    let mut stream = connect(&sim).await;
    let mut too_many = READ_SW0080;
    too_many[19..21].copy_from_slice(&961u16.to_le_bytes());
    assert_eq!(&exchange(&mut stream, &too_many).await[9..11], [0x51, 0xC0]);
    let mut max = READ_SW0080;
    max[19..21].copy_from_slice(&960u16.to_le_bytes());
    let answer = exchange(&mut stream, &max).await;
    assert_eq!(answer.len(), 11 + 1920);
    // L understated by one: the points field is cut → C061 (field measurement, §1.1).
    let mut short = READ_SW0080[..20].to_vec();
    short[7] = 0x0B;
    assert_eq!(&exchange(&mut stream, &short).await[9..11], [0x61, 0xC0]);
    sim.stop().await;
}

#[tokio::test]
async fn no_answer_on_one_connection_does_not_block_another() {
    let sim = sim().await;
    sim.set_fault(McFault::NoAnswer);
    let mut silent = connect(&sim).await;
    silent.write_all(&READ_SW0080).await.expect("send");
    let mut byte = [0u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(200), silent.read(&mut byte)).await;
    assert!(waited.is_err(), "no answer under NoAnswer");
    sim.set_fault(McFault::None);
    let mut other = connect(&sim).await;
    assert_eq!(exchange(&mut other, &READ_SW0080).await.len(), 19);
    sim.stop().await;
}

#[tokio::test]
async fn end_code_truncated_and_drop_connection_faults() {
    let sim = sim().await;
    sim.set_fault(McFault::EndCode(0xC059));
    let mut stream = connect(&sim).await;
    let answer = exchange(&mut stream, &READ_SW0080).await;
    assert_eq!(&answer[7..11], [0x0B, 0x00, 0x59, 0xC0]);
    assert_eq!(&answer[16..20], [0x01, 0x04, 0x00, 0x00]);

    sim.set_fault(McFault::Truncated);
    stream.write_all(&READ_SW0080).await.expect("send");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("closed within 5 s")
        .expect("read");
    assert_eq!(got.len(), 19 / 2, "half an answer, then EOF");

    sim.set_fault(McFault::DropConnection);
    let mut stream = connect(&sim).await;
    stream.write_all(&READ_SW0080).await.expect("send");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("closed within 5 s");
    assert!(got.is_empty());
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn slow_answers_after_the_delay() {
    let sim = sim().await;
    sim.set_fault(McFault::Slow(Duration::from_secs(3)));
    let mut stream = connect(&sim).await;
    let started = tokio::time::Instant::now();
    assert_eq!(exchange(&mut stream, &READ_SW0080).await.len(), 19);
    assert!(started.elapsed() >= Duration::from_secs(3));
    sim.stop().await;
}

#[tokio::test]
async fn stop_closes_connections_and_restart_serves_tcp_and_udp_on_the_same_port() {
    let sim = sim().await;
    sim.drop_station(0, 3, true);
    let mut stream = connect(&sim).await;
    assert_eq!(exchange(&mut stream, &READ_SW0080).await.len(), 19);
    sim.stop().await;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
        .await
        .expect("EOF within 5 s");
    assert!(matches!(read, Ok(0) | Err(_)));
    assert!(TcpStream::connect(sim.addr()).await.is_err());

    sim.restart().await.expect("rebinds");
    let mut stream = connect(&sim).await;
    let answer = exchange(&mut stream, &READ_SW0080).await;
    assert_eq!(&answer[11..13], [0x04, 0x00], "state kept across restart");
    let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    udp.send_to(&READ_SW0080, sim.addr()).await.expect("send");
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), udp.recv_from(&mut buf))
        .await
        .expect("a datagram within 5 s")
        .expect("recv");
    assert_eq!(&buf[..n], &answer[..]);
    sim.stop().await;
}

#[tokio::test]
async fn a_bad_station_or_device_fails_spawn() {
    let bad_station = McSim::builder()
        .cclink(0, 0, [SimStation::remote_device(63, 4, "x")])
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await;
    assert!(bad_station.is_err());
    let bad_device = McSim::builder()
        .words("QQ7", &[1])
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await;
    assert!(bad_device.is_err());
}
