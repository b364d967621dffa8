//! Glues the layers: packet → decode → TCP reassembly → per-connection
//! protocol state → [`Event`]s, in capture order.
//!
//! Sans-IO: [`Analyzer::feed`] takes one packet and pushes events into a
//! sink; packet timestamps are the only clock. Files, live capture and the
//! terminal are the caller's business.

use crate::budget::{self, Budget};
use crate::conn::stack::LayerHook;
use crate::conn::{ConnStack, PayloadClassifier, ProbeHints};
use crate::decode::{Decoded, Decoder, DefragConfig};
use crate::diag;
use crate::event::{
    ConnId, ConnectionEndEvent, DiagnosticEvent, Dir, Event, EventSink, GapEvent, Protocol, RoleBasis,
    Timestamp,
};
use crate::keys::KeyStore;
use crate::model::{SessionId, Stamp};
use crate::source::{Packet, SecretsKind, SourceEnd};
use crate::stream::{DIAGNOSTICS_PER_CODE, DiagnosticLimiter, GapLen, LayerCx, MemLedger, StreamInput};
use crate::tcp::{FlowTable, RoleClassifier, StreamConsumer, StreamEvent, TcpConfig, TcpSummary};
use crate::ws::{SessionConfig, SessionSummary};
use rustc_hash::{FxHashMap, FxHashSet};

mod shard;

/// Everything that tunes an analysis.
#[derive(Clone, Debug, Default)]
pub struct AnalyzerConfig {
    pub tcp: TcpConfig,
    pub defrag: DefragConfig,
    /// Ports whose connections are WebSocket even without a handshake (decode-as).
    pub ws_ports: Vec<u16>,
    /// WebSocket decoding limits.
    pub session: SessionConfig,
    /// TLS secrets from key log files (`--keylog`, `$SSLKEYLOGFILE`).
    pub keylog: Option<std::sync::Arc<crate::keys::keylog::KeyLog>>,
    /// Those files and how many bytes of each were read: the drive loop
    /// follows them as they grow (live capture: a browser writes each
    /// connection's line just after its handshake).
    pub keylog_files: Vec<(std::path::PathBuf, u64)>,
    /// The run's memory budget (`--max-memory`); the analysis keeps to its
    /// share, evicting the least recently active connections.
    pub budget: Budget,
    /// `--decode`: application protocols inside WebSocket messages.
    pub decode: crate::app::DecodeArgs,
    /// Worker threads for the connections' stacks (see [`shard`]); 0
    /// analyses on the calling thread alone. Ignored (no workers) with TLS
    /// secrets given up front or an analysis share under 256 MiB.
    pub shards: usize,
}

impl AnalyzerConfig {
    /// The caps as the budget allows them: no connection's out-of-order
    /// buffer, frame or message kept may take more than its share of the
    /// per-connection budget, nor all connections' out-of-order bytes more
    /// than half the analysis' share.
    fn within_budget(mut self) -> Self {
        let b = self.budget;
        self.tcp.max_conn_buffer = self.tcp.max_conn_buffer.min(b.per_conn / 2).max(1);
        self.tcp.max_total_buffer = self.tcp.max_total_buffer.min(b.analysis() / 2).max(1);
        self.session.max_frame_bytes = self.session.max_frame_bytes.min(b.per_conn / 4).max(1);
        self.session.max_message_bytes = self.session.max_message_bytes.min(b.per_conn / 4).max(1);
        self
    }
}

/// Counters over the whole input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_segments: u64,
    pub not_tcp: u64,
    pub malformed: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

/// The analysis pipeline.
pub struct Analyzer {
    cfg: AnalyzerConfig,
    decoder: Decoder,
    flows: FlowTable,
    /// One protocol stack per live TCP connection (on this thread; while
    /// sharded, the workers hold them).
    stacks: FxHashMap<ConnId, ConnStack>,
    /// The connections that have a stack, wherever it is: the table the
    /// budget counts (the same inserts and removals as `stacks` on one
    /// thread, so the same capacity whatever the threads).
    live: FxHashSet<ConnId>,
    /// The workers, while the stacks are on them.
    shards: Option<shard::Shards>,
    totals: Totals,
    diags: DiagnosticLimiter,
    mem: MemLedger,
    hook: Option<Box<LayerHook>>,
    /// Decryption secrets that came with the capture.
    keys: KeyStore,
    /// Connections evicted to keep within the budget, so far.
    evicted: u64,
    /// What `keys` held when last counted (counting walks the TLS session
    /// cache under its lock: done every [`KEYS_RECOUNT`] packets, not each).
    keys_held: usize,
    /// The most [`Analyzer::held`] was after a packet.
    peak: usize,
}

