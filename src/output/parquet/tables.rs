//! The tables of `dump --format parquet`, one per record kind, and their
//! columns: name, type, the JSON Lines field each mirrors, and how it is
//! read from the event. Column names are the JSON Lines field names,
//! nested objects flattened with `_` (`c2s.packets` → `c2s_packets`), so a
//! query reads like the JSON it replaces. Like the JSON Lines schema these
//! names are a contract: add columns freely, never rename or drop one.

use super::column::{Col, Ctx, Kind, Val, opt, req};
use crate::event::{
    ConnectionEndEvent, DiagnosticEvent, Dir, DirStats, FindingEvent, FrameEvent, GapEvent, HandshakeEvent,
    Http2RequestEvent, MessageEvent, Timestamp, TlsEvent, ViolationEvent,
};
use crate::output::payload::PayloadLimit;
use Kind::*;

/// A count from the wire (never near 2^63) as a signed Parquet INT64:
/// what Spark and most engines read without a DECIMAL(20) detour.
fn int(n: u64) -> Val<'static> {
    Val::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn opt_int(n: Option<u64>) -> Val<'static> {
    n.map_or(Val::Null, int)
}

/// A packet number; 0 (the end of the input, no packet) is null, as in JSON Lines.
fn packet(n: u64) -> Val<'static> {
    if n == 0 { Val::Null } else { int(n) }
}

fn s(v: &str) -> Val<'_> {
    Val::Str(v)
}

fn opt_s(v: Option<&str>) -> Val<'_> {
    v.map_or(Val::Null, Val::Str)
}

fn opt_f(v: Option<f64>) -> Val<'static> {
    v.filter(|x| x.is_finite()).map_or(Val::Null, Val::F64)
}

fn ts(t: Timestamp) -> Val<'static> {
    Val::Ts(t)
}

fn stream(id: Option<u32>) -> Val<'static> {
    id.map_or(Val::Null, |n| Val::Int(i64::from(n)))
}

fn dir(d: Dir) -> Val<'static> {
    Val::Str(d.as_str())
}

/// `text`, `ping`, ... or `reserved-0x3`, as JSON Lines writes it (a
/// reserved opcode has a name too: null would hide which one it was).
fn opcode_name(op: u8) -> Val<'static> {
    match crate::ws::frame::Opcode(op).name() {
        std::borrow::Cow::Borrowed(n) => Val::Str(n),
        std::borrow::Cow::Owned(n) => Val::String(n),
    }
}

/// Payload bytes kept under `--payload` (null for `none`).
fn payload<'a>(c: &Ctx, b: &'a [u8]) -> Val<'a> {
    c.payload
        .cut_bytes(b)
        .map_or(Val::Null, |(kept, _)| Val::Bytes(kept))
}

/// Whether `--payload N` cut a payload of `len` bytes (text: of `text`).
fn cut(c: &Ctx, len: usize) -> Val<'static> {
    Val::Bool(matches!(c.payload, PayloadLimit::Bytes(n) if n < len))
}

/// The first header `name` (case-insensitive) of a list.
fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every table's first column: the input file.
const fn capture<E>() -> Col<E> {
    req("capture", Enum, "capture", |_, c| Val::Str(&c.capture))
}

