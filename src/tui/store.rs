//! The TUI's index of a capture: one compact [`Record`] per timeline row,
//! per-connection summaries, a payload arena with a memory budget, filtered
//! [`View`]s and search.
//!
//! Memory is proportional to what is indexed: a record is ~64 bytes; payload
//! bytes are kept in full only up to [`Budget::max_each`] per payload and
//! [`Budget::max_total`] overall — beyond that only the first
//! [`Budget::preview`] bytes are kept, and the detail pane says so. A
//! single-frame uncompressed message shares its frame's bytes.

use crate::event::{ConnId, ConnectionEndEvent, Dir, Event, HandshakeEvent, Protocol, TcpEnd, Timestamp};
use crate::select::{Selection, Unit};
use regex::Regex;
use std::net::SocketAddr;

/// "No record" in a link field.
pub const NONE: u32 = u32::MAX;

/// What a timeline row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Frame,
    Message,
    Gap,
    Violation,
    Handshake,
    Diagnostic,
}

/// Row flags.
pub mod flag {
    pub const FIN: u16 = 1;
    pub const MASKED: u16 = 2;
    /// Message: RSV1 with permessage-deflate.
    pub const COMPRESSED: u16 = 4;
    pub const TRUNCATED: u16 = 8;
    /// Message: valid UTF-8 text.
    pub const TEXT: u16 = 16;
    /// The full payload is kept (else only a preview prefix).
    pub const KEPT: u16 = 32;
    /// Message: inflation failed (reason in the side text).
    pub const INFLATE_ERROR: u16 = 64;
    /// Frame: has a pong round-trip time (in `aux`, microseconds).
    pub const RTT: u16 = 128;
}

/// Where a row's payload bytes live in the arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataRef {
    chunk: u32,
    off: u32,
    len: u32,
}

/// One timeline row, compact. Field meaning depends on `kind`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    pub ts: Timestamp,
    /// Frame: declared payload length; message: data length; gap: bytes.
    pub len: u64,
    /// Frame/gap: offset in the direction's stream. Message: wire length.
    /// Violation/diagnostic: index into the side texts.
    pub offset: u64,
    pub data: DataRef,
    pub conn: u32,
    /// Frame: previous fragment of the same message; message: its last frame.
    pub link: u32,
    /// Frame: masking key. Pong: RTT in microseconds (u32 BE) with flag RTT.
    pub aux: [u8; 4],
    pub kind: Kind,
    /// `Some` for directional rows.
    pub dir: Option<Dir>,
    pub opcode: u8,
    /// Frame: RSV bits (RSV1 = 4). Message: frame count (saturating at 255).
    pub rsv: u8,
    pub flags: u16,
    /// Frame: 7, 16 or 64. Gap: reason index.
    pub len_bits: u8,
    pub header_len: u8,
}

impl Record {
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// Control frame (close, ping, pong, reserved 0xB-0xF).
    pub fn is_control(&self) -> bool {
        self.kind == Kind::Frame && self.opcode >= 8
    }

    pub fn is_data(&self) -> bool {
        matches!(self.kind, Kind::Frame | Kind::Message)
    }

    pub fn mask_key(&self) -> Option<[u8; 4]> {
        (self.kind == Kind::Frame && self.has(flag::MASKED)).then_some(self.aux)
    }

    pub fn rtt(&self) -> Option<f64> {
        self.has(flag::RTT)
            .then(|| f64::from(u32::from_be_bytes(self.aux)) / 1e6)
    }
}

fn bit(set: bool, f: u16) -> u16 {
    if set { f } else { 0 }
}

/// How much payload to keep.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Payloads up to this size are kept in full (while the total allows).
    pub max_each: usize,
    /// Total bytes of full payloads.
    pub max_total: usize,
    /// Bytes always kept for the one-line preview and search.
    pub preview: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_each: 64 << 10,
            max_total: 256 << 20,
            preview: 96,
        }
    }
}

/// Side texts of violations, diagnostics and inflate errors.
#[derive(Clone, Debug)]
pub struct Note {
    pub code: &'static str,
    pub detail: String,
    pub packet: Option<u64>,
}

