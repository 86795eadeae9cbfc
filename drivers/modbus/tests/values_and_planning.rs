//! Pure tests: value decoding and encoding, address parsing, the read planner, and response
//! decoding. No sockets.

mod common;

use std::collections::HashSet;

use common::point;
use plcdiag_modbus::{
    Address, AddressError, ByteOrder, DataType, Encoding, PlanLimits, Point, RawData, ReadRequest,
    Scaling, Table, Value, ValueError, WordOrder, plan,
};
use proptest::prelude::*;

const ORDERS: [(ByteOrder, WordOrder); 4] = [
    (ByteOrder::BigEndian, WordOrder::HighFirst),
    (ByteOrder::BigEndian, WordOrder::LowFirst),
    (ByteOrder::LittleEndian, WordOrder::HighFirst),
    (ByteOrder::LittleEndian, WordOrder::LowFirst),
];

fn enc(data_type: DataType, byte_order: ByteOrder, word_order: WordOrder) -> Encoding {
    Encoding {
        data_type,
        byte_order,
        word_order,
    }
}

/// Known register patterns for each type in the four orders, in the order of `ORDERS`:
/// ABCD, CDAB (word swap), BADC (byte swap), DCBA. The big-endian byte patterns are IEEE 754
/// / two's complement, cross-checked with Python's `struct.pack('>f', 123.456)` =
/// `42 F6 E9 79` and `struct.pack('>d', 123.456)` = `40 5E DD 2F 1A 9F BE 77`.
fn known_patterns() -> Vec<(Value, [Vec<u16>; 4])> {
    vec![
        (
            Value::F32(123.456),
            [
                vec![0x42F6, 0xE979],
                vec![0xE979, 0x42F6],
                vec![0xF642, 0x79E9],
                vec![0x79E9, 0xF642],
            ],
        ),
        (
            Value::U32(0x1234_5678),
            [
                vec![0x1234, 0x5678],
                vec![0x5678, 0x1234],
                vec![0x3412, 0x7856],
                vec![0x7856, 0x3412],
            ],
        ),
        (
            Value::I32(-2),
            [
                vec![0xFFFF, 0xFFFE],
                vec![0xFFFE, 0xFFFF],
                vec![0xFFFF, 0xFEFF],
                vec![0xFEFF, 0xFFFF],
            ],
        ),
        (
            Value::U64(0x0102_0304_0506_0708),
            [
                vec![0x0102, 0x0304, 0x0506, 0x0708],
                vec![0x0708, 0x0506, 0x0304, 0x0102],
                vec![0x0201, 0x0403, 0x0605, 0x0807],
                vec![0x0807, 0x0605, 0x0403, 0x0201],
            ],
        ),
        (
            Value::I64(-2),
            [
                vec![0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE],
                vec![0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF],
                vec![0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF],
                vec![0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF],
            ],
        ),
        (
            Value::F64(123.456),
            [
                vec![0x405E, 0xDD2F, 0x1A9F, 0xBE77],
                vec![0xBE77, 0x1A9F, 0xDD2F, 0x405E],
                vec![0x5E40, 0x2FDD, 0x9F1A, 0x77BE],
                vec![0x77BE, 0x9F1A, 0x2FDD, 0x5E40],
            ],
        ),
        // One-register types ignore the word order.
        (
            Value::U16(0x1234),
            [vec![0x1234], vec![0x1234], vec![0x3412], vec![0x3412]],
        ),
        (
            Value::I16(-2),
            [vec![0xFFFE], vec![0xFFFE], vec![0xFEFF], vec![0xFEFF]],
        ),
        (
            Value::Bool(true),
            [vec![0x0001], vec![0x0001], vec![0x0100], vec![0x0100]],
        ),
    ]
}

