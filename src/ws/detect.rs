//! Headerless WebSocket: deciding whether a direction whose first bytes
//! are not HTTP carries frames (capture started after the handshake, or
//! `--ws-port`).
//!
//! A run of plausible frames, masked as the direction requires, is needed:
//! two frames, or one that ends exactly where the captured bytes end. When
//! the stream's start was not captured (no SYN), the first bytes may be the
//! tail of a frame that began before the capture; then a later run of three
//! frames (or two ending exactly at the end) counts, and the decoder
//! resynchronises to it.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::decoder::{Expect, RunVerdict, check_run};
use crate::model::Dir;

/// Bytes buffered while deciding whether a direction carries frames.
pub const MAX_DETECT: usize = 256 * 1024;
/// New bytes needed before the mid-frame scan is redone.
const MIDFRAME_RESCAN: usize = 4096;
/// Bytes scanned for a later run of frames when a mid-stream capture starts
/// inside a frame.
const MAX_MIDFRAME_SCAN: usize = 64 * 1024;

/// What frames of `dir` look like, for detection (RSV1 allowed: deflate may
/// have been negotiated before the capture).
pub fn expect_for(dir: Dir) -> Expect {
    Expect {
        masked: dir == Dir::C2S,
        rsv1: true,
    }
}

/// The verdict on one direction's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// Frames; `mid_frame`: after the tail of a frame that began before the capture.
    Frames {
        mid_frame: bool,
    },
    NotFrames,
}

/// One direction's not-yet-HTTP bytes, being tested for frames.
#[derive(Debug, Default)]
pub struct Detector {
    buf: Vec<u8>,
    /// Length of `buf` when it was last scanned for a mid-frame start.
    scanned: usize,
}

impl Detector {
    pub fn new(buf: Vec<u8>) -> Self {
        Detector { buf, scanned: 0 }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes before a gap were not conclusive: start over after it.
    pub fn restart(&mut self) {
        self.buf.clear();
    }

    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Decides if it can. `force`: `--ws-port` (frames whatever the bytes);
    /// `midstream`: the stream's start was not captured; `last`: no more
    /// bytes will come.
    pub fn decide(&mut self, dir: Dir, force: bool, midstream: bool, last: bool) -> Option<Detection> {
        let buf = &self.buf;
        let expect = expect_for(dir);
        let verdict = check_run(buf, expect);
        let at_limit = last || buf.len() >= MAX_DETECT;
        if force {
            let mid_frame = midstream && matches!(verdict, RunVerdict::Reject);
            return Some(Detection::Frames { mid_frame });
        }
        if midstream && matches!(verdict, RunVerdict::Reject) {
            // Scanning every offset is costly: redo it only once 4 KiB more
            // has arrived since the last scan (or at the end / the cap).
            if !at_limit && buf.len() < self.scanned.saturating_add(MIDFRAME_RESCAN) {
                return None;
            }
            self.scanned = buf.len();
            return match run_after_start(buf, expect) {
                Some(_) => Some(Detection::Frames { mid_frame: true }),
                None if !at_limit => None,
                None => Some(Detection::NotFrames),
            };
        }
        match verdict {
            RunVerdict::Accept { frames, exact } if frames >= 2 || exact => {
                Some(Detection::Frames { mid_frame: false })
            }
            RunVerdict::Accept { .. } if at_limit => Some(Detection::Frames { mid_frame: false }),
            RunVerdict::NeedMore if at_limit => Some(Detection::NotFrames),
            RunVerdict::Accept { .. } | RunVerdict::NeedMore => None,
            RunVerdict::Reject => Some(Detection::NotFrames),
        }
    }
}

/// Do the first bytes of `dir` fail to start with a frame (so that, picked
/// up mid-stream, they may begin inside one)?
pub fn starts_off_frame(buf: &[u8], dir: Dir) -> bool {
    matches!(check_run(buf, expect_for(dir)), RunVerdict::Reject)
}

/// The first offset after 0 where a convincing run of frames starts: three
/// frames, or two that end exactly at the end of what was captured. (One
/// plausible header alone is too easy to find in arbitrary bytes.)
fn run_after_start(buf: &[u8], expect: Expect) -> Option<usize> {
    (1..buf.len().min(MAX_MIDFRAME_SCAN)).find(|&k| {
        matches!(
            check_run(buf.get(k..).unwrap_or_default(), expect),
            RunVerdict::Accept { frames, exact } if frames >= 3 || (exact && frames >= 2)
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ws::frame::encode_frame;

    #[test]
    fn two_server_frames_are_frames_garbage_is_not() {
        let mut b = encode_frame(true, 0, 1, None, b"hi");
        b.extend(encode_frame(true, 0, 2, None, b"there"));
        assert_eq!(
            Detector::new(b).decide(Dir::S2C, false, false, false),
            Some(Detection::Frames { mid_frame: false })
        );
        // Unmasked frames from a client are not what a client sends.
        let mut b = encode_frame(true, 0, 1, None, b"hi");
        b.extend(encode_frame(true, 0, 2, None, b"there"));
        assert_eq!(
            Detector::new(b).decide(Dir::C2S, false, false, false),
            Some(Detection::NotFrames)
        );
    }

    #[test]
    fn mid_stream_tail_of_a_frame_then_a_run() {
        let mut b = vec![0x55u8; 300];
        for _ in 0..3 {
            b.extend(encode_frame(true, 0, 1, None, b"tick"));
        }
        let mut d = Detector::new(b);
        assert_eq!(d.decide(Dir::S2C, false, false, true), Some(Detection::NotFrames));
        assert_eq!(
            d.decide(Dir::S2C, false, true, true),
            Some(Detection::Frames { mid_frame: true })
        );
    }

    #[test]
    fn forced_is_frames_whatever_the_bytes() {
        let mut d = Detector::new(b"\x55\x55".to_vec());
        assert_eq!(
            d.decide(Dir::S2C, true, true, false),
            Some(Detection::Frames { mid_frame: true })
        );
    }
}