/// TCP segments between two looks at the memory budget.
const BUDGET_CHECK_EVERY: u64 = 8;

/// Packets between two counts of the secrets' memory.
const KEYS_RECOUNT: u64 = 4096;

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        let cfg = cfg.within_budget();
        let classifier: Box<dyn RoleClassifier + Send> = Box::new(PayloadClassifier);
        let mut keys = KeyStore::default();
        keys.set_keylog(cfg.keylog.clone());
        let shards = (cfg.shards >= 1 && cfg.keylog.is_none() && cfg.budget.analysis() >= shard::MIN_SHARE)
            .then(|| shard::Shards::spawn(cfg.shards, &cfg).ok())
            .flatten();
        Analyzer {
            decoder: Decoder::new(cfg.defrag),
            flows: FlowTable::new(cfg.tcp, classifier),
            cfg,
            stacks: FxHashMap::default(),
            live: FxHashSet::default(),
            shards,
            totals: Totals::default(),
            diags: DiagnosticLimiter::default(),
            mem: MemLedger::default(),
            hook: None,
            keys,
            evicted: 0,
            keys_held: 0,
            peak: 0,
        }
    }

    /// Heap bytes the analysis holds now: the connection table and its
    /// buffers, the stacks and every layer in them, the secrets.
    pub fn held(&self) -> usize {
        let stacks = (self.live.capacity().saturating_mul(8) / 7)
            .saturating_mul(std::mem::size_of::<(ConnId, ConnStack)>() + 1);
        let layers = match &self.shards {
            Some(s) => s.held(),
            None => self.mem.held(),
        };
        self.flows
            .heap_bytes()
            .saturating_add(stacks)
            .saturating_add(layers)
            .saturating_add(self.keys_held)
    }

    /// The most the analysis held after any packet.
    pub fn peak_held(&self) -> usize {
        self.peak
    }

    /// Connections summarised early to keep within the memory budget.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Wraps (or replaces) the first layer of every connection's stack: how
    /// tests insert a layer between TCP and HTTP/1, or split a connection.
    pub fn with_layer_hook(mut self, hook: Box<LayerHook>) -> Self {
        // A hook sees every connection's stack built: on this thread.
        self.shards = None;
        self.hook = Some(hook);
        self
    }

    /// Heap bytes the connections' layers hold (and the peak so far).
    pub fn memory(&self) -> MemLedger {
        self.mem
    }

    /// Key log lines appended to a followed key log file; returns the bytes
    /// consumed (complete lines). Events still owed go to `out` first.
    pub fn add_keylog_lines(&mut self, text: &[u8], out: &mut dyn EventSink) -> usize {
        self.unshard(out);
        self.keys.add_keylog_lines(text)
    }

    /// Decryption secrets from the capture (a pcapng Decryption Secrets
    /// Block). Events still owed go to `out` first.
    pub fn add_secrets(&mut self, kind: SecretsKind, data: &[u8], out: &mut dyn EventSink) {
        self.unshard(out);
        self.keys.add(kind, data);
    }

    /// Whether the connections' stacks are on worker threads now.
    pub fn sharded(&self) -> bool {
        self.shards.is_some()
    }

    /// Brings the stacks back from the workers, merging every event they
    /// owe into `out`: from here the analysis runs on this thread (see
    /// [`shard`] for when and why).
    fn unshard(&mut self, out: &mut dyn EventSink) {
        if let Some(s) = self.shards.take() {
            let (stacks, mem) = s.recall(&mut self.diags, out);
            self.stacks = stacks;
            self.mem.absorb(&mem);
        }
    }

    /// The secrets received so far.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// A diagnostic from outside the layers (the capture file's reader),
    /// through the same rate limiter as every other.
    pub fn report(&mut self, d: DiagnosticEvent, out: &mut dyn EventSink) {
        report(&mut self.shards, &mut self.diags, d, out);
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// TCP connections currently held in memory (bounded by `tcp.max_conns`).
    pub fn live_connections(&self) -> usize {
        self.flows.live_connections()
    }

    pub fn config(&self) -> &AnalyzerConfig {
        &self.cfg
    }

    /// Analyses one packet; returns the TCP connection it belongs to, if any
    /// (export uses it to copy whole connections into a pcap).
    pub fn feed(&mut self, pkt: &Packet<'_>, out: &mut dyn EventSink) -> Option<ConnId> {
        if self.totals.packets % KEYS_RECOUNT == 0 {
            self.keys_held = self.keys.heap_bytes();
        }
        let t = &mut self.totals;
        t.packets = t.packets.saturating_add(1);
        t.bytes = t.bytes.saturating_add(u64::from(pkt.orig_len));
        t.first_ts.get_or_insert(pkt.ts);
        t.last_ts = Some(t.last_ts.map_or(pkt.ts, |l| l.max(pkt.ts)));
        let conn = match self.decoder.decode(pkt) {
            Decoded::Tcp(seg) => {
                self.totals.tcp_segments = self.totals.tcp_segments.saturating_add(1);
                if let Some(w) = seg.warning {
                    // A header that lied about a length: the segment is used
                    // as captured, and the user is told.
                    report(
                        &mut self.shards,
                        &mut self.diags,
                        DiagnosticEvent {
                            ts: pkt.ts,
                            conn: None,
                            dir: None,
                            code: w.code(),
                            detail: w.to_string(),
                            packet: Some(pkt.index),
                        },
                        out,
                    );
                }
                let conn = match &mut self.shards {
                    Some(s) => {
                        let mut d = s.dispatch(&mut self.live);
                        self.flows.segment(&seg, pkt.ts, pkt.orig_len, pkt.index, &mut d)
                    }
                    None => {
                        let mut router = Router {
                            cfg: &self.cfg,
                            stacks: &mut self.stacks,
                            live: Some(&mut self.live),
                            diags: &mut self.diags,
                            mem: &mut self.mem,
                            hook: self.hook.as_deref(),
                            keys: &self.keys,
                            out: &mut *out,
                        };
                        self.flows
                            .segment(&seg, pkt.ts, pkt.orig_len, pkt.index, &mut router)
                    }
                };
                // Sharded, the stacks' holdings are seen late (as of each
                // worker's last batch): at a quarter of the share, long
                // before one thread would watch closely, they come back.
                if self.shards.is_some() && self.held() > self.cfg.budget.analysis() / 4 {
                    self.unshard(out);
                }
                // Every few packets: summing the holdings costs more than a
                // small packet's own work, and a few packets' growth is
                // what the reserve is for.
                // Past half the share every segment is looked at, and every
                // layer reports after every input: connections growing in
                // lockstep (their buffers doubling one after another) must
                // not overshoot between two looks.
                if self.mem.careful() || self.totals.tcp_segments % BUDGET_CHECK_EVERY == 0 {
                    let held = self.held();
                    self.peak = self.peak.max(held);
                    let share = self.cfg.budget.analysis();
                    if held > share && self.shards.is_none() {
                        self.shed(pkt.ts, pkt.index, conn, out);
                    }
                    self.mem.set_careful(self.held() > share / 2);
                }
                conn
            }
            Decoded::NotTcp | Decoded::FragmentHeld => {
                self.totals.not_tcp = self.totals.not_tcp.saturating_add(1);
                None
            }
            Decoded::Malformed(e) => {
                self.totals.malformed = self.totals.malformed.saturating_add(1);
                self.report(
                    DiagnosticEvent {
                        ts: pkt.ts,
                        conn: None,
                        dir: None,
                        code: e.code(),
                        detail: format!("packet {}: {e}", pkt.index),
                        packet: Some(pkt.index),
                    },
                    out,
                );
                None
            }
        };
        if let Some(s) = &mut self.shards {
            s.pump(&mut self.diags, out);
        }
        conn
    }

    /// Over budget: summarises connections early, those that never carried
    /// payload first and then the least recently active, until the
    /// analysis is back under [`budget::LOW_WATER`] eighths of its share.
    /// The connection of the packet at hand is spared: it is the most
    /// recently active of all, even if it has not carried data yet.
    fn shed(&mut self, ts: Timestamp, packet: u64, current: Option<ConnId>, out: &mut dyn EventSink) {
        let share = self.cfg.budget.analysis();
        let target = share / 8 * budget::LOW_WATER;
        let before = self.held();
        let mut n = 0u64;
        for (slot, id) in self.flows.eviction_order() {
            if self.held() <= target {
                break;
            }
            if Some(id) == current {
                continue;
            }
            let mut router = Router {
                cfg: &self.cfg,
                stacks: &mut self.stacks,
                live: Some(&mut self.live),
                diags: &mut self.diags,
                mem: &mut self.mem,
                hook: self.hook.as_deref(),
                keys: &self.keys,
                out: &mut *out,
            };
            if self.flows.evict_one(slot, id, ts, &mut router) {
                n += 1;
            }
        }
        self.stacks.shrink_to_fit();
        self.live.shrink_to_fit();
        self.evicted = self.evicted.saturating_add(n);
        let b = self.cfg.budget;
        self.diags.emit(
            DiagnosticEvent {
                ts,
                conn: None,
                dir: None,
                code: diag::MEMORY_BUDGET,
                detail: format!(
                    "the analysis held {} of its {} share of the memory budget (--max-memory {}); {n} connections were summarised early (end \"evicted\", {} in all so far), those that never carried data and then the least recently active, leaving {}; raise --max-memory to keep them",
                    budget::human(before),
                    budget::human(share),
                    budget::human(b.total),
                    self.evicted,
                    budget::human(self.held()),
                ),
                packet: Some(packet),
            },
            out,
        );
    }

    /// End of input: flushes every connection and reports how the input ended.
    pub fn finish(&mut self, end: &SourceEnd, out: &mut dyn EventSink) {
        let ts = self.totals.last_ts.unwrap_or_default();
        let truncated = end.truncated.as_ref().map(|why| {
            Event::Diagnostic(DiagnosticEvent {
                ts,
                conn: None,
                dir: None,
                code: diag::CAPTURE_TRUNCATED,
                detail: why.clone(),
                packet: None,
            })
        });
        match &mut self.shards {
            Some(s) => {
                if let Some(ev) = truncated {
                    s.event(ev);
                }
                self.flows.finish(&mut s.dispatch(&mut self.live));
                s.drain(&mut self.diags, out);
                // Ends the workers.
                self.shards = None;
            }
            None => {
                let mut router = Router {
                    cfg: &self.cfg,
                    stacks: &mut self.stacks,
                    live: Some(&mut self.live),
                    diags: &mut self.diags,
                    mem: &mut self.mem,
                    hook: self.hook.as_deref(),
                    keys: &self.keys,
                    out: &mut *out,
                };
                if let Some(ev) = truncated {
                    router.out.event(ev);
                }
                self.flows.finish(&mut router);
            }
        }
        let incomplete = self.decoder.defrag.incomplete();
        if incomplete > 0 {
            out.event(Event::Diagnostic(DiagnosticEvent {
                ts,
                conn: None,
                dir: None,
                code: diag::IP_FRAGMENTS_INCOMPLETE,
                detail: format!("{incomplete} fragmented IP datagrams never completed"),
                packet: None,
            }));
        }
        for (code, n) in self.diags.over_limit() {
            out.event(Event::Diagnostic(DiagnosticEvent {
                ts,
                conn: None,
                dir: None,
                code,
                detail: format!("{n} in total; only the first {DIAGNOSTICS_PER_CODE} were shown"),
                packet: None,
            }));
        }
    }
}

