//! The connection table: which segments belong to which connection, who is
//! the client, when a connection begins and ends.
//!
//! A connection is what Wireshark calls a TCP stream: a 4-tuple, split again
//! when a new SYN reuses it. Connections are numbered in order of first
//! appearance. Roles come from the SYN (or SYN+ACK); for connections picked
//! up mid-stream, the first payload is shown to an injected
//! [`RoleClassifier`], and only then is the connection announced — so every
//! event of a connection carries its final roles.
//!
//! Memory is bounded: out-of-order bytes per connection and in total (a cap
//! turns the first hole into a gap), and the number of connections (the
//! least recently active are evicted, reported as such).

use super::reassembly::{HalfEvent, HalfStream};
use super::table::{ConnTable, FlowKey, Keyed, Slot};
use super::{Role, RoleClassifier, StreamConsumer, StreamEvent, TcpSummary};
use crate::decode::Segment;
use crate::diag;
use crate::event::{ConnId, ConnectionEvent, DiagnosticEvent, Dir, DirStats, RoleBasis, TcpEnd, Timestamp};
use crate::model::Stamp;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Limits and knobs of the TCP layer.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    /// Out-of-order bytes held per connection before the first hole is skipped.
    pub max_conn_buffer: usize,
    /// Out-of-order bytes held across all connections.
    pub max_total_buffer: usize,
    /// Connections tracked at once; beyond, the least recently active are evicted.
    pub max_conns: usize,
    /// Recently delivered bytes remembered per direction, to detect
    /// retransmissions whose bytes differ from the first copy.
    pub history: usize,
    /// Seconds (capture time) a closed connection is kept to absorb stray
    /// retransmissions and ACKs before its summary is emitted.
    pub linger_secs: i64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_conn_buffer: 16 << 20,
            max_total_buffer: 512 << 20,
            max_conns: 1_000_000,
            history: 16 << 10,
            linger_secs: 120,
        }
    }
}

/// The TCP-level counters of one direction (the event's [`DirStats`] also
/// has room for what upper layers count; keeping only these makes every
/// tracked connection 100 bytes smaller).
#[derive(Clone, Copy, Debug, Default)]
struct TcpStats {
    packets: u64,
    bytes: u64,
    stream_bytes: u64,
    gaps: u64,
    gap_bytes: u64,
    fin: bool,
    rst: bool,
}

impl TcpStats {
    fn to_dir_stats(self) -> DirStats {
        DirStats {
            packets: self.packets,
            bytes: self.bytes,
            stream_bytes: self.stream_bytes,
            gaps: self.gaps,
            gap_bytes: self.gap_bytes,
            fin: self.fin,
            rst: self.rst,
            ..Default::default()
        }
    }
}

#[derive(Debug)]
struct Conn {
    id: ConnId,
    client: SocketAddr,
    server: SocketAddr,
    syn_seen: bool,
    role_basis: RoleBasis,
    /// `Open` has been emitted (roles final).
    announced: bool,
    first_ts: Timestamp,
    last_ts: Timestamp,
    /// The first and the latest packet attributed to it.
    first_packet: u64,
    last_packet: u64,
    half: [HalfStream; 2],
    stats: [TcpStats; 2],
    /// What `half` held on the heap when last counted.
    heap: usize,
    /// Initial sequence numbers seen in SYNs, for reuse detection.
    isn: [Option<u32>; 2],
    rst: bool,
    /// Closed (FIN both ways or RST): lingering until its summary goes out.
    closed: bool,
    /// Told the user about a buffer cap already.
    cap_reported: bool,
}

impl Keyed for Conn {
    fn key(&self) -> FlowKey {
        FlowKey::of(self.client, self.server)
    }
}

impl Conn {
    fn heap_bytes(&self) -> usize {
        self.half[0]
            .heap_bytes()
            .saturating_add(self.half[1].heap_bytes())
    }

    fn pending(&self) -> usize {
        self.half[0]
            .pending_cost()
            .saturating_add(self.half[1].pending_cost())
    }

    fn dir_of(&self, src: SocketAddr) -> Dir {
        if src == self.client { Dir::C2S } else { Dir::S2C }
    }

    fn swap_roles(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        self.half.swap(0, 1);
        self.stats.swap(0, 1);
        self.isn.swap(0, 1);
    }

    fn end(&self) -> TcpEnd {
        if self.rst {
            TcpEnd::Rst
        } else {
            match (self.stats[0].fin, self.stats[1].fin) {
                (true, true) => TcpEnd::Fin,
                (true, false) | (false, true) => TcpEnd::HalfFin,
                _ => TcpEnd::Open,
            }
        }
    }
}

