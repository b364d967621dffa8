//! One WebSocket session: frames → events, messages, RFC checks, closes and
//! ping round-trips — for a session that is a whole TCP connection (after an
//! HTTP/1.1 upgrade, or picked up without a handshake) or, later, one HTTP/2
//! stream. It knows nothing of HTTP: whoever found the session builds it
//! from [`WsParams`] (negotiated deflate, where each direction's frames
//! start, whether their first header is known).
//!
//! Each direction has a [`FrameDecoder`], an [`Assembler`] and, with
//! permessage-deflate, an [`Inflater`]. Frames become [`FrameEvent`]s
//! (stamped with the packets that carried them), complete messages
//! [`MessageEvent`]s right after the frame that completes them, and rule
//! breaches [`ViolationEvent`]s.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::decoder::{Decoded, Expect, FrameDecoder, RawFrame};
use super::deflate::{INFLATER_BYTES, Inflater, no_context_takeover};
use super::frame::Opcode;
use super::message::{Assembled, Assembler, DataFrame, Utf8Verdict, utf8_verdict};
use super::ping::PingTracker;
use super::rules::{self, Breach};
use crate::app::{AppLayer, DecodeMode};
use crate::diag;
use crate::event::{DeflateParams, Event, FrameEvent, MessageEvent, Protocol, ViolationEvent};
use crate::model::{Dir, PacketSpan, PerDir, SessionId, Stamp};
use crate::stream::{ByteLayer, GapLen, LayerCx, SessionSummary, SpanLog, StreamInput};

/// Session settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// `--ws-port`: treat as WebSocket even without a handshake.
    pub force_ws: bool,
    /// Payload bytes kept per frame (the rest is counted, frame truncated).
    pub max_frame_bytes: usize,
    /// Bytes kept per message, and the inflate (decompression-bomb) cap.
    pub max_message_bytes: usize,
    /// The TCP layer saw where both byte streams start (SYN or SYN+ACK). When
    /// it did not, a stream may begin in the middle of a frame, and detection
    /// looks further in for the first frame header.
    pub stream_start_seen: bool,
    /// Inflate permessage-deflate messages. A consumer that only counts
    /// (`conns`) turns it off: inflating is most of the work on a
    /// compressed capture and nothing it shows needs the inflated bytes —
    /// except the UTF-8 check of compressed text messages, which is then
    /// not made (README, `conns`).
    pub inflate: bool,
    /// Keep data frames' payloads in their frame events. A consumer that
    /// shows no frame payload (`conns`) turns it off: a message of one
    /// frame then takes the frame's bytes instead of a copy of them.
    /// Control frames keep theirs (close reasons, ping data: small).
    pub frame_payloads: bool,
    /// What `--decode` asked for this connection (application protocols
    /// inside messages, [`crate::app`]).
    pub decode: crate::app::DecodeMode,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            force_ws: false,
            max_frame_bytes: 16 << 20,
            max_message_bytes: 64 << 20,
            stream_start_seen: true,
            inflate: true,
            frame_payloads: true,
            decode: crate::app::DecodeMode::Auto,
        }
    }
}

/// Is the position of a direction's first frame header known?
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resync {
    /// Frames start at the first byte fed.
    #[default]
    No,
    /// Unknown (picked up mid-stream): look for a run of frames.
    Unknown,
    /// The handshake was cut by a gap: the first header follows it, at the
    /// start of a segment.
    AfterGap,
}

/// What whoever found the session knows about it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WsParams {
    /// permessage-deflate as negotiated by the handshake.
    pub deflate: Option<DeflateParams>,
    /// No handshake was captured and RSV1 is allowed: permessage-deflate
    /// with context takeover is assumed.
    pub deflate_assumed: bool,
    /// The assumption was already explained to the user.
    pub deflate_assumed_reported: bool,
    /// The handshake was captured (else: history before the capture is lost).
    pub handshake_seen: bool,
    /// Stream offset of the first byte each direction will be fed.
    pub start: PerDir<u64>,
    pub resync: PerDir<Resync>,
    /// The application protocol the handshake named (subprotocol or URL).
    pub app: Option<crate::app::Choice>,
}

