//! Indexing events: a row per frame, message, gap run, violation,
//! handshake and diagnostic (while the budget allows), and the
//! connection summaries (always).

use super::{Handshake, Kind, NONE, Note, Record, Store, bit, flag};
use crate::event::{ConnId, Dir, Event, GapEvent, Protocol};
use crate::tui::replay::{PayloadKey, WantKind};

impl Store {
    /// Indexes `ev`, taking what the store keeps of it (texts, the TLS
    /// facts) and leaving the rest — its payload — to the caller, who
    /// hands the batch back to the thread that allocated it to be freed.
    pub(super) fn index(&mut self, ev: &mut Event) {
        match ev {
            Event::Connection(c) => {
                if let Some(conn) = self.conn_mut(c.conn) {
                    conn.first_ts = c.ts;
                    conn.client = c.client;
                    conn.server = c.server;
                    conn.syn_seen = c.syn_seen;
                }
            }
            Event::Tls(t) => {
                let (id, decrypted) = (t.conn, t.decrypted);
                if let Some(c) = self.conn_mut(id) {
                    if c.tls.is_none() {
                        c.tls = Some(std::mem::take(t));
                        self.tls_seen(id, decrypted);
                    }
                }
            }
            Event::Handshake(h) => {
                let conn = h.conn;
                // Only an upgrade answered 101 (an HTTP/2 CONNECT: 2xx),
                // or not answered in the capture, makes a WebSocket.
                let refused = match h.http_version {
                    Some(_) => h.rejected == Some(true),
                    None => h.status.is_some_and(|st| st != 101),
                };
                match h.status.filter(|_| refused) {
                    Some(st) => self.reject(conn, st),
                    None => {
                        if let Some(c) = self.conn_mut(conn) {
                            c.rejected = None;
                        }
                        self.mark_ws(conn);
                    }
                }
                let compact = Handshake::new(h);
                if self.admit(Kind::Handshake, h.ts, compact.heap_bytes()) {
                    let mut r = Self::blank(h.ts, conn, Kind::Handshake);
                    r.dir = Some(Dir::C2S);
                    r.set_packets(h.packet, h.response_packet.unwrap_or(h.packet));
                    self.push(r);
                    let slot = self.slot;
                    if let Some(c) = self.conn_mut(conn) {
                        // A stream's CONNECT is that stream's; the first also
                        // stands for the connection (its row in the pane).
                        match slot.and_then(|s| c.ws.as_mut().and_then(|w| w.streams.get_mut(s))) {
                            Some(s) => {
                                s.handshake = Some(Box::new(compact.clone()));
                                s.settings = h.server_settings.clone();
                                if c.handshake.is_none() {
                                    c.handshake = Some(Box::new(compact));
                                }
                            }
                            None => c.handshake = Some(Box::new(compact)),
                        }
                    }
                }
            }
            Event::Frame(f) => {
                self.mark_ws(f.conn);
                self.frames += 1;
                self.activity.add(f.ts, f.dir);
                let d = f.dir.index();
                let held = self.admit(Kind::Frame, f.ts, f.payload.len().min(self.budget.preview));
                let idx = self.records.len() as u32;
                let mut link = NONE;
                if let Some(c) = self.conn_mut(f.conn) {
                    let ws = c.ws_mut();
                    ws.frames[d] += 1;
                    ws.bytes[d] += f.len;
                    ws.activity.add(f.ts, f.dir);
                    if f.opcode < 8 && held {
                        if f.opcode == 0 {
                            link = ws.last_data_frame[d];
                        }
                        ws.last_data_frame[d] = idx;
                        ws.frame_pending[d] = true;
                    }
                    if f.opcode == 8 && c.close[d].is_none() {
                        c.close[d] = Some(f.close_code);
                    }
                }
                if !held {
                    return;
                }
                let (data, full) = self.keep(&f.payload);
                let mut r = Self::blank(f.ts, f.conn, Kind::Frame);
                r.dir = Some(f.dir);
                r.opcode = f.opcode;
                r.rsv = f.rsv;
                r.len = f.len;
                r.offset = f.offset;
                r.data = data;
                r.link = link;
                r.len_bits = f.len_bits;
                r.header_len = f.header_len;
                r.set_packets(f.packets.first, f.packets.last);
                r.flags = bit(f.fin, flag::FIN)
                    | bit(f.masked, flag::MASKED)
                    | bit(f.truncated, flag::TRUNCATED)
                    | bit(full, flag::KEPT);
                if let Some(k) = f.mask_key {
                    r.aux = k;
                }
                if let Some(rtt) = f.rtt {
                    r.flags |= flag::RTT;
                    r.aux = ((rtt * 1e6).clamp(0.0, f64::from(u32::MAX)) as u32).to_be_bytes();
                }
                self.push(r);
            }
            Event::Message(m) => {
                self.mark_ws(m.conn);
                self.messages += 1;
                let d = m.dir.index();
                let last_frame = self
                    .conn(m.conn)
                    .and_then(|c| c.ws.as_ref())
                    .filter(|w| w.frame_pending[d])
                    .map_or(NONE, |w| w.last_data_frame[d]);
                if let Some(c) = self.conn_mut(m.conn) {
                    let ws = c.ws_mut();
                    ws.messages[d] += 1;
                    ws.frame_pending[d] = false;
                }
                let note = m.inflate_error.as_deref().map_or(0, Self::note_cost);
                // What the application layer found (nothing is decoded
                // from bytes that failed to inflate).
                let app = m
                    .decoded
                    .take()
                    .filter(|d| m.inflate_error.is_none() && (!d.items.is_empty() || d.error.is_some()))
                    .map(super::AppRow::new);
                let extra =
                    m.data.len().min(self.budget.preview) + note + app.as_ref().map_or(0, |a| a.held());
                if !self.admit(Kind::Message, m.ts, extra) {
                    return;
                }
                // A single uncompressed frame: share its bytes (whole, or
                // both cut to the same preview by the reader).
                let whole = self.cut.is_none();
                let shared = self.records.get(last_frame as usize).and_then(|f| {
                    (m.frames == 1
                        && !m.compressed
                        && f.has(flag::KEPT) == whole
                        && self.data(f) == m.data.as_slice())
                    .then_some(f.data)
                });
                let (data, full) = match shared {
                    Some(d) => {
                        if !whole {
                            self.dropped_payloads += 1;
                        }
                        (d, whole)
                    }
                    None => self.keep(&m.data),
                };
                let mut r = Self::blank(m.ts, m.conn, Kind::Message);
                r.dir = Some(m.dir);
                r.opcode = m.opcode;
                r.rsv = u8::try_from(m.frames).unwrap_or(u8::MAX);
                r.len = self.cut.unwrap_or(m.data.len() as u64);
                r.offset = m.wire_len;
                r.data = data;
                r.link = last_frame;
                if let Some(p) = m.packets {
                    r.set_packets(p.first, p.last);
                }
                r.flags = bit(m.compressed, flag::COMPRESSED)
                    | bit(m.truncated, flag::TRUNCATED)
                    | bit(m.is_text, flag::TEXT)
                    | bit(full, flag::KEPT);
                if let Some(e) = m.inflate_error.take() {
                    r.flags |= flag::INFLATE_ERROR;
                    let i = self.add_note(Note {
                        code: "inflate-error",
                        detail: e,
                        frame: None,
                    });
                    r.aux = (i as u32).to_be_bytes();
                } else if let Some(app) = app {
                    self.keep_app(&mut r, app);
                }
                self.push(r);
            }
            Event::Gap(g) => {
                self.gaps += 1;
                if let Some(c) = self.conn_mut(g.conn) {
                    c.gaps += 1;
                }
                if self.coalesce(g) || !self.admit(Kind::Gap, g.ts, 0) {
                    return;
                }
                let mut r = Self::blank(g.ts, g.conn, Kind::Gap);
                r.dir = Some(g.dir);
                r.len = g.bytes;
                r.offset = g.offset;
                r.len_bits = g.reason as u8;
                r.aux = 1u32.to_ne_bytes();
                r.set_packets(g.packet, g.packet);
                self.push(r);
            }
            Event::Violation(v) => {
                self.violations += 1;
                if let Some(c) = self.conn_mut(v.conn) {
                    c.violations += 1;
                }
                if !self.admit(Kind::Violation, v.ts, Self::note_cost(&v.detail)) {
                    return;
                }
                let mut r = Self::blank(v.ts, v.conn, Kind::Violation);
                r.dir = v.dir;
                r.offset = self.add_note(Note {
                    code: v.rule,
                    detail: std::mem::take(&mut v.detail),
                    frame: v.frame_offset,
                }) as u64;
                r.set_packets(v.packet, v.packet);
                self.push(r);
            }
            Event::Diagnostic(d) => {
                self.diagnostics += 1;
                if !self.admit(Kind::Diagnostic, d.ts, Self::note_cost(&d.detail)) {
                    return;
                }
                let mut r = Self::blank(d.ts, d.conn.unwrap_or(ConnId::from(u32::MAX)), Kind::Diagnostic);
                if d.conn.is_none() {
                    r.conn = u32::MAX;
                }
                r.dir = d.dir;
                r.offset = self.add_note(Note {
                    code: d.code,
                    detail: std::mem::take(&mut d.detail),
                    frame: None,
                }) as u64;
                if let Some(p) = d.packet {
                    r.set_packets(p, p);
                }
                self.push(r);
            }
            // An HTTP/2 stream's record: the connection's own comes later
            // (its rows and counts are the connection's already).
            Event::Close(e) if e.stream.is_some() => {}
            // Ordinary HTTP/2 requests beside WebSocket streams: not rows
            // of the timeline (yet); `dump` lists them.
            Event::Http2(_) => {}
            Event::Finding(f) => self.add_finding(f),
            Event::Close(e) => {
                let id = e.conn;
                if e.protocol.is_websocket() {
                    self.mark_ws(id);
                }
                if let Some(t) = &e.tls
                    && self.conn(id).is_some_and(|c| c.tls.is_none() && c.end.is_none())
                {
                    self.tls_seen(id, t.decrypted);
                }
                if let Some(c) = self.conn_mut(id) {
                    // HTTP/2 says so at the end (its frames marked it WebSocket).
                    if c.protocol == Protocol::Other
                        || matches!(e.protocol, Protocol::H2 | Protocol::H2WebSocket)
                    {
                        c.protocol = e.protocol;
                    }
                    // The connection's own span, as `wsscope conns` has
                    // it: not the time of what was flushed when it ended
                    // (an unfilled gap, a truncated message at the end of
                    // the capture), which says when TCP gave it up.
                    c.first_ts = e.first_ts;
                    c.last_ts = e.last_ts;
                    for d in Dir::BOTH {
                        let s = &e.stats[d.index()];
                        if c.close[d.index()].is_none() {
                            c.close[d.index()] = s.close.as_ref().map(|(code, _)| *code);
                        }
                    }
                    c.set_end(e);
                }
            }
        }
    }

