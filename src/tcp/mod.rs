//! TCP: the connection table and per-direction reassembly.
//!
//! Input: [`crate::decode::Segment`]s in capture order. Output: for every
//! connection, in capture order, [`StreamEvent`]s — open, ordered chunks of
//! stream bytes (each with the packet that carried it and the [`Stamp`] of
//! the packet being processed when it was released), gap markers with exact
//! sizes, FIN/RST, and a final summary. Every byte of each direction's stream
//! is delivered exactly once as `Data` or `Gap`.
//!
//! Nothing here knows about HTTP or WebSocket: who is the client, when no SYN
//! was seen, is asked of an injected [`RoleClassifier`].

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

pub mod flow;
pub mod reassembly;
pub mod seq;
mod table;

use crate::event::{ConnId, ConnectionEvent, DiagnosticEvent, Dir, DirStats, GapReason, TcpEnd, Timestamp};
use crate::model::{PacketSpan, Stamp};
use std::net::SocketAddr;

pub use flow::{FlowTable, TcpConfig};

/// What the reassembler hands to the layer above, for one connection.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// A new connection; always the first event of `conn`.
    Open(ConnectionEvent),
    /// In-order stream bytes starting at `offset` (bytes from the start of the
    /// direction's stream, i.e. after the SYN).
    Data {
        conn: ConnId,
        dir: Dir,
        offset: u64,
        bytes: &'a [u8],
        /// The packet(s) whose segments carried `bytes`.
        packets: PacketSpan,
        /// The packet being processed when the bytes were released (it
        /// completed them: filled the hole before them, or carried them).
        at: Stamp,
        /// `bytes` begin a segment's payload (a peer's write).
        starts_write: bool,
    },
    /// `len` bytes at `offset` that will never be delivered.
    Gap {
        conn: ConnId,
        dir: Dir,
        at: Stamp,
        offset: u64,
        len: u64,
        reason: GapReason,
    },
    /// The direction's FIN was reached in sequence (all its data delivered).
    Fin { conn: ConnId, dir: Dir, at: Stamp },
    /// A RST was sent in `dir`.
    Rst { conn: ConnId, dir: Dir, at: Stamp },
    /// Something about the capture worth telling the user (overlap conflict,
    /// buffer cap, odd flags...). The connection goes on.
    Diagnostic(DiagnosticEvent),
    /// The connection is finished (both FINs, RST, reuse, eviction, end of
    /// input); no more events of `conn` follow.
    Closed(Box<TcpSummary>),
}

/// Final TCP-level facts about a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpSummary {
    pub conn: ConnId,
    pub ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub end: TcpEnd,
    pub syn_seen: bool,
    /// Indexed by [`Dir::index`]; only the TCP fields are filled.
    pub stats: [DirStats; 2],
    /// The connection's first and last packets.
    pub first_packet: u64,
    pub last_packet: u64,
}

/// Receives the reassembler's output.
pub trait StreamConsumer {
    fn stream_event(&mut self, ev: StreamEvent<'_>);
}

impl<F: FnMut(StreamEvent<'_>)> StreamConsumer for F {
    fn stream_event(&mut self, ev: StreamEvent<'_>) {
        self(ev)
    }
}

/// Which side of a connection opened it, judged from payload by an upper
/// layer, for connections whose SYN was not captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// Asked once per mid-stream connection, with the first payload seen and the
/// ports; answers whether the sender of `payload` is the client or server.
pub trait RoleClassifier {
    fn classify(&self, payload: &[u8], src_port: u16, dst_port: u16) -> Option<Role>;
}

/// A classifier that knows nothing: roles fall back to the port guess.
pub struct NoClassifier;

impl RoleClassifier for NoClassifier {
    fn classify(&self, _: &[u8], _: u16, _: u16) -> Option<Role> {
        None
    }
}
