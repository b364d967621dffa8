//! What a capture file's records may lie about — timestamps and lengths —
//! checked as [`super::file::FileSource`] reads, each finding a diagnostic.
//!
//! Repeating findings (time going backwards, fractions out of range, length
//! fields that disagree, packets without a timestamp) are said once with the
//! first packet concerned, then counted, and the total is said when the file
//! ends: one bad writer should not drown the analysis in copies of one
//! sentence, yet no occurrence goes uncounted. A record whose length cannot
//! be honoured at all is found by peeking at its header *before*
//! `pcap-parser` sees it, because the parser would otherwise wait for bytes
//! that never come and report a truncated file.

// Reads capture-file bytes: never indexed or unwrapped.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use crate::diag;
use crate::event::Timestamp;

use super::pcapng_opts::{self, Clock};

/// A single record larger than this is not a packet but a corrupt length.
pub const MAX_RECORD: u32 = 256 << 20;

/// pcapng block types (native values).
const SHB: u32 = 0x0A0D_0D0A;
const EPB: u32 = 6;
const SPB: u32 = 3;

/// One diagnostic to hand out.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub code: &'static str,
    pub detail: String,
    pub packet: Option<u64>,
    pub ts: Timestamp,
}

/// Counts of one repeating finding: said at the first, totalled at the end.
#[derive(Debug, Default)]
struct Tally {
    count: u64,
}

impl Tally {
    /// Counts one; true when it is the first (the one to describe).
    fn hit(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        self.count == 1
    }
}

/// The running checks of one capture file.
#[derive(Debug, Default)]
pub struct Checks {
    /// The last packet handed out: (index, timestamp).
    prev: Option<(u64, Timestamp)>,
    backwards: Tally,
    invalid_frac: Tally,
    untimed: Tally,
    over_origlen: Tally,
    over_snaplen: Tally,
    /// Findings to hand out before the packet they concern.
    pub notes: Vec<Note>,
}

impl Checks {
    /// The previous packet's time, the stand-in for a packet without one.
    pub fn prev_ts(&self) -> Option<Timestamp> {
        self.prev.map(|(_, ts)| ts)
    }

    /// Packet `index` is handed out with time `ts`: did time go backwards?
    /// The timestamp itself is kept (it is what the file says); only the
    /// step is reported.
    pub fn packet(&mut self, index: u64, ts: Timestamp) {
        if let Some((pi, pts)) = self.prev
            && ts < pts
            && self.backwards.hit()
        {
            self.notes.push(Note {
                code: diag::PCAP_TIME_BACKWARDS,
                detail: format!(
                    "packet {index}'s timestamp is {} s earlier than packet {pi}'s: the capture's clock went backwards \
                     (merged captures or a clock adjustment); timestamps are kept as recorded and a pong stamped before its \
                     ping gives no round-trip time. Later occurrences are counted; sort the file (e.g. `reordercap`) if \
                     capture order is not time order",
                    difference(pts, ts)
                ),
                packet: Some(index),
                ts,
            });
        }
        self.prev = Some((index, ts));
    }

    /// Legacy pcap: a fraction field not below one second (`limit` is
    /// 10^6 for µs files, 10^9 for ns files). It was carried into the
    /// seconds, as most readers do; said so.
    pub fn invalid_fraction(&mut self, index: u64, frac: u32, limit: u32, ts: Timestamp) {
        if self.invalid_frac.hit() {
            let unit = if limit == 1_000_000 {
                "microsecond"
            } else {
                "nanosecond"
            };
            self.notes.push(Note {
                code: diag::PCAP_TIMESTAMP_INVALID,
                detail: format!(
                    "packet {index}: the {unit} field is {frac}, not below {limit}; the excess was carried into the seconds \
                     (read as {}). The writer of this file is broken; later occurrences are counted",
                    ts.to_decimal()
                ),
                packet: Some(index),
                ts,
            });
        }
    }

    /// A Simple Packet Block (no timestamp) given `ts`, taken from `basis`.
    pub fn untimed(&mut self, index: u64, ts: Timestamp, basis: &str) {
        if self.untimed.hit() {
            self.notes.push(Note {
                code: diag::PCAP_NO_TIMESTAMP,
                detail: format!(
                    "packet {index} is a Simple Packet Block, which carries no timestamp: given {basis}. \
                     Later ones get the previous packet's time and are counted; times and RTTs around them are approximate"
                ),
                packet: Some(index),
                ts,
            });
        }
    }

