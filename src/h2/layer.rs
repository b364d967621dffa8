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
use super::hpack::{HeaderDecoder, Headers};
use crate::event::{Event, HandshakeEvent, Protocol, ViolationEvent};
use crate::model::{Dir, PacketSpan, PerDir, SessionId, Stamp};
use crate::stream::{ByteLayer, GapLen, LayerCx, SessionSummary, SpanLog, StreamInput};
use crate::ws::session::{Resync, SessionConfig, WsParams, WsSession};
use std::collections::BTreeMap;

/// Frames other than DATA larger than this are skipped (and said so): a
/// header block or SETTINGS this large is hostile, not HTTP.
pub const MAX_HELD_FRAME: u32 = 1 << 20;

/// Client bytes of a WebSocket stream held before its 2xx answer.
const MAX_HELD_EARLY: usize = 64 << 10;

/// Rule ids of RFC 8441's requirements.
pub mod rules {
    /// An extended CONNECT before the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §4).
    pub const CONNECT_NOT_ENABLED: &str = "h2-connect-protocol-not-enabled";
    /// An extended CONNECT without `:scheme` or `:path` (RFC 8441 §4).
    pub const CONNECT_MISSING_PSEUDO: &str = "h2-connect-missing-pseudo-header";
    /// `sec-websocket-key` or `-accept` on an HTTP/2 WebSocket (RFC 8441 §5).
    pub const KEY_OR_ACCEPT_PRESENT: &str = "h2-websocket-key-or-accept";
    /// DATA on a WebSocket stream whose CONNECT was refused (RFC 9113 §8.5).
    pub const DATA_AFTER_REFUSAL: &str = "h2-data-after-refused-connect";
}

