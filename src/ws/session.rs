//! The per-connection HTTP → WebSocket state machine.
//!
//! A [`Session`] starts in HTTP: requests from the client and responses from
//! the server are parsed (pipelined non-upgrade exchanges and their bodies
//! are skipped). An upgrade request holds further client bytes (bounded)
//! until its answer decides: `101` switches both directions to frame
//! decoding (bytes after the response head are frames), anything else
//! leaves the connection HTTP. Without a handshake (capture started late), a
//! direction whose first bytes are not HTTP is tested for a run of plausible
//! frames; `force_ws` skips that test.
//!
//! In WebSocket mode each direction has a [`FrameDecoder`], an [`Assembler`]
//! and, with permessage-deflate, an [`Inflater`]. Frames become
//! [`FrameEvent`]s (with close code/reason, pong RTT), complete messages
//! [`MessageEvent`]s right after the frame that completes them, and rule
//! breaches [`ViolationEvent`]s.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::collections::VecDeque;

use super::decoder::{Decoded, Expect, FrameDecoder, RawFrame, RunVerdict, check_run};
use super::deflate::{Inflater, no_context_takeover, parse_permessage_deflate};
use super::frame::Opcode;
use super::message::{Assembled, Assembler, Utf8Verdict, utf8_verdict};
use super::rules::{self, Breach};
use crate::event::{
    ConnId, DeflateParams, DiagnosticEvent, Dir, Event, EventSink, FrameEvent, HandshakeEvent, MessageEvent,
    Protocol, Timestamp, ViolationEvent,
};
use crate::http::Headers;
use crate::http::accept_for_key;
use crate::http::handshake::{
    HeadError, HttpItem, HttpStream, Looks, RequestHead, ResponseHead, Side, looks_like_request,
    looks_like_response,
};
use crate::model::{PerDir, Stamp};
use crate::stream::{ByteLayer, LayerCx, StreamInput};

/// Client bytes held after an upgrade request until the answer is seen.
const MAX_HELD: usize = 1 << 20;
/// Bytes buffered while deciding whether a direction carries WebSocket frames.
const MAX_DETECT: usize = 256 * 1024;
/// Pipelined requests remembered while their answers are outstanding.
const MAX_PENDING_REQUESTS: usize = 1024;
/// Ping round-trip times kept for the min/median/max summary.
const MAX_RTT_SAMPLES: usize = 100_000;
/// Outstanding pings remembered per direction for RTT matching.
const MAX_PINGS: usize = 64;

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
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            force_ws: false,
            max_frame_bytes: 16 << 20,
            max_message_bytes: 64 << 20,
            stream_start_seen: true,
        }
    }
}

/// What a session learned about its connection.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SessionSummary {
    pub protocol: Protocol,
    pub frames: PerDir<u64>,
    pub messages: PerDir<u64>,
    /// Close frame sent in each direction: (code, reason).
    pub close: PerDir<Option<(Option<u16>, Option<String>)>>,
    pub close_first: Option<Dir>,
    /// Ping round-trip times in seconds: (min, median, max).
    pub rtt: Option<(f64, f64, f64)>,
    pub handshake_seen: bool,
    pub violations: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Http,
    WebSocket,
    /// Not HTTP and not WebSocket: bytes are ignored.
    Other,
}

/// An upgrade request waiting for its answer.
#[derive(Debug)]
struct PendingUpgrade {
    ts: Timestamp,
    head: RequestHead,
    /// Client bytes after the request, with their chunk timestamps.
    held: Vec<(Timestamp, Vec<u8>)>,
    held_len: usize,
    dropped: u64,
    /// Some of `dropped` is a capture gap (not only the hold buffer's cap).
    gap: bool,
}

#[derive(Debug)]
struct WsDir {
    decoder: FrameDecoder,
    assembler: Assembler,
    inflater: Option<Inflater>,
    closed: bool,
    data_after_close_reported: bool,
    /// Pings sent in this direction: (payload, ts).
    pings: VecDeque<(Vec<u8>, Timestamp)>,
}

/// One connection's HTTP/WebSocket state.
#[derive(Debug)]
pub struct Session {
    conn: ConnId,
    cfg: SessionConfig,
    mode: Mode,
    saw_http: bool,
    http: [HttpStream; 2],
    /// Per direction: at least one HTTP head parsed.
    http_started: [bool; 2],
    /// Per direction: HTTP parsing gave up after a gap or an error.
    http_dead: [bool; 2],
    /// Methods of requests not yet answered, oldest first.
    pending_methods: VecDeque<String>,
    upgrade: Option<PendingUpgrade>,
    /// Bytes (data and gaps) seen per direction.
    pos: [u64; 2],
    /// Not-yet-HTTP bytes being tested for WebSocket frames.
    detect: [Option<Vec<u8>>; 2],
    /// Length of `detect` when it was last scanned for a mid-frame start.
    detect_scanned: [usize; 2],
    handshake_seen: bool,
    deflate: Option<DeflateParams>,
    /// permessage-deflate assumed (no handshake captured).
    deflate_assumed: bool,
    deflate_assumed_reported: bool,
    ws: Option<Box<[WsDir; 2]>>,
    frames: [u64; 2],
    messages: [u64; 2],
    close: [Option<(Option<u16>, Option<String>)>; 2],
    close_first: Option<Dir>,
    rtts: Vec<f64>,
    violations: u64,
    scratch: Vec<Decoded>,
    /// Switching to frames after a gap (not at an unknown stream start): the
    /// data that follows begins a TCP segment.
    resync_after_gap: bool,
}