    /// A record's length fields: `caplen` against `origlen` and the
    /// snapshot length (0 = none declared). The captured bytes are kept.
    pub fn lengths(&mut self, index: u64, caplen: u32, origlen: u32, snaplen: u32, ts: Timestamp) {
        if caplen > origlen && self.over_origlen.hit() {
            self.notes.push(Note {
                code: diag::PCAP_CAPLEN_OVER_ORIGLEN,
                detail: format!(
                    "packet {index}: {caplen} bytes captured but the original length says {origlen}; all captured bytes \
                     are used and the packet's length is taken to be {caplen}. Later occurrences are counted"
                ),
                packet: Some(index),
                ts,
            });
        }
        if snaplen != 0 && caplen > snaplen && self.over_snaplen.hit() {
            self.notes.push(Note {
                code: diag::PCAP_CAPLEN_OVER_SNAPLEN,
                detail: format!(
                    "packet {index}: {caplen} bytes captured, more than the snapshot length {snaplen} the file declares; \
                     all captured bytes are used. Later occurrences are counted"
                ),
                packet: Some(index),
                ts,
            });
        }
    }

    /// The totals of the repeating findings, when there was more than one.
    pub fn summary(&mut self) -> Vec<Note> {
        let ts = self.prev_ts().unwrap_or_default();
        let mut out = Vec::new();
        let mut total = |t: &Tally, code: &'static str, what: &str| {
            if t.count > 1 {
                out.push(Note {
                    code,
                    detail: format!("{} packets in total {what}", t.count),
                    packet: None,
                    ts,
                });
            }
        };
        total(
            &self.backwards,
            diag::PCAP_TIME_BACKWARDS,
            "had a timestamp earlier than the packet before",
        );
        total(
            &self.invalid_frac,
            diag::PCAP_TIMESTAMP_INVALID,
            "had a fraction-of-second field of one second or more",
        );
        total(
            &self.untimed,
            diag::PCAP_NO_TIMESTAMP,
            "were Simple Packet Blocks without a timestamp",
        );
        total(
            &self.over_origlen,
            diag::PCAP_CAPLEN_OVER_ORIGLEN,
            "had more bytes captured than their original length",
        );
        total(
            &self.over_snaplen,
            diag::PCAP_CAPLEN_OVER_SNAPLEN,
            "had more bytes captured than the snapshot length",
        );
        out
    }
}

/// `later - earlier`, exact, as `0.250000000`.
fn difference(later: Timestamp, earlier: Timestamp) -> String {
    let ns = |t: Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
    let d = ns(later) - ns(earlier);
    format!("{}.{:09}", d / 1_000_000_000, (d % 1_000_000_000).abs())
}

