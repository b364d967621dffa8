//! pcapng interface time options (`if_tsresol`, `if_tsoffset`), read from
//! the raw IDB options rather than through `pcap-parser`'s helpers.
//!
//! Why our own: pcap-parser 0.17's `build_ts_resolution` tests
//! `ts_resol > 63` *before* masking the power-of-two bit (0x80), so every
//! binary resolution (2^-n) comes back `None`, and a caller's default turns
//! 2^-30 into microseconds (year 59 800) without a word. Its
//! `if_extract_tsoffset_and_tsresol` also reads `if_tsoffset` little-endian
//! in big-endian sections, and takes the last of repeated options while its
//! getters take the first. Here both forms of `if_tsresol` are honoured
//! exactly, the offset follows the section's byte order, and anything we
//! cannot honour is said (the caller turns each note into a diagnostic).

// Reads capture-file bytes: never indexed or unwrapped.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use crate::event::Timestamp;
use pcap_parser::PcapNGOption;

/// pcapng option codes in an IDB (RFC draft-ietf-opsawg-pcapng §4.2).
const OPT_END: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// The pcapng default when `if_tsresol` is absent: microseconds.
pub const DEFAULT_UNITS: u64 = 1_000_000;

/// An interface's clock: ticks per second and whole seconds added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Timestamp ticks per second (10^n or 2^n, at most what fits a u64).
    pub units: u64,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub offset: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            units: DEFAULT_UNITS,
            offset: 0,
        }
    }
}

/// Ticks per second for an `if_tsresol` byte: 10^n when the top bit is
/// clear, 2^n when it is set; `None` when that does not fit a u64 (10^20
/// and finer, 2^64 and finer) — then every possible 64-bit timestamp would
/// fall within the first second of 1970, which no real capture means.
pub fn resolution_units(v: u8) -> Option<u64> {
    let n = u32::from(v & 0x7f);
    if v & 0x80 != 0 {
        1u64.checked_shl(n).filter(|_| n < 64)
    } else {
        10u64.checked_pow(n)
    }
}

/// `10^-9 s` or `2^-30 s`, as the user would read the option.
pub fn resolution_text(v: u8) -> String {
    let n = v & 0x7f;
    if v & 0x80 != 0 {
        format!("2^-{n} s (if_tsresol 0x{v:02x})")
    } else {
        format!("10^-{n} s (if_tsresol {v})")
    }
}

/// Reads an IDB's time options. `big` is the section's byte order. Returns
/// the clock to use and, for each option that could not be honoured, a
/// sentence saying what it held and what was done instead.
pub fn interface_clock(options: &[PcapNGOption<'_>], big: bool) -> (Clock, Vec<String>) {
    let mut clock = Clock::default();
    let mut notes = Vec::new();
    let (mut seen_resol, mut seen_offset) = (false, false);
    for opt in options {
        let code = opt.code.0;
        if code == OPT_END {
            // Anything after opt_endofopt is padding or garbage, not options.
            break;
        }
        let bytes = opt.as_bytes().ok();
        match code {
            IF_TSRESOL if seen_resol => {
                notes.push("a second if_tsresol option was ignored; the first one is used".to_string())
            }
            IF_TSRESOL => {
                seen_resol = true;
                match bytes {
                    Some(&[v]) => match resolution_units(v) {
                        Some(units) => clock.units = units,
                        None => notes.push(format!(
                            "timestamp resolution {} is finer than 2^-63 s: every timestamp would fall in the first second of 1970; read as microseconds (the pcapng default) instead",
                            resolution_text(v)
                        )),
                    },
                    _ => notes.push(format!(
                        "if_tsresol option of {} bytes (it must be 1); ignored, timestamps read as microseconds (the pcapng default)",
                        opt.len
                    )),
                }
            }
            IF_TSOFFSET if seen_offset => {
                notes.push("a second if_tsoffset option was ignored; the first one is used".to_string())
            }
            IF_TSOFFSET => {
                seen_offset = true;
                match bytes.and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    Some(b) => {
                        clock.offset = if big {
                            i64::from_be_bytes(b)
                        } else {
                            i64::from_le_bytes(b)
                        }
                    }
                    None => notes.push(format!(
                        "if_tsoffset option of {} bytes (it must be 8); ignored, no offset added",
                        opt.len
                    )),
                }
            }
            _ => {}
        }
    }
    (clock, notes)
}

