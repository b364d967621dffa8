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

use crate::event::{DiagnosticEvent, Event, EventSink, GapReason};
use crate::model::{Dir, PacketSpan, SessionId, Stamp};
use crate::ws::SessionSummary;

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
}

impl DiagnosticLimiter {
    /// Emits `d` unless too many of its kind were shown already.
    pub fn emit(&mut self, d: DiagnosticEvent, out: &mut dyn EventSink) {
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

/// Heap bytes held by the layers of the analysis, as they report them. The
/// reliability issue turns this into one budget with eviction; for now it
/// tracks the total and its peak so that the budget has something to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemLedger {
    held: usize,
    peak: usize,
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

    pub fn peak(&self) -> usize {
        self.peak
    }
}

/// What a layer needs from the world: who it is, where events go, the one
/// diagnostic path and the memory ledger.
pub struct LayerCx<'a> {
    pub id: SessionId,
    pub out: &'a mut dyn EventSink,
    pub diags: &'a mut DiagnosticLimiter,
    pub mem: &'a mut MemLedger,
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
        }
    }
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
}
