//! Property tests: every decoder is total (any bytes give `Ok` or `Err`, never a panic) and
//! every encode round-trips through its decode (STYLE.md practice 3).

use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use plcdiag_s7::codec::IsoCodec;
use plcdiag_s7::frame::{
    AnyItem, Cotp, CotpConnect, CotpData, CotpDisconnect, CotpParam, CycleTimes, DataItem,
    DiagEntry, EventId, HeaderError, Identity, ModeStatus, ModuleStatus, ParamErrorCode,
    Protection, ReadVarAck, ReadVarJob, ReturnCode, S7Message, S7Pdu, SetupAck, SetupCommunication,
    SetupJob, SzlId, SzlList, SzlRequest, SzlRequestKind, SzlResponse, TimeStatus, decode_bcd_time,
};
use plcdiag_s7::{ItemError, ReadPlan, VarAddress, VarValue};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..600)
}

fn cotp_param() -> impl Strategy<Value = CotpParam> {
    prop_oneof![
        any::<u8>().prop_map(CotpParam::TpduSize),
        any::<u16>().prop_map(CotpParam::CallingTsap),
        any::<u16>().prop_map(CotpParam::CalledTsap),
        (0x00u8..0xC0, prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(code, value)| CotpParam::Other { code, value }),
    ]
}

fn cotp() -> impl Strategy<Value = Cotp> {
    let params = || prop::collection::vec(cotp_param(), 0..4);
    prop_oneof![
        (any::<u16>(), any::<u16>(), any::<u8>(), params()).prop_map(
            |(dst_ref, src_ref, class, params)| Cotp::ConnectRequest(CotpConnect {
                dst_ref,
                src_ref,
                class,
                params
            })
        ),
        (any::<u16>(), any::<u16>(), any::<u8>(), params()).prop_map(
            |(dst_ref, src_ref, class, params)| Cotp::ConnectConfirm(CotpConnect {
                dst_ref,
                src_ref,
                class,
                params
            })
        ),
        (any::<u16>(), any::<u16>(), any::<u8>(), params()).prop_map(
            |(dst_ref, src_ref, reason, params)| {
                Cotp::DisconnectRequest(CotpDisconnect {
                    dst_ref,
                    src_ref,
                    reason,
                    params,
                })
            }
        ),
        (
            any::<bool>(),
            0u8..0x80,
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(eot, tpdu_number, payload)| Cotp::Data(CotpData {
                eot,
                tpdu_number,
                payload
            })),
    ]
}

fn data_item() -> impl Strategy<Value = DataItem> {
    prop_oneof![
        (
            prop::sample::select(vec![0x04u8, 0x05, 0x07, 0x09]),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(ts, data)| DataItem {
                return_code: ReturnCode::Success,
                transport_size: ts,
                data
            }),
        any::<u8>().prop_map(|b| DataItem {
            return_code: ReturnCode::Success,
            transport_size: 0x03,
            data: vec![b]
        }),
        any::<u8>()
            .prop_filter("error code", |c| *c != 0xFF)
            .prop_map(|c| DataItem::error(ReturnCode::from_code(c))),
    ]
}

