//! Reading a connection again, so the timeline need not hold its payloads.
//!
//! While the capture loads, a [`Recorder`] notes, for every packet, the
//! connection the analyzer put it in, where every 64th packet's record
//! starts in the file, and where the header blocks are (the pcap header; a
//! pcapng section's header, interfaces and decryption secrets): a
//! [`ReplayIndex`], 4 bytes a packet. To show a row's payload, [`run`]
//! resumes reading the file at the checkpoint before the connection's first
//! packet (after the header blocks in force there), hands *only that
//! connection's packets* to a fresh analyzer with the run's configuration,
//! and takes the frame or message the row stands for as it comes out.
//!
//! Re-running the connection from its start is what makes every payload
//! exact whatever it depends on: permessage-deflate with context takeover
//! (the inflater's window is the earlier messages), TLS (record sequence
//! numbers and keys), fragments, gaps. It costs reading the connection's
//! stretch of the file up to the row: measured on a generated 1 GiB
//! capture in `benches/tui_scale.sh`. Rows near one another come out of the
//! same replay: [`run`] hands back the payloads around the one asked for,
//! and the fetcher caches them.
//!
//! Standard input and live captures cannot be read twice: the reader
//! spools them to a temporary file ([`Spool`]) and indexes that.

mod run;
mod spool;

pub use run::{Found, PayloadKey, Target, WantKind, keyed, run};
pub use spool::{PacketSpool, Spool, Tee};

use crate::event::ConnId;
use crate::source::{HeaderKind, PacketSource, SourceEnd, SourceItem};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Every this many packets, a checkpoint (where the record starts).
const CHECKPOINT_EVERY: u64 = 64;
/// "No connection" in [`ReplayIndex::conn_of`].
const NO_CONN: u32 = u32::MAX;

/// Where a capture's packets are and which connection each belongs to.
#[derive(Debug, Default)]
pub struct ReplayIndex {
    /// The file the positions are in (the capture, or its spool).
    pub path: Option<PathBuf>,
    /// Keeps a temporary spool file as long as the index.
    spool: Option<Spool>,
    /// A checkpoint every this many packets ([`CHECKPOINT_EVERY`]).
    every: u64,
    /// `(packet number, position of its record)` for packets 1, 65, 129, ….
    checkpoints: Vec<(u64, u64)>,
    /// Header blocks, in file order.
    headers: Vec<(u64, u32, HeaderKind)>,
    /// The connection of packet `n` at `n - 1` ([`NO_CONN`] for none).
    conn_of: Vec<u32>,
    /// Per connection id: its first and last packet numbers.
    conn_span: Vec<(u64, u64)>,
}

impl ReplayIndex {
    /// Packets indexed so far.
    pub fn packets(&self) -> u64 {
        self.conn_of.len() as u64
    }

    /// The connection packet `n` went to.
    pub fn conn_of(&self, n: u64) -> Option<ConnId> {
        let i = usize::try_from(n.checked_sub(1)?).ok()?;
        self.conn_of
            .get(i)
            .copied()
            .filter(|&c| c != NO_CONN)
            .map(ConnId::from)
    }

    /// The connection of every packet indexed (`u32::MAX`: none), a copy.
    pub fn conn_of_all(&self) -> Vec<u32> {
        self.conn_of.clone()
    }

    /// First and last packet of a connection, as indexed so far.
    pub fn conn_span(&self, conn: ConnId) -> Option<(u64, u64)> {
        let i = usize::try_from(conn).ok()?;
        self.conn_span.get(i).copied().filter(|s| s.0 > 0)
    }

    /// Where to start reading to see packet `n`: the checkpoint at or
    /// before it, as `(packet number, position)`.
    pub fn checkpoint_before(&self, n: u64) -> Option<(u64, u64)> {
        let i = self.checkpoints.partition_point(|&(p, _)| p <= n);
        self.checkpoints.get(i.checked_sub(1)?).copied()
    }

    /// The header blocks a reader starting at position `at` needs, in file
    /// order: the pcap header; or the last section header before `at`,
    /// the interfaces described after it, and every decryption secrets
    /// block before `at` (key material is the file's, not the section's).
    pub fn headers_before(&self, at: u64) -> Vec<(u64, u32)> {
        let before = self.headers.iter().filter(|h| h.0 < at);
        let section = before
            .clone()
            .filter(|h| matches!(h.2, HeaderKind::Section | HeaderKind::Pcap))
            .map(|h| h.0)
            .next_back()
            .unwrap_or(0);
        before
            .filter(|h| match h.2 {
                HeaderKind::Pcap | HeaderKind::Section | HeaderKind::Interface => h.0 >= section,
                HeaderKind::Secrets => true,
            })
            .map(|h| (h.0, h.1))
            .collect()
    }