impl Session {
    pub fn new(conn: ConnId, cfg: SessionConfig) -> Session {
        Session {
            conn,
            cfg,
            mode: Mode::Http,
            saw_http: false,
            http: [HttpStream::new(Side::Request), HttpStream::new(Side::Response)],
            http_started: [false; 2],
            http_dead: [false; 2],
            pending_methods: VecDeque::new(),
            upgrade: None,
            pos: [0; 2],
            detect: [None, None],
            detect_scanned: [0; 2],
            handshake_seen: false,
            deflate: None,
            deflate_assumed: false,
            deflate_assumed_reported: false,
            ws: None,
            frames: [0; 2],
            messages: [0; 2],
            close: [None, None],
            close_first: None,
            rtts: Vec::new(),
            violations: 0,
            scratch: Vec::new(),
            resync_after_gap: false,
        }
    }

    /// What the connection carries, as far as seen.
    pub fn protocol(&self) -> Protocol {
        match self.mode {
            Mode::WebSocket => Protocol::WebSocket,
            _ if self.saw_http => Protocol::Http,
            _ => Protocol::Other,
        }
    }

    // ------------------------------------------------------------ input

    pub fn on_data(&mut self, dir: Dir, ts: Timestamp, bytes: &[u8], out: &mut dyn EventSink) {
        let i = dir.index();
        if let Some(p) = self.pos.get_mut(i) {
            *p = p.saturating_add(bytes.len() as u64);
        }
        match self.mode {
            Mode::Other => {}
            Mode::WebSocket => self.ws_feed(dir, ts, bytes, out),
            Mode::Http => {
                if let Some(buf) = self.detect.get_mut(i).and_then(Option::as_mut) {
                    buf.extend_from_slice(bytes);
                    self.run_detection(dir, ts, false, out);
                } else if self.http_dead.get(i).copied().unwrap_or(true) {
                } else if dir == Dir::C2S {
                    if let Some(up) = self.upgrade.as_mut() {
                        hold(up, ts, bytes);
                    } else {
                        self.http[0].push(bytes);
                        self.http_requests(ts, out);
                    }
                } else {
                    self.http[1].push(bytes);
                    self.http_responses(ts, out);
                }
            }
        }
    }

    /// The analyzer has already emitted the `Event::Gap` itself; the session
    /// resyncs / marks truncated.
    pub fn on_gap(&mut self, dir: Dir, ts: Timestamp, len: u64, out: &mut dyn EventSink) {
        let i = dir.index();
        match self.mode {
            Mode::Other => {}
            Mode::WebSocket => self.ws_gap(dir, ts, len, out),
            Mode::Http => {
                if self.detect.get(i).is_some_and(Option::is_some) {
                    // Bytes before the gap were not conclusive; start over after it.
                    if let Some(d) = self.detect.get_mut(i) {
                        *d = Some(Vec::new());
                    }
                } else if dir == Dir::C2S
                    && let Some(up) = self.upgrade.as_mut()
                {
                    // Client bytes after the request were lost; the answer is
                    // still to come. Held bytes stop here: what follows is
                    // dropped and replayed as a gap once the answer decides.
                    up.dropped = up.dropped.saturating_add(len);
                    up.gap = true;
                } else if let Some(up) = self.upgrade.take() {
                    // The answer to the upgrade fell in the gap:
                    // assume the upgrade went through and look for frames after it.
                    self.diag(ts, Some(dir), "http-gap", format!(
                        "{len} bytes lost while the WebSocket upgrade was pending; assuming it succeeded and \
                         looking for frames"
                    ), out);
                    self.emit_handshake(&up, None, None, out);
                    self.deflate_assumed = offers_deflate(&up.head.headers);
                    self.upgrade = Some(up);
                    if dir == Dir::S2C {
                        // A partial response head before the gap: not frames.
                        let _ = self.http[1].take_buffered();
                    }
                    self.switch_to_ws(ts, [false, false], out);
                    self.ws_gap(dir, ts, len, out);
                } else if dir == Dir::S2C && is_partial_101(self.http[1].buffered()) {
                    // The answer was cut by the capture (snapshot length, loss)
                    // but what was kept says 101: the connection upgraded.
                    self.cut_handshake(ts, len, out);
                } else if !self.http_dead.get(i).copied().unwrap_or(true) {
                    if let Some(d) = self.http_dead.get_mut(i) {
                        *d = true;
                    }
                    self.diag(
                        ts,
                        Some(dir),
                        "http-gap",
                        format!(
                            "{len} bytes lost in the HTTP stream; the rest of this direction is not parsed"
                        ),
                        out,
                    );
                }
            }
        }
        if let Some(p) = self.pos.get_mut(i) {
            *p = p.saturating_add(len);
        }
    }

