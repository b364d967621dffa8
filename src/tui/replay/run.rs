//! One replay: a connection's packets, from its first, through a fresh
//! analyzer, until the asked-for payload (and a window around it) came out.

use super::{ReplayIndex, SharedIndex};
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::event::{ConnId, Dir, Event, EventSink};
use crate::pipeline::{self, Control};
use crate::source::file::FileSource;
use crate::source::{PacketSource, SourceEnd, SourceItem};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Frame payload (as captured, unmasked, not inflated) or message data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WantKind {
    Frame,
    Message,
}

/// Which payload: a connection's frame or message in one direction, by the
/// stream offset of its frame — for a message, of the last data frame
/// before it (as the timeline links a message to its last frame: the
/// message event follows it; a message none of whose frames was seen has
/// no key and cannot be fetched).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PayloadKey {
    pub conn: ConnId,
    pub dir: Dir,
    pub kind: WantKind,
    /// Frame: its header's offset; message: its last frame's.
    pub offset: u64,
}

/// What to fetch, and how much around it to bring back.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub key: PayloadKey,
    /// Payload bytes to bring back besides the target's (the ones just
    /// before it and just after it), for scrolling nearby.
    pub window_bytes: usize,
}

/// What a replay brought back.
#[derive(Debug, Default)]
pub struct Found {
    /// The target's payload, if the replay met it.
    pub target: Option<Arc<[u8]>>,
    /// Payloads met around it (the target's included).
    pub near: Vec<(PayloadKey, Arc<[u8]>)>,
    /// Packets of the connection read.
    pub packets: u64,
}

/// Payloads kept around the target at most, each side.
const WINDOW_ROWS: usize = 256;

/// Replays `target.key.conn` from its first packet until its payload came
/// out. Errors say why nothing could be read (no file, cannot open it).
pub fn run(index: &SharedIndex, cfg: &AnalyzerConfig, target: Target) -> Result<Found, String> {
    let plan = Plan::new(&index.lock(), target.key.conn)?;
    let headers = plan.header_bytes()?;
    let source = FileSource::resume(&plan.path, headers, plan.start_at, plan.start_packet - 1)
        .map_err(|e| format!("{e:#}"))?;
    let mut only = ConnOnly {
        inner: source,
        conn: plan.conn,
        first: plan.start_packet,
        conn_of: plan.conn_of,
        last: plan.last,
        fed: 0,
    };
    let stop = AtomicBool::new(false);
    let mut sink = Collector {
        target,
        before: VecDeque::new(),
        before_bytes: 0,
        found: None,
        after: Vec::new(),
        after_bytes: 0,
        last_frame: [None; 2],
        stop: &stop,
    };
    let mut analyzer = Analyzer::new(cfg.clone());
    let ctl = Control {
        limit: None,
        stop: Some(&stop),
    };
    pipeline::run(&mut only, &mut analyzer, &mut sink, ctl, |_, _| {
        ControlFlow::Continue(())
    })
    .map_err(|e| format!("{e:#}"))?;
    let mut near: Vec<(PayloadKey, Arc<[u8]>)> = sink.before.into_iter().collect();
    if let Some(t) = &sink.found {
        near.push((target.key, t.clone()));
    }
    near.extend(sink.after);
    Ok(Found {
        target: sink.found,
        near,
        packets: only.fed,
    })
}

/// Where and what to read, copied out of the index (so the lock is not held).
struct Plan {
    path: PathBuf,
    conn: u32,
    /// The checkpoint the reading starts at.
    start_packet: u64,
    start_at: u64,
    headers: Vec<(u64, u32)>,
    /// The connection of each packet from `start_packet` to `last`.
    conn_of: Vec<u32>,
    last: u64,
}

impl Plan {
    fn new(index: &ReplayIndex, conn: ConnId) -> Result<Plan, String> {
        let path = index
            .path
            .clone()
            .ok_or("this input cannot be read again (no file or spool)")?;
        let (first, last) = index
            .conn_span(conn)
            .ok_or_else(|| format!("connection {conn}: no packet of it indexed"))?;
        let (start_packet, start_at) = index
            .checkpoint_before(first)
            .ok_or_else(|| format!("connection {conn}: no checkpoint before packet {first}"))?;
        let lo = usize::try_from(start_packet - 1).map_err(|e| e.to_string())?;
        let hi = usize::try_from(last).map_err(|e| e.to_string())?;
        let conn_of = index.conn_of.get(lo..hi).unwrap_or(&[]).to_vec();
        Ok(Plan {
            path,
            conn: u32::try_from(conn).map_err(|e| e.to_string())?,
            start_packet,
            start_at,
            headers: index.headers_before(start_at),
            conn_of,
            last,
        })
    }

