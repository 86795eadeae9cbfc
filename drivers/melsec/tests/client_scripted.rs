//! The client against a tiny scripted peer on 127.0.0.1 that speaks raw bytes (not the
//! simulator): it records each request frame and answers from a script.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use plcdiag_melsec::frame::{Command, Request};
use plcdiag_melsec::{
    CcLinkMaster, Client, ConnectOptions, Device, EndCode, Error, FrameKind, NetworkKind, Reply,
    Series, StationState, TagAddress, TagError, TagValue, Transport,
};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// Builds an answer from the request bytes.
type Responder = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;

/// What the peer does with one request.
enum Step {
    /// Answer with these bytes.
    Answer(Vec<u8>),
    /// Answer with a function of the request bytes.
    With(Responder),
    /// Read the request and never answer.
    Silent,
    /// Write these bytes and close.
    AnswerAndClose(Vec<u8>),
}

async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.ok()?;
    let rest_of_header = if head == [0x54, 0x00] { 11 } else { 7 };
    let mut h = vec![0u8; rest_of_header];
    s.read_exact(&mut h).await.ok()?;
    let l = usize::from(u16::from_le_bytes([
        h[rest_of_header - 2],
        h[rest_of_header - 1],
    ]));
    let mut body = vec![0u8; l];
    s.read_exact(&mut body).await.ok()?;
    let mut frame = head.to_vec();
    frame.extend(h);
    frame.extend(body);
    Some(frame)
}

/// Binds 127.0.0.1:0, then serves one connection with the script; requests go to the channel.
async fn tcp_peer(script: Vec<Step>) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        for step in script {
            let Some(req) = read_frame(&mut s).await else {
                return;
            };
            let _ = tx.send(req.clone());
            match step {
                Step::Answer(b) => s.write_all(&b).await.unwrap(),
                Step::With(f) => s.write_all(&f(&req)).await.unwrap(),
                Step::Silent => {
                    // Keep the connection open without answering.
                    let mut sink = [0u8; 64];
                    let _ = s.read(&mut sink).await;
                    return;
                }
                Step::AnswerAndClose(b) => {
                    s.write_all(&b).await.unwrap();
                    return;
                }
            }
        }
        // Hold the connection until the client drops it.
        let mut sink = [0u8; 64];
        let _ = s.read(&mut sink).await;
    });
    (addr, rx)
}