    /// An upgrade refused with `status`: listed with the WebSocket
    /// connections (marked rejected), not counted as one.
    fn reject(&mut self, id: ConnId, status: u16) {
        if let Some(c) = self.conn_mut(id) {
            c.rejected = Some(status);
            self.list(id);
        }
    }

    /// Extends the connection's last row in the gap's direction if it is a
    /// gap run this gap continues: same reason, further on in the stream,
    /// and (being the last row of that connection and direction) with no
    /// row of theirs in between — other connections' rows may be. Bytes
    /// that made no row may lie between two gaps of a run (a stream with a
    /// hole every few segments: its data makes no rows, or resynchronises
    /// to no frame), so the run's `len` is the bytes missing, from its
    /// `offset` on. Not past the budget's cut: the rows held stay a prefix
    /// in time.
    fn coalesce(&mut self, g: &GapEvent) -> bool {
        if self.not_held.since.is_some() {
            return false;
        }
        let Some(last) = self.conn(g.conn).map(|c| c.last_row[g.dir.index()]) else {
            return false;
        };
        let Some(r) = self.records.get_mut(last as usize) else {
            return false;
        };
        let continues = r.kind == Kind::Gap
            && r.dir == Some(g.dir)
            && r.len_bits == g.reason as u8
            && r.offset.checked_add(r.len).is_some_and(|end| end <= g.offset);
        if continues {
            r.len = r.len.saturating_add(g.bytes);
            r.aux = r.gap_count().saturating_add(1).to_ne_bytes();
            if g.packet > 0 {
                let first = if r.first_packet > 0 {
                    u64::from(r.first_packet)
                } else {
                    g.packet
                };
                r.set_packets(first, g.packet);
            }
        }
        continues
    }

