//! The simulated CPU's memory for read-var: process-image inputs and outputs, markers and
//! data blocks. Areas are as long as what was set; a DB that was never set does not exist.

use std::collections::BTreeMap;

/// Area codes of a read-var item (Wireshark s7comm area names; Snap7 `S7AreaPE` …).
pub(crate) mod area {
    /// Process-image inputs (I / E).
    pub(crate) const INPUTS: u8 = 0x81;
    /// Process-image outputs (Q / A).
    pub(crate) const OUTPUTS: u8 = 0x82;
    /// Markers / flags (M).
    pub(crate) const MARKERS: u8 = 0x83;
    /// Data blocks (DB).
    pub(crate) const DB: u8 = 0x84;
}

/// Data return codes of a read-var item (s7.md §7.3).
pub(crate) mod retcode {
    /// Success.
    pub(crate) const OK: u8 = 0xFF;
    /// Invalid address / out of range.
    pub(crate) const OUT_OF_RANGE: u8 = 0x05;
    /// Data type not supported.
    pub(crate) const TYPE_NOT_SUPPORTED: u8 = 0x06;
    /// Object does not exist.
    pub(crate) const NO_OBJECT: u8 = 0x0A;
}

/// Memory contents.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    pub(crate) inputs: Vec<u8>,
    pub(crate) outputs: Vec<u8>,
    pub(crate) markers: Vec<u8>,
    pub(crate) dbs: BTreeMap<u16, Vec<u8>>,
}

impl Memory {
    /// `len` bytes from byte `start` of an area, or the item return code.
    pub(crate) fn read(&self, area: u8, db: u16, start: usize, len: usize) -> Result<&[u8], u8> {
        let bytes = match area {
            area::INPUTS => &self.inputs,
            area::OUTPUTS => &self.outputs,
            area::MARKERS => &self.markers,
            area::DB => self.dbs.get(&db).ok_or(retcode::NO_OBJECT)?,
            _ => return Err(retcode::NO_OBJECT),
        };
        let end = start.checked_add(len).ok_or(retcode::OUT_OF_RANGE)?;
        bytes.get(start..end).ok_or(retcode::OUT_OF_RANGE)
    }
}