/// One direction of a session.
#[derive(Debug)]
struct WsDir {
    decoder: FrameDecoder,
    assembler: Assembler,
    /// Boxed: most sessions never inflate, and the state is ~170 bytes.
    inflater: Option<Box<Inflater>>,
    closed: bool,
    data_after_close_reported: bool,
    /// Which packets carried which bytes, for frame stamps.
    spans: SpanLog,
}

/// One WebSocket session.
#[derive(Debug)]
pub struct WsSession {
    id: SessionId,
    cfg: SessionConfig,
    deflate: Option<DeflateParams>,
    deflate_assumed: bool,
    deflate_assumed_reported: bool,
    handshake_seen: bool,
    dirs: PerDir<WsDir>,
    frames: PerDir<u64>,
    messages: PerDir<u64>,
    close: PerDir<Option<(Option<u16>, Option<String>)>>,
    close_first: Option<Dir>,
    pings: PingTracker,
    violations: u64,
    scratch: Vec<Decoded>,
    /// Application messages inside: built at the first message (a million
    /// upgrades that never send one cost nothing more); never with
    /// `--decode none`.
    app: Option<Box<AppLayer>>,
    /// What the handshake named, until then.
    app_named: Option<Box<crate::app::Choice>>,
}

/// Most stream bytes decoded before their frames are processed (larger
/// inputs are fed in slices; ordinary segments are far smaller).
const FEED_SLICE: usize = 1 << 20;

/// Decoded items whose room is kept between inputs.
const SCRATCH_KEEP: usize = 4096;

impl WsSession {
    pub fn new(id: SessionId, cfg: SessionConfig, p: WsParams) -> Self {
        let deflate_on = p.deflate.is_some() || p.deflate_assumed;
        let history_missing = if p.handshake_seen {
            None
        } else {
            Some("no handshake captured: the connection started before the capture")
        };
        let lost = !p.handshake_seen;
        let mk = |dir: Dir| {
            let mut decoder = FrameDecoder::new(
                p.start[dir],
                cfg.max_frame_bytes,
                Expect {
                    masked: dir == Dir::C2S,
                    rsv1: deflate_on,
                },
            );
            match p.resync[dir] {
                Resync::No => {}
                Resync::Unknown => decoder.start_resync("position of the first frame unknown"),
                Resync::AfterGap => decoder.start_resync_after_gap("after the handshake was cut by a gap"),
            }
            let nct = p.deflate.as_ref().is_some_and(|d| no_context_takeover(d, dir));
            WsDir {
                decoder,
                assembler: Assembler::new(cfg.max_message_bytes, lost || p.resync[dir] != Resync::No),
                inflater: (deflate_on && cfg.inflate)
                    .then(|| Box::new(Inflater::new(nct, cfg.max_message_bytes, history_missing))),
                closed: false,
                data_after_close_reported: false,
                spans: SpanLog::default(),
            }
        };
        WsSession {
            id,
            cfg,
            deflate: p.deflate,
            deflate_assumed: p.deflate_assumed,
            deflate_assumed_reported: p.deflate_assumed_reported,
            handshake_seen: p.handshake_seen,
            dirs: PerDir::new(mk(Dir::C2S), mk(Dir::S2C)),
            frames: PerDir::default(),
            messages: PerDir::default(),
            close: PerDir::default(),
            close_first: None,
            pings: PingTracker::default(),
            violations: 0,
            scratch: Vec::new(),
            app: None,
            app_named: p.app.map(Box::new),
        }
    }

    /// Which packets carried bytes that are (or will be) fed to `dir`.
    pub fn spans_mut(&mut self, dir: Dir) -> &mut SpanLog {
        &mut self.dirs[dir].spans
    }

