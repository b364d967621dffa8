//! The HTTP/1.1 layer of a connection, up to its upgrade to WebSocket.
//!
//! Requests from the client and responses from the server are parsed
//! (pipelined ordinary exchanges and their bodies are skipped). An upgrade
//! request holds further client bytes (bounded) until its answer decides:
//! `101` builds a [`WsSession`] and hands it every later byte (bytes after
//! the response head, and the held ones, are frames); anything else leaves
//! the connection HTTP and the held bytes are parsed as more requests.
//!
//! A direction whose first bytes are not HTTP (the capture started after
//! the handshake, or `--ws-port`) is tested for frames ([`Detector`]); when
//! they are frames, the session is built without a handshake. When neither
//! direction speaks HTTP and the bytes are not frames, the connection is
//! opaque and its bytes are ignored.
//!
//! The connection's state is [`Mode`]; each direction's is [`DirState`]:
//!
//! ```text
//!  Mode:   Http ──upgrade request──▶ AwaitingAnswer ──101 / answer lost──▶ WebSocket
//!           │  ◀──────other status───┘      └──never answered, client sent frames─┘
//!           ├──a direction detected as frames / 101 cut by the capture──▶ WebSocket
//!           └──a direction is not frames, and no HTTP was seen────────────▶ Opaque
//!  DirState (in Http/AwaitingAnswer): Fresh ─head─▶ Http ─gap/error─▶ Dead
//!                                     Fresh ─not HTTP─▶ Detecting ─not frames─▶ Dead
//! ```

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use crate::diag;
use std::collections::VecDeque;

use super::accept::accept_for_key;
use super::handshake::{HeadError, Looks, ResponseHead, looks_like_request, looks_like_response};
use super::header_rules::{request_breaches, response_breaches};
use super::pending::{PendingUpgrade, hold};
use super::stream::{HttpItem, HttpStream, Side};
use super::{Headers, MAX_HEAD_BYTES};
use crate::event::{DeflateParams, Event, HandshakeEvent, Protocol, ViolationEvent};
use crate::model::{Dir, PerDir, Stamp};
use crate::stream::SessionSummary;
use crate::stream::{ByteLayer, GapLen, LayerCx, SpanLog, StreamInput};
use crate::ws::decoder::{Expect, RunVerdict, check_run};
use crate::ws::deflate::parse_permessage_deflate;
use crate::ws::detect::{Detection, Detector, starts_off_frame};
use crate::ws::rules::{self, Breach};
use crate::ws::session::{Resync, SessionConfig, WsParams, WsSession};

/// Pipelined requests remembered while their answers are outstanding.
const MAX_PENDING_REQUESTS: usize = 1024;

/// What the connection is, as far as seen.
#[derive(Debug)]
enum Mode {
    /// HTTP/1 (or not yet known: see [`DirState`]).
    Http,
    /// HTTP/1 with an upgrade request waiting for its answer; client bytes are held.
    AwaitingAnswer(Box<PendingUpgrade>),
    /// Switched: every byte goes to the session.
    WebSocket(Box<WsSession>),
    /// Neither HTTP nor WebSocket: bytes are ignored.
    Opaque,
}

/// One direction, while the connection is HTTP.
#[derive(Debug, Default)]
enum DirState {
    /// Nothing parsed yet.
    #[default]
    Fresh,
    /// At least one HTTP head parsed.
    Http,
    /// The first bytes are not HTTP: testing them for frames.
    Detecting(Detector),
    /// Parsing gave up (gap, malformed head, not frames): bytes are ignored.
    Dead,
}

/// The HTTP/1.1 layer of one connection (and, once upgraded, its session).
#[derive(Debug)]
pub struct Http1Upgrade {
    cfg: SessionConfig,
    mode: Mode,
    http: PerDir<HttpStream>,
    state: PerDir<DirState>,
    saw_http: bool,
    /// Methods of requests not yet answered, oldest first.
    pending_methods: VecDeque<String>,
    /// Bytes (data and gaps) seen per direction.
    pos: PerDir<u64>,
    /// Which packets carried the bytes not yet handed to a session.
    spans: PerDir<SpanLog>,
    handshake_seen: bool,
    deflate: Option<DeflateParams>,
    /// permessage-deflate assumed (no handshake captured).
    deflate_assumed: bool,
    deflate_assumed_reported: bool,
    /// Switching to frames after a gap (not at an unknown stream start): the
    /// data that follows begins a TCP segment.
    resync_after_gap: bool,
    /// Violations of the handshake (the session counts its own).
    violations: u64,
    /// The application protocol the handshake named (subprotocol, URL).
    app: Option<crate::app::Choice>,
}

