//! Message assembly (RFC 6455 §5.4) and incremental UTF-8 validation.
//!
//! [`Assembler`] joins a data frame and its continuations into one message;
//! control frames never reach it (they may be interleaved freely). Messages
//! are capped at `max_message_bytes` (then marked truncated). [`Utf8Check`]
//! validates a growing buffer with `simdutf8::compat`, carrying an incomplete
//! code point at a fragment boundary over to the next fragment.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::rules;
use crate::model::PacketSpan;

/// Incremental UTF-8 validation of a buffer that only grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utf8Check {
    /// `data[..valid]` is known valid.
    valid: usize,
    /// Offset of the first invalid sequence, once found.
    invalid_at: Option<usize>,
}

/// Outcome of [`Utf8Check::verdict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf8Verdict {
    Valid,
    /// An invalid sequence at this offset.
    Invalid(usize),
    /// Valid, but ends in the middle of a code point at this offset.
    IncompleteTail(usize),
}

impl Utf8Check {
    /// Validate what was appended to `data` since the last call.
    pub fn update(&mut self, data: &[u8]) {
        if self.invalid_at.is_some() {
            return;
        }
        let Some(new) = data.get(self.valid..) else { return };
        match simdutf8::compat::from_utf8(new) {
            Ok(_) => self.valid = data.len(),
            Err(e) => {
                let at = self.valid.saturating_add(e.valid_up_to());
                if e.error_len().is_some() {
                    self.invalid_at = Some(at);
                } else {
                    // Incomplete code point at the end: re-checked with the next fragment.
                    self.valid = at;
                }
            }
        }
    }

    pub fn verdict(&self, data: &[u8]) -> Utf8Verdict {
        match self.invalid_at {
            Some(at) => Utf8Verdict::Invalid(at),
            None if self.valid < data.len() => Utf8Verdict::IncompleteTail(self.valid),
            None => Utf8Verdict::Valid,
        }
    }
}

/// Validate a complete buffer at once.
pub fn utf8_verdict(data: &[u8]) -> Utf8Verdict {
    let mut c = Utf8Check::default();
    c.update(data);
    c.verdict(data)
}

/// A message being assembled or just completed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assembled {
    /// Opcode of the first frame (0 if its first frame was not captured).
    pub opcode: u8,
    pub frames: u32,
    /// RSV1 on the first frame.
    pub rsv1: bool,
    /// Payload bytes as on the wire (unmasked, not inflated), up to the cap.
    pub data: Vec<u8>,
    pub wire_len: u64,
    /// Part of the message is missing (gap, frame truncation, cap, start not captured).
    pub truncated: bool,
    /// Bytes dropped because of `max_message_bytes`.
    pub capped: u64,
    /// UTF-8 state of `data` (meaningful for uncompressed text).
    pub utf8: Utf8Check,
    /// Stream offset of its first captured frame.
    pub first_offset: u64,
    /// Packets that carried its frames.
    pub packets: Option<PacketSpan>,
}

/// A data frame as the assembler needs it.
#[derive(Clone, Debug)]
pub struct DataFrame<'a> {
    pub opcode: u8,
    pub fin: bool,
    /// RSV1 with permessage-deflate on: the message is compressed.
    pub rsv1: bool,
    /// The payload as captured (unmasked): borrowed from the frame, or
    /// given to the message when the frame event keeps none (then a
    /// message of one frame takes it without a copy).
    pub payload: std::borrow::Cow<'a, [u8]>,
    pub declared_len: u64,
    pub truncated: bool,
    /// Where the frame starts in the stream, and the packets that carried it.
    pub offset: u64,
    pub packets: PacketSpan,
}

/// One direction's message assembler.
#[derive(Debug)]
pub struct Assembler {
    max_message_bytes: usize,
    cur: Option<Assembled>,
    /// Frames were lost (gap, capture started mid-stream): a continuation with
    /// no message in progress is expected, not a violation.
    lost_sync: bool,
}

impl Assembler {
    pub fn new(max_message_bytes: usize, lost_sync: bool) -> Self {
        Assembler {
            max_message_bytes,
            cur: None,
            lost_sync,
        }
    }

    /// Heap bytes held by the message in progress.
    pub fn heap_bytes(&self) -> usize {
        self.cur.as_ref().map_or(0, |m| m.data.capacity())
    }

    /// Is a fragmented message in progress?
    pub fn in_message(&self) -> bool {
        self.cur.is_some()
    }