/// A normal 3E response with `data`.
fn ok3e(data: &[u8]) -> Vec<u8> {
    let mut v = hex("D0 00 00 FF FF 03 00");
    v.extend_from_slice(&((data.len() + 2) as u16).to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(data);
    v
}

/// A normal 4E response echoing the request's serial.
fn ok4e_echo(data: Vec<u8>) -> Responder {
    Box::new(move |req| {
        let mut v = vec![
            0xD4, 0x00, req[2], req[3], 0, 0, 0x00, 0xFF, 0xFF, 0x03, 0x00,
        ];
        v.extend_from_slice(&((data.len() + 2) as u16).to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&data);
        v
    })
}

fn words_le(w: &[u16]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[tokio::test]
async fn three_e_batch_read_sends_the_section_1_8_a_frame_and_decodes_the_answer() {
    let (addr, mut rx) = tcp_peer(vec![Step::Answer(hex(
        "D0 00 00 FF FF 03 00 0A 00 00 00 04 00 00 00 00 00 00 80",
    ))])
    .await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    let r = c.read_words("SW0080".parse().unwrap(), 4).await.unwrap();
    assert_eq!(r, Reply::Ok(vec![0x0004, 0, 0, 0x8000]));
    assert_eq!(
        rx.recv().await.unwrap(),
        hex("50 00 00 FF FF 03 00 0C 00 10 00 01 04 00 00 80 00 00 B5 04 00")
    );
}

#[tokio::test]
async fn four_e_serial_numbers_increment_and_must_match() {
    let (addr, mut rx) = tcp_peer(vec![
        Step::With(ok4e_echo(words_le(&[7]))),
        Step::With(ok4e_echo(words_le(&[8]))),
        // Third answer carries serial 0x0009 instead of 2.
        Step::Answer(hex("D4 00 09 00 00 00 00 FF FF 03 00 04 00 00 00 09 00")),
    ])
    .await;
    let opts = ConnectOptions {
        frame: FrameKind::E4,
        series: Series::IqR,
        ..ConnectOptions::default()
    };
    let mut c = Client::connect(addr, &opts).await.unwrap();
    let d: Device = "D100".parse().unwrap();
    assert_eq!(c.read_words(d, 1).await.unwrap(), Reply::Ok(vec![7]));
    assert_eq!(c.read_words(d, 1).await.unwrap(), Reply::Ok(vec![8]));
    match c.read_words(d, 1).await {
        Err(Error::SerialMismatch { expected, got }) => assert_eq!((expected, got), (2, 9)),
        other => panic!("{other:?}"),
    }
    let serials: Vec<u16> = (0..3)
        .map(|_| {
            let f = rx.try_recv().unwrap();
            assert_eq!(&f[..2], &[0x54, 0x00]);
            let req = Request::decode(&f).unwrap();
            assert!(matches!(req.command, Command::BatchReadWords { .. }));
            req.header.serial
        })
        .collect();
    assert_eq!(serials, vec![0, 1, 2]);
}

#[tokio::test]
async fn end_code_is_a_reply_and_the_connection_stays_usable() {
    let (addr, _rx) = tcp_peer(vec![
        Step::Answer(hex(
            "D0 00 00 FF FF 03 00 0B 00 59 C0 00 FF FF 03 00 01 04 02 00",
        )),
        Step::Answer(ok3e(&words_le(&[42]))),
    ])
    .await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    let d: Device = "D0".parse().unwrap();
    let r = c.read_words(d, 1).await.unwrap();
    assert_eq!(r, Reply::EndCode(EndCode::WrongCommand));
    assert!(r.unsupported());
    assert_eq!(c.read_words(d, 1).await.unwrap(), Reply::Ok(vec![42]));
}

#[tokio::test(start_paused = true)]
async fn silent_peer_gives_response_timeout() {
    let (addr, _rx) = tcp_peer(vec![Step::Silent]).await;
    let opts = ConnectOptions {
        timeout: Duration::from_secs(3),
        ..ConnectOptions::default()
    };
    let mut c = Client::connect(addr, &opts).await.unwrap();
    match c.read_words("D0".parse().unwrap(), 1).await {
        Err(Error::ResponseTimeout(d)) => assert_eq!(d, Duration::from_secs(3)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn truncated_frame_then_close_is_an_error() {
    let (addr, _rx) = tcp_peer(vec![Step::AnswerAndClose(hex(
        "D0 00 00 FF FF 03 00 0A 00 00 00 04 00",
    ))])
    .await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    match c.read_words("SW80".parse().unwrap(), 4).await {
        Err(Error::Io(_) | Error::Closed) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn answer_with_too_few_words_is_a_decode_error() {
    let (addr, _rx) = tcp_peer(vec![Step::Answer(ok3e(&words_le(&[1, 2])))]).await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        c.read_words("SW80".parse().unwrap(), 4).await,
        Err(Error::Decode(_))
    ));
}

#[tokio::test]
async fn unknown_subheader_is_a_decode_error() {
    let (addr, _rx) = tcp_peer(vec![Step::Answer(hex("12 34 00 FF FF 03 00 02 00 00 00"))]).await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        c.read_words("D0".parse().unwrap(), 1).await,
        Err(Error::Decode(_))
    ));
}

#[tokio::test]
async fn udp_round_trip_with_4e() {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = peer.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        let (n, from) = peer.recv_from(&mut buf).await.unwrap();
        let req = buf[..n].to_vec();
        let answer = ok4e_echo(hex("10 01"))(&req);
        peer.send_to(&answer, from).await.unwrap();
        req
    });
    let opts = ConnectOptions {
        frame: FrameKind::E4,
        transport: Transport::Udp,
        ..ConnectOptions::default()
    };
    let mut c = Client::connect(addr, &opts).await.unwrap();
    let r = c.read_bits("SB0040".parse().unwrap(), 3).await.unwrap();
    assert_eq!(r, Reply::Ok(vec![true, false, false]));
    let req = server.await.unwrap();
    assert_eq!(
        req,
        hex("54 00 00 00 00 00 00 FF FF 03 00 0C 00 10 00 01 04 01 00 40 00 00 A1 03 00")
    );
}

#[tokio::test]
async fn cclink_reads_the_sw_and_sb_blocks_in_two_requests() {
    let master = {
        let mut m = CcLinkMaster::new("line 1", NetworkKind::CcLink);
        m.stations = (1..=8)
            .map(|n| plcdiag_melsec::StationConfig::new(n, format!("rio{n}")))
            .collect();
        m
    };
    let (first, words) = master.sw_block();
    let mut sw = vec![0u16; words as usize];
    sw[(0x80 - first) as usize] = 0b1110_0000; // stations 6, 7, 8
    sw[(0x6E - first) as usize] = 9;
    let (addr, mut rx) = tcp_peer(vec![
        Step::Answer(ok3e(&words_le(&sw))),
        Step::Answer(ok3e(&words_le(&[0]))),
    ])
    .await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    let status = c.cclink(&master).await.unwrap().ok().unwrap();
    assert!(status.line_ok);
    assert_eq!(status.link_scan.unwrap().current_ms, 9);
    let faulty: Vec<u8> = status
        .stations
        .iter()
        .filter(|s| s.state == StationState::Faulty)
        .map(|s| s.number)
        .collect();
    assert_eq!(faulty, vec![6, 7, 8]);
    assert_eq!(status.findings.len(), 1);
    let r1 = Request::decode(&rx.recv().await.unwrap()).unwrap();
    let r2 = Request::decode(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(
        r1.command,
        Command::BatchReadWords {
            head: "SW006D".parse().unwrap(),
            points: 92
        }
    );
    assert_eq!(
        r2.command,
        Command::BatchReadWords {
            head: "SB0090".parse().unwrap(),
            points: 1
        }
    );
}

#[tokio::test]
async fn cpu_diagnosis_is_one_random_read_of_thirty_points() {
    let mut w = vec![0u16; 30];
    w[0] = 5000;
    w[27] = 0x0042;
    w[28] = 0x0003;
    let (addr, mut rx) = tcp_peer(vec![Step::Answer(ok3e(&words_le(&w)))]).await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    let d = c.cpu_diagnosis().await.unwrap().ok().unwrap();
    assert_eq!(d.error_code, 5000);
    assert!(d.error_stop());
    let req = Request::decode(&rx.recv().await.unwrap()).unwrap();
    match req.command {
        Command::RandomRead { words, dwords } => {
            assert_eq!(words.len(), 30);
            assert!(dwords.is_empty());
            assert_eq!(words[27].to_string(), "SD203");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn read_tags_keeps_order_and_fails_only_the_refused_request() {
    let tags: Vec<TagAddress> = ["D100", "D101:UINT", "M20", "D102:REAL"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let real = 1.5f32.to_bits();
    // Plan: bits for M20 (device order: M before D? BTreeMap order of DeviceCode), words
    // D100..D103. Answer by command kind.
    let answer = move |req: &[u8]| -> Vec<u8> {
        let r = Request::decode(req).unwrap();
        match r.command {
            Command::BatchReadWords { points, .. } => {
                assert_eq!(points, 4);
                ok3e(&words_le(&[
                    0xFFFF,
                    0xFFFF,
                    (real & 0xFFFF) as u16,
                    (real >> 16) as u16,
                ]))
            }
            Command::BatchReadBits { .. } => {
                hex("D0 00 00 FF FF 03 00 0B 00 5B C0 00 FF FF 03 00 01 04 01 00")
            }
            other => panic!("{other:?}"),
        }
    };
    let answer = std::sync::Arc::new(answer);
    let (a1, a2) = (answer.clone(), answer);
    let (addr, _rx) = tcp_peer(vec![
        Step::With(Box::new(move |r| a1(r))),
        Step::With(Box::new(move |r| a2(r))),
    ])
    .await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    let out = c.read_tags(&tags).await.unwrap();
    assert_eq!(out[0], Ok(TagValue::Int(-1)));
    assert_eq!(out[1], Ok(TagValue::Uint(0xFFFF)));
    assert_eq!(out[2], Err(TagError::EndCode(EndCode::DeviceNotAccessible)));
    assert_eq!(out[3], Ok(TagValue::Real(1.5)));
}

#[tokio::test]
async fn oversize_requests_are_refused_before_sending() {
    let (addr, mut rx) = tcp_peer(vec![]).await;
    let mut c = Client::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        c.read_words("D0".parse().unwrap(), 961).await,
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        c.read_words("ZR16777216".parse().unwrap(), 1).await,
        Err(Error::TooLarge { .. })
    ));
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn refused_tcp_connect_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    assert!(matches!(
        Client::connect(addr, &ConnectOptions::default()).await,
        Err(Error::Connect(_))
    ));
}