#[test]
fn every_type_decodes_known_register_patterns_in_every_byte_and_word_order() {
    for (value, patterns) in known_patterns() {
        for ((byte_order, word_order), registers) in ORDERS.into_iter().zip(patterns) {
            let encoding = enc(value.data_type(), byte_order, word_order);
            assert_eq!(
                encoding.decode_registers(&registers),
                Ok(value),
                "{encoding:?} decoding {registers:04X?}"
            );
            assert_eq!(
                encoding.encode_registers(value),
                Ok(registers.clone()),
                "{encoding:?} encoding {value:?}"
            );
        }
    }
}

#[test]
fn a_bool_register_is_true_for_any_nonzero_value() {
    let encoding = Encoding::new(DataType::Bool);
    assert_eq!(encoding.decode_registers(&[0]), Ok(Value::Bool(false)));
    assert_eq!(encoding.decode_registers(&[0x8000]), Ok(Value::Bool(true)));
}

#[test]
fn decoding_the_wrong_number_of_registers_is_an_error_naming_both_counts() {
    let error = Encoding::new(DataType::F32)
        .decode_registers(&[0x42F6])
        .unwrap_err();
    assert_eq!(
        error,
        ValueError::WrongRegisterCount {
            data_type: DataType::F32,
            needed: 2,
            got: 1
        }
    );
    assert_eq!(error.to_string(), "f32 needs 2 register(s), got 1");
}

#[test]
fn encoding_a_value_of_another_type_is_a_type_mismatch() {
    assert_eq!(
        Encoding::new(DataType::U32).encode_registers(Value::F32(1.0)),
        Err(ValueError::TypeMismatch {
            expected: DataType::U32,
            got: DataType::F32
        })
    );
}

#[test]
fn data_types_parse_from_their_names_and_aliases() {
    let cases = [
        ("bool", DataType::Bool),
        ("u16", DataType::U16),
        ("uint16", DataType::U16),
        ("i16", DataType::I16),
        ("int16", DataType::I16),
        ("u32", DataType::U32),
        ("uint32", DataType::U32),
        ("i32", DataType::I32),
        ("int32", DataType::I32),
        ("f32", DataType::F32),
        ("float32", DataType::F32),
        ("float", DataType::F32),
        ("u64", DataType::U64),
        ("i64", DataType::I64),
        ("f64", DataType::F64),
        ("float64", DataType::F64),
        ("double", DataType::F64),
    ];
    for (text, data_type) in cases {
        assert_eq!(text.parse::<DataType>(), Ok(data_type), "{text}");
    }
    for data_type in DataType::ALL {
        assert_eq!(data_type.to_string().parse::<DataType>(), Ok(data_type));
    }
    let error = "f16".parse::<DataType>().unwrap_err();
    assert!(error.to_string().contains("\"f16\""), "{error}");
}

#[test]
fn byte_and_word_orders_parse_and_default_to_big_endian_high_first() {
    assert_eq!("big".parse(), Ok(ByteOrder::BigEndian));
    assert_eq!("little".parse(), Ok(ByteOrder::LittleEndian));
    assert_eq!("high_first".parse(), Ok(WordOrder::HighFirst));
    assert_eq!("low_first".parse(), Ok(WordOrder::LowFirst));
    assert_eq!("big".parse(), Ok(WordOrder::HighFirst));
    assert_eq!("little".parse(), Ok(WordOrder::LowFirst));
    assert!("middle".parse::<ByteOrder>().is_err());
    assert_eq!(ByteOrder::default(), ByteOrder::BigEndian);
    assert_eq!(WordOrder::default(), WordOrder::HighFirst);
}

#[test]
fn register_counts_follow_the_type_width() {
    let counts: Vec<u16> = DataType::ALL.iter().map(|t| t.register_count()).collect();
    assert_eq!(counts, [1, 1, 1, 2, 2, 2, 4, 4, 4]);
}

#[test]
fn values_convert_to_f64_and_scale() {
    assert_eq!(Value::Bool(true).as_f64(), 1.0);
    assert_eq!(Value::Bool(false).as_f64(), 0.0);
    assert_eq!(Value::I16(-5).as_f64(), -5.0);
    let scaling = Scaling {
        scale: 0.1,
        offset: -40.0,
    };
    assert_eq!(scaling.apply(500.0), 10.0);
    assert_eq!(Scaling::default().apply(7.5), 7.5);
}