    /// What the index holds, in bytes.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.checkpoints.capacity() * size_of::<(u64, u64)>()
            + self.headers.capacity() * size_of::<(u64, u32, HeaderKind)>()
            + self.conn_of.capacity() * size_of::<u32>()
            + self.conn_span.capacity() * size_of::<(u64, u64)>()
    }

    pub(crate) fn header(&mut self, at: u64, len: u32, kind: HeaderKind) {
        self.headers.push((at, len, kind));
    }

    /// Packet `n` (1-based, in order), at `at`, went to `conn`.
    fn packet(&mut self, n: u64, at: u64, conn: Option<ConnId>) {
        let Ok(i) = usize::try_from(n.saturating_sub(1)) else {
            return;
        };
        if n % self.every.max(1) == 1 % self.every.max(1) {
            self.checkpoints.push((n, at));
        }
        if self.conn_of.len() < i {
            // Numbers the analysis never saw (it stopped early): no connection.
            self.conn_of.resize(i, NO_CONN);
        }
        let c = conn.and_then(|c| u32::try_from(c).ok()).unwrap_or(NO_CONN);
        if self.conn_of.len() == i {
            self.conn_of.push(c);
        }
        if let Some(ci) = conn.and_then(|c| usize::try_from(c).ok()) {
            if self.conn_span.len() <= ci {
                self.conn_span.resize(ci + 1, (0, 0));
            }
            if let Some(s) = self.conn_span.get_mut(ci) {
                if s.0 == 0 {
                    s.0 = n;
                }
                s.1 = n;
            }
        }
    }
}

/// The index, shared between the reader thread (which fills it) and the
/// threads that replay (which read it).
#[derive(Clone, Debug, Default)]
pub struct SharedIndex(Arc<Mutex<ReplayIndex>>, Arc<AtomicBool>);

impl SharedIndex {
    pub fn new(path: Option<PathBuf>) -> SharedIndex {
        Self::with_checkpoints(path, CHECKPOINT_EVERY)
    }

    /// With a checkpoint every `every` packets (tests use small numbers
    /// to resume mid-file in small captures).
    pub fn with_checkpoints(path: Option<PathBuf>, every: u64) -> SharedIndex {
        SharedIndex(
            Arc::new(Mutex::new(ReplayIndex {
                path,
                every,
                ..ReplayIndex::default()
            })),
            Arc::default(),
        )
    }

    /// The timeline holds no more rows (its memory share is spent): no
    /// row after this can be fetched, so packets from here on need not be
    /// indexed — the index stops growing with the timeline.
    pub fn freeze(&self) {
        self.1.store(true, Ordering::Relaxed);
    }

    pub fn frozen(&self) -> bool {
        self.1.load(Ordering::Relaxed)
    }

    /// Keeps `spool` (a temporary file) until the index goes.
    pub fn keep(&self, spool: Spool) {
        self.lock().spool = Some(spool);
    }

    /// The index (a poisoned lock still holds a usable index: its writer
    /// only ever appends).
    pub fn lock(&self) -> MutexGuard<'_, ReplayIndex> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Fills a [`ReplayIndex`] as the reader goes: wraps the source to see
/// the header blocks, and is told each packet's connection by the
/// pipeline's per-packet hook ([`Recorder::packet`]).
pub struct Recorder<'s> {
    pub source: &'s mut dyn PacketSource,
    pub index: SharedIndex,
    /// The source's own header blocks are positions in the file the index
    /// points at (false when the packets are spooled to another file,
    /// which has its own header).
    pub headers: bool,
}

impl Recorder<'_> {
    /// The pipeline analysed packet `n` (at `at`) into `conn`.
    pub fn packet(index: &SharedIndex, n: u64, at: u64, conn: Option<ConnId>) {
        if !index.frozen() {
            index.lock().packet(n, at, conn);
        }
    }
}

impl PacketSource for Recorder<'_> {
    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd> {
        let index = self.index.clone();
        let headers = self.headers;
        self.source.run(&mut |item| {
            if let (true, SourceItem::Header { at, len, kind }) = (headers, item) {
                index.lock().header(at, len, kind);
            }
            f(item)
        })
    }

    fn describe(&self) -> String {
        self.source.describe()
    }
}

#[cfg(test)]
mod tests;