    /// Stream bytes of `dir`, released at `at`. Their packets must have been
    /// recorded in [`WsSession::spans_mut`] (the `ByteLayer` input does it).
    pub fn feed(&mut self, dir: Dir, at: Stamp, bytes: &[u8], cx: &mut LayerCx<'_>) {
        let mut items = std::mem::take(&mut self.scratch);
        // A hole filled (or flushed) at last can release megabytes at once:
        // decoded a slice at a time, the frames waiting to be processed stay
        // few (8 MB of 3-byte frames would otherwise be 2.7 M of them).
        for slice in bytes.chunks(FEED_SLICE) {
            self.dirs[dir].decoder.feed(slice, &mut items);
            self.process(dir, at, &mut items, cx);
        }
        if items.capacity() > SCRATCH_KEEP {
            items = Vec::new();
        }
        self.scratch = items;
    }

    /// `len` bytes of `dir` were lost.
    pub fn gap(&mut self, dir: Dir, at: Stamp, len: u64, cx: &mut LayerCx<'_>) {
        let mut items = std::mem::take(&mut self.scratch);
        self.dirs[dir].decoder.on_gap(len, &mut items);
        self.process(dir, at, &mut items, cx);
        self.scratch = items;
        let mut done = Vec::new();
        let mut poisoned = false;
        let w = &mut self.dirs[dir];
        w.assembler.on_gap(&mut done);
        if let Some(inf) = w.inflater.as_mut() {
            inf.on_gap();
            poisoned = inf.context_takeover();
        }
        for m in done {
            self.message(dir, at, m, cx);
        }
        if poisoned && self.deflate.is_some() {
            cx.diagnostic(at, Some(dir), diag::WS_INFLATE_HISTORY_LOST, format!(
                "{len} bytes lost in {dir} with permessage-deflate context takeover: later messages that refer \
                 to data before the gap cannot be inflated"
            ));
        }
    }

