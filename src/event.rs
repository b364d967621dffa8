//! The event model every sink consumes.
//!
//! The core (`decode` → `tcp` → `http`/`ws`) turns packets into [`Event`]s in
//! capture order; sinks (text, JSON Lines, hexdump, the TUI) only ever see
//! these. Events own their payload bytes so that they can cross a channel to
//! the TUI thread: unmasking already produces a fresh buffer per frame, so
//! owning it costs no extra copy.
//!
//! The JSON Lines rendering of these events is a public contract (see
//! README.md): fields may be added, never renamed or dropped.

use std::net::SocketAddr;

pub use crate::model::{ConnId, Dir, Opcode, PacketSpan, PerDir, SessionId, Stamp, Timestamp};

/// What protocol a TCP connection turned out to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// WebSocket (handshake seen, forced with `--ws-port`, or detected heuristically).
    WebSocket,
    /// HTTP/1.x that did not (successfully) upgrade.
    Http,
    /// HTTP/2 with no WebSocket stream.
    H2,
    /// HTTP/2 carrying WebSocket streams (RFC 8441).
    H2WebSocket,
    /// Anything else, or no payload at all.
    #[default]
    Other,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::WebSocket => "websocket",
            Protocol::Http => "http",
            Protocol::H2 => "h2",
            Protocol::H2WebSocket => "h2-websocket",
            Protocol::Other => "other",
        }
    }

    /// Carries WebSocket: the connection itself, or HTTP/2 streams of it.
    pub fn is_websocket(self) -> bool {
        matches!(self, Protocol::WebSocket | Protocol::H2WebSocket)
    }
}

/// How a TCP connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TcpEnd {
    /// Both directions sent FIN.
    Fin,
    /// Only one direction sent FIN (half-closed when the capture ended).
    HalfFin,
    /// A RST was seen.
    Rst,
    /// Still open at the end of the capture.
    #[default]
    Open,
    /// Dropped from the connection table to bound memory (see `--max-conns`).
    Evicted,
}

impl TcpEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpEnd::Fin => "fin",
            TcpEnd::HalfFin => "half-fin",
            TcpEnd::Rst => "rst",
            TcpEnd::Open => "open",
            TcpEnd::Evicted => "evicted",
        }
    }
}

/// Why bytes of a stream are missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// Never captured: the peer acknowledged them, or the stream moved past them.
    Lost,
    /// Cut off by the capture's snapshot length.
    Snaplen,
    /// A buffering cap was hit and the hole was skipped (see `--max-buffer`).
    BufferCap,
    /// The connection ended (FIN/RST/end of capture) with this hole unfilled.
    Unfilled,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Lost => "lost",
            GapReason::Snaplen => "snaplen",
            GapReason::BufferCap => "buffer-cap",
            GapReason::Unfilled => "unfilled",
        }
    }
}

/// `{"type":"connection"}` — once per TCP connection, before any other event of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionEvent {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Whether the three-way handshake's SYN was seen (else: picked up mid-stream).
    pub syn_seen: bool,
    /// How client and server were told apart.
    pub role_basis: RoleBasis,
    /// The connection's first packet (1-based, as Wireshark numbers frames).
    pub packet: u64,
}

/// How the tcp layer decided who is the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleBasis {
    /// The side that sent the SYN (without ACK).
    Syn,
    /// The side that answered SYN+ACK is the server.
    SynAck,
    /// An upper layer recognised the first payload (e.g. an HTTP request,
    /// or masked WebSocket frames).
    Payload,
    /// Nothing to go on: the lower port is taken as the server.
    PortGuess,
}

impl RoleBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleBasis::Syn => "syn",
            RoleBasis::SynAck => "syn-ack",
            RoleBasis::Payload => "payload",
            RoleBasis::PortGuess => "port-guess",
        }
    }
}