/// Summary of one TCP connection.
#[derive(Clone, Debug)]
pub struct Conn {
    pub id: ConnId,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub syn_seen: bool,
    pub protocol: Protocol,
    pub handshake: Option<Box<HandshakeEvent>>,
    /// TLS connections: what the handshake showed and whether it was decrypted.
    pub tls: Option<Box<crate::event::TlsEvent>>,
    pub frames: [u64; 2],
    pub messages: [u64; 2],
    pub bytes: [u64; 2],
    pub violations: u64,
    pub gaps: u64,
    /// First WebSocket close code seen per direction (`Some(None)`: close without code).
    pub close: [Option<Option<u16>>; 2],
    /// The end summary, once the connection is over.
    pub end: Option<Box<ConnectionEndEvent>>,
    /// Last data frame per direction (to link fragments and messages).
    last_data_frame: [u32; 2],
    /// A data frame arrived since the last message (per direction).
    frame_pending: [bool; 2],
    pub activity: Activity,
}

impl Conn {
    pub fn is_ws(&self) -> bool {
        self.protocol == Protocol::WebSocket
    }

    /// TLS connections: whether the records were decrypted (`None`: not TLS).
    pub fn tls_decrypted(&self) -> Option<bool> {
        match (&self.tls, self.end.as_ref().and_then(|e| e.tls.as_ref())) {
            (Some(t), _) => Some(t.decrypted),
            (None, Some(s)) => Some(s.decrypted),
            (None, None) => None,
        }
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
        self.end.as_ref().map_or(TcpEnd::Open, |e| e.end)
    }

    pub fn total_frames(&self) -> u64 {
        self.frames[0] + self.frames[1]
    }

    pub fn total_messages(&self) -> u64 {
        self.messages[0] + self.messages[1]
    }
}

/// Frames per direction over time, in a fixed number of buckets whose width
/// doubles when the span outgrows them (so it costs the same for any capture).
#[derive(Clone, Debug, Default)]
pub struct Activity {
    start: Option<Timestamp>,
    /// Bucket width in microseconds.
    width_us: u64,
    pub buckets: [Vec<u64>; 2],
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
                    b[k] = b[2 * k] + b[2 * k + 1];
                }
                for v in b.iter_mut().skip(Self::BUCKETS / 2) {
                    *v = 0;
                }
            }
            self.width_us *= 2;
            i = us / self.width_us;
        }
        self.buckets[dir.index()][i as usize] += 1;
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
}

/// Everything the TUI knows about the capture.
#[derive(Debug)]
pub struct Store {
    pub budget: Budget,
    pub records: Vec<Record>,
    pub notes: Vec<Note>,
    /// Indexed by connection id (ids are dense, from 0).
    pub conns: Vec<Conn>,
    /// WebSocket connection ids, ascending.
    pub ws_conns: Vec<ConnId>,
    /// What the connections pane lists unless `a` shows every TCP
    /// connection, ascending: the WebSocket connections, and the TLS ones
    /// that could not be decrypted — they may well carry WebSocket, and
    /// their row says why nothing inside is shown.
    pub listed: Vec<ConnId>,
    /// TLS connections seen, and of those not decrypted.
    pub tls_conns: u64,
    pub tls_undecrypted: u64,
    chunks: Vec<Vec<u8>>,
    /// Bytes of full payloads kept (counted against `budget.max_total`).
    pub kept_bytes: usize,
    /// Payloads that were cut to a preview.
    pub dropped_payloads: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub frames: u64,
    pub messages: u64,
    pub violations: u64,
    pub gaps: u64,
    pub diagnostics: u64,
    /// Frames over time across all connections.
    pub activity: Activity,
}

const CHUNK: usize = 16 << 20;

impl Default for Store {
    fn default() -> Self {
        Store::new(Budget::default())
    }
}

impl Store {
    pub fn new(budget: Budget) -> Store {
        Store {
            budget,
            records: Vec::new(),
            notes: Vec::new(),
            conns: Vec::new(),
            ws_conns: Vec::new(),
            listed: Vec::new(),
            tls_conns: 0,
            tls_undecrypted: 0,
            chunks: Vec::new(),
            kept_bytes: 0,
            dropped_payloads: 0,
            first_ts: None,
            last_ts: None,
            frames: 0,
            messages: 0,
            violations: 0,
            gaps: 0,
            diagnostics: 0,
            activity: Activity::default(),
        }
    }