/// Tracks every TCP connection of a capture and reassembles both directions.
pub struct FlowTable {
    cfg: TcpConfig,
    classifier: Box<dyn RoleClassifier + Send>,
    conns: ConnTable<Conn>,
    next_id: ConnId,
    /// Out-of-order bytes held across all connections.
    total_pending: usize,
    /// Heap bytes the connections' reassembly buffers hold (chunks with
    /// their overhead, retransmission history).
    buffers: usize,
    /// Closed connections waiting out their linger time: (deadline, slot, id).
    closing: VecDeque<(Timestamp, Slot, ConnId)>,
    last_ts: Timestamp,
}

impl FlowTable {
    pub fn new(cfg: TcpConfig, classifier: Box<dyn RoleClassifier + Send>) -> Self {
        FlowTable {
            cfg,
            classifier,
            conns: ConnTable::default(),
            next_id: 0,
            total_pending: 0,
            buffers: 0,
            closing: VecDeque::new(),
            last_ts: Timestamp::default(),
        }
    }

    /// Connections currently tracked.
    pub fn live_connections(&self) -> usize {
        self.conns.len()
    }

    /// Heap bytes the table holds: connection state, index, out-of-order
    /// chunks (with their overhead) and retransmission histories.
    pub fn heap_bytes(&self) -> usize {
        self.conns
            .heap_bytes()
            .saturating_add(self.buffers)
            .saturating_add(self.closing.capacity().saturating_mul(std::mem::size_of::<(
                Timestamp,
                Slot,
                ConnId,
            )>()))
    }