/// `{"type":"handshake"}` — a WebSocket upgrade request and (if captured) its answer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct HandshakeEvent {
    pub conn: ConnId,
    /// The session the handshake opened (`session.conn == conn`).
    pub session: SessionId,
    pub ts: Timestamp,
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    pub origin: Option<String>,
    pub key: Option<String>,
    pub version: Option<String>,
    /// `Sec-WebSocket-Protocol` chosen by the server (else offered by the client).
    pub subprotocol: Option<String>,
    /// `Sec-WebSocket-Extensions` as agreed by the server (else as offered).
    pub extensions: Option<String>,
    /// HTTP status of the answer, `None` when no response was captured.
    pub status: Option<u16>,
    /// The server's `Sec-WebSocket-Accept`.
    pub accept: Option<String>,
    /// base64(SHA-1(key + GUID)), `None` without a key.
    pub accept_expected: Option<String>,
    /// `None` when no response was captured.
    pub accept_ok: Option<bool>,
    /// Request headers as they appeared (name, value), for the detail view.
    pub request_headers: Vec<(String, String)>,
    /// Response headers as they appeared.
    pub response_headers: Vec<(String, String)>,
    /// Response reason phrase (`Switching Protocols`).
    pub reason: Option<String>,
    /// Timestamp of the response, if captured.
    pub response_ts: Option<Timestamp>,
    /// Negotiated permessage-deflate parameters, if any.
    pub deflate: Option<DeflateParams>,
    /// Each side's own `Sec-WebSocket-Extensions` (all its lines joined), as
    /// Zeek reports them: `extensions` above merges the two.
    pub client_extensions: Option<String>,
    pub server_extensions: Option<String>,
    /// The client's offered `Sec-WebSocket-Protocol` tokens, in order.
    pub client_subprotocols: Vec<String>,
    /// The server's `Sec-WebSocket-Protocol` (the one it selected).
    pub server_subprotocol: Option<String>,
    /// The server answered, but not `101`; `None` when no answer was captured.
    pub rejected: Option<bool>,
    /// The packet that completed the request head (0: not known).
    pub packet: u64,
    /// The packet that completed the response head, if captured.
    pub response_packet: Option<u64>,
    /// The application protocol the messages will be decoded as, and the
    /// evidence (the subprotocol, the URL, or `--decode`); `None` when the
    /// handshake names none (the messages' shape may still tell).
    pub decoder: Option<crate::app::Choice>,
    /// `"2"` for a WebSocket over HTTP/2 (RFC 8441: an extended CONNECT,
    /// no key and no accept); `None` for HTTP/1.1's upgrade.
    pub http_version: Option<&'static str>,
    /// HTTP/2: the CONNECT's `:protocol` (`websocket`).
    pub protocol: Option<String>,
    /// HTTP/2: the server's SETTINGS before the CONNECT was answered
    /// (identifier, value): `ENABLE_CONNECT_PROTOCOL` (0x8) allows it.
    pub server_settings: Vec<(u16, u32)>,
}

/// Negotiated RFC 7692 parameters (from the server's answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

/// `{"type":"frame"}` — one WebSocket frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameEvent {
    pub conn: ConnId,
    /// The session the frame belongs to (`session.conn == conn`).
    pub session: SessionId,
    /// The packets that carried the frame's bytes (header and payload).
    pub packets: PacketSpan,
    pub ts: Timestamp,
    pub dir: Dir,
    pub fin: bool,
    /// RSV1 = 4, RSV2 = 2, RSV3 = 1.
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub mask_key: Option<[u8; 4]>,
    /// Declared payload length (may exceed what was captured).
    pub len: u64,
    /// Which length form the header used: 7, 16 or 64 bits.
    pub len_bits: u8,
    /// Header length in bytes (2..=14).
    pub header_len: u8,
    /// Offset of the frame's first header byte in its direction's stream.
    pub offset: u64,
    /// Unmasked payload bytes as captured (before inflation).
    pub payload: Vec<u8>,
    /// The payload was not fully captured (gap, snaplen, end of capture).
    pub truncated: bool,
    /// Close frames: status code, if present.
    pub close_code: Option<u16>,
    /// Close frames: reason text (lossy UTF-8), if present.
    pub close_reason: Option<String>,
    /// Pong frames: round-trip time to the matching ping, in seconds.
    pub rtt: Option<f64>,
    /// The stream ended inside this frame's header: how many header bytes
    /// were captured (`None`: the whole header). Fields those bytes do not
    /// hold are neutral: `masked` false, `mask_key` none, `len` and
    /// `len_bits` 0; `header_len` is the bytes captured.
    pub header_captured: Option<u8>,
    /// With `header_captured`: the header bytes themselves (the fields
    /// above cannot say what a part of an extended length or of a masking
    /// key held), for exports that show the frame as it was on the wire.
    pub header_bytes: Option<Box<[u8]>>,
}

