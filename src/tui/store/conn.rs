//! Per-connection summaries, compact: a capture of a million open
//! handshakes is a million of these, so a [`Conn`] holds inline only what
//! every connection has (addresses, times, counters the panes show) and
//! allocates the rest when the connection has it — the WebSocket counters
//! and activity chart on its first frame or message ([`WsStats`]), the
//! handshake as one text blob ([`Handshake`]), TLS facts when TLS was seen.

use crate::event::{
    ConnId, ConnectionEndEvent, DeflateParams, Dir, HandshakeEvent, Protocol, TcpEnd, Timestamp, TlsEvent,
    TlsSummary,
};
use std::mem::size_of;
use std::net::SocketAddr;

/// What malloc adds to each allocation, roughly (glibc: 8-16 bytes of
/// header, 16-byte granularity): counted so the estimate is not optimistic.
pub const ALLOC_OVERHEAD: usize = 16;

/// Heap bytes of a string, as allocated.
pub(crate) fn str_heap(s: &str) -> usize {
    if s.is_empty() { 0 } else { s.len() + ALLOC_OVERHEAD }
}

fn opt_heap(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, |s| s.capacity() + ALLOC_OVERHEAD)
}

/// Summary of one TCP connection.
#[derive(Clone, Debug)]
pub struct Conn {
    pub id: ConnId,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub violations: u64,
    pub gaps: u64,
    pub syn_seen: bool,
    pub protocol: Protocol,
    /// The HTTP status that refused the WebSocket upgrade (403, 400, any
    /// answer but 101): the connection is not counted as WebSocket, but
    /// listed, so that the user looking for why a socket failed finds it.
    /// Inline (not only in the handshake) so the budget dropping the
    /// handshake row does not hide it.
    pub rejected: Option<u16>,
    /// How the TCP connection ended, once its end summary came.
    pub end: Option<TcpEnd>,
    /// First WebSocket close code seen per direction (`Some(None)`: close without code).
    pub close: [Option<Option<u16>>; 2],
    /// Per direction: the last row of this connection in that direction
    /// (directionless rows count for both), to coalesce gap runs.
    pub(super) last_row: [u32; 2],
    /// Frame bytes on the wire per direction, from the end summary.
    pub wire_bytes: [u64; 2],
    pub handshake: Option<Box<Handshake>>,
    /// TLS connections: what the handshake showed and whether it was decrypted.
    pub tls: Option<Box<TlsEvent>>,
    /// What the end summary adds for some connections (ping RTTs, TLS).
    pub end_extra: Option<Box<EndExtra>>,
    /// WebSocket counters, from the first frame or message on.
    pub ws: Option<Box<WsStats>>,
}

/// One WebSocket stream of an HTTP/2 connection.
#[derive(Clone, Debug)]
pub struct StreamEntry {
    pub id: u32,
    /// Its extended CONNECT and the answer.
    pub handshake: Option<Box<Handshake>>,
    /// The server's SETTINGS that allowed (or not) the CONNECT.
    pub settings: Vec<(u16, u32)>,
}

/// The rarer parts of a connection's end summary.
#[derive(Clone, Debug, Default)]
pub struct EndExtra {
    /// Ping round-trip times in seconds (min, median, max).
    pub rtt: Option<(f64, f64, f64)>,
    pub tls: Option<TlsSummary>,
    /// What the application layer found: latencies per name, requests
    /// left unanswered.
    pub app: Option<crate::app::AppSummary>,
}

/// A WebSocket connection's traffic counters.
#[derive(Clone, Debug, Default)]
pub struct WsStats {
    pub frames: [u64; 2],
    pub messages: [u64; 2],
    /// Declared payload bytes of frames.
    pub bytes: [u64; 2],
    /// Last data frame per direction (to link fragments and messages).
    pub(super) last_data_frame: [u32; 2],
    /// A data frame arrived since the last message (per direction).
    pub(super) frame_pending: [bool; 2],
    pub activity: Activity,
    /// HTTP/2: the connection's WebSocket streams, in order of first
    /// appearance (here, not in [`Conn`]: a million plain connections
    /// must not pay for it).
    pub streams: Vec<StreamEntry>,
}

impl Conn {
    pub(super) fn new(id: ConnId, ts: Timestamp) -> Conn {
        let unspecified: SocketAddr = ([0, 0, 0, 0], 0).into();
        Conn {
            id,
            first_ts: ts,
            last_ts: ts,
            client: unspecified,
            server: unspecified,
            violations: 0,
            gaps: 0,
            syn_seen: false,
            protocol: Protocol::Other,
            rejected: None,
            end: None,
            close: [None; 2],
            last_row: [super::NONE; 2],
            wire_bytes: [0; 2],
            handshake: None,
            tls: None,
            end_extra: None,
            ws: None,
        }
    }