    pub fn conn(&self, id: ConnId) -> Option<&Conn> {
        usize::try_from(id).ok().and_then(|i| self.conns.get(i))
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        usize::try_from(id).ok().and_then(|i| self.conns.get_mut(i))
    }

    /// The bytes kept for a row (all of them when `flag::KEPT`, else a prefix).
    pub fn data(&self, r: &Record) -> &[u8] {
        let d = r.data;
        self.chunks
            .get(d.chunk as usize)
            .and_then(|c| c.get(d.off as usize..d.off as usize + d.len as usize))
            .unwrap_or(&[])
    }

    /// Stores payload bytes under the budget; returns the ref and whether all were kept.
    fn keep(&mut self, bytes: &[u8]) -> (DataRef, bool) {
        let full =
            bytes.len() <= self.budget.max_each && self.kept_bytes + bytes.len() <= self.budget.max_total;
        let n = if full {
            self.kept_bytes += bytes.len();
            bytes.len()
        } else {
            self.dropped_payloads += 1;
            bytes.len().min(self.budget.preview)
        };
        if n == 0 {
            return (DataRef::default(), full);
        }
        let need_new = self.chunks.last().is_none_or(|c| c.len() + n > c.capacity());
        if need_new {
            self.chunks.push(Vec::with_capacity(CHUNK.max(n)));
        }
        let chunk = self.chunks.len() - 1;
        let c = &mut self.chunks[chunk];
        let off = c.len();
        c.extend_from_slice(&bytes[..n]);
        (
            DataRef {
                chunk: chunk as u32,
                off: off as u32,
                len: n as u32,
            },
            full,
        )
    }

    fn touch(&mut self, ts: Timestamp) {
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
    }

    fn push(&mut self, r: Record) -> u32 {
        let idx = self.records.len() as u32;
        self.records.push(r);
        idx
    }

    fn blank(ts: Timestamp, conn: ConnId, kind: Kind) -> Record {
        Record {
            ts,
            len: 0,
            offset: 0,
            data: DataRef::default(),
            conn: u32::try_from(conn).unwrap_or(u32::MAX),
            link: NONE,
            aux: [0; 4],
            kind,
            dir: None,
            opcode: 0,
            rsv: 0,
            flags: 0,
            len_bits: 0,
            header_len: 0,
        }
    }

    /// Makes sure a connection entry exists (events may name a connection
    /// whose `Connection` event we never saw, e.g. in hand-built tests).
    fn ensure_conn(&mut self, id: ConnId, ts: Timestamp) {
        let Ok(i) = usize::try_from(id) else { return };
        let unspecified: SocketAddr = ([0, 0, 0, 0], 0).into();
        while self.conns.len() <= i {
            let id = self.conns.len() as ConnId;
            self.conns.push(Conn {
                id,
                first_ts: ts,
                last_ts: ts,
                client: unspecified,
                server: unspecified,
                syn_seen: false,
                protocol: Protocol::Other,
                handshake: None,
                tls: None,
                frames: [0; 2],
                messages: [0; 2],
                bytes: [0; 2],
                violations: 0,
                gaps: 0,
                close: [None; 2],
                end: None,
                last_data_frame: [NONE; 2],
                frame_pending: [false; 2],
                activity: Activity::default(),
            });
        }
    }