/// A diagnostic from the reading thread: through the limiter now, or in
/// its place in the merge log while sharded and events are owed before it.
/// (Now when none are: a file header's diagnostics, before the first
/// packet, reach the sink before the first packet is read, as on one
/// thread; `-t r`'s origin is not known to them.)
fn report(
    shards: &mut Option<shard::Shards>,
    diags: &mut DiagnosticLimiter,
    d: DiagnosticEvent,
    out: &mut dyn EventSink,
) {
    match shards {
        Some(s) if s.owing() => s.diagnostic(d),
        _ => diags.emit(d, out),
    }
}

/// Routes TCP's output for one `feed` call to the connections' stacks.
struct Router<'a> {
    cfg: &'a AnalyzerConfig,
    stacks: &'a mut FxHashMap<ConnId, ConnStack>,
    /// The budget's mirror of `stacks` (none on a worker: the reading
    /// thread keeps it).
    live: Option<&'a mut FxHashSet<ConnId>>,
    diags: &'a mut DiagnosticLimiter,
    mem: &'a mut MemLedger,
    hook: Option<&'a LayerHook>,
    keys: &'a KeyStore,
    out: &'a mut dyn EventSink,
}

impl Router<'_> {
    fn input(&mut self, conn: ConnId, item: StreamInput<'_>) {
        if let Some(stack) = self.stacks.get_mut(&conn) {
            let mut cx = LayerCx {
                id: SessionId::conn(conn),
                out: &mut *self.out,
                diags: &mut *self.diags,
                mem: &mut *self.mem,
                keys: self.keys,
            };
            stack.input(item, self.hook, &mut cx);
        }
    }
}

