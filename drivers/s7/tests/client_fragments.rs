//! The client against a tiny scripted peer over `tokio::io::duplex` (frames built with the
//! crate's pure `frame` types, not the simulator): fragment reassembly (`s7.md` §2.4),
//! refusals and PDU-reference checks.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use plcdiag_s7::codec::IsoCodec;
use plcdiag_s7::frame::{
    Cotp, CotpConnect, DiagEntry, EventId, HeaderError, ParamErrorCode, S7Message, SetupAck,
    SetupCommunication, SzlId, SzlList, SzlRequestKind, SzlResponse,
};
use plcdiag_s7::{Client, ConnectOptions, Error, Reply};
use tokio::io::DuplexStream;
use tokio_util::codec::Framed;

type Peer = Framed<DuplexStream, IsoCodec>;

async fn recv(peer: &mut Peer) -> S7Message {
    match peer.next().await.expect("frame").expect("decode") {
        Cotp::Data(d) => S7Message::decode(&d.payload).expect("s7"),
        other => panic!("unexpected {other:?}"),
    }
}

async fn send(peer: &mut Peer, msg: S7Message) {
    peer.send(Cotp::data(msg.to_bytes())).await.expect("send");
}

/// Answers CR and Setup Communication with PDU `pdu`.
async fn handshake(peer: &mut Peer, pdu: u16) {
    let Cotp::ConnectRequest(cr) = peer.next().await.expect("cr").expect("decode") else {
        panic!("not CR")
    };
    peer.send(Cotp::ConnectConfirm(CotpConnect {
        dst_ref: cr.src_ref,
        src_ref: 0x0044,
        ..cr
    }))
    .await
    .expect("cc");
    let S7Message::SetupJob(job) = recv(peer).await else {
        panic!("not setup")
    };
    let params = SetupCommunication {
        pdu_size: pdu.min(job.params.pdu_size),
        ..job.params
    };
    send(
        peer,
        S7Message::SetupAck(SetupAck {
            pdu_ref: job.pdu_ref,
            error: HeaderError::OK,
            params,
        }),
    )
    .await;
}

fn opts(pdu: u16) -> ConnectOptions {
    ConnectOptions {
        pdu_size: pdu,
        timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    }
}

fn entries(n: u16) -> Vec<DiagEntry> {
    (0..n)
        .map(|i| {
            DiagEntry::new(
                EventId(0x4300 + (i % 0x100)),
                1,
                2,
                i,
                i,
                u32::from(i),
                None,
            )
        })
        .collect()
}

#[tokio::test]
async fn sixty_diag_records_at_pdu_240_arrive_in_order_and_follow_ups_echo_the_sequence_number() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let records = entries(60);
    let list = SzlList::new(
        SzlId::DIAG_BUFFER,
        0,
        records.iter().map(|e| e.encode().to_vec()).collect(),
    );
    let peer = tokio::spawn(async move {
        let mut peer = Framed::new(b, IsoCodec);
        handshake(&mut peer, 240).await;
        let S7Message::SzlRequest(first) = recv(&mut peer).await else {
            panic!("not SZL")
        };
        assert_eq!(
            first.kind,
            SzlRequestKind::First {
                id: SzlId::DIAG_BUFFER,
                index: 0
            }
        );
        let fragments = SzlResponse::fragments(first.pdu_ref, &list, 240, 0x37, 0x11);
        let n = fragments.len();
        let mut follow_ups = 0;
        for (i, mut f) in fragments.into_iter().enumerate() {
            if i > 0 {
                let S7Message::SzlRequest(req) = recv(&mut peer).await else {
                    panic!("not SZL")
                };
                assert_eq!(req.kind, SzlRequestKind::FollowUp { sequence: 0x37 });
                f.pdu_ref = req.pdu_ref;
                follow_ups += 1;
            }
            assert!(S7Message::SzlResponse(f.clone()).to_pdu().encoded_len() <= 240);
            send(&mut peer, S7Message::SzlResponse(f)).await;
        }
        (n, follow_ups)
    });
    let mut client = Client::attach(a, &opts(480)).await.expect("attach");
    assert_eq!(client.pdu_size(), 240);
    let got = client.diag_buffer(0).await.expect("read");
    let (n, follow_ups) = peer.await.expect("peer");
    assert_eq!(n, 6, "1208 payload bytes at 214 per fragment");
    assert_eq!(follow_ups, n - 1);
    assert_eq!(got, Reply::Ok(records));
}