/// `{"type":"message"}` — one complete data message (after reassembly and inflation).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageEvent {
    pub conn: ConnId,
    /// The session the message belongs to (`session.conn == conn`).
    pub session: SessionId,
    /// Messages of this session and direction before this one (0, 1, 2...).
    pub seq: u64,
    /// Stream offset of the first captured frame of the message: with
    /// `frames`, which frames made it (the data frames of `dir` from there on;
    /// control frames may be interleaved).
    pub first_frame_offset: u64,
    /// The packets that carried its data frames (`None` if no byte of it was
    /// captured, e.g. a message cut by a gap before its first frame's end).
    pub packets: Option<PacketSpan>,
    pub ts: Timestamp,
    pub dir: Dir,
    /// Opcode of the first frame (1 text, 2 binary, or a reserved data opcode).
    pub opcode: u8,
    /// Number of frames it was assembled from.
    pub frames: u32,
    /// RSV1 on the first frame with permessage-deflate negotiated.
    pub compressed: bool,
    /// The message bytes (inflated when compressed and inflation worked).
    pub data: Vec<u8>,
    /// Sum of the frames' payload lengths as on the wire.
    pub wire_len: u64,
    /// Valid UTF-8 text message (then `data` is that text).
    pub is_text: bool,
    /// When compressed but it could not be inflated: why.
    pub inflate_error: Option<String>,
    /// Part of the message was not captured.
    pub truncated: bool,
    /// The application messages inside it ([`crate::app`]), when decoded.
    pub decoded: Option<Box<crate::app::Decoded>>,
}

/// `{"type":"tls"}` — once per TLS connection, after `connection` and before
/// anything decrypted: what the cleartext handshake shows, and whether (and
/// how) the records could be decrypted.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TlsEvent {
    pub conn: ConnId,
    pub session: SessionId,
    pub ts: Timestamp,
    /// `TLS 1.2` or `TLS 1.3`; `None` when no hello was captured.
    pub version: Option<&'static str>,
    /// IANA name of the negotiated suite (or `0xNNNN`).
    pub cipher_suite: Option<String>,
    pub sni: Option<String>,
    /// The selected application protocol.
    pub alpn: Option<String>,
    pub alpn_offered: Vec<String>,
    /// The ClientHello random, hex.
    pub client_random: Option<String>,
    /// The session was resumed (PSK, session id or ticket).
    pub resumed: bool,
    pub decrypted: bool,
    /// TLS 1.2 and earlier: whether the server agreed to the extended
    /// master secret (RFC 7627); `None` without a ServerHello.
    pub extended_master_secret: Option<bool>,
    /// Why not decrypted: `no-key`, `bad-key`, `unsupported`, `no-handshake`.
    pub reason: Option<&'static str>,
    /// Where the key came from: `keylog`, `dsb` or `trial`.
    pub decrypted_by: Option<&'static str>,
    /// Human detail: the unsupported suite, the trial's sequence offset.
    pub detail: Option<String>,
    /// The packet of the connection's first TLS bytes (0: not known).
    pub packet: u64,
}

/// What the TLS layer saw on a connection, for its `close` record.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TlsSummary {
    pub version: Option<&'static str>,
    pub cipher_suite: Option<String>,
    pub sni: Option<String>,
    pub decrypted: bool,
    /// Records seen, records that could not be decrypted, KeyUpdates.
    pub records: PerDir<u64>,
    pub records_undecrypted: PerDir<u64>,
    pub key_updates: PerDir<u64>,
}