fn s7_message() -> impl Strategy<Value = S7Message> {
    let setup =
        (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, p)| SetupCommunication {
            max_amq_caller: a,
            max_amq_callee: b,
            pdu_size: p,
        });
    let item = (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u8>(),
        0u32..0x0100_0000,
    )
        .prop_map(|(transport_size, count, db, area, address)| AnyItem {
            transport_size,
            count,
            db,
            area,
            address,
        });
    prop_oneof![
        (any::<u16>(), setup.clone())
            .prop_map(|(pdu_ref, params)| S7Message::SetupJob(SetupJob { pdu_ref, params })),
        (any::<u16>(), any::<u8>(), any::<u8>(), setup).prop_map(
            |(pdu_ref, class, code, params)| {
                S7Message::SetupAck(SetupAck {
                    pdu_ref,
                    error: HeaderError { class, code },
                    params,
                })
            }
        ),
        (any::<u16>(), prop::collection::vec(item, 0..20))
            .prop_map(|(pdu_ref, items)| S7Message::ReadVarJob(ReadVarJob { pdu_ref, items })),
        (any::<u16>(), prop::collection::vec(data_item(), 0..10)).prop_map(|(pdu_ref, items)| {
            S7Message::ReadVarAck(ReadVarAck {
                pdu_ref,
                error: HeaderError::OK,
                items,
            })
        }),
        (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(pdu_ref, id, index)| {
            S7Message::SzlRequest(SzlRequest {
                pdu_ref,
                kind: SzlRequestKind::First {
                    id: SzlId(id),
                    index,
                },
            })
        }),
        (any::<u16>(), any::<u8>()).prop_map(|(pdu_ref, sequence)| {
            S7Message::SzlRequest(SzlRequest {
                pdu_ref,
                kind: SzlRequestKind::FollowUp { sequence },
            })
        }),
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<bool>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            bytes()
        )
            .prop_map(
                |(pdu_ref, sequence, data_unit_ref, more, err, rc, ts, payload)| {
                    S7Message::SzlResponse(SzlResponse {
                        pdu_ref,
                        sequence,
                        data_unit_ref,
                        more,
                        error: ParamErrorCode::from_code(err),
                        return_code: ReturnCode::from_code(rc),
                        transport_size: ts,
                        payload,
                    })
                }
            ),
    ]
}

fn address() -> impl Strategy<Value = VarAddress> {
    let text = prop_oneof![
        (1u16..=65535, 0u32..=65535, 0u8..8)
            .prop_map(|(db, b, bit)| format!("DB{db}.DBX{b}.{bit}")),
        (
            1u16..=65535,
            0u32..=65535,
            prop::sample::select(vec!["B", "W", "D"])
        )
            .prop_map(|(db, b, s)| format!("DB{db}.DB{s}{b}")),
        (
            0u32..=65535,
            prop::sample::select(vec!["DINT", "REAL", "DWORD"])
        )
            .prop_map(|(b, t)| format!("MD{b}:{t}")),
        (0u32..=65535, prop::sample::select(vec!["INT", "WORD"]))
            .prop_map(|(b, t)| format!("IW{b}:{t}")),
        (0u32..=65535, 1u8..=254).prop_map(|(b, n)| format!("DB3.DBB{b}:STRING[{n}]")),
        (
            0u32..=65535,
            0u8..8,
            prop::sample::select(vec!["M", "I", "E", "Q", "A"])
        )
            .prop_map(|(b, bit, a)| format!("{a}{b}.{bit}")),
        (0u32..=65535, prop::sample::select(vec!["T", "C", "Z"]))
            .prop_map(|(n, a)| format!("{a}{n}")),
        (0u32..=65535).prop_map(|b| format!("QB{b}:CHAR")),
    ];
    text.prop_map(|t| {
        t.parse::<VarAddress>()
            .unwrap_or_else(|e| panic!("{t}: {e}"))
    })
}

