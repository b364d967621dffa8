//! Sinks: text timeline, JSON Lines, Parquet, Zeek's websocket.log, SARIF and the audit report, hexdump/raw/pcap/HAR export, the conns table.
pub mod community_id;
pub mod conns;
pub mod export;
pub mod export_jsonl;
pub mod export_pcap;
pub mod findings;
pub mod har;
pub mod hexdump;
pub mod json_fmt;
pub mod jsonl;
pub mod offload;
pub mod ordered;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod payload;
pub mod sarif;
pub mod text;
pub mod wire;
pub mod zeek;

use std::io;

/// A sink's first write error. [`crate::event::EventSink::event`] cannot
/// fail, so a writing sink keeps its first error here, writes nothing after
/// it (a closed pipe stays closed), and returns it from
/// [`crate::event::EventSink::finish`].
#[derive(Debug, Default)]
pub struct WriteLatch {
    error: Option<io::Error>,
    failed: bool,
}

impl WriteLatch {
    /// Whether a write failed: the sink should write nothing more.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Keeps `r`'s error if it is the first.
    pub fn keep(&mut self, r: io::Result<()>) {
        if let Err(e) = r
            && !self.failed
        {
            self.error = Some(e);
            self.failed = true;
        }
    }

    /// The first error (once), else what `flush` returns.
    pub fn finish(&mut self, flush: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None if self.failed => Ok(()),
            None => flush(),
        }
    }
}
