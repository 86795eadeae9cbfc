//! Property tests: every decoder is total (any bytes or words give `Ok` or `Err`, never a
//! panic), every encoder round-trips, addresses round-trip through `Display`/`FromStr`.

use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use plcdiag_melsec::codec::{ClientCodec, FrameCodec, ServerCodec};
use plcdiag_melsec::frame::{
    Command, Device, DeviceCode, DeviceForm, Direction, EndCode, ErrorInfo, FrameKind, Header,
    Request, RequestHead, Response, ResponseBody, Route, decode_bits, decode_random, decode_words,
    encode_bits, encode_random, encode_words,
};
use plcdiag_melsec::{
    CcLinkMaster, CpuDiagnosis, NetworkKind, NetworkStatus, Series, StationConfig, TagAddress,
    WordType, diagnose,
};

fn device_code() -> impl Strategy<Value = DeviceCode> {
    prop::sample::select(DeviceCode::ALL.to_vec())
}

fn device(max: u32) -> impl Strategy<Value = Device> {
    (device_code(), 0..=max).prop_map(|(code, number)| Device { code, number })
}

fn route() -> impl Strategy<Value = Route> {
    (any::<u8>(), any::<u8>(), any::<u16>(), any::<u8>()).prop_map(
        |(network, station, module_io, multidrop)| Route {
            network,
            station,
            module_io,
            multidrop,
        },
    )
}

fn header() -> impl Strategy<Value = Header> {
    (
        prop_oneof![Just(FrameKind::E3), Just(FrameKind::E4)],
        any::<u16>(),
        route(),
    )
        .prop_map(|(frame, serial, route)| Header {
            frame,
            serial: if frame == FrameKind::E4 { serial } else { 0 },
            route,
        })
}

fn form() -> impl Strategy<Value = DeviceForm> {
    prop_oneof![Just(DeviceForm::QL), Just(DeviceForm::IqR)]
}

fn command(form: DeviceForm) -> impl Strategy<Value = Command> {
    let max = form.max_number();
    prop_oneof![
        (device(max), any::<u16>())
            .prop_map(|(head, points)| Command::BatchReadWords { head, points }),
        (device(max), any::<u16>())
            .prop_map(|(head, points)| Command::BatchReadBits { head, points }),
        (
            prop::collection::vec(device(max), 0..20),
            prop::collection::vec(device(max), 0..20)
        )
            .prop_map(|(words, dwords)| Command::RandomRead { words, dwords }),
        Just(Command::ReadTypeName),
        // Commands outside the typed set (writes are only ever decoded, never sent).
        (
            0x1000u16..0x2000,
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(command, subcommand, data)| Command::Other {
                command,
                subcommand,
                data
            }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (header(), any::<u16>(), form()).prop_flat_map(|(header, monitoring_timer, form)| {
        command(form).prop_map(move |command| Request {
            header,
            monitoring_timer,
            // The form has no meaning for commands without a device specification; such
            // requests decode with the Q/L form.
            form: match command {
                Command::ReadTypeName | Command::Other { .. } => DeviceForm::QL,
                _ => form,
            },
            command,
        })
    })
}

fn response() -> impl Strategy<Value = Response> {
    (
        header(),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200).prop_map(ResponseBody::Ok),
            (
                1u16..,
                prop::option::of((route(), any::<u16>(), any::<u16>()))
            )
                .prop_map(|(code, info)| ResponseBody::Error {
                    end_code: EndCode::from_code(code),
                    info: info.map(|(route, command, subcommand)| ErrorInfo {
                        route,
                        command,
                        subcommand
                    }),
                }),
        ],
    )
        .prop_map(|(header, body)| Response { header, body })
}

/// A frame-shaped byte string: a valid subheader and L but arbitrary contents.
fn framed_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x5000u16, 0x5400, 0xD000, 0xD400]),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(sub, body)| {
            let mut v = sub.to_be_bytes().to_vec();
            if sub & 0x0400 != 0 {
                v.extend_from_slice(&[1, 0, 0, 0]);
            }
            v.extend_from_slice(&[0, 0xFF, 0xFF, 0x03, 0]);
            v.extend_from_slice(&(body.len() as u16).to_le_bytes());
            v.extend_from_slice(&body);
            v
        })
}

fn tag_address() -> impl Strategy<Value = TagAddress> {
    (device(0xFF_FFFF), 0usize..6).prop_map(|(device, t)| {
        let data_type = if device.code.is_bit() && t == 0 {
            WordType::Bit
        } else {
            [
                WordType::Int,
                WordType::Uint,
                WordType::Dint,
                WordType::Udint,
                WordType::Real,
            ][t % 5]
        };
        TagAddress { device, data_type }
    })
}