    /// The WebSocket counters, allocated on first use.
    /// HTTP/2: the WebSocket streams (none for other connections).
    pub fn streams(&self) -> &[StreamEntry] {
        self.ws.as_ref().map_or(&[], |w| &w.streams)
    }

    pub(super) fn ws_mut(&mut self) -> &mut WsStats {
        self.ws.get_or_insert_with(|| {
            Box::new(WsStats {
                last_data_frame: [super::NONE; 2],
                ..Default::default()
            })
        })
    }

    /// Takes in the end summary: only what the panes show.
    pub(super) fn set_end(&mut self, e: &ConnectionEndEvent) {
        self.end = Some(e.end);
        self.wire_bytes = [e.stats[0].bytes, e.stats[1].bytes];
        if e.rtt.is_some() || e.tls.is_some() || e.app.is_some() {
            self.end_extra = Some(Box::new(EndExtra {
                rtt: e.rtt,
                tls: e.tls.clone(),
                app: e.app.clone(),
            }));
        }
    }

    /// Heap bytes this summary holds beyond its own size (estimate).
    pub fn heap_bytes(&self) -> usize {
        let hs = self.handshake.as_ref().map_or(0, |h| h.heap_bytes());
        let tls = self.tls.as_ref().map_or(0, |t| {
            size_of::<TlsEvent>()
                + ALLOC_OVERHEAD
                + opt_heap(&t.cipher_suite)
                + opt_heap(&t.sni)
                + opt_heap(&t.alpn)
                + opt_heap(&t.client_random)
                + opt_heap(&t.detail)
                + t.alpn_offered
                    .iter()
                    .map(|s| size_of::<String>() + s.capacity() + ALLOC_OVERHEAD)
                    .sum::<usize>()
        });
        let extra = self.end_extra.as_ref().map_or(0, |e| {
            size_of::<EndExtra>()
                + ALLOC_OVERHEAD
                + e.tls
                    .as_ref()
                    .map_or(0, |t| opt_heap(&t.cipher_suite) + opt_heap(&t.sni))
                + e.app.as_ref().map_or(0, |a| {
                    str_heap(&a.evidence)
                        + a.latency.capacity() * size_of::<crate::app::NameLatency>()
                        + a.latency.iter().map(|l| str_heap(&l.name)).sum::<usize>()
                })
        });
        let ws = self.ws.as_ref().map_or(0, |w| {
            size_of::<WsStats>() + ALLOC_OVERHEAD + w.activity.heap_bytes()
        });
        let streams = self
            .ws
            .as_ref()
            .map_or(0, |w| w.streams.capacity() * size_of::<StreamEntry>())
            + self
                .streams()
                .iter()
                .map(|s| {
                    s.handshake.as_ref().map_or(0, |h| h.heap_bytes())
                        + s.settings.capacity() * size_of::<(u16, u32)>()
                })
                .sum::<usize>();
        hs + tls + extra + ws + streams
    }

    pub fn is_ws(&self) -> bool {
        self.protocol.is_websocket()
    }

    /// `rejected 403`: the upgrade was answered, but not with 101.
    pub fn rejected_label(&self) -> Option<String> {
        self.rejected.map(|st| format!("rejected {st}"))
    }

    /// TLS connections: whether the records were decrypted (`None`: not TLS).
    pub fn tls_decrypted(&self) -> Option<bool> {
        match (&self.tls, self.end_tls()) {
            (Some(t), _) => Some(t.decrypted),
            (None, Some(s)) => Some(s.decrypted),
            (None, None) => None,
        }
    }

    /// The TLS part of the end summary.
    pub fn end_tls(&self) -> Option<&TlsSummary> {
        self.end_extra.as_ref().and_then(|e| e.tls.as_ref())
    }

    /// Ping round-trip times from the end summary (min, median, max).
    pub fn rtt(&self) -> Option<(f64, f64, f64)> {
        self.end_extra.as_ref().and_then(|e| e.rtt)
    }

    /// The application layer's summary, from the end summary.
    pub fn app(&self) -> Option<&crate::app::AppSummary> {
        self.end_extra.as_ref().and_then(|e| e.app.as_ref())
    }