    /// Note attached to a violation, diagnostic or failed inflation.
    pub fn note(&self, r: &Record) -> Option<&Note> {
        let i = match r.kind {
            Kind::Violation | Kind::Diagnostic => usize::try_from(r.offset).ok()?,
            Kind::Message if r.has(flag::INFLATE_ERROR) => u32::from_be_bytes(r.aux) as usize,
            _ => return None,
        };
        self.notes.get(i)
    }

    /// Which payload a row is, for fetching it again: a frame by its
    /// offset, a message by its last frame's (see [`PayloadKey`]).
    pub fn payload_key(&self, r: &Record) -> Option<PayloadKey> {
        let dir = r.dir?;
        let conn = ConnId::from(r.conn);
        match r.kind {
            Kind::Frame => Some(PayloadKey {
                conn,
                dir,
                kind: WantKind::Frame,
                offset: r.offset,
            }),
            Kind::Message => {
                let last = self.records.get(r.link as usize)?;
                Some(PayloadKey {
                    conn,
                    dir,
                    kind: WantKind::Message,
                    offset: last.offset,
                })
            }
            _ => None,
        }
    }

    /// The frames of a message (or the fragments up to a frame), oldest first.
    pub fn fragments(&self, idx: u32) -> Vec<u32> {
        let Some(r) = self.records.get(idx as usize) else {
            return Vec::new();
        };
        let (mut cur, max) = match r.kind {
            Kind::Message => (r.link, usize::from(r.rsv.max(1))),
            Kind::Frame => (idx, 4096),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        while cur != NONE && out.len() < max {
            out.push(cur);
            cur = self.records.get(cur as usize).map_or(NONE, |f| f.link);
        }
        out.reverse();
        out
    }
}