/// One direction's counters, flattened (`c2s_packets`, ...).
macro_rules! dir_cols {
    ($d:literal, $i:expr) => {
        [
            req(
                concat!($d, "_packets"),
                I64,
                concat!($d, ".packets"),
                |e: &ConnectionEndEvent, _| int(ds(e, $i).packets),
            ),
            req(concat!($d, "_bytes"), I64, concat!($d, ".bytes"), |e, _| {
                int(ds(e, $i).bytes)
            }),
            req(
                concat!($d, "_stream_bytes"),
                I64,
                concat!($d, ".stream_bytes"),
                |e, _| int(ds(e, $i).stream_bytes),
            ),
            req(concat!($d, "_gaps"), I64, concat!($d, ".gaps"), |e, _| {
                int(ds(e, $i).gaps)
            }),
            req(
                concat!($d, "_gap_bytes"),
                I64,
                concat!($d, ".gap_bytes"),
                |e, _| int(ds(e, $i).gap_bytes),
            ),
            req(concat!($d, "_fin"), Bool, concat!($d, ".fin"), |e, _| {
                Val::Bool(ds(e, $i).fin)
            }),
            req(concat!($d, "_rst"), Bool, concat!($d, ".rst"), |e, _| {
                Val::Bool(ds(e, $i).rst)
            }),
            req(concat!($d, "_frames"), I64, concat!($d, ".frames"), |e, _| {
                int(ds(e, $i).frames)
            }),
            req(concat!($d, "_messages"), I64, concat!($d, ".messages"), |e, _| {
                int(ds(e, $i).messages)
            }),
            opt(
                concat!($d, "_close_code"),
                I32,
                concat!($d, ".close_code"),
                |e, _| opt_int(ds(e, $i).close.as_ref().and_then(|c| c.0).map(u64::from)),
            ),
            opt(
                concat!($d, "_close_reason"),
                Str,
                concat!($d, ".close_reason"),
                |e, _| opt_s(ds(e, $i).close.as_ref().and_then(|c| c.1.as_deref())),
            ),
        ]
    };
}

static NO_STATS: DirStats = DirStats {
    packets: 0,
    bytes: 0,
    stream_bytes: 0,
    gaps: 0,
    gap_bytes: 0,
    fin: false,
    rst: false,
    frames: 0,
    messages: 0,
    close: None,
};

fn ds(e: &ConnectionEndEvent, i: usize) -> &DirStats {
    e.stats.get(i).unwrap_or(&NO_STATS)
}

const C2S: [Col<ConnectionEndEvent>; 11] = dir_cols!("c2s", 0);
const S2C: [Col<ConnectionEndEvent>; 11] = dir_cols!("s2c", 1);

