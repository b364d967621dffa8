//! The capture thread: reads the source through the analyzer, notes where
//! each packet is for fetching payloads later ([`super::replay`]), cuts
//! payloads the timeline will not hold ([`super::lean`]), and hands the
//! events to the UI thread in batches, which come back to be freed here.

use super::app::{Feed, Progress};
use super::search::Counted;
use super::{BATCH, CHANNEL, FLUSH, lean, replay};
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::audit::{AuditConfig, AuditStage};
use crate::event::{Event, EventSink};
use crate::pipeline::{self, Control};
use crate::source::PacketSource;
use crate::source::file::FileSource;
use anyhow::Context;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

pub(crate) type Counter = Option<(Arc<AtomicU64>, u64)>;

/// How the capture thread reads.
#[derive(Default)]
pub(crate) struct ReaderOptions {
    pub live: bool,
    pub limit: Option<u64>,
    pub dropped: Option<Box<dyn Fn() -> u64 + Send>>,
    /// Bytes read so far and the file size, for the progress gauge.
    pub(crate) counter: Counter,
    /// Where each packet is, for fetching payloads later.
    pub index: replay::SharedIndex,
    /// Sources that are not a file: the packets are copied here.
    pub spool: Option<replay::PacketSpool>,
    /// Cut payloads the store will not hold whole before they cross to the
    /// UI thread (when they can be fetched again).
    pub lean: Option<lean::Lean>,
    /// Batches the UI indexed, coming back to be freed and reused here.
    pub recycle: Option<Receiver<Vec<Event>>>,
}

/// What payloads are fetched from: the capture file, or a spool of
/// standard input.
pub(crate) enum ReplayInput {
    File(std::path::PathBuf),
    Spool(replay::Spool),
    /// Standard input that could not be spooled.
    None,
}

impl ReplayInput {
    pub(crate) fn index(self) -> replay::SharedIndex {
        match self {
            ReplayInput::File(p) => replay::SharedIndex::new(Some(p)),
            ReplayInput::Spool(s) => {
                let index = replay::SharedIndex::new(Some(s.path().to_path_buf()));
                index.keep(s);
                index
            }
            ReplayInput::None => replay::SharedIndex::new(None),
        }
    }
}

