//! The streams of an HTTP/2 connection, as WebSocket sees them: an
//! extended CONNECT (RFC 8441: `:method CONNECT`, `:protocol websocket`)
//! answered 2xx becomes a WebSocket session of its own, fed the stream's
//! DATA; the RFC's requirements are checked as the headers arrive. Other
//! requests are counted, not followed.

use super::hpack::Headers;
use crate::event::Protocol;
use crate::event::{Event, HandshakeEvent, ViolationEvent};
use crate::model::{Dir, PacketSpan, PerDir, SessionId, Stamp};
use crate::stream::{ByteLayer, GapLen, LayerCx, SessionSummary, StreamInput};
use crate::ws::session::SessionConfig;
use crate::ws::session::{Resync, WsParams, WsSession};
use std::collections::BTreeMap;

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

    /// Every rule, for the selection language (`rule:`).
    pub const ALL: &[&str] = &[
        CONNECT_NOT_ENABLED,
        CONNECT_MISSING_PSEUDO,
        KEY_OR_ACCEPT_PRESENT,
        DATA_AFTER_REFUSAL,
    ];
}

/// What a stream is.
#[derive(Debug)]
pub(super) enum Kind {
    /// An extended CONNECT for WebSocket, not answered yet; the client's
    /// early DATA held for the session.
    Connect {
        early: Vec<(Stamp, PacketSpan, Vec<u8>)>,
        dropped: u64,
    },
    WebSocket(Box<WsSession>),
    /// Its CONNECT was refused (the status).
    Refused(u16),
    /// An ordinary request, and whether its answer came (it is listed
    /// once: with the answer, or when the stream ends without one).
    Plain {
        answered: bool,
    },
}

#[derive(Debug)]
pub(super) struct H2Stream {
    kind: Kind,
    request: Headers,
    request_at: Stamp,
    /// Bytes passed to the WebSocket session per direction.
    fed: PerDir<u64>,
    ended: PerDir<bool>,
    /// Ended by RST_STREAM (else END_STREAM, or the connection's end).
    reset: PerDir<bool>,
    /// DATA frames per direction.
    data_frames: PerDir<u64>,
    /// The stream's last activity, and the packets it spans.
    last_at: Stamp,
    packets: Option<PacketSpan>,
    refusal_reported: bool,
}

/// The streams of one connection.
#[derive(Debug)]
pub(super) struct Streams {
    cfg: SessionConfig,
    ends: crate::model::Endpoints,
    map: BTreeMap<u32, H2Stream>,
    /// The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    pub(super) connect_enabled: bool,
    /// The server's settings so far (each id's latest value, in order of
    /// first appearance): what allowed, or did not allow, a CONNECT.
    settings: Vec<(u16, u32)>,
    /// Sessions of streams that ended, their summaries kept for the
    /// connection's `close` record.
    done: SessionSummary,
    ws_streams: u64,
    requests: u64,
    violations: u64,
}

impl Streams {
    pub(super) fn new(cfg: SessionConfig, ends: crate::model::Endpoints) -> Self {
        Streams {
            cfg,
            ends,
            map: BTreeMap::new(),
            connect_enabled: false,
            settings: Vec::new(),
            done: SessionSummary::default(),
            ws_streams: 0,
            requests: 0,
            violations: 0,
        }
    }

    /// A SETTINGS frame from the server.
    pub(super) fn server_settings(&mut self, entries: &[(u16, u32)]) {
        for &(id, v) in entries {
            match self.settings.iter().position(|(i, _)| *i == id) {
                Some(at) => {
                    if let Some(e) = self.settings.get_mut(at) {
                        e.1 = v;
                    }
                }
                // Bounded: a hostile peer may send many distinct ids.
                None if self.settings.len() < 32 => self.settings.push((id, v)),
                None => {}
            }
        }
    }

    pub(super) fn contains(&self, id: u32) -> bool {
        self.map.contains_key(&id)
    }

    /// `dir` of the connection ended: every stream's `dir` with it.
    pub(super) fn end_all(&mut self, dir: Dir, rst: bool, at: Stamp, cx: &mut LayerCx<'_>) {
        let ids: Vec<u32> = self.map.keys().copied().collect();
        for id in ids {
            self.end(dir, id, rst, at, cx);
        }
    }

