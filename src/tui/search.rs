//! Search and filter over every whole payload, in the background.
//!
//! When the store holds every payload whole, search and filter run over it
//! in memory. Otherwise a [`Job`] reads the capture again on its own thread
//! with a fresh analyzer and the run's configuration — the same analysis
//! that built the index, so its frames and messages come out in the same
//! order — and tests the regex on each whole payload, exactly as
//! `wsscope export --grep` does (lossy UTF-8). It names its hits by their
//! number among the frame (message) events — the n-th frame event is the
//! n-th frame row (see `App::map_hits`); each hit also carries its
//! connection (and frame offset), checked against the row it maps to.
//!
//! The UI thread keeps answering keys while a job runs; it shows the
//! job's progress and `Esc` cancels it. Once done, `n`/`N` walk the hits
//! without reading anything again.

use super::replay::SharedIndex;
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::event::{ConnId, Event, EventSink};
use crate::pipeline::{self, Control};
use crate::select::{Selection, Unit};
use crate::source::file::FileSource;
use regex::Regex;
use std::io::Read;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::time::Instant;

/// What a job is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `/`: move the cursor to hits.
    Search,
    /// `f`: show only matching rows.
    Filter,
}

/// Frame and message events whose whole payload matched, named by their
/// connection and their number among that connection's frame (message)
/// events: what a reading of only some connections can say too.
#[derive(Clone, Debug, Default)]
pub struct Hits {
    /// (connection, frame number within it from 0, stream offset).
    pub frames: Vec<(ConnId, u64, u64)>,
    /// (connection, message number within it from 0).
    pub messages: Vec<(ConnId, u64)>,
    /// Frame and message events read.
    pub frames_seen: u64,
    pub messages_seen: u64,
}

impl Hits {
    fn extend(&mut self, other: Hits) {
        self.frames.extend(other.frames);
        self.messages.extend(other.messages);
        self.frames_seen += other.frames_seen;
        self.messages_seen += other.messages_seen;
    }
}

/// Reading the capture in two halves at once, one per core: the
/// connection of every packet (from the replay index), so each half
/// analyses only its connections (even ids, odd ids). A connection's events
/// do not depend on the others' — unless shared caps acted (evictions, the
/// total out-of-order cap), so the caller splits only when the first
/// reading shows none of those.
#[derive(Clone, Debug)]
pub struct Split {
    /// The connection of packet `n` at `n - 1` (`u32::MAX`: none).
    pub conn_of: Arc<Vec<u32>>,
}

/// A running job.
pub struct Job {
    pub purpose: Purpose,
    /// What the user typed.
    pub text: String,
    pub re: Regex,
    stop: Arc<AtomicBool>,
    read: Arc<AtomicU64>,
    /// Bytes to read (the file's size when the job started).
    pub total: u64,
    pub started: Instant,
    /// A filter's whole selection (applied with the hits once done).
    pub filter: Option<crate::select::Selection>,
    /// The rows tested: messages (and control frames), or frames.
    pub unit: Unit,
    rx: Receiver<Result<Hits, String>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("purpose", &self.purpose)
            .field("text", &self.text)
            .finish()
    }
}

/// How a job stands.
#[derive(Debug)]
pub enum Poll {
    /// Still reading: the fraction read.
    Running(f64),
    Done(Result<Hits, String>),
}

impl Job {
    /// Starts reading the capture `index` points at.
    pub fn start(
        purpose: Purpose,
        text: String,
        re: Regex,
        index: &SharedIndex,
        cfg: AnalyzerConfig,
    ) -> Result<Job, String> {
        let matcher = Selection {
            grep: Some(re.clone()),
            ..Selection::default()
        };
        Self::start_with(purpose, text, re, matcher, index, cfg, None)
    }

