//! The two JSON pieces the HAR writer needs beyond numbers: strings
//! escaped for a terminal, and ISO 8601 times.

use crate::event::Timestamp;
use std::io::Write;

/// `s` as a JSON string. Besides what JSON requires (`"`, `\`, C0), the
/// characters that must not reach a terminal raw (DEL, C1, bidi overrides;
/// [`crate::output::text::is_unsafe_char`]) are escaped as `\uXXXX`: the
/// same string for any JSON reader, and a HAR printed to a terminal is safe.
pub fn str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut utf16 = [0u16; 2];
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if crate::output::text::is_unsafe_char(c) => {
                for unit in c.encode_utf16(&mut utf16).iter() {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// `2026-11-29T20:34:46.123456+00:00`: UTC, microseconds, an explicit
/// offset (HAR's `startedDateTime`).
pub fn iso_8601(t: Timestamp) -> String {
    let days = t.secs.div_euclid(86_400);
    let secs = t.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        t.nanos / 1000
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era.saturating_mul(400) + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso_8601(Timestamp::new(0, 0)), "1970-01-01T00:00:00.000000+00:00");
        // date -u -d @1700000000 → Tue Nov 14 22:13:20 UTC 2023
        assert_eq!(
            iso_8601(Timestamp::new(1_700_000_000, 123_456_789)),
            "2023-11-14T22:13:20.123456+00:00"
        );
        // A leap day, and before the epoch.
        assert_eq!(
            iso_8601(Timestamp::new(951_782_400, 0)),
            "2000-02-29T00:00:00.000000+00:00"
        );
        assert_eq!(
            iso_8601(Timestamp::new(-1, 0)),
            "1969-12-31T23:59:59.000000+00:00"
        );
    }

    #[test]
    fn strings_are_valid_json_and_terminal_safe() {
        let mut out = Vec::new();
        str(&mut out, "a\"b\\c\n\u{1b}[31m\u{202e}é🙂");
        let text = String::from_utf8(out).unwrap_or_default();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
        let back: String = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, "a\"b\\c\n\u{1b}[31m\u{202e}é🙂");
    }
}