    fn mark_ws(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            if c.protocol != Protocol::WebSocket {
                c.protocol = Protocol::WebSocket;
                if let Err(pos) = self.ws_conns.binary_search(&id) {
                    self.ws_conns.insert(pos, id);
                }
                self.list(id);
            }
        }
    }

    /// Adds a connection to the pane's default list.
    fn list(&mut self, id: ConnId) {
        if let Err(pos) = self.listed.binary_search(&id) {
            self.listed.insert(pos, id);
        }
    }

    /// A TLS connection's outcome is known (its `tls` event, or its end
    /// summary when no event came): count it, and list it if not decrypted.
    fn tls_seen(&mut self, id: ConnId, decrypted: bool) {
        self.tls_conns += 1;
        if !decrypted {
            self.tls_undecrypted += 1;
            self.list(id);
        }
    }

    /// Indexes one event.
    pub fn add(&mut self, ev: Event) {
        let ts = ev.ts();
        self.touch(ts);
        if let Some(id) = ev.conn() {
            self.ensure_conn(id, ts);
            if let Some(c) = self.conn_mut(id) {
                c.last_ts = c.last_ts.max(ts);
            }
        }
        match ev {
            Event::Connection(c) => {
                if let Some(conn) = self.conn_mut(c.conn) {
                    conn.first_ts = c.ts;
                    conn.client = c.client;
                    conn.server = c.server;
                    conn.syn_seen = c.syn_seen;
                }
            }
            Event::Tls(t) => {
                let (id, decrypted) = (t.conn, t.decrypted);
                if let Some(c) = self.conn_mut(id) {
                    if c.tls.is_none() {
                        c.tls = Some(t);
                        self.tls_seen(id, decrypted);
                    }
                }
            }
            Event::Handshake(h) => {
                let conn = h.conn;
                self.mark_ws(conn);
                let mut r = Self::blank(h.ts, conn, Kind::Handshake);
                r.opcode = 0;
                r.dir = Some(Dir::C2S);
                self.push(r);
                if let Some(c) = self.conn_mut(conn) {
                    c.handshake = Some(h);
                }
            }
            Event::Frame(f) => {
                self.mark_ws(f.conn);
                self.frames += 1;
                self.activity.add(f.ts, f.dir);
                let (data, full) = self.keep(&f.payload);
                let mut r = Self::blank(f.ts, f.conn, Kind::Frame);
                r.dir = Some(f.dir);
                r.opcode = f.opcode;
                r.rsv = f.rsv;
                r.len = f.len;
                r.offset = f.offset;
                r.data = data;
                r.len_bits = f.len_bits;
                r.header_len = f.header_len;
                r.flags = bit(f.fin, flag::FIN)
                    | bit(f.masked, flag::MASKED)
                    | bit(f.truncated, flag::TRUNCATED)
                    | bit(full, flag::KEPT);
                if let Some(k) = f.mask_key {
                    r.aux = k;
                }
                if let Some(rtt) = f.rtt {
                    r.flags |= flag::RTT;
                    r.aux = ((rtt * 1e6).clamp(0.0, f64::from(u32::MAX)) as u32).to_be_bytes();
                }
                let idx = self.records.len() as u32;
                let d = f.dir.index();
                if let Some(c) = self.conn_mut(f.conn) {
                    c.frames[d] += 1;
                    c.bytes[d] += f.len;
                    c.activity.add(f.ts, f.dir);
                    if f.opcode < 8 {
                        if f.opcode == 0 {
                            r.link = c.last_data_frame[d];
                        }
                        c.last_data_frame[d] = idx;
                        c.frame_pending[d] = true;
                    }
                    if f.opcode == 8 && c.close[d].is_none() {
                        c.close[d] = Some(f.close_code);
                    }
                }
                self.push(r);
            }
            Event::Message(m) => {
                self.mark_ws(m.conn);
                self.messages += 1;
                let d = m.dir.index();
                let last_frame = self
                    .conn(m.conn)
                    .filter(|c| c.frame_pending[d])
                    .map_or(NONE, |c| c.last_data_frame[d]);
                // A single uncompressed frame: share its bytes.
                let shared = self.records.get(last_frame as usize).and_then(|f| {
                    (m.frames == 1 && !m.compressed && f.has(flag::KEPT) && self.data(f) == m.data.as_slice())
                        .then_some(f.data)
                });
                let (data, full) = match shared {
                    Some(d) => (d, true),
                    None => self.keep(&m.data),
                };
                let mut r = Self::blank(m.ts, m.conn, Kind::Message);
                r.dir = Some(m.dir);
                r.opcode = m.opcode;
                r.rsv = u8::try_from(m.frames).unwrap_or(u8::MAX);
                r.len = m.data.len() as u64;
                r.offset = m.wire_len;
                r.data = data;
                r.link = last_frame;
                r.flags = bit(m.compressed, flag::COMPRESSED)
                    | bit(m.truncated, flag::TRUNCATED)
                    | bit(m.is_text, flag::TEXT)
                    | bit(full, flag::KEPT);
                if let Some(e) = m.inflate_error {
                    r.flags |= flag::INFLATE_ERROR;
                    r.aux = (self.notes.len() as u32).to_be_bytes();
                    self.notes.push(Note {
                        code: "inflate-error",
                        detail: e,
                        packet: None,
                    });
                }
                if let Some(c) = self.conn_mut(m.conn) {
                    c.messages[d] += 1;
                    c.frame_pending[d] = false;
                }
                self.push(r);
            }
            Event::Gap(g) => {
                self.gaps += 1;
                let mut r = Self::blank(g.ts, g.conn, Kind::Gap);
                r.dir = Some(g.dir);
                r.len = g.bytes;
                r.offset = g.offset;
                r.len_bits = g.reason as u8;
                if let Some(c) = self.conn_mut(g.conn) {
                    c.gaps += 1;
                }
                self.push(r);
            }
            Event::Violation(v) => {
                self.violations += 1;
                let mut r = Self::blank(v.ts, v.conn, Kind::Violation);
                r.dir = v.dir;
                r.offset = self.notes.len() as u64;
                self.notes.push(Note {
                    code: v.rule,
                    detail: v.detail,
                    packet: None,
                });
                if let Some(c) = self.conn_mut(v.conn) {
                    c.violations += 1;
                }
                self.push(r);
            }
            Event::Diagnostic(d) => {
                self.diagnostics += 1;
                let mut r = Self::blank(d.ts, d.conn.unwrap_or(ConnId::from(u32::MAX)), Kind::Diagnostic);
                if d.conn.is_none() {
                    r.conn = u32::MAX;
                }
                r.dir = d.dir;
                r.offset = self.notes.len() as u64;
                self.notes.push(Note {
                    code: d.code,
                    detail: d.detail,
                    packet: d.packet,
                });
                self.push(r);
            }
            Event::Close(e) => {
                let id = e.conn;
                if e.protocol == Protocol::WebSocket {
                    self.mark_ws(id);
                }
                if let Some(t) = &e.tls
                    && self.conn(id).is_some_and(|c| c.tls.is_none() && c.end.is_none())
                {
                    self.tls_seen(id, t.decrypted);
                }
                if let Some(c) = self.conn_mut(id) {
                    if c.protocol == Protocol::Other {
                        c.protocol = e.protocol;
                    }
                    c.first_ts = e.first_ts;
                    c.last_ts = c.last_ts.max(e.last_ts);
                    for d in Dir::BOTH {
                        let s = &e.stats[d.index()];
                        if c.close[d.index()].is_none() {
                            c.close[d.index()] = s.close.as_ref().map(|(code, _)| *code);
                        }
                    }
                    c.end = Some(e);
                }
            }
        }
    }

    /// Note attached to a violation, diagnostic or failed inflation.
    pub fn note(&self, r: &Record) -> Option<&Note> {
        let i = match r.kind {
            Kind::Violation | Kind::Diagnostic => usize::try_from(r.offset).ok()?,
            Kind::Message if r.has(flag::INFLATE_ERROR) => u32::from_be_bytes(r.aux) as usize,
            _ => return None,
        };
        self.notes.get(i)
    }

    /// The frames of a message (or the fragments up to a frame), oldest first.
    pub fn fragments(&self, idx: u32) -> Vec<u32> {
        let Some(r) = self.records.get(idx as usize) else {
            return Vec::new();
        };
        let (mut cur, max) = match r.kind {
            Kind::Message => (r.link, usize::from(r.rsv.max(1))),
            Kind::Frame => (idx, 4096),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        while cur != NONE && out.len() < max {
            out.push(cur);
            cur = self.records.get(cur as usize).map_or(NONE, |f| f.link);
        }
        out.reverse();
        out
    }
}