    /// The header blocks' bytes, read from the file.
    fn header_bytes(&self) -> Result<Vec<u8>, String> {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(&self.path)
            .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        let mut out = Vec::new();
        for &(at, len) in &self.headers {
            let start = out.len();
            out.resize(start + len as usize, 0);
            let buf = out.get_mut(start..).unwrap_or_default();
            f.read_exact_at(buf, at)
                .map_err(|e| format!("cannot read {} at {at}: {e}", self.path.display()))?;
        }
        Ok(out)
    }
}

/// The file from the checkpoint, with only the connection's packets.
struct ConnOnly {
    inner: FileSource,
    conn: u32,
    first: u64,
    conn_of: Vec<u32>,
    last: u64,
    fed: u64,
}

impl PacketSource for ConnOnly {
    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd> {
        let (conn, first, last) = (self.conn, self.first, self.last);
        let conn_of = &self.conn_of;
        let fed = &mut self.fed;
        self.inner.run(&mut |item| match item {
            SourceItem::Packet(p) => {
                if p.index > last {
                    return ControlFlow::Break(());
                }
                let mine = p
                    .index
                    .checked_sub(first)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| conn_of.get(i))
                    == Some(&conn);
                if mine {
                    *fed += 1;
                    f(item)
                } else {
                    ControlFlow::Continue(())
                }
            }
            // The file's own findings were said on the first reading.
            SourceItem::Diagnostic { .. } => ControlFlow::Continue(()),
            SourceItem::Secrets { .. } | SourceItem::Header { .. } => f(item),
        })
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// An event's payload and its key (`conn` given: the replay's own
/// numbering is not the capture's). `last_frame` carries the last data
/// frame per direction from a frame event to the message event after it.
pub fn keyed(last_frame: &mut [Option<u64>; 2], conn: ConnId, ev: Event) -> Option<(PayloadKey, Vec<u8>)> {
    match ev {
        Event::Frame(f) => {
            if f.opcode < 8 {
                if let Some(slot) = last_frame.get_mut(f.dir.index()) {
                    *slot = Some(f.offset);
                }
            }
            let key = PayloadKey {
                conn,
                dir: f.dir,
                kind: WantKind::Frame,
                offset: f.offset,
            };
            Some((key, f.payload))
        }
        Event::Message(m) => {
            let offset = last_frame.get_mut(m.dir.index())?.take()?;
            let key = PayloadKey {
                conn,
                dir: m.dir,
                kind: WantKind::Message,
                offset,
            };
            Some((key, m.data))
        }
        _ => None,
    }
}

/// Takes the target's payload and those around it; stops the replay once
/// the window after it is full.
struct Collector<'a> {
    target: Target,
    before: VecDeque<(PayloadKey, Arc<[u8]>)>,
    before_bytes: usize,
    found: Option<Arc<[u8]>>,
    after: Vec<(PayloadKey, Arc<[u8]>)>,
    after_bytes: usize,
    /// Per direction: the last data frame's offset, until a message takes it.
    last_frame: [Option<u64>; 2],
    stop: &'a AtomicBool,
}

impl EventSink for Collector<'_> {
    fn event(&mut self, ev: Event) {
        let want = self.target.key;
        let Some((key, bytes)) = keyed(&mut self.last_frame, want.conn, ev) else {
            return;
        };
        let window = self.target.window_bytes;
        if self.found.is_some() {
            if self.after.len() < WINDOW_ROWS && self.after_bytes + bytes.len() <= window {
                self.after_bytes += bytes.len();
                self.after.push((key, bytes.into()));
            } else {
                self.stop.store(true, Ordering::Relaxed);
            }
            return;
        }
        if key == want {
            self.found = Some(bytes.into());
            if window == 0 {
                self.stop.store(true, Ordering::Relaxed);
            }
            return;
        }
        if bytes.len() > window {
            return;
        }
        self.before_bytes += bytes.len();
        self.before.push_back((key, bytes.into()));
        while self.before.len() > WINDOW_ROWS || self.before_bytes > window {
            match self.before.pop_front() {
                Some((_, b)) => self.before_bytes -= b.len(),
                None => break,
            }
        }
    }
}