    /// The protocol as `wsscope conns` names it: `websocket`, `http`,
    /// `other`, and for TLS `wss` (decrypted WebSocket) or `tls`.
    pub fn protocol_name(&self) -> &'static str {
        match self.tls_decrypted() {
            Some(true) if self.is_ws() => "wss",
            Some(_) => "tls",
            None => self.protocol.as_str(),
        }
    }

    pub fn tcp_end(&self) -> TcpEnd {
        self.end.unwrap_or(TcpEnd::Open)
    }

    pub fn frames(&self, d: Dir) -> u64 {
        self.ws.as_ref().map_or(0, |w| w.frames[d.index()])
    }

    pub fn messages(&self, d: Dir) -> u64 {
        self.ws.as_ref().map_or(0, |w| w.messages[d.index()])
    }

    pub fn total_frames(&self) -> u64 {
        self.frames(Dir::C2S) + self.frames(Dir::S2C)
    }

    pub fn total_messages(&self) -> u64 {
        self.messages(Dir::C2S) + self.messages(Dir::S2C)
    }

    /// The frame activity chart (`None` before the first frame).
    pub fn activity(&self) -> Option<&Activity> {
        self.ws.as_ref().map(|w| &w.activity)
    }
}

/// A WebSocket handshake as the detail pane shows it, in two allocations:
/// every string back to back in one text, and their spans. (The event's
/// own form is ~35 allocations, ~2 KB for a plain handshake.)
#[derive(Clone, Debug)]
pub struct Handshake {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub response_ts: Option<Timestamp>,
    /// HTTP status of the answer, `None` when no response was captured.
    pub status: Option<u16>,
    pub accept_ok: Option<bool>,
    pub deflate: Option<DeflateParams>,
    /// The application protocol its messages are decoded as, and the
    /// evidence (the subprotocol, the URL, or `--decode`). Boxed: most
    /// handshakes name none, and a million open ones are held.
    pub decoder: Option<Box<crate::app::Choice>>,
    text: Box<str>,
    /// `(start, end)` in `text`: the [`Field`]s, then request header names
    /// and values, then response ones. `start == u32::MAX`: absent.
    spans: Box<[(u32, u32)]>,
    request_headers: u16,
    /// An extended CONNECT on an HTTP/2 stream (RFC 8441): no key, no accept.
    pub http2: bool,
}

/// The single-valued strings of a [`Handshake`].
#[derive(Clone, Copy, Debug)]
enum Field {
    Method,
    Path,
    Subprotocol,
    Extensions,
    Accept,
    AcceptExpected,
    Reason,
}

const FIELDS: usize = 7;
const ABSENT: (u32, u32) = (u32::MAX, 0);

impl Handshake {
    /// The status that refused the WebSocket: any but 101 (HTTP/2: any but 2xx).
    pub fn refused(&self) -> Option<u16> {
        let ok = |st: u16| {
            if self.http2 {
                (200..300).contains(&st)
            } else {
                st == 101
            }
        };
        self.status.filter(|&st| !ok(st))
    }

    pub fn new(h: &HandshakeEvent) -> Handshake {
        let mut text = String::new();
        let mut spans = Vec::with_capacity(FIELDS + 2 * (h.request_headers.len() + h.response_headers.len()));
        let mut put = |s: Option<&str>| match s {
            Some(s) => {
                let start = u32::try_from(text.len()).unwrap_or(u32::MAX - 1);
                text.push_str(s);
                let end = u32::try_from(text.len()).unwrap_or(u32::MAX - 1);
                spans.push((start, end));
            }
            None => spans.push(ABSENT),
        };
        put(Some(&h.method));
        put(Some(&h.path));
        put(h.subprotocol.as_deref());
        put(h.extensions.as_deref());
        put(h.accept.as_deref());
        // Once, when it matched (the usual case).
        put(h
            .accept_expected
            .as_deref()
            .filter(|&e| Some(e) != h.accept.as_deref()));
        put(h.reason.as_deref());
        for (k, v) in h.request_headers.iter().chain(&h.response_headers) {
            put(Some(k));
            put(Some(v));
        }
        Handshake {
            conn: h.conn,
            ts: h.ts,
            response_ts: h.response_ts,
            status: h.status,
            accept_ok: h.accept_ok,
            deflate: h.deflate,
            decoder: h.decoder.clone().map(Box::new),
            text: text.into_boxed_str(),
            spans: spans.into_boxed_slice(),
            request_headers: u16::try_from(h.request_headers.len()).unwrap_or(u16::MAX),
            http2: h.http_version == Some("2"),
        }
    }

