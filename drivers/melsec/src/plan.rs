//! Read planning for [`Client::read_tags`](crate::Client::read_tags): tags are grouped into
//! as few requests as the limits of `melsec-cclink.md` §1.3 allow.
//!
//! * BIT tags on bit devices: batch reads in bit units (`0401/0001`), adjacent tags of the
//!   same device merged while the span stays ≤ [`MAX_BITS`] and the gap ≤ [`MAX_GAP_BITS`];
//! * word-typed tags: batch reads in word units (`0401/0000`), merged while the span stays
//!   ≤ [`MAX_WORDS`] and the gap ≤ [`MAX_GAP_WORDS`] (a word of a bit device spans 16 device
//!   numbers; such tags merge only when aligned to the block head);
//! * blocks that hold a single 1- or 2-word tag are gathered into random reads (`0403`,
//!   word and double-word points) of at most [`MAX_RANDOM_POINTS`] points, if at least two
//!   such blocks exist.
//!
//! Point limits are per §1.3: 960 words, 7 168 bits (iQ-R; Q/L inferred), random read 96
//! points (the iQ-R `0002` figure; FX5 allows 192, Q/L is unstated, so the smallest is used).

use std::collections::BTreeMap;

use crate::address::{TagAddress, WordType};
use crate::frame::{Command, DeviceCode};

/// Largest word count of one batch read (§1.3).
pub const MAX_WORDS: u16 = 960;
/// Largest bit count of one batch read (§1.3, iQ-R; FX5: 3 584).
pub const MAX_BITS: u16 = 7168;
/// Largest point count (words + double words) of one random read used by the planner.
pub const MAX_RANDOM_POINTS: usize = 96;
/// Largest gap of unused words bridged when merging.
pub const MAX_GAP_WORDS: u32 = 32;
/// Largest gap of unused bits bridged when merging.
pub const MAX_GAP_BITS: u32 = 128;

/// Where a tag's value sits in the answer of a planned read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Bit `index` of a bit-unit batch read.
    Bit(usize),
    /// `words` words from word `index` of a word-unit batch read.
    Words {
        /// First word.
        index: usize,
        /// Word count (1 or 2).
        words: usize,
    },
    /// Word point `index` of a random read.
    RandomWord(usize),
    /// Double-word point `index` of a random read.
    RandomDword(usize),
}

/// One request of a plan and the tags it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRead {
    /// The request.
    pub command: Command,
    /// `(tag index, slot)` pairs.
    pub tags: Vec<(usize, Slot)>,
}

/// The requests for a list of tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadPlan {
    /// Requests in order.
    pub reads: Vec<PlannedRead>,
}

struct Block {
    code: DeviceCode,
    bits: bool,
    start: u32,
    /// Points (bits or words).
    len: u32,
    tags: Vec<(usize, Slot)>,
}