#[tokio::test]
async fn an_szl_refusal_is_a_reply_and_the_connection_stays_usable() {
    let (a, b) = tokio::io::duplex(8192);
    let peer = tokio::spawn(async move {
        let mut peer = Framed::new(b, IsoCodec);
        handshake(&mut peer, 480).await;
        let S7Message::SzlRequest(req) = recv(&mut peer).await else {
            panic!("not SZL")
        };
        send(
            &mut peer,
            S7Message::SzlResponse(SzlResponse::refusal(
                req.pdu_ref,
                ParamErrorCode::SzlIdNotAvailable,
            )),
        )
        .await;
        let S7Message::SzlRequest(req) = recv(&mut peer).await else {
            panic!("not SZL")
        };
        let list = SzlList::new(
            SzlId::SUPPORTED_IDS,
            0,
            vec![vec![0x00, 0xA0], vec![0x04, 0x24]],
        );
        for f in SzlResponse::fragments(req.pdu_ref, &list, 480, 0, 0) {
            send(&mut peer, S7Message::SzlResponse(f)).await;
        }
    });
    let mut client = Client::attach(a, &opts(480)).await.expect("attach");
    let refused = client
        .read_szl(SzlId::MODULE_STATUS, 0)
        .await
        .expect("reply");
    assert!(refused.unsupported());
    let ids = client.supported_szl_ids().await.expect("ids");
    assert_eq!(ids, Reply::Ok(vec![SzlId(0x00A0), SzlId(0x0424)]));
    peer.await.expect("peer");
}

#[tokio::test]
async fn an_answer_with_another_pdu_reference_is_a_communication_error() {
    let (a, b) = tokio::io::duplex(8192);
    let peer = tokio::spawn(async move {
        let mut peer = Framed::new(b, IsoCodec);
        handshake(&mut peer, 480).await;
        let S7Message::SzlRequest(req) = recv(&mut peer).await else {
            panic!("not SZL")
        };
        let list = SzlList::new(SzlId::MODE, 0, vec![vec![0; 20]]);
        for f in SzlResponse::fragments(req.pdu_ref.wrapping_add(7), &list, 480, 0, 0) {
            send(&mut peer, S7Message::SzlResponse(f)).await;
        }
        peer
    });
    let mut client = Client::attach(a, &opts(480)).await.expect("attach");
    let err = client.cpu_mode().await.expect_err("mismatch");
    assert!(matches!(err, Error::PduRefMismatch { .. }), "{err:?}");
    drop(peer.await);
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_gives_a_response_timeout() {
    let (a, b) = tokio::io::duplex(8192);
    let peer = tokio::spawn(async move {
        let mut peer = Framed::new(b, IsoCodec);
        handshake(&mut peer, 480).await;
        let _ = recv(&mut peer).await;
        peer
    });
    let mut client = Client::attach(a, &opts(480)).await.expect("attach");
    let err = client.cpu_mode().await.expect_err("timeout");
    assert!(matches!(err, Error::ResponseTimeout(_)), "{err:?}");
    drop(peer.await);
}

#[tokio::test]
async fn a_disconnect_request_instead_of_cc_is_cotp_refused() {
    let (a, b) = tokio::io::duplex(8192);
    let peer = tokio::spawn(async move {
        let mut peer = Framed::new(b, IsoCodec);
        let _ = peer.next().await;
        let dr = plcdiag_s7::frame::CotpDisconnect {
            dst_ref: 1,
            src_ref: 0,
            reason: 0x81,
            params: vec![],
        };
        peer.send(Cotp::DisconnectRequest(dr)).await.expect("dr");
        peer
    });
    let err = Client::attach(a, &opts(480)).await.expect_err("refused");
    assert!(
        matches!(err, Error::CotpRefused { reason: 0x81 }),
        "{err:?}"
    );
    drop(peer.await);
}