impl StreamConsumer for Router<'_> {
    fn stream_event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open(c) => {
                let hints = ProbeHints {
                    force_ws: self
                        .cfg
                        .ws_ports
                        .iter()
                        .any(|p| *p == c.server.port() || *p == c.client.port()),
                    // Both streams' starts are known when the SYN or SYN+ACK was seen.
                    stream_start_seen: matches!(c.role_basis, RoleBasis::Syn | RoleBasis::SynAck),
                };
                if let Some(l) = self.live.as_deref_mut() {
                    l.insert(c.conn);
                }
                let mut session = self.cfg.session;
                session.decode = self.cfg.decode.for_conn(c.server.port(), c.client.port());
                self.stacks.insert(
                    c.conn,
                    ConnStack::new(
                        SessionId::conn(c.conn),
                        crate::model::Endpoints {
                            client: c.client,
                            server: c.server,
                        },
                        hints,
                        session,
                    ),
                );
                self.out.event(Event::Connection(c));
            }
            StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
                packets,
                at,
                starts_write,
            } => self.input(
                conn,
                StreamInput::Data {
                    dir,
                    offset,
                    bytes,
                    packets,
                    at,
                    starts_write,
                },
            ),
            StreamEvent::Gap {
                conn,
                dir,
                at,
                offset,
                len,
                reason,
            } => {
                let frame_offset = self.stacks.get(&conn).and_then(|s| s.frame_in_progress(dir));
                self.out.event(Event::Gap(GapEvent {
                    conn,
                    ts: at.ts,
                    dir,
                    offset,
                    bytes: len,
                    reason,
                    packet: at.packet,
                    frame_offset,
                }));
                self.input(
                    conn,
                    StreamInput::Gap {
                        dir,
                        offset,
                        len: GapLen::Exact(len),
                        reason,
                        at,
                    },
                );
            }
            StreamEvent::Fin { conn, dir, at } => self.input(conn, StreamInput::End { dir, rst: false, at }),
            StreamEvent::Rst { conn, dir, at } => self.input(conn, StreamInput::End { dir, rst: true, at }),
            StreamEvent::Diagnostic(d) => self.diags.emit(d, self.out),
            StreamEvent::Closed(s) => {
                if let Some(l) = self.live.as_deref_mut() {
                    l.remove(&s.conn);
                }
                let summary = self.stacks.remove(&s.conn).map(|mut stack| {
                    let mut cx = LayerCx {
                        id: SessionId::conn(s.conn),
                        out: &mut *self.out,
                        diags: &mut *self.diags,
                        mem: &mut *self.mem,
                        keys: self.keys,
                    };
                    stack.finish(Stamp::new(s.ts, 0), &mut cx)
                });
                self.out.event(Event::Close(Box::new(close_record(&s, summary))));
            }
        }
    }
}

