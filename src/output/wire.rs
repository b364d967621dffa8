//! `export --wire`: payload bytes as they crossed the wire. A frame's
//! payload is masked again with its key; a message's wire bytes are the
//! concatenated (still compressed) payloads of its data frames, which are
//! held per session and direction until the message arrives; the message
//! says which frames are its own (`first_frame_offset`, `frames`).

use crate::event::{ConnId, Dir, FrameEvent, SessionId};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Wire bytes held per direction for `--wire --messages` (the message cap).
pub const MAX_PENDING_WIRE: usize = 64 << 20;

/// A frame's payload as it crossed the wire: re-masked with its key.
pub fn wire_payload(f: &FrameEvent) -> Vec<u8> {
    let mut v = f.payload.clone();
    if let Some(key) = f.mask_key.filter(|_| f.masked) {
        // Masking is its own inverse.
        crate::ws::frame::unmask(&mut v, key, 0);
    }
    v
}

/// The wire payloads of data frames waiting for their message, per
/// session and direction.
#[derive(Debug, Default)]
pub struct PendingWire {
    queues: FxHashMap<(SessionId, Dir), Held>,
}

/// One direction's held frames (stream offset, wire payload), oldest
/// first, and their total size.
#[derive(Debug, Default)]
struct Held {
    frames: VecDeque<(u64, Vec<u8>)>,
    bytes: usize,
}

impl PendingWire {
    /// Holds a data frame's wire payload until its message arrives. A
    /// message that never ends must not pin memory: past
    /// [`MAX_PENDING_WIRE`] the frame is left out, and its message then has
    /// the wire bytes of fewer frames than it counts.
    pub fn push(&mut self, f: &FrameEvent) {
        let held = self.queues.entry((f.session, f.dir)).or_default();
        let bytes = held.bytes.saturating_add(f.payload.len());
        if bytes <= MAX_PENDING_WIRE {
            held.bytes = bytes;
            held.frames.push_back((f.offset, wire_payload(f)));
        }
    }

    /// The wire payloads of a message whose first frame starts at
    /// `first_offset` and that has `frames` data frames (fewer when some were
    /// left out). Held frames before it belonged to no finished message.
    pub fn take(&mut self, session: SessionId, dir: Dir, first_offset: u64, frames: u32) -> Vec<Vec<u8>> {
        let Some(held) = self.queues.get_mut(&(session, dir)) else {
            return Vec::new();
        };
        while held.frames.front().is_some_and(|(o, _)| *o < first_offset) {
            if let Some((_, b)) = held.frames.pop_front() {
                held.bytes = held.bytes.saturating_sub(b.len());
            }
        }
        let n = usize::try_from(frames)
            .unwrap_or(usize::MAX)
            .min(held.frames.len());
        let taken: Vec<Vec<u8>> = held.frames.drain(..n).map(|(_, b)| b).collect();
        held.bytes = held.bytes.saturating_sub(taken.iter().map(Vec::len).sum());
        taken
    }

    /// Drops what a closed connection's sessions still held.
    pub fn forget(&mut self, conn: ConnId) {
        self.queues.retain(|(s, _), _| s.conn != conn);
    }
}
