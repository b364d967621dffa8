//! The HTTP/2 layer of a connection: reads both directions' frames, decodes
//! header blocks, and opens a WebSocket session on every stream that an
//! extended CONNECT (RFC 8441) opened and a 2xx answered. Such a stream's
//! DATA payloads, in order, are that session's byte stream: the WebSocket
//! layer above gets the same [`StreamInput`] it gets from TCP, with the
//! stream's own offsets, and never learns it is inside HTTP/2.
//!
//! A multiplexing layer: it owns one [`WsSession`] per WebSocket stream,
//! each with its own [`SessionId`] (`stream: Some(id)`), so every event of
//! a stream names it.
//!
//! What HTTP/2 frames it reads (RFC 9113): DATA (padding stripped), HEADERS
//! and CONTINUATION (one header block, HPACK-decoded per direction),
//! SETTINGS (ENABLE_CONNECT_PROTOCOL, HEADER_TABLE_SIZE), RST_STREAM (ends
//! a stream), GOAWAY; PRIORITY, PING, WINDOW_UPDATE and unknown types are
//! skipped. A frame's DATA goes up as it arrives: a 16 MiB frame is never
//! held whole. Other frames are held up to [`MAX_HELD_FRAME`].

use super::frame::{self, FrameHeader, FrameType, HEADER_LEN, flags, setting};
use super::hpack::HeaderDecoder;
use super::stream::Streams;
use crate::model::{Dir, PacketSpan, PerDir, Stamp};
use crate::stream::{ByteLayer, LayerCx, SessionSummary, SpanLog, StreamInput};
use crate::ws::session::SessionConfig;

/// Frames other than DATA larger than this are skipped (and said so): a
/// header block or SETTINGS this large is hostile, not HTTP.
pub const MAX_HELD_FRAME: u32 = 1 << 20;

/// Diagnostic codes of this layer (registered in [`crate::diag`]).
pub mod diag {
    /// A gap in the connection's bytes: frame boundaries are lost.
    pub const FRAMING_LOST: &str = crate::diag::H2_FRAMING_LOST;
    /// A frame that could not be read (padding, length, size).
    pub const BAD_FRAME: &str = crate::diag::H2_BAD_FRAME;
    /// A header block that did not decode.
    pub const HPACK: &str = crate::diag::H2_HPACK;
    /// The client's first bytes were not the connection preface.
    pub const BAD_PREFACE: &str = crate::diag::H2_BAD_PREFACE;
}

/// The frame being read in one direction.
#[derive(Debug)]
enum Reading {
    /// The client's connection preface: bytes of it still to come.
    Preface(usize),
    /// A frame header: bytes so far.
    Header([u8; HEADER_LEN], usize),
    /// A DATA payload, passed up as it comes. `pad`: the pad length, once
    /// read (PADDED frames); `left`: payload bytes still to come.
    Data {
        h: FrameHeader,
        pad: Option<u8>,
        left: u32,
    },
    /// Another frame's payload, held until whole (or skipped: `held` None).
    Other {
        h: FrameHeader,
        held: Option<Vec<u8>>,
        left: u32,
    },
    /// After a gap: frame boundaries are unknown, the rest is not decoded.
    Lost,
}

/// A header block being assembled: HEADERS (or PUSH_PROMISE) and its
/// CONTINUATION frames.
#[derive(Debug)]
struct Block {
    stream: u32,
    end_stream: bool,
    bytes: Vec<u8>,
    at: Stamp,
}

/// One direction of the connection.
#[derive(Debug)]
struct Side {
    reading: Reading,
    /// Offset of the next byte in the connection's stream.
    pos: u64,
    spans: SpanLog,
    block: Option<Block>,
    /// Decodes the header blocks this side sends.
    hpack: HeaderDecoder,
    /// Bytes not decoded (after a gap, skipped frames).
    undecoded: u64,
}

impl Side {
    fn new(dir: Dir, preface: bool) -> Side {
        Side {
            reading: if dir == Dir::C2S && preface {
                Reading::Preface(frame::PREFACE.len())
            } else {
                Reading::Header([0; HEADER_LEN], 0)
            },
            pos: 0,
            spans: SpanLog::default(),
            block: None,
            hpack: HeaderDecoder::new(preface),
            undecoded: 0,
        }
    }
}

/// The HTTP/2 layer of one connection.
#[derive(Debug)]
pub struct H2Layer {
    sides: PerDir<Side>,
    streams: Streams,
}