    /// Feeds one segment; `orig_len` is its packet's length on the wire.
    /// Returns the connection the segment was attributed to.
    pub fn segment(
        &mut self,
        seg: &Segment<'_>,
        ts: Timestamp,
        orig_len: u32,
        packet: u64,
        out: &mut dyn StreamConsumer,
    ) -> Option<ConnId> {
        self.last_ts = self.last_ts.max(ts);
        self.expire(ts, out);
        let key = FlowKey::of(seg.src, seg.dst);
        let syn_only = seg.flags.syn() && !seg.flags.ack();

        // A new SYN on a tuple whose connection is over (or is a different
        // incarnation) starts a new connection, as in Wireshark.
        let mut slot = self.conns.find(&key);
        if syn_only && let Some(old) = slot.and_then(|s| self.conns.get(s)) {
            let dir = old.dir_of(seg.src);
            let old_isn = old.isn.get(dir.index()).copied().flatten();
            let same_syn = old_isn == Some(seg.seq);
            let reused = !same_syn
                && (old.closed
                    || old_isn.is_some()
                    || old.stats.iter().any(|s| s.packets > 0 && !old.syn_seen));
            if reused && let Some(old) = slot.and_then(|s| self.conns.remove(s)) {
                slot = None;
                self.finalize(old, ts, out);
            }
        }

        let slot = match slot {
            Some(s) => s,
            None => {
                if self.conns.len() >= self.cfg.max_conns {
                    self.evict(ts, out);
                }
                let conn = self.new_conn(seg, ts, packet);
                self.conns.insert(conn)
            }
        };
        let conn = self.conns.get_mut(slot)?;
        // Capture time may go backwards (merged or hostile captures): a
        // connection never ends before it began.
        conn.last_ts = conn.last_ts.max(ts);
        conn.last_packet = packet;

        // Roles of a mid-stream connection: decided by its first payload.
        let known_roles = matches!(conn.role_basis, RoleBasis::Syn | RoleBasis::SynAck);
        if !conn.announced && known_roles {
            announce(conn, out);
        } else if !conn.announced && !seg.payload.is_empty() {
            let claimed = self
                .classifier
                .classify(seg.payload, seg.src.port(), seg.dst.port());
            let sender_is_client = seg.src == conn.client;
            match claimed {
                Some(Role::Client) if !sender_is_client => conn.swap_roles(),
                Some(Role::Server) if sender_is_client => conn.swap_roles(),
                _ => {}
            }
            if claimed.is_some() {
                conn.role_basis = RoleBasis::Payload;
            }
            announce(conn, out);
        }

        let dir = conn.dir_of(seg.src);
        let d = dir.index();
        if let Some(s) = conn.stats.get_mut(d) {
            s.packets = s.packets.saturating_add(1);
            s.bytes = s.bytes.saturating_add(u64::from(orig_len));
        }
        if seg.flags.syn() {
            if !conn.syn_seen && syn_only {
                conn.syn_seen = true;
            }
            if let Some(h) = conn.half.get_mut(d) {
                h.syn(seg.seq);
            }
            if let Some(isn) = conn.isn.get_mut(d) {
                isn.get_or_insert(seg.seq);
            }
        }

        let id = conn.id;
        let pending_before = conn.pending();
        if seg.flags.rst() {
            announce(conn, out);
            if let Some(s) = conn.stats.get_mut(d) {
                s.rst = true;
            }
            conn.rst = true;
            out.stream_event(StreamEvent::Rst {
                conn: id,
                dir,
                at: Stamp::new(ts, packet),
            });
            if !conn.closed {
                conn.closed = true;
                flush_halves(conn, Stamp::new(ts, packet), out);
                self.closing
                    .push_back((linger_deadline(ts, self.cfg.linger_secs), slot, id));
            }
        } else {
            let (stats, half) = (&mut conn.stats, &mut conn.half);
            let seq = if seg.flags.syn() {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            if !seg.payload.is_empty() || seg.missing > 0 || seg.flags.fin() {
                if seg.flags.fin()
                    && let Some(s) = stats.get_mut(d)
                {
                    s.fin = true;
                }
                if let (Some(h), Some(s)) = (half.get_mut(d), stats.get_mut(d)) {
                    let mut sink = |e: HalfEvent<'_>| emit(id, dir, Stamp::new(ts, packet), s, e, out);
                    h.segment(seq, seg.payload, seg.missing, seg.flags.fin(), packet, &mut sink);
                }
            } else if let Some(h) = half.get_mut(d) {
                // A bare ACK still anchors a mid-stream direction.
                if !h.started() {
                    h.segment(seq, &[], 0, false, packet, &mut |_| {});
                }
            }
            if seg.flags.ack() {
                let o = dir.reverse();
                if let (Some(h), Some(s)) = (half.get_mut(o.index()), stats.get_mut(o.index())) {
                    let mut sink = |e: HalfEvent<'_>| emit(id, o, Stamp::new(ts, packet), s, e, out);
                    h.ack(seg.ack, &mut sink);
                }
            }
            if !conn.closed && conn.half.iter().all(|h| h.fin_delivered()) {
                announce(conn, out);
                conn.closed = true;
                self.closing
                    .push_back((linger_deadline(ts, self.cfg.linger_secs), slot, id));
            }
        }

        // Buffer accounting and caps.
        let pending_after = conn.pending();
        self.total_pending = self
            .total_pending
            .saturating_sub(pending_before)
            .saturating_add(pending_after);
        if pending_after > self.cfg.max_conn_buffer || self.total_pending > self.cfg.max_total_buffer {
            let before = conn.pending();
            if !conn.cap_reported {
                conn.cap_reported = true;
                out.stream_event(StreamEvent::Diagnostic(DiagnosticEvent {
                    ts,
                    conn: Some(id),
                    dir: None,
                    code: diag::TCP_BUFFER_CAP,
                    detail: format!(
                        "{} out-of-order bytes held (caps: {} per connection, {} in total); skipping holes as gaps",
                        pending_after, self.cfg.max_conn_buffer, self.cfg.max_total_buffer
                    ),
                    packet: Some(packet),
                }));
            }
            // Skip holes (largest buffer first) until this connection is back
            // under half its cap and the total is under its cap; a connection
            // that adds bytes while the total is over gives up all it holds,
            // so the total stays bounded however many connections share it.
            loop {
                let held = conn.pending();
                let total = self.total_pending.saturating_sub(before.saturating_sub(held));
                let over =
                    held > self.cfg.max_conn_buffer / 2 || (total > self.cfg.max_total_buffer && held > 0);
                if !over {
                    break;
                }
                let big = if conn.half[0].pending_cost() >= conn.half[1].pending_cost() {
                    Dir::C2S
                } else {
                    Dir::S2C
                };
                let (stats, half) = (&mut conn.stats, &mut conn.half);
                if let (Some(h), Some(s)) = (half.get_mut(big.index()), stats.get_mut(big.index())) {
                    let mut sink = |e: HalfEvent<'_>| emit(id, big, Stamp::new(ts, packet), s, e, out);
                    h.skip_hole(&mut sink);
                }
                if conn.pending() == held {
                    break;
                }
            }
            self.total_pending = self
                .total_pending
                .saturating_sub(before.saturating_sub(conn.pending()));
        }
        let heap = conn.heap_bytes();
        self.buffers = self.buffers.saturating_sub(conn.heap).saturating_add(heap);
        conn.heap = heap;
        Some(id)
    }

    /// End of input: every connection still tracked is flushed and summarised,
    /// in connection order.
    pub fn finish(&mut self, out: &mut dyn StreamConsumer) {
        // One connection at a time, in connection order: collecting them
        // all first would hold the whole table twice.
        let mut order: Vec<(ConnId, Slot)> = self.conns.iter().map(|(s, c)| (c.id, s)).collect();
        order.sort_unstable();
        let ts = self.last_ts;
        for (_, slot) in order {
            if let Some(c) = self.conns.remove(slot) {
                self.finalize(c, ts, out);
            }
        }
        self.conns.clear();
        self.closing.clear();
        self.total_pending = 0;
        self.buffers = 0;
    }

    /// The tracked connections in the order they are given up when memory
    /// runs short: those that never carried payload first (a SYN flood
    /// costs nothing to forget), then the least recently active.
    pub fn eviction_order(&self) -> Vec<(Slot, ConnId)> {
        let mut order: Vec<(bool, Timestamp, Slot, ConnId)> = self
            .conns
            .iter()
            .map(|(s, c)| (c.stats.iter().any(|st| st.stream_bytes > 0), c.last_ts, s, c.id))
            .collect();
        order.sort_unstable_by_key(|a| (a.0, a.1, a.3));
        order.into_iter().map(|(_, _, s, id)| (s, id)).collect()
    }

    /// Summarises the connection `id` in `slot` early, as evicted (the
    /// memory budget ran out). Returns false when it is no longer tracked.
    pub fn evict_one(&mut self, slot: Slot, id: ConnId, ts: Timestamp, out: &mut dyn StreamConsumer) -> bool {
        if self.conns.get(slot).is_none_or(|c| c.id != id) {
            return false;
        }
        match self.conns.remove(slot) {
            Some(c) => {
                self.finalize_as(c, ts, Some(TcpEnd::Evicted), out);
                true
            }
            None => false,
        }
    }

    fn new_conn(&mut self, seg: &Segment<'_>, ts: Timestamp, packet: u64) -> Conn {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        let (client, server, basis) = if seg.flags.syn() && !seg.flags.ack() {
            (seg.src, seg.dst, RoleBasis::Syn)
        } else if seg.flags.syn() {
            (seg.dst, seg.src, RoleBasis::SynAck)
        } else if seg.src.port() > seg.dst.port() {
            // Nothing to go on: the lower (likely well-known) port serves.
            (seg.src, seg.dst, RoleBasis::PortGuess)
        } else if seg.src.port() < seg.dst.port() {
            (seg.dst, seg.src, RoleBasis::PortGuess)
        } else {
            (seg.src, seg.dst, RoleBasis::PortGuess)
        };
        Conn {
            id,
            client,
            server,
            syn_seen: basis == RoleBasis::Syn,
            role_basis: basis,
            // Announced by the caller once the table holds it (see `segment`).
            announced: false,
            first_ts: ts,
            last_ts: ts,
            first_packet: packet,
            last_packet: packet,
            half: [
                HalfStream::new(self.cfg.history),
                HalfStream::new(self.cfg.history),
            ],
            stats: Default::default(),
            heap: 0,
            isn: [None, None],
            rst: false,
            closed: false,
            cap_reported: false,
        }
    }

