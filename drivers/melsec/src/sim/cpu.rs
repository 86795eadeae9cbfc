//! The host CPU's self-diagnosis image: SM0/SM1 (+SM5/SM16/SM62), SD0 code, error time, SD4
//! categories, SD203 operating status (reference §7.1–§7.3).
//!
//! * **Q/L**: SD0 holds the code as written in the manual's *decimal* list, in binary (5000
//!   → `0x1388`); SD1–SD3 the time as BCD pairs (SD1 = `YYMM`, SD2 = `DDhh`, SD3 = `mmss`,
//!   §7.2); SD4 = individual category (b15–b8) / common category (b7–b0) per §7.5's detail
//!   column (codes outside the table: 0/0). Annunciator 9000 turns SM0 and SM62 on, not
//!   SM1 (§7.1: "an annunciator ON does not turn SM1 on").
//! * **iQ-R**: SD0 holds the *hexadecimal* code (0x3C00 → `0x3C00`); SD1–SD7 year (four
//!   digits), month, day, hour, minute, second, day of week, all binary; SD10 the code as
//!   "self-diagnostic error number 1" (§7.3).
//! * SD203: b3–b0 0 RUN / 2 STOP, b7–b4 the STOP cause: 4 (error) while an error is set,
//!   else 0 (RUN/STOP switch) (§7.2). The CPU does not stop by itself on an error: the mode
//!   comes only from `set_run_state`, as §7.6 reads the state from SD203, not from the code.

use std::time::{SystemTime, UNIX_EPOCH};

use super::device::{SD, SM};
use super::memory::Memory;

/// Which CPU family the simulator imitates (device codes are the same; the SD layout of the
/// self-diagnosis and the accepted subcommands differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SimSeries {
    /// MELSEC-Q (QnU): SD0 decimal code, BCD time in SD1–SD3; Q/L subcommands only.
    #[default]
    Q,
    /// MELSEC-L: as Q.
    L,
    /// MELSEC iQ-R: SD0 hexadecimal code, binary time in SD1–SD7; also answers the iQ-R
    /// device specification (subcommands 0002/0003).
    IqR,
}

/// A civil UTC time (the simulator has no time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: u16,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    /// 0 = Sunday.
    pub(crate) weekday: u8,
}

impl Civil {
    /// UTC civil time of `time` (days-from-civil inverse, H. Hinnant's algorithm).
    pub(crate) fn from_system_time(time: SystemTime) -> Civil {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let days = i64::try_from(secs / 86_400).unwrap_or(0);
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let narrow = |v: i64| u8::try_from(v).unwrap_or(0);
        Civil {
            year: u16::try_from(year).unwrap_or(0),
            month: narrow(month),
            day: narrow(day),
            hour: narrow(i64::try_from(rem / 3600).unwrap_or(0)),
            minute: narrow(i64::try_from(rem / 60 % 60).unwrap_or(0)),
            second: narrow(i64::try_from(rem % 60).unwrap_or(0)),
            // 1970-01-01 was a Thursday (4).
            weekday: narrow((days + 4).rem_euclid(7)),
        }
    }
}

/// Two decimal digits as one BCD byte (`25` → `0x25`); values above 99 keep their last two
/// digits.
pub(crate) fn bcd(value: u16) -> u16 {
    let v = value % 100;
    ((v / 10) << 4) | (v % 10)
}

/// Two BCD bytes in one word: `hi` in b15–b8, `lo` in b7–b0.
fn bcd_pair(hi: u16, lo: u16) -> u16 {
    (bcd(hi) << 8) | bcd(lo)
}

/// SD4 for a Q/L code: (individual << 8) | common, from the detail column of §7.5.
pub(crate) fn ql_categories(code: u16) -> u16 {
    let (common, individual): (u16, u16) = match code {
        1300 | 1401..=1403 | 2000 | 2100 | 2110 | 2120 | 7000 | 7020 => (1, 0),
        2400 | 2500 => (2, 0),
        3000 | 3100 => (0, 5),
        4000 | 4010 | 4100 | 4101 | 4200 => (4, 0),
        5000 | 5001 | 5010 => (0, 3),
        9000 => (0, 6),
        _ => (0, 0),
    };
    (individual << 8) | common
}

/// The Q/L annunciator code (§7.5 "9000 F****").
const ANNUNCIATOR: u16 = 9000;

/// The CPU state behind the SM/SD image.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cpu {
    pub(crate) series: SimSeries,
    pub(crate) error: Option<(u16, Civil)>,
    pub(crate) stopped: bool,
}

