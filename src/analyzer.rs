//! Glues the layers: packet → decode → TCP reassembly → per-connection
//! protocol state → [`Event`]s, in capture order.
//!
//! Sans-IO: [`Analyzer::feed`] takes one packet and pushes events into a
//! sink; packet timestamps are the only clock. Files, live capture and the
//! terminal are the caller's business.

use crate::decode::{Decoded, Decoder, DefragConfig};
use crate::event::{
    ConnId, ConnectionEndEvent, DiagnosticEvent, Dir, Event, EventSink, GapEvent, Protocol, RoleBasis,
    Timestamp,
};
use crate::keys::KeyStore;
use crate::source::{Packet, SecretsKind, SourceEnd};
use crate::tcp::{FlowTable, RoleClassifier, StreamConsumer, StreamEvent, TcpConfig};
use crate::ws::{PayloadClassifier, Session, SessionConfig};
use rustc_hash::FxHashMap;

/// How many diagnostics of one kind are printed before they are only counted.
const DIAGNOSTICS_PER_CODE: u64 = 10;

/// Everything that tunes an analysis.
#[derive(Clone, Debug, Default)]
pub struct AnalyzerConfig {
    pub tcp: TcpConfig,
    pub defrag: DefragConfig,
    /// Ports whose connections are WebSocket even without a handshake (decode-as).
    pub ws_ports: Vec<u16>,
    /// WebSocket decoding limits.
    pub session: SessionConfig,
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

/// Per-connection state above TCP: the HTTP → WebSocket state machine.
struct Upper {
    session: Session,
}

/// The analysis pipeline.
pub struct Analyzer {
    cfg: AnalyzerConfig,
    decoder: Decoder,
    flows: FlowTable,
    uppers: FxHashMap<ConnId, Upper>,
    totals: Totals,
    diag_counts: FxHashMap<&'static str, u64>,
    /// Decryption secrets that came with the capture.
    keys: KeyStore,
}

impl Analyzer {
    pub fn new(cfg: AnalyzerConfig) -> Self {
        let classifier: Box<dyn RoleClassifier + Send> = Box::new(PayloadClassifier);
        Analyzer {
            decoder: Decoder::new(cfg.defrag),
            flows: FlowTable::new(cfg.tcp, classifier),
            cfg,
            uppers: FxHashMap::default(),
            totals: Totals::default(),
            diag_counts: FxHashMap::default(),
            keys: KeyStore::default(),
        }
    }

    /// Decryption secrets from the capture (a pcapng Decryption Secrets Block).
    pub fn add_secrets(&mut self, kind: SecretsKind, data: &[u8]) {
        self.keys.add(kind, data);
    }

    /// The secrets received so far.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
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
        let t = &mut self.totals;
        t.packets = t.packets.saturating_add(1);
        t.bytes = t.bytes.saturating_add(u64::from(pkt.orig_len));
        t.first_ts.get_or_insert(pkt.ts);
        t.last_ts = Some(t.last_ts.map_or(pkt.ts, |l| l.max(pkt.ts)));
        let mut ctx = Ctx {
            cfg: &self.cfg,
            uppers: &mut self.uppers,
            diag_counts: &mut self.diag_counts,
            out,
        };
        match self.decoder.decode(pkt) {
            Decoded::Tcp(seg) => {
                self.totals.tcp_segments = self.totals.tcp_segments.saturating_add(1);
                self.flows
                    .segment(&seg, pkt.ts, pkt.orig_len, pkt.index, &mut ctx)
            }
            Decoded::NotTcp | Decoded::FragmentHeld => {
                self.totals.not_tcp = self.totals.not_tcp.saturating_add(1);
                None
            }
            Decoded::Malformed(e) => {
                self.totals.malformed = self.totals.malformed.saturating_add(1);
                ctx.diagnostic(DiagnosticEvent {
                    ts: pkt.ts,
                    conn: None,
                    dir: None,
                    code: e.code(),
                    detail: format!("packet {}: {e}", pkt.index),
                    packet: Some(pkt.index),
                });
                None
            }
        }
    }