    fn span(&self, i: usize) -> Option<&str> {
        let &(s, e) = self.spans.get(i)?;
        if s == u32::MAX {
            return None;
        }
        self.text.get(s as usize..e as usize)
    }

    fn field(&self, f: Field) -> Option<&str> {
        self.span(f as usize)
    }

    pub fn method(&self) -> &str {
        self.field(Field::Method).unwrap_or("")
    }
    pub fn path(&self) -> &str {
        self.field(Field::Path).unwrap_or("")
    }
    /// `Sec-WebSocket-Protocol` chosen by the server (else offered by the client).
    pub fn subprotocol(&self) -> Option<&str> {
        self.field(Field::Subprotocol)
    }
    pub fn extensions(&self) -> Option<&str> {
        self.field(Field::Extensions)
    }
    pub fn accept(&self) -> Option<&str> {
        self.field(Field::Accept)
    }
    pub fn accept_expected(&self) -> Option<&str> {
        self.field(Field::AcceptExpected)
            .or_else(|| self.accept().filter(|_| self.accept_ok == Some(true)))
    }
    /// Response reason phrase.
    pub fn reason(&self) -> Option<&str> {
        self.field(Field::Reason)
    }

    fn headers(&self, from: usize, n: usize) -> impl Iterator<Item = (&str, &str)> {
        (0..n).map(move |k| {
            let i = FIELDS + 2 * (from + k);
            (self.span(i).unwrap_or(""), self.span(i + 1).unwrap_or(""))
        })
    }

    pub fn request_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers(0, usize::from(self.request_headers))
    }

    pub fn response_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let req = usize::from(self.request_headers);
        let all = (self.spans.len().saturating_sub(FIELDS)) / 2;
        self.headers(req, all.saturating_sub(req))
    }

    pub fn heap_bytes(&self) -> usize {
        let evidence = self.decoder.as_ref().map_or(0, |c| {
            size_of::<crate::app::Choice>()
                + ALLOC_OVERHEAD
                + match &c.evidence {
                    crate::app::Evidence::Subprotocol(s) | crate::app::Evidence::Url(s) => str_heap(s),
                    _ => 0,
                }
        });
        size_of::<Handshake>()
            + ALLOC_OVERHEAD
            + str_heap(&self.text)
            + evidence
            + self.spans.len() * size_of::<(u32, u32)>()
            + ALLOC_OVERHEAD
    }
}

/// Frames per direction over time, in a fixed number of buckets whose width
/// doubles when the span outgrows them (so it costs the same for any capture).
#[derive(Clone, Debug, Default)]
pub struct Activity {
    start: Option<Timestamp>,
    /// Bucket width in microseconds.
    width_us: u64,
    /// Frames per bucket (u32: a bucket of 4 billion frames saturates;
    /// half the size of u64 for every connection with traffic).
    pub buckets: [Vec<u32>; 2],
}

impl Activity {
    pub const BUCKETS: usize = 120;

    pub fn add(&mut self, ts: Timestamp, dir: Dir) {
        let start = *self.start.get_or_insert(ts);
        if self.width_us == 0 {
            self.width_us = 1000;
            self.buckets = [vec![0; Self::BUCKETS], vec![0; Self::BUCKETS]];
        }
        let us = (ts.seconds_since(start) * 1e6).max(0.0) as u64;
        let mut i = us / self.width_us;
        while i >= Self::BUCKETS as u64 {
            // Merge pairs and double the width.
            for b in &mut self.buckets {
                for k in 0..Self::BUCKETS / 2 {
                    b[k] = b[2 * k].saturating_add(b[2 * k + 1]);
                }
                for v in b.iter_mut().skip(Self::BUCKETS / 2) {
                    *v = 0;
                }
            }
            self.width_us *= 2;
            i = us / self.width_us;
        }
        if let Some(v) = self.buckets[dir.index()].get_mut(i as usize) {
            *v = v.saturating_add(1);
        }
    }

    /// Buckets in use (up to the last non-empty one).
    pub fn used(&self) -> usize {
        (0..Self::BUCKETS)
            .rev()
            .find(|&i| self.buckets.iter().any(|b| b.get(i).is_some_and(|&v| v > 0)))
            .map_or(0, |i| i + 1)
    }

    pub fn bucket_secs(&self) -> f64 {
        self.width_us as f64 / 1e6
    }

    pub fn heap_bytes(&self) -> usize {
        self.buckets
            .iter()
            .map(|b| {
                if b.capacity() == 0 {
                    0
                } else {
                    b.capacity() * size_of::<u32>() + ALLOC_OVERHEAD
                }
            })
            .sum()
    }
}