impl H2Layer {
    /// `preface`: the connection starts at its beginning (the client's
    /// preface and both SETTINGS will be seen).
    pub fn new(cfg: SessionConfig, preface: bool, ends: crate::model::Endpoints) -> Self {
        H2Layer {
            sides: PerDir::new(Side::new(Dir::C2S, preface), Side::new(Dir::S2C, preface)),
            streams: Streams::new(
                SessionConfig {
                    stream_start_seen: true,
                    force_ws: false,
                    ..cfg
                },
                ends,
            ),
        }
    }

    fn data(&mut self, dir: Dir, mut bytes: &[u8], offset: u64, at: Stamp, cx: &mut LayerCx<'_>) {
        let mut pos = offset;
        while !bytes.is_empty() {
            let side = &mut self.sides[dir];
            match &mut side.reading {
                Reading::Lost => {
                    side.undecoded += bytes.len() as u64;
                    return;
                }
                Reading::Preface(left) => {
                    let done = frame::PREFACE.len() - *left;
                    let n = (*left).min(bytes.len());
                    let want = frame::PREFACE.get(done..done + n).unwrap_or_default();
                    let (got, rest) = bytes.split_at(n);
                    if got != want {
                        side.reading = Reading::Lost;
                        side.undecoded += bytes.len() as u64;
                        cx.diagnostic(
                            at,
                            Some(dir),
                            diag::BAD_PREFACE,
                            "the client's first bytes are not the HTTP/2 connection preface: its frames are not decoded".into(),
                        );
                        return;
                    }
                    *left -= n;
                    if *left == 0 {
                        side.reading = Reading::Header([0; HEADER_LEN], 0);
                    }
                    bytes = rest;
                    pos += n as u64;
                }
                Reading::Header(buf, have) => {
                    let n = (HEADER_LEN - *have).min(bytes.len());
                    let (got, rest) = bytes.split_at(n);
                    if let Some(dst) = buf.get_mut(*have..*have + n) {
                        dst.copy_from_slice(got);
                    }
                    *have += n;
                    bytes = rest;
                    pos += n as u64;
                    if *have == HEADER_LEN {
                        let h = frame::parse_header(buf);
                        self.start_frame(dir, h, at, cx);
                    }
                }
                Reading::Data { h, pad, left } => {
                    let h = *h;
                    if h.has(flags::PADDED) && pad.is_none() {
                        let (&p, rest) = bytes.split_first().unwrap_or((&0, &[]));
                        *pad = Some(p);
                        *left -= 1;
                        let after = *left;
                        bytes = rest;
                        pos += 1;
                        if u32::from(p) > after {
                            cx.diagnostic(
                                at,
                                Some(dir),
                                diag::BAD_FRAME,
                                format!("DATA on stream {}: pad length {p} longer than the {after} bytes after it; the frame is skipped", h.stream),
                            );
                            side.reading = Reading::Other {
                                h,
                                held: None,
                                left: after,
                            };
                            self.maybe_frame_done(dir, at, cx);
                        }
                        continue;
                    }
                    let padding = u32::from(pad.unwrap_or(0));
                    let body_left = left.saturating_sub(padding);
                    let n = (body_left as usize).min(bytes.len());
                    let (body, rest) = bytes.split_at(n);
                    *left -= n as u32;
                    if n > 0 {
                        let packets = side
                            .spans
                            .span(pos, pos + n as u64)
                            .unwrap_or(PacketSpan::one(at.packet));
                        self.streams.data(dir, h.stream, body, packets, at, cx);
                    }
                    bytes = rest;
                    pos += n as u64;
                    // Padding: skipped.
                    let side = &mut self.sides[dir];
                    if let Reading::Data { left, .. } = &mut side.reading
                        && *left <= padding
                    {
                        let skip = (*left as usize).min(bytes.len());
                        *left -= skip as u32;
                        bytes = bytes.get(skip..).unwrap_or_default();
                        pos += skip as u64;
                    }
                    self.maybe_frame_done(dir, at, cx);
                }
                Reading::Other { held, left, .. } => {
                    let n = (*left as usize).min(bytes.len());
                    let (got, rest) = bytes.split_at(n);
                    match held {
                        Some(v) => v.extend_from_slice(got),
                        None => side.undecoded += n as u64,
                    }
                    *left -= n as u32;
                    bytes = rest;
                    pos += n as u64;
                    self.maybe_frame_done(dir, at, cx);
                }
            }
        }
    }

