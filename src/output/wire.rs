//! `export --wire`: payload bytes as they crossed the wire. A frame's
//! payload is masked again with its key; a message's wire bytes are the
//! concatenated (still compressed) payloads of its data frames, which are
//! held per direction until the message arrives.

use crate::event::{ConnId, Dir, FrameEvent};
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
/// connection and direction.
#[derive(Debug, Default)]
pub struct PendingWire {
    queues: FxHashMap<(ConnId, Dir), Held>,
}

/// One direction's held frames, oldest first, and their total size.
#[derive(Debug, Default)]
struct Held {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl PendingWire {
    /// Holds a data frame's wire payload until its message arrives. A
    /// message that never ends must not pin memory: past
    /// [`MAX_PENDING_WIRE`] the frame is left out, and its message then has
    /// the wire bytes of fewer frames than it counts.
    pub fn push(&mut self, f: &FrameEvent) {
        let held = self.queues.entry((f.conn, f.dir)).or_default();
        let bytes = held.bytes.saturating_add(f.payload.len());
        if bytes <= MAX_PENDING_WIRE {
            held.bytes = bytes;
            held.frames.push_back(wire_payload(f));
        }
    }

    /// The wire payloads of a message of `frames` frames: the oldest held
    /// ones of its direction (fewer when some were left out).
    pub fn take(&mut self, conn: ConnId, dir: Dir, frames: u32) -> Vec<Vec<u8>> {
        let Some(held) = self.queues.get_mut(&(conn, dir)) else {
            return Vec::new();
        };
        let n = usize::try_from(frames)
            .unwrap_or(usize::MAX)
            .min(held.frames.len());
        let taken: Vec<Vec<u8>> = held.frames.drain(..n).collect();
        held.bytes = held.bytes.saturating_sub(taken.iter().map(Vec::len).sum());
        taken
    }

    /// Drops what a closed connection still held.
    pub fn forget(&mut self, conn: ConnId) {
        for d in Dir::BOTH {
            self.queues.remove(&(conn, d));
        }
    }
}