/// Diagnostic codes of this layer.
pub mod diag {
    /// A gap in the connection's bytes: frame boundaries are lost.
    pub const FRAMING_LOST: &str = "h2-framing-lost";
    /// A frame that could not be read (padding, length, size).
    pub const BAD_FRAME: &str = "h2-bad-frame";
    /// A header block that did not decode.
    pub const HPACK: &str = "h2-hpack-error";
    /// The client's first bytes were not the connection preface.
    pub const BAD_PREFACE: &str = "h2-bad-preface";
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

/// What a stream is.
#[derive(Debug)]
enum Kind {
    /// An extended CONNECT for WebSocket, not answered yet; the client's
    /// early DATA held for the session.
    Connect {
        early: Vec<(Stamp, PacketSpan, Vec<u8>)>,
        dropped: u64,
    },
    WebSocket(Box<WsSession>),
    /// Its CONNECT was refused (the status).
    Refused(u16),
    /// An ordinary request.
    Plain,
}

#[derive(Debug)]
struct H2Stream {
    kind: Kind,
    request: Headers,
    request_at: Stamp,
    /// Bytes passed to the WebSocket session per direction.
    fed: PerDir<u64>,
    ended: PerDir<bool>,
    refusal_reported: bool,
}

/// The HTTP/2 layer of one connection.
#[derive(Debug)]
pub struct H2Layer {
    cfg: SessionConfig,
    sides: PerDir<Side>,
    streams: BTreeMap<u32, H2Stream>,
    /// The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    connect_enabled: bool,
    /// Sessions of streams that ended, their summaries kept for the
    /// connection's `close` record.
    done: SessionSummary,
    ws_streams: u64,
    requests: u64,
    violations: u64,
}

impl H2Layer {
    /// `preface`: the connection starts at its beginning (the client's
    /// preface and both SETTINGS will be seen).
    pub fn new(cfg: SessionConfig, preface: bool) -> Self {
        H2Layer {
            cfg: SessionConfig {
                stream_start_seen: true,
                force_ws: false,
                ..cfg
            },
            sides: PerDir::new(Side::new(Dir::C2S, preface), Side::new(Dir::S2C, preface)),
            streams: BTreeMap::new(),
            connect_enabled: false,
            done: SessionSummary::default(),
            ws_streams: 0,
            requests: 0,
            violations: 0,
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
                        self.stream_data(dir, h.stream, body, packets, at, cx);
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
            Reading::Data { h, .. } if h.has(flags::END_STREAM) => {
                self.stream_end(dir, h.stream, false, at, cx);
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
                    for (id, value) in entries {
                        match id {
                            // The sender's limit for header blocks sent to it.
                            setting::HEADER_TABLE_SIZE => self.sides[dir.reverse()].hpack.allow(value),
                            setting::ENABLE_CONNECT_PROTOCOL if dir == Dir::S2C => {
                                self.connect_enabled = value == 1;
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
                self.stream_end(dir, h.stream, true, at, cx);
                self.stream_end(dir.reverse(), h.stream, true, at, cx);
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
            Dir::C2S if !self.streams.contains_key(&id) => self.request(id, headers, at, cx),
            Dir::S2C if self.streams.contains_key(&id) => self.response(id, headers, at, cx),
            // Trailers, or a stream we did not see open: nothing to open.
            _ => {}
        }
        if block.end_stream {
            self.stream_end(dir, id, false, at, cx);
        }
    }

    fn request(&mut self, id: u32, headers: Headers, at: Stamp, cx: &mut LayerCx<'_>) {
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let websocket = get(":method") == Some("CONNECT")
            && get(":protocol").is_some_and(|p| p.eq_ignore_ascii_case("websocket"));
        let mut breaches = Vec::new();
        if websocket {
            let sid = SessionId {
                conn: cx.id.conn,
                stream: Some(id),
            };
            if !self.connect_enabled {
                breaches.push((
                    rules::CONNECT_NOT_ENABLED,
                    "extended CONNECT (:protocol websocket) before the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1".to_string(),
                ));
            }
            let missing: Vec<&str> = [":scheme", ":path"]
                .into_iter()
                .filter(|n| get(n).is_none())
                .collect();
            if !missing.is_empty() {
                breaches.push((
                    rules::CONNECT_MISSING_PSEUDO,
                    format!("extended CONNECT without {}", missing.join(" and ")),
                ));
            }
            if get("sec-websocket-key").is_some() {
                breaches.push((
                    rules::KEY_OR_ACCEPT_PRESENT,
                    "sec-websocket-key in an HTTP/2 CONNECT: RFC 8441 has no key (§5)".to_string(),
                ));
            }
            for (rule, detail) in breaches {
                self.violation(sid, Some(Dir::C2S), rule, detail, at, cx);
            }
        } else {
            self.requests += 1;
        }
        self.streams.insert(
            id,
            H2Stream {
                kind: if websocket {
                    Kind::Connect {
                        early: Vec::new(),
                        dropped: 0,
                    }
                } else {
                    Kind::Plain
                },
                request: headers,
                request_at: at,
                fed: PerDir::default(),
                ended: PerDir::default(),
                refusal_reported: false,
            },
        );
    }

    fn response(&mut self, id: u32, headers: Headers, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let Kind::Connect { early, dropped } = &mut s.kind else {
            return;
        };
        let status = headers
            .iter()
            .find(|(k, _)| k == ":status")
            .and_then(|(_, v)| v.trim().parse::<u16>().ok());
        // 1xx: informational, the real answer follows.
        if status.is_some_and(|st| (100..200).contains(&st)) {
            return;
        }
        let early = std::mem::take(early);
        let dropped = *dropped;
        let sid = SessionId {
            conn: cx.id.conn,
            stream: Some(id),
        };
        let ok = status.is_some_and(|st| (200..300).contains(&st));
        let req = &s.request;
        let get = |h: &Headers, n: &str| h.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let joined = |h: &Headers, n: &str| {
            let v: Vec<&str> = h
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect();
            (!v.is_empty()).then(|| v.join(", "))
        };
        let server_ext = joined(&headers, "sec-websocket-extensions");
        let deflate = if ok {
            server_ext
                .as_deref()
                .and_then(crate::ws::deflate::parse_permessage_deflate)
        } else {
            None
        };
        let path = get(req, ":path").unwrap_or_default();
        let server_sub = joined(&headers, "sec-websocket-protocol");
        let app = if ok {
            match self.cfg.decode {
                crate::app::DecodeMode::Off => None,
                crate::app::DecodeMode::Force(p) => Some(crate::app::Choice {
                    proto: p,
                    evidence: crate::app::Evidence::Forced,
                }),
                crate::app::DecodeMode::Auto => crate::app::by_handshake(server_sub.as_deref(), &path),
            }
        } else {
            None
        };
        let ev = HandshakeEvent {
            conn: cx.id.conn,
            session: sid,
            ts: s.request_at.ts,
            method: get(req, ":method").unwrap_or_default(),
            path,
            host: get(req, ":authority"),
            origin: get(req, "origin"),
            key: get(req, "sec-websocket-key"),
            version: get(req, "sec-websocket-version"),
            subprotocol: server_sub
                .clone()
                .or_else(|| joined(req, "sec-websocket-protocol")),
            extensions: server_ext
                .clone()
                .or_else(|| joined(req, "sec-websocket-extensions")),
            status,
            accept: get(&headers, "sec-websocket-accept"),
            accept_expected: None,
            accept_ok: None,
            request_headers: req.clone(),
            response_headers: headers.clone(),
            reason: None,
            response_ts: Some(at.ts),
            deflate,
            client_extensions: joined(req, "sec-websocket-extensions"),
            server_extensions: server_ext,
            client_subprotocols: req
                .iter()
                .filter(|(k, _)| k == "sec-websocket-protocol")
                .flat_map(|(_, v)| v.split(','))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            server_subprotocol: server_sub,
            rejected: Some(!ok),
            packet: s.request_at.packet,
            response_packet: Some(at.packet),
            decoder: app.clone(),
            http_version: Some("2"),
            protocol: get(req, ":protocol"),
        };
        let accept_present = ev.accept.is_some();
        cx.event(Event::Handshake(Box::new(ev)));
        if accept_present {
            self.violation(
                sid,
                Some(Dir::S2C),
                rules::KEY_OR_ACCEPT_PRESENT,
                "sec-websocket-accept in an HTTP/2 answer: RFC 8441 has no accept key (§5)".into(),
                at,
                cx,
            );
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if !ok {
            s.kind = Kind::Refused(status.unwrap_or(0));
            return;
        }
        self.ws_streams += 1;
        let mut ws = Box::new(WsSession::new(
            sid,
            self.cfg,
            WsParams {
                deflate,
                deflate_assumed: false,
                deflate_assumed_reported: false,
                handshake_seen: true,
                start: PerDir::default(),
                resync: PerDir::new(Resync::No, Resync::No),
                app,
            },
        ));
        let mut scx = cx.for_session(sid);
        for (t, packets, bytes) in early {
            ws.input(
                StreamInput::Data {
                    dir: Dir::C2S,
                    offset: s.fed[Dir::C2S],
                    bytes: &bytes,
                    packets,
                    at: t,
                    starts_write: true,
                },
                &mut scx,
            );
            s.fed[Dir::C2S] += bytes.len() as u64;
        }
        if dropped > 0 {
            ws.input(
                StreamInput::Gap {
                    dir: Dir::C2S,
                    offset: s.fed[Dir::C2S],
                    len: GapLen::Exact(dropped),
                    reason: crate::event::GapReason::BufferCap,
                    at,
                },
                &mut scx,
            );
            s.fed[Dir::C2S] += dropped;
        }
        s.kind = Kind::WebSocket(ws);
    }

    /// DATA bytes of stream `id` from `dir`.
    fn stream_data(
        &mut self,
        dir: Dir,
        id: u32,
        bytes: &[u8],
        packets: PacketSpan,
        at: Stamp,
        cx: &mut LayerCx<'_>,
    ) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let sid = SessionId {
            conn: cx.id.conn,
            stream: Some(id),
        };
        match &mut s.kind {
            Kind::WebSocket(ws) => {
                let offset = s.fed[dir];
                s.fed[dir] += bytes.len() as u64;
                ws.input(
                    StreamInput::Data {
                        dir,
                        offset,
                        bytes,
                        packets,
                        at,
                        starts_write: true,
                    },
                    &mut cx.for_session(sid),
                );
            }
            Kind::Connect { early, dropped } if dir == Dir::C2S => {
                let held: usize = early.iter().map(|(_, _, b)| b.len()).sum();
                if *dropped == 0 && held + bytes.len() <= MAX_HELD_EARLY {
                    early.push((at, packets, bytes.to_vec()));
                } else {
                    *dropped += bytes.len() as u64;
                }
            }
            Kind::Refused(status) if !s.refusal_reported => {
                let status = *status;
                s.refusal_reported = true;
                self.violation(
                    sid,
                    Some(dir),
                    rules::DATA_AFTER_REFUSAL,
                    format!("DATA on a WebSocket stream whose CONNECT was answered {status}"),
                    at,
                    cx,
                );
            }
            _ => {}
        }
    }

    /// Stream `id` ended in `dir` (END_STREAM, or RST_STREAM for both).
    fn stream_end(&mut self, dir: Dir, id: u32, rst: bool, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.ended[dir] {
            return;
        }
        s.ended[dir] = true;
        let sid = SessionId {
            conn: cx.id.conn,
            stream: Some(id),
        };
        if let Kind::WebSocket(ws) = &mut s.kind {
            ws.input(StreamInput::End { dir, rst, at }, &mut cx.for_session(sid));
        }
        if s.ended[Dir::C2S] && s.ended[Dir::S2C] {
            self.close_stream(id, at, cx);
        }
    }

    /// A stream is over: its session's summary joins the connection's.
    fn close_stream(&mut self, id: u32, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.streams.remove(&id) else { return };
        if let Kind::WebSocket(mut ws) = s.kind {
            let sid = SessionId {
                conn: cx.id.conn,
                stream: Some(id),
            };
            let sum = ws.finish(at, &mut cx.for_session(sid));
            merge(&mut self.done, sum);
        }
    }

    fn violation(
        &mut self,
        session: SessionId,
        dir: Option<Dir>,
        rule: &'static str,
        detail: String,
        at: Stamp,
        cx: &mut LayerCx<'_>,
    ) {
        self.violations += 1;
        cx.event(Event::Violation(ViolationEvent {
            conn: cx.id.conn,
            session,
            ts: at.ts,
            dir,
            rule,
            detail,
            packet: at.packet,
            frame_offset: None,
        }));
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

/// Adds a stream's summary to the connection's.
fn merge(into: &mut SessionSummary, s: SessionSummary) {
    for d in Dir::BOTH {
        into.frames[d] += s.frames[d];
        into.messages[d] += s.messages[d];
        if into.close[d].is_none() {
            into.close[d] = s.close[d].clone();
        }
    }
    into.close_first = into.close_first.or(s.close_first);
    into.rtt = match (into.rtt, s.rtt) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1, a.2.max(b.2))),
        (a, b) => a.or(b),
    };
    into.handshake_seen |= s.handshake_seen;
    into.violations += s.violations;
    if into.app.is_none() {
        into.app = s.app;
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
                let ids: Vec<u32> = self.streams.keys().copied().collect();
                for id in ids {
                    self.stream_end(dir, id, rst, at, cx);
                }
            }
        }
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.close_stream(id, at, cx);
        }
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
        let mut s = std::mem::take(&mut self.done);
        s.protocol = if self.ws_streams > 0 {
            Protocol::H2WebSocket
        } else {
            Protocol::H2
        };
        s.violations += self.violations;
        s.h2_ws_streams = self.ws_streams;
        s
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
        let streams: usize = self
            .streams
            .values()
            .map(|s| {
                std::mem::size_of::<H2Stream>()
                    + 48
                    + s.request
                        .iter()
                        .map(|(k, v)| k.capacity() + v.capacity() + 48)
                        .sum::<usize>()
                    + match &s.kind {
                        Kind::WebSocket(ws) => ws.heap_bytes() + std::mem::size_of::<WsSession>(),
                        Kind::Connect { early, .. } => early.iter().map(|(_, _, b)| b.capacity() + 48).sum(),
                        _ => 0,
                    }
            })
            .sum();
        sides + streams
    }

    /// A gap in the connection is no one stream's frame.
    fn frame_in_progress(&self, _dir: Dir) -> Option<u64> {
        None
    }
}
