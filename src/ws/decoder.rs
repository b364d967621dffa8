//! The streaming frame decoder of one direction.
//!
//! Bytes go in as they arrive ([`FrameDecoder::feed`]); complete frames come
//! out with their payload unmasked straight into the frame's own buffer. At
//! most `max_frame_bytes` of a payload are kept (a 64-bit length of 2^63 is
//! never allocated); the rest is counted and the frame marked truncated.
//!
//! Gaps ([`FrameDecoder::on_gap`]): a frame in progress is emitted truncated;
//! when the gap ends inside a payload of known length the decoder skips to the
//! next header, otherwise it scans for a plausible header (defined opcode,
//! RSV consistent with the negotiation, mask bit consistent with the
//! direction, sane minimal length, and the following header plausible too) and
//! reports what it skipped as [`Decoded::Undecodable`]. Every byte fed is
//! accounted in [`DecoderStats`] as frame, gap or undecodable.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::frame::{FrameHeader, HeaderPrefix, Incomplete, parse_header, parse_header_prefix, unmask};

/// Largest frame length the resync scanner believes (2 GiB).
const PLAUSIBLE_MAX_LEN: u64 = 1 << 31;
/// How many bytes the resync scanner holds while verifying a candidate.
const RESYNC_WINDOW: usize = 64 * 1024;
/// Longest header.
const MAX_HEADER: usize = 14;
/// Away from a segment start, a candidate is judged once this many bytes
/// follow it (closer to the end of what was received, it waits for more).
const OFF_CHUNK_LOOKAHEAD: usize = 4096;

/// A frame as decoded from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub header: FrameHeader,
    /// Stream offset of the first header byte.
    pub offset: u64,
    /// Unmasked payload bytes kept (a prefix of the payload).
    pub payload: Vec<u8>,
    /// Not all of the payload is in `payload` (gap, cap, end of stream).
    pub truncated: bool,
    /// Payload bytes dropped because of `max_frame_bytes` (not a capture loss).
    pub capped: u64,
    /// The stream ended inside this frame's header: what its captured bytes
    /// show (`header` holds the same fields, neutral where unknown).
    pub cut: Option<HeaderPrefix>,
}

/// Output of the decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    Frame(RawFrame),
    /// Bytes that could not be decoded as frames (skipped while resynchronising).
    Undecodable {
        offset: u64,
        len: u64,
        reason: &'static str,
    },
}

/// Byte accounting of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Header and payload bytes that belonged to frames (kept or not).
    pub frame_bytes: u64,
    /// Bytes declared lost by gaps.
    pub gap_bytes: u64,
    /// Bytes reported as [`Decoded::Undecodable`].
    pub undecodable_bytes: u64,
}

/// What a resync candidate must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// Frames of this direction are masked (client → server).
    pub masked: bool,
    /// RSV1 may be set (permessage-deflate negotiated or assumed).
    pub rsv1: bool,
}

impl Expect {
    /// Could a header start with these (up to two) bytes?
    fn plausible_prefix(&self, b: &[u8]) -> bool {
        let Some(&b0) = b.first() else { return true };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 7;
        let op = b0 & 0xF;
        let control = op & 8 != 0;
        let defined = matches!(op, 0..=2 | 8..=10);
        let rsv_ok = rsv == 0 || (rsv == 4 && self.rsv1 && !control && op != 0);
        if !defined || !rsv_ok || (control && !fin) {
            return false;
        }
        match b.get(1) {
            None => true,
            Some(&b1) => (b1 & 0x80 != 0) == self.masked && (!control || b1 & 0x7F <= 125),
        }
    }

    /// Is this a header a well-behaved peer of this direction would send?
    pub fn plausible(&self, h: &FrameHeader) -> bool {
        let b0 = u8::from(h.fin) << 7 | h.rsv << 4 | h.opcode.0;
        self.plausible_prefix(&[b0])
            && h.masked == self.masked
            && !h.non_minimal_length()
            && h.payload_len <= PLAUSIBLE_MAX_LEN
            && (!h.opcode.is_control() || h.payload_len <= 125)
    }
}

