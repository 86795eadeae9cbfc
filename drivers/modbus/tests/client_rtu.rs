//! The client against the simulator over Modbus RTU on a pty pair
//! (`tokio_serial::SerialStream::pair()`).

mod common;

use common::*;
use plcdiag_modbus::{
    Client, DataType, Error, ExceptionCode, Fault, RawData, Reply, Sim, SimHandle, Table, Value,
};
use tokio_serial::SerialStream;

/// A simulator serving unit 7 on one end of a pty pair and a client for `unit` on the other.
fn rtu_pair(
    builder: plcdiag_modbus::SimBuilder,
    unit: u8,
    timeout: std::time::Duration,
) -> (SimHandle, Client) {
    let (sim_end, client_end) = SerialStream::pair().expect("creating a pty pair");
    let sim = builder.spawn_rtu(sim_end, 7);
    let client = Client::attach_rtu(client_end, unit, timeout);
    (sim, client)
}

#[tokio::test]
async fn client_reads_holding_registers_and_coils_over_rtu() {
    let (sim, mut client) = rtu_pair(
        Sim::builder().holding(10, &[0x42F6, 0xE979, 0xFFFF]).coils(
            0,
            &[true, false, true, true, false, false, true, true, true],
        ),
        7,
        OK_TIMEOUT,
    );
    assert_eq!(sim.addr(), None);
    let points = [
        point("hr:10", DataType::F32),
        point("hr:12", DataType::I16),
        point("coil:0", DataType::Bool),
        point("coil:1", DataType::Bool),
        point("coil:8", DataType::Bool),
    ];
    let requests = plan_default(&points);
    let mut values = client.read_points(&requests, &points).await.unwrap();
    values.sort_by_key(|(index, _)| *index);
    let values: Vec<Value> = values.into_iter().map(|(_, v)| v.unwrap()).collect();
    assert_eq!(
        values,
        [
            Value::F32(123.456),
            Value::I16(-1),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(true),
        ]
    );
    assert_eq!(
        client.read(&raw_request(Table::Coil, 0, 9)).await.unwrap(),
        Reply::Ok(RawData::Bits(vec![
            true, false, true, true, false, false, true, true, true
        ]))
    );
    sim.stop().await;
}

#[tokio::test]
async fn an_exception_over_rtu_is_a_reply() {
    let (sim, mut client) = rtu_pair(
        Sim::builder().fault(Fault::ExceptionAt {
            table: Table::InputRegister,
            start: 0,
            end: 0,
            code: ExceptionCode::IllegalDataAddress,
        }),
        7,
        OK_TIMEOUT,
    );
    assert_eq!(
        client
            .read(&raw_request(Table::InputRegister, 0, 4))
            .await
            .unwrap(),
        Reply::Exception(ExceptionCode::IllegalDataAddress)
    );
    // The line is still in step: the next request gets its own answer.
    assert_eq!(
        client
            .read(&raw_request(Table::InputRegister, 1, 2))
            .await
            .unwrap(),
        Reply::Ok(RawData::Registers(vec![0, 0]))
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_request_for_another_unit_is_not_answered() {
    let (sim, mut client) = rtu_pair(Sim::builder(), 8, SHORT_TIMEOUT);
    let result = client
        .read(&raw_request(Table::HoldingRegister, 0, 1))
        .await;
    assert!(
        matches!(result, Err(Error::ResponseTimeout(_))),
        "{result:?}"
    );
    assert_eq!(sim.requests_served(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn an_rtu_simulator_cannot_restart_after_stop() {
    let (sim, _client) = rtu_pair(Sim::builder(), 7, OK_TIMEOUT);
    sim.stop().await;
    let error = sim.restart().await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::Unsupported);
}
