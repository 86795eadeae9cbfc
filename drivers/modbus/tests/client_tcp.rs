//! The client against the simulator over TCP on 127.0.0.1 port 0.

mod common;

use std::time::Duration;

use common::*;
use plcdiag_modbus::{
    ByteOrder, Client, DataType, Encoding, Error, ExceptionCode, Fault, PlanLimits, PointError,
    RawData, Reply, Sim, Table, Value, WordOrder, plan,
};

#[tokio::test]
async fn client_reads_all_four_tables_from_the_simulator() {
    let sim = spawn_tcp(
        Sim::builder()
            .holding(100, &[0x1234, 0xFFFE])
            .input(5, &[42])
            .coils(3, &[true, false, true])
            .discrete(7, &[false, true]),
    )
    .await;
    let points = [
        point("hr:100", DataType::U16),
        point("hr:101", DataType::I16),
        point("ir:5", DataType::U16),
        point("coil:3", DataType::Bool),
        point("coil:4", DataType::Bool),
        point("coil:5", DataType::Bool),
        point("di:8", DataType::Bool),
        point("hr:102", DataType::U16), // never set: reads as 0
    ];
    let requests = plan_default(&points);
    let mut client = connect(&sim, OK_TIMEOUT).await;
    let mut values = client.read_points(&requests, &points).await.unwrap();
    values.sort_by_key(|(index, _)| *index);
    let values: Vec<Value> = values.into_iter().map(|(_, v)| v.unwrap()).collect();
    assert_eq!(
        values,
        [
            Value::U16(0x1234),
            Value::I16(-2),
            Value::U16(42),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(true),
            Value::Bool(true),
            Value::U16(0),
        ]
    );
    assert_eq!(sim.requests_served(), requests.len() as u64);
}

#[tokio::test]
async fn raw_reads_return_exactly_the_requested_quantity() {
    let sim = spawn_tcp(Sim::builder().coils(0, &[true; 10]).input(0, &[1, 2, 3])).await;
    let mut client = connect(&sim, OK_TIMEOUT).await;
    // 10 coils come back in two bytes, padded: the client trims the padding.
    assert_eq!(
        client.read(&raw_request(Table::Coil, 0, 10)).await.unwrap(),
        Reply::Ok(RawData::Bits(vec![true; 10]))
    );
    assert_eq!(
        client
            .read(&raw_request(Table::InputRegister, 1, 3))
            .await
            .unwrap(),
        Reply::Ok(RawData::Registers(vec![2, 3, 0]))
    );
    assert_eq!(
        client
            .read(&raw_request(Table::DiscreteInput, 65_535, 1))
            .await
            .unwrap(),
        Reply::Ok(RawData::Bits(vec![false]))
    );
}

#[tokio::test]
async fn typed_values_set_on_the_simulator_read_back_in_every_word_order() {
    let sim = spawn_tcp(Sim::builder()).await;
    let encodings = [
        (DataType::F32, Value::F32(123.456)),
        (DataType::U32, Value::U32(0x1234_5678)),
        (DataType::I32, Value::I32(-123_456)),
        (DataType::F64, Value::F64(-9.87654321e100)),
        (DataType::U64, Value::U64(0x0102_0304_0506_0708)),
        (DataType::I64, Value::I64(-2)),
        (DataType::I16, Value::I16(-300)),
    ];
    let mut points = Vec::new();
    let mut expected = Vec::new();
    let mut offset = 0u16;
    for (data_type, value) in encodings {
        for byte_order in [ByteOrder::BigEndian, ByteOrder::LittleEndian] {
            for word_order in [WordOrder::HighFirst, WordOrder::LowFirst] {
                let encoding = Encoding {
                    data_type,
                    byte_order,
                    word_order,
                };
                sim.set_value(Table::HoldingRegister, offset, &encoding, value);
                let mut p = point(&format!("hr:{offset}"), data_type);
                p.encoding = encoding;
                points.push(p);
                expected.push(value);
                offset += data_type.register_count();
            }
        }
    }
    sim.set_value(
        Table::Coil,
        9,
        &Encoding::new(DataType::Bool),
        Value::Bool(true),
    );
    points.push(point("coil:9", DataType::Bool));
    expected.push(Value::Bool(true));

    let requests = plan_default(&points);
    let mut client = connect(&sim, OK_TIMEOUT).await;
    let mut values = client.read_points(&requests, &points).await.unwrap();
    values.sort_by_key(|(index, _)| *index);
    let values: Vec<Value> = values.into_iter().map(|(_, v)| v.unwrap()).collect();
    assert_eq!(values, expected);
}