/// `connections`: the `close` record of every connection (and of every
/// WebSocket stream of an HTTP/2 connection, `stream` set), flattened,
/// with what its `connection` record said.
pub static CONNECTIONS: &[Col<ConnectionEndEvent>] = &{
    let head: [Col<ConnectionEndEvent>; 15] = [
        capture(),
        req("conn", I64, "conn", |e, _| int(e.conn)),
        opt("stream", I64, "stream", |e, _| stream(e.stream)),
        req("community_id", Str, "community_id", |_, c| {
            Val::Str(&c.community_id)
        }),
        req("client_ip", Str, "client@ip", |e, _| {
            Val::String(e.client.ip().to_string())
        }),
        req("client_port", I32, "client@port", |e, _| {
            Val::Int(i64::from(e.client.port()))
        }),
        req("server_ip", Str, "server@ip", |e, _| {
            Val::String(e.server.ip().to_string())
        }),
        req("server_port", I32, "server@port", |e, _| {
            Val::Int(i64::from(e.server.port()))
        }),
        req("first_ts", Ts, "first_ts", |e, _| ts(e.first_ts)),
        req("last_ts", Ts, "last_ts", |e, _| ts(e.last_ts)),
        req("duration", F64, "duration", |e, _| {
            Val::F64(e.last_ts.seconds_since(e.first_ts))
        }),
        req("end", Enum, "end", |e, _| s(e.end.as_str())),
        req("protocol", Enum, "protocol", |e, _| s(e.protocol_name())),
        opt("syn_seen", Bool, "", |_, c| {
            c.open.map_or(Val::Null, |o| Val::Bool(o.0))
        }),
        opt("role_basis", Enum, "", |_, c| {
            c.open.map_or(Val::Null, |o| Val::Str(o.1))
        }),
    ];
    let tail: [Col<ConnectionEndEvent>; 15] = [
        opt("close_first", Enum, "close_first", |e, _| {
            opt_s(e.close_first.map(Dir::as_str))
        }),
        opt("rtt_min", F64, "rtt_min", |e, _| opt_f(e.rtt.map(|r| r.0))),
        opt("rtt_median", F64, "rtt_median", |e, _| opt_f(e.rtt.map(|r| r.1))),
        opt("rtt_max", F64, "rtt_max", |e, _| opt_f(e.rtt.map(|r| r.2))),
        req("handshake_seen", Bool, "handshake_seen", |e, _| {
            Val::Bool(e.handshake_seen)
        }),
        req("violations", I64, "violations", |e, _| int(e.violations)),
        opt("tls_version", Enum, "tls.version", |e, _| {
            opt_s(e.tls.as_ref().and_then(|t| t.version))
        }),
        opt("tls_cipher_suite", Enum, "tls.cipher_suite", |e, _| {
            opt_s(e.tls.as_ref().and_then(|t| t.cipher_suite.as_deref()))
        }),
        opt("tls_sni", Str, "tls.sni", |e, _| {
            opt_s(e.tls.as_ref().and_then(|t| t.sni.as_deref()))
        }),
        opt("tls_decrypted", Bool, "tls.decrypted", |e, _| {
            e.tls.as_ref().map_or(Val::Null, |t| Val::Bool(t.decrypted))
        }),
        opt("app_protocol", Enum, "app.protocol", |e, _| {
            opt_s(e.app.as_ref().map(|a| a.protocol))
        }),
        opt("app_unanswered", I64, "app.unanswered", |e, _| {
            opt_int(e.app.as_ref().map(|a| a.unanswered))
        }),
        opt("websocket_streams", I64, "websocket_streams", |e, _| {
            if matches!(
                e.protocol,
                crate::event::Protocol::H2 | crate::event::Protocol::H2WebSocket
            ) {
                int(e.h2_ws_streams)
            } else {
                Val::Null
            }
        }),
        opt("first_packet", I64, "first_packet", |e, _| packet(e.first_packet)),
        opt("last_packet", I64, "last_packet", |e, _| packet(e.last_packet)),
    ];
    concat_cols(head, C2S, S2C, tail)
};