    pub fn on_fin(&mut self, dir: Dir, ts: Timestamp, out: &mut dyn EventSink) {
        self.end_dir(dir, ts, out);
    }

    pub fn on_rst(&mut self, dir: Dir, ts: Timestamp, out: &mut dyn EventSink) {
        self.end_dir(dir, ts, out);
    }

    /// End of connection or of input: flush partial frames/messages
    /// (truncated), return the summary.
    pub fn finish(&mut self, ts: Timestamp, out: &mut dyn EventSink) -> SessionSummary {
        for dir in Dir::BOTH {
            if self.detect.get(dir.index()).is_some_and(Option::is_some) {
                self.run_detection(dir, ts, true, out);
            }
        }
        if let Some(up) = self.upgrade.take() {
            // Never answered: report the request; held client bytes may be frames.
            self.emit_handshake(&up, None, None, out);
            self.deflate_assumed = offers_deflate(&up.head.headers);
            let held_frames = up.held.first().is_some_and(|(_, b)| {
                matches!(
                    check_run(
                        b,
                        Expect {
                            masked: true,
                            rsv1: true
                        }
                    ),
                    RunVerdict::Accept { .. }
                )
            });
            if held_frames {
                self.diag(
                    ts,
                    Some(Dir::C2S),
                    "ws-upgrade-unanswered",
                    "no answer to the upgrade request was \
                    captured, but the client sent frames: decoding them"
                        .into(),
                    out,
                );
                self.upgrade = Some(up);
                self.switch_to_ws(ts, [false, true], out);
            }
        }
        if self.mode == Mode::WebSocket {
            for dir in Dir::BOTH {
                self.end_dir(dir, ts, out);
            }
        }
        let rtt = if self.rtts.is_empty() {
            None
        } else {
            let v = &mut self.rtts;
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let mid = n / 2;
            let median = if n % 2 == 1 {
                v.get(mid).copied().unwrap_or(0.0)
            } else {
                (v.get(mid.saturating_sub(1)).copied().unwrap_or(0.0) + v.get(mid).copied().unwrap_or(0.0))
                    / 2.0
            };
            Some((
                v.first().copied().unwrap_or(0.0),
                median,
                v.last().copied().unwrap_or(0.0),
            ))
        };
        SessionSummary {
            protocol: self.protocol(),
            frames: PerDir(self.frames),
            messages: PerDir(self.messages),
            close: PerDir(self.close.clone()),
            close_first: self.close_first,
            rtt,
            handshake_seen: self.handshake_seen,
            violations: self.violations,
        }
    }

    // ------------------------------------------------------------ HTTP

    fn http_requests(&mut self, ts: Timestamp, out: &mut dyn EventSink) {
        loop {
            match self.http[0].next_item() {
                HttpItem::Request(h) => {
                    self.saw_http = true;
                    self.http_started[0] = true;
                    // Unanswered requests are bounded (a dead response side
                    // must not grow this for the life of the connection).
                    if self.pending_methods.len() >= MAX_PENDING_REQUESTS {
                        self.pending_methods.pop_front();
                    }
                    self.pending_methods.push_back(h.method.clone());
                    if h.is_websocket_upgrade() {
                        let rest = self.http[0].take_buffered();
                        let mut up = PendingUpgrade {
                            ts,
                            head: h,
                            held: Vec::new(),
                            held_len: 0,
                            dropped: 0,
                            gap: false,
                        };
                        hold(&mut up, ts, &rest);
                        self.upgrade = Some(up);
                        return;
                    }
                    let f = h.body_framing();
                    self.http[0].skip_body(f);
                }
                HttpItem::Response(_) => return,
                HttpItem::NeedMore => {
                    if !self.http_started[0] && looks_like_request(self.http[0].buffered()) == Looks::No {
                        self.not_http(Dir::C2S, ts, out);
                    }
                    return;
                }
                HttpItem::Error(e) => {
                    self.http_error(Dir::C2S, ts, e, out);
                    return;
                }
            }
        }
    }

    fn http_responses(&mut self, ts: Timestamp, out: &mut dyn EventSink) {
        loop {
            match self.http[1].next_item() {
                HttpItem::Response(h) => {
                    self.saw_http = true;
                    self.http_started[1] = true;
                    if h.is_interim() {
                        continue;
                    }
                    let method = self.pending_methods.pop_front();
                    if self.upgrade.is_some() && self.pending_methods.is_empty() {
                        self.upgrade_answered(ts, h, out);
                        return;
                    }
                    let f = h.body_framing(method.as_deref());
                    self.http[1].skip_body(f);
                }
                HttpItem::Request(_) => return,
                HttpItem::NeedMore => {
                    if !self.http_started[1] && looks_like_response(self.http[1].buffered()) == Looks::No {
                        self.not_http(Dir::S2C, ts, out);
                    }
                    return;
                }
                HttpItem::Error(e) => {
                    self.http_error(Dir::S2C, ts, e, out);
                    return;
                }
            }
        }
    }

