//! The TUI's index of a capture: one compact [`Record`] per timeline row,
//! per-connection summaries ([`Conn`]), a payload [`arena`], filtered
//! [`View`]s and search.
//!
//! # Memory
//!
//! The store keeps to the output share of the run's memory budget
//! (`--max-memory`; [`crate::budget::OutputShare::Index`]: 3/8 of it),
//! [`Budget::output`]. It counts what it holds — the records `Vec` (its
//! capacity), an allowance of 4 bytes a row for the timeline's view, the
//! notes, the connection summaries (their size and their heap, see
//! [`Conn::heap_bytes`]), the connection lists and the arena — and:
//!
//! - payload bytes are kept in full only up to [`Budget::max_each`] per
//!   payload and [`Budget::max_total`] (half the share) in all; beyond
//!   that only the first [`Budget::preview`] bytes, and the detail pane
//!   says so. A single-frame uncompressed message shares its frame's bytes.
//!   Rows, notes and summaries may use what the arena does not (at least
//!   the other half), so a capture without payloads gets the whole share;
//! - when a new row would put the store over its share, it **stops adding
//!   rows**: it keeps the first rows (what a user scrolling from the start
//!   sees, and a timeline without holes in it) and counts what it no longer
//!   holds per kind, and from which time on ([`NotHeld`]); the header and
//!   the help say so. A new connection past the share is not held either
//!   (counted in [`NotHeld::conns`]);
//! - summaries of connections already held keep updating (the counts in
//!   the connections pane come from events, not rows): their growth after
//!   the cut is bounded (one [`WsStats`], one end summary per connection).
//!
//! A row is one [`Record`], 64 bytes whatever its kind. Consecutive gaps of
//! a connection and direction — in stream order, with the same reason, and
//! no other row of that connection and direction between them (other
//! connections' rows may interleave; bytes that made no row may lie
//! between the holes) — are one row: a gap run, whose `len` is the bytes
//! missing and [`Record::gap_count`] the gaps merged. A capture with
//! millions of holes is a few rows per connection.

pub mod apps;
pub mod arena;
pub mod conn;
pub mod findings;
mod index;
pub mod view;

pub use apps::{AppRow, Tree};
pub use arena::DataRef;
pub use conn::{Activity, Conn, EndExtra, Handshake, StreamEntry, WsStats};
pub use findings::Findings;
pub use view::{View, ViewSpec, row_text, search};

use crate::event::{ConnId, Dir, Event, Protocol, Timestamp};
use arena::Arena;
use conn::str_heap;
use std::mem::size_of;

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
    /// Message: the application layer found something (or failed to read
    /// it): [`super::Store::app`], whose index is in `aux`.
    pub const DECODED: u16 = 256;
    /// Bits 9-15: the row's HTTP/2 stream, as its slot + 1 in its
    /// connection's [`super::Conn::streams`] (0: none, or past 127 streams).
    pub const STREAM_SHIFT: u16 = 9;
}

/// One timeline row, compact. Field meaning depends on `kind`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    /// The timestamp's seconds ([`Record::ts`]); with `nanos`, kept apart
    /// so the row stays 64 bytes with the packet numbers (a `Timestamp` field would pad it to 72).
    secs: i64,
    /// Frame: declared payload length; message: data length; gap: bytes.
    pub len: u64,
    /// Frame/gap: offset in the direction's stream. Message: wire length.
    /// Violation/diagnostic: index into the side texts.
    pub offset: u64,
    pub data: DataRef,
    nanos: u32,
    pub conn: u32,
    /// Frame: previous fragment of the same message; message: its last frame.
    pub link: u32,
    /// Frame: masking key. Pong: RTT in microseconds (u32 BE) with flag RTT.
    /// Message: its note (inflate error) or its [`AppRow`] (u32 BE).
    /// Gap: how many gaps the row stands for (u32, native order; see
    /// [`Record::gap_count`]).
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
    /// The packets (Wireshark's `frame.number`, saturating) that carried
    /// it, 0 when none did: what the detail pane tells a user to look up.
    pub first_packet: u32,
    pub last_packet: u32,
}

