//! Read-var planning: merges, splits and packs [`VarAddress`]es into few read-var jobs that
//! fit the negotiated PDU size (`s7.md` §1.4 [rec], §6.1), and maps the answers back to one
//! result per input item in input order. Pure: no I/O.
//!
//! Rules:
//! * items of the same area (and DB) whose byte ranges overlap or touch are merged into one
//!   range (timers/counters: element ranges, 2 bytes per element); bits are read as their
//!   byte. A merged range fails as a whole if the CPU refuses it (e.g. one item beyond the
//!   end of the DB makes the neighbouring items fail with the same return code);
//! * a range longer than one item can carry (PDU − 18 bytes: 12-byte Ack_Data header,
//!   2 bytes function + count, 4 bytes item header) is split into pieces;
//! * pieces are packed into jobs while the job (10 + 2 + 12 × n bytes) and the expected
//!   Ack_Data (14 + Σ (4 + len + fill byte after odd lengths except the last)) fit the PDU,
//!   with at most [`MAX_ITEMS_PER_JOB`] items per job.

use crate::address::{Area, ItemError, VarAddress, VarType, VarValue};
use crate::frame::var::{ITEM_TS_BYTE, ITEM_TS_COUNTER, ITEM_TS_TIMER};
use crate::frame::{AnyItem, DataItem, DecodeError, ReturnCode};

/// Items per job: the Snap7 client's `MaxVars` (20), which S7-300 CPUs accept.
pub const MAX_ITEMS_PER_JOB: usize = 20;

/// A contiguous merged range of one area.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    area: Area,
    /// Start in units (bytes, or timer/counter numbers).
    start: u32,
    /// Length in units.
    len: u32,
}

impl Range {
    fn unit_bytes(&self) -> usize {
        if matches!(self.area, Area::Timers | Area::Counters) {
            2
        } else {
            1
        }
    }
}

/// A part of a range read by one item of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    range: usize,
    /// Offset in units from the range start.
    offset: u32,
    /// Length in units.
    len: u32,
}

/// A planned read: the jobs to send and how to map their answers back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    inputs: Vec<VarAddress>,
    ranges: Vec<Range>,
    /// Per input: range index and offset (units) in it.
    item_map: Vec<(usize, u32)>,
    jobs: Vec<Vec<Piece>>,
}

fn units(addr: &VarAddress) -> u32 {
    match addr.var_type {
        VarType::Timer | VarType::Counter => 1,
        t => t.byte_len() as u32,
    }
}

fn response_len(data_lens: impl Iterator<Item = usize>) -> usize {
    let lens: Vec<usize> = data_lens.collect();
    let n = lens.len();
    14 + lens
        .iter()
        .enumerate()
        .map(|(i, l)| DataItem::encoded_len(*l, i + 1 == n))
        .sum::<usize>()
}