    fn http_error(&mut self, dir: Dir, ts: Timestamp, e: HeadError, out: &mut dyn EventSink) {
        if !self.http_started.get(dir.index()).copied().unwrap_or(true) && !matches!(e, HeadError::TooLong) {
            self.not_http(dir, ts, out);
            return;
        }
        let code = if matches!(e, HeadError::TooLong) {
            "http-head-too-long"
        } else {
            "http-malformed"
        };
        self.diag(
            ts,
            Some(dir),
            code,
            format!("{e}; the rest of this direction is not parsed"),
            out,
        );
        if let Some(d) = self.http_dead.get_mut(dir.index()) {
            *d = true;
        }
        let _ = self.http.get_mut(dir.index()).map(HttpStream::take_buffered);
    }

    /// The first bytes of `dir` are not HTTP: test them for frames.
    fn not_http(&mut self, dir: Dir, ts: Timestamp, out: &mut dyn EventSink) {
        let i = dir.index();
        let buf = self
            .http
            .get_mut(i)
            .map(HttpStream::take_buffered)
            .unwrap_or_default();
        if let Some(d) = self.detect.get_mut(i) {
            *d = Some(buf);
        }
        self.run_detection(dir, ts, false, out);
    }

    fn upgrade_answered(&mut self, ts: Timestamp, h: ResponseHead, out: &mut dyn EventSink) {
        let Some(up) = self.upgrade.take() else { return };
        if h.status == 101 {
            self.deflate = h
                .headers
                .get_all("sec-websocket-extensions")
                .find_map(parse_permessage_deflate);
        }
        self.emit_handshake(&up, Some(&h), Some(ts), out);
        if h.status == 101 {
            self.handshake_seen = true;
            self.upgrade = Some(up);
            self.switch_to_ws(ts, [false, false], out);
        } else {
            // Rejected: the connection stays HTTP; held client bytes are more requests.
            let f = h.body_framing(Some(&up.head.method));
            self.http[1].skip_body(f);
            for (t, b) in up.held {
                if let Some(next) = self.upgrade.as_mut() {
                    // Another upgrade request among the held bytes: hold the rest again.
                    hold(next, t, &b);
                } else {
                    self.http[0].push(&b);
                    self.http_requests(t, out);
                }
            }
            self.http_responses(ts, out);
        }
    }

    fn emit_handshake(
        &mut self,
        up: &PendingUpgrade,
        resp: Option<&ResponseHead>,
        resp_ts: Option<Timestamp>,
        out: &mut dyn EventSink,
    ) {
        let req = &up.head.headers;
        let key = req.get("sec-websocket-key").map(|k| k.trim().to_string());
        let accept_expected = key.as_deref().map(accept_for_key);
        let accept = resp
            .and_then(|r| r.headers.get("sec-websocket-accept"))
            .map(|a| a.trim().to_string());
        let switched = resp.is_some_and(|r| r.status == 101);
        let accept_ok = match (&accept_expected, switched) {
            (Some(exp), true) => Some(accept.as_deref() == Some(exp.as_str())),
            _ => None,
        };
        let pick = |name: &str| {
            resp.and_then(|r| r.headers.joined(name))
                .or_else(|| req.joined(name))
        };
        let ev = HandshakeEvent {
            conn: self.conn,
            ts: up.ts,
            method: up.head.method.clone(),
            path: up.head.target.clone(),
            host: req.get("host").map(str::to_string),
            origin: req
                .get("origin")
                .or_else(|| req.get("sec-websocket-origin"))
                .map(str::to_string),
            key,
            version: req.get("sec-websocket-version").map(str::to_string),
            subprotocol: pick("sec-websocket-protocol"),
            extensions: pick("sec-websocket-extensions"),
            status: resp.map(|r| r.status),
            accept: accept.clone(),
            accept_expected: accept_expected.clone(),
            accept_ok,
            request_headers: req.0.clone(),
            response_headers: resp.map(|r| r.headers.0.clone()).unwrap_or_default(),
            reason: resp.map(|r| r.reason.clone()),
            response_ts: resp_ts,
            deflate: if switched { self.deflate } else { None },
        };
        out.event(Event::Handshake(Box::new(ev)));
        if accept_ok == Some(false) {
            let detail = match (&accept, &accept_expected) {
                (Some(a), Some(e)) => format!("Sec-WebSocket-Accept is {a:?}, expected {e:?}"),
                (None, Some(e)) => format!("101 answer without Sec-WebSocket-Accept (expected {e:?})"),
                _ => "accept mismatch".into(),
            };
            self.violation(
                resp_ts.unwrap_or(up.ts),
                Some(Dir::S2C),
                (rules::ACCEPT_MISMATCH, detail),
                out,
            );
        }
    }

    // ------------------------------------------------------------ detection

