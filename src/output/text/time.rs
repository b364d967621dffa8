//! The time column of the text timeline, in tshark's `-t` formats.
//!
//! ```text
//! -t u   05:40:49.624127                  UTC time of day (the default, as always)
//! -t ud  2024-01-03 05:40:49.624127       UTC date and time
//! -t a   14:40:49.624127                  local time of day (TZ, else the system's zone)
//! -t ad  2024-01-03 14:40:49.624127       local date and time
//! -t r   0.005420                         seconds since the first packet
//! -t d   0.000460                         seconds since the previous line
//! -t e   1704260449.624127                seconds since the Unix epoch
//! ```
//!
//! Every format keeps microseconds, as the default always has (truncated,
//! never rounded up into the next second). The local zone is chrono's
//! [`chrono::Local`], which reads `TZ` (a zone name or a POSIX rule such as
//! `JST-9`) and the zone database itself — no libc call that refuses or
//! races once the program has threads.

use crate::model::Timestamp;
use chrono::{DateTime, Local, TimeZone, Utc};
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

/// How the time of a line is written (`-t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeFormat {
    /// Absolute time of day, in the local zone (TZ).
    #[value(name = "a")]
    Local,
    /// Absolute date and time, in the local zone (TZ).
    #[value(name = "ad")]
    LocalDate,
    /// Seconds since the first packet.
    #[value(name = "r")]
    Relative,
    /// Seconds since the previous line.
    #[value(name = "d")]
    Delta,
    /// Seconds since the Unix epoch.
    #[value(name = "e")]
    Epoch,
    /// Time of day in UTC (the default).
    #[default]
    #[value(name = "u")]
    Utc,
    /// Date and time in UTC.
    #[value(name = "ud")]
    UtcDate,
}

/// The time of the first packet, set once by whoever reads the packets
/// (the text sink only sees events, and a packet's events come out while
/// it is being analysed: the reference must be known before them).
pub type Origin = Arc<OnceLock<Timestamp>>;

/// Writes the time of each line; keeps what relative and delta times need.
#[derive(Debug, Default)]
pub struct Clock {
    format: TimeFormat,
    origin: Origin,
    /// The time of the previous line written (`-t d`).
    prev: Option<Timestamp>,
}

impl Clock {
    /// A clock in `format`, relative times counted from what `origin` holds
    /// once set (before that, a line is its own origin: `0.000000`).
    pub fn new(format: TimeFormat, origin: Origin) -> Self {
        Clock {
            format,
            origin,
            prev: None,
        }
    }

    /// Writes the time of a line stamped `ts` (no trailing space).
    pub fn write(&mut self, ts: Timestamp, out: &mut String) {
        match self.format {
            TimeFormat::Utc => {
                let _ = write!(out, "{ts}");
            }
            TimeFormat::UtcDate => match DateTime::<Utc>::from_timestamp(ts.secs, ts.nanos) {
                Some(t) => civil(&t, out),
                None => epoch(ts, out),
            },
            TimeFormat::Local | TimeFormat::LocalDate => {
                match Local.timestamp_opt(ts.secs, ts.nanos).single() {
                    Some(t) if self.format == TimeFormat::LocalDate => civil(&t, out),
                    Some(t) => {
                        let _ = write!(out, "{}.{:06}", t.format("%H:%M:%S"), ts.nanos / 1000);
                    }
                    None => epoch(ts, out),
                }
            }
            TimeFormat::Epoch => epoch(ts, out),
            TimeFormat::Relative => seconds(nanos_between(ts, *self.origin.get().unwrap_or(&ts)), out),
            TimeFormat::Delta => seconds(nanos_between(ts, self.prev.unwrap_or(ts)), out),
        }
        self.prev = Some(ts);
    }
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` in the zone of `t`.
fn civil<Tz: TimeZone>(t: &DateTime<Tz>, out: &mut String)
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::Timelike;
    let _ = write!(
        out,
        "{}.{:06}",
        t.format("%Y-%m-%d %H:%M:%S"),
        // A leap second shows as nanos past 10^9: keep within the second.
        (t.nanosecond() % 1_000_000_000) / 1000
    );
}

/// Seconds since the epoch with microseconds; also what a date outside
/// chrono's range (a lying timestamp, ±262 000 years) falls back to.
fn epoch(ts: Timestamp, out: &mut String) {
    let total = i128::from(ts.secs) * 1_000_000_000 + i128::from(ts.nanos);
    seconds(total, out);
}

/// `b - a` in nanoseconds (any two i64 timestamps: no overflow in i128).
fn nanos_between(b: Timestamp, a: Timestamp) -> i128 {
    (i128::from(b.secs) - i128::from(a.secs)) * 1_000_000_000 + (i128::from(b.nanos) - i128::from(a.nanos))
}

/// Nanoseconds as seconds with six decimals, truncated toward zero.
fn seconds(nanos: i128, out: &mut String) {
    let sign = if nanos < 0 { "-" } else { "" };
    let micros = nanos.unsigned_abs() / 1000;
    let _ = write!(out, "{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(c: &mut Clock, secs: i64, nanos: u32) -> String {
        let mut s = String::new();
        c.write(Timestamp::new(secs, nanos), &mut s);
        s
    }

    #[test]
    fn utc_is_the_timestamps_own_rendering() {
        let mut c = Clock::default();
        let ts = Timestamp::new(1_704_260_449, 624_127_999);
        assert_eq!(line(&mut c, ts.secs, ts.nanos), ts.to_string());
        assert_eq!(line(&mut c, ts.secs, ts.nanos), "05:40:49.624127");
    }

    #[test]
    fn utc_date_and_epoch() {
        let mut c = Clock::new(TimeFormat::UtcDate, Origin::default());
        assert_eq!(
            line(&mut c, 1_704_260_449, 624_127_999),
            "2024-01-03 05:40:49.624127"
        );
        let mut c = Clock::new(TimeFormat::Epoch, Origin::default());
        assert_eq!(line(&mut c, 1_704_260_449, 624_127_999), "1704260449.624127");
        assert_eq!(line(&mut c, -2, 500_000_000), "-1.500000");
    }

    #[test]
    fn relative_counts_from_the_origin_once_set() {
        let origin = Origin::default();
        let mut c = Clock::new(TimeFormat::Relative, origin.clone());
        // No packet yet: a line is its own origin.
        assert_eq!(line(&mut c, 100, 0), "0.000000");
        origin.set(Timestamp::new(100, 250_000)).unwrap();
        assert_eq!(line(&mut c, 101, 0), "0.999750");
        assert_eq!(line(&mut c, 100, 0), "-0.000250");
    }

    #[test]
    fn delta_counts_from_the_previous_line() {
        let mut c = Clock::new(TimeFormat::Delta, Origin::default());
        assert_eq!(line(&mut c, 100, 0), "0.000000");
        assert_eq!(line(&mut c, 102, 500_000_000), "2.500000");
        assert_eq!(line(&mut c, 102, 400_000_000), "-0.100000");
    }

    #[test]
    fn lying_timestamps_do_not_panic() {
        for f in [
            TimeFormat::Local,
            TimeFormat::LocalDate,
            TimeFormat::UtcDate,
            TimeFormat::Relative,
        ] {
            let mut c = Clock::new(f, Origin::default());
            let _ = line(&mut c, i64::MIN, 999_999_999);
            let s = line(&mut c, i64::MAX, 999_999_999);
            assert!(!s.is_empty());
        }
        let mut c = Clock::new(TimeFormat::UtcDate, Origin::default());
        assert_eq!(line(&mut c, i64::MAX, 0), "9223372036854775807.000000");
    }
}