fn u32_at(data: &[u8], at: usize, big: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// What to do with the record at the head of the buffer.
#[derive(Debug, PartialEq)]
pub enum Peek {
    /// Let the parser read it.
    Read,
    /// Skip this many bytes (one whole block) and say why.
    Skip(usize, String),
    /// The file's structure is lost here: say why and stop.
    Stop(String),
}

/// Legacy pcap: the record header at the head of `data`. A caplen over
/// [`MAX_RECORD`] cannot be a packet, and pcap has no other length to find
/// the next record by, so reading stops (honestly, not as a "truncation").
/// `after` is the last packet handed out.
pub fn peek_legacy(data: &[u8], big: bool, after: u64) -> Peek {
    match u32_at(data, 8, big) {
        Some(caplen) if caplen > MAX_RECORD => Peek::Stop(format!(
            "the record after packet {after} claims {caplen} captured bytes (over {} MiB): not a real length. \
             pcap records carry no other length to find the next one by, so reading stopped here; \
             the packets before were analysed",
            MAX_RECORD >> 20
        )),
        _ => Peek::Read,
    }
}

/// Legacy pcap at the end of the input in the middle of a record: a
/// caplen over the snapshot length that also runs past the end of the file
/// is a lying length rather than a cut file. `Some(detail)` then.
pub fn legacy_cut_lies(data: &[u8], big: bool, hdr_len: usize, snaplen: u32, after: u64) -> Option<String> {
    let caplen = u32_at(data, 8, big)?;
    let left = data.len().saturating_sub(hdr_len);
    (snaplen != 0 && caplen > snaplen && usize::try_from(caplen).ok()? > left).then(|| {
        format!(
            "the record after packet {after} claims {caplen} captured bytes, more than the snapshot length {snaplen} \
             and more than the {left} bytes left in the file: its length is corrupt, not the file cut; stopped reading there"
        )
    })
}

/// pcapng: an Enhanced Packet Block at the head of `data` (already fully
/// buffered) whose caplen does not fit in the block. Its total length
/// says where the next block starts, so it is skipped, and reading goes on.
pub fn peek_ng(data: &[u8], big: bool, after: u64) -> Peek {
    // A block is at least its frame: type, length, trailing length. A
    // shorter total length cannot be skipped by (it is the only way to the
    // next block), and pcap-parser 0.17 subtracts 12 from it unchecked
    // (an overflow panic in debug builds: found by the pcap_file fuzz target).
    if let Some(len) = u32_at(data, 4, big)
        && len < 12
    {
        return Peek::Stop(format!(
            "the block after packet {after} claims a total length of {len} bytes, less than a block's own \
             12-byte frame: corrupt. pcapng has no other way to find the next block, so reading stopped here; \
             the packets before were analysed"
        ));
    }
    let (Some(ty), Some(len), Some(caplen)) =
        (u32_at(data, 0, big), u32_at(data, 4, big), u32_at(data, 20, big))
    else {
        return Peek::Read;
    };
    let Ok(total) = usize::try_from(len) else {
        return Peek::Read;
    };
    // Only a whole block with a consistent trailer is judged (and skippable);
    // anything else is for the parser (and its truncation or corruption errors).
    if ty != EPB
        || total < 32
        || total % 4 != 0
        || total > data.len()
        || u32_at(data, total - 4, big) != Some(len)
    {
        return Peek::Read;
    }
    let room = u64::from(len) - 32;
    if u64::from(caplen) <= room {
        return Peek::Read;
    }
    Peek::Skip(
        total,
        format!(
            "the packet block after packet {after} claims {caplen} captured bytes but holds at most {room}: \
             its length is corrupt; the block ({total} bytes) was skipped and reading went on at the next one"
        ),
    )
}

/// A Simple Packet Block at the head of `data` with no earlier packet to
/// borrow a time from: the time of the first Enhanced Packet Block after it
/// in the same section, as far as the buffer shows (`None` if none).
pub fn next_epb_time(data: &[u8], big: bool, clocks: &[Clock]) -> Option<Timestamp> {
    let mut at = 0usize;
    // Bounded by the buffer; a zero length would not advance and is refused.
    loop {
        let ty = u32_at(data, at, big)?;
        let len = usize::try_from(u32_at(data, at.checked_add(4)?, big)?).ok()?;
        if ty == SHB || len < 12 {
            return None;
        }
        if ty == EPB {
            let if_id = usize::try_from(u32_at(data, at.checked_add(8)?, big)?).ok()?;
            let hi = u32_at(data, at.checked_add(12)?, big)?;
            let lo = u32_at(data, at.checked_add(16)?, big)?;
            let clock = *clocks.get(if_id)?;
            return Some(pcapng_opts::timestamp(
                (u64::from(hi) << 32) | u64::from(lo),
                clock,
            ));
        }
        at = at.checked_add(len)?;
    }
}

/// Is the block at the head of `data` a Simple Packet Block?
pub fn is_spb(data: &[u8], big: bool) -> bool {
    u32_at(data, 0, big) == Some(SPB)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backwards_is_said_once_then_totalled() {
        let mut c = Checks::default();
        c.packet(1, Timestamp::new(10, 0));
        c.packet(2, Timestamp::new(9, 750_000_000));
        c.packet(3, Timestamp::new(11, 0));
        c.packet(4, Timestamp::new(10, 0));
        assert_eq!(c.notes.len(), 1);
        assert!(
            c.notes[0]
                .detail
                .contains("packet 2's timestamp is 0.250000000 s earlier than packet 1's")
        );
        let s = c.summary();
        assert_eq!(s.len(), 1);
        assert!(s[0].detail.starts_with("2 packets in total"), "{}", s[0].detail);
    }

    #[test]
    fn a_single_finding_has_no_summary() {
        let mut c = Checks::default();
        c.lengths(1, 60, 40, 0, Timestamp::default());
        assert_eq!(c.notes.len(), 1);
        assert_eq!(c.notes[0].code, diag::PCAP_CAPLEN_OVER_ORIGLEN);
        assert!(c.summary().is_empty());
    }

    #[test]
    fn difference_is_exact() {
        assert_eq!(
            difference(Timestamp::new(10, 100), Timestamp::new(9, 200)),
            "0.999999900"
        );
        assert_eq!(
            difference(Timestamp::new(12, 0), Timestamp::new(10, 0)),
            "2.000000000"
        );
    }

    #[test]
    fn epb_with_caplen_past_its_block_is_skipped() {
        let mut b = Vec::new();
        for x in [EPB, 36, 0, 0, 0, 0xFFFF_FFFF, 4, 0, 36] {
            b.extend(x.to_le_bytes());
        }
        assert!(matches!(peek_ng(&b, false, 3), Peek::Skip(36, _)));
        // Not all buffered yet: for the parser to ask for more.
        assert_eq!(peek_ng(&b[..32], false, 3), Peek::Read);
        // Big-endian section: the same block is not judged as little-endian.
        assert_eq!(peek_ng(&b, true, 3), Peek::Read);
        // A fitting caplen is fine.
        b[20] = 4;
        b[21..24].fill(0);
        assert_eq!(peek_ng(&b, false, 3), Peek::Read);
    }
}
