//! The simulator's data and the pure request handling: no I/O, no async.
//!
//! Invariants: every table is 65536 items, stored sparsely; an item never set reads as 0
//! (registers) or `false` (bits). Requests are checked in the order of the specification's
//! state diagrams (Modbus Application Protocol Specification V1.1b3 §6.1–§6.4): function
//! code (else 0x01 Illegal Function), then quantity (else 0x03 Illegal Data Value), then
//! address plus quantity (else 0x02 Illegal Data Address).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::RawData;
use crate::exception::ExceptionCode;
use crate::sim::Fault;
use crate::value::Table;

/// A request the simulator understands, independent of TCP or RTU framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimRequest {
    /// FC01–FC04.
    Read {
        /// The table (from the function code).
        table: Table,
        /// First address.
        start: u16,
        /// Quantity of bits or registers.
        quantity: u16,
    },
    /// Any other function code; the simulator is read-only and answers 0x01 Illegal Function.
    Other {
        /// The function code.
        function: u8,
    },
}

impl SimRequest {
    /// The request's function code.
    pub(crate) fn function(&self) -> u8 {
        match self {
            SimRequest::Read { table, .. } => table.read_function_code(),
            SimRequest::Other { function } => *function,
        }
    }
}

/// What the transport should do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer now.
    Reply(Result<RawData, ExceptionCode>),
    /// Answer after a delay.
    Delayed(Duration, Result<RawData, ExceptionCode>),
    /// Never answer.
    NoAnswer,
    /// Close the connection without answering.
    Drop,
}

/// The four tables, sparse.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    coils: BTreeMap<u16, bool>,
    discrete: BTreeMap<u16, bool>,
    holding: BTreeMap<u16, u16>,
    input: BTreeMap<u16, u16>,
}

impl Memory {
    /// Sets registers from `offset`; values past address 65535 are dropped.
    pub(crate) fn set_registers(&mut self, table: Table, offset: u16, values: &[u16]) {
        let map = match table {
            Table::HoldingRegister => &mut self.holding,
            Table::InputRegister => &mut self.input,
            Table::Coil | Table::DiscreteInput => {
                let bits: Vec<bool> = values.iter().map(|v| *v != 0).collect();
                self.set_bits(table, offset, &bits);
                return;
            }
        };
        for (address, value) in (offset..=u16::MAX).zip(values) {
            map.insert(address, *value);
        }
    }

    /// Sets bits from `offset`; values past address 65535 are dropped.
    pub(crate) fn set_bits(&mut self, table: Table, offset: u16, values: &[bool]) {
        let map = match table {
            Table::Coil => &mut self.coils,
            Table::DiscreteInput => &mut self.discrete,
            Table::HoldingRegister | Table::InputRegister => {
                let regs: Vec<u16> = values.iter().map(|b| u16::from(*b)).collect();
                self.set_registers(table, offset, &regs);
                return;
            }
        };
        for (address, value) in (offset..=u16::MAX).zip(values) {
            map.insert(address, *value);
        }
    }

