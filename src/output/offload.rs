//! Writing on a core of its own: the analysis hands its events, in batches,
//! to a thread that formats and writes them (`--threads` ≥ 2).
//!
//! The events cross as they are, in order, to one sink: the output is the
//! same bytes as writing them inline. Events own their payloads, so a batch
//! moves without copying. Memory stays bounded: a batch is sent once it
//! holds [`BATCH_EVENTS`] events or [`BATCH_BYTES`] payload bytes, and at
//! most [`BATCHES_IN_FLIGHT`] wait; past that the analysis waits for the
//! writer (a slow pipe slows the analysis, as inline writing would).
//!
//! The sink is built on the writer thread (a locked stdout cannot move
//! between threads) and what the caller needs of it afterwards comes back
//! through `done`.
//!
//! One thing a sink reads besides the events: the time origin of `-t r`
//! (the first packet's time, set by the reader before that packet's events
//! exist). Inline, lines before it (a file header's diagnostics) see no
//! origin; the writer would see it already set. So the origin the writer's
//! sink reads is its own, set in event order: each batch says after which
//! of its events the reader's origin was known ([`Offload::spawn_following`]).

use crate::event::{Event, EventSink, Loan};
use crate::output::text::time::Origin;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Events per batch: enough that the channel costs nothing per event.
pub const BATCH_EVENTS: usize = 1024;

/// Payload bytes per batch: a batch of big frames goes early, while its
/// bytes are still in the caches of the core that made them (batches of
/// 1 MiB made a permessage-deflate dump slower on two threads than on one;
/// 128 KiB made it 1.3× faster, and a plain one's JSON Lines 1.9×).
pub const BATCH_BYTES: usize = 128 << 10;

/// Batches queued for the writer before the analysis waits.
pub const BATCHES_IN_FLIGHT: usize = 4;

/// Events on their way to the writer, and where in them the origin of
/// `-t r` became known (its index and value).
struct Batch {
    events: Vec<Piece>,
    origin_at: Option<(usize, crate::model::Timestamp)>,
}

/// An event of a batch, or a run of events lent by the thread that made
/// them ([`EventSink::lend`]: the analysis' workers), read in place.
enum Piece {
    Own(Event),
    Lent(Arc<Loan>, Range<usize>),
}

impl Piece {
    /// Hands the piece's events to `sink`, by reference.
    fn feed(&self, sink: &mut dyn EventSink) {
        match self {
            Piece::Own(ev) => sink.event_ref(ev),
            Piece::Lent(loan, range) => {
                for ev in loan.events().get(range.clone()).unwrap_or_default() {
                    sink.event_ref(ev);
                }
            }
        }
    }
}

/// The events of the analysis thread being gathered into a batch.
struct Batcher {
    /// Written batches coming back, to be freed (and their `Vec` reused)
    /// on this thread, which allocated their payloads: freeing them on the
    /// other thread made both threads fight over the allocator.
    back: Receiver<Vec<Piece>>,
    batch: Vec<Piece>,
    bytes: usize,
}

impl Batcher {
    fn new(back: Receiver<Vec<Piece>>) -> Self {
        Batcher {
            back,
            batch: Vec::with_capacity(BATCH_EVENTS),
            bytes: 0,
        }
    }

    /// Adds `ev`; whether the batch is now due.
    fn push(&mut self, ev: Event) -> bool {
        self.bytes = self.bytes.saturating_add(payload_len(&ev));
        self.batch.push(Piece::Own(ev));
        self.due()
    }

    /// Adds lent events; whether the batch is now due.
    fn lend(&mut self, loan: &Arc<Loan>, range: Range<usize>) -> bool {
        let events = loan.events().get(range.clone()).unwrap_or_default();
        let bytes = events.iter().map(payload_len).sum::<usize>();
        self.bytes = self.bytes.saturating_add(bytes);
        self.batch.push(Piece::Lent(Arc::clone(loan), range));
        self.due()
    }

    fn due(&self) -> bool {
        self.batch.len() >= BATCH_EVENTS || self.bytes >= BATCH_BYTES
    }

    /// The batch so far (`None` when empty); a batch that came back,
    /// emptied here, becomes the next one.
    fn take(&mut self) -> Option<Vec<Piece>> {
        if self.batch.is_empty() {
            return None;
        }
        let mut next = None;
        while let Ok(mut done) = self.back.try_recv() {
            done.clear();
            next = Some(done);
        }
        let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH_EVENTS));
        self.bytes = 0;
        Some(std::mem::replace(&mut self.batch, next))
    }
}

/// An [`EventSink`] whose events are written by another thread.
pub struct Offload<R> {
    tx: Option<SyncSender<Batch>>,
    batcher: Batcher,
    failed: Arc<AtomicBool>,
    worker: Option<JoinHandle<R>>,
    /// The reader's origin, until it is known and passed on.
    origin: Option<Origin>,
    origin_at: Option<(usize, crate::model::Timestamp)>,
}