    /// Decide whether the buffered first bytes of `dir` are WebSocket frames.
    fn run_detection(&mut self, dir: Dir, ts: Timestamp, last: bool, out: &mut dyn EventSink) {
        let i = dir.index();
        let Some(buf) = self.detect.get(i).and_then(Option::as_ref) else {
            return;
        };
        if buf.is_empty() {
            if last {
                if let Some(d) = self.detect.get_mut(i) {
                    *d = None;
                }
            }
            return;
        }
        let expect = Expect {
            masked: dir == Dir::C2S,
            rsv1: true,
        };
        // Picked up mid-stream, the first bytes may be the tail of a frame
        // that began before the capture: then a later run of frames counts,
        // and the decoder resynchronises to it (reporting what it skips).
        let mut mid_frame = false;
        let midstream = !self.cfg.stream_start_seen;
        let verdict = check_run(buf, expect);
        let at_limit = last || buf.len() >= MAX_DETECT;
        let decided = if self.cfg.force_ws {
            mid_frame = midstream && matches!(verdict, RunVerdict::Reject);
            Some(true)
        } else if midstream && matches!(verdict, RunVerdict::Reject) {
            // Scanning every offset is costly: redo it only once 4 KiB more
            // has arrived since the last scan (or at the end / the cap).
            let scanned = self.detect_scanned.get(i).copied().unwrap_or(0);
            if !at_limit && buf.len() < scanned.saturating_add(MIDFRAME_RESCAN) {
                None
            } else {
                if let Some(s) = self.detect_scanned.get_mut(i) {
                    *s = buf.len();
                }
                match run_after_start(buf, expect) {
                    Some(_) => {
                        mid_frame = true;
                        Some(true)
                    }
                    None if !at_limit => None,
                    None => Some(false),
                }
            }
        } else {
            match verdict {
                RunVerdict::Accept { frames, exact } if frames >= 2 || exact => Some(true),
                RunVerdict::Accept { .. } if at_limit => Some(true),
                RunVerdict::NeedMore if at_limit => Some(false),
                RunVerdict::Accept { .. } | RunVerdict::NeedMore => None,
                RunVerdict::Reject => Some(false),
            }
        };
        match decided {
            None => {}
            Some(true) => {
                if mid_frame {
                    self.diag(ts, Some(dir), "ws-detected", format!(
                        "no WebSocket handshake captured, and the capture starts inside a frame: the {dir} \
                         bytes parse as WebSocket frames after the tail of a frame that began before the \
                         capture; decoding from the next frame header"
                    ), out);
                } else if !self.cfg.force_ws {
                    self.diag(ts, Some(dir), "ws-detected", format!(
                        "no WebSocket handshake captured; the {dir} bytes parse as WebSocket frames: decoding \
                         them (masking as expected for this direction)"
                    ), out);
                }
                self.deflate_assumed = true;
                // The other direction: its buffered bytes are replayed; if it
                // already went past its start, its first header is unknown.
                let other = dir.reverse().index();
                let other_unknown = self.detect.get(other).is_some_and(Option::is_none)
                    && self.pos.get(other).copied().unwrap_or(0) > 0;
                let mut resync = [false; 2];
                if let Some(r) = resync.get_mut(other) {
                    // Mid-stream, the other direction may start inside a frame too.
                    *r = other_unknown
                        || (midstream
                            && self.detect.get(other).and_then(Option::as_ref).is_some_and(|b| {
                                matches!(check_run(b, expect_for(dir.reverse())), RunVerdict::Reject)
                            }));
                }
                if let Some(r) = resync.get_mut(i) {
                    *r = mid_frame;
                }
                self.switch_to_ws(ts, resync, out);
            }
            Some(false) => {
                if let Some(d) = self.detect.get_mut(i) {
                    *d = None;
                }
                if let Some(d) = self.http_dead.get_mut(i) {
                    *d = true;
                }
                if !self.saw_http {
                    self.mode = Mode::Other;
                }
            }
        }
    }

    /// A handshake whose heads were cut by the capture, with a 101 answer:
    /// report what was captured and decode frames after the gap, looking for
    /// the next frame header in both directions.
    fn cut_handshake(&mut self, ts: Timestamp, len: u64, out: &mut dyn EventSink) {
        let req = self.http[0].take_buffered();
        let resp = self.http[1].take_buffered();
        let first_line = |b: &[u8]| {
            let end = memchr::memchr2(b'\r', b'\n', b).unwrap_or(b.len());
            String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
        };
        let req_line = first_line(&req);
        let mut parts = req_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let resp_line = first_line(&resp);
        self.diag(
            ts,
            Some(Dir::S2C),
            "ws-handshake-cut",
            format!(
                "the upgrade handshake was cut by the capture ({len} bytes lost; a small snapshot length?): the answer starts `{}`, so frames are decoded after the gap; the key, accept and extensions were not captured",
                resp_line
            ),
            out,
        );
        out.event(Event::Handshake(Box::new(HandshakeEvent {
            conn: self.conn,
            ts,
            method,
            path,
            status: Some(101),
            reason: resp_line.splitn(3, ' ').nth(2).map(|r| r.to_string()),
            response_ts: Some(ts),
            ..Default::default()
        })));
        self.handshake_seen = true;
        // The extensions were lost: RSV1 may be permessage-deflate.
        self.deflate_assumed = true;
        self.deflate_assumed_reported = true;
        self.upgrade = None;
        self.resync_after_gap = true;
        self.switch_to_ws(ts, [true, true], out);
    }

