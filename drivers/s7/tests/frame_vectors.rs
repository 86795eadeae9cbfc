//! Golden byte vectors from the reference (`s7.md`), one test per example, each citing its
//! section.

use bytes::BytesMut;
use plcdiag_s7::frame::{
    Cotp, CotpParam, CpuMode, CycleTimes, DiagEntry, Identity, ModeStatus, ModuleStatus,
    ParamErrorCode, Protection, ReturnCode, S7Message, SetupCommunication, SzlId, SzlList,
    SzlRequest, SzlRequestKind,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().filter(|t| *t != "|").collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn encode_cotp(c: &Cotp) -> Vec<u8> {
    let mut b = BytesMut::new();
    c.encode(&mut b);
    b.to_vec()
}

#[test]
fn cr_from_python_snap7_with_parameters_c1_c2_c0_decodes_and_reencodes() {
    // §1.2: CR as sent by the python-snap7 3.3.0 client (rack 0, slot 2).
    let bytes = hex("03 00 00 16 | 11 E0 00 00 00 01 00 C1 02 01 00 C2 02 01 02 C0 01 0A");
    let Cotp::ConnectRequest(cr) = Cotp::decode(&bytes).expect("decode") else {
        panic!("not a CR")
    };
    assert_eq!((cr.dst_ref, cr.src_ref, cr.class), (0, 1, 0));
    assert_eq!(
        (cr.calling_tsap(), cr.called_tsap(), cr.tpdu_size()),
        (Some(0x0100), Some(0x0102), Some(0x0A))
    );
    assert_eq!(cr.params[0], CotpParam::CallingTsap(0x0100));
    assert_eq!(encode_cotp(&Cotp::ConnectRequest(cr)), bytes);
}

#[test]
fn cr_from_native_snap7_with_parameters_c0_c1_c2_decodes() {
    // §1.2: the native Snap7 client's CR body order.
    let bytes = hex("03 00 00 16 | 11 E0 00 00 00 01 00 C0 01 0A C1 02 01 00 C2 02 01 02");
    let Cotp::ConnectRequest(cr) = Cotp::decode(&bytes).expect("decode") else {
        panic!("not a CR")
    };
    assert_eq!(
        (cr.calling_tsap(), cr.called_tsap(), cr.tpdu_size()),
        (Some(0x0100), Some(0x0102), Some(0x0A))
    );
    assert_eq!(encode_cotp(&Cotp::ConnectRequest(cr)), bytes);
}

#[test]
fn cc_with_echoed_parameters_decodes() {
    // §1.2: matching CC (server src-ref 0x0001).
    let bytes = hex("03 00 00 16 | 11 D0 00 01 00 01 00 C0 01 0A C1 02 01 00 C2 02 01 02");
    let Cotp::ConnectConfirm(cc) = Cotp::decode(&bytes).expect("decode") else {
        panic!("not a CC")
    };
    assert_eq!((cc.dst_ref, cc.src_ref), (1, 1));
    assert_eq!(cc.called_tsap(), Some(0x0102));
    assert_eq!(encode_cotp(&Cotp::ConnectConfirm(cc)), bytes);
}

#[test]
fn setup_communication_job_and_ack_decode_and_reencode() {
    // §1.4: PDU 480, AmQ 1/1.
    let job = hex("32 01 00 00 00 01 00 08 00 00 | F0 00 00 01 00 01 01 E0");
    let ack = hex("32 03 00 00 00 01 00 08 00 00 00 00 | F0 00 00 01 00 01 01 E0");
    let want = SetupCommunication {
        max_amq_caller: 1,
        max_amq_callee: 1,
        pdu_size: 480,
    };
    let S7Message::SetupJob(j) = S7Message::decode(&job).expect("job") else {
        panic!("not a setup job")
    };
    assert_eq!((j.pdu_ref, j.params), (1, want));
    let S7Message::SetupAck(a) = S7Message::decode(&ack).expect("ack") else {
        panic!("not a setup ack")
    };
    assert!(a.error.is_ok());
    assert_eq!(a.params, want);
    assert_eq!(S7Message::SetupJob(j).to_bytes(), job);
    assert_eq!(S7Message::SetupAck(a).to_bytes(), ack);
}

#[test]
fn read_szl_00a0_request_frame_matches_the_reference_bytes() {
    // §2.3: request sent identically by the Snap7 C client and python-snap7 3.3.0.
    let frame = hex(
        "03 00 00 21 02 F0 80 32 07 00 00 04 00 00 08 00 08 00 01 12 04 11 44 01 00 FF 09 00 04 00 A0 00 00",
    );
    let Cotp::Data(dt) = Cotp::decode(&frame).expect("frame") else {
        panic!("not DT")
    };
    assert!(dt.eot);
    let msg = S7Message::decode(&dt.payload).expect("s7");
    let want = S7Message::SzlRequest(SzlRequest {
        pdu_ref: 0x0400,
        kind: SzlRequestKind::First {
            id: SzlId::DIAG_BUFFER,
            index: 0,
        },
    });
    assert_eq!(msg, want);
    assert_eq!(encode_cotp(&Cotp::data(want.to_bytes())), frame);
}

const DIAG_RECORDS: &str = "43 02 FF 68 C7 00 00 00 08 14 77 14 94 02 04 23 52 16 38 86
    13 81 FE 64 C7 72 43 04 08 14 77 14 94 02 04 23 52 16 38 76
    43 01 FF 46 C7 72 43 04 08 14 77 14 94 02 04 23 52 16 29 66
    43 04 FF 84 00 00 00 00 00 00 00 00 94 02 04 23 52 13 90 16";

#[test]
fn read_szl_00a0_response_header_and_real_cpu_records_decode() {
    // §2.3: response parameters and data header of the native Snap7 server, with the four
    // quoted real CPU 315 records (N_DR and lengths adjusted to those four).
    let records = hex(DIAG_RECORDS);
    let mut data = hex("FF 09 00 58 | 00 A0 00 00 | 00 14 00 04");
    data.extend_from_slice(&records);
    let mut pdu = hex("32 07 00 00 04 00 00 0C 00 5C | 00 01 12 08 12 84 01 00 00 00 00 00");
    pdu.extend_from_slice(&data);
    let S7Message::SzlResponse(r) = S7Message::decode(&pdu).expect("decode") else {
        panic!("not SZL")
    };
    assert_eq!((r.sequence, r.data_unit_ref, r.more), (0, 0, false));
    assert_eq!(
        (r.error, r.return_code),
        (ParamErrorCode::NoError, ReturnCode::Success)
    );
    let list = SzlList::decode_payload(&r.payload).expect("list");
    assert_eq!(
        (list.id, list.index, list.record_len, list.records.len()),
        (SzlId::DIAG_BUFFER, 0, 20, 4)
    );
    let e: Vec<DiagEntry> = list
        .records
        .iter()
        .map(|r| DiagEntry::decode(r).expect("entry"))
        .collect();
    // The decoded table of §2.3.
    assert_eq!(e[0].event_id.0, 0x4302);
    assert_eq!(
        (e[0].event_id.class(), e[0].event_id.identifier()),
        (4, 0b0011)
    );
    assert!(e[0].event_id.entering() && e[0].event_id.is_diag_buffer_entry());
    assert_eq!(
        (e[0].priority, e[0].ob, e[0].dat_id, e[0].info1, e[0].info2),
        (255, 104, 0xC700, 0, 0x0814_7714)
    );
    assert_eq!(
        e[0].timestamp.expect("ts").to_string(),
        "1994-02-04 23:52:16.388"
    );
    assert_eq!(
        (e[1].event_id.0, e[1].priority, e[1].ob, e[1].info1),
        (0x1381, 254, 100, 0x4304)
    );
    assert_eq!(
        e[1].timestamp.expect("ts").to_string(),
        "1994-02-04 23:52:16.387"
    );
    assert_eq!((e[2].event_id.0, e[2].ob), (0x4301, 70));
    assert_eq!(
        e[2].timestamp.expect("ts").to_string(),
        "1994-02-04 23:52:16.296"
    );
    assert_eq!((e[3].event_id.0, e[3].ob, e[3].info2), (0x4304, 132, 0));
    assert_eq!(
        e[3].timestamp.expect("ts").to_string(),
        "1994-02-04 23:52:13.901"
    );
    for (entry, raw) in e.iter().zip(records.chunks(20)) {
        assert_eq!(entry.encode().as_slice(), raw);
    }
}

#[test]
fn szl_not_available_error_answer_decodes_as_d402_and_object_does_not_exist() {
    // §2.3 error example: SZL 0x0091 on the native Snap7 server.
    let pdu =
        hex("32 07 00 00 0E 00 00 0C 00 04 | 00 01 12 08 12 84 01 00 00 00 D4 02 | 0A 00 00 00");
    let msg = S7Message::decode(&pdu).expect("decode");
    let S7Message::SzlResponse(r) = &msg else {
        panic!("not SZL")
    };
    assert_eq!(r.error, ParamErrorCode::SzlIndexNotAvailable);
    assert_eq!(r.return_code, ReturnCode::ObjectDoesNotExist);
    assert_eq!(r.error.to_string(), "SZL not available (0xD402)");
    assert_eq!(r.return_code.to_string(), "object does not exist (0x0A)");
    assert_eq!(msg.to_bytes(), pdu);
}

#[test]
fn fragmented_response_parameters_and_follow_up_request_match_the_reference() {
    // §2.4: response parameters with sequence 0x37, DUR 0x11, more; the follow-up echoes 0x37.
    let mut pdu =
        hex("32 07 00 00 01 00 00 0C 00 04 | 00 01 12 08 12 84 01 37 11 01 00 00 | FF 09 00 00");
    let S7Message::SzlResponse(r) = S7Message::decode(&pdu).expect("decode") else {
        panic!("not SZL")
    };
    assert_eq!((r.sequence, r.data_unit_ref, r.more), (0x37, 0x11, true));
    pdu[19] = 0x00; // last fragment: byte 9 = 00
    let S7Message::SzlResponse(last) = S7Message::decode(&pdu).expect("decode") else {
        panic!("not SZL")
    };
    assert!(!last.more);
    let follow = S7Message::SzlRequest(SzlRequest {
        pdu_ref: 2,
        kind: SzlRequestKind::FollowUp { sequence: 0x37 },
    });
    assert_eq!(
        follow.to_bytes(),
        hex("32 07 00 00 00 02 00 0C 00 04 | 00 01 12 08 12 44 01 37 00 00 00 00 | 0A 00 00 00")
    );
    assert_eq!(
        S7Message::decode(&follow.to_bytes()).expect("decode"),
        follow
    );
}

#[test]
fn mode_0424_response_of_the_snap7_server_decodes_run_and_stop() {
    // §3.3: native Snap7 server answer, status byte 08 (RUN); 04 after set_cpu_status(4).
    let mut pdu = hex(
        "32 07 00 00 06 00 00 0C 00 20 | 00 01 12 08 12 84 01 00 00 00 00 00
         FF 09 00 1C | 04 24 00 00 | 00 14 00 01 | 51 44 FF 08 00 00 00 00 00 00 00 00 26 11 25 20 31 44 00 03",
    );
    let decode = |pdu: &[u8]| {
        let S7Message::SzlResponse(r) = S7Message::decode(pdu).expect("decode") else {
            panic!("not SZL")
        };
        ModeStatus::decode(&SzlList::decode_payload(&r.payload).expect("list").records)
            .expect("mode")
    };
    let run = decode(&pdu);
    assert_eq!(
        (run.mode, run.previous, run.raw_records),
        (CpuMode::Run, CpuMode::Unknown(0), 1)
    );
    assert_eq!(run.records[0].event_id.0, 0x5144);
    assert_eq!(
        run.changed_at.expect("ts").to_string(),
        "2026-11-25 20:31:44"
    );
    assert_eq!(run.mode.to_string(), "RUN");
    pdu[37] = 0x04;
    assert_eq!(decode(&pdu).mode, CpuMode::Stop);
}

#[test]
fn module_status_records_of_the_real_cpu_315_decode() {
    // §3.6: 0x0D91 index 0 and 0x0C91 index 0x07FE records.
    let cpu =
        ModuleStatus::decode(&hex("00 00 02 00 7F FF 00 C0 00 C0 00 00 B4 02 00 11")).expect("cpu");
    assert_eq!(
        (cpu.rack(), cpu.slot(), cpu.logical_address, cpu.actual_type),
        (0, 2, 0x7FFF, 0xC0)
    );
    assert!(cpu.exists() && !cpu.module_error() && !cpu.not_available() && !cpu.disabled());
    assert_eq!((cpu.data_id(), cpu.area(), cpu.width()), (0xB4, 1, 1));
    let io =
        ModuleStatus::decode(&hex("00 00 02 02 07 FE A7 C4 A7 C4 00 00 B4 02 00 11")).expect("io");
    assert_eq!(
        (io.adr2, io.logical_address, io.expected_type),
        (0x0202, 0x07FE, 0xA7C4)
    );
}

#[test]
fn protection_record_of_the_real_cpu_315_decodes() {
    // §3.7 index 4: key 1, param 0, real 1, switch RUN_P.
    let mut r = hex("00 04 00 01 00 00 00 01 00 02");
    r.resize(40, 0);
    let p = Protection::decode(&r).expect("protection");
    assert_eq!(
        (p.key_switch_level, p.parameterised_level, p.level),
        (1, 0, 1)
    );
    assert_eq!(p.key_switch.to_string(), "RUN-P");
    assert!(!p.password_set);
}

#[test]
fn cycle_time_record_of_the_real_cpu_315_decodes() {
    // §3.8 index 1 (timestamp bytes zeroed, they are not quoted).
    let r =
        hex("11 03 01 01 C8 58 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 10 00 08 00 00 00 00");
    let c = CycleTimes::decode(&r).expect("cycle");
    assert_eq!((c.current_ms, c.min_ms, c.max_ms), (0, 0, 1));
}

#[test]
fn module_identification_version_bytes_decode_as_v3_2_6() {
    // §3.4: `00 C0 56 03 02 06` → BGTyp 0x00C0, "V3.2.6" (index 7 = firmware).
    let mut r = vec![0x00, 0x07];
    r.extend_from_slice(&[b' '; 20]);
    r.extend_from_slice(&hex("00 C0 56 03 02 06"));
    let mut order = vec![0x00, 0x01];
    order.extend_from_slice(b"6ES7 315-2EH14-0AB0 ");
    order.extend_from_slice(&[0; 6]);
    let mut id = Identity::default();
    id.apply_module_records(&[order, r]).expect("records");
    assert_eq!(id.firmware.as_deref(), Some("V3.2.6"));
    assert_eq!(id.order_number.as_deref(), Some("6ES7 315-2EH14-0AB0"));
}
