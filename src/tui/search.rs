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

/// Frame and message events whose whole payload matched.
#[derive(Clone, Debug, Default)]
pub struct Hits {
    /// (frame number from 0, connection, stream offset).
    pub frames: Vec<(u64, ConnId, u64)>,
    /// (message number from 0, connection).
    pub messages: Vec<(u64, ConnId)>,
    /// Frame and message events read.
    pub frames_seen: u64,
    pub messages_seen: u64,
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
        Self::start_with(purpose, text, re, matcher, index, cfg)
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
    ) -> Result<Job, String> {
        let matcher_unit = matcher.unit;
        let path = index
            .lock()
            .path
            .clone()
            .ok_or("this input cannot be read again (no file or spool)")?;
        let file = std::fs::File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicU64::new(0));
        let (tx, rx) = sync_channel(1);
        let (stop2, read2) = (stop.clone(), read.clone());
        let name = path.display().to_string();
        std::thread::Builder::new()
            .name("wsscope-search".into())
            .spawn(move || {
                let input = Counted {
                    inner: file.take(total),
                    n: read2,
                };
                let result = scan(name, Box::new(input), cfg, &matcher, &stop2);
                let _ = tx.send(result);
            })
            .map_err(|e| format!("cannot start the search thread: {e}"))?;
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

/// Reads the whole input through a fresh analyzer, testing every payload.
fn scan(
    name: String,
    input: Box<dyn Read + Send>,
    cfg: AnalyzerConfig,
    matcher: &Selection,
    stop: &AtomicBool,
) -> Result<Hits, String> {
    let mut source = FileSource::from_reader(name, input).map_err(|e| format!("{e:#}"))?;
    let mut analyzer = Analyzer::new(cfg);
    let mut sink = HitSink {
        matcher,
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

struct HitSink<'a> {
    matcher: &'a Selection,
    hits: Hits,
}

impl HitSink<'_> {
    /// The rule `wsscope export --grep` applies ([`Selection::matches_payload`]).
    fn matches(&self, payload: &[u8]) -> bool {
        self.matcher.matches_payload(payload)
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
                let n = self.hits.frames_seen;
                self.hits.frames_seen += 1;
                if (!messages || f.opcode >= 8) && self.matches(&f.payload) {
                    self.hits.frames.push((n, f.conn, f.offset));
                }
            }
            Event::Message(m) => {
                let n = self.hits.messages_seen;
                self.hits.messages_seen += 1;
                if messages && self.matches(&m.data) {
                    self.hits.messages.push((n, m.conn));
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
    pub(crate) pending: Hits,
    /// Hits whose row did not agree with the hit (connection, offset): the
    /// second reading went differently (a capture file that changed).
    pub out_of_step: u64,
    /// How far the rows were walked to map hits.
    pub(crate) walk: Walk,
}

/// Where the app's mapping of hits to rows stopped: the next row to look at, and the frame
/// and message events that came before it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Walk {
    pub(crate) next_record: usize,
    pub(crate) frames: u64,
    pub(crate) messages: u64,
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