    /// As [`Job::start`], testing payloads with `matcher`'s payload terms
    /// ([`Selection::matches_payload`]; a filter may have several).
    pub fn start_with(
        purpose: Purpose,
        text: String,
        re: Regex,
        matcher: Selection,
        index: &SharedIndex,
        cfg: AnalyzerConfig,
        split: Option<Split>,
    ) -> Result<Job, String> {
        let matcher_unit = matcher.unit;
        let path = index
            .lock()
            .path
            .clone()
            .ok_or("this input cannot be read again (no file or spool)")?;
        let total = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicU64::new(0));
        let (tx, rx) = sync_channel(1);
        let parts: Vec<Option<(u32, Arc<Vec<u32>>)>> = match &split {
            Some(s) => vec![Some((0, s.conn_of.clone())), Some((1, s.conn_of.clone()))],
            None => vec![None],
        };
        let n_parts = parts.len() as u64;
        let mut inputs = Vec::new();
        for part in parts {
            let file =
                std::fs::File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            inputs.push((file, part));
        }
        let (stop2, read2) = (stop.clone(), read.clone());
        let name = path.display().to_string();
        std::thread::Builder::new()
            .name("wsscope-search".into())
            .spawn(move || {
                let result = std::thread::scope(|scope| {
                    let handles: Vec<_> = inputs
                        .into_iter()
                        .map(|(file, part)| {
                            let input = Counted {
                                inner: file.take(total),
                                n: read2.clone(),
                            };
                            let (name, cfg, matcher, stop) = (name.clone(), cfg.clone(), &matcher, &*stop2);
                            scope.spawn(move || scan(name, Box::new(input), cfg, matcher, stop, part))
                        })
                        .collect();
                    let mut all = Hits::default();
                    for h in handles {
                        match h.join() {
                            Ok(Ok(hits)) => all.extend(hits),
                            Ok(Err(e)) => return Err(e),
                            Err(_) => return Err("a search thread failed".into()),
                        }
                    }
                    Ok(all)
                });
                let _ = tx.send(result);
            })
            .map_err(|e| format!("cannot start the search thread: {e}"))?;
        let total = total * n_parts;
        Ok(Job {
            purpose,
            text,
            re,
            stop,
            read,
            total,
            started: Instant::now(),
            filter: None,
            unit: matcher_unit,
            rx,
        })
    }

    /// Asks the job to stop (it ends at the next packet; its result is dropped).
    pub fn cancel(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for the job's end (tests).
    #[cfg(test)]
    pub fn wait(&self) -> Result<Hits, String> {
        self.rx
            .recv()
            .unwrap_or_else(|_| Err("the search thread ended without a result".into()))
    }

    pub fn poll(&self) -> Poll {
        match self.rx.try_recv() {
            Ok(r) => Poll::Done(r),
            Err(TryRecvError::Empty) => {
                let read = self.read.load(Ordering::Relaxed) as f64;
                Poll::Running(if self.total > 0 {
                    read / self.total as f64
                } else {
                    0.0
                })
            }
            Err(TryRecvError::Disconnected) => {
                Poll::Done(Err("the search thread ended without a result".into()))
            }
        }
    }
}

