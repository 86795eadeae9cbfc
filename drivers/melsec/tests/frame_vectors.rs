//! Golden vectors from `melsec-cclink.md` §1.8 and §4.1.

use plcdiag_melsec::frame::{
    Command, Device, DeviceCode, DeviceForm, EndCode, ErrorInfo, FrameKind, Header, Request,
    Response, ResponseBody, Route, TypeName, decode_bits, decode_random, decode_words, encode_bits,
};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn sw(n: u32) -> Device {
    Device::new(DeviceCode::Sw, n)
}

fn request(
    frame: FrameKind,
    serial: u16,
    timer: u16,
    form: DeviceForm,
    command: Command,
) -> Request {
    Request {
        header: Header {
            frame,
            serial,
            route: Route::default(),
        },
        monitoring_timer: timer,
        form,
        command,
    }
}

#[test]
fn sw0080_batch_read_3e_request_matches_section_1_8_a() {
    let req = request(
        FrameKind::E3,
        0,
        0x0010,
        DeviceForm::QL,
        Command::BatchReadWords {
            head: sw(0x80),
            points: 4,
        },
    );
    let bytes = hex("50 00 00 FF FF 03 00 0C 00 10 00 01 04 00 00 80 00 00 B5 04 00");
    assert_eq!(req.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), req);
}

#[test]
fn pymcprotocol_sw0080_request_with_timer_4_decodes_section_4_1() {
    let bytes = hex("50 00 00 FF FF 03 00 0C 00 04 00 01 04 00 00 80 00 00 B5 04 00");
    let req = Request::decode(&bytes).unwrap();
    assert_eq!(req.monitoring_timer, 4);
    assert_eq!(
        req.command,
        Command::BatchReadWords {
            head: sw(0x80),
            points: 4
        }
    );
}

#[test]
fn sw0080_batch_read_iqr_form_matches_section_1_8_b() {
    let req = request(
        FrameKind::E3,
        0,
        0x0010,
        DeviceForm::IqR,
        Command::BatchReadWords {
            head: sw(0x80),
            points: 4,
        },
    );
    let bytes = hex("50 00 00 FF FF 03 00 0E 00 10 00 01 04 02 00 80 00 00 00 B5 00 04 00");
    assert_eq!(req.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), req);
}

#[test]
fn sw0080_batch_read_4e_iqr_form_has_serial_and_long_specification_section_4_1() {
    let req = request(
        FrameKind::E4,
        0x0001,
        0x0010,
        DeviceForm::IqR,
        Command::BatchReadWords {
            head: sw(0x80),
            points: 4,
        },
    );
    let bytes =
        hex("54 00 01 00 00 00 00 FF FF 03 00 0E 00 10 00 01 04 02 00 80 00 00 00 B5 00 04 00");
    assert_eq!(req.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), req);
}

#[test]
fn sw0080_response_decodes_to_section_1_8_a_words() {
    let bytes = hex("D0 00 00 FF FF 03 00 0A 00 00 00 04 00 00 00 00 00 00 80");
    let resp = Response::decode(&bytes).unwrap();
    assert_eq!(resp.header.frame, FrameKind::E3);
    assert_eq!(resp.header.route, Route::default());
    let ResponseBody::Ok(data) = &resp.body else {
        panic!("not ok: {resp:?}")
    };
    assert_eq!(decode_words(data, 4).unwrap(), vec![0x0004, 0, 0, 0x8000]);
    assert_eq!(resp.encode(), bytes);
}

#[test]
fn four_e_exchange_matches_section_1_8_c() {
    let req = request(
        FrameKind::E4,
        0,
        0x0004,
        DeviceForm::QL,
        Command::BatchReadWords {
            head: sw(0x80),
            points: 4,
        },
    );
    assert_eq!(
        req.encode(),
        hex("54 00 00 00 00 00 00 FF FF 03 00 0C 00 04 00 01 04 00 00 80 00 00 B5 04 00")
    );
    let resp = Response::decode(&hex(
        "D4 00 00 00 00 00 00 FF FF 03 00 0A 00 00 00 04 00 00 00 00 00 00 80",
    ))
    .unwrap();
    assert_eq!(resp.header.frame, FrameKind::E4);
    assert_eq!(resp.header.serial, 0);
    assert_eq!(resp.body, ResponseBody::Ok(hex("04 00 00 00 00 00 00 80")));
}

#[test]
fn bit_read_sb0040_matches_section_1_8_d_with_high_nibble_first() {
    let req = request(
        FrameKind::E3,
        0,
        0x0010,
        DeviceForm::QL,
        Command::BatchReadBits {
            head: Device::new(DeviceCode::Sb, 0x40),
            points: 16,
        },
    );
    assert_eq!(
        req.encode(),
        hex("50 00 00 FF FF 03 00 0C 00 10 00 01 04 01 00 40 00 00 A1 10 00")
    );
    let resp = Response::decode(&hex(
        "D0 00 00 FF FF 03 00 0A 00 00 00 10 01 00 10 01 00 10 01",
    ))
    .unwrap();
    let ResponseBody::Ok(data) = resp.body else {
        panic!()
    };
    let bits = decode_bits(&data, 16).unwrap();
    assert!(bits[0], "SB0040 = 1");
    assert!(!bits[1], "SB0041 = 0");
    assert!(!bits[2]);
    assert!(bits[3]);
    assert_eq!(encode_bits(&bits), data);
}

