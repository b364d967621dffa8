//! The one drive loop: a [`PacketSource`] through an [`Analyzer`] into an
//! [`EventSink`]. Every command (`dump`, `conns`, both passes of `export`)
//! and the TUI's reader thread run it, for files and live capture alike.
//!
//! - `-c N` ([`Control::limit`]) counts the packets the source hands out: at
//!   most N are analysed, then reading stops and the analysis is finished.
//! - [`Control::stop`] ends reading early in the same way (the TUI on quit).
//! - The per-packet hook sees each packet right after the analyzer, with its
//!   connection and the count so far: progress, batching, copying packets
//!   out (`export --format pcap`). It returns `Break` to abandon the run
//!   (the output failed, the receiver is gone): reading stops and the
//!   analysis is *not* finished, since nobody would see its last events.
//! - Decryption secrets the source finds go to [`Analyzer::add_secrets`].
//!
//! The sink is the caller's to [`finish`](EventSink::finish).

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::event::{ConnId, EventSink};
use crate::source::{Packet, PacketSource, SourceEnd, SourceItem};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

/// When to stop reading before the source ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct Control<'a> {
    /// Analyse at most this many packets (`-c`).
    pub limit: Option<u64>,
    /// Stop at the next packet once set.
    pub stop: Option<&'a AtomicBool>,
}

impl Control<'_> {
    /// Stop after `limit` packets, if given.
    pub fn limit(limit: Option<u64>) -> Self {
        Control { limit, stop: None }
    }
}

/// A packet the analyzer has just seen, as the hook gets it.
#[derive(Clone, Copy, Debug)]
pub struct Fed<'p, 'a> {
    pub packet: &'p Packet<'a>,
    /// The TCP connection it belongs to, if any.
    pub conn: Option<ConnId>,
    /// Packets analysed so far, this one included.
    pub count: u64,
}

/// Reads `source` into `analyzer`, its events into `sink`, calling
/// `on_packet` after each packet; then, unless the hook abandoned the run,
/// finishes the analysis into `sink`. Source errors are returned as they are.
pub fn run<S: EventSink>(
    source: &mut dyn PacketSource,
    analyzer: &mut Analyzer,
    sink: &mut S,
    ctl: Control<'_>,
    mut on_packet: impl FnMut(&Fed<'_, '_>, &mut S) -> ControlFlow<()>,
) -> anyhow::Result<SourceEnd> {
    let mut count = 0u64;
    let mut abandoned = false;
    let mut follow = KeylogFollower::new(&analyzer.config().keylog_files);
    let reached = |count: u64| ctl.limit.is_some_and(|l| count >= l);
    let end = source.run(&mut |item| {
        let packet = match item {
            SourceItem::Packet(p) => p,
            SourceItem::Secrets { kind, data } => {
                analyzer.add_secrets(kind, data, sink);
                return ControlFlow::Continue(());
            }
            SourceItem::Header { .. } => return ControlFlow::Continue(()),
            SourceItem::Diagnostic {
                code,
                detail,
                packet,
                ts,
            } => {
                analyzer.report(
                    crate::event::DiagnosticEvent {
                        ts,
                        conn: None,
                        dir: None,
                        code,
                        detail: detail.to_string(),
                        packet,
                    },
                    sink,
                );
                return ControlFlow::Continue(());
            }
        };
        // Only `-c 0` gets here with the limit reached.
        if reached(count) {
            return ControlFlow::Break(());
        }
        if count % KEYLOG_POLL_PACKETS == 0 {
            follow.poll(analyzer, sink);
        }
        let conn = analyzer.feed(&packet, sink);
        count += 1;
        let fed = Fed {
            packet: &packet,
            conn,
            count,
        };
        if on_packet(&fed, sink).is_break() {
            abandoned = true;
            return ControlFlow::Break(());
        }
        if reached(count) || ctl.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    if !abandoned {
        // Keys written while the last packets came in still count.
        follow.poll(analyzer, sink);
        analyzer.finish(&end, sink);
    }
    if std::env::var_os("WSSCOPE_MEMSTATS").is_some() {
        // A measurement aid (benches/memory_hostile.sh): what the budget saw.
        eprintln!(
            "wsscope: memstats: peak held {} (analysis share {}), evicted {}, layers peak {}",
            analyzer.peak_held(),
            analyzer.config().budget.analysis(),
            analyzer.evicted(),
            analyzer.memory().peak()
        );
    }
    Ok(end)
}

/// Packets between two looks at the followed key log files.
const KEYLOG_POLL_PACKETS: u64 = 64;

/// Follows `--keylog` files as they grow and hands new lines to the
/// analyzer (the TLS layer holds records whose key is not known yet).
struct KeylogFollower {
    files: Vec<(std::path::PathBuf, u64)>,
    /// A line not yet complete, per file.
    partial: Vec<Vec<u8>>,
}

impl KeylogFollower {
    fn new(files: &[(std::path::PathBuf, u64)]) -> Self {
        KeylogFollower {
            files: files.to_vec(),
            partial: vec![Vec::new(); files.len()],
        }
    }

    fn poll(&mut self, analyzer: &mut Analyzer, out: &mut dyn EventSink) {
        use std::io::{Read, Seek, SeekFrom};
        for ((path, read), partial) in self.files.iter_mut().zip(self.partial.iter_mut()) {
            let Ok(meta) = std::fs::metadata(&*path) else {
                continue;
            };
            if meta.len() <= *read {
                continue;
            }
            let Ok(mut f) = std::fs::File::open(&*path) else {
                continue;
            };
            if f.seek(SeekFrom::Start(*read)).is_err() {
                continue;
            }
            let mut buf = Vec::new();
            // Bounded: a key log grows by a few hundred bytes a connection.
            if f.take(1 << 20).read_to_end(&mut buf).is_err() {
                continue;
            }
            *read += buf.len() as u64;
            partial.extend_from_slice(&buf);
            let used = analyzer.add_keylog_lines(partial, out);
            partial.drain(..used.min(partial.len()));
        }
    }
}

/// Reads all of `source` with a new analyzer into `sink` (tests, benches,
/// the library example).
pub fn analyze<S: EventSink>(
    source: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    sink: &mut S,
) -> anyhow::Result<(Analyzer, SourceEnd)> {
    let mut analyzer = Analyzer::new(cfg);
    let end = run(source, &mut analyzer, sink, Control::default(), |_, _| {
        ControlFlow::Continue(())
    })?;
    Ok((analyzer, end))
}