/// `{"type":"http2"}` — an ordinary request on an HTTP/2 connection that
/// carries WebSocket streams (RFC 8441): not a WebSocket, shown so the
/// connection's other streams are accounted for.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Http2RequestEvent {
    pub conn: ConnId,
    /// `session.stream` is the request's stream.
    pub session: SessionId,
    /// When the request's headers completed.
    pub ts: Timestamp,
    pub method: String,
    pub path: String,
    pub authority: Option<String>,
    /// The answer's `:status`; `None` when none was captured (the stream
    /// ended or was reset first).
    pub status: Option<u16>,
    pub packet: u64,
    pub response_packet: Option<u64>,
}

/// `{"type":"gap"}` — bytes of a stream that were not captured.
#[derive(Clone, Debug, PartialEq)]
pub struct GapEvent {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub dir: Dir,
    /// Offset of the gap in its direction's stream.
    pub offset: u64,
    pub bytes: u64,
    pub reason: GapReason,
    /// The packet that showed the bytes missing (the one after the hole);
    /// 0 when the connection's end did (`unfilled`).
    pub packet: u64,
    /// Stream offset of the WebSocket frame the gap cut into, when it fell
    /// inside one (else the gap lies between frames, or outside WebSocket).
    pub frame_offset: Option<u64>,
}

/// `{"type":"violation"}` — the peers broke a protocol rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ViolationEvent {
    pub conn: ConnId,
    /// The session whose peers broke the rule (`session.conn == conn`).
    pub session: SessionId,
    pub ts: Timestamp,
    /// `None` for connection-level rules (e.g. accept mismatch is `Some(S2C)`).
    pub dir: Option<Dir>,
    /// Stable kebab-case rule id, e.g. `client-frame-unmasked`.
    pub rule: &'static str,
    pub detail: String,
    /// The packet that showed the breach (0: the end of the input did).
    pub packet: u64,
    /// Stream offset of the WebSocket frame the rule concerns (for a
    /// message's rule, its first frame: the message's `first_frame_offset`);
    /// `None` for handshake rules.
    pub frame_offset: Option<u64>,
}

/// `{"type":"diagnostic"}` — something about the capture itself (not the peers):
/// a truncated file, an undecodable packet, a TCP overlap conflict, a buffer cap.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticEvent {
    pub ts: Timestamp,
    pub conn: Option<ConnId>,
    pub dir: Option<Dir>,
    /// Stable kebab-case code, e.g. `tcp-overlap-conflict`.
    pub code: &'static str,
    pub detail: String,
    /// 1-based index of the packet in the capture, when it concerns one packet.
    pub packet: Option<u64>,
}

/// How much a finding matters (`wsscope audit`): SARIF's levels map
/// `high` to `error`, `medium` to `warning`, `low` and `info` to `note`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Info, Severity::Low, Severity::Medium, Severity::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// `info`, `low`, `medium`, `high` (as `--fail-on` takes them).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

/// `{"type":"finding"}` — a security problem the traffic shows
/// (`wsscope audit`, [`crate::audit`]): a stable rule id, how much it
/// matters, and the evidence, secrets redacted unless asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingEvent {
    pub conn: ConnId,
    /// The session it concerns (`stream` set for a WebSocket over HTTP/2).
    pub session: SessionId,
    /// When the traffic showed it.
    pub ts: Timestamp,
    /// Stable kebab-case rule id ([`crate::audit::catalog`]).
    pub rule: &'static str,
    pub severity: Severity,
    /// The packets that show it, ascending (at most a few).
    pub packets: Vec<u64>,
    /// What was seen: the header, field, value kind or statistics.
    pub evidence: String,
    /// What it means here, in one sentence.
    pub detail: String,
}