impl Http1Upgrade {
    pub fn new(cfg: SessionConfig) -> Self {
        Http1Upgrade {
            cfg,
            mode: Mode::Http,
            http: PerDir::new(HttpStream::new(Side::Request), HttpStream::new(Side::Response)),
            state: PerDir::default(),
            saw_http: false,
            pending_methods: VecDeque::new(),
            pos: PerDir::default(),
            spans: PerDir::default(),
            handshake_seen: false,
            deflate: None,
            deflate_assumed: false,
            deflate_assumed_reported: false,
            resync_after_gap: false,
            violations: 0,
            app: None,
        }
    }

    /// What the connection carries, as far as seen.
    pub fn protocol(&self) -> Protocol {
        match self.mode {
            Mode::WebSocket(_) => Protocol::WebSocket,
            _ if self.saw_http => Protocol::Http,
            _ => Protocol::Other,
        }
    }

    fn in_http(&self) -> bool {
        matches!(self.mode, Mode::Http | Mode::AwaitingAnswer(_))
    }

    fn detecting(&self, dir: Dir) -> bool {
        matches!(self.state[dir], DirState::Detecting(_))
    }

    fn on_data(&mut self, dir: Dir, at: Stamp, bytes: &[u8], cx: &mut LayerCx<'_>) {
        self.pos[dir] = self.pos[dir].saturating_add(bytes.len() as u64);
        if let Mode::WebSocket(ws) = &mut self.mode {
            ws.feed(dir, at, bytes, cx);
            return;
        }
        if matches!(self.mode, Mode::Opaque) {
            return;
        }
        if let DirState::Detecting(d) = &mut self.state[dir] {
            d.push(bytes);
            self.run_detection(dir, at, false, cx);
        } else if matches!(self.state[dir], DirState::Dead) {
        } else if dir == Dir::C2S {
            if let Mode::AwaitingAnswer(up) = &mut self.mode {
                hold(up, at, bytes);
            } else {
                self.http[Dir::C2S].push(bytes);
                self.http_requests(at, cx);
            }
        } else {
            self.http[Dir::S2C].push(bytes);
            self.http_responses(at, cx);
        }
    }

    /// The stack has already emitted the `gap` event itself.
    fn on_gap(&mut self, dir: Dir, at: Stamp, len: u64, cx: &mut LayerCx<'_>) {
        match &mut self.mode {
            Mode::Opaque => {}
            Mode::WebSocket(ws) => ws.gap(dir, at, len, cx),
            Mode::Http | Mode::AwaitingAnswer(_) => self.http_gap(dir, at, len, cx),
        }
        self.pos[dir] = self.pos[dir].saturating_add(len);
    }

    fn http_gap(&mut self, dir: Dir, at: Stamp, len: u64, cx: &mut LayerCx<'_>) {
        if let DirState::Detecting(d) = &mut self.state[dir] {
            // Bytes before the gap were not conclusive; start over after it.
            d.restart();
            return;
        }
        if dir == Dir::C2S
            && let Mode::AwaitingAnswer(up) = &mut self.mode
        {
            // Client bytes after the request were lost; the answer is
            // still to come. Held bytes stop here: what follows is
            // dropped and replayed as a gap once the answer decides.
            up.dropped = up.dropped.saturating_add(len);
            up.gap = true;
            return;
        }
        if let Some(up) = self.take_upgrade() {
            // The answer to the upgrade fell in the gap:
            // assume the upgrade went through and look for frames after it.
            cx.diagnostic(
                at,
                Some(dir),
                diag::HTTP_GAP,
                format!(
                    "{len} bytes lost while the WebSocket upgrade was pending; assuming it succeeded and \
                 looking for frames"
                ),
            );
            self.emit_handshake(&up, None, None, cx);
            self.deflate_assumed = offers_deflate(&up.head.headers);
            if dir == Dir::S2C {
                // A partial response head before the gap: not frames.
                let _ = self.http[Dir::S2C].take_buffered();
            }
            self.switch_to_ws(at, Some(up), PerDir::new(false, false), cx);
            if let Mode::WebSocket(ws) = &mut self.mode {
                ws.gap(dir, at, len, cx);
            }
        } else if dir == Dir::S2C && is_partial_101(self.http[Dir::S2C].buffered()) {
            // The answer was cut by the capture (snapshot length, loss)
            // but what was kept says 101: the connection upgraded.
            self.cut_handshake(at, len, cx);
        } else if !matches!(self.state[dir], DirState::Dead) {
            self.state[dir] = DirState::Dead;
            cx.diagnostic(
                at,
                Some(dir),
                diag::HTTP_GAP,
                format!("{len} bytes lost in the HTTP stream; the rest of this direction is not parsed"),
            );
        }
    }

