//! The read planner: turns a list of points into few read requests.
//!
//! Invariants of [`plan`]'s output, pinned by property tests:
//!
//! * every point that passes [`Point::validate`] is in exactly one request; points that fail
//!   it are left out (config validation reports them before polling starts);
//! * a point's bits or registers all lie inside its request: a multi-register value is never
//!   split across two requests;
//! * a request's `count` is at most [`PlanLimits::max_bits`] (bit tables) or
//!   [`PlanLimits::max_registers`] (register tables), except when a single value is wider than
//!   the limit: it then gets a request of its own exactly as wide as the value;
//! * the output depends only on the input: requests are ordered by table (coils, discrete
//!   inputs, holding registers, input registers), then by start address.

use crate::client::RawData;
use crate::point::Point;
use crate::value::{DataType, Table, Value, ValueError};

/// Limits for merging points into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Most registers in one FC03/FC04 read. Default 125, the specification's maximum for
    /// Read Holding Registers and Read Input Registers (Modbus Application Protocol
    /// Specification V1.1b3 §6.3, §6.4: quantity 1 to 125 (0x7D)).
    pub max_registers: u16,
    /// Most bits in one FC01/FC02 read. Default 2000, the specification's maximum for Read
    /// Coils and Read Discrete Inputs (§6.1, §6.2: quantity 1 to 2000 (0x7D0)).
    pub max_bits: u16,
    /// Largest hole of unused registers a request may span to merge two points. Default 16.
    /// Reading a few unused registers is cheaper than another round trip, but some devices
    /// answer Illegal Data Address (0x02) for unmapped holes: set 0 for those.
    pub max_gap_registers: u16,
    /// Largest hole of unused bits a request may span. Default 64.
    pub max_gap_bits: u16,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            max_registers: 125,
            max_bits: 2000,
            max_gap_registers: 16,
            max_gap_bits: 64,
        }
    }
}

/// One read of a contiguous range of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// The table read; decides the function code (0x01–0x04).
    pub table: Table,
    /// First protocol address read.
    pub start: u16,
    /// Bits or registers read.
    pub count: u16,
    /// The points this read serves, by ascending offset.
    pub items: Vec<PlannedItem>,
}

/// Where one point's value sits in a [`ReadRequest`]'s response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedItem {
    /// Index into the points slice given to [`plan`].
    pub point: usize,
    /// Bits or registers from the request's start.
    pub offset: u16,
    /// Bits or registers the value occupies.
    pub width: u16,
}

/// Plans reads for `points`, merging nearby addresses of the same table into as few requests
/// as `limits` allow. See the module documentation for the guarantees.
pub fn plan(points: &[Point], limits: &PlanLimits) -> Vec<ReadRequest> {
    let mut requests = Vec::new();
    for table in Table::ALL {
        let mut members: Vec<(usize, &Point)> = points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.address.table == table && p.validate().is_ok())
            .collect();
        members.sort_by_key(|(index, p)| (p.address.offset, p.width(), *index));
        let (max_count, max_gap) = if table.is_bits() {
            (limits.max_bits.max(1), limits.max_gap_bits)
        } else {
            (limits.max_registers.max(1), limits.max_gap_registers)
        };
        plan_table(
            table,
            &members,
            u32::from(max_count),
            u32::from(max_gap),
            &mut requests,
        );
    }
    requests
}

/// A request being built: `start..end` (exclusive, u32 so it cannot overflow) and its
/// members as (point index, start address, width).
struct Pending {
    start: u32,
    end: u32,
    items: Vec<(usize, u32, u16)>,
}

impl Pending {
    fn finish(self, table: Table) -> ReadRequest {
        let Pending { start, end, items } = self;
        // Validated points end at or before 65536, and a request is never longer than a u16
        // limit or one value's width, so these conversions only saturate on a bug.
        ReadRequest {
            table,
            start: u16::try_from(start).unwrap_or(u16::MAX),
            count: u16::try_from(end - start).unwrap_or(u16::MAX),
            items: items
                .into_iter()
                .map(|(point, item_start, width)| PlannedItem {
                    point,
                    offset: u16::try_from(item_start - start).unwrap_or(u16::MAX),
                    width,
                })
                .collect(),
        }
    }
}

/// Greedy left-to-right merge over points of one table sorted by start address.
fn plan_table(
    table: Table,
    members: &[(usize, &Point)],
    max_count: u32,
    max_gap: u32,
    out: &mut Vec<ReadRequest>,
) {
    let mut current: Option<Pending> = None;
    for &(index, point) in members {
        let start = u32::from(point.address.offset);
        let end = point.end();
        if let Some(pending) = current.as_mut() {
            let gap = start.saturating_sub(pending.end);
            let new_end = pending.end.max(end);
            if gap <= max_gap && new_end - pending.start <= max_count {
                pending.end = new_end;
                pending.items.push((index, start, point.width()));
                continue;
            }
        }
        if let Some(done) = current.take() {
            out.push(done.finish(table));
        }
        current = Some(Pending {
            start,
            end,
            items: vec![(index, start, point.width())],
        });
    }
    if let Some(done) = current {
        out.push(done.finish(table));
    }
}

impl ReadRequest {
    /// Extracts each item's value from a response to this request.
    ///
    /// Never panics: a response that is too short, holds the wrong kind of data, or an item
    /// that names a point outside `points` gives that item an error.
    pub fn decode(
        &self,
        data: &RawData,
        points: &[Point],
    ) -> Vec<(usize, Result<Value, ValueError>)> {
        self.items
            .iter()
            .map(|item| (item.point, self.decode_item(item, data, points)))
            .collect()
    }

    fn decode_item(
        &self,
        item: &PlannedItem,
        data: &RawData,
        points: &[Point],
    ) -> Result<Value, ValueError> {
        let point = points.get(item.point).ok_or(ValueError::UnknownPoint {
            index: item.point,
            len: points.len(),
        })?;
        let offset = usize::from(item.offset);
        let end = offset + usize::from(item.width);
        match (self.table.is_bits(), data) {
            (true, RawData::Bits(bits)) => {
                let data_type = point.encoding.data_type;
                if data_type != DataType::Bool {
                    return Err(ValueError::TypeNotValidForTable {
                        data_type,
                        table: self.table,
                    });
                }
                bits.get(offset)
                    .map(|b| Value::Bool(*b))
                    .ok_or(ValueError::ShortResponse {
                        needed: offset + 1,
                        got: bits.len(),
                        unit: "bits",
                    })
            }
            (false, RawData::Registers(regs)) => {
                let slice = regs.get(offset..end).ok_or(ValueError::ShortResponse {
                    needed: end,
                    got: regs.len(),
                    unit: "registers",
                })?;
                point.encoding.decode_registers(slice)
            }
            (true, RawData::Registers(_)) => Err(ValueError::WrongResponseKind {
                table: self.table,
                expected: "bits",
                got: "registers",
            }),
            (false, RawData::Bits(_)) => Err(ValueError::WrongResponseKind {
                table: self.table,
                expected: "registers",
                got: "bits",
            }),
        }
    }
}