    /// A data frame (opcode not control). Completed messages are pushed to
    /// `done`, rule breaches to `viol`.
    pub fn on_data_frame(
        &mut self,
        f: DataFrame<'_>,
        viol: &mut Vec<(&'static str, String)>,
        done: &mut Vec<Assembled>,
    ) {
        let DataFrame {
            opcode,
            fin,
            rsv1,
            payload,
            declared_len,
            truncated: frame_truncated,
            offset,
            packets,
        } = f;
        if opcode == 0 {
            if self.cur.is_none() {
                if !self.lost_sync {
                    viol.push((
                        rules::CONTINUATION_WITHOUT_MESSAGE,
                        "continuation frame with no fragmented message in progress".into(),
                    ));
                }
                // Keep the bytes as a message whose start is unknown.
                self.cur = Some(Assembled {
                    opcode: 0,
                    truncated: self.lost_sync,
                    first_offset: offset,
                    ..Default::default()
                });
            }
        } else {
            if let Some(mut prev) = self.cur.take() {
                viol.push((
                    rules::DATA_FRAME_INSIDE_MESSAGE,
                    format!(
                        "new data frame (opcode 0x{opcode:x}) while a fragmented message of {} frames was unfinished",
                        prev.frames
                    ),
                ));
                prev.truncated = true;
                done.push(prev);
            }
            self.lost_sync = false;
            self.cur = Some(Assembled {
                opcode,
                rsv1,
                first_offset: offset,
                ..Default::default()
            });
        }
        let Some(m) = self.cur.as_mut() else { return };
        m.frames = m.frames.saturating_add(1);
        m.packets = Some(PacketSpan::join(m.packets, packets));
        m.wire_len = m.wire_len.saturating_add(declared_len);
        m.truncated |= frame_truncated;
        let room = self.max_message_bytes.saturating_sub(m.data.len());
        let keep = room.min(payload.len());
        let all = payload.len();
        match payload {
            std::borrow::Cow::Owned(v) if m.data.is_empty() && keep == all => m.data = v,
            p => m.data.extend_from_slice(p.get(..keep).unwrap_or_default()),
        }
        if keep < all {
            m.truncated = true;
            m.capped = m.capped.saturating_add(all.saturating_sub(keep) as u64);
        }
        if !m.rsv1 {
            m.utf8.update(&m.data);
        }
        if fin {
            if let Some(m) = self.cur.take() {
                done.push(m);
            }
        }
    }

    /// Frames were lost: flush a message in progress as truncated.
    pub fn on_gap(&mut self, done: &mut Vec<Assembled>) {
        if let Some(mut m) = self.cur.take() {
            m.truncated = true;
            done.push(m);
        }
        self.lost_sync = true;
    }

    /// End of stream: flush a message in progress as truncated.
    pub fn finish(&mut self, done: &mut Vec<Assembled>) {
        if let Some(mut m) = self.cur.take() {
            m.truncated = true;
            done.push(m);
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    fn df(opcode: u8, fin: bool, payload: &[u8]) -> DataFrame<'_> {
        DataFrame {
            opcode,
            fin,
            rsv1: false,
            payload: payload.into(),
            declared_len: payload.len() as u64,
            truncated: false,
            offset: 0,
            packets: PacketSpan::one(1),
        }
    }

    #[test]
    fn utf8_across_fragments() {
        let s = "héllo wörld €𝄞".as_bytes();
        for cut in 0..s.len() {
            let mut c = Utf8Check::default();
            c.update(&s[..cut]);
            c.update(s);
            assert_eq!(c.verdict(s), Utf8Verdict::Valid, "cut {cut}");
        }
        let mut c = Utf8Check::default();
        c.update(&s[..2]); // "h" + first byte of "é"
        assert_eq!(c.verdict(&s[..2]), Utf8Verdict::IncompleteTail(1));
        assert_eq!(utf8_verdict(b"ab\xffcd"), Utf8Verdict::Invalid(2));
        assert_eq!(utf8_verdict(b"\xed\xa0\x80"), Utf8Verdict::Invalid(0)); // surrogate
    }

    #[test]
    fn fragments_and_violations() {
        let mut a = Assembler::new(1 << 20, false);
        let (mut v, mut d) = (Vec::new(), Vec::new());
        a.on_data_frame(df(1, false, b"Hel"), &mut v, &mut d);
        assert!(a.in_message());
        a.on_data_frame(df(0, true, b"lo"), &mut v, &mut d);
        assert!(v.is_empty());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].data, b"Hello");
        assert_eq!(d[0].frames, 2);
        assert_eq!(d[0].utf8.verdict(&d[0].data), Utf8Verdict::Valid);

        a.on_data_frame(df(0, true, b"x"), &mut v, &mut d);
        assert_eq!(v[0].0, rules::CONTINUATION_WITHOUT_MESSAGE);
        a.on_data_frame(df(2, false, b"a"), &mut v, &mut d);
        a.on_data_frame(df(2, true, b"b"), &mut v, &mut d);
        assert_eq!(v[1].0, rules::DATA_FRAME_INSIDE_MESSAGE);
        assert_eq!(d.len(), 4);
        assert!(d[2].truncated);
        assert_eq!(d[3].data, b"b");
    }

    #[test]
    fn cap_and_lost_sync() {
        let mut a = Assembler::new(4, true);
        let (mut v, mut d) = (Vec::new(), Vec::new());
        a.on_data_frame(df(0, true, b"tail"), &mut v, &mut d);
        assert!(v.is_empty(), "a continuation after lost sync is not a violation");
        assert!(d[0].truncated);
        a.on_data_frame(df(2, true, b"123456"), &mut v, &mut d);
        assert_eq!(d[1].data, b"1234");
        assert_eq!(d[1].capped, 2);
        assert_eq!(d[1].wire_len, 6);
        assert!(d[1].truncated);
    }
}