    /// Emits `Closed` for connections whose linger time is over.
    fn expire(&mut self, now: Timestamp, out: &mut dyn StreamConsumer) {
        while let Some(&(deadline, slot, id)) = self.closing.front() {
            if deadline > now {
                break;
            }
            self.closing.pop_front();
            if self.conns.get(slot).is_some_and(|c| c.id == id)
                && let Some(c) = self.conns.remove(slot)
            {
                self.finalize(c, now, out);
            }
        }
    }

    /// Frees room by finalising the least recently active tenth of the table,
    /// those without payload first (a SYN flood costs nothing to forget).
    fn evict(&mut self, ts: Timestamp, out: &mut dyn StreamConsumer) {
        let n = (self.cfg.max_conns / 10).max(1);
        let mut victims: Vec<Conn> = self
            .eviction_order()
            .into_iter()
            .take(n)
            .filter_map(|(s, _)| self.conns.remove(s))
            .collect();
        victims.sort_unstable_by_key(|c| c.id);
        out.stream_event(StreamEvent::Diagnostic(DiagnosticEvent {
            ts,
            conn: None,
            dir: None,
            code: diag::TCP_CONN_EVICTED,
            detail: format!(
                "more than {} connections tracked at once; {} least recently active were summarised early (raise --max-conns to keep them)",
                self.cfg.max_conns,
                victims.len()
            ),
            packet: None,
        }));
        for c in victims {
            // finalize_as takes the connection's buffered bytes off the total.
            self.finalize_as(c, ts, Some(TcpEnd::Evicted), out);
        }
    }