impl Cpu {
    /// Renders SM0–SM63 and SD0–SD26, SD203 into `image`.
    pub(crate) fn render(&self, image: &mut Memory) {
        for n in 0..64 {
            image.set_bit(SM, n, false);
        }
        for n in 0..=26 {
            image.set_word(SD, n, 0);
        }
        let stop_cause = if self.error.is_some() { 4 } else { 0 };
        let sd203 = if self.stopped {
            (stop_cause << 4) | 2
        } else {
            0
        };
        image.set_word(SD, 203, sd203);
        let Some((code, t)) = self.error else {
            return;
        };
        image.set_word(SD, 0, code);
        match self.series {
            SimSeries::Q | SimSeries::L => {
                let annunciator = code == ANNUNCIATOR;
                image.set_bit(SM, 0, true);
                image.set_bit(SM, 1, !annunciator);
                image.set_bit(SM, 62, annunciator);
                image.set_word(SD, 1, bcd_pair(t.year, u16::from(t.month)));
                image.set_word(SD, 2, bcd_pair(u16::from(t.day), u16::from(t.hour)));
                image.set_word(SD, 3, bcd_pair(u16::from(t.minute), u16::from(t.second)));
                let categories = ql_categories(code);
                image.set_word(SD, 4, categories);
                image.set_bit(SM, 5, categories & 0xFF != 0);
                image.set_bit(SM, 16, categories >> 8 != 0);
            }
            SimSeries::IqR => {
                image.set_bit(SM, 0, true);
                image.set_bit(SM, 1, true);
                let time = [
                    t.year,
                    u16::from(t.month),
                    u16::from(t.day),
                    u16::from(t.hour),
                    u16::from(t.minute),
                    u16::from(t.second),
                    u16::from(t.weekday),
                ];
                image.set_words(SD, 1, &time);
                image.set_word(SD, 10, code);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::memory::View;
    use super::*;

    /// 2024-03-05 14:07:09 UTC, a Tuesday.
    fn when() -> Civil {
        Civil::from_system_time(UNIX_EPOCH + Duration::from_secs(1_709_647_629))
    }

    fn image(cpu: &Cpu) -> (Vec<u16>, Vec<bool>) {
        let mut image = Memory::default();
        cpu.render(&mut image);
        let user = Memory::default();
        let view = View {
            user: &user,
            image: &image,
        };
        let mut sd: Vec<u16> = (0..=26).map(|n| view.word(SD, n)).collect();
        sd.push(view.word(SD, 203));
        let sm = (0..64).map(|n| view.bit(SM, n)).collect();
        (sd, sm)
    }

    #[test]
    fn civil_time_and_weekday_from_unix_seconds() {
        assert_eq!(
            when(),
            Civil {
                year: 2024,
                month: 3,
                day: 5,
                hour: 14,
                minute: 7,
                second: 9,
                weekday: 2,
            }
        );
        let leap = Civil::from_system_time(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
        assert_eq!(Civil::from_system_time(UNIX_EPOCH).weekday, 4);
    }

    #[test]
    fn bcd_encodes_two_decimal_digits_per_byte() {
        assert_eq!(bcd(0), 0x00);
        assert_eq!(bcd(9), 0x09);
        assert_eq!(bcd(25), 0x25);
        assert_eq!(bcd(99), 0x99);
        assert_eq!(bcd(1995), 0x95);
        // §7.2 examples: October 1995 = 9510H, the 25th 10 h = 2510H, 35 min 48 s = 3548H.
        assert_eq!(bcd_pair(1995, 10), 0x9510);
        assert_eq!(bcd_pair(25, 10), 0x2510);
        assert_eq!(bcd_pair(35, 48), 0x3548);
    }

    #[test]
    fn a_q_error_puts_the_decimal_code_in_sd0_and_bcd_time_in_sd1_to_sd3() {
        let cpu = Cpu {
            series: SimSeries::Q,
            error: Some((5000, when())),
            stopped: false,
        };
        let (sd, sm) = image(&cpu);
        assert_eq!(sd[0], 0x1388, "WDT ERROR 5000 is stored as binary 5000");
        assert_eq!(sd[1..4], [0x2403, 0x0514, 0x0709]);
        assert_eq!(sd[4], 0x0300, "individual category 3 (measured time)");
        assert!(sm[0] && sm[1] && sm[16] && !sm[5] && !sm[62]);
        assert_eq!(
            sd[27], 0,
            "the CPU keeps running until set_run_state(false)"
        );
    }

    #[test]
    fn an_l_error_has_the_q_layout() {
        let cpu = Cpu {
            series: SimSeries::L,
            error: Some((1300, when())),
            stopped: true,
        };
        let (sd, sm) = image(&cpu);
        assert_eq!(sd[0], 1300);
        assert_eq!(sd[1], 0x2403);
        assert_eq!(sd[4], 0x0001, "common category 1 (module No.)");
        assert!(sm[5] && !sm[16]);
        assert_eq!(sd[27], 0x0042, "STOP (2) caused by an error (4)");
    }

    #[test]
    fn an_iqr_error_puts_the_hex_code_in_sd0_and_binary_time_in_sd1_to_sd7() {
        let cpu = Cpu {
            series: SimSeries::IqR,
            error: Some((0x3C00, when())),
            stopped: false,
        };
        let (sd, sm) = image(&cpu);
        assert_eq!(sd[0], 0x3C00);
        assert_eq!(sd[1..8], [2024, 3, 5, 14, 7, 9, 2]);
        assert_eq!(sd[10], 0x3C00);
        assert!(sm[0] && sm[1]);
    }

    #[test]
    fn an_annunciator_sets_sm0_and_sm62_but_not_sm1() {
        let cpu = Cpu {
            series: SimSeries::Q,
            error: Some((9000, when())),
            stopped: false,
        };
        let (sd, sm) = image(&cpu);
        assert_eq!(sd[0], 9000);
        assert_eq!(sd[4], 0x0600);
        assert!(sm[0] && !sm[1] && sm[62]);
    }

    #[test]
    fn no_error_clears_the_image_and_stop_has_the_switch_as_cause() {
        let cpu = Cpu {
            series: SimSeries::Q,
            error: None,
            stopped: true,
        };
        let (sd, sm) = image(&cpu);
        assert!(sd[..27].iter().all(|w| *w == 0));
        assert!(sm.iter().all(|b| !b));
        assert_eq!(sd[27], 0x0002);
    }
}