    /// A frame header was read: set up the reading of its payload.
    fn start_frame(&mut self, dir: Dir, h: FrameHeader, at: Stamp, cx: &mut LayerCx<'_>) {
        let side = &mut self.sides[dir];
        // A header block must be continued by CONTINUATION frames of its
        // stream and nothing else (RFC 9113 §6.10).
        if side
            .block
            .as_ref()
            .is_some_and(|b| h.kind != FrameType::CONTINUATION || h.stream != b.stream)
        {
            side.block = None;
            side.hpack_lost(dir, at, "a header block was interrupted by another frame", cx);
        }
        let reading = if h.kind == FrameType::DATA {
            Reading::Data {
                h,
                pad: None,
                left: h.len,
            }
        } else if h.len > MAX_HELD_FRAME {
            cx.diagnostic(
                at,
                Some(dir),
                diag::BAD_FRAME,
                format!(
                    "a {} frame of {} bytes on stream {} (over {} held): skipped",
                    h.kind.name(),
                    h.len,
                    h.stream,
                    MAX_HELD_FRAME
                ),
            );
            if matches!(
                h.kind,
                FrameType::HEADERS | FrameType::CONTINUATION | FrameType::PUSH_PROMISE
            ) {
                self.sides[dir].hpack_lost(dir, at, "a header block too large to hold", cx);
            }
            Reading::Other {
                h,
                held: None,
                left: h.len,
            }
        } else {
            Reading::Other {
                h,
                held: Some(Vec::with_capacity(h.len as usize)),
                left: h.len,
            }
        };
        self.sides[dir].reading = reading;
        self.maybe_frame_done(dir, at, cx);
    }

    /// When the frame being read is complete, acts on it and reads the next header.
    fn maybe_frame_done(&mut self, dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
        let side = &mut self.sides[dir];
        let done = match &side.reading {
            Reading::Data { left: 0, .. } | Reading::Other { left: 0, .. } => {
                std::mem::replace(&mut side.reading, Reading::Header([0; HEADER_LEN], 0))
            }
            _ => return,
        };
        match done {
            Reading::Data { h, .. } => {
                self.streams.data_frame(dir, h.stream, at);
                if h.has(flags::END_STREAM) {
                    self.streams.end(dir, h.stream, false, at, cx);
                }
            }
            Reading::Other {
                h,
                held: Some(payload),
                ..
            } => self.frame(dir, h, &payload, at, cx),
            _ => {}
        }
    }

    /// A whole frame other than DATA.
    fn frame(&mut self, dir: Dir, h: FrameHeader, payload: &[u8], at: Stamp, cx: &mut LayerCx<'_>) {
        match h.kind {
            FrameType::HEADERS | FrameType::PUSH_PROMISE => {
                let fragment = match frame::content(&h, payload) {
                    Ok(f) => f,
                    Err(e) => {
                        cx.diagnostic(
                            at,
                            Some(dir),
                            diag::BAD_FRAME,
                            format!("{} on stream {}: {e}", h.kind.name(), h.stream),
                        );
                        self.sides[dir].hpack_lost(dir, at, "an unreadable header block", cx);
                        return;
                    }
                };
                let block = Block {
                    stream: h.stream,
                    end_stream: h.kind == FrameType::HEADERS && h.has(flags::END_STREAM),
                    bytes: fragment.to_vec(),
                    at,
                };
                // PUSH_PROMISE's block is decoded (the table must stay in
                // step) but opens nothing WebSocket cares about.
                let push = h.kind == FrameType::PUSH_PROMISE;
                if h.has(flags::END_HEADERS) {
                    self.header_block(dir, block, push, cx);
                } else {
                    self.sides[dir].block = Some(Block {
                        stream: if push { u32::MAX } else { h.stream },
                        ..block
                    });
                }
            }
            FrameType::CONTINUATION => {
                let Some(mut block) = self.sides[dir].block.take() else {
                    cx.diagnostic(
                        at,
                        Some(dir),
                        diag::BAD_FRAME,
                        format!(
                            "CONTINUATION on stream {} without a header block open: skipped",
                            h.stream
                        ),
                    );
                    return;
                };
                if block.bytes.len().saturating_add(payload.len()) > MAX_HELD_FRAME as usize {
                    self.sides[dir].hpack_lost(dir, at, "a header block too large to hold", cx);
                    return;
                }
                block.bytes.extend_from_slice(payload);
                block.at = at;
                if h.has(flags::END_HEADERS) {
                    let push = block.stream == u32::MAX;
                    self.header_block(dir, block, push, cx);
                } else {
                    self.sides[dir].block = Some(block);
                }
            }
            FrameType::SETTINGS if !h.has(flags::ACK) => match frame::settings(payload) {
                Some(entries) => {
                    if dir == Dir::S2C {
                        self.streams.server_settings(&entries);
                    }
                    for (id, value) in entries {
                        match id {
                            // The sender's limit for header blocks sent to it.
                            setting::HEADER_TABLE_SIZE => self.sides[dir.reverse()].hpack.allow(value),
                            setting::ENABLE_CONNECT_PROTOCOL if dir == Dir::S2C => {
                                self.streams.connect_enabled = value == 1;
                            }
                            _ => {}
                        }
                    }
                }
                None => cx.diagnostic(
                    at,
                    Some(dir),
                    diag::BAD_FRAME,
                    format!(
                        "SETTINGS of {} bytes, not a multiple of 6: ignored",
                        payload.len()
                    ),
                ),
            },
            FrameType::RST_STREAM => {
                self.streams.end(dir, h.stream, true, at, cx);
                self.streams.end(dir.reverse(), h.stream, true, at, cx);
            }
            // PRIORITY, PING, GOAWAY, WINDOW_UPDATE, SETTINGS ACK, unknown
            // types: nothing a WebSocket needs.
            _ => {}
        }
    }