#[test]
fn tables_and_values_display_for_people() {
    assert_eq!(Table::DiscreteInput.to_string(), "discrete input");
    assert_eq!(Table::HoldingRegister.to_string(), "holding register");
    assert_eq!(Value::F32(1.5).to_string(), "1.5");
    assert_eq!(Value::Bool(true).to_string(), "true");
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<u16>().prop_map(Value::U16),
        any::<i16>().prop_map(Value::I16),
        any::<u32>().prop_map(Value::U32),
        any::<i32>().prop_map(Value::I32),
        any::<u32>().prop_map(|bits| Value::F32(f32::from_bits(bits))),
        any::<u64>().prop_map(Value::U64),
        any::<i64>().prop_map(Value::I64),
        any::<u64>().prop_map(|bits| Value::F64(f64::from_bits(bits))),
    ]
}

fn any_encoding() -> impl Strategy<Value = Encoding> {
    (
        proptest::sample::select(DataType::ALL.to_vec()),
        proptest::sample::select(ORDERS.to_vec()),
    )
        .prop_map(|(data_type, (byte_order, word_order))| enc(data_type, byte_order, word_order))
}

/// Compares floats by bit pattern so NaN round trips count.
fn same(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

proptest! {
    #[test]
    fn encoding_then_decoding_returns_the_same_value(
        value in any_value(),
        (byte_order, word_order) in proptest::sample::select(ORDERS.to_vec()),
    ) {
        let encoding = enc(value.data_type(), byte_order, word_order);
        let registers = encoding.encode_registers(value).unwrap();
        prop_assert_eq!(registers.len(), usize::from(value.data_type().register_count()));
        let decoded = encoding.decode_registers(&registers).unwrap();
        prop_assert!(same(decoded, value), "{:?} -> {:?} -> {:?}", value, registers, decoded);
    }

    #[test]
    fn decoding_any_register_slice_never_panics(
        encoding in any_encoding(),
        registers in proptest::collection::vec(any::<u16>(), 0..10),
    ) {
        let result = encoding.decode_registers(&registers);
        let needed = usize::from(encoding.data_type.register_count());
        prop_assert_eq!(result.is_ok(), registers.len() == needed);
    }
}

// ---- addresses ----

#[test]
fn prefixed_addresses_parse_as_0_based_protocol_addresses() {
    let cases = [
        ("hr:100", Table::HoldingRegister, 100),
        ("holding:100", Table::HoldingRegister, 100),
        ("ir:5", Table::InputRegister, 5),
        ("input:5", Table::InputRegister, 5),
        ("coil:3", Table::Coil, 3),
        ("co:3", Table::Coil, 3),
        ("di:7", Table::DiscreteInput, 7),
        ("discrete:7", Table::DiscreteInput, 7),
        ("HR:65535", Table::HoldingRegister, 65_535),
        (" hr:0 ", Table::HoldingRegister, 0),
    ];
    for (text, table, offset) in cases {
        assert_eq!(
            text.parse::<Address>(),
            Ok(Address { table, offset }),
            "{text}"
        );
    }
}

#[test]
fn modicon_addresses_are_1_based_with_the_table_in_the_first_digit() {
    let cases = [
        ("40101", Table::HoldingRegister, 100),
        ("400101", Table::HoldingRegister, 100),
        ("40001", Table::HoldingRegister, 0),
        ("465536", Table::HoldingRegister, 65_535),
        ("30001", Table::InputRegister, 0),
        ("10001", Table::DiscreteInput, 0),
        ("00001", Table::Coil, 0),
        ("09999", Table::Coil, 9_998),
    ];
    for (text, table, offset) in cases {
        assert_eq!(
            text.parse::<Address>(),
            Ok(Address { table, offset }),
            "{text}"
        );
    }
}

#[test]
fn bad_addresses_give_typed_errors_that_name_the_input() {
    type IsExpected = fn(&AddressError) -> bool;
    let cases: [(&str, IsExpected); 9] = [
        ("", |e| matches!(e, AddressError::Empty)),
        ("xx:1", |e| matches!(e, AddressError::UnknownTable { .. })),
        ("hr:65536", |e| matches!(e, AddressError::BadOffset { .. })),
        ("hr:-1", |e| matches!(e, AddressError::BadOffset { .. })),
        ("100", |e| matches!(e, AddressError::Ambiguous { .. })),
        ("4000001", |e| matches!(e, AddressError::Ambiguous { .. })),
        ("20001", |e| {
            matches!(e, AddressError::ModiconTable { digit: '2', .. })
        }),
        ("40000", |e| matches!(e, AddressError::ModiconRange { .. })),
        ("465537", |e| matches!(e, AddressError::ModiconRange { .. })),
    ];
    for (text, expected) in cases {
        let error = text.parse::<Address>().unwrap_err();
        assert!(expected(&error), "{text:?} gave {error:?}");
        if !text.is_empty() {
            assert!(
                error.to_string().contains(&format!("{text:?}")),
                "message names the input: {error}"
            );
        }
    }
}

#[test]
fn addresses_display_in_the_prefixed_form_and_parse_back() {
    for text in ["hr:100", "ir:5", "coil:3", "di:7"] {
        let address: Address = text.parse().unwrap();
        assert_eq!(address.to_string(), text);
    }
    assert_eq!("40101".parse::<Address>().unwrap().to_string(), "hr:100");
}

#[test]
fn points_validate_type_and_range() {
    assert_eq!(point("hr:65534", DataType::U32).validate(), Ok(()));
    assert_eq!(
        point("hr:65535", DataType::U32).validate(),
        Err(ValueError::OutOfRange {
            table: Table::HoldingRegister,
            offset: 65_535,
            width: 2
        })
    );
    assert_eq!(
        point("coil:0", DataType::F32).validate(),
        Err(ValueError::TypeNotValidForTable {
            data_type: DataType::F32,
            table: Table::Coil
        })
    );
    assert_eq!(point("coil:0", DataType::Bool).width(), 1);
    assert_eq!(point("hr:0", DataType::F64).width(), 4);
}

// ---- planner ----

#[test]
fn nearby_points_merge_into_one_request() {
    let points = [
        point("hr:10", DataType::U16),
        point("hr:0", DataType::F32),
        point("hr:20", DataType::U16),
    ];
    let requests = plan(&points, &PlanLimits::default());
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.table, request.start, request.count),
        (Table::HoldingRegister, 0, 21)
    );
    let items: Vec<(usize, u16, u16)> = request
        .items
        .iter()
        .map(|i| (i.point, i.offset, i.width))
        .collect();
    assert_eq!(items, [(1, 0, 2), (0, 10, 1), (2, 20, 1)]);
}