/// Verdict of [`check_run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunVerdict {
    /// Not a plausible frame run.
    Reject,
    /// Plausible so far; more bytes are needed to confirm.
    NeedMore,
    /// Confirmed: `frames` complete plausible frames, `exact` when they end
    /// exactly at the end of the buffer.
    Accept { frames: usize, exact: bool },
}

/// Does `buf` start with a run of plausible frames? Accepts after one
/// complete frame that ends the buffer or is followed by a plausible header
/// start, or after four frames.
pub fn check_run(buf: &[u8], expect: Expect) -> RunVerdict {
    let mut q = 0usize;
    let mut frames = 0usize;
    loop {
        let rest = buf.get(q..).unwrap_or_default();
        if rest.is_empty() {
            return if frames > 0 {
                RunVerdict::Accept { frames, exact: true }
            } else {
                RunVerdict::NeedMore
            };
        }
        match parse_header(rest) {
            Err(Incomplete(_)) => {
                return if !expect.plausible_prefix(rest.get(..2).unwrap_or(rest)) {
                    RunVerdict::Reject
                } else if frames > 0 {
                    RunVerdict::Accept { frames, exact: false }
                } else {
                    RunVerdict::NeedMore
                };
            }
            Ok(h) => {
                if !expect.plausible(&h) {
                    return RunVerdict::Reject;
                }
                // payload_len <= PLAUSIBLE_MAX_LEN (2^31) and header_len <= 14:
                // the sum fits in u64 and, on 64-bit targets, in usize; on
                // 32-bit targets try_from fails and we treat it as "beyond".
                let end = (h.payload_len.saturating_add(h.header_len as u64)).saturating_add(q as u64);
                match usize::try_from(end) {
                    Ok(end) if end <= buf.len() => {
                        frames = frames.saturating_add(1);
                        q = end;
                        if frames >= 4 {
                            return RunVerdict::Accept {
                                frames,
                                exact: q == buf.len(),
                            };
                        }
                    }
                    _ => {
                        return if frames > 0 {
                            RunVerdict::Accept { frames, exact: false }
                        } else {
                            RunVerdict::NeedMore
                        };
                    }
                }
            }
        }
    }
}

#[derive(Debug)]
enum State {
    /// Expecting a header; partial header bytes are in `hdr`.
    Header,
    /// Inside a payload.
    Payload(Box<InFrame>),
    /// Skipping the rest of a frame already emitted (its start was before a
    /// gap): `left` bytes of the frame at stream offset `frame`.
    Skip { left: u64, frame: u64 },
    /// Position unknown: scanning `scan` for a plausible header.
    Resync,
}

#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    offset: u64,
    payload: Vec<u8>,
    /// Payload bytes seen on the wire (kept or capped).
    seen: u64,
    capped: u64,
    /// Part of the payload fell in a gap.
    lost: bool,
}

/// One direction's frame decoder.
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame_bytes: usize,
    expect: Expect,
    state: State,
    hdr: Vec<u8>,
    /// Stream offset of the next byte to be fed.
    pos: u64,
    /// Resync: bytes held for scanning, starting at `scan_start`.
    scan: Vec<u8>,
    scan_start: u64,
    /// Resync: bytes already given up on, not yet reported.
    skipped: u64,
    skipped_start: u64,
    skipped_reason: &'static str,
    /// Resync: positions in `scan` where a fed chunk (a TCP segment's data)
    /// began. Peers write each message at once, so real headers almost
    /// always start a segment: candidates there need less evidence.
    scan_chunks: Vec<usize>,
    /// Resync: whether the next fed chunk's start counts as a segment start
    /// (not when the stream itself starts at an unknown position).
    next_chunk_counts: bool,
    stats: DecoderStats,
}