impl Record {
    /// A row of `kind` at `ts` with nothing else set.
    pub fn new(ts: Timestamp, conn: ConnId, kind: Kind) -> Record {
        Store::blank(ts, conn, kind)
    }

    pub fn ts(&self) -> Timestamp {
        Timestamp::new(self.secs, self.nanos)
    }

    pub fn set_ts(&mut self, ts: Timestamp) {
        self.secs = ts.secs;
        self.nanos = ts.nanos;
    }

    /// Sets the row's packets (numbers past `u32::MAX` saturate).
    pub fn set_packets(&mut self, first: u64, last: u64) {
        self.first_packet = u32::try_from(first).unwrap_or(u32::MAX);
        self.last_packet = u32::try_from(last).unwrap_or(u32::MAX);
    }

    /// The row's packets, `None` when no packet is known.
    pub fn packets(&self) -> Option<(u64, u64)> {
        (self.last_packet > 0 || self.first_packet > 0).then(|| {
            (
                u64::from(self.first_packet),
                u64::from(self.last_packet.max(self.first_packet)),
            )
        })
    }

    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// The row's HTTP/2 stream slot in its connection ([`flag::STREAM_SHIFT`]).
    pub fn stream_slot(&self) -> Option<usize> {
        match self.flags >> flag::STREAM_SHIFT {
            0 => None,
            n => Some(usize::from(n) - 1),
        }
    }

    fn set_stream_slot(&mut self, slot: Option<usize>) {
        let bits = slot
            .and_then(|s| u16::try_from(s + 1).ok())
            .filter(|&n| n < 128)
            .unwrap_or(0);
        self.flags = (self.flags & ((1 << flag::STREAM_SHIFT) - 1)) | (bits << flag::STREAM_SHIFT);
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

    /// Gap rows: how many consecutive gaps of the connection and direction
    /// the row coalesced (1 for a single gap).
    pub fn gap_count(&self) -> u32 {
        if self.kind == Kind::Gap {
            u32::from_ne_bytes(self.aux).max(1)
        } else {
            0
        }
    }

    pub fn rtt(&self) -> Option<f64> {
        self.has(flag::RTT)
            .then(|| f64::from(u32::from_be_bytes(self.aux)) / 1e6)
    }
}

/// Makes room for one more element in a full `v`: doubling while `room`
/// bytes allow, else just what they allow, and at least one (for a note,
/// whose cost its row's admission already checked).
fn grow<T>(v: &mut Vec<T>, room: usize) {
    if v.len() == v.capacity() {
        let n = (room / size_of::<T>().max(1)).min(v.capacity().max(16)).max(1);
        let _ = v.try_reserve_exact(n);
    }
}

fn bit(set: bool, f: u16) -> u16 {
    if set { f } else { 0 }
}

/// How much the store may hold (see the module doc).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Payloads up to this size are kept in full (while the total allows).
    pub max_each: usize,
    /// Total bytes of full payloads.
    pub max_total: usize,
    /// Bytes kept for the one-line preview and search of payloads not kept.
    pub preview: usize,
    /// Everything the store holds: rows, notes, summaries and payloads.
    pub output: usize,
    /// `--max-memory`, for messages.
    pub max_memory: usize,
}

impl Budget {
    /// The store's share of a run's budget: all of the output share, half
    /// of it at most for payload bytes. A budget divided for a streaming
    /// command (no output share, as `AnalyzerConfig::default()`'s) gets the
    /// timeline's share of its total.
    pub fn for_run(b: &crate::budget::Budget) -> Budget {
        let output = if b.output > 0 {
            b.output
        } else {
            crate::budget::Budget::new(b.total, Some(b.per_conn), crate::budget::OutputShare::Index).output
        };
        Budget {
            max_each: 64 << 10,
            max_total: output / 2,
            preview: 96,
            output,
            max_memory: b.total,
        }
    }
}