    /// The pending upgrade, if any, leaving the connection in plain HTTP.
    fn take_upgrade(&mut self) -> Option<Box<PendingUpgrade>> {
        match std::mem::replace(&mut self.mode, Mode::Http) {
            Mode::AwaitingAnswer(up) => Some(up),
            other => {
                self.mode = other;
                None
            }
        }
    }

    /// `dir` ended (FIN or RST reached).
    fn end_dir(&mut self, dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
        if self.in_http() && self.detecting(dir) {
            self.run_detection(dir, at, true, cx);
        }
        if let Mode::WebSocket(ws) = &mut self.mode {
            ws.end(dir, at, cx);
        }
    }

    // ------------------------------------------------------------ requests and responses

    fn http_requests(&mut self, at: Stamp, cx: &mut LayerCx<'_>) {
        loop {
            match self.http[Dir::C2S].next_item() {
                HttpItem::Request(h) => {
                    self.saw_http = true;
                    self.state[Dir::C2S] = DirState::Http;
                    // Unanswered requests are bounded (a dead response side
                    // must not grow this for the life of the connection).
                    if self.pending_methods.len() >= MAX_PENDING_REQUESTS {
                        self.pending_methods.pop_front();
                    }
                    self.pending_methods.push_back(h.method.clone());
                    if h.is_websocket_upgrade() {
                        let rest = self.http[Dir::C2S].take_buffered();
                        let mut up = Box::new(PendingUpgrade {
                            at,
                            head: h,
                            held: Vec::new(),
                            held_len: 0,
                            dropped: 0,
                            gap: false,
                        });
                        hold(&mut up, at, &rest);
                        self.mode = Mode::AwaitingAnswer(up);
                        return;
                    }
                    let f = h.body_framing();
                    self.http[Dir::C2S].skip_body(f);
                }
                HttpItem::Response(_) => return,
                HttpItem::HeadTooLong => head_too_long(Dir::C2S, at, cx),
                HttpItem::NeedMore => {
                    if matches!(self.state[Dir::C2S], DirState::Fresh)
                        && looks_like_request(self.http[Dir::C2S].buffered()) == Looks::No
                    {
                        self.not_http(Dir::C2S, at, cx);
                    }
                    return;
                }
                HttpItem::Error(e) => {
                    self.http_error(Dir::C2S, at, e, cx);
                    return;
                }
            }
        }
    }

    fn http_responses(&mut self, at: Stamp, cx: &mut LayerCx<'_>) {
        loop {
            match self.http[Dir::S2C].next_item() {
                HttpItem::Response(h) => {
                    self.saw_http = true;
                    self.state[Dir::S2C] = DirState::Http;
                    if h.is_interim() {
                        continue;
                    }
                    let method = self.pending_methods.pop_front();
                    if matches!(self.mode, Mode::AwaitingAnswer(_)) && self.pending_methods.is_empty() {
                        self.upgrade_answered(at, h, cx);
                        return;
                    }
                    let f = h.body_framing(method.as_deref());
                    self.http[Dir::S2C].skip_body(f);
                }
                HttpItem::Request(_) => return,
                HttpItem::HeadTooLong => head_too_long(Dir::S2C, at, cx),
                HttpItem::NeedMore => {
                    if matches!(self.state[Dir::S2C], DirState::Fresh)
                        && looks_like_response(self.http[Dir::S2C].buffered()) == Looks::No
                    {
                        self.not_http(Dir::S2C, at, cx);
                    }
                    return;
                }
                HttpItem::Error(e) => {
                    self.http_error(Dir::S2C, at, e, cx);
                    return;
                }
            }
        }
    }