/// `head ‖ a ‖ b ‖ tail`, in a constant.
const fn concat_cols<E>(
    head: [Col<E>; 15],
    a: [Col<E>; 11],
    b: [Col<E>; 11],
    tail: [Col<E>; 15],
) -> [Col<E>; 52] {
    let mut out = [head[0]; 52];
    let parts = [head.as_slice(), a.as_slice(), b.as_slice(), tail.as_slice()];
    let (mut p, mut n) = (0, 0);
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

/// `handshakes`: every WebSocket upgrade (HTTP/1.1) or extended CONNECT
/// (HTTP/2), with its answer when captured.
pub static HANDSHAKES: &[Col<HandshakeEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("method", Enum, "method", |e, _| s(&e.method)),
    req("path", Str, "path", |e, _| s(&e.path)),
    opt("host", Str, "host", |e, _| opt_s(e.host.as_deref())),
    opt("origin", Str, "origin", |e, _| opt_s(e.origin.as_deref())),
    opt("user_agent", Str, "", |e, _| {
        opt_s(header(&e.request_headers, "user-agent"))
    }),
    opt("key", Str, "key", |e, _| opt_s(e.key.as_deref())),
    opt("version", Enum, "version", |e, _| opt_s(e.version.as_deref())),
    opt("subprotocol", Enum, "subprotocol", |e, _| {
        opt_s(e.subprotocol.as_deref())
    }),
    opt("extensions", Str, "extensions", |e, _| {
        opt_s(e.extensions.as_deref())
    }),
    opt("status", I32, "status", |e, _| opt_int(e.status.map(u64::from))),
    opt("accept", Str, "accept", |e, _| opt_s(e.accept.as_deref())),
    opt("accept_expected", Str, "accept_expected", |e, _| {
        opt_s(e.accept_expected.as_deref())
    }),
    opt("accept_ok", Bool, "accept_ok", |e, _| {
        e.accept_ok.map_or(Val::Null, Val::Bool)
    }),
    opt("reason", Str, "reason", |e, _| opt_s(e.reason.as_deref())),
    opt("response_ts", Ts, "response_ts", |e, _| {
        e.response_ts.map_or(Val::Null, ts)
    }),
    req("deflate", Bool, "", |e, _| Val::Bool(e.deflate.is_some())),
    opt(
        "deflate_server_no_context_takeover",
        Bool,
        "deflate.server_no_context_takeover",
        |e, _| {
            e.deflate
                .map_or(Val::Null, |d| Val::Bool(d.server_no_context_takeover))
        },
    ),
    opt(
        "deflate_client_no_context_takeover",
        Bool,
        "deflate.client_no_context_takeover",
        |e, _| {
            e.deflate
                .map_or(Val::Null, |d| Val::Bool(d.client_no_context_takeover))
        },
    ),
    opt(
        "deflate_server_max_window_bits",
        I32,
        "deflate.server_max_window_bits",
        |e, _| opt_int(e.deflate.and_then(|d| d.server_max_window_bits).map(u64::from)),
    ),
    opt(
        "deflate_client_max_window_bits",
        I32,
        "deflate.client_max_window_bits",
        |e, _| opt_int(e.deflate.and_then(|d| d.client_max_window_bits).map(u64::from)),
    ),
    opt("client_extensions", Str, "client_extensions", |e, _| {
        opt_s(e.client_extensions.as_deref())
    }),
    opt("server_extensions", Str, "server_extensions", |e, _| {
        opt_s(e.server_extensions.as_deref())
    }),
    req("client_subprotocols", StrList, "client_subprotocols", |e, _| {
        Val::List(&e.client_subprotocols)
    }),
    opt("server_subprotocol", Enum, "server_subprotocol", |e, _| {
        opt_s(e.server_subprotocol.as_deref())
    }),
    opt("rejected", Bool, "rejected", |e, _| {
        e.rejected.map_or(Val::Null, Val::Bool)
    }),
    opt("decoder", Enum, "decoder.protocol", |e, _| {
        opt_s(e.decoder.as_ref().map(|c| c.proto.name()))
    }),
    opt("decoder_evidence", Str, "decoder.evidence", |e, _| {
        e.decoder
            .as_ref()
            .map_or(Val::Null, |c| Val::String(c.evidence.to_string()))
    }),
    opt("http_version", Enum, "http_version", |e, _| opt_s(e.http_version)),
    opt("protocol", Enum, "protocol", |e, _| opt_s(e.protocol.as_deref())),
    req("request_headers", Pairs, "request_headers", |e, _| {
        Val::Pairs(&e.request_headers)
    }),
    req("response_headers", Pairs, "response_headers", |e, _| {
        Val::Pairs(&e.response_headers)
    }),
    opt("packet", I64, "packet", |e, _| packet(e.packet)),
    opt("response_packet", I64, "response_packet", |e, _| {
        packet(e.response_packet.unwrap_or(0))
    }),
];

/// `frames`: every WebSocket frame, payload unmasked (not inflated).
pub static FRAMES: &[Col<FrameEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("dir", Enum, "dir", |e, _| dir(e.dir)),
    req("fin", Bool, "fin", |e, _| Val::Bool(e.fin)),
    req("rsv", I32, "rsv", |e, _| Val::Int(i64::from(e.rsv))),
    req("opcode", I32, "opcode", |e, _| Val::Int(i64::from(e.opcode))),
    opt("opcode_name", Enum, "opcode_name", |e, _| opcode_name(e.opcode)),
    req("masked", Bool, "masked", |e, _| Val::Bool(e.masked)),
    opt("mask_key", Str, "mask_key", |e, _| {
        e.mask_key.map_or(Val::Null, |k| Val::String(hex::encode(k)))
    }),
    req("len", I64, "len", |e, _| int(e.len)),
    opt("payload", Bin, "payload_hex", |e, c| payload(c, &e.payload)),
    req("payload_cut", Bool, "payload_cut", |e, c| cut(c, e.payload.len())),
    req("truncated", Bool, "truncated", |e, _| Val::Bool(e.truncated)),
    req("captured", I64, "captured", |e, _| int(e.payload.len() as u64)),
    req("offset", I64, "offset", |e, _| int(e.offset)),
    req("len_bits", I32, "len_bits", |e, _| {
        Val::Int(i64::from(e.len_bits))
    }),
    req("header_len", I32, "header_len", |e, _| {
        Val::Int(i64::from(e.header_len))
    }),
    opt("close_code", I32, "close_code", |e, _| {
        opt_int(e.close_code.map(u64::from))
    }),
    opt("close_reason", Str, "close_reason", |e, _| {
        opt_s(e.close_reason.as_deref())
    }),
    opt("rtt", F64, "rtt", |e, _| opt_f(e.rtt)),
    opt("header_captured", I32, "header_captured", |e, _| {
        opt_int(e.header_captured.map(u64::from))
    }),
    opt("packet", I64, "packet", |e, _| packet(e.packets.last)),
    opt("first_packet", I64, "first_packet", |e, _| {
        packet(e.packets.first)
    }),
];

/// `messages`: every data message, assembled and inflated: text in
/// `text`, binary in `data`.
pub static MESSAGES: &[Col<MessageEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("dir", Enum, "dir", |e, _| dir(e.dir)),
    req("seq", I64, "", |e, _| int(e.seq)),
    req("opcode", I32, "opcode", |e, _| Val::Int(i64::from(e.opcode))),
    opt("opcode_name", Enum, "opcode_name", |e, _| opcode_name(e.opcode)),
    req("frames", I64, "frames", |e, _| int(u64::from(e.frames))),
    req("compressed", Bool, "compressed", |e, _| Val::Bool(e.compressed)),
    req("len", I64, "len", |e, _| int(e.data.len() as u64)),
    opt("text", Text, "text", message_text),
    opt("data", Bin, "data_hex", |e, c| {
        if e.is_text { Val::Null } else { payload(c, &e.data) }
    }),
    req("payload_cut", Bool, "payload_cut", |e, c| cut(c, e.data.len())),
    req("wire_len", I64, "wire_len", |e, _| int(e.wire_len)),
    opt("inflate_error", Str, "inflate_error", |e, _| {
        opt_s(e.inflate_error.as_deref())
    }),
    req("truncated", Bool, "truncated", |e, _| Val::Bool(e.truncated)),
    opt("packet", I64, "packet", |e, _| {
        e.packets.map_or(Val::Null, |p| packet(p.last))
    }),
    opt("first_packet", I64, "first_packet", |e, _| {
        e.packets.map_or(Val::Null, |p| packet(p.first))
    }),
    opt("last_packet", I64, "last_packet", |e, _| {
        e.packets.map_or(Val::Null, |p| packet(p.last))
    }),
    req("first_frame_offset", I64, "first_frame_offset", |e, _| {
        int(e.first_frame_offset)
    }),
    req("decoded", I32, "", |e, _| {
        Val::Int(e.decoded.as_ref().map_or(0, |d| d.items.len() as i64))
    }),
    opt("decoded_protocol", Enum, "", |e, _| {
        opt_s(
            e.decoded
                .as_ref()
                .and_then(|d| d.items.first())
                .map(|m| m.protocol),
        )
    }),
    opt("decode_error", Str, "decode_error", |e, _| {
        opt_s(e.decoded.as_ref().and_then(|d| d.error.as_deref()))
    }),
];

/// A text message's text under `--payload` (a text message is valid UTF-8:
/// `is_text` says so; anything else is written whole-lossy as JSON Lines does).
fn message_text<'a>(e: &'a MessageEvent, c: &Ctx) -> Val<'a> {
    if !e.is_text {
        return Val::Null;
    }
    match std::str::from_utf8(&e.data) {
        Ok(t) => c.payload.cut_str(t).map_or(Val::Null, |(kept, _)| Val::Str(kept)),
        Err(_) => {
            let lossy = String::from_utf8_lossy(&e.data);
            c.payload
                .cut_str(&lossy)
                .map_or(Val::Null, |(kept, _)| Val::String(kept.to_string()))
        }
    }
}