/// Opens a capture whose reading progress can be watched. Standard input
/// is copied to a temporary spool file as it is read.
pub(crate) fn open_counted(
    path: &Path,
) -> anyhow::Result<(Box<dyn PacketSource + Send>, Counter, ReplayInput)> {
    if path == Path::new("-") {
        return Ok(match replay::Spool::temporary() {
            Ok((spool, copy)) => {
                let input = replay::Tee {
                    inner: std::io::stdin(),
                    copy,
                };
                let src = FileSource::from_reader("-".into(), Box::new(input))?;
                (Box::new(src), None, ReplayInput::Spool(spool))
            }
            Err(_) => (Box::new(FileSource::open(path)?), None, ReplayInput::None),
        });
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
    let meta = file.metadata().with_context(|| format!("cannot read {name}"))?;
    if meta.is_dir() {
        anyhow::bail!("cannot read {name}: it is a directory; give a pcap or pcapng file");
    }
    let n = Arc::new(AtomicU64::new(0));
    let input = Counted {
        inner: file,
        n: n.clone(),
    };
    let src = FileSource::from_reader(name, Box::new(input))?;
    Ok((
        Box::new(src),
        Some((n, meta.len())),
        ReplayInput::File(path.to_path_buf()),
    ))
}

/// The capture thread's handle.
pub(crate) struct Reader {
    pub rx: Receiver<Feed>,
    pub(crate) stop: Arc<AtomicBool>,
}

impl Reader {
    /// Asks the thread to stop at the next packet.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads `source` on a background thread through the analyzer, sending
/// batched events and progress to the returned receiver. Files block on a
/// full channel (back-pressure); live sources never block the capture: they
/// hand over each packet's events at once (the capture thread behind a live
/// source drops and counts packets if this thread falls behind).
pub(crate) fn spawn_reader(
    mut source: Box<dyn PacketSource + Send>,
    cfg: AnalyzerConfig,
    opts: ReaderOptions,
) -> Reader {
    let (tx, rx) = sync_channel::<Feed>(CHANNEL);
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("wsscope-reader".into())
        .spawn(move || reader_thread(&mut *source, cfg, opts, &tx, &stop2));
    if let Err(e) = spawned {
        // No thread: report it through a channel of our own.
        let (tx, rx) = sync_channel::<Feed>(1);
        let _ = tx.send(Feed::Done(Err(format!("cannot start the reader thread: {e}"))));
        return Reader { rx, stop };
    }
    Reader { rx, stop }
}

fn reader_thread(
    source: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    opts: ReaderOptions,
    tx: &SyncSender<Feed>,
    stop: &AtomicBool,
) {
    let ReaderOptions {
        live,
        limit,
        dropped,
        counter,
        index,
        mut spool,
        lean,
        recycle,
    } = opts;
    let mut analyzer = Analyzer::new(cfg);
    // The audit sees every event whole (before `lean` cuts payloads) and
    // puts its findings right after the events that complete them; secrets
    // stay redacted (the default configuration).
    let mut batch = AuditStage::new(
        BatchSink {
            batch: lean::LeanBatch {
                events: Vec::with_capacity(BATCH),
                cut: Vec::new(),
            },
            lean,
            recycle,
            tx,
            gone: false,
        },
        AuditConfig::default(),
    );
    let mut last_send = Instant::now();
    let mut packets = 0u64;
    let mut window = (Instant::now(), 0u64);
    let mut pps = None;
    let mut gone = false;
    let progress = |packets: u64, pps: Option<f64>| Progress {
        bytes_read: counter.as_ref().map_or(0, |c| c.0.load(Ordering::Relaxed)),
        total_bytes: counter.as_ref().map(|c| c.1),
        packets,
        pps,
        dropped: dropped.as_ref().map(|f| f()),
    };
    let ctl = Control {
        limit,
        stop: Some(stop),
    };
    // Events collect in `batch`; the hook hands them over with the progress.
    let mut recorder = replay::Recorder {
        source,
        index: index.clone(),
        headers: spool.is_none(),
    };
    let result = pipeline::run(&mut recorder, &mut analyzer, &mut batch, ctl, |fed, stage| {
        let sink = stage.inner_mut();
        packets = fed.count;
        // Where the packet is: in the file, or in the spool once copied there.
        let at = match spool.as_mut() {
            Some(sp) => {
                if fed.count == 1 {
                    let (at, len) = replay::PacketSpool::HEADER;
                    index.lock().header(at, len, crate::source::HeaderKind::Pcap);
                }
                sp.write(fed.packet)
            }
            None => Some(fed.packet.at),
        };
        if let Some(at) = at {
            replay::Recorder::packet(&index, fed.packet.index, at, fed.conn);
        }
        gone |= sink.gone;
        if live {
            if window.0.elapsed() >= Duration::from_secs(1) {
                pps = Some((packets - window.1) as f64 / window.0.elapsed().as_secs_f64());
                window = (Instant::now(), packets);
            }
            // Hand over at once. Blocking here is safe: the capture thread
            // has its own bounded channel and counts what it must drop, so
            // a slow screen shows up as drops, never as stranded events.
            if !sink.batch.events.is_empty() {
                gone = tx.send(Feed::Lean(sink.take())).is_err();
            }
            // Packets/s and drops update even when packets yield no events.
            if last_send.elapsed() >= FLUSH {
                gone = gone || tx.send(Feed::Progress(progress(packets, pps))).is_err();
                last_send = Instant::now();
            }
        } else if sink.batch.events.len() >= BATCH || (packets % 512 == 0 && last_send.elapsed() >= FLUSH) {
            let b = sink.take();
            gone =
                tx.send(Feed::Lean(b)).is_err() || tx.send(Feed::Progress(progress(packets, pps))).is_err();
            last_send = Instant::now();
        }
        if gone {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    if gone {
        return;
    }
    // The pipeline finished the analysis into `batch` (not on a source
    // error); the audit's end-of-input findings (a server's Origins) follow.
    let done = result.map_err(|e| format!("{e:#}"));
    if done.is_ok() {
        // Nothing to report: the batch sink cannot fail.
        let _ = batch.finish();
    }
    let sink = batch.into_inner();
    if sink.gone {
        return;
    }
    let _ = tx.send(Feed::Lean(sink.batch));
    let mut p = progress(packets, pps);
    if let Some(total) = p.total_bytes {
        p.bytes_read = total;
    }
    let _ = tx.send(Feed::Progress(p));
    let _ = tx.send(Feed::Done(done));
}

/// The reader's sink: events collect in a batch, which the per-packet hook
/// hands over with the progress; a batch that fills up within one packet
/// (a hole filled at last releasing millions of frames, the end of the
/// capture flushing every connection) goes at once, so the reader never
/// holds more than a batch however many events one packet makes.
struct BatchSink<'a> {
    batch: lean::LeanBatch,
    lean: Option<lean::Lean>,
    recycle: Option<Receiver<Vec<Event>>>,
    tx: &'a SyncSender<Feed>,
    /// The UI is gone: drop what comes.
    gone: bool,
}

impl crate::event::EventSink for BatchSink<'_> {
    fn event(&mut self, mut ev: Event) {
        if self.gone {
            return;
        }
        if let Some(whole) = self.lean.as_mut().and_then(|l| l.cut(&mut ev)) {
            let i = u32::try_from(self.batch.events.len()).unwrap_or(u32::MAX);
            self.batch.cut.push((i, whole));
        }
        self.batch.events.push(ev);
        if self.batch.events.len() >= BATCH {
            let b = self.take();
            self.gone = self.tx.send(Feed::Lean(b)).is_err();
        }
    }
}

impl BatchSink<'_> {
    /// The batch so far, replaced by an empty one: a batch the UI sent
    /// back (its events freed here, where they were allocated), or a new one.
    fn take(&mut self) -> lean::LeanBatch {
        let mut events = None;
        if let Some(rx) = &self.recycle {
            while let Ok(mut back) = rx.try_recv() {
                back.clear();
                events.get_or_insert(back);
            }
        }
        let events = events.unwrap_or_else(|| Vec::with_capacity(BATCH));
        std::mem::replace(
            &mut self.batch,
            lean::LeanBatch {
                events,
                cut: Vec::new(),
            },
        )
    }
}