    fn http_error(&mut self, dir: Dir, at: Stamp, e: HeadError, cx: &mut LayerCx<'_>) {
        let started = matches!(self.state[dir], DirState::Http);
        if !started && !matches!(e, HeadError::TooLong) {
            self.not_http(dir, at, cx);
            return;
        }
        let code = if matches!(e, HeadError::TooLong) {
            diag::HTTP_HEAD_TOO_LONG
        } else {
            diag::HTTP_MALFORMED
        };
        cx.diagnostic(
            at,
            Some(dir),
            code,
            format!("{e}; the rest of this direction is not parsed"),
        );
        self.state[dir] = DirState::Dead;
        let _ = self.http[dir].take_buffered();
    }

    /// The first bytes of `dir` are not HTTP: test them for frames.
    fn not_http(&mut self, dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
        let buf = self.http[dir].take_buffered();
        self.state[dir] = DirState::Detecting(Detector::new(buf));
        self.run_detection(dir, at, false, cx);
    }

    fn upgrade_answered(&mut self, at: Stamp, h: ResponseHead, cx: &mut LayerCx<'_>) {
        let Some(up) = self.take_upgrade() else { return };
        if h.status == 101 {
            self.deflate = h
                .headers
                .get_all("sec-websocket-extensions")
                .find_map(parse_permessage_deflate);
        }
        self.emit_handshake(&up, Some(&h), Some(at), cx);
        if h.status == 101 {
            self.frames_with_101(at, cx);
            self.handshake_seen = true;
            self.switch_to_ws(at, Some(up), PerDir::new(false, false), cx);
        } else {
            // Rejected: the connection stays HTTP; held client bytes are more requests.
            let f = h.body_framing(Some(&up.head.method));
            self.http[Dir::S2C].skip_body(f);
            for (t, b) in up.held {
                if let Mode::AwaitingAnswer(next) = &mut self.mode {
                    // Another upgrade request among the held bytes: hold the rest again.
                    hold(next, t, &b);
                } else {
                    self.http[Dir::C2S].push(&b);
                    self.http_requests(t, cx);
                }
            }
            self.http_responses(at, cx);
        }
    }

