//! Tests against an independent Modbus implementation: pymodbus 3.x (Python).
//!
//! Python is `$PLCDIAG_PYTHON` or `<workspace>/.venv/bin/python` with pymodbus installed
//! (`scripts/setup-test-peers.sh`). If neither exists these tests fail with that hint; they
//! are never skipped silently. The scripts are in `tests/peers/` and document their values.

mod common;

use common::*;
use plcdiag_modbus::{
    ByteOrder, DataType, Encoding, ExceptionCode, Fault, Point, PointError, Reply, Sim, Table,
    Value, WordOrder,
};
use serde_json::json;

#[tokio::test]
async fn our_client_reads_the_values_the_pymodbus_server_set() {
    let server = spawn_pymodbus_server().await;
    let mut client = plcdiag_modbus::Client::connect_tcp(server.addr, 1, OK_TIMEOUT)
        .await
        .unwrap();
    let low_first_u32 = Point::new(
        "hr:20".parse().unwrap(),
        Encoding {
            data_type: DataType::U32,
            byte_order: ByteOrder::BigEndian,
            word_order: WordOrder::LowFirst,
        },
    );
    let points = [
        point("hr:0", DataType::U16),
        point("hr:1", DataType::I16),
        point("hr:10", DataType::F32),
        low_first_u32,
        point("ir:0", DataType::U16),
        point("ir:2", DataType::U16),
        point("coil:0", DataType::Bool),
        point("coil:1", DataType::Bool),
        point("coil:7", DataType::Bool),
        point("di:1", DataType::Bool),
        point("di:2", DataType::Bool),
    ];
    // pymodbus answers undefined addresses with an exception, so read without gaps.
    let limits = plcdiag_modbus::PlanLimits {
        max_gap_registers: 0,
        max_gap_bits: 0,
        ..Default::default()
    };
    let requests = plcdiag_modbus::plan(&points, &limits);
    let mut values = client.read_points(&requests, &points).await.unwrap();
    values.sort_by_key(|(index, _)| *index);
    let values: Vec<Value> = values.into_iter().map(|(_, v)| v.unwrap()).collect();
    assert_eq!(
        values,
        [
            Value::U16(0x1234),
            Value::I16(-2),
            Value::F32(123.456),
            Value::U32(0x1234_5678),
            Value::U16(1),
            Value::U16(3),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(true),
            Value::Bool(true),
            Value::Bool(false),
        ]
    );
}

#[tokio::test]
async fn our_client_gets_illegal_data_address_from_pymodbus_for_an_undefined_register() {
    let server = spawn_pymodbus_server().await;
    let mut client = plcdiag_modbus::Client::connect_tcp(server.addr, 1, OK_TIMEOUT)
        .await
        .unwrap();
    let reply = client
        .read(&raw_request(Table::HoldingRegister, 5, 2))
        .await
        .unwrap();
    assert_eq!(reply, Reply::Exception(ExceptionCode::IllegalDataAddress));
    let points = [point("hr:5", DataType::U16)];
    let values = client
        .read_points(&plan_default(&points), &points)
        .await
        .unwrap();
    assert_eq!(
        values,
        [(
            0,
            Err(PointError::Exception(ExceptionCode::IllegalDataAddress))
        )]
    );
}

/// The simulator holding what `pymodbus_client.py` reads.
async fn sim_for_pymodbus_client(fault: Fault) -> plcdiag_modbus::SimHandle {
    let sim = spawn_tcp(
        Sim::builder()
            .holding(0, &[0x1234, 0xFFFE, 0, 65_535])
            .input(0, &[1, 2, 3])
            .coils(
                0,
                &[
                    true, false, true, true, false, false, true, true, true, false,
                ],
            )
            .discrete(0, &[false, true, false, true, true])
            .holding(100, &[4242])
            .fault(fault),
    )
    .await;
    sim.set_value(
        Table::HoldingRegister,
        10,
        &Encoding::new(DataType::F32),
        Value::F32(123.456),
    );
    sim.set_value(
        Table::HoldingRegister,
        20,
        &Encoding {
            data_type: DataType::U32,
            byte_order: ByteOrder::BigEndian,
            word_order: WordOrder::LowFirst,
        },
        Value::U32(0x1234_5678),
    );
    sim
}

#[tokio::test]
async fn pymodbus_client_reads_the_values_our_simulator_holds() {
    let sim = sim_for_pymodbus_client(Fault::None).await;
    let read = run_pymodbus_client(sim.addr().unwrap()).await;
    assert_eq!(read["holding"], json!([0x1234, 0xFFFE, 0, 65_535]));
    assert_eq!(read["input"], json!([1, 2, 3]));
    assert_eq!(
        read["coils"],
        json!([
            true, false, true, true, false, false, true, true, true, false
        ])
    );
    assert_eq!(read["discrete"], json!([false, true, false, true, true]));
    // Python decodes with struct: the same f32 as ours, rounded to f32 precision.
    let f32_value = read["f32_hr10"].as_f64().expect("f32_hr10 is a number");
    assert_eq!(f32_value, f64::from(123.456_f32));
    assert_eq!(read["u32_hr20"], json!(0x1234_5678));
    assert_eq!(read["hr100"], json!({"registers": [4242]}));
}

#[tokio::test]
async fn pymodbus_client_gets_the_exception_our_simulator_is_configured_with() {
    let sim = sim_for_pymodbus_client(Fault::ExceptionAt {
        table: Table::HoldingRegister,
        start: 100,
        end: 199,
        code: ExceptionCode::IllegalDataAddress,
    })
    .await;
    let read = run_pymodbus_client(sim.addr().unwrap()).await;
    assert_eq!(read["hr100"], json!({"exception": 2}));
    // Reads outside the refused range are answered normally.
    assert_eq!(read["input"], json!([1, 2, 3]));
}