    /// Answers a read, checking quantity and address range as the specification says.
    pub(crate) fn read(
        &self,
        table: Table,
        start: u16,
        quantity: u16,
    ) -> Result<RawData, ExceptionCode> {
        if quantity == 0 || quantity > table.max_read_quantity() {
            return Err(ExceptionCode::IllegalDataValue);
        }
        if u32::from(start) + u32::from(quantity) > 65_536 {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        let end = start.saturating_add(quantity - 1);
        Ok(match table {
            Table::Coil => RawData::Bits(read_range(&self.coils, start, end)),
            Table::DiscreteInput => RawData::Bits(read_range(&self.discrete, start, end)),
            Table::HoldingRegister => RawData::Registers(read_range(&self.holding, start, end)),
            Table::InputRegister => RawData::Registers(read_range(&self.input, start, end)),
        })
    }

    /// Decides what to do with `request` under `fault`.
    pub(crate) fn handle(&self, request: SimRequest, fault: &Fault) -> Action {
        let answer = || match request {
            SimRequest::Read {
                table,
                start,
                quantity,
            } => self.read(table, start, quantity),
            SimRequest::Other { .. } => Err(ExceptionCode::IllegalFunction),
        };
        match *fault {
            Fault::None => Action::Reply(answer()),
            Fault::Exception(code) => Action::Reply(Err(code)),
            Fault::ExceptionAt {
                table: fault_table,
                start: fault_start,
                end: fault_end,
                code,
            } => match request {
                SimRequest::Read {
                    table,
                    start,
                    quantity,
                } if table == fault_table
                    && u32::from(start) <= u32::from(fault_end)
                    && u32::from(start) + u32::from(quantity) > u32::from(fault_start) =>
                {
                    Action::Reply(Err(code))
                }
                _ => Action::Reply(answer()),
            },
            Fault::NoAnswer => Action::NoAnswer,
            Fault::Slow(delay) => Action::Delayed(delay, answer()),
            Fault::DropConnection => Action::Drop,
        }
    }
}

/// Items `start..=end` of a sparse table, 0/false where unset.
fn read_range<T: Copy + Default>(map: &BTreeMap<u16, T>, start: u16, end: u16) -> Vec<T> {
    let mut out = vec![T::default(); usize::from(end - start) + 1];
    for (address, value) in map.range(start..=end) {
        if let Some(slot) = out.get_mut(usize::from(address - start)) {
            *slot = *value;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_registers_read_as_zero_and_set_ones_as_set() {
        let mut memory = Memory::default();
        memory.set_registers(Table::HoldingRegister, 10, &[7, 8]);
        assert_eq!(
            memory.read(Table::HoldingRegister, 9, 4),
            Ok(RawData::Registers(vec![0, 7, 8, 0]))
        );
    }

    #[test]
    fn quantity_over_the_spec_limit_is_illegal_data_value() {
        let memory = Memory::default();
        assert_eq!(
            memory.read(Table::HoldingRegister, 0, 126),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(
            memory.read(Table::Coil, 0, 2001),
            Err(ExceptionCode::IllegalDataValue)
        );
        assert_eq!(
            memory.read(Table::InputRegister, 0, 0),
            Err(ExceptionCode::IllegalDataValue)
        );
    }

    #[test]
    fn a_read_past_address_65535_is_illegal_data_address() {
        let memory = Memory::default();
        assert_eq!(
            memory.read(Table::InputRegister, 65_535, 2),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            memory.read(Table::InputRegister, 65_535, 1),
            Ok(RawData::Registers(vec![0]))
        );
    }

    #[test]
    fn values_set_past_the_last_address_are_dropped() {
        let mut memory = Memory::default();
        memory.set_bits(Table::Coil, 65_535, &[true, true, true]);
        assert_eq!(
            memory.read(Table::Coil, 65_535, 1),
            Ok(RawData::Bits(vec![true]))
        );
    }

    #[test]
    fn exception_at_hits_only_overlapping_reads_of_its_table() {
        let memory = Memory::default();
        let fault = Fault::ExceptionAt {
            table: Table::HoldingRegister,
            start: 100,
            end: 109,
            code: ExceptionCode::IllegalDataAddress,
        };
        let read = |table, start, quantity| SimRequest::Read {
            table,
            start,
            quantity,
        };
        let refused = Action::Reply(Err(ExceptionCode::IllegalDataAddress));
        assert_eq!(
            memory.handle(read(Table::HoldingRegister, 95, 6), &fault),
            refused
        );
        assert_eq!(
            memory.handle(read(Table::HoldingRegister, 109, 1), &fault),
            refused
        );
        assert_ne!(
            memory.handle(read(Table::HoldingRegister, 95, 5), &fault),
            refused
        );
        assert_ne!(
            memory.handle(read(Table::HoldingRegister, 110, 5), &fault),
            refused
        );
        assert_ne!(
            memory.handle(read(Table::InputRegister, 100, 5), &fault),
            refused
        );
    }

    #[test]
    fn other_function_codes_are_illegal_function() {
        let memory = Memory::default();
        assert_eq!(
            memory.handle(SimRequest::Other { function: 0x06 }, &Fault::None),
            Action::Reply(Err(ExceptionCode::IllegalFunction))
        );
    }
}
