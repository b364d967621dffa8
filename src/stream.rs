//! The seam between TCP and everything above it: one typed stream interface
//! that every layer consumes — and, when it carries another protocol,
//! produces for the layer above it.
//!
//! TCP reassembly turns segments into ordered chunks with gaps
//! ([`StreamInput`]); a TLS layer would turn records into plaintext chunks
//! of the same shape; an HTTP/2 layer would turn DATA frames into one
//! chunk stream per stream id. So a layer can be *inserted* (it owns the
//! layer above it and feeds it what it produces) or *multiplex* (it owns
//! several, each with its own [`SessionId`]), and nothing above knows what
//! is below.
//!
//! Invariants every producer keeps, per direction:
//! - offsets are contiguous: each `Data` or `Gap` starts where the previous
//!   one ended, so every byte of the stream is data or gap exactly once;
//! - `End` comes last (nothing of that direction follows it);
//! - `packets` names the packets that carried the bytes, `at` the packet
//!   being processed when they were released (the one that completed them).

use crate::event::{DiagnosticEvent, Event, EventSink, GapReason, Protocol};
use crate::keys::KeyStore;
use crate::model::{Dir, PacketSpan, PerDir, SessionId, Stamp};

/// How long a gap is. TCP always knows; a layer that loses record or frame
/// boundaries inside a gap (TLS, HTTP/2) only knows a lower bound, and the
/// layer above must resynchronise rather than skip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapLen {
    Exact(u64),
    AtLeast(u64),
}

impl GapLen {
    /// The bytes known to be missing.
    pub fn bytes(self) -> u64 {
        match self {
            GapLen::Exact(n) | GapLen::AtLeast(n) => n,
        }
    }
}

/// One item of a directional byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamInput<'a> {
    /// In-order bytes at `offset` of `dir`'s stream.
    Data {
        dir: Dir,
        offset: u64,
        bytes: &'a [u8],
        /// Packets that carried these bytes.
        packets: PacketSpan,
        /// The packet being processed when they were released.
        at: Stamp,
        /// The bytes begin a peer's write (a TCP segment, later a TLS
        /// record or an HTTP/2 DATA frame): protocol headers usually do.
        starts_write: bool,
    },
    /// Bytes at `offset` that will never arrive.
    Gap {
        dir: Dir,
        offset: u64,
        len: GapLen,
        reason: GapReason,
        at: Stamp,
    },
    /// `dir` is over: FIN reached in order, or RST.
    End { dir: Dir, rst: bool, at: Stamp },
}

impl StreamInput<'_> {
    pub fn dir(&self) -> Dir {
        match self {
            StreamInput::Data { dir, .. } | StreamInput::Gap { dir, .. } | StreamInput::End { dir, .. } => {
                *dir
            }
        }
    }

    pub fn at(&self) -> Stamp {
        match self {
            StreamInput::Data { at, .. } | StreamInput::Gap { at, .. } | StreamInput::End { at, .. } => *at,
        }
    }
}

/// How many diagnostics of one kind are shown before they are only counted.
pub const DIAGNOSTICS_PER_CODE: u64 = 10;

/// The one path every diagnostic takes, whichever layer raises it: shown
/// ten times per code, then counted, with a summary at the end.
#[derive(Debug, Default)]
pub struct DiagnosticLimiter {
    counts: rustc_hash::FxHashMap<&'static str, u64>,
    /// Passes everything: an analysis worker's, whose diagnostics the
    /// reading thread limits when it merges them (in the one-thread order).
    unlimited: bool,
}

impl DiagnosticLimiter {
    /// A limiter that limits nothing (see `unlimited`).
    pub fn unlimited() -> Self {
        DiagnosticLimiter {
            unlimited: true,
            ..Self::default()
        }
    }

    /// Emits `d` unless too many of its kind were shown already.
    pub fn emit(&mut self, d: DiagnosticEvent, out: &mut dyn EventSink) {
        if self.unlimited {
            out.event(Event::Diagnostic(d));
            return;
        }
        let n = self.counts.entry(d.code).or_insert(0);
        *n = n.saturating_add(1);
        if *n <= DIAGNOSTICS_PER_CODE {
            out.event(Event::Diagnostic(d));
        }
    }

    /// Codes that went over the limit, with their totals, sorted by code.
    pub fn over_limit(&self) -> Vec<(&'static str, u64)> {
        let mut v: Vec<(&'static str, u64)> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > DIAGNOSTICS_PER_CODE)
            .map(|(c, n)| (*c, *n))
            .collect();
        v.sort_unstable();
        v
    }
}

/// Heap bytes held by the layers of the analysis, as they report them, and
/// the peak. The analyzer adds the connection table and the secrets to it
/// and keeps the sum within the budget ([`crate::budget`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemLedger {
    held: usize,
    peak: usize,
    /// The analysis is close to its budget: layers report after every
    /// input (a buffer doubling between two reports could overshoot).
    careful: bool,
}

impl MemLedger {
    /// A layer's holdings changed from `before` to `after` bytes.
    pub fn update(&mut self, before: usize, after: usize) {
        self.held = self.held.saturating_sub(before).saturating_add(after);
        self.peak = self.peak.max(self.held);
    }

