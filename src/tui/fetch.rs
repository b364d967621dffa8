//! Fetching payloads the index does not hold, off the UI thread.
//!
//! The panes ask for a row's payload while drawing; a payload the store
//! holds whole is there at once. Any other is requested here: a worker
//! thread replays its connection ([`super::replay::run`]) and sends back the
//! payload with its neighbours, which go into a cache bounded in bytes
//! (the newest request is served first: the row under the cursor, not the
//! hundred the cursor ran past). The run loop calls [`Fetcher::poll`] and
//! redraws when something came. Exports, which must have the bytes, call
//! [`Fetcher::fetch_now`].

use super::replay::{Found, PayloadKey, SharedIndex, Target, run};
use crate::analyzer::AnalyzerConfig;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

/// Bytes of neighbours a replay brings back besides the payload asked for.
const WINDOW: usize = 4 << 20;

/// Payloads fetched, oldest dropped first past `cap` bytes.
#[derive(Debug, Default)]
struct Cache {
    map: HashMap<PayloadKey, Arc<[u8]>>,
    order: VecDeque<PayloadKey>,
    bytes: usize,
    cap: usize,
}

impl Cache {
    fn insert(&mut self, key: PayloadKey, bytes: Arc<[u8]>) {
        if self.map.contains_key(&key) {
            return;
        }
        self.bytes += bytes.len();
        self.map.insert(key, bytes);
        self.order.push_back(key);
        // The newest stays even if alone over the cap (a 1 GiB message shown once).
        while self.bytes > self.cap && self.order.len() > 1 {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(b) = self.map.remove(&old) {
                self.bytes -= b.len();
            }
        }
    }
}

type Reply = (PayloadKey, Result<Found, String>);

/// The fetch worker's handle and the cache (interior mutability: panes
/// request while the app is borrowed for drawing).
pub struct Fetcher {
    index: SharedIndex,
    cfg: AnalyzerConfig,
    requests: Sender<Target>,
    replies: Receiver<Reply>,
    cache: RefCell<Cache>,
    pending: RefCell<HashSet<PayloadKey>>,
    failed: RefCell<HashMap<PayloadKey, String>>,
    /// Keys a replay did not meet: while the capture is still being read,
    /// the row may have come before its last packet was indexed (a batch
    /// sent in the middle of a packet), so they are asked again later.
    missed: RefCell<HashSet<PayloadKey>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("cached", &self.cache.borrow().bytes)
            .field("pending", &self.pending.borrow().len())
            .finish()
    }
}

impl Fetcher {
    /// Starts the worker. `cap`: bytes the cache may hold.
    pub fn spawn(index: SharedIndex, cfg: AnalyzerConfig, cap: usize) -> Fetcher {
        let (requests, rx) = channel::<Target>();
        let (tx, replies) = channel::<Reply>();
        let (wi, wc) = (index.clone(), cfg.clone());
        let spawned = std::thread::Builder::new()
            .name("wsscope-fetch".into())
            .spawn(move || worker(&wi, &wc, &rx, &tx));
        let fetcher = Fetcher {
            index,
            cfg,
            requests,
            replies,
            cache: RefCell::new(Cache {
                cap,
                ..Cache::default()
            }),
            pending: RefCell::default(),
            failed: RefCell::default(),
            missed: RefCell::default(),
        };
        // Without a worker (it could not start) its receiver is gone: every
        // request then fails at once, saying so.
        drop(spawned);
        fetcher
    }

    /// Where the packets are (for a background search of the same input).
    pub fn index(&self) -> &SharedIndex {
        &self.index
    }