#[test]
fn odd_bit_count_is_padded_in_the_low_nibble_section_1_5() {
    assert_eq!(encode_bits(&[true, false, true]), vec![0x10, 0x10]);
    assert_eq!(
        decode_bits(&[0x10, 0x10], 3).unwrap(),
        vec![true, false, true]
    );
    assert!(decode_bits(&[0x10], 3).is_err());
}

#[test]
fn random_read_of_sw0080_and_sw0090_matches_section_1_8_e() {
    let req = request(
        FrameKind::E3,
        0,
        0x0004,
        DeviceForm::QL,
        Command::RandomRead {
            words: vec![sw(0x80), sw(0x90)],
            dwords: vec![],
        },
    );
    let bytes = hex("50 00 00 FF FF 03 00 10 00 04 00 03 04 00 00 02 00 80 00 00 B5 90 00 00 B5");
    assert_eq!(req.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), req);
    let resp = Response::decode(&hex("D0 00 00 FF FF 03 00 06 00 00 00 34 12 78 56")).unwrap();
    let ResponseBody::Ok(data) = resp.body else {
        panic!()
    };
    assert_eq!(
        decode_random(&data, 2, 0).unwrap(),
        (vec![0x1234, 0x5678], vec![])
    );
}

#[test]
fn random_read_with_dwords_puts_dwords_after_words() {
    let (w, d) = decode_random(&hex("01 00 78 56 34 12"), 1, 1).unwrap();
    assert_eq!(w, vec![1]);
    assert_eq!(d, vec![0x1234_5678]);
}

#[test]
fn read_cpu_model_matches_section_1_8_f() {
    let req = request(FrameKind::E3, 0, 4, DeviceForm::QL, Command::ReadTypeName);
    assert_eq!(
        req.encode(),
        hex("50 00 00 FF FF 03 00 06 00 04 00 01 01 00 00")
    );
    let resp = Response::decode(&hex(
        "D0 00 00 FF FF 03 00 14 00 00 00 51 30 36 55 44 45 48 43 50 55 20 20 20 20 20 20 6A 02",
    ))
    .unwrap();
    let ResponseBody::Ok(data) = resp.body else {
        panic!()
    };
    let name = TypeName::decode(&data).unwrap();
    assert_eq!(name.model, "Q06UDEHCPU");
    assert_eq!(name.code, 0x026A);
    assert_eq!(name.encode(), data);
}

#[test]
fn c059_error_response_carries_route_and_command_section_1_8_g() {
    let bytes = hex("D0 00 00 FF FF 03 00 0B 00 59 C0 00 FF FF 03 00 01 14 00 00");
    let resp = Response::decode(&bytes).unwrap();
    assert_eq!(
        resp.body,
        ResponseBody::Error {
            end_code: EndCode::WrongCommand,
            info: Some(ErrorInfo {
                route: Route::default(),
                command: 0x1401,
                subcommand: 0,
            }),
        }
    );
    assert_eq!(resp.encode(), bytes);
    assert_eq!(
        EndCode::WrongCommand.to_string(),
        "C059: wrong command or subcommand (0xC059)"
    );
}

#[test]
fn minimum_normal_response_of_fx5_manual_decodes_section_1_1() {
    let resp = Response::decode(&hex("D0 00 00 FF FF 03 00 02 00 00 00")).unwrap();
    assert_eq!(resp.body, ResponseBody::Ok(vec![]));
}

#[test]
fn error_response_without_error_information_still_gives_the_end_code() {
    let resp = Response::decode(&hex("D0 00 00 FF FF 03 00 02 00 61 C0")).unwrap();
    assert_eq!(
        resp.body,
        ResponseBody::Error {
            end_code: EndCode::LengthMismatch,
            info: None
        }
    );
}

#[test]
fn t100_current_value_vector_from_the_slmp_manual_section_1_8_i() {
    let req = request(
        FrameKind::E3,
        0,
        0x0010,
        DeviceForm::QL,
        Command::BatchReadWords {
            head: Device::new(DeviceCode::Tn, 100),
            points: 3,
        },
    );
    let enc = req.encode();
    assert_eq!(&enc[15..], &hex("64 00 00 C2 03 00")[..]);
    assert_eq!(
        decode_words(&hex("34 12 02 00 EF 1D"), 3).unwrap(),
        vec![0x1234, 0x0002, 0x1DEF]
    );
}

#[test]
fn end_codes_keep_unknown_values_and_classes() {
    assert_eq!(
        EndCode::from_code(0xC051),
        EndCode::PointsOutOfRange(0xC051)
    );
    assert_eq!(EndCode::from_code(0x4031), EndCode::CpuDetected(0x4031));
    assert_eq!(EndCode::from_code(0xB801), EndCode::CcLinkModule(0xB801));
    assert_eq!(EndCode::from_code(0xC0FF), EndCode::Unknown(0xC0FF));
    for code in [
        0x0055u16, 0xC050, 0xC056, 0xC059, 0xC05B, 0xC05C, 0xC05F, 0xC061, 0xC201,
    ] {
        assert_eq!(EndCode::from_code(code).code(), code);
    }
}

#[test]
fn wrong_direction_and_unknown_subheader_are_rejected() {
    use plcdiag_melsec::frame::DecodeError;
    let req = hex("50 00 00 FF FF 03 00 06 00 04 00 01 01 00 00");
    assert_eq!(
        Response::decode(&req),
        Err(DecodeError::BadSubheader(0x5000))
    );
    assert_eq!(
        Response::decode(&hex("12 34 00")),
        Err(DecodeError::BadSubheader(0x1234))
    );
    assert!(matches!(
        Response::decode(&hex("D0 00 00 FF FF 03 00 0A 00 00 00")),
        Err(DecodeError::Truncated { .. })
    ));
}