impl Budget {
    /// When payloads can be fetched again from the capture
    /// ([`crate::tui::fetch`]): whole payloads only up to 1/64 of the share
    /// (6 MiB of the default 1 GiB budget: small captures stay whole in
    /// memory, so search and filter need not read the file again), and a
    /// shorter preview for the list's one line.
    pub fn with_replay(self) -> Budget {
        Budget {
            max_total: self.max_total.min(self.output / 64),
            preview: 40,
            ..self
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        use crate::budget::{Budget as Run, DEFAULT_MAX_MEMORY, OutputShare};
        Budget::for_run(&Run::new(DEFAULT_MAX_MEMORY, None, OutputShare::Index))
    }
}

/// Side texts of violations, diagnostics and inflate errors.
#[derive(Clone, Debug)]
pub struct Note {
    pub code: &'static str,
    pub detail: String,
    /// A violation's frame (its stream offset). (Its packet, as every
    /// row's, is the record's: [`Record::packets`].)
    pub frame: Option<u64>,
}

/// What the store no longer holds, once it reached its share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotHeld {
    /// The time of the first row not held: every row from then on is not.
    pub since: Option<Timestamp>,
    pub frames: u64,
    pub messages: u64,
    pub gaps: u64,
    pub violations: u64,
    pub handshakes: u64,
    pub diagnostics: u64,
    /// Connections first seen after the cut: not in the connections pane.
    pub conns: u64,
}

impl NotHeld {
    pub fn rows(&self) -> u64 {
        self.frames + self.messages + self.gaps + self.violations + self.handshakes + self.diagnostics
    }

    fn count(&mut self, kind: Kind) {
        let n = match kind {
            Kind::Frame => &mut self.frames,
            Kind::Message => &mut self.messages,
            Kind::Gap => &mut self.gaps,
            Kind::Violation => &mut self.violations,
            Kind::Handshake => &mut self.handshakes,
            Kind::Diagnostic => &mut self.diagnostics,
        };
        *n += 1;
    }
}

