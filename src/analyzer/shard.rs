//! Connection sharding: the connections' protocol stacks (HTTP/1, TLS,
//! WebSocket, inflation) run on worker threads, and their events are merged
//! back into exactly the order one thread would have produced.
//!
//! The reading thread keeps everything that is global to the capture: the
//! reader, link/IP/TCP decoding, reassembly and the connection table (so
//! connection ids, linger expiry, `--max-conns` and eviction order are
//! decided once, as on one thread), the diagnostic rate limiter and the
//! memory budget. What it hands a worker is what the one-thread analyzer
//! hands a stack: the reassembler's [`StreamEvent`]s, with their bytes
//! copied into the batch. A connection's events all go to one worker
//! (`conn % workers`: ids are handed out in order, so consecutive
//! connections land on different workers), which owns its stack; nothing
//! on the hot path is shared or locked.
//!
//! **Order.** Each stream event produces a run of output events, on one
//! thread as here. The reading thread writes a log, in stream-event order,
//! of what it emitted itself (diagnostics, through the limiter later) and
//! of which worker owes the next run; the merge walks that log, taking each
//! worker's runs in the order the worker produced them. The merged stream
//! is the one-thread stream, event for event, and the limiter sees the
//! diagnostics in the same order, so it keeps the same ten of each code.
//!
//! **Bounded.** A worker has at most [`IN_FLIGHT`] batches sent and not yet
//! merged; past that, or with a long log, the reading thread merges (and
//! waits) before reading on.
//!
//! **Back to one thread.** Some state is not the connections' own: TLS
//! secrets that arrive in the middle of the capture (a Decryption Secrets
//! Block, a followed key log) and the session cache they feed, which
//! connections share; and the memory budget, whose evictions depend on what
//! every stack holds after each packet. The analyzer does not shard when it
//! starts with secrets or a small budget, and when secrets arrive, or the
//! stacks' holdings near a quarter of the budget's share (well before the
//! one-thread analyzer would begin watching them closely, at a half), it
//! [recalls](Shards::recall) the stacks and goes on on one thread, from
//! exactly the state one thread would have had.

use super::{AnalyzerConfig, Router};
use crate::conn::ConnStack;
use crate::event::{ConnId, ConnectionEvent, DiagnosticEvent, Dir, Event, EventSink, GapReason, Loan};
use crate::keys::KeyStore;
use crate::model::{PacketSpan, Stamp};
use crate::stream::{DiagnosticLimiter, MemLedger};
use crate::tcp::{StreamConsumer, StreamEvent, TcpSummary};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;

/// Batches a worker may have sent to it and not yet merged.
const IN_FLIGHT: usize = 4;

/// A batch is sent when it holds this many stream events…
const BATCH_JOBS: usize = 1024;

/// …or this many bytes of stream data.
const BATCH_BYTES: usize = 256 << 10;

/// Log entries past which the reading thread merges before reading on.
const MAX_LOG: usize = 64 << 10;

/// The smallest analysis share of the memory budget that shards: below it,
/// a quarter of the share is too close to what the batches in flight can
/// make the stacks grow by before the reading thread sees it.
pub const MIN_SHARE: usize = 256 << 20;

/// A stream event for a worker, its bytes in the batch's buffer.
enum Job {
    Open(ConnectionEvent),
    Data {
        conn: ConnId,
        dir: Dir,
        offset: u64,
        /// Where the bytes are in [`Batch::bytes`].
        at_byte: usize,
        len: usize,
        packets: PacketSpan,
        at: Stamp,
        starts_write: bool,
    },
    Gap {
        conn: ConnId,
        dir: Dir,
        at: Stamp,
        offset: u64,
        len: u64,
        reason: GapReason,
    },
    Fin {
        conn: ConnId,
        dir: Dir,
        at: Stamp,
    },
    Rst {
        conn: ConnId,
        dir: Dir,
        at: Stamp,
    },
    Closed(Box<TcpSummary>),
}

impl Job {
    /// The stream event again, borrowing the batch's bytes.
    fn event<'b>(self, bytes: &'b [u8]) -> StreamEvent<'b> {
        match self {
            Job::Open(c) => StreamEvent::Open(c),
            Job::Data {
                conn,
                dir,
                offset,
                at_byte,
                len,
                packets,
                at,
                starts_write,
            } => StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes: bytes.get(at_byte..at_byte + len).unwrap_or_default(),
                packets,
                at,
                starts_write,
            },
            Job::Gap {
                conn,
                dir,
                at,
                offset,
                len,
                reason,
            } => StreamEvent::Gap {
                conn,
                dir,
                at,
                offset,
                len,
                reason,
            },
            Job::Fin { conn, dir, at } => StreamEvent::Fin { conn, dir, at },
            Job::Rst { conn, dir, at } => StreamEvent::Rst { conn, dir, at },
            Job::Closed(s) => StreamEvent::Closed(s),
        }
    }
}