    fn finalize(&mut self, c: Conn, ts: Timestamp, out: &mut dyn StreamConsumer) {
        self.finalize_as(c, ts, None, out);
    }

    fn finalize_as(&mut self, mut c: Conn, ts: Timestamp, end: Option<TcpEnd>, out: &mut dyn StreamConsumer) {
        self.total_pending = self.total_pending.saturating_sub(c.pending());
        self.buffers = self.buffers.saturating_sub(c.heap);
        announce(&mut c, out);
        // No packet completes these bytes: the connection ended.
        flush_halves(&mut c, Stamp::new(ts, 0), out);
        out.stream_event(StreamEvent::Closed(Box::new(TcpSummary {
            conn: c.id,
            ts: ts.max(c.last_ts),
            client: c.client,
            server: c.server,
            first_ts: c.first_ts,
            last_ts: c.last_ts,
            end: end.unwrap_or(c.end()),
            syn_seen: c.syn_seen,
            stats: c.stats.map(TcpStats::to_dir_stats),
            first_packet: c.first_packet,
            last_packet: c.last_packet,
        })));
    }
}

fn linger_deadline(ts: Timestamp, secs: i64) -> Timestamp {
    Timestamp::new(ts.secs.saturating_add(secs), ts.nanos)
}

fn announce(conn: &mut Conn, out: &mut dyn StreamConsumer) {
    if conn.announced {
        return;
    }
    conn.announced = true;
    out.stream_event(StreamEvent::Open(ConnectionEvent {
        conn: conn.id,
        ts: conn.first_ts,
        client: conn.client,
        server: conn.server,
        syn_seen: conn.syn_seen,
        role_basis: conn.role_basis,
        packet: conn.first_packet,
    }));
}

fn flush_halves(conn: &mut Conn, at: Stamp, out: &mut dyn StreamConsumer) {
    let id = conn.id;
    for dir in Dir::BOTH {
        let (stats, half) = (&mut conn.stats, &mut conn.half);
        if let (Some(h), Some(s)) = (half.get_mut(dir.index()), stats.get_mut(dir.index())) {
            let mut sink = |e: HalfEvent<'_>| emit(id, dir, at, s, e, out);
            h.flush(&mut sink);
        }
    }
}

/// Turns a half-stream event into a stream event, counting as it goes.
/// `at` is the packet being processed (0 at the end of the connection).
fn emit(
    conn: ConnId,
    dir: Dir,
    at: Stamp,
    stats: &mut TcpStats,
    e: HalfEvent<'_>,
    out: &mut dyn StreamConsumer,
) {
    let ts = at.ts;
    match e {
        HalfEvent::Data {
            offset,
            bytes,
            packets,
            starts_write,
        } => {
            stats.stream_bytes = stats.stream_bytes.saturating_add(bytes.len() as u64);
            out.stream_event(StreamEvent::Data {
                conn,
                dir,
                offset,
                bytes,
                packets,
                at,
                starts_write,
            });
        }
        HalfEvent::Gap { offset, len, reason } => {
            stats.gaps = stats.gaps.saturating_add(1);
            stats.gap_bytes = stats.gap_bytes.saturating_add(len);
            out.stream_event(StreamEvent::Gap {
                conn,
                dir,
                at,
                offset,
                len,
                reason,
            });
        }
        HalfEvent::Conflict { offset, len } => {
            out.stream_event(StreamEvent::Diagnostic(DiagnosticEvent {
                ts,
                conn: Some(conn),
                dir: Some(dir),
                code: diag::TCP_OVERLAP_CONFLICT,
                detail: format!(
                    "{len} bytes at stream offset {offset} were sent again with different content; kept the first copy"
                ),
                packet: (at.packet > 0).then_some(at.packet),
            }));
        }
        HalfEvent::Fin => out.stream_event(StreamEvent::Fin { conn, dir, at }),
    }
}