/// Per-direction counters of one connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirStats {
    /// Packets sent in this direction.
    pub packets: u64,
    /// Frame bytes on the wire (original length), as `tshark -z conv,tcp` counts them.
    pub bytes: u64,
    /// Reassembled stream bytes delivered (as `tshark -z follow,tcp,raw`).
    pub stream_bytes: u64,
    /// Gaps and their total size.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// FIN sent in this direction.
    pub fin: bool,
    /// RST sent in this direction.
    pub rst: bool,
    /// WebSocket frames and messages (zero for non-WebSocket connections).
    pub frames: u64,
    pub messages: u64,
    /// WebSocket close frame sent in this direction: (code, reason).
    pub close: Option<(Option<u16>, Option<String>)>,
}

/// `{"type":"close"}` — a connection's summary, when it ends or at end of input.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionEndEvent {
    pub conn: ConnId,
    /// The connection's last packet (= `last_ts`), not when the record was
    /// written (after the FIN/RST linger, on eviction, at end of input).
    pub ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub end: TcpEnd,
    pub protocol: Protocol,
    /// Indexed by [`Dir::index`].
    pub stats: [DirStats; 2],
    /// WebSocket: which side sent a close frame first.
    pub close_first: Option<Dir>,
    /// WebSocket: ping round-trip times in seconds (min, median, max).
    pub rtt: Option<(f64, f64, f64)>,
    /// WebSocket: was the connection picked up without a handshake?
    pub handshake_seen: bool,
    pub violations: u64,
    /// TLS connections: what the TLS layer saw (`protocol` then renders as
    /// `wss` when the WebSocket inside was decrypted, else `tls`).
    pub tls: Option<TlsSummary>,
    /// The connection's first and last packets.
    pub first_packet: u64,
    pub last_packet: u64,
    /// The application protocol inside (WebSocket), its latencies.
    pub app: Option<crate::app::AppSummary>,
    /// HTTP/2 connections: the WebSocket streams they carried.
    pub h2_ws_streams: u64,
    /// A WebSocket stream's own record (RFC 8441), written when the stream
    /// ends: its `stats` count that stream's DATA (`packets`: its DATA
    /// frames, `bytes`/`stream_bytes`: their payload), `fin`/`rst` its
    /// END_STREAM/RST_STREAM. The TCP connection's record follows at its end.
    pub stream: Option<u32>,
}

impl ConnectionEndEvent {
    /// The `protocol` as the outputs name it: `websocket`, `http`, `other`,
    /// and for TLS connections `wss` (decrypted WebSocket) or `tls`.
    pub fn protocol_name(&self) -> &'static str {
        match &self.tls {
            Some(t) if t.decrypted && self.protocol == Protocol::WebSocket => "wss",
            // HTTP/2 inside TLS says so (its `tls` object says TLS).
            Some(t) if t.decrypted && matches!(self.protocol, Protocol::H2 | Protocol::H2WebSocket) => {
                self.protocol.as_str()
            }
            Some(_) => "tls",
            None => self.protocol.as_str(),
        }
    }
}

/// Everything the core produces, in capture order.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Connection(ConnectionEvent),
    Tls(Box<TlsEvent>),
    Handshake(Box<HandshakeEvent>),
    Frame(FrameEvent),
    Message(MessageEvent),
    Gap(GapEvent),
    Violation(ViolationEvent),
    Diagnostic(DiagnosticEvent),
    Close(Box<ConnectionEndEvent>),
    Http2(Box<Http2RequestEvent>),
    Finding(Box<FindingEvent>),
}