/// Which rows a view shows.
#[derive(Clone, Debug, Default)]
pub struct ViewSpec {
    /// One connection, or all merged.
    pub conn: Option<ConnId>,
    /// Show rows of non-WebSocket connections too (only matters when merged).
    pub all_tcp: bool,
    /// The `f` filter; its `unit` picks messages or frames.
    pub selection: Selection,
}

impl ViewSpec {
    pub fn unit(&self) -> Unit {
        self.selection.unit
    }

    /// Whether the filter narrows beyond connection and unit.
    pub fn narrowed(&self) -> bool {
        self.selection.dir.is_some() || !self.selection.opcodes.is_empty() || self.selection.grep.is_some()
    }
}

/// `Selection`'s own rule, over a compact record: the same semantics as
/// The rows of the timeline under a [`ViewSpec`]: record indices, ascending.
/// Extended incrementally as records arrive.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub spec: ViewSpec,
    pub rows: Vec<u32>,
    scanned: usize,
}

impl View {
    pub fn new(spec: ViewSpec) -> View {
        View {
            spec,
            rows: Vec::new(),
            scanned: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes in records added since the last call; returns how many rows were added.
    pub fn extend(&mut self, store: &Store) -> usize {
        let before = self.rows.len();
        let start = self.scanned;
        for (i, r) in store.records.iter().enumerate().skip(start) {
            if self.admits(store, r) {
                self.rows.push(i as u32);
            }
        }
        self.scanned = store.records.len();
        self.rows.len() - before
    }

    fn admits(&self, store: &Store, r: &Record) -> bool {
        let spec = &self.spec;
        let conn = ConnId::from(r.conn);
        match spec.conn {
            Some(c) if r.conn == u32::MAX || c != conn => return false,
            Some(_) => {}
            None => {
                if !spec.all_tcp
                    && r.conn != u32::MAX
                    && !matches!(r.kind, Kind::Diagnostic)
                    && store.conn(conn).is_some_and(|c| !c.is_ws())
                    && !store.ws_conns.is_empty()
                {
                    return false;
                }
            }
        }
        let unit = spec.unit();
        match r.kind {
            Kind::Message if unit != Unit::Messages => return false,
            Kind::Frame if unit == Unit::Messages && !r.is_control() => return false,
            Kind::Frame | Kind::Message => {}
            // Context rows go with any filter on direction only.
            Kind::Handshake => return spec.selection.opcodes.is_empty() && spec.selection.grep.is_none(),
            Kind::Gap | Kind::Violation | Kind::Diagnostic => {
                return spec.selection.opcodes.is_empty()
                    && spec.selection.grep.is_none()
                    && (spec.selection.dir.is_none() || r.dir.is_none() || r.dir == spec.selection.dir);
            }
        }
        let dir = r.dir.unwrap_or(Dir::C2S);
        spec.selection.matches(conn, dir, r.opcode, store.data(r))
    }

    /// Position of record `idx` in this view, or of the nearest row before it.
    pub fn position_of(&self, idx: u32) -> usize {
        match self.rows.binary_search(&idx) {
            Ok(p) => p,
            Err(p) => p.saturating_sub(1),
        }
    }
}

/// Searchable text of a row: its kept payload (lossy UTF-8), or its note.
pub fn row_text<'a>(store: &'a Store, r: &Record) -> std::borrow::Cow<'a, str> {
    match r.kind {
        Kind::Frame | Kind::Message => String::from_utf8_lossy(store.data(r)),
        Kind::Violation | Kind::Diagnostic => store.note(r).map_or(std::borrow::Cow::Borrowed(""), |n| {
            std::borrow::Cow::Owned(format!("{} {}", n.code, n.detail))
        }),
        Kind::Handshake => store
            .conn(ConnId::from(r.conn))
            .and_then(|c| c.handshake.as_ref())
            .map_or(std::borrow::Cow::Borrowed(""), |h| {
                std::borrow::Cow::Owned(h.path.clone())
            }),
        Kind::Gap => std::borrow::Cow::Borrowed(""),
    }
}

/// Next (or previous) view position after `from` whose text matches, wrapping around.
pub fn search(store: &Store, view: &View, re: &Regex, from: usize, forward: bool) -> Option<usize> {
    let n = view.rows.len();
    if n == 0 {
        return None;
    }
    (1..=n)
        .map(|k| {
            if forward {
                (from + k) % n
            } else {
                (from + n - (k % n)) % n
            }
        })
        .find(|&p| {
            view.rows
                .get(p)
                .and_then(|&i| store.records.get(i as usize))
                .is_some_and(|r| re.is_match(&row_text(store, r)))
        })
}