    /// A complete header block from `dir` on its stream.
    fn header_block(&mut self, dir: Dir, block: Block, push: bool, cx: &mut LayerCx<'_>) {
        let at = block.at;
        let headers = match self.sides[dir].hpack.decode(&block.bytes) {
            Ok(h) => h,
            Err(why) => {
                if !why.contains("earlier header block") {
                    cx.diagnostic(
                        at,
                        Some(dir),
                        diag::HPACK,
                        format!(
                            "a header block on stream {} did not decode ({why}); this direction's later header blocks are not decoded",
                            block.stream
                        ),
                    );
                }
                return;
            }
        };
        if push {
            return;
        }
        let id = block.stream;
        match dir {
            Dir::C2S if !self.streams.contains(id) => self.streams.request(id, headers, at, cx),
            Dir::S2C if self.streams.contains(id) => self.streams.response(id, headers, at, cx),
            // Trailers, or a stream we did not see open: nothing to open.
            _ => {}
        }
        if block.end_stream {
            self.streams.end(dir, id, false, at, cx);
        }
    }
}

impl Side {
    /// The header decoding of this direction is out of step.
    fn hpack_lost(&mut self, dir: Dir, at: Stamp, why: &str, cx: &mut LayerCx<'_>) {
        if self.hpack.is_broken() {
            return;
        }
        self.hpack.mark_broken(why);
        cx.diagnostic(
            at,
            Some(dir),
            diag::HPACK,
            format!(
                "{why}: the header table is out of step, this direction's later header blocks are not decoded"
            ),
        );
    }
}

impl ByteLayer for H2Layer {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        match item {
            StreamInput::Data {
                dir,
                offset,
                bytes,
                packets,
                at,
                ..
            } => {
                let side = &mut self.sides[dir];
                side.spans.record(offset, bytes.len(), packets);
                side.pos = offset + bytes.len() as u64;
                self.data(dir, bytes, offset, at, cx);
                self.sides[dir].spans.forget_before(offset);
            }
            StreamInput::Gap {
                dir, offset, len, at, ..
            } => {
                let side = &mut self.sides[dir];
                side.pos = offset + len.bytes();
                if !matches!(side.reading, Reading::Lost) {
                    side.reading = Reading::Lost;
                    side.block = None;
                    cx.diagnostic(
                        at,
                        Some(dir),
                        diag::FRAMING_LOST,
                        format!(
                            "{} bytes missing at offset {offset}: HTTP/2 frame boundaries are lost, this direction's frames after it are not decoded",
                            len.bytes()
                        ),
                    );
                }
            }
            StreamInput::End { dir, rst, at } => {
                self.streams.end_all(dir, rst, at, cx);
            }
        }
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        for d in Dir::BOTH {
            let n = std::mem::take(&mut self.sides[d].undecoded);
            if n > 0 {
                cx.diagnostic(
                    at,
                    Some(d),
                    diag::FRAMING_LOST,
                    format!("{n} bytes of HTTP/2 frames were not decoded (after a gap, or skipped frames)"),
                );
            }
        }
        self.streams.finish(at, cx)
    }

    fn heap_bytes(&self) -> usize {
        let sides: usize = self
            .sides
            .iter()
            .map(|(_, s)| {
                s.spans.heap_bytes()
                    + s.hpack.heap_bytes()
                    + s.block.as_ref().map_or(0, |b| b.bytes.capacity())
                    + match &s.reading {
                        Reading::Other { held: Some(v), .. } => v.capacity(),
                        _ => 0,
                    }
            })
            .sum();
        let streams = self.streams.heap_bytes();
        sides + streams
    }

    /// A gap in the connection is no one stream's frame.
    fn frame_in_progress(&self, _dir: Dir) -> Option<u64> {
        None
    }
}