impl<R: Send + 'static> Offload<R> {
    /// Starts the writer thread: it builds its sink with `make`, feeds it
    /// every event sent, raises [`Offload::failed`] once `failed` says the
    /// sink stopped writing, and at the end hands the sink to `done`, whose
    /// result [`Offload::finish`] returns.
    pub fn spawn<S, M, F, D>(make: M, failed: F, done: D) -> std::io::Result<Self>
    where
        S: EventSink,
        M: FnOnce() -> S + Send + 'static,
        F: Fn(&S) -> bool + Send + 'static,
        D: FnOnce(S) -> R + Send + 'static,
    {
        Self::spawn_following(make, failed, done, None)
    }

    /// [`Offload::spawn`], and with `follow` the reader's `-t r` origin
    /// (`follow.0`) passed to the writer's (`follow.1`, the one its sink's
    /// clock reads) in event order.
    pub fn spawn_following<S, M, F, D>(
        make: M,
        failed: F,
        done: D,
        follow: Option<(Origin, Origin)>,
    ) -> std::io::Result<Self>
    where
        S: EventSink,
        M: FnOnce() -> S + Send + 'static,
        F: Fn(&S) -> bool + Send + 'static,
        D: FnOnce(S) -> R + Send + 'static,
    {
        let (tx, rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let (origin, writer_origin) = match follow {
            Some((reader, writer)) => (Some(reader), Some(writer)),
            None => (None, None),
        };
        let (back_tx, back) = sync_channel::<Vec<Piece>>(BATCHES_IN_FLIGHT + 1);
        let flag = Arc::new(AtomicBool::new(false));
        let raised = Arc::clone(&flag);
        let worker = std::thread::Builder::new()
            .name("wsscope-writer".into())
            .spawn(move || {
                let mut sink = make();
                for batch in rx {
                    for (i, piece) in batch.events.iter().enumerate() {
                        if let (Some((at, t)), Some(o)) = (batch.origin_at, &writer_origin)
                            && at == i
                        {
                            let _ = o.set(t);
                        }
                        piece.feed(&mut sink);
                    }
                    if failed(&sink) {
                        raised.store(true, Ordering::Relaxed);
                    }
                    // Full (the sender is not taking them back): free here.
                    let _ = back_tx.try_send(batch.events);
                }
                done(sink)
            })?;
        Ok(Offload {
            tx: Some(tx),
            batcher: Batcher::new(back),
            failed: flag,
            worker: Some(worker),
            origin,
            origin_at: None,
        })
    }

    /// Whether the writer's sink stopped writing (a closed pipe): the
    /// analysis may stop.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Sends what is batched, waits for the writer to write everything, and
    /// returns what `done` made of the sink. A panic on the writer thread
    /// goes on here.
    pub fn finish(mut self) -> R {
        self.send();
        self.tx = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            // `worker` is only taken here, and `finish` takes `self`.
            None => unreachable!("the writer thread is joined once"),
        }
    }

    fn send(&mut self) {
        let Some(events) = self.batcher.take() else {
            return;
        };
        let batch = Batch {
            events,
            origin_at: self.origin_at.take(),
        };
        if let Some(tx) = &self.tx
            && tx.send(batch).is_err()
        {
            // The writer is gone (it panicked): `finish` reports it.
            self.tx = None;
        }
    }
}

impl<R: Send + 'static> Offload<R> {
    /// The reader's origin, passed on before the piece about to be added.
    fn note_origin(&mut self) {
        if let Some(t) = self.origin.as_ref().and_then(|o| o.get().copied()) {
            // Known from this event on (the writer sets its own before it).
            self.origin = None;
            self.origin_at = Some((self.batcher.batch.len(), t));
        }
    }
}

impl<R: Send + 'static> EventSink for Offload<R> {
    fn event(&mut self, ev: Event) {
        self.note_origin();
        if self.batcher.push(ev) {
            self.send();
        }
    }

    fn lend(&mut self, loan: &Arc<Loan>, range: Range<usize>) {
        self.note_origin();
        if self.batcher.lend(loan, range) {
            self.send();
        }
    }

    /// Events cross whole or lent, never copied.
    fn reads_only(&self) -> bool {
        true
    }
}

impl<R> Drop for Offload<R> {
    /// Dropped without [`Offload::finish`] (an error on the way): the writer
    /// ends with the channel and is not waited for.
    fn drop(&mut self) {
        self.tx = None;
    }
}

