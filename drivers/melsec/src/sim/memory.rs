//! The device memory of the simulated CPU: sparse, every unset device reads 0 / OFF.
//!
//! Two layers: the *image* that the CC-Link masters and the CPU's self-diagnosis render
//! (SB/SW/SM/SD, rebuilt on every change of their state) and the *user* layer written by
//! the builder's and the handle's `words`/`bits` calls. A device set in the user layer
//! shows the user's value, also over an image device (so a test can pin an odd value, e.g.
//! a reserved-station bitmap); every other device shows the image, else 0.
//!
//! A word-unit read of a bit device packs 16 consecutive bits, the head device in the least
//! significant bit (reference §1.5); a bit-unit read of a word device is refused by the
//! request layer, not here.

use std::collections::HashMap;

use super::device::{Device, Unit};

/// One layer of device values; a device absent from the map was never set in this layer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    words: HashMap<(u8, u32), u16>,
    bits: HashMap<(u8, u32), bool>,
}

impl Memory {
    /// Forgets every value.
    pub(crate) fn clear(&mut self) {
        self.words.clear();
        self.bits.clear();
    }

    /// Sets one word; on a bit device, the 16 bits from `number` (LSB first).
    pub(crate) fn set_word(&mut self, device: Device, number: u32, value: u16) {
        match device.unit {
            Unit::Word => {
                self.words.insert((device.code, number), value);
            }
            Unit::Bit => {
                for i in 0..16u32 {
                    if let Some(n) = number.checked_add(i) {
                        self.set_bit(device, n, value >> i & 1 == 1);
                    }
                }
            }
        }
    }

    /// Sets one bit of a bit device (ignored on a word device).
    pub(crate) fn set_bit(&mut self, device: Device, number: u32, on: bool) {
        if device.unit == Unit::Bit {
            self.bits.insert((device.code, number), on);
        }
    }

    /// Consecutive words from `number` (16 bit devices per word on a bit device).
    pub(crate) fn set_words(&mut self, device: Device, number: u32, values: &[u16]) {
        let step = match device.unit {
            Unit::Word => 1,
            Unit::Bit => 16,
        };
        for (i, value) in (0u32..).zip(values) {
            self.set_word(device, number.saturating_add(i * step), *value);
        }
    }

    /// Consecutive bits from `number`.
    pub(crate) fn set_bits(&mut self, device: Device, number: u32, values: &[bool]) {
        for (i, value) in (0u32..).zip(values) {
            self.set_bit(device, number.saturating_add(i), *value);
        }
    }

    fn get_word(&self, device: Device, number: u32) -> Option<u16> {
        self.words.get(&(device.code, number)).copied()
    }

    fn get_bit(&self, device: Device, number: u32) -> Option<bool> {
        self.bits.get(&(device.code, number)).copied()
    }
}

/// What the network sees: the user layer over the image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) user: &'a Memory,
    pub(crate) image: &'a Memory,
}

impl View<'_> {
    /// One bit of a bit device.
    pub(crate) fn bit(&self, device: Device, number: u32) -> bool {
        self.user
            .get_bit(device, number)
            .or_else(|| self.image.get_bit(device, number))
            .unwrap_or(false)
    }

    /// One word: a word device's value, or 16 bits of a bit device from `number` (LSB).
    pub(crate) fn word(&self, device: Device, number: u32) -> u16 {
        match device.unit {
            Unit::Word => self
                .user
                .get_word(device, number)
                .or_else(|| self.image.get_word(device, number))
                .unwrap_or(0),
            Unit::Bit => (0..16u32).fold(0u16, |word, i| {
                let on = number.checked_add(i).is_some_and(|n| self.bit(device, n));
                word | (u16::from(on) << i)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::{SB, SD};
    use super::*;

    #[test]
    fn unset_devices_read_zero() {
        let (user, image) = (Memory::default(), Memory::default());
        let view = View {
            user: &user,
            image: &image,
        };
        assert_eq!(view.word(SD, 0), 0);
        assert_eq!(view.word(SB, 0x40), 0);
        assert!(!view.bit(SB, 0x40));
    }

    #[test]
    fn a_word_read_of_a_bit_device_puts_the_head_device_in_the_lsb() {
        let (mut user, image) = (Memory::default(), Memory::default());
        user.set_bit(SB, 0x40, true);
        user.set_bit(SB, 0x4F, true);
        user.set_bit(SB, 0x50, true);
        let view = View {
            user: &user,
            image: &image,
        };
        assert_eq!(view.word(SB, 0x40), 0x8001);
        assert_eq!(view.word(SB, 0x41), 0xC000);
        assert_eq!(view.word(SB, 0x50), 0x0001);
    }

    #[test]
    fn words_written_to_a_bit_device_land_as_bits() {
        let (mut user, image) = (Memory::default(), Memory::default());
        user.set_words(SB, 0x80, &[0x0003, 0x8000]);
        user.set_words(SD, 10, &[1, 0, 3]);
        let view = View {
            user: &user,
            image: &image,
        };
        assert!(view.bit(SB, 0x80));
        assert!(view.bit(SB, 0x81));
        assert!(!view.bit(SB, 0x82));
        assert!(view.bit(SB, 0x9F));
        assert_eq!(
            [view.word(SD, 10), view.word(SD, 11), view.word(SD, 12)],
            [1, 0, 3]
        );
    }

    #[test]
    fn the_user_layer_wins_over_the_image_even_with_zero() {
        let (mut user, mut image) = (Memory::default(), Memory::default());
        image.set_word(SD, 0, 5000);
        image.set_bit(SB, 0x80, true);
        image.set_word(SD, 1, 7);
        user.set_word(SD, 0, 0);
        user.set_bit(SB, 0x80, false);
        let view = View {
            user: &user,
            image: &image,
        };
        assert_eq!(view.word(SD, 0), 0);
        assert!(!view.bit(SB, 0x80));
        assert_eq!(view.word(SD, 1), 7);
    }
}