/// The `close` record: TCP's facts plus what the stack found on top.
///
/// Its `ts` is the connection's own end, its last packet (`last_ts`), not
/// when TCP gave it up (`s.ts`: the end of the capture, the packet after
/// its linger time, an eviction): a connection that lasted one second of a
/// minute-long capture says so, and `ts` agrees with `duration`.
fn close_record(s: &TcpSummary, summary: Option<SessionSummary>) -> ConnectionEndEvent {
    let mut end = ConnectionEndEvent {
        conn: s.conn,
        ts: s.last_ts,
        client: s.client,
        server: s.server,
        first_ts: s.first_ts,
        last_ts: s.last_ts,
        end: s.end,
        protocol: Protocol::Other,
        stats: s.stats.clone(),
        close_first: None,
        rtt: None,
        handshake_seen: false,
        violations: 0,
        tls: None,
        first_packet: s.first_packet,
        last_packet: s.last_packet,
        app: None,
        h2_ws_streams: 0,
        stream: None,
    };
    if let Some(sum) = summary {
        for (d, st) in Dir::BOTH.into_iter().zip(end.stats.iter_mut()) {
            st.frames = sum.frames[d];
            st.messages = sum.messages[d];
            st.close = sum.close[d].clone();
        }
        end.protocol = sum.protocol;
        end.close_first = sum.close_first;
        end.rtt = sum.rtt;
        end.handshake_seen = sum.handshake_seen;
        end.violations = sum.violations;
        end.tls = sum.tls;
        end.app = sum.app;
        end.h2_ws_streams = sum.h2_ws_streams;
    }
    end
}