#[tokio::test]
async fn a_value_changed_while_running_is_read_on_the_next_poll() {
    let sim = spawn_tcp(Sim::builder().holding(0, &[1])).await;
    let points = [point("hr:0", DataType::U16)];
    let requests = plan_default(&points);
    let mut client = connect(&sim, OK_TIMEOUT).await;
    let first = client.read_points(&requests, &points).await.unwrap();
    sim.set_holding(0, &[2]);
    let second = client.read_points(&requests, &points).await.unwrap();
    assert_eq!(first, [(0, Ok(Value::U16(1)))]);
    assert_eq!(second, [(0, Ok(Value::U16(2)))]);
}

#[tokio::test]
async fn an_illegal_data_address_exception_is_a_reply_not_an_error() {
    let sim = spawn_tcp(Sim::builder().holding(0, &[7]).fault(Fault::ExceptionAt {
        table: Table::HoldingRegister,
        start: 100,
        end: 109,
        code: ExceptionCode::IllegalDataAddress,
    }))
    .await;
    let mut client = connect(&sim, OK_TIMEOUT).await;
    let reply = client
        .read(&raw_request(Table::HoldingRegister, 100, 2))
        .await
        .unwrap();
    let Reply::Exception(code) = reply else {
        panic!("expected an exception reply, got {reply:?}");
    };
    assert_eq!(code, ExceptionCode::IllegalDataAddress);
    assert_eq!(code.to_string(), "Illegal Data Address (0x02)");

    // The connection is still usable, and read_points keeps the refused points apart.
    let points = [point("hr:0", DataType::U16), point("hr:105", DataType::U16)];
    let requests = plan(
        &points,
        &PlanLimits {
            max_gap_registers: 0,
            ..Default::default()
        },
    );
    assert_eq!(requests.len(), 2);
    let mut values = client.read_points(&requests, &points).await.unwrap();
    values.sort_by_key(|(index, _)| *index);
    assert_eq!(
        values,
        [
            (0, Ok(Value::U16(7))),
            (
                1,
                Err(PointError::Exception(ExceptionCode::IllegalDataAddress))
            )
        ]
    );
}