/// Stream events for one worker, in order.
#[derive(Default)]
struct Batch {
    jobs: Vec<Job>,
    bytes: Vec<u8>,
}

/// What a worker made of a batch: every event, and how many each job made.
struct Runs {
    events: Vec<Event>,
    lens: Vec<usize>,
}

/// Runs received and not yet all merged.
struct Cursor {
    events: Lent,
    lens: std::vec::IntoIter<usize>,
}

/// A batch's events as the merge hands them on.
enum Lent {
    /// Moved into a sink that keeps them.
    Given(std::vec::IntoIter<Event>),
    /// Lent to a sink that only reads them ([`EventSink::reads_only`]), up
    /// to the index; they go back to the worker that allocated them, to be
    /// freed there, once the last reader lets go ([`Loan`]).
    Lent(Arc<Loan>, usize),
}

enum ToWorker {
    Batch(Batch),
    /// Finish the batches before this, then hand the stacks back.
    Recall,
}

enum FromWorker {
    /// A batch's runs, and the batch itself (emptied) to be filled again:
    /// it was allocated on the reading thread and is freed there.
    Done(Runs, Batch),
    Recalled(FxHashMap<ConnId, ConnStack>, MemLedger),
}

/// The reading thread's handle on one worker.
struct Worker {
    tx: Sender<ToWorker>,
    rx: Receiver<FromWorker>,
    thread: Option<JoinHandle<()>>,
    /// What the worker's layers hold, as of its last batch.
    held: Arc<AtomicUsize>,
    /// Where lent events go home to be freed.
    home: Sender<Vec<Event>>,
    /// Being filled.
    pending: Batch,
    /// Emptied batches back from the worker.
    spare: Vec<Batch>,
    /// Sent and not yet received back.
    outstanding: usize,
    /// Runs received and not yet all merged.
    runs: Option<Cursor>,
}

impl Worker {
    fn spawn(n: usize, cfg: &AnalyzerConfig) -> std::io::Result<Self> {
        let (tx, work) = channel();
        let (done, rx) = channel();
        let (home, returned) = channel();
        let held = Arc::new(AtomicUsize::new(0));
        let cfg = cfg.clone();
        let seen = Arc::clone(&held);
        let thread = std::thread::Builder::new()
            .name(format!("wsscope-shard-{n}"))
            .spawn(move || work_loop(&cfg, &work, &done, &returned, &seen))?;
        Ok(Worker {
            tx,
            rx,
            thread: Some(thread),
            held,
            home,
            pending: Batch::default(),
            spare: Vec::new(),
            outstanding: 0,
            runs: None,
        })
    }

    /// Sends the batch being filled, if it holds anything.
    fn send(&mut self) {
        if self.pending.jobs.is_empty() {
            return;
        }
        let next = self.spare.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.pending, next);
        // A worker that is gone panicked; its runs never come, and the
        // merge reports it (below) rather than waiting.
        if self.tx.send(ToWorker::Batch(batch)).is_ok() {
            self.outstanding += 1;
        }
    }

    /// The next batch of runs: waits for it if `block`.
    fn receive(&mut self, block: bool) -> Option<Runs> {
        let msg = if block {
            self.rx.recv().ok()
        } else {
            match self.rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => None,
            }
        };
        match msg {
            Some(FromWorker::Done(runs, batch)) => {
                self.outstanding -= 1;
                self.spare.push(batch);
                Some(runs)
            }
            // Only asked for by `recall`, which reads it itself.
            Some(FromWorker::Recalled(..)) => None,
            None => {
                assert!(!block || self.outstanding == 0, "{}", dead_worker());
                None
            }
        }
    }
}

fn dead_worker() -> &'static str {
    "an analysis worker thread stopped (it panicked: see above); rerun with --threads 1 and report the capture"
}

