//! Input decoding shared by the fuzz targets (and the `seedgen` helper,
//! which writes seeds in these same formats).

use wsscope::analyzer::AnalyzerConfig;
use wsscope::event::{Dir, Event, EventSink, Timestamp};
use wsscope::http::Http1Upgrade;
use wsscope::model::SessionId;
use wsscope::stream::StreamDriver;
use wsscope::ws::SessionConfig;

/// A cursor over fuzz input; every read saturates at the end.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2);
        Some(match *b {
            [a, b] => u16::from_le_bytes([a, b]),
            [a] => u16::from(a),
            _ => return None,
        })
    }
    pub fn u32(&mut self) -> Option<u32> {
        let b = self.take(4);
        if b.is_empty() {
            return None;
        }
        let mut w = [0u8; 4];
        w[..b.len()].copy_from_slice(b);
        Some(u32::from_le_bytes(w))
    }
    /// Up to `n` bytes (fewer at the end of input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
}

/// The client's upgrade request used by `ws_session_upgraded`.
pub const UPGRADE_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
/// The server's 101 answer used by `ws_session_upgraded`.
pub const UPGRADE_RESPONSE: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

/// Session input format (`ws_session`, `ws_session_upgraded`):
///
/// ```text
/// flags: u8      bit0 force_ws, bit1 small limits (max_frame_bytes 64,
///                max_message_bytes 256) to reach the truncation paths
/// then ops until the input ends, each starting with a byte `op`:
///   dir  = op & 1 (0 c2s, 1 s2c)
///   kind = (op >> 1) & 7
///     0..=3  on_data, length = next u8
///     4      on_data, length = next u16 LE
///     5      on_gap,  length = next u8 + 1
///     6      on_gap,  length = next u32 LE
///     7      on_fin (op bit 4 clear) / on_rst (set)
///   the clock advances 1 µs + (op >> 5) * 37 ms before each op
/// finally finish()
/// ```
pub fn run_session(data: &[u8], upgraded: bool) {
    let mut inp = Input::new(data);
    let flags = inp.u8().unwrap_or(0);
    let mut cfg = SessionConfig {
        force_ws: flags & 1 != 0,
        ..Default::default()
    };
    if flags & 2 != 0 {
        cfg.max_frame_bytes = 64;
        cfg.max_message_bytes = 256;
    }
    let mut s = StreamDriver::new(SessionId::conn(0), Box::new(Http1Upgrade::new(cfg)));
    let mut events: Vec<Event> = Vec::new();
    let mut ts = Timestamp::new(1_700_000_000, 0);
    let tick = |ts: &mut Timestamp, micros: u64| {
        let n = u64::from(ts.nanos) + micros * 1000;
        ts.secs += (n / 1_000_000_000) as i64;
        ts.nanos = (n % 1_000_000_000) as u32;
    };
    if upgraded {
        s.data(Dir::C2S, ts, UPGRADE_REQUEST, &mut events);
        tick(&mut ts, 1000);
        s.data(Dir::S2C, ts, UPGRADE_RESPONSE, &mut events);
    }
    while let Some(op) = inp.u8() {
        let dir = if op & 1 == 0 { Dir::C2S } else { Dir::S2C };
        tick(&mut ts, 1 + u64::from(op >> 5) * 37_000);
        match (op >> 1) & 7 {
            0..=3 => {
                let n = inp.u8().unwrap_or(0) as usize;
                s.data(dir, ts, inp.take(n), &mut events);
            }
            4 => {
                let n = inp.u16().unwrap_or(0) as usize;
                s.data(dir, ts, inp.take(n), &mut events);
            }
            5 => {
                let n = u64::from(inp.u8().unwrap_or(0)) + 1;
                s.gap(dir, ts, n, &mut events);
            }
            6 => {
                let n = u64::from(inp.u32().unwrap_or(1));
                s.gap(dir, ts, n, &mut events);
            }
            _ => {
                if op & 0x10 == 0 {
                    s.end(dir, ts, false, &mut events);
                } else {
                    s.end(dir, ts, true, &mut events);
                }
            }
        }
        // Events are not inspected; keep memory flat on long inputs.
        if events.len() > 4096 {
            events.clear();
        }
    }
    tick(&mut ts, 1);
    let _ = s.finish(ts, &mut events);
}

/// Link types the `packets` target picks from with its first byte.
pub const LINK_TYPES: [u32; 7] = [0, 1, 101, 113, 228, 229, 276];

/// Analyzer limits small enough for fuzz inputs (a few KB) to reach every
/// cap: per-connection and total out-of-order buffers, the connection table
/// (eviction), retransmission history, IP defragmentation (datagram count
/// and bytes), WebSocket frame and message truncation and the inflate cap.
/// With the defaults (16 MiB per connection, a million connections, …)
/// none of those paths is reachable.
pub fn small_config() -> AnalyzerConfig {
    let mut cfg = AnalyzerConfig::default();
    cfg.tcp.max_conn_buffer = 2048;
    cfg.tcp.max_total_buffer = 6144;
    cfg.tcp.max_conns = 4;
    cfg.tcp.history = 256;
    cfg.defrag.max_datagrams = 4;
    cfg.defrag.max_bytes = 4096;
    cfg.session.max_frame_bytes = 512;
    cfg.session.max_message_bytes = 2048;
    cfg
}

/// An event sink that keeps events only when asked to (for debugging an
/// input): collecting every event of a large input in a `Vec` cost ~10 %
/// of `tls_layer`'s time in reallocation and page faults.
#[derive(Default)]
pub struct Sink {
    pub keep: bool,
    pub events: Vec<Event>,
}

impl EventSink for Sink {
    fn event(&mut self, ev: Event) {
        if self.keep {
            self.events.push(ev);
        }
    }
}