impl ReadPlan {
    /// Plans reads of `items` for a negotiated PDU size.
    pub fn new(items: &[VarAddress], pdu_size: u16) -> ReadPlan {
        let pdu = usize::from(pdu_size).max(64);
        // 1. merge
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (items[i].area, items[i].byte));
        let mut ranges: Vec<Range> = Vec::new();
        let mut item_map = vec![(0usize, 0u32); items.len()];
        for i in order {
            let (area, start, len) = (items[i].area, items[i].byte, units(&items[i]));
            match ranges.last_mut() {
                Some(r) if r.area == area && start <= r.start + r.len => {
                    r.len = r.len.max(start + len - r.start);
                }
                _ => ranges.push(Range { area, start, len }),
            }
            item_map[i] = (ranges.len() - 1, start - ranges[ranges.len() - 1].start);
        }
        // 2. split
        let max_bytes = pdu - 18;
        let mut pieces = Vec::new();
        for (ri, r) in ranges.iter().enumerate() {
            let max_units = (max_bytes / r.unit_bytes()) as u32;
            let mut offset = 0;
            while offset < r.len {
                let len = (r.len - offset).min(max_units);
                pieces.push(Piece {
                    range: ri,
                    offset,
                    len,
                });
                offset += len;
            }
        }
        // 3. pack
        let max_items = MAX_ITEMS_PER_JOB.min((pdu - 12) / AnyItem::LEN);
        let mut jobs: Vec<Vec<Piece>> = Vec::new();
        let bytes_of = |p: &Piece| p.len as usize * ranges[p.range].unit_bytes();
        for p in pieces {
            let fits = jobs.last().is_some_and(|job| {
                job.len() < max_items
                    && response_len(job.iter().chain(std::iter::once(&p)).map(bytes_of)) <= pdu
            });
            if fits {
                if let Some(job) = jobs.last_mut() {
                    job.push(p);
                }
            } else {
                jobs.push(vec![p]);
            }
        }
        ReadPlan {
            inputs: items.to_vec(),
            ranges,
            item_map,
            jobs,
        }
    }

    /// Number of jobs.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Number of merged ranges.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// The S7ANY items of job `job`.
    pub fn job_items(&self, job: usize) -> Vec<AnyItem> {
        self.jobs[job]
            .iter()
            .map(|p| {
                let r = &self.ranges[p.range];
                let (area, db) = r.area.code();
                let start = r.start + p.offset;
                match r.area {
                    Area::Timers | Area::Counters => AnyItem {
                        transport_size: if r.area == Area::Timers {
                            ITEM_TS_TIMER
                        } else {
                            ITEM_TS_COUNTER
                        },
                        count: p.len as u16,
                        db,
                        area,
                        address: start,
                    },
                    _ => AnyItem {
                        transport_size: ITEM_TS_BYTE,
                        count: p.len as u16,
                        db,
                        area,
                        address: start * 8,
                    },
                }
            })
            .collect()
    }

    /// Maps the answers (one `Vec<DataItem>` per job, in job order; a job refused as a whole
    /// is `Err`) to one result per input item, in input order.
    pub fn assemble(
        &self,
        answers: &[Result<Vec<DataItem>, ItemError>],
    ) -> Vec<Result<VarValue, ItemError>> {
        let mut buffers: Vec<Vec<u8>> = self
            .ranges
            .iter()
            .map(|r| vec![0; r.len as usize * r.unit_bytes()])
            .collect();
        // per range: failed unit spans
        let mut failures: Vec<Vec<(u32, u32, ItemError)>> = vec![Vec::new(); self.ranges.len()];
        for (ji, job) in self.jobs.iter().enumerate() {
            for (pi, p) in job.iter().enumerate() {
                let r = &self.ranges[p.range];
                let want = p.len as usize * r.unit_bytes();
                let outcome = match answers.get(ji) {
                    None => Err(ItemError::Decode(DecodeError::Truncated {
                        needed: ji + 1,
                        got: answers.len(),
                    })),
                    Some(Err(e)) => Err(e.clone()),
                    Some(Ok(items)) => match items.get(pi) {
                        None => Err(ItemError::Decode(DecodeError::Truncated {
                            needed: pi + 1,
                            got: items.len(),
                        })),
                        Some(d) if d.return_code != ReturnCode::Success => {
                            Err(ItemError::Return(d.return_code))
                        }
                        Some(d) if d.data.len() < want => {
                            Err(ItemError::Decode(DecodeError::Truncated {
                                needed: want,
                                got: d.data.len(),
                            }))
                        }
                        Some(d) => Ok(&d.data[..want]),
                    },
                };
                match outcome {
                    Ok(data) => {
                        let at = p.offset as usize * r.unit_bytes();
                        buffers[p.range][at..at + want].copy_from_slice(data);
                    }
                    Err(e) => failures[p.range].push((p.offset, p.offset + p.len, e)),
                }
            }
        }
        self.inputs
            .iter()
            .zip(&self.item_map)
            .map(|(addr, &(ri, off))| {
                let end = off + units(addr);
                if let Some((_, _, e)) = failures[ri].iter().find(|(s, e, _)| *s < end && off < *e)
                {
                    return Err(e.clone());
                }
                let ub = self.ranges[ri].unit_bytes();
                let bytes = &buffers[ri][off as usize * ub..end as usize * ub];
                VarValue::decode(addr.var_type, bytes).map_err(ItemError::Decode)
            })
            .collect()
    }
}