    // ------------------------------------------------------------ WebSocket

    /// Switch both directions to frame decoding. `resync[i]`: the position of
    /// direction i's next header is unknown.
    fn switch_to_ws(&mut self, ts: Timestamp, resync: [bool; 2], out: &mut dyn EventSink) {
        let deflate_on = self.deflate.is_some() || self.deflate_assumed;
        let lost = !self.handshake_seen;
        let history_missing = if self.handshake_seen {
            None
        } else {
            Some("no handshake captured: the connection started before the capture")
        };
        // Bytes waiting to become frames, per direction.
        let mut pending: [Vec<(Timestamp, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
        let up = self.upgrade.take();
        let mut dropped = 0u64;
        let mut up_gap = false;
        if let Some(up) = up {
            dropped = up.dropped;
            up_gap = up.gap;
            if let Some(p) = pending.get_mut(0) {
                *p = up.held;
            }
        }
        for i in 0..2 {
            let buf = match self.detect.get_mut(i).and_then(Option::take) {
                Some(b) => b,
                None => self
                    .http
                    .get_mut(i)
                    .map(HttpStream::take_buffered)
                    .unwrap_or_default(),
            };
            if !buf.is_empty() {
                if let Some(p) = pending.get_mut(i) {
                    p.push((ts, buf));
                }
            }
        }
        let mk = |i: usize, dir: Dir, pending_len: u64, resync: bool, this: &Session| {
            let start = this.pos.get(i).copied().unwrap_or(0).saturating_sub(pending_len);
            let mut decoder = FrameDecoder::new(
                start,
                this.cfg.max_frame_bytes,
                Expect {
                    masked: dir == Dir::C2S,
                    rsv1: deflate_on,
                },
            );
            if resync && this.resync_after_gap {
                decoder.start_resync_after_gap("after the handshake was cut by a gap");
            } else if resync {
                decoder.start_resync("position of the first frame unknown");
            }
            let nct = this.deflate.as_ref().is_some_and(|p| no_context_takeover(p, dir));
            WsDir {
                decoder,
                assembler: Assembler::new(this.cfg.max_message_bytes, lost || resync),
                inflater: deflate_on.then(|| Inflater::new(nct, this.cfg.max_message_bytes, history_missing)),
                closed: false,
                data_after_close_reported: false,
                pings: VecDeque::new(),
            }
        };
        let plen = |v: &Vec<(Timestamp, Vec<u8>)>| {
            v.iter()
                .map(|(_, b)| b.len() as u64)
                .fold(dropped, u64::saturating_add)
        };
        let c_len = pending.first().map(plen).unwrap_or(0);
        let s_len = pending
            .get(1)
            .map(|v| plen(v).saturating_sub(dropped))
            .unwrap_or(0);
        let c = mk(0, Dir::C2S, c_len, resync[0], self);
        let s = mk(1, Dir::S2C, s_len, resync[1], self);
        self.ws = Some(Box::new([c, s]));
        self.mode = Mode::WebSocket;
        let [pc, ps] = pending;
        for (t, b) in pc {
            self.ws_feed(Dir::C2S, t, &b, out);
        }
        if dropped > 0 {
            let why = if up_gap {
                "were lost or not captured, or came after such a loss"
            } else {
                "exceeded the hold buffer and were dropped"
            };
            self.diag(
                ts,
                Some(Dir::C2S),
                "http-upgrade-held-overflow",
                format!("{dropped} client bytes sent before the upgrade answer {why}"),
                out,
            );
            self.ws_gap(Dir::C2S, ts, dropped, out);
        }
        for (t, b) in ps {
            self.ws_feed(Dir::S2C, t, &b, out);
        }
    }

    fn ws_dir(&mut self, dir: Dir) -> Option<&mut WsDir> {
        self.ws.as_mut().and_then(|w| w.get_mut(dir.index()))
    }

    fn ws_feed(&mut self, dir: Dir, ts: Timestamp, bytes: &[u8], out: &mut dyn EventSink) {
        let mut items = std::mem::take(&mut self.scratch);
        if let Some(w) = self.ws_dir(dir) {
            w.decoder.feed(bytes, &mut items);
        }
        self.process(dir, ts, &mut items, out);
        self.scratch = items;
    }

    fn ws_gap(&mut self, dir: Dir, ts: Timestamp, len: u64, out: &mut dyn EventSink) {
        let mut items = std::mem::take(&mut self.scratch);
        if let Some(w) = self.ws_dir(dir) {
            w.decoder.on_gap(len, &mut items);
        }
        self.process(dir, ts, &mut items, out);
        self.scratch = items;
        let mut done = Vec::new();
        let mut poisoned = false;
        if let Some(w) = self.ws_dir(dir) {
            w.assembler.on_gap(&mut done);
            if let Some(inf) = w.inflater.as_mut() {
                inf.on_gap();
                poisoned = inf.context_takeover();
            }
        }
        for m in done {
            self.message(dir, ts, m, out);
        }
        if poisoned && self.deflate.is_some() {
            self.diag(ts, Some(dir), "ws-inflate-history-lost", format!(
                "{len} bytes lost in {dir} with permessage-deflate context takeover: later messages that refer \
                 to data before the gap cannot be inflated"
            ), out);
        }
    }

    fn end_dir(&mut self, dir: Dir, ts: Timestamp, out: &mut dyn EventSink) {
        if self.mode == Mode::Http && self.detect.get(dir.index()).is_some_and(Option::is_some) {
            self.run_detection(dir, ts, true, out);
        }
        if self.mode != Mode::WebSocket {
            return;
        }
        let mut items = std::mem::take(&mut self.scratch);
        if let Some(w) = self.ws_dir(dir) {
            w.decoder.finish(&mut items);
        }
        self.process(dir, ts, &mut items, out);
        self.scratch = items;
        let mut done = Vec::new();
        if let Some(w) = self.ws_dir(dir) {
            w.assembler.finish(&mut done);
        }
        for m in done {
            self.message(dir, ts, m, out);
        }
    }

    fn process(&mut self, dir: Dir, ts: Timestamp, items: &mut Vec<Decoded>, out: &mut dyn EventSink) {
        for item in items.drain(..) {
            match item {
                Decoded::Frame(f) => self.frame(dir, ts, f, out),
                Decoded::Undecodable { offset, len, reason } => self.diag(
                    ts,
                    Some(dir),
                    "ws-resync",
                    format!("{len} undecodable bytes skipped at {dir} offset {offset} ({reason})"),
                    out,
                ),
            }
        }
    }

    fn frame(&mut self, dir: Dir, ts: Timestamp, f: RawFrame, out: &mut dyn EventSink) {
        let deflate_on = self.deflate.is_some() || self.deflate_assumed;
        let h = f.header;
        let mut breaches: Vec<Breach> = Vec::new();
        rules::check_header(&h, dir, deflate_on, &mut breaches);
        let mut done: Vec<Assembled> = Vec::new();
        let mut ev = FrameEvent {
            conn: self.conn,
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
        };
        let mut close_now = None;
        let mut rtt = None;
        let Some(w) = self.ws.as_deref_mut() else { return };
        let [c2s, s2c] = w;
        let (me, peer) = if dir == Dir::C2S { (c2s, s2c) } else { (s2c, c2s) };
        // Track the peer's actual masking so that resync looks for what it sends.
        me.decoder.set_expect(Expect {
            masked: h.masked,
            ..me.decoder.expect()
        });
        if me.closed && !me.data_after_close_reported {
            me.data_after_close_reported = true;
            breaches.push((
                rules::DATA_AFTER_CLOSE,
                format!("{} frame after this side's close frame", h.opcode),
            ));
        }
        match h.opcode {
            Opcode::CLOSE => {
                let c = rules::parse_close(&f.payload, f.truncated, &mut breaches);
                ev.close_code = c.code;
                ev.close_reason = c.reason.clone();
                if !me.closed {
                    me.closed = true;
                    close_now = Some((c.code, c.reason));
                }
            }
            // Only a valid ping (≤ 125 bytes) is remembered for its pong:
            // oversized ones are already a violation, and must not pin memory.
            Opcode::PING if f.payload.len() <= 125 => {
                if me.pings.len() >= MAX_PINGS {
                    me.pings.pop_front();
                }
                me.pings.push_back((f.payload.clone(), ts));
            }
            Opcode::PONG => {
                if let Some(k) = peer.pings.iter().position(|(p, _)| *p == f.payload) {
                    if let Some((_, pts)) = peer.pings.get(k) {
                        rtt = Some(ts.seconds_since(*pts));
                    }
                    // Earlier unanswered pings are not going to be answered now.
                    peer.pings.drain(..=k);
                }
            }
            op if !op.is_control() => me.assembler.on_data_frame(
                op.0,
                h.fin,
                h.rsv1() && deflate_on,
                &f.payload,
                h.payload_len,
                f.truncated,
                &mut breaches,
                &mut done,
            ),
            _ => {}
        }
        ev.rtt = rtt;
        if let Some(r) = rtt {
            if self.rtts.len() < MAX_RTT_SAMPLES {
                self.rtts.push(r);
            }
        }
        if let Some(c) = close_now {
            if let Some(slot) = self.close.get_mut(dir.index()) {
                *slot = Some(c);
            }
            self.close_first.get_or_insert(dir);
        }
        if let Some(n) = self.frames.get_mut(dir.index()) {
            *n = n.saturating_add(1);
        }
        ev.payload = f.payload;
        out.event(Event::Frame(ev));
        for b in breaches {
            self.violation(ts, Some(dir), b, out);
        }
        if f.capped > 0 {
            self.diag(
                ts,
                Some(dir),
                "ws-frame-capped",
                format!(
                    "frame at {dir} offset {} declares {} payload bytes; only the first {} were kept \
                 (max frame bytes), {} dropped",
                    f.offset, h.payload_len, self.cfg.max_frame_bytes, f.capped
                ),
                out,
            );
        }
        for m in done {
            self.message(dir, ts, m, out);
        }
    }

    fn message(&mut self, dir: Dir, ts: Timestamp, m: Assembled, out: &mut dyn EventSink) {
        if let Some(n) = self.messages.get_mut(dir.index()) {
            *n = n.saturating_add(1);
        }
        if m.capped > 0 {
            self.diag(
                ts,
                Some(dir),
                "ws-message-capped",
                format!(
                    "message of {} wire bytes exceeds max message bytes ({}); {} bytes dropped",
                    m.wire_len, self.cfg.max_message_bytes, m.capped
                ),
                out,
            );
        }
        let mut truncated = m.truncated;
        let mut inflate_error = None;
        let (data, utf8) = if m.rsv1 {
            let assumed = self.deflate.is_none();
            let r = self
                .ws_dir(dir)
                .and_then(|w| w.inflater.as_mut())
                .map(|i| i.inflate_message(&m.data, m.truncated));
            match r {
                Some(r) => {
                    if assumed && !self.deflate_assumed_reported {
                        self.deflate_assumed_reported = true;
                        let how = match &r.error {
                            None => "it inflated correctly".to_string(),
                            Some(e) => format!("inflating failed: {e}"),
                        };
                        self.diag(ts, Some(dir), "ws-deflate-assumed", format!(
                            "RSV1 set without a captured handshake: assumed permessage-deflate with context \
                             takeover; {how}"
                        ), out);
                    }
                    if r.capped {
                        truncated = true;
                        self.diag(
                            ts,
                            Some(dir),
                            "ws-inflate-capped",
                            format!(
                                "inflated message exceeds {} bytes (decompression-bomb cap): output cut",
                                self.cfg.max_message_bytes
                            ),
                            out,
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
        let ev = MessageEvent {
            conn: self.conn,
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
        out.event(Event::Message(ev));
        if m.opcode == 1 {
            if let Some(at) = bad_utf8 {
                self.violation(
                    ts,
                    Some(dir),
                    (
                        rules::INVALID_UTF8_TEXT,
                        format!("text message is not valid UTF-8 at byte {at}"),
                    ),
                    out,
                );
            }
        }
    }

    fn violation(&mut self, ts: Timestamp, dir: Option<Dir>, b: Breach, out: &mut dyn EventSink) {
        self.violations = self.violations.saturating_add(1);
        out.event(Event::Violation(ViolationEvent {
            conn: self.conn,
            ts,
            dir,
            rule: b.0,
            detail: b.1,
        }));
    }

    fn diag(
        &self,
        ts: Timestamp,
        dir: Option<Dir>,
        code: &'static str,
        detail: String,
        out: &mut dyn EventSink,
    ) {
        out.event(Event::Diagnostic(DiagnosticEvent {
            ts,
            conn: Some(self.conn),
            dir,
            code,
            detail,
            packet: None,
        }));
    }
}

/// What frames of `dir` look like, for detection (RSV1 allowed: deflate may
/// have been negotiated before the capture).
fn expect_for(dir: Dir) -> Expect {
    Expect {
        masked: dir == Dir::C2S,
        rsv1: true,
    }
}

/// New bytes needed before the mid-frame scan is redone.
const MIDFRAME_RESCAN: usize = 4096;

/// Bytes scanned for a later run of frames when a mid-stream capture starts
/// inside a frame.
const MAX_MIDFRAME_SCAN: usize = 64 * 1024;

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

/// Did the client offer permessage-deflate (not just any extension)?
fn offers_deflate(h: &Headers) -> bool {
    h.get_all("sec-websocket-extensions")
        .any(|v| parse_permessage_deflate(v).is_some())
}

/// Does a partial response head begin with a `101` status line?
fn is_partial_101(b: &[u8]) -> bool {
    b.starts_with(b"HTTP/1.") && b.get(8..12) == Some(b" 101".as_slice())
}

fn hold(up: &mut PendingUpgrade, ts: Timestamp, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let room = MAX_HELD.saturating_sub(up.held_len);
    let keep = room.min(bytes.len());
    if up.dropped == 0 && keep > 0 {
        up.held.push((ts, bytes.get(..keep).unwrap_or_default().to_vec()));
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

impl ByteLayer for Session {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        match item {
            StreamInput::Data { dir, bytes, at, .. } => self.on_data(dir, at.ts, bytes, cx.out),
            StreamInput::Gap { dir, len, at, .. } => self.on_gap(dir, at.ts, len.bytes(), cx.out),
            StreamInput::End { dir, rst: false, at } => self.on_fin(dir, at.ts, cx.out),
            StreamInput::End { dir, rst: true, at } => self.on_rst(dir, at.ts, cx.out),
        }
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        Session::finish(self, at.ts, cx.out)
    }

    fn heap_bytes(&self) -> usize {
        0
    }
}
