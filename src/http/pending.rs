//! The client bytes an upgrade request holds back until its answer decides
//! what they are (frames after a `101`, more requests otherwise): bounded,
//! and once bytes were dropped nothing later is appended, so what is held
//! is always contiguous.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::RequestHead;
use crate::model::Stamp;

/// Client bytes held after an upgrade request until the answer is seen.
pub(super) const MAX_HELD: usize = 1 << 20;

/// An upgrade request waiting for its answer.
#[derive(Debug)]
pub(super) struct PendingUpgrade {
    pub at: Stamp,
    pub head: RequestHead,
    /// Client bytes after the request, with the stamps of their chunks.
    pub held: Vec<(Stamp, Vec<u8>)>,
    pub held_len: usize,
    pub dropped: u64,
    /// Some of `dropped` is a capture gap (not only the hold buffer's cap).
    pub gap: bool,
}

/// Holds `bytes` (client bytes after the upgrade request) up to [`MAX_HELD`].
pub(super) fn hold(up: &mut PendingUpgrade, at: Stamp, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let room = MAX_HELD.saturating_sub(up.held_len);
    let keep = room.min(bytes.len());
    if up.dropped == 0 && keep > 0 {
        up.held.push((at, bytes.get(..keep).unwrap_or_default().to_vec()));
        up.held_len = up.held_len.saturating_add(keep);
    }
    // Once bytes were dropped, later ones cannot be appended contiguously.
    let lost = if up.dropped == 0 {
        bytes.len().saturating_sub(keep)
    } else {
        bytes.len()
    };
    up.dropped = up.dropped.saturating_add(lost as u64);
}