impl Event {
    pub fn ts(&self) -> Timestamp {
        match self {
            Event::Connection(e) => e.ts,
            Event::Tls(e) => e.ts,
            Event::Handshake(e) => e.ts,
            Event::Frame(e) => e.ts,
            Event::Message(e) => e.ts,
            Event::Gap(e) => e.ts,
            Event::Violation(e) => e.ts,
            Event::Diagnostic(e) => e.ts,
            Event::Http2(e) => e.ts,
            Event::Close(e) => e.ts,
            Event::Finding(e) => e.ts,
        }
    }

    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Event::Connection(e) => Some(e.conn),
            Event::Tls(e) => Some(e.conn),
            Event::Handshake(e) => Some(e.conn),
            Event::Frame(e) => Some(e.conn),
            Event::Message(e) => Some(e.conn),
            Event::Gap(e) => Some(e.conn),
            Event::Violation(e) => Some(e.conn),
            Event::Diagnostic(e) => e.conn,
            Event::Http2(e) => Some(e.conn),
            Event::Close(e) => Some(e.conn),
            Event::Finding(e) => Some(e.conn),
        }
    }

    /// The HTTP/2 stream of an event of a WebSocket inside HTTP/2.
    pub fn stream(&self) -> Option<u32> {
        match self {
            Event::Handshake(e) => e.session.stream,
            Event::Frame(e) => e.session.stream,
            Event::Message(e) => e.session.stream,
            Event::Violation(e) => e.session.stream,
            Event::Close(e) => e.stream,
            Event::Http2(e) => e.session.stream,
            Event::Finding(e) => e.session.stream,
            _ => None,
        }
    }

    /// The JSON `"type"` of this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Connection(_) => "connection",
            Event::Tls(_) => "tls",
            Event::Handshake(_) => "handshake",
            Event::Frame(_) => "frame",
            Event::Message(_) => "message",
            Event::Gap(_) => "gap",
            Event::Violation(_) => "violation",
            Event::Diagnostic(_) => "diagnostic",
            Event::Http2(_) => "http2",
            Event::Close(_) => "close",
            Event::Finding(_) => "finding",
        }
    }
}

/// Where the core delivers events. Sinks implement it; so does `Vec<Event>`.
pub trait EventSink {
    fn event(&mut self, ev: Event);

    /// The same as [`EventSink::event`] for a sink that only reads the
    /// event (a writer): the caller keeps it, so its memory is freed where
    /// it was allocated (see `output::offload`). The default clones.
    fn event_ref(&mut self, ev: &Event) {
        self.event(ev.clone());
    }

    /// `loan`'s events in `range`, lent: the same as [`EventSink::event_ref`]
    /// on each, for a sink that reads them now. A sink that hands events to
    /// another thread (`output::offload`) keeps the loan instead of copying.
    fn lend(&mut self, loan: &std::sync::Arc<Loan>, range: std::ops::Range<usize>) {
        for ev in loan.events().get(range).unwrap_or_default() {
            self.event_ref(ev);
        }
    }

    /// Whether [`EventSink::event_ref`] and [`EventSink::lend`] cost no more
    /// than `event` (the sink only reads events, it keeps none): then a
    /// producer on another thread lends its events and frees them itself
    /// (`analyzer::shard`).
    fn reads_only(&self) -> bool {
        false
    }

    /// End of the events: flush, and return the first write error. `event`
    /// cannot fail, so a sink that writes keeps its first error, writes
    /// nothing after it, and reports it here.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Events lent by the thread that made them to the ones that read them, and
/// sent back home to be freed when the last reader lets go: freeing a
/// thread's allocations on another makes both fight over the allocator's
/// locks (a third of a permessage-deflate dump's time on two cores).
pub struct Loan {
    events: Vec<Event>,
    home: Option<std::sync::mpsc::Sender<Vec<Event>>>,
}

impl Loan {
    /// `events`, to go back through `home` (or be freed where the last
    /// reader drops them, without one).
    pub fn new(events: Vec<Event>, home: Option<std::sync::mpsc::Sender<Vec<Event>>>) -> Self {
        Loan { events, home }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            // Home is gone (its thread ended): freed here instead.
            let _ = home.send(std::mem::take(&mut self.events));
        }
    }
}

impl EventSink for Vec<Event> {
    fn event(&mut self, ev: Event) {
        self.push(ev);
    }
}

impl<F: FnMut(Event)> EventSink for F {
    fn event(&mut self, ev: Event) {
        self(ev)
    }
}

/// WebSocket opcode names (RFC 6455 §5.2); `None` for reserved values
/// (events keep the opcode as a byte; the names live with [`Opcode`]).
pub fn opcode_name(opcode: u8) -> Option<&'static str> {
    Opcode(opcode).known_name()
}