/// Reads the whole input through a fresh analyzer, testing every payload
/// — of every connection, or (`part`) of those whose id has that parity.
fn scan(
    name: String,
    input: Box<dyn Read + Send>,
    cfg: AnalyzerConfig,
    matcher: &Selection,
    stop: &AtomicBool,
    part: Option<(u32, Arc<Vec<u32>>)>,
) -> Result<Hits, String> {
    let file = FileSource::from_reader(name, input).map_err(|e| format!("{e:#}"))?;
    let parity = part.as_ref().map(|p| p.0);
    let mut source = Half { inner: file, part };
    let mut analyzer = Analyzer::new(cfg);
    let mut sink = HitSink {
        matcher,
        parity,
        counts: Vec::new(),
        hits: Hits::default(),
    };
    let mut cancelled = false;
    pipeline::run(
        &mut source,
        &mut analyzer,
        &mut sink,
        Control::default(),
        |_, _| {
            if stop.load(Ordering::Relaxed) {
                cancelled = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .map_err(|e| format!("{e:#}"))?;
    if cancelled {
        return Err("cancelled".into());
    }
    Ok(sink.hits)
}

/// The file, with only the packets of one half of the connections (or all).
struct Half {
    inner: FileSource,
    part: Option<(u32, Arc<Vec<u32>>)>,
}

impl crate::source::PacketSource for Half {
    fn run(
        &mut self,
        f: &mut dyn FnMut(crate::source::SourceItem<'_>) -> ControlFlow<()>,
    ) -> anyhow::Result<crate::source::SourceEnd> {
        use crate::source::SourceItem;
        let Some((parity, conn_of)) = &self.part else {
            return self.inner.run(f);
        };
        let (parity, conn_of) = (*parity, conn_of.clone());
        self.inner.run(&mut |item| match item {
            SourceItem::Packet(p) => {
                let conn = p
                    .index
                    .checked_sub(1)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| conn_of.get(i))
                    .copied()
                    .unwrap_or(u32::MAX);
                if conn != u32::MAX && conn % 2 == parity {
                    f(item)
                } else {
                    ControlFlow::Continue(())
                }
            }
            SourceItem::Diagnostic { .. } => ControlFlow::Continue(()),
            _ => f(item),
        })
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

struct HitSink<'a> {
    matcher: &'a Selection,
    /// Reading one half: the analyzer's connection `k` is the capture's `2k + parity`.
    parity: Option<u32>,
    /// Per connection (the analyzer's ids): frame and message events so far.
    counts: Vec<[u64; 2]>,
    hits: Hits,
}

impl HitSink<'_> {
    /// The rule `wsscope export --grep` applies ([`Selection::matches_payload`]).
    fn matches(&self, payload: &[u8]) -> bool {
        self.matcher.matches_payload(payload)
    }

    /// The capture's id of the analyzer's connection `local`, and the
    /// number of this event among its frames (`kind` 0) or messages (1).
    fn number(&mut self, local: ConnId, kind: usize) -> (ConnId, u64) {
        let global = match self.parity {
            Some(p) => local.saturating_mul(2).saturating_add(ConnId::from(p)),
            None => local,
        };
        let i = usize::try_from(local).unwrap_or(usize::MAX);
        if self.counts.len() <= i && i < usize::MAX {
            self.counts.resize(i + 1, [0; 2]);
        }
        let n = self
            .counts
            .get_mut(i)
            .and_then(|c| c.get_mut(kind))
            .map_or(0, |c| {
                *c += 1;
                *c - 1
            });
        (global, n)
    }
}

/// Only the rows of the view's unit are tested (messages and control
/// frames, or every frame): the same bytes twice would double the regex's
/// work. Every event is counted, so the numbers stay those of the rows.
impl EventSink for HitSink<'_> {
    fn event(&mut self, ev: Event) {
        let messages = self.matcher.unit == Unit::Messages;
        match ev {
            Event::Frame(f) => {
                let (conn, n) = self.number(f.conn, 0);
                self.hits.frames_seen += 1;
                if (!messages || f.opcode >= 8) && self.matches(&f.payload) {
                    self.hits.frames.push((conn, n, f.offset));
                }
            }
            Event::Message(m) => {
                let (conn, n) = self.number(m.conn, 1);
                self.hits.messages_seen += 1;
                if messages && self.matches(&m.data) {
                    self.hits.messages.push((conn, n));
                }
            }
            _ => {}
        }
    }
}

/// Counts bytes read, for a progress line (the loading gauge, a search's).
pub(crate) struct Counted<R> {
    pub(crate) inner: R,
    pub(crate) n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Hits of the last search or filter job, as rows.
#[derive(Clone, Debug)]
pub struct RowHits {
    pub purpose: Purpose,
    /// The rows the job tested (messages, or frames).
    pub unit: crate::select::Unit,
    pub text: String,
    pub re: Regex,
    pub rows: Arc<RowSet>,
    /// Hits past the rows indexed so far (the capture still loading):
    /// mapped as rows arrive.
    pub(crate) pending: Pending,
    /// Hits whose row did not agree with the hit (connection, offset): the
    /// second reading went differently (a capture file that changed).
    pub out_of_step: u64,
    /// How far the rows were walked to map hits.
    pub(crate) walk: Walk,
}

/// Where the app's mapping of hits to rows stopped: the next row to look
/// at, and per connection the frame and message events before it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Walk {
    pub(crate) next_record: usize,
    /// Per connection id: frame and message rows so far.
    pub(crate) counts: Vec<[u64; 2]>,
}

/// Hits not yet matched to a row, by (connection, number within it).
#[derive(Clone, Debug, Default)]
pub(crate) struct Pending {
    /// Frames, with their stream offset (checked against the row's).
    pub(crate) frames: std::collections::HashMap<(ConnId, u64), u64>,
    pub(crate) messages: std::collections::HashSet<(ConnId, u64)>,
}

impl Pending {
    pub(crate) fn new(hits: Hits) -> Pending {
        Pending {
            frames: hits.frames.into_iter().map(|(c, n, o)| ((c, n), o)).collect(),
            messages: hits.messages.into_iter().collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.messages.is_empty()
    }
}

/// A set of rows (record indices), as bits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowSet {
    bits: Vec<u64>,
    len: usize,
}

impl RowSet {
    pub fn insert(&mut self, row: u32) {
        let (w, b) = ((row / 64) as usize, row % 64);
        if self.bits.len() <= w {
            self.bits.resize(w + 1, 0);
        }
        if let Some(word) = self.bits.get_mut(w) {
            if *word & (1 << b) == 0 {
                self.len += 1;
            }
            *word |= 1 << b;
        }
    }

    pub fn contains(&self, row: u32) -> bool {
        self.bits
            .get((row / 64) as usize)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            (0..64u32)
                .filter(move |b| word & (1 << b) != 0)
                .map(move |b| w as u32 * 64 + b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_set() {
        let mut s = RowSet::default();
        for r in [5, 64, 63, 1000, 5] {
            s.insert(r);
        }
        assert_eq!(s.len(), 4);
        assert!(s.contains(63) && s.contains(64) && !s.contains(65));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![5, 63, 64, 1000]);
    }
}