#[test]
fn a_hole_larger_than_the_gap_limit_splits_requests() {
    let points = [point("hr:0", DataType::U16), point("hr:18", DataType::U16)];
    // hole between them: addresses 1..=17, 17 registers > default 16.
    let requests = plan(&points, &PlanLimits::default());
    assert_eq!(requests.len(), 2);
    let points = [point("hr:0", DataType::U16), point("hr:17", DataType::U16)];
    assert_eq!(plan(&points, &PlanLimits::default()).len(), 1);
}

#[test]
fn tables_are_never_mixed_in_one_request() {
    let points = [
        point("hr:0", DataType::U16),
        point("ir:0", DataType::U16),
        point("coil:0", DataType::Bool),
        point("di:0", DataType::Bool),
    ];
    let tables: Vec<Table> = plan(&points, &PlanLimits::default())
        .iter()
        .map(|r| r.table)
        .collect();
    assert_eq!(tables, Table::ALL);
}

#[test]
fn register_requests_stop_at_125_and_bit_requests_at_2000() {
    let registers: Vec<Point> = (0..300)
        .map(|i| point(&format!("ir:{i}"), DataType::U16))
        .collect();
    let counts: Vec<u16> = plan(&registers, &PlanLimits::default())
        .iter()
        .map(|r| r.count)
        .collect();
    assert_eq!(counts, [125, 125, 50]);
    let bits: Vec<Point> = (0..4500)
        .map(|i| point(&format!("di:{i}"), DataType::Bool))
        .collect();
    let counts: Vec<u16> = plan(&bits, &PlanLimits::default())
        .iter()
        .map(|r| r.count)
        .collect();
    assert_eq!(counts, [2000, 2000, 500]);
}