/// A worker: the one-thread analyzer's stack handling, for its connections.
fn work_loop(
    cfg: &AnalyzerConfig,
    work: &Receiver<ToWorker>,
    done: &Sender<FromWorker>,
    returned: &Receiver<Vec<Event>>,
    seen: &AtomicUsize,
) {
    let mut stacks = FxHashMap::default();
    // The reading thread limits, in merge order.
    let mut diags = DiagnosticLimiter::unlimited();
    let mut mem = MemLedger::default();
    // Sharding stops before any secret arrives: the stacks see none.
    let keys = KeyStore::default();
    while let Ok(msg) = work.recv() {
        match msg {
            ToWorker::Batch(mut batch) => {
                // Events lent out and read: freed here, where they were made.
                while let Ok(events) = returned.try_recv() {
                    drop(events);
                }
                let mut events: Vec<Event> = Vec::with_capacity(batch.jobs.len());
                let mut lens = Vec::with_capacity(batch.jobs.len());
                for job in batch.jobs.drain(..) {
                    let before = events.len();
                    Router {
                        cfg,
                        stacks: &mut stacks,
                        live: None,
                        diags: &mut diags,
                        mem: &mut mem,
                        hook: None,
                        keys: &keys,
                        out: &mut events,
                    }
                    .stream_event(job.event(&batch.bytes));
                    lens.push(events.len() - before);
                }
                batch.bytes.clear();
                seen.store(mem.held(), Ordering::Relaxed);
                if done.send(FromWorker::Done(Runs { events, lens }, batch)).is_err() {
                    return;
                }
            }
            ToWorker::Recall => {
                let _ = done.send(FromWorker::Recalled(std::mem::take(&mut stacks), mem));
                return;
            }
        }
    }
}

/// One entry of the merge log.
enum Entry {
    /// An event the reading thread made itself.
    Event(Event),
    /// A diagnostic the reading thread raised: through the limiter.
    Diag(DiagnosticEvent),
    /// The next `n` runs of worker `w`.
    Runs { w: usize, n: usize },
}

/// The workers and the merge log.
pub struct Shards {
    workers: Vec<Worker>,
    log: VecDeque<Entry>,
}

impl Shards {
    /// `n` workers, or an error if a thread cannot be started.
    pub fn spawn(n: usize, cfg: &AnalyzerConfig) -> std::io::Result<Self> {
        let workers = (0..n)
            .map(|i| Worker::spawn(i, cfg))
            .collect::<std::io::Result<_>>()?;
        Ok(Shards {
            workers,
            log: VecDeque::new(),
        })
    }

    /// What the workers' layers held, as of their last batches.
    pub fn held(&self) -> usize {
        self.workers
            .iter()
            .fold(0usize, |a, w| a.saturating_add(w.held.load(Ordering::Relaxed)))
    }

    /// The consumer of the reassembler's events for one packet (`live`
    /// mirrors the connections that have a stack, for the budget).
    pub fn dispatch<'a>(&'a mut self, live: &'a mut FxHashSet<ConnId>) -> Dispatch<'a> {
        Dispatch { shards: self, live }
    }

    /// Whether events are owed to the sink (the merge log is not empty).
    pub fn owing(&self) -> bool {
        !self.log.is_empty()
    }

    /// An event made on the reading thread, in its place.
    pub fn event(&mut self, ev: Event) {
        self.log.push_back(Entry::Event(ev));
    }

    /// A diagnostic raised on the reading thread, in its place.
    pub fn diagnostic(&mut self, d: DiagnosticEvent) {
        self.log.push_back(Entry::Diag(d));
    }

    fn job(&mut self, conn: ConnId, job: Job) {
        let w = (conn % self.workers.len() as u64) as usize;
        match self.log.back_mut() {
            Some(Entry::Runs { w: last, n }) if *last == w => *n += 1,
            _ => self.log.push_back(Entry::Runs { w, n: 1 }),
        }
        let worker = &mut self.workers[w];
        worker.pending.jobs.push(job);
        if worker.pending.jobs.len() >= BATCH_JOBS || worker.pending.bytes.len() >= BATCH_BYTES {
            worker.send();
        }
    }

    /// After a packet: merges what is ready into `out` and, when the log or
    /// a worker's batches in flight are past their bounds, waits for them.
    pub fn pump(&mut self, diags: &mut DiagnosticLimiter, out: &mut dyn EventSink) {
        let full = |s: &Shards| s.log.len() > MAX_LOG || s.workers.iter().any(|w| w.outstanding >= IN_FLIGHT);
        if full(self) {
            while full(self) {
                self.merge_one(true, diags, out);
            }
        }
        while self.merge_one(false, diags, out) {}
    }

    /// Merges the whole log into `out`, waiting for the workers.
    pub fn drain(&mut self, diags: &mut DiagnosticLimiter, out: &mut dyn EventSink) {
        while self.merge_one(true, diags, out) {}
    }

