//! Modbus register and bit data decoded into typed values, for every type, byte order and
//! word order, whatever the count of registers the device returned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plcdiag_modbus::value::{ByteOrder, DataType, Encoding, WordOrder};

const TYPES: [DataType; 10] = [
    DataType::Bool,
    DataType::U16,
    DataType::I16,
    DataType::U32,
    DataType::I32,
    DataType::F32,
    DataType::U64,
    DataType::I64,
    DataType::F64,
    DataType::U16,
];

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let regs: Vec<u16> = rest
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    let encoding = Encoding {
        data_type: TYPES[usize::from(shape % 10)],
        byte_order: if shape & 0x10 == 0 {
            ByteOrder::BigEndian
        } else {
            ByteOrder::LittleEndian
        },
        word_order: if shape & 0x20 == 0 {
            WordOrder::HighFirst
        } else {
            WordOrder::LowFirst
        },
    };
    if let Ok(v) = encoding.decode_registers(&regs) {
        let _ = format!("{v:?}");
    }
});