impl FrameDecoder {
    /// Heap bytes held: the frame in progress (its payload kept so far),
    /// the partial header, the resynchronisation window.
    pub fn heap_bytes(&self) -> usize {
        let frame = match &self.state {
            State::Payload(f) => std::mem::size_of::<InFrame>().saturating_add(f.payload.capacity()),
            _ => 0,
        };
        frame
            .saturating_add(self.hdr.capacity())
            .saturating_add(self.scan.capacity())
            .saturating_add(
                self.scan_chunks
                    .capacity()
                    .saturating_mul(std::mem::size_of::<usize>()),
            )
    }

    /// A decoder whose next byte is at stream offset `pos`.
    pub fn new(pos: u64, max_frame_bytes: usize, expect: Expect) -> Self {
        FrameDecoder {
            max_frame_bytes,
            expect,
            state: State::Header,
            hdr: Vec::with_capacity(MAX_HEADER),
            pos,
            scan: Vec::new(),
            scan_start: pos,
            skipped: 0,
            skipped_start: pos,
            skipped_reason: "",
            scan_chunks: Vec::new(),
            next_chunk_counts: true,
            stats: DecoderStats::default(),
        }
    }

    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Stream offset of the frame the next byte fed belongs to, when it is
    /// inside one (a partial header, a payload, the rest of a frame skipped
    /// after a gap); `None` at a frame boundary or while resynchronising.
    pub fn frame_in_progress(&self) -> Option<u64> {
        match &self.state {
            State::Header if !self.hdr.is_empty() => Some(self.pos.saturating_sub(self.hdr.len() as u64)),
            State::Header | State::Resync => None,
            State::Payload(f) => Some(f.offset),
            State::Skip { frame, .. } => Some(*frame),
        }
    }

    pub fn set_expect(&mut self, expect: Expect) {
        self.expect = expect;
    }

    pub fn expect(&self) -> Expect {
        self.expect
    }

    /// Start by scanning after a gap: the next byte fed begins a segment.
    pub fn start_resync_after_gap(&mut self, reason: &'static str) {
        self.enter_resync(reason);
    }

    /// Start by scanning (the position of the first header is unknown).
    pub fn start_resync(&mut self, reason: &'static str) {
        self.enter_resync(reason);
        // The stream starts somewhere inside a frame: its first byte is no
        // better a header candidate than any other.
        self.next_chunk_counts = false;
    }

    fn enter_resync(&mut self, reason: &'static str) {
        self.state = State::Resync;
        self.scan.clear();
        self.scan_start = self.pos;
        self.skipped_start = self.pos;
        self.skipped = 0;
        self.skipped_reason = reason;
        self.scan_chunks.clear();
        self.next_chunk_counts = true;
    }