/// Bytes counted per row for the timeline's view (one `u32` index).
const VIEW_ROW: usize = size_of::<u32>();
/// Bytes counted per connection in the lists (`ws_conns`, `listed`).
const LIST_ENTRY: usize = size_of::<ConnId>();

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
    arena: Arena,
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
    /// Connections seen (held or not).
    pub conns_seen: u64,
    /// Frames over time across all connections.
    pub activity: Activity,
    /// What is no longer held, past the budget.
    pub not_held: NotHeld,
    /// The event being indexed had its payload cut by the reader: its length before.
    cut: Option<u64>,
    /// The event being indexed is of this HTTP/2 stream slot (its rows say so).
    slot: Option<usize>,
    /// Bytes held for the timeline outside the store (the replay index:
    /// where each packet is), counted against the same share.
    pub external: usize,
    /// Heap of the notes' texts and of the connection summaries.
    notes_heap: usize,
    conns_heap: usize,
    /// What the application layer found in message rows ([`apps`]).
    pub apps: Vec<AppRow>,
    apps_heap: usize,
    /// The security audit's findings ([`findings`]).
    pub findings: Findings,
}

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
            arena: Arena::default(),
            kept_bytes: 0,
            dropped_payloads: 0,
            first_ts: None,
            last_ts: None,
            frames: 0,
            messages: 0,
            violations: 0,
            gaps: 0,
            diagnostics: 0,
            conns_seen: 0,
            activity: Activity::default(),
            not_held: NotHeld::default(),
            cut: None,
            slot: None,
            external: 0,
            notes_heap: 0,
            conns_heap: 0,
            apps: Vec::new(),
            apps_heap: 0,
            findings: Findings::default(),
        }
    }

    /// What the store holds, in bytes (see the module doc for what counts).
    pub fn held(&self) -> usize {
        self.records.capacity() * size_of::<Record>()
            + self.records.len() * VIEW_ROW
            + self.notes.capacity() * size_of::<Note>()
            + self.notes_heap
            + self.conns.capacity() * size_of::<Conn>()
            + self.conns_heap
            + (self.ws_conns.capacity() + self.listed.capacity()) * LIST_ENTRY
            + self.arena.held()
            + self.activity.heap_bytes()
            + self.external
            + self.apps.capacity() * size_of::<AppRow>()
            + self.apps_heap
            + self.findings.held()
    }

    /// Bytes of payloads and previews held.
    pub fn arena_held(&self) -> usize {
        self.arena.held()
    }

    /// Room left in the share.
    fn room(&self) -> usize {
        self.budget.output.saturating_sub(self.held())
    }

    pub fn conn(&self, id: ConnId) -> Option<&Conn> {
        usize::try_from(id).ok().and_then(|i| self.conns.get(i))
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        usize::try_from(id).ok().and_then(|i| self.conns.get_mut(i))
    }

    /// The bytes kept for a row (all of them when `flag::KEPT`, else a prefix).
    pub fn data(&self, r: &Record) -> &[u8] {
        self.arena.get(r.data)
    }

    /// Stores payload bytes under the budget; returns the ref and whether all were kept.
    fn keep(&mut self, bytes: &[u8]) -> (DataRef, bool) {
        if self.cut.is_some() {
            // Already a preview: the reader kept the rest from crossing threads.
            self.dropped_payloads += 1;
            let n = bytes.len().min(self.budget.preview);
            return (self.arena.put(bytes.get(..n).unwrap_or(&[])), false);
        }
        let full = bytes.len() <= self.budget.max_each
            && self.kept_bytes + bytes.len() <= self.budget.max_total
            && bytes.len() <= self.room();
        let n = if full {
            self.kept_bytes += bytes.len();
            bytes.len()
        } else {
            self.dropped_payloads += 1;
            bytes.len().min(self.budget.preview)
        };
        (self.arena.put(bytes.get(..n).unwrap_or(&[])), full)
    }

    fn touch(&mut self, ts: Timestamp) {
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
    }

    /// Whether a row of `kind` at `ts` is held, with `extra` bytes beside
    /// it (its preview, its note). Once one is not, none after it is
    /// (the timeline keeps its first rows, without holes); what is not
    /// held is counted. Grows the records `Vec` by what the share allows
    /// rather than doubling past it.
    fn admit(&mut self, kind: Kind, ts: Timestamp, extra: usize) -> bool {
        if self.not_held.since.is_none() {
            let row = size_of::<Record>() + VIEW_ROW;
            let grown = self.records.len() < self.records.capacity() || {
                // Half the room at most: the rows' previews, notes and
                // summaries need the rest.
                let room = self.room().saturating_sub(extra);
                let n = (room / (2 * row)).min(self.records.capacity().max(64));
                let n = if n == 0 && room >= row { 1 } else { n };
                n > 0 && self.records.try_reserve_exact(n).is_ok()
            };
            if grown && VIEW_ROW + extra <= self.room() {
                return true;
            }
            self.not_held.since = Some(ts);
        }
        self.not_held.count(kind);
        false
    }

    /// Adds a row; remembers it as its connection's last in its direction
    /// (both directions for a directionless row).
    fn push(&mut self, mut r: Record) -> u32 {
        r.set_stream_slot(self.slot);
        let idx = u32::try_from(self.records.len()).unwrap_or(NONE);
        if let Some(c) = self.conn_mut(ConnId::from(r.conn)) {
            match r.dir {
                Some(d) => c.last_row[d.index()] = idx,
                None => c.last_row = [idx; 2],
            }
        }
        self.records.push(r);
        idx
    }

    fn add_note(&mut self, n: Note) -> usize {
        self.notes_heap += str_heap(&n.detail);
        let room = self.room();
        grow(&mut self.notes, room);
        self.notes.push(n);
        self.notes.len() - 1
    }

    fn note_cost(detail: &str) -> usize {
        size_of::<Note>() + str_heap(detail)
    }

    fn blank(ts: Timestamp, conn: ConnId, kind: Kind) -> Record {
        Record {
            secs: ts.secs,
            nanos: ts.nanos,
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
            first_packet: 0,
            last_packet: 0,
        }
    }

    /// Makes sure a connection entry exists (events may name a connection
    /// whose `Connection` event we never saw, e.g. in hand-built tests),
    /// while the share allows: ids are dense, so once one is not held no
    /// later one is.
    fn ensure_conn(&mut self, id: ConnId, ts: Timestamp) {
        self.conns_seen = self.conns_seen.max(id.saturating_add(1));
        let Ok(i) = usize::try_from(id) else { return };
        while self.conns.len() <= i {
            if self.conns.len() == self.conns.capacity() {
                // With its entries in the lists: reserved here, so the
                // lists never grow past what was counted.
                let row = size_of::<Conn>() + 2 * LIST_ENTRY;
                let n = (self.room() / row).min(self.conns.capacity().max(16));
                if n == 0 || self.conns.try_reserve_exact(n).is_err() {
                    break;
                }
                let cap = self.conns.capacity();
                for list in [&mut self.ws_conns, &mut self.listed] {
                    let _ = list.try_reserve_exact(cap.saturating_sub(list.len()));
                }
            }
            let next = self.conns.len() as ConnId;
            self.conns.push(Conn::new(next, ts));
        }
        self.not_held.conns = self.conns_seen - self.conns.len() as u64;
    }

    /// The slot of HTTP/2 stream `stream` in connection `id`'s list,
    /// added at its first event (127 at most: later ones have none).
    fn stream_slot(&mut self, id: ConnId, stream: u32) -> Option<usize> {
        let c = &mut self.conn_mut(id)?.ws_mut().streams;
        if let Some(i) = c.iter().position(|s| s.id == stream) {
            return Some(i);
        }
        if c.len() >= 127 {
            return None;
        }
        c.push(conn::StreamEntry {
            id: stream,
            handshake: None,
            settings: Vec::new(),
        });
        Some(c.len() - 1)
    }

    /// The HTTP/2 stream of a row, if it is one's.
    pub fn stream_of(&self, r: &Record) -> Option<u32> {
        let slot = r.stream_slot()?;
        self.conn(ConnId::from(r.conn))?.streams().get(slot).map(|s| s.id)
    }

    /// The handshake that opened a row's stream, or its connection's.
    pub fn handshake_of(&self, r: &Record) -> Option<&Handshake> {
        let c = self.conn(ConnId::from(r.conn))?;
        match r.stream_slot() {
            Some(slot) => c.streams().get(slot)?.handshake.as_deref(),
            None => c.handshake.as_deref(),
        }
    }

    fn mark_ws(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            if !c.protocol.is_websocket() {
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
    pub fn add(&mut self, mut ev: Event) {
        self.add_cut(&mut ev, None);
    }

    /// Indexes one event whose payload the reader already cut to a
    /// preview (`whole`: the payload's length before), see [`crate::tui::lean`].
    pub fn add_cut(&mut self, ev: &mut Event, whole: Option<u64>) {
        self.cut = whole;
        let ts = ev.ts();
        self.touch(ts);
        let id = ev.conn();
        let before = match id {
            Some(id) => {
                self.ensure_conn(id, ts);
                self.conn_mut(id).map_or(0, |c| {
                    c.last_ts = c.last_ts.max(ts);
                    c.heap_bytes()
                })
            }
            None => 0,
        };
        // WebSocket streams only: an ordinary request's stream is no row's.
        self.slot = match (id, ev.stream()) {
            (Some(c), Some(s)) if !matches!(ev, Event::Http2(_)) => self.stream_slot(c, s),
            _ => None,
        };
        self.index(ev);
        self.cut = None;
        self.slot = None;
        if let Some(c) = id.and_then(|id| self.conn(id)) {
            self.conns_heap = (self.conns_heap + c.heap_bytes()).saturating_sub(before);
        }
    }
}

#[cfg(test)]
mod tests;