#[test]
fn a_multi_register_value_is_never_split_across_requests() {
    // 124 u16 then an f64 at 124..=127: it does not fit in the first request of 125.
    let mut points: Vec<Point> = (0..124)
        .map(|i| point(&format!("hr:{i}"), DataType::U16))
        .collect();
    points.push(point("hr:124", DataType::F64));
    let requests = plan(&points, &PlanLimits::default());
    assert_eq!(requests.len(), 2);
    assert_eq!((requests[0].start, requests[0].count), (0, 124));
    assert_eq!((requests[1].start, requests[1].count), (124, 4));
}

#[test]
fn a_value_wider_than_the_limit_gets_a_request_of_its_own() {
    let limits = PlanLimits {
        max_registers: 2,
        ..PlanLimits::default()
    };
    let points = [point("hr:0", DataType::U64), point("hr:4", DataType::U16)];
    let requests = plan(&points, &limits);
    let shapes: Vec<(u16, u16)> = requests.iter().map(|r| (r.start, r.count)).collect();
    assert_eq!(shapes, [(0, 4), (4, 1)]);
}

#[test]
fn duplicate_and_overlapping_points_share_a_request() {
    let points = [
        point("hr:5", DataType::U16),
        point("hr:5", DataType::U16),
        point("hr:4", DataType::U32),
    ];
    let requests = plan(&points, &PlanLimits::default());
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].start, requests[0].count), (4, 2));
    assert_eq!(requests[0].items.len(), 3);
}

#[test]
fn invalid_points_are_left_out_of_the_plan() {
    let points = [
        point("coil:0", DataType::F32),
        point("hr:65535", DataType::U32),
    ];
    assert!(plan(&points, &PlanLimits::default()).is_empty());
}

#[test]
fn planning_is_deterministic() {
    let points: Vec<Point> = [7u16, 3, 500, 3, 90, 1000, 1]
        .iter()
        .map(|i| point(&format!("hr:{i}"), DataType::U32))
        .collect();
    assert_eq!(
        plan(&points, &PlanLimits::default()),
        plan(&points, &PlanLimits::default())
    );
}

fn any_point() -> impl Strategy<Value = Point> {
    (
        proptest::sample::select(Table::ALL.to_vec()),
        any::<u16>(),
        0u16..300,
        any_encoding(),
        any::<bool>(),
    )
        .prop_map(|(table, offset, near, mut encoding, clustered)| {
            if table.is_bits() {
                encoding.data_type = DataType::Bool;
            }
            // Half the points crowd near 0 so that merging actually happens.
            let offset = if clustered { near } else { offset };
            Point::new(Address { table, offset }, encoding)
        })
}

fn any_limits() -> impl Strategy<Value = PlanLimits> {
    (4u16..=125, 1u16..=2000, 0u16..=40, 0u16..=100).prop_map(
        |(max_registers, max_bits, max_gap_registers, max_gap_bits)| PlanLimits {
            max_registers,
            max_bits,
            max_gap_registers,
            max_gap_bits,
        },
    )
}