#[tokio::test]
async fn the_simulator_enforces_the_spec_quantity_and_address_limits() {
    let sim = spawn_tcp(Sim::builder()).await;
    let mut client = connect(&sim, OK_TIMEOUT).await;
    let mut read = async |table, start, count| {
        client
            .read(&raw_request(table, start, count))
            .await
            .unwrap()
    };
    let exception = |code| Reply::<RawData>::Exception(code);
    assert_eq!(
        read(Table::HoldingRegister, 0, 126).await,
        exception(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(
        read(Table::Coil, 0, 2001).await,
        exception(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(
        read(Table::InputRegister, 65_500, 100).await,
        exception(ExceptionCode::IllegalDataAddress)
    );
    assert!(
        matches!(read(Table::HoldingRegister, 0, 125).await, Reply::Ok(RawData::Registers(r)) if r.len() == 125)
    );
    assert!(
        matches!(read(Table::DiscreteInput, 0, 2000).await, Reply::Ok(RawData::Bits(b)) if b.len() == 2000)
    );
}

#[tokio::test]
async fn a_fault_exception_answers_every_request_with_its_code() {
    let sim =
        spawn_tcp(Sim::builder().fault(Fault::Exception(ExceptionCode::ServerDeviceBusy))).await;
    let mut client = connect(&sim, OK_TIMEOUT).await;
    for table in Table::ALL {
        assert_eq!(
            client.read(&raw_request(table, 0, 1)).await.unwrap(),
            Reply::Exception(ExceptionCode::ServerDeviceBusy)
        );
    }
}

#[tokio::test]
async fn no_answer_gives_a_response_timeout() {
    let sim = spawn_tcp(Sim::builder().fault(Fault::NoAnswer)).await;
    let mut client = connect(&sim, SHORT_TIMEOUT).await;
    let result = client
        .read(&raw_request(Table::HoldingRegister, 0, 1))
        .await;
    assert!(
        matches!(result, Err(Error::ResponseTimeout(t)) if t == SHORT_TIMEOUT),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_connection_left_unanswered_does_not_block_other_connections() {
    let sim = spawn_tcp(Sim::builder().holding(0, &[99]).fault(Fault::NoAnswer)).await;
    let mut stuck = connect(&sim, SHORT_TIMEOUT).await;
    let result = stuck.read(&raw_request(Table::HoldingRegister, 0, 1)).await;
    assert!(
        matches!(result, Err(Error::ResponseTimeout(_))),
        "{result:?}"
    );

    // `stuck` stays connected with its request pending in the simulator.
    sim.set_fault(Fault::None);
    let mut other = connect(&sim, OK_TIMEOUT).await;
    assert_eq!(
        other
            .read(&raw_request(Table::HoldingRegister, 0, 1))
            .await
            .unwrap(),
        Reply::Ok(RawData::Registers(vec![99]))
    );
    drop(stuck);
}

#[tokio::test]
async fn a_slow_answer_beyond_the_timeout_is_a_response_timeout() {
    let sim = spawn_tcp(Sim::builder().fault(Fault::Slow(Duration::from_secs(5)))).await;
    let mut client = connect(&sim, SHORT_TIMEOUT).await;
    let result = client.read(&raw_request(Table::InputRegister, 0, 1)).await;
    assert!(
        matches!(result, Err(Error::ResponseTimeout(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_is_a_value() {
    let sim = spawn_tcp(
        Sim::builder()
            .input(0, &[5])
            .fault(Fault::Slow(Duration::from_millis(50))),
    )
    .await;
    let mut client = connect(&sim, OK_TIMEOUT).await;
    assert_eq!(
        client
            .read(&raw_request(Table::InputRegister, 0, 1))
            .await
            .unwrap(),
        Reply::Ok(RawData::Registers(vec![5]))
    );
}

#[tokio::test]
async fn a_dropped_connection_is_a_communication_error() {
    let sim = spawn_tcp(Sim::builder().fault(Fault::DropConnection)).await;
    let mut client = connect(&sim, OK_TIMEOUT).await;
    let result = client
        .read(&raw_request(Table::HoldingRegister, 0, 1))
        .await;
    assert!(
        matches!(result, Err(Error::Io(_) | Error::Protocol(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn after_stop_and_restart_a_new_client_reads_again_on_the_same_address() {
    let sim = spawn_tcp(Sim::builder().holding(0, &[11])).await;
    let addr = sim.addr().unwrap();
    let request = raw_request(Table::HoldingRegister, 0, 1);
    let mut client = connect(&sim, OK_TIMEOUT).await;
    assert_eq!(
        client.read(&request).await.unwrap(),
        Reply::Ok(RawData::Registers(vec![11]))
    );
    assert_eq!(sim.connections(), 1);

    sim.stop().await;
    assert_eq!(sim.connections(), 0);
    let result = client.read(&request).await;
    assert!(
        matches!(result, Err(Error::Io(_) | Error::Protocol(_))),
        "the old connection is closed: {result:?}"
    );
    let refused = Client::connect_tcp(addr, 1, OK_TIMEOUT).await;
    assert!(matches!(refused, Err(Error::Connect(_))), "{refused:?}");

    sim.restart().await.unwrap();
    assert_eq!(sim.addr(), Some(addr));
    sim.set_holding(0, &[12]);
    let mut client = connect(&sim, OK_TIMEOUT).await;
    assert_eq!(
        client.read(&request).await.unwrap(),
        Reply::Ok(RawData::Registers(vec![12]))
    );
    sim.stop().await;
}

#[tokio::test]
async fn error_messages_name_what_happened() {
    let timeout = Error::ResponseTimeout(Duration::from_millis(200));
    assert_eq!(timeout.to_string(), "no response within 200ms");
    let connect = Error::ConnectTimeout(Duration::from_secs(3));
    assert_eq!(connect.to_string(), "connect timed out after 3s");
    let point = PointError::Exception(ExceptionCode::GatewayPathUnavailable);
    assert_eq!(
        point.to_string(),
        "device answered with exception Gateway Path Unavailable (0x0A)"
    );
}