/// The other way round, for a sink that cannot leave the caller's thread
/// (it borrows the caller's output, as `export` does): `work` — the
/// analysis — runs on a scoped thread and its events come back here in
/// batches, in order, to `sink`. Batches return to the analysis thread to
/// be freed where they were allocated, as with [`Offload`]. Once `failed`
/// says the sink stopped writing, [`Feed::stopped`] tells the analysis.
pub fn analyze_beside<S, T, W>(sink: &mut S, failed: impl Fn(&S) -> bool, work: W) -> T
where
    S: EventSink,
    T: Send,
    W: FnOnce(&mut Feed<'_>) -> T + Send,
{
    let (tx, rx) = sync_channel::<Vec<Piece>>(BATCHES_IN_FLIGHT);
    let (back_tx, back) = sync_channel::<Vec<Piece>>(BATCHES_IN_FLIGHT + 1);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop = &stop;
        let worker = scope.spawn(move || {
            let mut feed = Feed {
                tx: Some(tx),
                batcher: Batcher::new(back),
                stop,
            };
            let t = work(&mut feed);
            feed.send();
            t
        });
        for batch in rx {
            for piece in &batch {
                piece.feed(sink);
            }
            if failed(sink) {
                stop.store(true, Ordering::Relaxed);
            }
            let _ = back_tx.try_send(batch);
        }
        match worker.join() {
            Ok(t) => t,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The analysis side of [`analyze_beside`]: an [`EventSink`] that batches.
pub struct Feed<'s> {
    tx: Option<SyncSender<Vec<Piece>>>,
    batcher: Batcher,
    stop: &'s AtomicBool,
}

impl Feed<'_> {
    /// The sink stopped writing (a closed pipe): the analysis may stop.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn send(&mut self) {
        let Some(batch) = self.batcher.take() else {
            return;
        };
        if let Some(tx) = &self.tx
            && tx.send(batch).is_err()
        {
            self.tx = None;
        }
    }
}

impl EventSink for Feed<'_> {
    fn event(&mut self, ev: Event) {
        if self.batcher.push(ev) {
            self.send();
        }
    }

    fn lend(&mut self, loan: &Arc<Loan>, range: Range<usize>) {
        if self.batcher.lend(loan, range) {
            self.send();
        }
    }

    /// Events cross whole or lent, never copied.
    fn reads_only(&self) -> bool {
        true
    }
}

fn payload_len(ev: &Event) -> usize {
    match ev {
        Event::Frame(f) => f.payload.len(),
        Event::Message(m) => m.data.len(),
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{DiagnosticEvent, Timestamp};

    fn diag(n: u64) -> Event {
        Event::Diagnostic(DiagnosticEvent {
            ts: Timestamp::new(0, 0),
            conn: None,
            dir: None,
            code: "test",
            detail: n.to_string(),
            packet: Some(n),
        })
    }

    #[test]
    fn every_event_arrives_in_order_and_the_sink_comes_back() {
        let mut off = Offload::spawn(Vec::<Event>::new, |_: &Vec<Event>| false, |v| v).unwrap();
        let sent: Vec<Event> = (0..5000).map(diag).collect();
        for e in sent.clone() {
            off.event(e);
        }
        assert!(!off.failed());
        assert_eq!(off.finish(), sent);
    }

    /// A sink that stops after `n` events, as a closed pipe does.
    struct Stops(usize);
    impl EventSink for Stops {
        fn event(&mut self, _: Event) {
            self.0 = self.0.saturating_sub(1);
        }
    }

    #[test]
    fn a_failed_sink_is_seen_by_the_sender() {
        let mut off = Offload::spawn(|| Stops(10), |s: &Stops| s.0 == 0, |_| ()).unwrap();
        let mut sent = 0;
        while !off.failed() && sent < 1_000_000 {
            off.event(diag(sent));
            sent += 1;
        }
        assert!(off.failed(), "still not failed after {sent} events");
        off.finish();
    }

    /// Records, per event, whether the origin it can see was set.
    struct Sees(Origin, Vec<bool>);
    impl EventSink for Sees {
        fn event(&mut self, _: Event) {
            self.1.push(self.0.get().is_some());
        }
    }

    #[test]
    fn the_writer_sees_the_origin_from_the_event_the_reader_did() {
        let reader = Origin::default();
        let writer = Origin::default();
        let w = writer.clone();
        let mut off = Offload::spawn_following(
            move || Sees(w, Vec::new()),
            |_: &Sees| false,
            |s| s.1,
            Some((reader.clone(), writer.clone())),
        )
        .unwrap();
        for n in 0..3000 {
            if n == 1500 {
                reader.set(Timestamp::new(7, 0)).unwrap();
            }
            off.event(diag(n));
        }
        let seen = off.finish();
        assert_eq!(seen.len(), 3000);
        assert!(seen[..1500].iter().all(|s| !s) && seen[1500..].iter().all(|s| *s));
        assert_eq!(writer.get(), Some(&Timestamp::new(7, 0)));
    }

    #[test]
    fn beside_the_caller_every_event_arrives_in_order_and_a_stop_is_seen() {
        let mut got: Vec<Event> = Vec::new();
        let sent: Vec<Event> = (0..5000).map(diag).collect();
        let copy = sent.clone();
        let n = analyze_beside(
            &mut got,
            |_: &Vec<Event>| false,
            move |feed| {
                for e in copy {
                    feed.event(e);
                }
                5000
            },
        );
        assert_eq!((n, got), (5000, sent));
        // A sink that stops: the analysis learns it and can give up.
        let mut stops = Stops(10);
        let sent = analyze_beside(
            &mut stops,
            |s: &Stops| s.0 == 0,
            |feed| {
                let mut n = 0;
                while !feed.stopped() && n < 1_000_000 {
                    feed.event(diag(n));
                    n += 1;
                }
                n
            },
        );
        assert!(sent < 1_000_000, "never told to stop");
    }
}