    /// Decode `bytes`, the next bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Decoded>) {
        let mut input = bytes;
        while !input.is_empty() {
            match &mut self.state {
                State::Header => {
                    let parsed = if self.hdr.is_empty() {
                        parse_header(input).map(|h| (h, h.header_len))
                    } else {
                        // Complete a split header byte by byte (at most 13 bytes).
                        let (first, rest) = input.split_at(1);
                        self.hdr.extend_from_slice(first);
                        self.pos = self.pos.saturating_add(1);
                        self.stats.frame_bytes = self.stats.frame_bytes.saturating_add(1);
                        input = rest;
                        if let Ok(h) = parse_header(&self.hdr) {
                            self.hdr.clear();
                            self.start_frame(h, self.pos.saturating_sub(h.header_len as u64), out);
                        }
                        continue;
                    };
                    match parsed {
                        Ok((h, n)) => {
                            input = input.get(n..).unwrap_or_default();
                            let off = self.pos;
                            self.pos = self.pos.saturating_add(n as u64);
                            self.stats.frame_bytes = self.stats.frame_bytes.saturating_add(n as u64);
                            self.start_frame(h, off, out);
                        }
                        Err(_) => {
                            // Fewer than 14 bytes left and not a whole header.
                            self.hdr.extend_from_slice(input);
                            self.pos = self.pos.saturating_add(input.len() as u64);
                            self.stats.frame_bytes =
                                self.stats.frame_bytes.saturating_add(input.len() as u64);
                            input = &[];
                        }
                    }
                }
                State::Payload(f) => {
                    // remaining > 0 while in this state (frames complete when seen == len).
                    let remaining = f.header.payload_len.saturating_sub(f.seen);
                    let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(input.len());
                    let (now, rest) = input.split_at(take);
                    let room = self.max_frame_bytes.saturating_sub(f.payload.len());
                    let keep = room.min(now.len());
                    if keep > 0 {
                        let start = f.payload.len();
                        f.payload.extend_from_slice(now.get(..keep).unwrap_or_default());
                        if let Some(key) = f.header.mask_key {
                            // The mask phase depends on the offset within the whole payload.
                            let phase = usize::try_from(f.seen % 4).unwrap_or(0);
                            unmask(f.payload.get_mut(start..).unwrap_or_default(), key, phase);
                        }
                    }
                    f.capped = f.capped.saturating_add(now.len().saturating_sub(keep) as u64);
                    f.seen = f.seen.saturating_add(take as u64);
                    self.pos = self.pos.saturating_add(take as u64);
                    self.stats.frame_bytes = self.stats.frame_bytes.saturating_add(take as u64);
                    input = rest;
                    if f.seen >= f.header.payload_len {
                        self.finish_frame(out);
                    }
                }
                State::Skip { left: n, .. } => {
                    let take = usize::try_from(*n).unwrap_or(usize::MAX).min(input.len());
                    *n = n.saturating_sub(take as u64);
                    self.pos = self.pos.saturating_add(take as u64);
                    self.stats.frame_bytes = self.stats.frame_bytes.saturating_add(take as u64);
                    input = input.get(take..).unwrap_or_default();
                    if *n == 0 {
                        self.state = State::Header;
                    }
                }
                State::Resync => {
                    if std::mem::replace(&mut self.next_chunk_counts, true) {
                        self.scan_chunks.push(self.scan.len());
                    }
                    self.scan.extend_from_slice(input);
                    self.pos = self.pos.saturating_add(input.len() as u64);
                    input = &[];
                    self.scan_step(out);
                }
            }
        }
    }

    fn start_frame(&mut self, h: FrameHeader, offset: u64, out: &mut Vec<Decoded>) {
        let cap = usize::try_from(h.payload_len)
            .unwrap_or(usize::MAX)
            .min(self.max_frame_bytes)
            .min(64 * 1024);
        self.state = State::Payload(Box::new(InFrame {
            header: h,
            offset,
            payload: Vec::with_capacity(cap),
            seen: 0,
            capped: 0,
            lost: false,
        }));
        if h.payload_len == 0 {
            self.finish_frame(out);
        }
    }

    fn finish_frame(&mut self, out: &mut Vec<Decoded>) {
        if let State::Payload(f) = std::mem::replace(&mut self.state, State::Header) {
            let f = *f;
            out.push(Decoded::Frame(RawFrame {
                header: f.header,
                offset: f.offset,
                truncated: f.lost || (f.payload.len() as u64) < f.header.payload_len,
                payload: f.payload,
                capped: f.capped,
                cut: None,
            }));
        }
    }

    fn report_skipped(&mut self, out: &mut Vec<Decoded>) {
        if self.skipped > 0 {
            out.push(Decoded::Undecodable {
                offset: self.skipped_start,
                len: self.skipped,
                reason: self.skipped_reason,
            });
            self.stats.undecodable_bytes = self.stats.undecodable_bytes.saturating_add(self.skipped);
        }
        self.skipped = 0;
    }

    fn give_up(&mut self, n: usize) {
        let n = n.min(self.scan.len());
        if self.skipped == 0 {
            self.skipped_start = self.scan_start;
        }
        self.scan.drain(..n);
        self.scan_chunks.retain(|c| *c >= n);
        for c in &mut self.scan_chunks {
            *c = c.saturating_sub(n);
        }
        self.skipped = self.skipped.saturating_add(n as u64);
        self.scan_start = self.scan_start.saturating_add(n as u64);
    }

    fn scan_step(&mut self, out: &mut Vec<Decoded>) {
        let mut p = 0usize;
        let mut accept = None;
        while p < self.scan.len() {
            let at_chunk = self.scan_chunks.binary_search(&p).is_ok();
            let remaining = self.scan.len().saturating_sub(p);
            match check_run(self.scan.get(p..).unwrap_or_default(), self.expect) {
                RunVerdict::Reject => p = p.saturating_add(1),
                // At a segment start: one frame and a plausible next header,
                // or a header of a frame longer than the window, will do.
                RunVerdict::Accept { .. } if at_chunk => {
                    accept = Some(p);
                    break;
                }
                RunVerdict::NeedMore if at_chunk => {
                    if remaining > RESYNC_WINDOW {
                        accept = Some(p);
                    }
                    break;
                }
                // Elsewhere about 3% of random positions parse as a header:
                // ask for a run of frames (three, or two ending exactly where
                // the data ends), judged once enough bytes follow.
                RunVerdict::Accept { frames, exact } if frames >= 3 || (exact && frames >= 2) => {
                    accept = Some(p);
                    break;
                }
                RunVerdict::Accept { .. } | RunVerdict::NeedMore => {
                    if remaining < OFF_CHUNK_LOOKAHEAD {
                        break;
                    }
                    p = p.saturating_add(1);
                }
            }
        }
        match accept {
            Some(p) => {
                self.give_up(p);
                self.report_skipped(out);
                let held = std::mem::take(&mut self.scan);
                self.state = State::Header;
                self.pos = self.scan_start;
                self.feed(&held, out);
            }
            None => self.give_up(p),
        }
    }

    /// `len` bytes of the stream were lost.
    pub fn on_gap(&mut self, len: u64, out: &mut Vec<Decoded>) {
        self.stats.gap_bytes = self.stats.gap_bytes.saturating_add(len);
        let state = std::mem::replace(&mut self.state, State::Header);
        match state {
            State::Header => {
                if !self.hdr.is_empty() {
                    // A header split by the gap: its bytes are undecodable.
                    let n = self.hdr.len() as u64;
                    self.stats.frame_bytes = self.stats.frame_bytes.saturating_sub(n);
                    self.skipped_start = self.pos.saturating_sub(n);
                    self.skipped = n;
                    self.skipped_reason = "header cut by a gap";
                    self.report_skipped(out);
                    self.hdr.clear();
                }
                self.pos = self.pos.saturating_add(len);
                self.enter_resync("after a gap at a frame boundary");
            }
            State::Payload(mut f) => {
                f.lost = true;
                let remaining = f.header.payload_len.saturating_sub(f.seen);
                let frame = f.offset;
                self.state = State::Payload(f);
                self.finish_frame(out);
                self.skip_after_gap(remaining, frame, len);
            }
            State::Skip { left, frame } => self.skip_after_gap(left, frame, len),
            State::Resync => {
                self.give_up(self.scan.len());
                self.report_skipped(out);
                self.pos = self.pos.saturating_add(len);
                self.enter_resync("after a gap at an unknown position");
            }
        }
    }

    fn skip_after_gap(&mut self, remaining: u64, frame: u64, gap: u64) {
        self.pos = self.pos.saturating_add(gap);
        if gap < remaining {
            // remaining - gap > 0 here.
            self.state = State::Skip {
                left: remaining.saturating_sub(gap),
                frame,
            };
        } else if gap == remaining {
            self.state = State::Header;
        } else {
            self.enter_resync("gap ran past the end of a frame");
        }
    }

    /// End of the stream: emit a frame in progress (truncated) — also one
    /// cut inside its header, with what the captured header bytes show — and
    /// report bytes held while resynchronising as undecodable.
    pub fn finish(&mut self, out: &mut Vec<Decoded>) {
        match std::mem::replace(&mut self.state, State::Header) {
            State::Payload(f) => {
                self.state = State::Payload(f);
                self.finish_frame(out);
            }
            State::Header if !self.hdr.is_empty() => {
                let n = self.hdr.len() as u64;
                let offset = self.pos.saturating_sub(n);
                match parse_header_prefix(&self.hdr) {
                    // The header bytes are the partial frame's (already
                    // counted as frame bytes): a truncated frame that shows
                    // what they hold, so its opcode and RSV are still judged.
                    Some(p) => out.push(Decoded::Frame(RawFrame {
                        header: p.header,
                        offset,
                        payload: Vec::new(),
                        truncated: true,
                        capped: 0,
                        cut: Some(p),
                    })),
                    // Unreachable (a whole header leaves this state), but
                    // stay total: the bytes are reported, never lost.
                    None => {
                        self.stats.frame_bytes = self.stats.frame_bytes.saturating_sub(n);
                        self.skipped_start = offset;
                        self.skipped = n;
                        self.skipped_reason = "incomplete header at end of stream";
                        self.report_skipped(out);
                    }
                }
                self.hdr.clear();
            }
            State::Resync => {
                self.give_up(self.scan.len());
                self.report_skipped(out);
                self.state = State::Resync;
            }
            other => self.state = other,
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
    use crate::ws::frame::{LenForm, encode_frame, encode_header};

    const C2S: Expect = Expect {
        masked: true,
        rsv1: false,
    };
    const S2C: Expect = Expect {
        masked: false,
        rsv1: false,
    };

    fn frames(out: &[Decoded]) -> Vec<&RawFrame> {
        out.iter()
            .filter_map(|d| match d {
                Decoded::Frame(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn many_frames_one_chunk_and_one_frame_many_chunks() {
        let mut data = encode_frame(true, 0, 1, Some([1, 2, 3, 4]), b"Hello");
        data.extend(encode_frame(true, 0, 2, Some([9, 9, 9, 9]), &[7u8; 300]));
        data.extend(encode_frame(true, 0, 9, Some([5, 6, 7, 8]), b""));
        let mut d = FrameDecoder::new(0, 1 << 20, C2S);
        let mut out = Vec::new();
        d.feed(&data, &mut out);
        let f = frames(&out);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].payload, b"Hello");
        assert_eq!(f[1].payload, vec![7u8; 300]);
        assert_eq!(f[1].offset, 11);
        assert_eq!(f[2].header.opcode.0, 9);

        let mut d = FrameDecoder::new(0, 1 << 20, C2S);
        let mut out = Vec::new();
        for b in &data {
            d.feed(std::slice::from_ref(b), &mut out);
        }
        let g = frames(&out);
        assert_eq!(f, g);
        assert_eq!(d.stats().frame_bytes, data.len() as u64);
    }

    #[test]
    fn liar_length_is_not_allocated() {
        let mut data = encode_header(true, 0, 2, None, 1 << 63, LenForm::Minimal);
        data.extend(vec![0xAB; 1000]);
        let mut d = FrameDecoder::new(0, 100, S2C);
        let mut out = Vec::new();
        d.feed(&data, &mut out);
        assert!(out.is_empty());
        d.finish(&mut out);
        let f = frames(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].payload.len(), 100);
        assert_eq!(f[0].capped, 900);
        assert!(f[0].truncated);
        assert_eq!(f[0].header.payload_len, 1 << 63);
    }

    #[test]
    fn gap_inside_payload_skips_to_next_header() {
        let a = encode_frame(true, 0, 2, None, &[1u8; 100]);
        let b = encode_frame(true, 0, 1, None, b"next");
        let mut d = FrameDecoder::new(0, 1 << 20, S2C);
        let mut out = Vec::new();
        d.feed(&a[..50], &mut out);
        d.on_gap(30, &mut out);
        d.feed(&a[80..], &mut out);
        d.feed(&b, &mut out);
        let f = frames(&out);
        assert_eq!(f.len(), 2);
        assert!(f[0].truncated);
        assert_eq!(f[0].payload.len(), 48);
        assert_eq!(f[1].payload, b"next");
        let s = d.stats();
        assert_eq!(
            s.frame_bytes + s.gap_bytes + s.undecodable_bytes,
            (a.len() + b.len()) as u64
        );
    }

    #[test]
    fn gap_at_unknown_position_resyncs() {
        // 0xEE = FIN + RSV2|RSV3 + reserved opcode: never a plausible header.
        let a = encode_frame(true, 0, 2, None, &[0xEEu8; 100]);
        let b = encode_frame(true, 0, 1, None, b"hello");
        let c = encode_frame(true, 0, 1, None, b"world");
        let mut d = FrameDecoder::new(0, 1 << 20, S2C);
        let mut out = Vec::new();
        d.on_gap(40, &mut out);
        // Rest of frame a (garbage to the decoder), then b and c.
        let mut rest = a[40..].to_vec();
        rest.extend(&b);
        rest.extend(&c);
        d.feed(&rest, &mut out);
        d.finish(&mut out);
        let f = frames(&out);
        assert_eq!(
            f.iter().map(|f| f.payload.as_slice()).collect::<Vec<_>>(),
            [&b"hello"[..], b"world"]
        );
        assert!(matches!(
            out[0],
            Decoded::Undecodable {
                offset: 40,
                len: 62,
                ..
            }
        ));
        let s = d.stats();
        assert_eq!(
            s.frame_bytes + s.gap_bytes + s.undecodable_bytes,
            (a.len() + b.len() + c.len()) as u64
        );
    }

    #[test]
    fn end_inside_a_header_is_a_partial_frame() {
        let a = encode_frame(true, 0, 1, Some([1, 2, 3, 4]), b"hi");
        for cut in [&[0x87u8][..], &[0x82, 0xFE, 0x01], &[0x81, 0x85, 9, 9]] {
            let mut d = FrameDecoder::new(0, 1 << 20, C2S);
            let mut out = Vec::new();
            d.feed(&a, &mut out);
            d.feed(cut, &mut out);
            d.finish(&mut out);
            let f = frames(&out);
            assert_eq!(f.len(), 2, "{out:?}");
            assert_eq!(out.len(), 2, "nothing reported undecodable: {out:?}");
            let p = f[1];
            assert!(p.truncated && p.payload.is_empty());
            assert_eq!(p.offset, a.len() as u64);
            assert_eq!(p.header.opcode.0, cut[0] & 0xF);
            assert_eq!(p.header.header_len, cut.len());
            assert!(p.cut.is_some());
            let s = d.stats();
            assert_eq!(
                (s.frame_bytes, s.undecodable_bytes),
                ((a.len() + cut.len()) as u64, 0)
            );
        }
    }

    #[test]
    fn check_run_verdicts() {
        let a = encode_frame(true, 0, 1, Some([1, 2, 3, 4]), b"abc");
        assert_eq!(
            check_run(&a, C2S),
            RunVerdict::Accept {
                frames: 1,
                exact: true
            }
        );
        assert_eq!(check_run(&a, S2C), RunVerdict::Reject);
        assert_eq!(check_run(&a[..4], C2S), RunVerdict::NeedMore);
        assert_eq!(check_run(b"GET / HTTP/1.1\r\n", C2S), RunVerdict::Reject);
        // Control frame longer than 125 is not plausible.
        let p = encode_frame(true, 0, 9, None, &[0; 200]);
        assert_eq!(check_run(&p, S2C), RunVerdict::Reject);
    }
}