impl ReadPlan {
    /// Plans reads for `tags` (each tag lands in exactly one read).
    pub fn new(tags: &[TagAddress]) -> ReadPlan {
        // Group by (device, bit-unit?) and sort by number.
        let mut groups: BTreeMap<(DeviceCode, bool), Vec<(usize, &TagAddress)>> = BTreeMap::new();
        for (i, t) in tags.iter().enumerate() {
            groups
                .entry((t.device.code, t.data_type == WordType::Bit))
                .or_default()
                .push((i, t));
        }
        let mut blocks: Vec<Block> = Vec::new();
        for ((code, bits), mut list) in groups {
            list.sort_by_key(|(i, t)| (t.device.number, *i));
            // Device numbers per point: 1 for bits and word devices, 16 for words of a bit
            // device.
            let per = if !bits && code.is_bit() { 16 } else { 1 };
            let (max, gap) = if bits {
                (u32::from(MAX_BITS), MAX_GAP_BITS)
            } else {
                (u32::from(MAX_WORDS), MAX_GAP_WORDS)
            };
            let mut cur: Option<Block> = None;
            for (i, t) in list {
                let n = t.device.number;
                let points = if bits {
                    1
                } else {
                    u32::from(t.data_type.words())
                };
                let fits = cur.as_ref().is_some_and(|b| {
                    let end = b.start.saturating_add(b.len.saturating_mul(per));
                    n >= b.start
                        && (n - b.start) % per == 0
                        && (n - b.start) / per + points <= max
                        && n <= end.saturating_add(gap * per)
                });
                if !fits {
                    if let Some(b) = cur.take() {
                        blocks.push(b);
                    }
                    cur = Some(Block {
                        code,
                        bits,
                        start: n,
                        len: 0,
                        tags: Vec::new(),
                    });
                }
                if let Some(b) = cur.as_mut() {
                    let index = (n - b.start) / per;
                    b.len = b.len.max(index + points);
                    let index = usize::try_from(index).unwrap_or(usize::MAX);
                    b.tags.push((
                        i,
                        if bits {
                            Slot::Bit(index)
                        } else {
                            Slot::Words {
                                index,
                                words: usize::try_from(points).unwrap_or(1),
                            }
                        },
                    ));
                }
            }
            if let Some(b) = cur.take() {
                blocks.push(b);
            }
        }

        // Single-tag word blocks → random reads, if there are at least two.
        let single = |b: &Block| !b.bits && b.tags.len() == 1;
        let singles = blocks.iter().filter(|b| single(b)).count();
        let mut reads = Vec::new();
        let mut random: Vec<Block> = Vec::new();
        for b in blocks {
            if singles >= 2 && single(&b) {
                random.push(b);
                continue;
            }
            let head = crate::frame::Device::new(b.code, b.start);
            let points = u16::try_from(b.len).unwrap_or(u16::MAX);
            reads.push(PlannedRead {
                command: if b.bits {
                    Command::BatchReadBits { head, points }
                } else {
                    Command::BatchReadWords { head, points }
                },
                tags: b.tags,
            });
        }
        for chunk in random.chunks(MAX_RANDOM_POINTS) {
            let mut words = Vec::new();
            let mut dwords = Vec::new();
            let mut slots = Vec::new();
            for b in chunk {
                let head = crate::frame::Device::new(b.code, b.start);
                let (i, _) = b.tags[0];
                if b.len == 2 {
                    slots.push((i, Slot::RandomDword(dwords.len())));
                    dwords.push(head);
                } else {
                    slots.push((i, Slot::RandomWord(words.len())));
                    words.push(head);
                }
            }
            reads.push(PlannedRead {
                command: Command::RandomRead { words, dwords },
                tags: slots,
            });
        }
        ReadPlan { reads }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &[&str]) -> Vec<TagAddress> {
        s.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn adjacent_words_merge_into_one_batch_read() {
        let plan = ReadPlan::new(&tags(&["D100", "D101:UINT", "D102:REAL", "D110"]));
        assert_eq!(plan.reads.len(), 1);
        match &plan.reads[0].command {
            Command::BatchReadWords { head, points } => {
                assert_eq!(head.to_string(), "D100");
                assert_eq!(*points, 11);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn far_apart_single_words_become_one_random_read() {
        let plan = ReadPlan::new(&tags(&["D100", "D5000:DINT", "W1A", "M20"]));
        let random = plan
            .reads
            .iter()
            .find(|r| matches!(r.command, Command::RandomRead { .. }))
            .unwrap();
        match &random.command {
            Command::RandomRead { words, dwords } => {
                assert_eq!(words.len(), 2);
                assert_eq!(dwords.len(), 1);
            }
            _ => unreachable!(),
        }
        assert!(
            plan.reads
                .iter()
                .any(|r| matches!(r.command, Command::BatchReadBits { .. }))
        );
    }

    #[test]
    fn word_limit_splits_blocks() {
        let plan = ReadPlan::new(&tags(&["D0", "D959", "D960"]));
        let total: usize = plan.reads.iter().map(|r| r.tags.len()).sum();
        assert_eq!(total, 3);
        for r in &plan.reads {
            if let Command::BatchReadWords { points, .. } = r.command {
                assert!(points <= MAX_WORDS);
            }
        }
    }

    #[test]
    fn every_tag_appears_exactly_once() {
        let t = tags(&[
            "X0",
            "X1F",
            "Y10",
            "SB0040",
            "SW0080:UINT",
            "D1",
            "D1",
            "R100:REAL",
        ]);
        let plan = ReadPlan::new(&t);
        let mut seen: Vec<usize> = plan
            .reads
            .iter()
            .flat_map(|r| r.tags.iter().map(|x| x.0))
            .collect();
        seen.sort();
        assert_eq!(seen, (0..t.len()).collect::<Vec<_>>());
    }
}
