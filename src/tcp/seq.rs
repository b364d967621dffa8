//! Sequence-number arithmetic (RFC 1982 serial numbers, 32 bits).
//!
//! Streams are tracked with 64-bit offsets from their first byte; a 32-bit
//! sequence number is placed on that line by its signed distance to a known
//! point, which makes wrap-around (2^32 → 0) a non-event.

/// Signed distance from `b` to `a` in sequence space (`a - b`).
pub fn diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// The 64-bit stream offset of `seq`, given that `anchor_seq` is at `anchor_off`.
/// `None` when it would fall before the start of the stream.
pub fn offset_of(seq: u32, anchor_seq: u32, anchor_off: u64) -> Option<u64> {
    let off = i128::from(anchor_off) + i128::from(diff(seq, anchor_seq));
    u64::try_from(off).ok()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        assert_eq!(diff(5, u32::MAX - 4), 10);
        assert_eq!(diff(u32::MAX - 4, 5), -10);
        assert_eq!(offset_of(3, u32::MAX, 100), Some(104));
        assert_eq!(offset_of(u32::MAX, 3, 100), Some(96));
        assert_eq!(offset_of(0, 10, 5), None);
    }
}