    /// The analysis configuration payloads are fetched with.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.cfg
    }

    /// The payload, if fetched.
    pub fn get(&self, key: &PayloadKey) -> Option<Arc<[u8]>> {
        self.cache.borrow().map.get(key).cloned()
    }

    /// Why it cannot be fetched, if it could not.
    pub fn failure(&self, key: &PayloadKey) -> Option<String> {
        self.failed.borrow().get(key).cloned()
    }

    /// Forgets the misses (see `missed`): the index has grown since, so
    /// they are asked again when shown. Real failures stay.
    pub fn retry_misses(&self) {
        let mut failed = self.failed.borrow_mut();
        for k in self.missed.borrow_mut().drain() {
            failed.remove(&k);
        }
    }

    /// Asks for `key` (once: a pending or failed key is not asked again).
    pub fn request(&self, key: PayloadKey) {
        if self.failed.borrow().contains_key(&key) || !self.pending.borrow_mut().insert(key) {
            return;
        }
        let target = Target {
            key,
            window_bytes: WINDOW,
        };
        if self.requests.send(target).is_err() {
            self.pending.borrow_mut().remove(&key);
            self.failed
                .borrow_mut()
                .insert(key, "the fetch thread is gone".into());
        }
    }

    /// Takes what the worker sent; whether anything came.
    pub fn poll(&self) -> bool {
        let mut any = false;
        loop {
            match self.replies.try_recv() {
                Ok((key, result)) => {
                    any = true;
                    self.pending.borrow_mut().remove(&key);
                    self.take(key, result);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return any,
            }
        }
    }

    /// Bytes of payloads cached.
    pub fn cached_bytes(&self) -> usize {
        self.cache.borrow().bytes
    }

    /// Requests in flight.
    pub fn pending(&self) -> usize {
        self.pending.borrow().len()
    }

    fn take(&self, key: PayloadKey, result: Result<Found, String>) {
        match result {
            Ok(found) => {
                let mut cache = self.cache.borrow_mut();
                let mut pending = self.pending.borrow_mut();
                for (k, b) in found.near {
                    // Requests the worker dropped because this answers them.
                    pending.remove(&k);
                    cache.insert(k, b);
                }
                if found.target.is_none() {
                    self.missed.borrow_mut().insert(key);
                    self.failed.borrow_mut().insert(
                        key,
                        format!(
                            "not found when connection {} was read again ({} packets): the capture file changed?",
                            key.conn, found.packets
                        ),
                    );
                }
            }
            Err(why) => {
                self.failed.borrow_mut().insert(key, why);
            }
        }
    }

    /// The payload now, replaying on this thread if need be (exports).
    pub fn fetch_now(&self, key: PayloadKey) -> Result<Arc<[u8]>, String> {
        if let Some(b) = self.get(&key) {
            return Ok(b);
        }
        let found = run(
            &self.index,
            &self.cfg,
            Target {
                key,
                window_bytes: WINDOW,
            },
        )?;
        let bytes = found
            .target
            .ok_or_else(|| format!("not found when connection {} was read again", key.conn))?;
        // The neighbours too: an export of many rows reads each stretch once.
        let mut cache = self.cache.borrow_mut();
        for (k, b) in found.near {
            cache.insert(k, b);
        }
        cache.insert(key, bytes.clone());
        Ok(bytes)
    }
}

/// Serves the newest request first; requests a replay answered on the way
/// (its neighbours) are dropped.
fn worker(index: &SharedIndex, cfg: &AnalyzerConfig, rx: &Receiver<Target>, tx: &Sender<Reply>) {
    let mut queue: Vec<Target> = Vec::new();
    loop {
        if queue.is_empty() {
            match rx.recv() {
                Ok(t) => queue.push(t),
                Err(_) => return,
            }
        }
        while let Ok(t) = rx.try_recv() {
            queue.push(t);
        }
        let Some(t) = queue.pop() else { continue };
        let result = run(index, cfg, t);
        if let Ok(found) = &result {
            let answered: HashSet<PayloadKey> = found.near.iter().map(|(k, _)| *k).collect();
            queue.retain(|q| !answered.contains(&q.key));
        }
        if tx.send((t.key, result)).is_err() {
            return;
        }
    }
}