/// The application message a `decoded` row is about.
fn item<'a>(e: &'a MessageEvent, c: &Ctx) -> Option<&'a crate::app::AppMessage> {
    e.decoded.as_ref().and_then(|d| d.items.get(c.item))
}

/// `decoded`: the application messages inside messages (Socket.IO, STOMP,
/// JSON-RPC, ...), one row each, joined to their message by `conn`,
/// `stream`, `dir` and `message_first_frame_offset`.
pub static DECODED: &[Col<MessageEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("dir", Enum, "dir", |e, _| dir(e.dir)),
    req("message_first_frame_offset", I64, "first_frame_offset", |e, _| {
        int(e.first_frame_offset)
    }),
    opt("message_packet", I64, "packet", |e, _| {
        e.packets.map_or(Val::Null, |p| packet(p.last))
    }),
    req("item", I32, "", |_, c| Val::Int(c.item as i64)),
    req("protocol", Enum, "decoded.protocol", |e, c| {
        item(e, c).map_or(Val::Null, |m| s(m.protocol))
    }),
    req("kind", Enum, "decoded.kind", |e, c| {
        item(e, c).map_or(Val::Null, |m| s(&m.kind))
    }),
    req("summary", Str, "decoded.summary", |e, c| {
        item(e, c).map_or(Val::Null, |m| s(&m.summary))
    }),
    opt("id", Str, "decoded.id", |e, c| {
        opt_s(item(e, c).and_then(|m| m.id.as_deref()))
    }),
    opt("method", Enum, "decoded.method", |e, c| {
        opt_s(item(e, c).and_then(|m| m.method.as_deref()))
    }),
    opt("event", Enum, "decoded.event", |e, c| {
        opt_s(item(e, c).and_then(|m| m.event.as_deref()))
    }),
    opt("topic", Enum, "decoded.topic", |e, c| {
        opt_s(item(e, c).and_then(|m| m.topic.as_deref()))
    }),
    opt("tree", Str, "decoded.tree", |e, c| {
        item(e, c).map_or(Val::Null, |m| match m.tree_of(&e.data) {
            serde_json::Value::Null => Val::Null,
            v => Val::String(v.to_string()),
        })
    }),
    opt("latency", F64, "decoded.latency", |e, c| {
        opt_f(item(e, c).and_then(|m| m.latency))
    }),
    opt("request_packet", I64, "decoded.request_packet", |e, c| {
        opt_int(item(e, c).and_then(|m| m.request_packet))
    }),
];