proptest! {
    #[test]
    fn any_bytes_into_the_response_decoder_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Response::decode(&bytes);
    }

    #[test]
    fn any_bytes_into_the_request_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Request::decode(&bytes);
        let _ = RequestHead::decode(&bytes);
    }

    #[test]
    fn frame_shaped_bytes_into_every_decoder_never_panic(bytes in framed_bytes()) {
        let _ = Request::decode(&bytes);
        let _ = Response::decode(&bytes);
        let mut c = ClientCodec;
        let _ = c.decode(&mut BytesMut::from(&bytes[..]));
        let mut s = ServerCodec;
        let _ = s.decode(&mut BytesMut::from(&bytes[..]));
    }

    #[test]
    fn any_bytes_into_the_codecs_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for dir in [Direction::Request, Direction::Response] {
            let mut buf = BytesMut::from(&bytes[..]);
            let mut codec = FrameCodec::new(dir);
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let mut c = ClientCodec;
        while let Ok(Some(_)) = c.decode(&mut buf) {}
        let mut buf = BytesMut::from(&bytes[..]);
        let mut s = ServerCodec;
        while let Ok(Some(_)) = s.decode(&mut buf) {}
    }

    #[test]
    fn any_bytes_into_the_data_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..100), n in 0usize..100, m in 0usize..50) {
        let _ = decode_words(&bytes, n);
        let _ = decode_bits(&bytes, n);
        let _ = decode_random(&bytes, n, m);
    }

    #[test]
    fn request_encode_decode_round_trips(req in request()) {
        let bytes = req.encode();
        prop_assert_eq!(Request::decode(&bytes).unwrap(), req);
    }

    #[test]
    fn request_round_trips_through_the_server_codec_split_anywhere(req in request(), cut in any::<prop::sample::Index>()) {
        let bytes = req.encode();
        let at = cut.index(bytes.len());
        let mut buf = BytesMut::from(&bytes[..at]);
        let mut s = ServerCodec;
        prop_assert!(s.decode(&mut buf).unwrap().is_none() || at == bytes.len());
        buf.extend_from_slice(&bytes[at..]);
        prop_assert_eq!(s.decode(&mut buf).unwrap(), Some(req));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn response_encode_decode_round_trips(resp in response()) {
        let bytes = resp.encode();
        prop_assert_eq!(Response::decode(&bytes).unwrap(), resp.clone());
        let mut buf = BytesMut::from(&bytes[..]);
        let mut c = ClientCodec;
        prop_assert_eq!(c.decode(&mut buf).unwrap(), Some(resp));
    }

    #[test]
    fn word_bit_and_random_data_round_trip(words in prop::collection::vec(any::<u16>(), 0..100), bits in prop::collection::vec(any::<bool>(), 0..100), dwords in prop::collection::vec(any::<u32>(), 0..20)) {
        prop_assert_eq!(decode_words(&encode_words(&words), words.len()).unwrap(), words.clone());
        prop_assert_eq!(decode_bits(&encode_bits(&bits), bits.len()).unwrap(), bits);
        prop_assert_eq!(
            decode_random(&encode_random(&words, &dwords), words.len(), dwords.len()).unwrap(),
            (words, dwords)
        );
    }

    #[test]
    fn device_display_and_from_str_round_trip(d in device(u32::MAX)) {
        let text = d.to_string();
        prop_assert_eq!(text.parse::<Device>().unwrap(), d);
    }

    #[test]
    fn tag_address_display_and_from_str_round_trip(t in tag_address()) {
        let text = t.to_string();
        prop_assert_eq!(text.parse::<TagAddress>().unwrap(), t);
    }

    #[test]
    fn any_text_into_the_address_parsers_never_panics(s in "\\PC{0,12}") {
        let _ = s.parse::<Device>();
        let _ = s.parse::<TagAddress>();
    }

    #[test]
    fn cpu_diagnosis_decodes_any_words(words in prop::collection::vec(any::<u16>(), 0..40), iqr in any::<bool>()) {
        let series = if iqr { Series::IqR } else { Series::Q };
        let r = CpuDiagnosis::decode(series, &words);
        prop_assert_eq!(r.is_ok(), words.len() == 30);
    }

    #[test]
    fn network_status_decodes_any_words(
        sw in prop::collection::vec(any::<u16>(), 0..200),
        sb in prop::collection::vec(any::<u16>(), 0..20),
        sw_first in 0u32..0x200,
        sb_first in 0u32..0x200,
        ie in any::<bool>(),
        configured in prop::collection::vec((1u8..=64, 1u8..=4, any::<bool>()), 0..10),
    ) {
        let kind = if ie { NetworkKind::CcLinkIeField } else { NetworkKind::CcLink };
        let mut master = CcLinkMaster::new("m", kind);
        master.stations = configured
            .into_iter()
            .map(|(n, occ, reserved)| {
                let mut s = StationConfig::new(n, "s");
                s.occupies = occ;
                s.reserved = reserved;
                s
            })
            .collect();
        let whole_line = !master.stations.is_empty();
        let status = NetworkStatus::decode(&master, sw_first, &sw, sb_first, &sb);
        let again = diagnose(&status.stations, status.line_ok, whole_line);
        prop_assert_eq!(again, status.findings);
    }
}

#[test]
fn oversize_length_is_rejected_before_the_body_arrives() {
    use plcdiag_melsec::frame::DecodeError;
    let mut buf = BytesMut::from(&[0xD0u8, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0xFF, 0xFF][..]);
    let mut c = ClientCodec;
    match c.decode(&mut buf) {
        Err(plcdiag_melsec::codec::CodecError::Decode(DecodeError::BadLength {
            declared, ..
        })) => {
            assert_eq!(declared, 0xFFFF)
        }
        other => panic!("{other:?}"),
    }
}