    fn emit_handshake(
        &mut self,
        up: &PendingUpgrade,
        resp: Option<&ResponseHead>,
        resp_at: Option<Stamp>,
        cx: &mut LayerCx<'_>,
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
            conn: cx.id.conn,
            session: cx.id,
            ts: up.at.ts,
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
            response_ts: resp_at.map(|a| a.ts),
            deflate: if switched { self.deflate } else { None },
            client_extensions: req.joined("sec-websocket-extensions"),
            server_extensions: resp.and_then(|r| r.headers.joined("sec-websocket-extensions")),
            client_subprotocols: req.tokens("sec-websocket-protocol").map(str::to_string).collect(),
            server_subprotocol: resp.and_then(|r| r.headers.joined("sec-websocket-protocol")),
            rejected: resp.map(|r| r.status != 101),
            packet: up.at.packet,
            response_packet: resp_at.map(|a| a.packet),
            decoder: None,
            http_version: None,
            protocol: None,
            server_settings: Vec::new(),
        };
        let mut ev = ev;
        if switched {
            self.app = self.cfg.decode.choose(ev.server_subprotocol.as_deref(), &ev.path);
            ev.decoder = self.app.clone();
        }
        cx.event(Event::Handshake(Box::new(ev)));
        if accept_ok == Some(false) {
            let detail = match (&accept, &accept_expected) {
                (Some(a), Some(e)) => format!("Sec-WebSocket-Accept is {a:?}, expected {e:?}"),
                (None, Some(e)) => format!("101 answer without Sec-WebSocket-Accept (expected {e:?})"),
                _ => "accept mismatch".into(),
            };
            self.violation(
                resp_at.unwrap_or(up.at),
                Some(Dir::S2C),
                (rules::ACCEPT_MISMATCH, detail),
                cx,
            );
        }
        for b in request_breaches(req, up.head.not_kept == 0) {
            self.violation(up.at, Some(Dir::C2S), b, cx);
        }
        if let (Some(r), Some(t)) = (resp, resp_at) {
            for b in response_breaches(&r.headers) {
                self.violation(t, Some(Dir::S2C), b, cx);
            }
        }
    }

    /// Bytes after the `101` head that came in the same TCP segment as its
    /// end: the server sent frames before the client could read its answer
    /// (legal, but worth knowing — a capture-side note, not a violation).
    fn frames_with_101(&self, at: Stamp, cx: &mut LayerCx<'_>) {
        let after = self.http[Dir::S2C].buffered().len() as u64;
        if after == 0 {
            return;
        }
        // The head ends just before the first frame byte.
        let first = self.pos[Dir::S2C].saturating_sub(after);
        let Some(span) = self.spans[Dir::S2C].span(first.saturating_sub(1), first.saturating_add(1)) else {
            return;
        };
        if span.first == span.last {
            cx.diagnostic(
                at,
                Some(Dir::S2C),
                diag::WS_FRAMES_WITH_UPGRADE_ANSWER,
                format!(
                    "{after} bytes of WebSocket frames ride in the same TCP segment as the 101 response \
                     (packet {})",
                    span.first
                ),
            );
        }
    }

    /// A handshake rule breach (it concerns no frame).
    fn violation(&mut self, at: Stamp, dir: Option<Dir>, b: Breach, cx: &mut LayerCx<'_>) {
        self.violations = self.violations.saturating_add(1);
        cx.event(Event::Violation(ViolationEvent {
            conn: cx.id.conn,
            session: cx.id,
            ts: at.ts,
            dir,
            rule: b.0,
            detail: b.1,
            packet: at.packet,
            frame_offset: None,
        }));
    }

    // ------------------------------------------------------------ without a handshake

    /// Decide whether the buffered first bytes of `dir` are WebSocket frames.
    fn run_detection(&mut self, dir: Dir, at: Stamp, last: bool, cx: &mut LayerCx<'_>) {
        let midstream = !self.cfg.stream_start_seen;
        let force = self.cfg.force_ws;
        let DirState::Detecting(d) = &mut self.state[dir] else {
            return;
        };
        if d.buffered().is_empty() {
            if last {
                // Nothing came: the direction is neither detecting nor HTTP.
                self.state[dir] = DirState::Fresh;
            }
            return;
        }
        match d.decide(dir, force, midstream, last) {
            None => {}
            Some(Detection::Frames { mid_frame }) => {
                if mid_frame {
                    cx.diagnostic(at, Some(dir), diag::WS_DETECTED, format!(
                        "no WebSocket handshake captured, and the capture starts inside a frame: the {dir} \
                         bytes parse as WebSocket frames after the tail of a frame that began before the \
                         capture; decoding from the next frame header"
                    ));
                } else if !force {
                    cx.diagnostic(at, Some(dir), diag::WS_DETECTED, format!(
                        "no WebSocket handshake captured; the {dir} bytes parse as WebSocket frames: decoding \
                         them (masking as expected for this direction)"
                    ));
                }
                self.deflate_assumed = true;
                // The other direction: its buffered bytes are replayed; if it
                // already went past its start, its first header is unknown.
                let other = dir.reverse();
                let other_unknown = !self.detecting(other) && self.pos[other] > 0;
                let mut resync = PerDir::new(false, false);
                // Mid-stream, the other direction may start inside a frame too.
                resync[other] = other_unknown
                    || (midstream
                        && matches!(&self.state[other], DirState::Detecting(o)
                            if starts_off_frame(o.buffered(), other)));
                resync[dir] = mid_frame;
                let up = self.take_upgrade();
                self.switch_to_ws(at, up, resync, cx);
            }
            Some(Detection::NotFrames) => {
                self.state[dir] = DirState::Dead;
                if !self.saw_http {
                    self.mode = Mode::Opaque;
                }
            }
        }
    }

    /// A handshake whose heads were cut by the capture, with a 101 answer:
    /// report what was captured and decode frames after the gap, looking for
    /// the next frame header in both directions.
    fn cut_handshake(&mut self, at: Stamp, len: u64, cx: &mut LayerCx<'_>) {
        let req = self.http[Dir::C2S].take_buffered();
        let resp = self.http[Dir::S2C].take_buffered();
        let first_line = |b: &[u8]| {
            let end = memchr::memchr2(b'\r', b'\n', b).unwrap_or(b.len());
            String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
        };
        let req_line = first_line(&req);
        let mut parts = req_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let resp_line = first_line(&resp);
        cx.diagnostic(
            at,
            Some(Dir::S2C),
            diag::WS_HANDSHAKE_CUT,
            format!(
                "the upgrade handshake was cut by the capture ({len} bytes lost; a small snapshot length?): the answer starts `{}`, so frames are decoded after the gap; the key, accept and extensions were not captured",
                resp_line
            ),
        );
        cx.event(Event::Handshake(Box::new(HandshakeEvent {
            conn: cx.id.conn,
            session: cx.id,
            ts: at.ts,
            method,
            path,
            status: Some(101),
            reason: resp_line.splitn(3, ' ').nth(2).map(|r| r.to_string()),
            response_ts: Some(at.ts),
            packet: at.packet,
            response_packet: Some(at.packet),
            ..Default::default()
        })));
        self.handshake_seen = true;
        // The extensions were lost: RSV1 may be permessage-deflate.
        self.deflate_assumed = true;
        self.deflate_assumed_reported = true;
        self.resync_after_gap = true;
        self.switch_to_ws(at, None, PerDir::new(true, true), cx);
    }

    // ------------------------------------------------------------ the switch

    /// Builds the session and replays to it what HTTP held: the upgrade's
    /// held client bytes, bytes after the response head, detection buffers.
    /// `resync[d]`: the position of direction d's next header is unknown.
    fn switch_to_ws(
        &mut self,
        at: Stamp,
        up: Option<Box<PendingUpgrade>>,
        resync: PerDir<bool>,
        cx: &mut LayerCx<'_>,
    ) {
        // Bytes waiting to become frames, per direction.
        let mut pending: PerDir<Vec<(Stamp, Vec<u8>)>> = PerDir::default();
        let mut dropped = 0u64;
        let mut up_gap = false;
        if let Some(up) = up {
            dropped = up.dropped;
            up_gap = up.gap;
            pending[Dir::C2S] = up.held;
        }
        for d in Dir::BOTH {
            let buf = match std::mem::take(&mut self.state[d]) {
                DirState::Detecting(det) => det.into_buffer(),
                _ => self.http[d].take_buffered(),
            };
            if !buf.is_empty() {
                pending[d].push((at, buf));
            }
        }
        let plen = |v: &Vec<(Stamp, Vec<u8>)>| {
            v.iter()
                .map(|(_, b)| b.len() as u64)
                .fold(dropped, u64::saturating_add)
        };
        let c_len = plen(&pending[Dir::C2S]);
        let s_len = plen(&pending[Dir::S2C]).saturating_sub(dropped);
        let start = PerDir::new(
            self.pos[Dir::C2S].saturating_sub(c_len),
            self.pos[Dir::S2C].saturating_sub(s_len),
        );
        let resync = resync.map(|_, r| match (r, self.resync_after_gap) {
            (false, _) => Resync::No,
            (true, true) => Resync::AfterGap,
            (true, false) => Resync::Unknown,
        });
        let mut ws = Box::new(WsSession::new(
            cx.id,
            self.cfg,
            WsParams {
                deflate: self.deflate,
                deflate_assumed: self.deflate_assumed,
                deflate_assumed_reported: self.deflate_assumed_reported,
                handshake_seen: self.handshake_seen,
                start,
                resync,
                app: self.app.take(),
            },
        ));
        for d in Dir::BOTH {
            let log = ws.spans_mut(d);
            log.append(&mut self.spans[d]);
            log.forget_before(start[d]);
        }
        let [pc, ps] = std::mem::take(&mut pending).into_array();
        for (t, b) in pc {
            ws.feed(Dir::C2S, t, &b, cx);
        }
        if dropped > 0 {
            let why = if up_gap {
                "were lost or not captured, or came after such a loss"
            } else {
                "exceeded the hold buffer and were dropped"
            };
            cx.diagnostic(
                at,
                Some(Dir::C2S),
                diag::HTTP_UPGRADE_HELD_OVERFLOW,
                format!("{dropped} client bytes sent before the upgrade answer {why}"),
            );
            ws.gap(Dir::C2S, at, dropped, cx);
        }
        for (t, b) in ps {
            ws.feed(Dir::S2C, t, &b, cx);
        }
        self.mode = Mode::WebSocket(ws);
    }
}