    /// Stream offset of the frame `dir`'s next bytes belong to, if inside one.
    pub fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        self.dirs[dir].decoder.frame_in_progress()
    }

    /// A gap of unknown length preceded the next bytes of `dir` (a layer
    /// below lost record boundaries): look for the next frame header.
    pub fn lost_boundaries(&mut self, dir: Dir) {
        self.dirs[dir]
            .decoder
            .start_resync_after_gap("frame boundaries lost in a gap of unknown length");
    }

    /// `dir` ended: flush a partial frame and message as truncated.
    pub fn end(&mut self, dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
        let mut items = std::mem::take(&mut self.scratch);
        self.dirs[dir].decoder.finish(&mut items);
        self.process(dir, at, &mut items, cx);
        self.scratch = items;
        let mut done = Vec::new();
        self.dirs[dir].assembler.finish(&mut done);
        for m in done {
            self.message(dir, at, m, cx);
        }
    }

    /// What the session saw, for the connection's `close` record.
    pub fn summary(&mut self) -> SessionSummary {
        SessionSummary {
            h2_ws_streams: 0,
            protocol: Protocol::WebSocket,
            frames: self.frames,
            messages: self.messages,
            close: self.close.clone(),
            close_first: self.close_first,
            rtt: self.pings.summary(),
            handshake_seen: self.handshake_seen,
            violations: self.violations,
            tls: None,
            app: match (&mut self.app, &self.app_named) {
                (Some(a), _) => a.finish(),
                // Named by the handshake, no message since: still said.
                (None, Some(c)) if self.cfg.decode != DecodeMode::Off => {
                    AppLayer::new(self.cfg.decode, Some((**c).clone())).finish()
                }
                _ => None,
            },
        }
    }

    /// Heap bytes held: frames and messages in progress, inflater states,
    /// packet spans, pings (not the session's own size: its owner counts it).
    pub fn heap_bytes(&self) -> usize {
        let dirs: usize = self
            .dirs
            .iter()
            .map(|(_, d)| {
                d.spans
                    .heap_bytes()
                    .saturating_add(d.decoder.heap_bytes())
                    .saturating_add(d.assembler.heap_bytes())
                    .saturating_add(if d.inflater.is_some() { INFLATER_BYTES } else { 0 })
            })
            .fold(0, usize::saturating_add);
        // The layer's own allocation counts too (as the decoder's would).
        let app = self.app.as_ref().map_or(0, |a| {
            a.heap_bytes().saturating_add(std::mem::size_of::<AppLayer>())
        });
        dirs.saturating_add(app)
            .saturating_add(self.pings.heap_bytes())
            .saturating_add(
                self.scratch
                    .capacity()
                    .saturating_mul(std::mem::size_of::<Decoded>()),
            )
    }

    fn process(&mut self, dir: Dir, at: Stamp, items: &mut Vec<Decoded>, cx: &mut LayerCx<'_>) {
        for item in items.drain(..) {
            match item {
                Decoded::Frame(f) => self.frame(dir, at, f, cx),
                Decoded::Undecodable { offset, len, reason } => cx.diagnostic(
                    at,
                    Some(dir),
                    diag::WS_RESYNC,
                    format!("{len} undecodable bytes skipped at {dir} offset {offset} ({reason})"),
                ),
            }
        }
    }

    fn frame(&mut self, dir: Dir, at: Stamp, mut f: RawFrame, cx: &mut LayerCx<'_>) {
        let ts = at.ts;
        let deflate_on = self.deflate.is_some() || self.deflate_assumed;
        let h = f.header;
        let end = f
            .offset
            .saturating_add(h.header_len as u64)
            .saturating_add(h.payload_len);
        let me = &mut self.dirs[dir];
        // A frame's bytes all came in before it was emitted: never empty,
        // but stay total if a producer recorded nothing.
        let packets = me.spans.span(f.offset, end).unwrap_or(PacketSpan::one(at.packet));
        me.spans.forget_before(f.offset);
        let mut breaches: Vec<Breach> = Vec::new();
        match &f.cut {
            Some(p) => rules::check_header_prefix(p, dir, deflate_on, &mut breaches),
            None => rules::check_header(&h, dir, deflate_on, &mut breaches),
        }
        let mut done: Vec<Assembled> = Vec::new();
        let mut ev = FrameEvent {
            conn: self.id.conn,
            session: self.id,
            packets,
            ts,
            dir,
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode.0,
            masked: h.masked,
            mask_key: h.mask_key,
            len: h.payload_len,
            len_bits: h.len_bits,
            header_len: u8::try_from(h.header_len).unwrap_or(u8::MAX),
            offset: f.offset,
            payload: Vec::new(),
            truncated: f.truncated,
            close_code: None,
            close_reason: None,
            rtt: None,
            header_captured: f
                .cut
                .as_ref()
                .map(|_| u8::try_from(h.header_len).unwrap_or(u8::MAX)),
            header_bytes: f.cut.as_ref().map(|c| c.bytes.clone()),
        };
        let mut close_now = None;
        // Track the peer's actual masking so that resync looks for what it sends.
        if f.cut.is_none() {
            me.decoder.set_expect(Expect {
                masked: h.masked,
                ..me.decoder.expect()
            });
        }
        if me.closed && !me.data_after_close_reported {
            me.data_after_close_reported = true;
            breaches.push((
                rules::DATA_AFTER_CLOSE,
                format!("{} frame after this side's close frame", h.opcode),
            ));
        }
        match h.opcode {
            // A header cut by the end of the stream carries no payload: its
            // fields are judged above; there is no close code, ping or
            // message part to take from it.
            _ if f.cut.is_some() => {}
            Opcode::CLOSE => {
                let c = rules::parse_close(&f.payload, f.truncated, &mut breaches);
                ev.close_code = c.code;
                ev.close_reason = c.reason.clone();
                if !me.closed {
                    me.closed = true;
                    close_now = Some((c.code, c.reason));
                }
            }
            Opcode::PING => self.pings.ping(dir, &f.payload, ts),
            Opcode::PONG => ev.rtt = self.pings.pong(dir, &f.payload, ts),
            op if !op.is_control() => me.assembler.on_data_frame(
                DataFrame {
                    opcode: op.0,
                    fin: h.fin,
                    rsv1: h.rsv1() && deflate_on,
                    payload: if self.cfg.frame_payloads {
                        std::borrow::Cow::Borrowed(&f.payload)
                    } else {
                        std::borrow::Cow::Owned(std::mem::take(&mut f.payload))
                    },
                    declared_len: h.payload_len,
                    truncated: f.truncated,
                    offset: f.offset,
                    packets,
                },
                &mut breaches,
                &mut done,
            ),
            _ => {}
        }
        if let Some(c) = close_now {
            self.close[dir] = Some(c);
            self.close_first.get_or_insert(dir);
        }
        self.frames[dir] = self.frames[dir].saturating_add(1);
        ev.payload = f.payload;
        cx.event(Event::Frame(ev));
        // A breach is in the packet that brought the frame's last byte (not
        // the FIN or the later packet that ended a frame cut short).
        let seen = Stamp::new(at.ts, packets.last);
        for b in breaches {
            self.violation(seen, Some(dir), Some(f.offset), b, cx);
        }
        if f.capped > 0 {
            cx.diagnostic(
                at,
                Some(dir),
                diag::WS_FRAME_CAPPED,
                format!(
                    "frame at {dir} offset {} declares {} payload bytes; only the first {} were kept \
                 (max frame bytes), {} dropped",
                    f.offset, h.payload_len, self.cfg.max_frame_bytes, f.capped
                ),
            );
        }
        for m in done {
            self.message(dir, at, m, cx);
        }
    }

    fn message(&mut self, dir: Dir, at: Stamp, m: Assembled, cx: &mut LayerCx<'_>) {
        let ts = at.ts;
        let first_frame = m.first_offset;
        let seen = Stamp::new(at.ts, m.packets.map_or(at.packet, |p| p.last));
        let seq = self.messages[dir];
        self.messages[dir] = seq.saturating_add(1);
        if m.capped > 0 {
            cx.diagnostic(
                at,
                Some(dir),
                diag::WS_MESSAGE_CAPPED,
                format!(
                    "message of {} wire bytes exceeds max message bytes ({}); {} bytes dropped",
                    m.wire_len, self.cfg.max_message_bytes, m.capped
                ),
            );
        }
        let mut truncated = m.truncated;
        let mut inflate_error = None;
        let (data, utf8) = if m.rsv1 {
            let assumed = self.deflate.is_none();
            let r = self.dirs[dir]
                .inflater
                .as_mut()
                .map(|i| i.inflate_message(&m.data, m.truncated));
            match r {
                Some(r) => {
                    if assumed && !self.deflate_assumed_reported {
                        self.deflate_assumed_reported = true;
                        let how = match &r.error {
                            None => "it inflated correctly".to_string(),
                            Some(e) => format!("inflating failed: {e}"),
                        };
                        cx.diagnostic(at, Some(dir), diag::WS_DEFLATE_ASSUMED, format!(
                            "RSV1 set without a captured handshake: assumed permessage-deflate with context \
                             takeover; {how}"
                        ));
                    }
                    if r.capped {
                        truncated = true;
                        cx.diagnostic(
                            at,
                            Some(dir),
                            diag::WS_INFLATE_CAPPED,
                            format!(
                                "inflated message exceeds {} bytes (decompression-bomb cap): output cut",
                                self.cfg.max_message_bytes
                            ),
                        );
                    }
                    match r.error {
                        Some(e) => {
                            inflate_error = Some(e);
                            (m.data, None)
                        }
                        None => {
                            let v = utf8_verdict(&r.data);
                            (r.data, Some(v))
                        }
                    }
                }
                None => (m.data, None),
            }
        } else {
            let v = m.utf8.verdict(&m.data);
            (m.data, Some(v))
        };
        let texty = m.opcode == 1 || (m.opcode == 0 && m.truncated);
        let is_text = texty
            && match utf8 {
                Some(Utf8Verdict::Valid) => true,
                Some(Utf8Verdict::IncompleteTail(_)) => truncated,
                _ => false,
            };
        let bad_utf8 = match utf8 {
            Some(Utf8Verdict::Invalid(at)) => Some(at),
            Some(Utf8Verdict::IncompleteTail(at)) if !truncated => Some(at),
            _ => None,
        };
        // Whole messages only: a part decodes to nonsense or not at all.
        if self.app.is_none() && self.cfg.decode != DecodeMode::Off {
            let named = self.app_named.take().map(|c| *c);
            self.app = Some(Box::new(AppLayer::new(self.cfg.decode, named)));
        }
        let decoded = match self.app.as_mut() {
            Some(app) if !truncated && inflate_error.is_none() => app.message(dir, &data, is_text, seen),
            _ => None,
        };
        let ev = MessageEvent {
            decoded,
            conn: self.id.conn,
            session: self.id,
            seq,
            first_frame_offset: m.first_offset,
            packets: m.packets,
            ts,
            dir,
            opcode: m.opcode,
            frames: m.frames,
            compressed: m.rsv1,
            wire_len: m.wire_len,
            is_text,
            inflate_error,
            truncated,
            data,
        };
        cx.event(Event::Message(ev));
        if m.opcode == 1
            && let Some(pos) = bad_utf8
        {
            self.violation(
                seen,
                Some(dir),
                Some(first_frame),
                (
                    rules::INVALID_UTF8_TEXT,
                    format!("text message is not valid UTF-8 at byte {pos}"),
                ),
                cx,
            );
        }
    }

    /// A rule breach by the peers of this session, about the frame at
    /// stream offset `frame` (when it concerns one).
    pub fn violation(
        &mut self,
        at: Stamp,
        dir: Option<Dir>,
        frame: Option<u64>,
        b: Breach,
        cx: &mut LayerCx<'_>,
    ) {
        self.violations = self.violations.saturating_add(1);
        cx.event(Event::Violation(ViolationEvent {
            conn: self.id.conn,
            session: self.id,
            ts: at.ts,
            dir,
            rule: b.0,
            detail: b.1,
            packet: at.packet,
            frame_offset: frame,
        }));
    }

    /// Violations counted before the session existed (the handshake's).
    pub fn add_violations(&mut self, n: u64) {
        self.violations = self.violations.saturating_add(n);
    }
}

/// A session fed directly (HTTP/2 streams, headerless connections, tests):
/// records each chunk's packets, then decodes it.
impl ByteLayer for WsSession {
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
                self.dirs[dir].spans.record(offset, bytes.len(), packets);
                self.feed(dir, at, bytes, cx);
            }
            StreamInput::Gap { dir, len, at, .. } => match len {
                GapLen::Exact(n) => self.gap(dir, at, n, cx),
                // Frame boundaries inside the gap are unknown: what follows
                // is decoded after a resynchronisation.
                GapLen::AtLeast(n) => {
                    self.gap(dir, at, n, cx);
                    self.lost_boundaries(dir);
                }
            },
            StreamInput::End { dir, at, .. } => self.end(dir, at, cx),
        }
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        for dir in Dir::BOTH {
            self.end(dir, at, cx);
        }
        self.summary()
    }

    fn heap_bytes(&self) -> usize {
        WsSession::heap_bytes(self)
    }

    fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        WsSession::frame_in_progress(self, dir)
    }
}