    pub fn held(&self) -> usize {
        self.held
    }

    /// Close to the budget: report after every input.
    pub fn careful(&self) -> bool {
        self.careful
    }

    pub fn set_careful(&mut self, careful: bool) {
        self.careful = careful;
    }

    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Adds what another ledger counted (an analysis worker's, when its
    /// stacks come back to one thread).
    pub fn absorb(&mut self, other: &MemLedger) {
        self.held = self.held.saturating_add(other.held);
        self.peak = self.peak.max(self.held).max(other.peak);
    }
}

/// What a layer needs from the world: who it is, where events go, the one
/// diagnostic path, the memory ledger, and the decryption secrets known so
/// far (key logs, pcapng Decryption Secrets Blocks) for the TLS layer.
pub struct LayerCx<'a> {
    pub id: SessionId,
    pub out: &'a mut dyn EventSink,
    pub diags: &'a mut DiagnosticLimiter,
    pub mem: &'a mut MemLedger,
    pub keys: &'a KeyStore,
}

impl LayerCx<'_> {
    pub fn event(&mut self, ev: Event) {
        self.out.event(ev);
    }

    /// A diagnostic about this session's stream, through the rate limiter.
    /// `packet` stays empty: the JSON schema only carries a packet for
    /// diagnostics about one packet (the CLI issue adds packet numbers to
    /// every record).
    pub fn diagnostic(&mut self, at: Stamp, dir: Option<Dir>, code: &'static str, detail: String) {
        let d = DiagnosticEvent {
            ts: at.ts,
            conn: Some(self.id.conn),
            dir,
            code,
            detail,
            packet: None,
        };
        self.diags.emit(d, self.out);
    }

    /// The same context for another session (a multiplexing layer's stream).
    pub fn for_session(&mut self, id: SessionId) -> LayerCx<'_> {
        LayerCx {
            id,
            out: &mut *self.out,
            diags: &mut *self.diags,
            mem: &mut *self.mem,
            keys: self.keys,
        }
    }
}

/// What the layers found on a connection, for its `close` record.
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
    /// Set by a TLS layer for the connection's `close` record.
    pub tls: Option<crate::event::TlsSummary>,
    /// The application protocol inside, its latencies.
    pub app: Option<crate::app::AppSummary>,
    /// HTTP/2: the WebSocket streams the connection carried.
    pub h2_ws_streams: u64,
}

/// A layer between TCP and WebSocket: consumes a [`StreamInput`] stream and
/// turns it into events, or into the input of the layer(s) it owns.
pub trait ByteLayer: Send {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>);

    /// End of the connection or of the input: flush what is held, emit what
    /// partial frames and messages remain, and say what the connection
    /// carried (for the connection's `close` record).
    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary;

    /// Heap bytes this layer (and those it owns) holds, for the memory budget.
    fn heap_bytes(&self) -> usize;

    /// Stream offset of the WebSocket frame that `dir`'s next bytes belong
    /// to, when they fall inside one: what a gap arriving now cuts into
    /// (the `gap` record's `frame_offset`). Inserting layers ask the layer
    /// they own; a multiplexing layer answers `None` (a gap in the
    /// connection is no one stream's frame). No default: a layer that
    /// forgot to pass the question on would lose the answer silently.
    fn frame_in_progress(&self, dir: Dir) -> Option<u64>;
}

/// Which packets carried which bytes of one direction's stream: what a
/// layer that frames the stream (WebSocket) needs to stamp a frame with
/// the packets it came from.
///
/// Entries are disjoint, in offset order. Bounded: beyond [`SpanLog::MAX`]
/// entries the two oldest are merged into one covering both, so a span
/// asked for may grow wider (never narrower) than exact.
#[derive(Debug, Default)]
pub struct SpanLog {
    /// (start offset, end offset, packets), oldest first.
    entries: std::collections::VecDeque<(u64, u64, PacketSpan)>,
}

impl SpanLog {
    pub const MAX: usize = 1 << 14;

    /// `len` bytes at `offset` came from `packets`.
    pub fn record(&mut self, offset: u64, len: usize, packets: PacketSpan) {
        if len == 0 {
            return;
        }
        let end = offset.saturating_add(len as u64);
        self.entries.push_back((offset, end, packets));
        if self.entries.len() > Self::MAX
            && let (Some(a), Some(b)) = (self.entries.pop_front(), self.entries.pop_front())
        {
            self.entries.push_front((a.0, b.1, a.2.union(b.2)));
        }
    }

    /// The packets that carried any byte of `[start, end)`.
    pub fn span(&self, start: u64, end: u64) -> Option<PacketSpan> {
        // The common cases: a frame inside the oldest chunk still held, or
        // inside the chunk that just came in.
        for entry in [self.entries.front(), self.entries.back()] {
            if let Some(&(s, e, p)) = entry
                && s <= start
                && end <= e
            {
                return Some(p);
            }
        }
        self.entries
            .iter()
            .skip_while(|(_, e, _)| *e <= start)
            .take_while(|(s, _, _)| *s < end)
            .map(|(_, _, p)| *p)
            .reduce(PacketSpan::union)
    }