/// A pcapng timestamp: `ticks` of `1/units` s, plus `offset` seconds.
/// Exact: whole seconds by integer division, the fraction scaled to
/// nanoseconds in 128 bits and rounded down (never a float, which would
/// lose nanoseconds at today's epoch).
pub fn timestamp(ticks: u64, clock: Clock) -> Timestamp {
    let units = clock.units.max(1);
    let secs = ticks / units;
    let frac = ticks % units;
    // frac < units, so frac * 1e9 / units < 1e9: fits u32.
    let nanos = u32::try_from(u128::from(frac) * 1_000_000_000 / u128::from(units)).unwrap_or(999_999_999);
    // With 1 tick per second, ticks can exceed i64::MAX: saturate, do not wrap.
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    Timestamp::new(secs.saturating_add(clock.offset), nanos)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use pcap_parser::OptionCode;
    use std::borrow::Cow;

    fn opt(code: u16, value: &[u8]) -> PcapNGOption<'_> {
        PcapNGOption {
            code: OptionCode(code),
            len: value.len() as u16,
            value: Cow::Borrowed(value),
        }
    }

    #[test]
    fn decimal_and_binary_resolutions() {
        assert_eq!(resolution_units(6), Some(1_000_000));
        assert_eq!(resolution_units(9), Some(1_000_000_000));
        assert_eq!(resolution_units(0), Some(1));
        assert_eq!(resolution_units(19), Some(10_000_000_000_000_000_000));
        assert_eq!(resolution_units(20), None);
        assert_eq!(resolution_units(0x80), Some(1));
        assert_eq!(resolution_units(0x80 | 10), Some(1024));
        assert_eq!(resolution_units(0x80 | 30), Some(1 << 30));
        assert_eq!(resolution_units(0x80 | 63), Some(1 << 63));
        assert_eq!(resolution_units(0x80 | 64), None);
        assert_eq!(resolution_units(0x80 | 70), None);
        assert_eq!(resolution_units(0xff), None);
    }

    #[test]
    fn binary_ticks_convert_exactly() {
        let c = |units| Clock { units, offset: 0 };
        // 2^-30: 1_700_000_000.75 s.
        let t = (1_700_000_000u64 << 30) + (3 << 28);
        assert_eq!(
            timestamp(t, c(1 << 30)),
            Timestamp::new(1_700_000_000, 750_000_000)
        );
        // One tick of 2^-10 s is 976 562.5 ns: rounded down.
        assert_eq!(timestamp((5 << 10) + 1, c(1 << 10)), Timestamp::new(5, 976_562));
        // The largest fraction at 2^-63 stays below one second.
        let t = timestamp(u64::MAX, c(1 << 63));
        assert_eq!(t, Timestamp::new(1, 999_999_999));
        // 10^-9 and 10^-3.
        assert_eq!(
            timestamp(1_700_000_000_123_456_789, c(1_000_000_000)),
            Timestamp::new(1_700_000_000, 123_456_789)
        );
        assert_eq!(
            timestamp(1_700_000_000_123, c(1000)),
            Timestamp::new(1_700_000_000, 123_000_000)
        );
        // One tick per second, u64::MAX ticks: saturates instead of wrapping negative.
        assert_eq!(timestamp(u64::MAX, c(1)).secs, i64::MAX);
    }

    #[test]
    fn offset_is_added_and_saturates() {
        let clock = Clock {
            units: 1_000_000,
            offset: -3600,
        };
        assert_eq!(timestamp(7_200_000_001, clock), Timestamp::new(3600, 1000));
        let clock = Clock {
            units: 1,
            offset: i64::MAX,
        };
        assert_eq!(timestamp(10, clock).secs, i64::MAX);
    }

    #[test]
    fn options_are_read_in_the_sections_byte_order() {
        let off = 1000i64;
        let le = off.to_le_bytes();
        let be = off.to_be_bytes();
        let (c, notes) = interface_clock(&[opt(IF_TSRESOL, &[0x80 | 20]), opt(IF_TSOFFSET, &le)], false);
        assert_eq!(
            c,
            Clock {
                units: 1 << 20,
                offset: 1000
            }
        );
        assert!(notes.is_empty());
        let (c, _) = interface_clock(&[opt(IF_TSOFFSET, &be)], true);
        assert_eq!(
            c,
            Clock {
                units: 1_000_000,
                offset: 1000
            }
        );
    }

    #[test]
    fn options_we_cannot_honour_are_said() {
        let (c, notes) = interface_clock(&[opt(IF_TSRESOL, &[20])], false);
        assert_eq!(c, Clock::default());
        assert!(
            notes[0].contains("10^-20") && notes[0].contains("microseconds"),
            "{notes:?}"
        );
        let (c, notes) = interface_clock(&[opt(IF_TSRESOL, &[0x80 | 70])], false);
        assert_eq!(c, Clock::default());
        assert!(notes[0].contains("2^-70"), "{notes:?}");
        let (c, notes) = interface_clock(
            &[opt(IF_TSRESOL, &[9, 9]), opt(IF_TSOFFSET, &[1, 2, 3, 4])],
            false,
        );
        assert_eq!(c, Clock::default());
        assert_eq!(notes.len(), 2);
        assert!(
            notes[0].contains("2 bytes") && notes[1].contains("4 bytes"),
            "{notes:?}"
        );
        // Repeats: the first wins and the second is reported.
        let (c, notes) = interface_clock(&[opt(IF_TSRESOL, &[9]), opt(IF_TSRESOL, &[3])], false);
        assert_eq!(c.units, 1_000_000_000);
        assert_eq!(notes.len(), 1);
        // Options after opt_endofopt are not options.
        let (c, notes) = interface_clock(&[opt(OPT_END, &[]), opt(IF_TSRESOL, &[9])], false);
        assert_eq!(c, Clock::default());
        assert!(notes.is_empty());
    }
}
