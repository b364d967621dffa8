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

use std::fmt;
use std::net::SocketAddr;

/// Connection id: numbered from 0 in order of first appearance, exactly like
/// Wireshark's `tcp.stream`, so `conn 3` here is `tcp.stream eq 3` there.
pub type ConnId = u64;

/// A capture timestamp. Packets' timestamps are the analyzer's only clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    pub const fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// Seconds since the epoch as a float (microsecond precision survives
    /// for dates up to year ~2200).
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// `self - earlier` in seconds (negative if `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        // Wire timestamps can lie (pcapng offsets span all of i64): no overflow.
        (i128::from(self.secs) - i128::from(earlier.secs)) as f64
            + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }

    /// Exact decimal rendering with 9 fractional digits (`1700000000.123456789`),
    /// used for JSON so that no precision is lost to float formatting.
    pub fn to_decimal(self) -> String {
        if self.secs < 0 && self.nanos > 0 {
            // -1.5 s is secs = -2, nanos = 500_000_000.
            let total = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos);
            let abs = total.unsigned_abs();
            format!("-{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
        } else {
            format!("{}.{:09}", self.secs, self.nanos)
        }
    }
}

impl fmt::Display for Timestamp {
    /// UTC `HH:MM:SS.ffffff` — the timeline format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day_secs = self.secs.rem_euclid(86_400);
        write!(
            f,
            "{:02}:{:02}:{:02}.{:06}",
            day_secs / 3600,
            (day_secs / 60) % 60,
            day_secs % 60,
            self.nanos / 1000
        )
    }
}

/// Direction of travel within a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// Client → server (the side that sent the SYN, or the HTTP request).
    C2S,
    /// Server → client.
    S2C,
}

impl Dir {
    pub const BOTH: [Dir; 2] = [Dir::C2S, Dir::S2C];

    pub fn as_str(self) -> &'static str {
        match self {
            Dir::C2S => "c2s",
            Dir::S2C => "s2c",
        }
    }

    pub fn reverse(self) -> Dir {
        match self {
            Dir::C2S => Dir::S2C,
            Dir::S2C => Dir::C2S,
        }
    }

    /// 0 for c2s, 1 for s2c: for per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Dir::C2S => 0,
            Dir::S2C => 1,
        }
    }

    /// A terminal arrow: `→` for c2s, `←` for s2c.
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::C2S => "→",
            Dir::S2C => "←",
        }
    }
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What protocol a TCP connection turned out to carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// WebSocket (handshake seen, forced with `--ws-port`, or detected heuristically).
    WebSocket,
    /// HTTP/1.x that did not (successfully) upgrade.
    Http,
    /// Anything else, or no payload at all.
    #[default]
    Other,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::WebSocket => "websocket",
            Protocol::Http => "http",
            Protocol::Other => "other",
        }
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
}

/// `{"type":"message"}` — one complete data message (after reassembly and inflation).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageEvent {
    pub conn: ConnId,
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
}

/// `{"type":"violation"}` — the peers broke a protocol rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ViolationEvent {
    pub conn: ConnId,
    pub ts: Timestamp,
    /// `None` for connection-level rules (e.g. accept mismatch is `Some(S2C)`).
    pub dir: Option<Dir>,
    /// Stable kebab-case rule id, e.g. `client-frame-unmasked`.
    pub rule: &'static str,
    pub detail: String,
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
}

/// Everything the core produces, in capture order.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Connection(ConnectionEvent),
    Handshake(Box<HandshakeEvent>),
    Frame(FrameEvent),
    Message(MessageEvent),
    Gap(GapEvent),
    Violation(ViolationEvent),
    Diagnostic(DiagnosticEvent),
    Close(Box<ConnectionEndEvent>),
}

impl Event {
    pub fn ts(&self) -> Timestamp {
        match self {
            Event::Connection(e) => e.ts,
            Event::Handshake(e) => e.ts,
            Event::Frame(e) => e.ts,
            Event::Message(e) => e.ts,
            Event::Gap(e) => e.ts,
            Event::Violation(e) => e.ts,
            Event::Diagnostic(e) => e.ts,
            Event::Close(e) => e.ts,
        }
    }

    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Event::Connection(e) => Some(e.conn),
            Event::Handshake(e) => Some(e.conn),
            Event::Frame(e) => Some(e.conn),
            Event::Message(e) => Some(e.conn),
            Event::Gap(e) => Some(e.conn),
            Event::Violation(e) => Some(e.conn),
            Event::Diagnostic(e) => e.conn,
            Event::Close(e) => Some(e.conn),
        }
    }

    /// The JSON `"type"` of this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Connection(_) => "connection",
            Event::Handshake(_) => "handshake",
            Event::Frame(_) => "frame",
            Event::Message(_) => "message",
            Event::Gap(_) => "gap",
            Event::Violation(_) => "violation",
            Event::Diagnostic(_) => "diagnostic",
            Event::Close(_) => "close",
        }
    }
}

/// Where the core delivers events. Sinks implement it; so does `Vec<Event>`.
pub trait EventSink {
    fn event(&mut self, ev: Event);

    /// End of the events: flush, and return the first write error. `event`
    /// cannot fail, so a sink that writes keeps its first error, writes
    /// nothing after it, and reports it here.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
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

/// WebSocket opcode names (RFC 6455 §5.2); `None` for reserved values.
pub fn opcode_name(opcode: u8) -> Option<&'static str> {
    Some(match opcode {
        0x0 => "continuation",
        0x1 => "text",
        0x2 => "binary",
        0x8 => "close",
        0x9 => "ping",
        0xA => "pong",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_decimal_is_exact() {
        assert_eq!(
            Timestamp::new(1_700_000_000, 123_456_789).to_decimal(),
            "1700000000.123456789"
        );
        assert_eq!(Timestamp::new(-2, 500_000_000).to_decimal(), "-1.500000000");
        assert_eq!(Timestamp::new(0, 0).to_decimal(), "0.000000000");
    }

    #[test]
    fn timestamp_display_is_utc_time_of_day() {
        // 2023-11-14T22:13:20.123456Z
        assert_eq!(
            Timestamp::new(1_700_000_000, 123_456_789).to_string(),
            "22:13:20.123456"
        );
    }

    #[test]
    fn seconds_since_does_not_overflow_on_lying_timestamps() {
        let d = Timestamp::new(i64::MAX, 0).seconds_since(Timestamp::new(i64::MIN, 0));
        assert!(d > 1.8e19);
    }

    #[test]
    fn seconds_since_handles_nanosecond_borrow() {
        let a = Timestamp::new(10, 900_000_000);
        let b = Timestamp::new(12, 100_000_000);
        assert!((b.seconds_since(a) - 1.2).abs() < 1e-9);
    }
}