    /// The connection ended: every stream's session flushed, the summary
    /// of what the connection carried.
    pub(super) fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        let ids: Vec<u32> = self.map.keys().copied().collect();
        for id in ids {
            self.close_stream(id, at, cx);
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

    pub(super) fn heap_bytes(&self) -> usize {
        self.map
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
            .sum()
    }

    pub(super) fn request(&mut self, id: u32, headers: Headers, at: Stamp, cx: &mut LayerCx<'_>) {
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
        self.map.insert(
            id,
            H2Stream {
                kind: if websocket {
                    Kind::Connect {
                        early: Vec::new(),
                        dropped: 0,
                    }
                } else {
                    Kind::Plain { answered: false }
                },
                request: headers,
                request_at: at,
                fed: PerDir::default(),
                ended: PerDir::default(),
                reset: PerDir::default(),
                data_frames: PerDir::default(),
                last_at: at,
                packets: Some(PacketSpan::one(at.packet)),
                refusal_reported: false,
            },
        );
    }

    pub(super) fn response(&mut self, id: u32, headers: Headers, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.map.get_mut(&id) else {
            return;
        };
        if matches!(s.kind, Kind::Plain { answered: false }) {
            let status = status_of(&headers);
            // 1xx: informational, the real answer follows.
            if status.is_none_or(|st| st >= 200) {
                s.kind = Kind::Plain { answered: true };
                let ev = plain_request(cx.id.conn, id, s, status, Some(at));
                cx.event(ev);
            }
            return;
        }
        let Kind::Connect { early, dropped } = &mut s.kind else {
            return;
        };
        let status = status_of(&headers);
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
            self.cfg.decode.choose(server_sub.as_deref(), &path)
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
            server_settings: self.settings.clone(),
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
        let Some(s) = self.map.get_mut(&id) else {
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
    pub(super) fn data(
        &mut self,
        dir: Dir,
        id: u32,
        bytes: &[u8],
        packets: PacketSpan,
        at: Stamp,
        cx: &mut LayerCx<'_>,
    ) {
        let Some(s) = self.map.get_mut(&id) else {
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
    pub(super) fn end(&mut self, dir: Dir, id: u32, rst: bool, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.map.get_mut(&id) else {
            return;
        };
        if s.ended[dir] {
            return;
        }
        s.ended[dir] = true;
        s.reset[dir] = rst;
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

    /// A DATA frame of stream `id` from `dir` was read whole.
    pub(super) fn data_frame(&mut self, dir: Dir, id: u32, at: Stamp) {
        if let Some(s) = self.map.get_mut(&id) {
            s.data_frames[dir] += 1;
            s.last_at = s.last_at.max(at);
            s.packets = Some(PacketSpan::join(s.packets, PacketSpan::one(at.packet)));
        }
    }

    /// A stream is over: its `close` record, and its session's summary
    /// joins the connection's.
    fn close_stream(&mut self, id: u32, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.map.remove(&id) else { return };
        let mut ws = match s.kind {
            Kind::WebSocket(ws) => ws,
            // An ordinary request never answered: still listed.
            Kind::Plain { answered: false } => {
                let ev = plain_request(cx.id.conn, id, &s, None, None);
                cx.event(ev);
                return;
            }
            _ => return,
        };
        let sid = SessionId {
            conn: cx.id.conn,
            stream: Some(id),
        };
        let sum = ws.finish(at, &mut cx.for_session(sid));
        // A stream that ended with the connection (no END_STREAM seen)
        // ends at its last frame, not at the connection's end.
        let last = if s.ended[Dir::C2S] && s.ended[Dir::S2C] {
            s.last_at.max(at)
        } else {
            s.last_at
        };
        let stats = Dir::BOTH.map(|d| crate::event::DirStats {
            packets: s.data_frames[d],
            bytes: s.fed[d],
            stream_bytes: s.fed[d],
            gaps: 0,
            gap_bytes: 0,
            fin: s.ended[d] && !s.reset[d],
            rst: s.reset[d],
            frames: sum.frames[d],
            messages: sum.messages[d],
            close: sum.close[d].clone(),
        });
        let end = match (
            s.reset[Dir::C2S] || s.reset[Dir::S2C],
            s.ended[Dir::C2S],
            s.ended[Dir::S2C],
        ) {
            (true, _, _) => crate::event::TcpEnd::Rst,
            (false, true, true) => crate::event::TcpEnd::Fin,
            (false, true, false) | (false, false, true) => crate::event::TcpEnd::HalfFin,
            (false, false, false) => crate::event::TcpEnd::Open,
        };
        let packets = s.packets.unwrap_or(PacketSpan::one(at.packet));
        cx.event(Event::Close(Box::new(crate::event::ConnectionEndEvent {
            conn: cx.id.conn,
            ts: last.ts,
            client: self.ends.client,
            server: self.ends.server,
            first_ts: s.request_at.ts,
            last_ts: last.ts,
            end,
            protocol: crate::event::Protocol::WebSocket,
            stats,
            close_first: sum.close_first,
            rtt: sum.rtt,
            handshake_seen: sum.handshake_seen,
            violations: sum.violations,
            tls: None,
            first_packet: packets.first,
            last_packet: packets.last,
            app: sum.app.clone(),
            h2_ws_streams: 0,
            stream: Some(id),
        })));
        merge(&mut self.done, sum);
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

/// Adds a stream's summary to the connection's.
pub(super) fn merge(into: &mut SessionSummary, s: SessionSummary) {
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

/// The `http2` record of an ordinary request on stream `id`.
fn plain_request(
    conn: crate::event::ConnId,
    id: u32,
    s: &H2Stream,
    status: Option<u16>,
    answered: Option<Stamp>,
) -> Event {
    let get = |n: &str| s.request.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Event::Http2(Box::new(crate::event::Http2RequestEvent {
        conn,
        session: SessionId {
            conn,
            stream: Some(id),
        },
        ts: s.request_at.ts,
        method: get(":method").unwrap_or_default(),
        path: get(":path").unwrap_or_default(),
        authority: get(":authority"),
        status,
        packet: s.request_at.packet,
        response_packet: answered.map(|a| a.packet),
    }))
}

/// An answer's `:status`, if it has a number there.
fn status_of(headers: &Headers) -> Option<u16> {
    headers
        .iter()
        .find(|(k, _)| k == ":status")
        .and_then(|(_, v)| v.trim().parse::<u16>().ok())
}