    /// End of input: flushes every connection and reports how the input ended.
    pub fn finish(&mut self, end: &SourceEnd, out: &mut dyn EventSink) {
        let ts = self.totals.last_ts.unwrap_or_default();
        let mut ctx = Ctx {
            cfg: &self.cfg,
            uppers: &mut self.uppers,
            diag_counts: &mut self.diag_counts,
            out,
        };
        if let Some(why) = &end.truncated {
            ctx.out.event(Event::Diagnostic(DiagnosticEvent {
                ts,
                conn: None,
                dir: None,
                code: "capture-truncated",
                detail: why.clone(),
                packet: None,
            }));
        }
        self.flows.finish(&mut ctx);
        let incomplete = self.decoder.defrag.incomplete();
        if incomplete > 0 {
            ctx.out.event(Event::Diagnostic(DiagnosticEvent {
                ts,
                conn: None,
                dir: None,
                code: "ip-fragments-incomplete",
                detail: format!("{incomplete} fragmented IP datagrams never completed"),
                packet: None,
            }));
        }
        let mut codes: Vec<(&'static str, u64)> = self
            .diag_counts
            .iter()
            .filter(|(_, n)| **n > DIAGNOSTICS_PER_CODE)
            .map(|(c, n)| (*c, *n))
            .collect();
        codes.sort_unstable();
        for (code, n) in codes {
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

/// The layer above TCP for one `feed` call.
struct Ctx<'a> {
    cfg: &'a AnalyzerConfig,
    uppers: &'a mut FxHashMap<ConnId, Upper>,
    diag_counts: &'a mut FxHashMap<&'static str, u64>,
    out: &'a mut dyn EventSink,
}

impl Ctx<'_> {
    /// Emits a diagnostic unless too many of its kind were shown already.
    fn diagnostic(&mut self, d: DiagnosticEvent) {
        let n = self.diag_counts.entry(d.code).or_insert(0);
        *n = n.saturating_add(1);
        if *n <= DIAGNOSTICS_PER_CODE {
            self.out.event(Event::Diagnostic(d));
        }
    }
}

impl StreamConsumer for Ctx<'_> {
    fn stream_event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open(c) => {
                let forced = self
                    .cfg
                    .ws_ports
                    .iter()
                    .any(|p| *p == c.server.port() || *p == c.client.port());
                // Both streams' starts are known when the SYN or SYN+ACK was seen.
                let start_seen = matches!(c.role_basis, RoleBasis::Syn | RoleBasis::SynAck);
                let session = Session::new(
                    c.conn,
                    SessionConfig {
                        force_ws: forced,
                        stream_start_seen: start_seen,
                        ..self.cfg.session
                    },
                );
                self.uppers.insert(c.conn, Upper { session });
                self.out.event(Event::Connection(c));
            }
            StreamEvent::Data {
                conn, dir, ts, bytes, ..
            } => {
                if let Some(u) = self.uppers.get_mut(&conn) {
                    u.session.on_data(dir, ts, bytes, self.out);
                }
            }
            StreamEvent::Gap {
                conn,
                dir,
                ts,
                offset,
                len,
                reason,
            } => {
                self.out.event(Event::Gap(GapEvent {
                    conn,
                    ts,
                    dir,
                    offset,
                    bytes: len,
                    reason,
                }));
                if let Some(u) = self.uppers.get_mut(&conn) {
                    u.session.on_gap(dir, ts, len, self.out);
                }
            }
            StreamEvent::Fin { conn, dir, ts } => {
                if let Some(u) = self.uppers.get_mut(&conn) {
                    u.session.on_fin(dir, ts, self.out);
                }
            }
            StreamEvent::Rst { conn, dir, ts } => {
                if let Some(u) = self.uppers.get_mut(&conn) {
                    u.session.on_rst(dir, ts, self.out);
                }
            }
            StreamEvent::Diagnostic(d) => self.diagnostic(d),
            StreamEvent::Closed(s) => {
                let summary = self
                    .uppers
                    .remove(&s.conn)
                    .map(|mut u| u.session.finish(s.ts, self.out));
                let mut stats = s.stats.clone();
                let mut end = ConnectionEndEvent {
                    conn: s.conn,
                    ts: s.ts,
                    client: s.client,
                    server: s.server,
                    first_ts: s.first_ts,
                    last_ts: s.last_ts,
                    end: s.end,
                    protocol: Protocol::Other,
                    stats: Default::default(),
                    close_first: None,
                    rtt: None,
                    handshake_seen: false,
                    violations: 0,
                };
                if let Some(sum) = summary {
                    for d in Dir::BOTH {
                        let i = d.index();
                        if let Some(st) = stats.get_mut(i) {
                            st.frames = sum.frames.get(i).copied().unwrap_or(0);
                            st.messages = sum.messages.get(i).copied().unwrap_or(0);
                            st.close = sum.close.get(i).cloned().flatten();
                        }
                    }
                    end.protocol = sum.protocol;
                    end.close_first = sum.close_first;
                    end.rtt = sum.rtt;
                    end.handshake_seen = sum.handshake_seen;
                    end.violations = sum.violations;
                }
                end.stats = stats;
                self.out.event(Event::Close(Box::new(end)));
            }
        }
    }
}