impl ByteLayer for Http1Upgrade {
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
                let log = match &mut self.mode {
                    Mode::WebSocket(ws) => ws.spans_mut(dir),
                    _ => &mut self.spans[dir],
                };
                log.record(offset, bytes.len(), packets);
                self.on_data(dir, at, bytes, cx);
            }
            StreamInput::Gap { dir, len, at, .. } => {
                self.on_gap(dir, at, len.bytes(), cx);
                if let (GapLen::AtLeast(_), Mode::WebSocket(ws)) = (len, &mut self.mode) {
                    // Frame boundaries inside the gap are unknown (TLS lost
                    // records): resynchronise rather than skip.
                    ws.lost_boundaries(dir);
                }
            }
            StreamInput::End { dir, at, .. } => self.end_dir(dir, at, cx),
        }
    }

    /// End of connection or of input: decide what is still undecided, flush
    /// partial frames and messages (truncated), and summarise.
    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        for dir in Dir::BOTH {
            if self.detecting(dir) {
                self.run_detection(dir, at, true, cx);
            }
        }
        if let Some(up) = self.take_upgrade() {
            // Never answered: report the request; held client bytes may be frames.
            self.emit_handshake(&up, None, None, cx);
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
                cx.diagnostic(
                    at,
                    Some(Dir::C2S),
                    diag::WS_UPGRADE_UNANSWERED,
                    "no answer to the upgrade request was \
                    captured, but the client sent frames: decoding them"
                        .into(),
                );
                self.switch_to_ws(at, Some(up), PerDir::new(false, true), cx);
            }
        }
        let protocol = self.protocol();
        match &mut self.mode {
            Mode::WebSocket(ws) => {
                for dir in Dir::BOTH {
                    ws.end(dir, at, cx);
                }
                let mut s = ws.summary();
                s.violations = s.violations.saturating_add(self.violations);
                s
            }
            _ => SessionSummary {
                protocol,
                handshake_seen: self.handshake_seen,
                violations: self.violations,
                ..SessionSummary::default()
            },
        }
    }

    fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        match &self.mode {
            Mode::WebSocket(ws) => ws.frame_in_progress(dir),
            _ => None,
        }
    }

    fn heap_bytes(&self) -> usize {
        let held = match &self.mode {
            Mode::AwaitingAnswer(up) => up.held_len,
            Mode::WebSocket(ws) => ws.heap_bytes().saturating_add(std::mem::size_of_val(&**ws)),
            Mode::Http | Mode::Opaque => 0,
        };
        let dirs: usize = Dir::BOTH
            .iter()
            .map(|d| {
                let detect = match &self.state[*d] {
                    DirState::Detecting(det) => det.heap_bytes(),
                    _ => 0,
                };
                self.http[*d]
                    .buffered()
                    .len()
                    .saturating_add(detect)
                    .saturating_add(self.spans[*d].heap_bytes())
            })
            .fold(0, usize::saturating_add);
        held.saturating_add(dirs)
    }
}

/// A head of `dir` passed the cap: said once per head; its end is still
/// looked for and parsing goes on from what was kept.
fn head_too_long(dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
    let what = if dir == Dir::C2S { "request" } else { "response" };
    cx.diagnostic(
        at,
        Some(dir),
        diag::HTTP_HEAD_TOO_LONG,
        format!(
            "HTTP {what} head longer than {MAX_HEAD_BYTES} bytes: its first {MAX_HEAD_BYTES} bytes are parsed, \
             the rest is skipped to the end of the head and parsing goes on; headers past the limit are not \
             seen (a Sec-WebSocket-Key there leaves the accept unverified)"
        ),
    );
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