proptest! {
    #[test]
    fn every_valid_point_is_planned_exactly_once_inside_a_request_within_limits(
        points in proptest::collection::vec(any_point(), 0..120),
        limits in any_limits(),
    ) {
        let requests = plan(&points, &limits);
        let mut seen = HashSet::new();
        for request in &requests {
            let limit = if request.table.is_bits() { limits.max_bits } else { limits.max_registers };
            prop_assert!(request.count >= 1 && request.count <= limit, "{:?}", request);
            prop_assert!(u32::from(request.start) + u32::from(request.count) <= 65_536);
            for item in &request.items {
                let p = &points[item.point];
                prop_assert_eq!(p.address.table, request.table);
                prop_assert_eq!(u32::from(p.address.offset), u32::from(request.start) + u32::from(item.offset));
                prop_assert_eq!(item.width, p.width());
                prop_assert!(item.offset + item.width <= request.count, "item {:?} outside {:?}", item, request);
                prop_assert!(seen.insert(item.point), "point {} planned twice", item.point);
            }
        }
        for (index, p) in points.iter().enumerate() {
            prop_assert_eq!(seen.contains(&index), p.validate().is_ok(), "point {} {:?}", index, p);
        }
    }
}

// ---- response decoding ----

#[test]
fn a_short_register_response_gives_errors_for_the_missing_items_only() {
    let points = [point("hr:0", DataType::U16), point("hr:1", DataType::F32)];
    let requests = plan(&points, &PlanLimits::default());
    let decoded = requests[0].decode(&RawData::Registers(vec![9, 0x42F6]), &points);
    assert_eq!(
        decoded,
        [
            (0, Ok(Value::U16(9))),
            (
                1,
                Err(ValueError::ShortResponse {
                    needed: 3,
                    got: 2,
                    unit: "registers"
                })
            )
        ]
    );
}

#[test]
fn bits_for_a_register_request_are_a_wrong_response_kind() {
    let points = [point("hr:0", DataType::U16)];
    let requests = plan(&points, &PlanLimits::default());
    let decoded = requests[0].decode(&RawData::Bits(vec![true]), &points);
    assert!(matches!(
        decoded[0].1,
        Err(ValueError::WrongResponseKind { .. })
    ));
}

#[test]
fn an_empty_bit_response_gives_short_response_errors() {
    let points = [point("coil:3", DataType::Bool)];
    let requests = plan(&points, &PlanLimits::default());
    let decoded = requests[0].decode(&RawData::Bits(vec![]), &points);
    assert!(matches!(
        decoded[0].1,
        Err(ValueError::ShortResponse { unit: "bits", .. })
    ));
}

fn any_raw_data() -> impl Strategy<Value = RawData> {
    prop_oneof![
        proptest::collection::vec(any::<bool>(), 0..2100).prop_map(RawData::Bits),
        proptest::collection::vec(any::<u16>(), 0..140).prop_map(RawData::Registers),
    ]
}

fn any_request() -> impl Strategy<Value = ReadRequest> {
    (
        proptest::sample::select(Table::ALL.to_vec()),
        any::<u16>(),
        any::<u16>(),
        proptest::collection::vec((0usize..50, any::<u16>(), any::<u16>()), 0..20),
    )
        .prop_map(|(table, start, count, items)| ReadRequest {
            table,
            start,
            count,
            items: items
                .into_iter()
                .map(|(point, offset, width)| plcdiag_modbus::PlannedItem {
                    point,
                    offset,
                    width,
                })
                .collect(),
        })
}

proptest! {
    #[test]
    fn decoding_any_response_for_any_request_never_panics(
        request in any_request(),
        data in any_raw_data(),
        points in proptest::collection::vec(any_point(), 0..40),
    ) {
        let decoded = request.decode(&data, &points);
        prop_assert_eq!(decoded.len(), request.items.len());
    }

    #[test]
    fn decoding_a_planned_request_with_a_full_response_always_succeeds(
        points in proptest::collection::vec(any_point(), 1..60),
        seed in any::<u16>(),
    ) {
        for request in plan(&points, &PlanLimits::default()) {
            let count = usize::from(request.count);
            let data = if request.table.is_bits() {
                RawData::Bits((0..count).map(|i| (i + usize::from(seed)) % 3 == 0).collect())
            } else {
                RawData::Registers((0..count).map(|i| seed.wrapping_add(i as u16)).collect())
            };
            for (index, result) in request.decode(&data, &points) {
                prop_assert!(result.is_ok(), "point {}: {:?}", index, result);
            }
        }
    }
}