    /// Merges the log's first entry (or one run of it); false when the log
    /// is empty or, unless `block`, the run is not ready.
    fn merge_one(&mut self, block: bool, diags: &mut DiagnosticLimiter, out: &mut dyn EventSink) -> bool {
        let Some(head) = self.log.front_mut() else {
            return false;
        };
        let (w, n) = match head {
            Entry::Runs { w, n } => (*w, n),
            _ => {
                match self.log.pop_front() {
                    Some(Entry::Event(ev)) => out.event(ev),
                    Some(Entry::Diag(d)) => diags.emit(d, out),
                    _ => {}
                }
                return true;
            }
        };
        let worker = &mut self.workers[w];
        if worker.runs.is_none() {
            // The run owed may still be in the batch being filled.
            if worker.outstanding == 0 {
                worker.send();
            }
            match worker.receive(block) {
                Some(runs) => {
                    let events = if out.reads_only() {
                        Lent::Lent(Arc::new(Loan::new(runs.events, Some(worker.home.clone()))), 0)
                    } else {
                        Lent::Given(runs.events.into_iter())
                    };
                    worker.runs = Some(Cursor {
                        events,
                        lens: runs.lens.into_iter(),
                    })
                }
                None if block => panic!("{}", dead_worker()),
                None => return false,
            }
        }
        let Some(cursor) = worker.runs.as_mut() else {
            return false;
        };
        let len = cursor.lens.next().unwrap_or(0);
        match &mut cursor.events {
            Lent::Given(events) => {
                for ev in events.by_ref().take(len) {
                    match ev {
                        Event::Diagnostic(d) => diags.emit(d, out),
                        ev => out.event(ev),
                    }
                }
            }
            Lent::Lent(loan, at) => {
                // Lent in stretches; diagnostics go through the limiter.
                let end = *at + len;
                let mut from = *at;
                for (i, ev) in loan.events().iter().enumerate().take(end).skip(*at) {
                    if let Event::Diagnostic(d) = ev {
                        if from < i {
                            out.lend(loan, from..i);
                        }
                        diags.emit(d.clone(), out);
                        from = i + 1;
                    }
                }
                if from < end {
                    out.lend(loan, from..end);
                }
                *at = end;
            }
        }
        if cursor.lens.len() == 0 {
            worker.runs = None;
        }
        *n -= 1;
        if *n == 0 {
            self.log.pop_front();
        }
        true
    }

    /// Merges everything into `out`, then takes the stacks back from the
    /// workers (ending them): the analysis goes on on one thread.
    pub fn recall(
        mut self,
        diags: &mut DiagnosticLimiter,
        out: &mut dyn EventSink,
    ) -> (FxHashMap<ConnId, ConnStack>, MemLedger) {
        self.drain(diags, out);
        let mut stacks = FxHashMap::default();
        let mut mem = MemLedger::default();
        for w in &mut self.workers {
            if w.tx.send(ToWorker::Recall).is_err() {
                panic!("{}", dead_worker());
            }
            match w.rx.recv() {
                Ok(FromWorker::Recalled(s, m)) => {
                    stacks.extend(s);
                    mem.absorb(&m);
                }
                _ => panic!("{}", dead_worker()),
            }
        }
        (stacks, mem)
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        for w in &mut self.workers {
            // Closing the channel ends the worker's loop.
            let (tx, _) = channel();
            drop(std::mem::replace(&mut w.tx, tx));
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The reassembler's consumer while sharded: stream events go to their
/// connection's worker, diagnostics into the log.
pub struct Dispatch<'a> {
    shards: &'a mut Shards,
    live: &'a mut FxHashSet<ConnId>,
}

impl StreamConsumer for Dispatch<'_> {
    fn stream_event(&mut self, ev: StreamEvent<'_>) {
        let s = &mut *self.shards;
        match ev {
            StreamEvent::Open(c) => {
                self.live.insert(c.conn);
                s.job(c.conn, Job::Open(c));
            }
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
                packets,
                at,
                starts_write,
            } => {
                let w = (conn % s.workers.len() as u64) as usize;
                let buf = &mut s.workers[w].pending.bytes;
                let at_byte = buf.len();
                buf.extend_from_slice(bytes);
                s.job(
                    conn,
                    Job::Data {
                        conn,
                        dir,
                        offset,
                        at_byte,
                        len: bytes.len(),
                        packets,
                        at,
                        starts_write,
                    },
                );
            }
            StreamEvent::Gap {
                conn,
                dir,
                at,
                offset,
                len,
                reason,
            } => s.job(
                conn,
                Job::Gap {
                    conn,
                    dir,
                    at,
                    offset,
                    len,
                    reason,
                },
            ),
            StreamEvent::Fin { conn, dir, at } => s.job(conn, Job::Fin { conn, dir, at }),
            StreamEvent::Rst { conn, dir, at } => s.job(conn, Job::Rst { conn, dir, at }),
            StreamEvent::Diagnostic(d) => s.diagnostic(d),
            StreamEvent::Closed(sum) => {
                self.live.remove(&sum.conn);
                s.job(sum.conn, Job::Closed(sum));
            }
        }
    }
}