proptest! {
    #[test]
    fn any_bytes_into_every_frame_decoder_never_panic(b in bytes()) {
        let _ = Cotp::decode(&b);
        let _ = Cotp::decode_cotp(&b);
        let _ = S7Pdu::decode(&b);
        let _ = S7Message::decode(&b);
        let _ = SzlList::decode_payload(&b);
        let _ = decode_bcd_time(&b);
    }

    #[test]
    fn any_s7_header_with_any_body_never_panics(rosctr in prop::sample::select(vec![1u8, 2, 3, 7]), body in bytes()) {
        let mut b = vec![0x32, rosctr, 0, 0, 0, 1];
        let hl = if rosctr == 2 || rosctr == 3 { 12 } else { 10 };
        let plen = body.len().min(usize::from(body.first().copied().unwrap_or(0)));
        b.extend_from_slice(&(plen as u16).to_be_bytes());
        b.extend_from_slice(&((body.len() - plen) as u16).to_be_bytes());
        b.resize(hl, 0);
        b.extend_from_slice(&body);
        let _ = S7Message::decode(&b);
    }

    #[test]
    fn any_bytes_into_the_tpkt_decoder_never_panic(chunks in prop::collection::vec(bytes(), 0..4)) {
        let mut codec = IsoCodec;
        let mut buf = BytesMut::new();
        for c in chunks {
            buf.extend_from_slice(&c);
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }
    }

    #[test]
    fn any_bytes_into_every_record_decoder_never_panic(b in bytes()) {
        let _ = DiagEntry::decode(&b);
        let _ = ModuleStatus::decode(&b);
        let _ = Protection::decode(&b);
        let _ = TimeStatus::decode(&b);
        let _ = CycleTimes::decode(&b);
        let chunks: Vec<Vec<u8>> = b.chunks(20).map(<[u8]>::to_vec).collect();
        let _ = ModeStatus::decode(&chunks);
        let mut id = Identity::default();
        let _ = id.apply_module_records(&b.chunks(28).map(<[u8]>::to_vec).collect::<Vec<_>>());
        let _ = id.apply_component_records(&b.chunks(34).map(<[u8]>::to_vec).collect::<Vec<_>>());
        for t in ["DB1.DBX0.3", "DB1.DBB0:STRING[20]", "MD0:REAL", "T1", "MW0:INT", "MB0:CHAR"] {
            let _ = VarValue::decode(t.parse::<VarAddress>().expect("addr").var_type, &b);
        }
    }

    #[test]
    fn every_cotp_pdu_round_trips(c in cotp()) {
        let mut b = BytesMut::new();
        c.encode(&mut b);
        prop_assert_eq!(Cotp::decode(&b).expect("decode"), c.clone());
        let mut codec = IsoCodec;
        prop_assert_eq!(codec.decode(&mut b).expect("codec"), Some(c));
        prop_assert!(b.is_empty());
    }

    #[test]
    fn every_s7_message_round_trips(m in s7_message()) {
        prop_assert_eq!(S7Message::decode(&m.to_bytes()).expect("decode"), m);
    }

    #[test]
    fn diag_entries_round_trip(raw in prop::array::uniform20(any::<u8>())) {
        let e = DiagEntry::decode(&raw).expect("decode");
        prop_assert_eq!(e.encode(), raw);
        prop_assert_eq!(DiagEntry::decode(&e.encode()).expect("again"), e);
    }

    #[test]
    fn diag_entries_built_from_fields_round_trip(id in any::<u16>(), info2 in any::<u32>(), secs in 0i64..3_155_760_000, ms in 0u32..1000) {
        let ts = chrono::DateTime::from_timestamp(631_152_000 + secs, ms * 1_000_000).expect("ts").naive_utc();
        let e = DiagEntry::new(EventId(id), 1, 2, 3, 4, info2, Some(ts));
        prop_assert_eq!(e.timestamp, Some(ts));
        prop_assert_eq!(DiagEntry::decode(&e.encode()).expect("decode"), e);
    }

    #[test]
    fn addresses_round_trip_through_display(a in address()) {
        let shown = a.to_string();
        prop_assert_eq!(shown.parse::<VarAddress>().expect("reparse"), a);
    }

    #[test]
    fn plans_fit_the_pdu_and_give_one_result_per_item(items in prop::collection::vec(address(), 0..40), pdu in prop::sample::select(vec![240u16, 480, 960])) {
        let plan = ReadPlan::new(&items, pdu);
        let mut answers: Vec<Result<Vec<DataItem>, ItemError>> = Vec::new();
        for j in 0..plan.job_count() {
            let job = plan.job_items(j);
            prop_assert!(ReadVarJob::encoded_len(job.len()) <= usize::from(pdu));
            let data: Vec<DataItem> = job.iter().map(|i| {
                let unit = if i.area == 0x1C || i.area == 0x1D { 2 } else { 1 };
                DataItem::bytes(vec![0; usize::from(i.count) * unit])
            }).collect();
            let ack = S7Message::ReadVarAck(ReadVarAck { pdu_ref: 1, error: HeaderError::OK, items: data.clone() });
            prop_assert!(ack.to_bytes().len() <= usize::from(pdu));
            answers.push(Ok(data));
        }
        let values = plan.assemble(&answers);
        prop_assert_eq!(values.len(), items.len());
        prop_assert!(values.iter().all(Result::is_ok));
    }
}