/// `gaps`: bytes of a stream that were not captured.
pub static GAPS: &[Col<GapEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("dir", Enum, "dir", |e, _| dir(e.dir)),
    req("bytes", I64, "bytes", |e, _| int(e.bytes)),
    req("offset", I64, "offset", |e, _| int(e.offset)),
    req("reason", Enum, "reason", |e, _| s(e.reason.as_str())),
    opt("packet", I64, "packet", |e, _| packet(e.packet)),
    opt("frame_offset", I64, "frame_offset", |e, _| {
        opt_int(e.frame_offset)
    }),
];

/// `violations`: protocol rules the peers broke.
pub static VIOLATIONS: &[Col<ViolationEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    opt("dir", Enum, "dir", |e, _| opt_s(e.dir.map(Dir::as_str))),
    req("rule", Enum, "rule", |e, _| s(e.rule)),
    req("detail", Str, "detail", |e, _| s(&e.detail)),
    opt("packet", I64, "packet", |e, _| packet(e.packet)),
    opt("frame_offset", I64, "frame_offset", |e, _| {
        opt_int(e.frame_offset)
    }),
];

/// `diagnostics`: what was wrong with the capture itself.
pub static DIAGNOSTICS: &[Col<DiagnosticEvent>] = &[
    capture(),
    opt("conn", I64, "conn", |e, _| opt_int(e.conn)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    opt("dir", Enum, "dir", |e, _| opt_s(e.dir.map(Dir::as_str))),
    req("code", Enum, "code", |e, _| s(e.code)),
    req("detail", Str, "detail", |e, _| s(&e.detail)),
    opt("packet", I64, "packet", |e, _| opt_int(e.packet)),
];

/// `tls`: each TLS connection's cleartext handshake and whether it was decrypted.
pub static TLS: &[Col<TlsEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    opt("version", Enum, "version", |e, _| opt_s(e.version)),
    opt("cipher_suite", Enum, "cipher_suite", |e, _| {
        opt_s(e.cipher_suite.as_deref())
    }),
    opt("sni", Str, "sni", |e, _| opt_s(e.sni.as_deref())),
    opt("alpn", Enum, "alpn", |e, _| opt_s(e.alpn.as_deref())),
    req("alpn_offered", StrList, "alpn_offered", |e, _| {
        Val::List(&e.alpn_offered)
    }),
    opt("client_random", Str, "client_random", |e, _| {
        opt_s(e.client_random.as_deref())
    }),
    req("resumed", Bool, "resumed", |e, _| Val::Bool(e.resumed)),
    req("decrypted", Bool, "decrypted", |e, _| Val::Bool(e.decrypted)),
    opt("reason", Enum, "reason", |e, _| opt_s(e.reason)),
    opt("decrypted_by", Enum, "decrypted_by", |e, _| opt_s(e.decrypted_by)),
    opt("detail", Str, "detail", |e, _| opt_s(e.detail.as_deref())),
    opt("packet", I64, "packet", |e, _| packet(e.packet)),
];

/// `http2`: ordinary requests beside WebSocket streams on HTTP/2 connections.
pub static HTTP2: &[Col<Http2RequestEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("method", Enum, "method", |e, _| s(&e.method)),
    req("path", Str, "path", |e, _| s(&e.path)),
    opt("authority", Str, "authority", |e, _| {
        opt_s(e.authority.as_deref())
    }),
    opt("status", I32, "status", |e, _| opt_int(e.status.map(u64::from))),
    opt("packet", I64, "packet", |e, _| packet(e.packet)),
    opt("response_packet", I64, "response_packet", |e, _| {
        packet(e.response_packet.unwrap_or(0))
    }),
];

/// `findings`: security findings (`wsscope audit`'s rules), one per instance.
pub static FINDINGS: &[Col<FindingEvent>] = &[
    capture(),
    req("conn", I64, "conn", |e, _| int(e.conn)),
    opt("stream", I64, "stream", |e, _| stream(e.session.stream)),
    req("ts", Ts, "ts", |e, _| ts(e.ts)),
    req("rule", Enum, "rule", |e, _| s(e.rule)),
    req("severity", Enum, "severity", |e, _| s(e.severity.as_str())),
    req("packets", IntList, "packets", |e, _| Val::Ints(&e.packets)),
    req("evidence", Str, "evidence", |e, _| s(&e.evidence)),
    req("detail", Str, "detail", |e, _| s(&e.detail)),
];