    /// Bytes before `offset` will not be asked about again.
    pub fn forget_before(&mut self, offset: u64) {
        while self.entries.front().is_some_and(|(_, e, _)| *e <= offset) {
            self.entries.pop_front();
        }
    }

    /// Moves every entry of `other` (later offsets) to the end of `self`.
    pub fn append(&mut self, other: &mut SpanLog) {
        self.entries.append(&mut other.entries);
    }

    pub fn heap_bytes(&self) -> usize {
        self.entries
            .capacity()
            .saturating_mul(std::mem::size_of::<(u64, u64, PacketSpan)>())
    }
}

/// Drives one layer by hand: numbers packets and tracks each direction's
/// offset, so that a test, a fuzz target or a tool can feed bytes without
/// a capture. Each call is one packet.
pub struct StreamDriver {
    layer: Box<dyn ByteLayer>,
    id: SessionId,
    offsets: crate::model::PerDir<u64>,
    packet: u64,
    diags: DiagnosticLimiter,
    mem: MemLedger,
    keys: KeyStore,
}

impl StreamDriver {
    pub fn new(id: SessionId, layer: Box<dyn ByteLayer>) -> Self {
        StreamDriver {
            layer,
            id,
            offsets: Default::default(),
            packet: 0,
            diags: DiagnosticLimiter::default(),
            mem: MemLedger::default(),
            keys: KeyStore::default(),
        }
    }

    /// The layer driven (to ask what it holds).
    pub fn layer(&self) -> &dyn ByteLayer {
        &*self.layer
    }

    /// The secrets the layer will see (a TLS layer's key log).
    pub fn keys_mut(&mut self) -> &mut KeyStore {
        &mut self.keys
    }

    fn next(&mut self, ts: crate::model::Timestamp) -> Stamp {
        self.packet = self.packet.saturating_add(1);
        Stamp::new(ts, self.packet)
    }

    fn run(&mut self, item: StreamInput<'_>, out: &mut dyn EventSink) {
        let mut cx = LayerCx {
            id: self.id,
            out,
            diags: &mut self.diags,
            mem: &mut self.mem,
            keys: &self.keys,
        };
        self.layer.input(item, &mut cx);
    }

    /// `bytes` of `dir`, in one new packet.
    pub fn data(&mut self, dir: Dir, ts: crate::model::Timestamp, bytes: &[u8], out: &mut dyn EventSink) {
        let at = self.next(ts);
        let offset = self.offsets[dir];
        self.offsets[dir] = offset.saturating_add(bytes.len() as u64);
        let item = StreamInput::Data {
            dir,
            offset,
            bytes,
            packets: PacketSpan::one(at.packet),
            at,
            starts_write: true,
        };
        self.run(item, out);
    }

    /// `len` bytes of `dir` lost.
    pub fn gap(&mut self, dir: Dir, ts: crate::model::Timestamp, len: u64, out: &mut dyn EventSink) {
        let at = self.next(ts);
        let offset = self.offsets[dir];
        self.offsets[dir] = offset.saturating_add(len);
        let item = StreamInput::Gap {
            dir,
            offset,
            len: GapLen::Exact(len),
            reason: GapReason::Lost,
            at,
        };
        self.run(item, out);
    }

    /// `dir` ends (FIN, or RST).
    pub fn end(&mut self, dir: Dir, ts: crate::model::Timestamp, rst: bool, out: &mut dyn EventSink) {
        let at = self.next(ts);
        self.run(StreamInput::End { dir, rst, at }, out);
    }

    /// The connection ends: what the layer found.
    pub fn finish(&mut self, ts: crate::model::Timestamp, out: &mut dyn EventSink) -> SessionSummary {
        let mut cx = LayerCx {
            id: self.id,
            out,
            diags: &mut self.diags,
            mem: &mut self.mem,
            keys: &self.keys,
        };
        self.layer.finish(Stamp::new(ts, 0), &mut cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_log_unions_the_packets_of_a_range() {
        let mut l = SpanLog::default();
        l.record(0, 10, PacketSpan::one(4));
        l.record(10, 10, PacketSpan::one(5));
        l.record(20, 10, PacketSpan::one(7));
        assert_eq!(l.span(0, 10), Some(PacketSpan::one(4)));
        assert_eq!(l.span(5, 15), Some(PacketSpan { first: 4, last: 5 }));
        assert_eq!(l.span(12, 25), Some(PacketSpan { first: 5, last: 7 }));
        assert_eq!(l.span(30, 40), None);
        l.forget_before(20);
        assert_eq!(l.span(0, 40), Some(PacketSpan::one(7)));
    }

    #[test]
    fn span_log_stays_bounded_and_never_narrows() {
        let mut l = SpanLog::default();
        for i in 0..(SpanLog::MAX as u64 + 100) {
            l.record(i * 2, 2, PacketSpan::one(i + 1));
        }
        assert!(l.entries.len() <= SpanLog::MAX);
        let s = l.span(0, 2).unwrap_or(PacketSpan::one(0));
        assert_eq!(s.first, 1);
        assert!(s.last >= 1);
    }
}
