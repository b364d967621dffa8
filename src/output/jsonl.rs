//! JSON Lines: one JSON object per event, in capture order.
//!
//! The field names are a public contract (README): fields may be added,
//! never renamed or dropped. Objects are assembled by hand into one reused
//! buffer; strings, integers, timestamps and hex are written straight into
//! it by [`super::json_fmt`] (exactly what `serde_json`, `{}`,
//! [`Timestamp::to_decimal`] and `hex::encode` write, without their
//! allocations).
//!
//! `--payload` ([`PayloadLimit`]) trims the payload fields (`payload_hex`,
//! `text`, `data_hex`): left out for `none`; for N, the first N bytes, and
//! `"payload_cut":true` after the field when that dropped some. Every other
//! field and every record stays.

use std::io::{self, Write};

use super::WriteLatch;
use super::json_fmt;
use super::payload::PayloadLimit;
use crate::event::{
    ConnectionEndEvent, ConnectionEvent, DiagnosticEvent, Dir, DirStats, Event, EventSink, FrameEvent,
    GapEvent, HandshakeEvent, MessageEvent, PacketSpan, Timestamp, TlsEvent, TlsSummary, ViolationEvent,
};

/// Writes every event as one JSON line.
pub struct JsonlSink<W: Write> {
    w: W,
    flush_each: bool,
    buf: Vec<u8>,
    latch: WriteLatch,
    /// How much of each payload a record keeps (`--payload`).
    payload: PayloadLimit,
    /// `,"capture":"NAME"}`: the end of every record of a run over several
    /// captures (`None`: records end as they always did).
    capture_tail: Option<Vec<u8>>,
}

impl<W: Write> JsonlSink<W> {
    /// A sink that flushes only when asked (and when dropped by its writer).
    pub fn new(w: W) -> Self {
        Self::with_flush_each(w, false)
    }

    /// `flush_each`: flush after every event (live mode).
    pub fn with_flush_each(w: W, flush_each: bool) -> Self {
        JsonlSink {
            w,
            flush_each,
            buf: Vec::with_capacity(4096),
            latch: WriteLatch::default(),
            payload: PayloadLimit::Full,
            capture_tail: None,
        }
    }

    /// Ends every record with `"capture":NAME` (several captures in one
    /// stream: which one the record is of).
    pub fn capture(mut self, name: Option<String>) -> Self {
        self.capture_tail = name.as_deref().map(capture_tail);
        self
    }

    /// Keep `limit` of each payload (`--payload`; default all of it).
    pub fn payload(mut self, limit: PayloadLimit) -> Self {
        self.payload = limit;
        self
    }

    /// Whether a write through [`EventSink::event`] failed (nothing more is
    /// written; [`EventSink::finish`] returns the error).
    pub fn failed(&self) -> bool {
        self.latch.failed()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn into_inner(self) -> W {
        self.w
    }

    /// Write one event (also what [`crate::event::EventSink::event`] does).
    pub fn write_event(&mut self, ev: &Event) -> io::Result<()> {
        self.buf.clear();
        event_json_with(ev, self.payload, &mut self.buf);
        if let Some(tail) = &self.capture_tail {
            end_with(&mut self.buf, tail);
        }
        self.buf.push(b'\n');
        self.w.write_all(&self.buf)?;
        if self.flush_each {
            self.w.flush()?;
        }
        Ok(())
    }
}

impl<W: Write> EventSink for JsonlSink<W> {
    fn event(&mut self, ev: Event) {
        self.event_ref(&ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        if self.latch.failed() {
            return;
        }
        let res = self.write_event(ev);
        self.latch.keep(res);
    }

    fn reads_only(&self) -> bool {
        true
    }

    fn finish(&mut self) -> io::Result<()> {
        self.latch.finish(|| self.w.flush())
    }
}

/// `,"capture":"NAME"}`: what ends a record of capture `name` in a
/// stream of several captures ([`end_with`]).
pub fn capture_tail(name: &str) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut o = Obj::new(&mut tail);
    o.str("capture", name);
    o.end();
    // `{"capture":"NAME"}` → `,"capture":"NAME"}`
    if let Some(b) = tail.first_mut() {
        *b = b',';
    }
    tail
}

/// Ends the JSON object in `record` (no newline yet) with `tail`'s fields.
pub fn end_with(record: &mut Vec<u8>, tail: &[u8]) {
    if record.last() == Some(&b'}') {
        record.pop();
        record.extend_from_slice(tail);
    }
}

/// Render `ev` as one JSON object (no newline) appended to `out`.
pub fn event_json(ev: &Event, out: &mut Vec<u8>) {
    event_json_with(ev, PayloadLimit::Full, out);
}

/// [`event_json`] keeping `payload` of each payload field (`--payload`).
pub fn event_json_with(ev: &Event, payload: PayloadLimit, out: &mut Vec<u8>) {
    let mut o = Obj::new(out);
    o.payload = payload;
    o.str("type", ev.type_name());
    o.ts("ts", ev.ts());
    match ev {
        Event::Connection(e) => connection(&mut o, e),
        Event::Tls(e) => tls(&mut o, e),
        Event::Handshake(e) => handshake(&mut o, e),
        Event::Frame(e) => frame(&mut o, e),
        Event::Message(e) => message(&mut o, e),
        Event::Gap(e) => gap(&mut o, e),
        Event::Violation(e) => violation(&mut o, e),
        Event::Diagnostic(e) => diagnostic(&mut o, e),
        Event::Http2(e) => http2(&mut o, e),
        Event::Finding(e) => finding(&mut o, e),
        Event::Close(e) => close(&mut o, e),
    }
    o.end();
}

/// Render `ev` as a JSON string.
#[cfg(test)]
fn event_to_string(ev: &Event) -> String {
    let mut v = Vec::new();
    event_json(ev, &mut v);
    String::from_utf8(v).unwrap_or_default()
}

fn connection(o: &mut Obj<'_>, e: &ConnectionEvent) {
    o.u64("conn", e.conn);
    o.display("client", &e.client);
    o.display("server", &e.server);
    // The flow's Community ID, to find it in Zeek, Suricata or Arkime (added field).
    o.str(
        "community_id",
        &super::community_id::community_id(e.client, e.server),
    );
    o.bool("syn_seen", e.syn_seen);
    o.str("role_basis", e.role_basis.as_str());
    o.packet("packet", e.packet);
}

fn tls(o: &mut Obj<'_>, e: &TlsEvent) {
    o.u64("conn", e.conn);
    o.opt_str("version", e.version);
    o.opt_str("cipher_suite", e.cipher_suite.as_deref());
    o.opt_str("sni", e.sni.as_deref());
    o.opt_str("alpn", e.alpn.as_deref());
    o.key("alpn_offered");
    o.str_array(&e.alpn_offered);
    o.opt_str("client_random", e.client_random.as_deref());
    o.bool("resumed", e.resumed);
    o.bool("decrypted", e.decrypted);
    o.opt_str("reason", e.reason);
    o.opt_str("decrypted_by", e.decrypted_by);
    o.opt_str("detail", e.detail.as_deref());
    o.packet("packet", e.packet);
}

fn tls_summary(out: &mut Vec<u8>, t: &TlsSummary) {
    let mut o = Obj::new(out);
    o.opt_str("version", t.version);
    o.opt_str("cipher_suite", t.cipher_suite.as_deref());
    o.opt_str("sni", t.sni.as_deref());
    o.bool("decrypted", t.decrypted);
    for (name, v) in [
        ("records", &t.records),
        ("records_undecrypted", &t.records_undecrypted),
        ("key_updates", &t.key_updates),
    ] {
        o.key(name);
        let mut d = Obj::new(o.out);
        for (dir, n) in v.iter() {
            d.u64(dir.as_str(), *n);
        }
        d.end();
    }
    o.end();
}

fn handshake(o: &mut Obj<'_>, e: &HandshakeEvent) {
    o.u64("conn", e.conn);
    // A WebSocket inside HTTP/2: its stream (an added field; others unchanged).
    if let Some(id) = e.session.stream {
        o.u64("stream", u64::from(id));
    }
    o.str("method", &e.method);
    o.str("path", &e.path);
    o.opt_str("host", e.host.as_deref());
    o.opt_str("origin", e.origin.as_deref());
    o.opt_str("key", e.key.as_deref());
    o.opt_str("version", e.version.as_deref());
    o.opt_str("subprotocol", e.subprotocol.as_deref());
    o.opt_str("extensions", e.extensions.as_deref());
    o.opt_u64("status", e.status.map(u64::from));
    o.opt_str("accept", e.accept.as_deref());
    o.opt_str("accept_expected", e.accept_expected.as_deref());
    o.opt_bool("accept_ok", e.accept_ok);
    o.opt_str("reason", e.reason.as_deref());
    match e.response_ts {
        Some(t) => o.ts("response_ts", t),
        None => o.null("response_ts"),
    }
    match &e.deflate {
        Some(d) => {
            o.key("deflate");
            let mut d2 = Obj::new(o.out);
            d2.bool("server_no_context_takeover", d.server_no_context_takeover);
            d2.bool("client_no_context_takeover", d.client_no_context_takeover);
            d2.opt_u64("server_max_window_bits", d.server_max_window_bits.map(u64::from));
            d2.opt_u64("client_max_window_bits", d.client_max_window_bits.map(u64::from));
            d2.end();
        }
        None => o.null("deflate"),
    }
    o.headers("request_headers", &e.request_headers);
    o.headers("response_headers", &e.response_headers);
    o.opt_str("client_extensions", e.client_extensions.as_deref());
    o.opt_str("server_extensions", e.server_extensions.as_deref());
    o.key("client_subprotocols");
    o.str_array(&e.client_subprotocols);
    o.opt_str("server_subprotocol", e.server_subprotocol.as_deref());
    o.opt_bool("rejected", e.rejected);
    o.packet("packet", e.packet);
    o.packet("response_packet", e.response_packet.unwrap_or(0));
    // Only on switched handshakes (an added field; rejected ones unchanged).
    if e.rejected == Some(false) {
        o.key("decoder");
        match &e.decoder {
            Some(c) => {
                let mut d = Obj::new(o.out);
                d.str("protocol", c.proto.name());
                d.str("evidence", &c.evidence.to_string());
                d.end();
            }
            None => o.out.extend_from_slice(b"null"),
        }
    }
    // WebSocket over HTTP/2 (RFC 8441): no key, no accept (added fields).
    if let Some(v) = e.http_version {
        o.str("http_version", v);
        o.opt_str("protocol", e.protocol.as_deref());
        o.key("server_settings");
        let mut s = Obj::new(o.out);
        for (id, v) in &e.server_settings {
            match crate::h2::frame::setting::name(*id) {
                Some(n) => s.u64(n, u64::from(*v)),
                None => s.u64(&format!("0x{id:x}"), u64::from(*v)),
            }
        }
        s.end();
        o.str(
            "note",
            "RFC 8441: a WebSocket over HTTP/2 is opened by an extended CONNECT, with no Sec-WebSocket-Key and no accept to verify",
        );
    }
}

fn frame(o: &mut Obj<'_>, e: &FrameEvent) {
    o.u64("conn", e.conn);
    // A WebSocket inside HTTP/2: its stream (an added field; others unchanged).
    if let Some(id) = e.session.stream {
        o.u64("stream", u64::from(id));
    }
    o.str("dir", e.dir.as_str());
    o.bool("fin", e.fin);
    o.u64("rsv", u64::from(e.rsv));
    o.u64("opcode", u64::from(e.opcode));
    o.opcode_name("opcode_name", e.opcode);
    o.bool("masked", e.masked);
    match e.mask_key {
        Some(k) => o.hex("mask_key", &k),
        None => o.null("mask_key"),
    }
    o.u64("len", e.len);
    o.payload_hex("payload_hex", &e.payload);
    o.bool("truncated", e.truncated);
    o.u64("captured", e.payload.len() as u64);
    o.u64("offset", e.offset);
    o.u64("len_bits", u64::from(e.len_bits));
    o.u64("header_len", u64::from(e.header_len));
    if e.opcode == 0x8 {
        o.opt_u64("close_code", e.close_code.map(u64::from));
        o.opt_str("close_reason", e.close_reason.as_deref());
    }
    if e.opcode == 0xA {
        o.opt_f64("rtt", e.rtt);
    }
    // Only on a frame whose header the stream ended inside: every other
    // frame record stays as it was.
    if let Some(n) = e.header_captured {
        o.u64("header_captured", u64::from(n));
    }
    o.packet("packet", e.packets.last);
    o.packet("first_packet", e.packets.first);
}

fn message(o: &mut Obj<'_>, e: &MessageEvent) {
    o.u64("conn", e.conn);
    // A WebSocket inside HTTP/2: its stream (an added field; others unchanged).
    if let Some(id) = e.session.stream {
        o.u64("stream", u64::from(id));
    }
    o.str("dir", e.dir.as_str());
    o.u64("opcode", u64::from(e.opcode));
    o.opcode_name("opcode_name", e.opcode);
    o.u64("frames", u64::from(e.frames));
    o.bool("compressed", e.compressed);
    o.u64("len", e.data.len() as u64);
    o.message_payload(e.is_text, &e.data);
    o.u64("wire_len", e.wire_len);
    o.opt_str("inflate_error", e.inflate_error.as_deref());
    o.bool("truncated", e.truncated);
    let p = e.packets.unwrap_or(PacketSpan { first: 0, last: 0 });
    o.packet("packet", p.last);
    o.packet("first_packet", p.first);
    o.packet("last_packet", p.last);
    o.u64("first_frame_offset", e.first_frame_offset);
    // Only on decoded messages (added fields): one object, or a list when
    // the message carried several application messages.
    if let Some(d) = &e.decoded {
        match d.items.as_slice() {
            [] => {}
            [one] => {
                o.key("decoded");
                app_message(o.out, one, &e.data);
            }
            many => {
                o.key("decoded");
                o.out.push(b'[');
                for (i, m) in many.iter().enumerate() {
                    if i > 0 {
                        o.out.push(b',');
                    }
                    app_message(o.out, m, &e.data);
                }
                o.out.push(b']');
            }
        }
        if let Some(err) = &d.error {
            o.str("decode_error", err);
        }
    }
}

/// One application message of a `message` record's `decoded`.
fn app_message(out: &mut Vec<u8>, m: &crate::app::AppMessage, data: &[u8]) {
    let mut o = Obj::new(out);
    o.str("protocol", m.protocol);
    o.str("kind", &m.kind);
    o.str("summary", &m.summary);
    o.opt_str("id", m.id.as_deref());
    if m.method.is_some() {
        o.opt_str("method", m.method.as_deref());
    }
    if m.event.is_some() {
        o.opt_str("event", m.event.as_deref());
    }
    if m.topic.is_some() {
        o.opt_str("topic", m.topic.as_deref());
    }
    o.key("tree");
    match m.raw_tree.and_then(|(a, b)| data.get(a..b)) {
        // The message's own JSON, copied when it is plain printable ASCII
        // (no line break, no terminal control, nothing to escape).
        Some(t) if t.iter().fold(true, |ok, &b| ok & (b.wrapping_sub(0x20) < 0x5f)) => {
            o.out.extend_from_slice(t)
        }
        Some(t) => match serde_json::from_slice::<serde_json::Value>(t) {
            Ok(v) => o.value(&v),
            Err(_) => o.out.extend_from_slice(b"null"),
        },
        None => o.value(&m.tree),
    }
    o.opt_f64("latency", m.latency);
    o.opt_u64("request_packet", m.request_packet);
    o.end();
}

/// The `app` object of a `close` record.
fn app_summary(out: &mut Vec<u8>, s: &crate::app::AppSummary) {
    let mut o = Obj::new(out);
    o.str("protocol", s.protocol);
    o.str("evidence", &s.evidence);
    o.key("latency");
    let mut l = Obj::new(o.out);
    for n in &s.latency {
        l.key_str(&n.name);
        let mut x = Obj::new(l.out);
        x.u64("count", n.count);
        x.opt_f64("min", Some(n.min));
        x.opt_f64("median", Some(n.median));
        x.opt_f64("p95", Some(n.p95));
        x.opt_f64("max", Some(n.max));
        x.end();
    }
    l.end();
    o.u64("unanswered", s.unanswered);
    match s.oldest_unanswered {
        Some((t, p)) => {
            o.ts("oldest_unanswered_ts", t);
            o.packet("oldest_unanswered_packet", p);
        }
        None => {
            o.null("oldest_unanswered_ts");
            o.null("oldest_unanswered_packet");
        }
    }
    o.end();
}

fn gap(o: &mut Obj<'_>, e: &GapEvent) {
    o.u64("conn", e.conn);
    o.str("dir", e.dir.as_str());
    o.u64("bytes", e.bytes);
    o.u64("offset", e.offset);
    o.str("reason", e.reason.as_str());
    o.packet("packet", e.packet);
    o.opt_u64("frame_offset", e.frame_offset);
}

fn violation(o: &mut Obj<'_>, e: &ViolationEvent) {
    o.u64("conn", e.conn);
    // A WebSocket inside HTTP/2: its stream (an added field; others unchanged).
    if let Some(id) = e.session.stream {
        o.u64("stream", u64::from(id));
    }
    o.opt_str("dir", e.dir.map(Dir::as_str));
    o.str("rule", e.rule);
    o.str("detail", &e.detail);
    o.packet("packet", e.packet);
    o.opt_u64("frame_offset", e.frame_offset);
}

fn http2(o: &mut Obj<'_>, e: &crate::event::Http2RequestEvent) {
    o.u64("conn", e.conn);
    o.opt_u64("stream", e.session.stream.map(u64::from));
    o.str("method", &e.method);
    o.str("path", &e.path);
    o.opt_str("authority", e.authority.as_deref());
    o.opt_u64("status", e.status.map(u64::from));
    o.packet("packet", e.packet);
    o.packet("response_packet", e.response_packet.unwrap_or(0));
}

/// A security finding (`wsscope audit`); `title` and `reference` come
/// from the rule's catalog entry.
fn finding(o: &mut Obj<'_>, e: &crate::event::FindingEvent) {
    o.u64("conn", e.conn);
    if let Some(id) = e.session.stream {
        o.u64("stream", u64::from(id));
    }
    o.str("rule", e.rule);
    o.str("severity", e.severity.as_str());
    o.key("packets");
    o.out.push(b'[');
    for (i, p) in e.packets.iter().enumerate() {
        if i > 0 {
            o.out.push(b',');
        }
        json_fmt::push_u64(o.out, *p);
    }
    o.out.push(b']');
    o.str("evidence", &e.evidence);
    o.str("detail", &e.detail);
    if let Some(r) = crate::audit::catalog::rule(e.rule) {
        o.str("title", r.title);
        o.str("reference", r.reference);
    }
}

fn diagnostic(o: &mut Obj<'_>, e: &DiagnosticEvent) {
    o.opt_u64("conn", e.conn);
    o.opt_str("dir", e.dir.map(Dir::as_str));
    o.str("code", e.code);
    o.str("detail", &e.detail);
    o.opt_u64("packet", e.packet);
}

fn close(o: &mut Obj<'_>, e: &ConnectionEndEvent) {
    o.u64("conn", e.conn);
    // An HTTP/2 WebSocket stream's own record (added field).
    if let Some(id) = e.stream {
        o.u64("stream", u64::from(id));
    }
    o.display("client", &e.client);
    o.display("server", &e.server);
    // The TCP connection's Community ID (an HTTP/2 stream's record too: the
    // same 4-tuple), to find it in other tools (added field).
    o.str(
        "community_id",
        &super::community_id::community_id(e.client, e.server),
    );
    o.ts("first_ts", e.first_ts);
    o.ts("last_ts", e.last_ts);
    o.opt_f64("duration", Some(e.last_ts.seconds_since(e.first_ts)));
    o.str("end", e.end.as_str());
    o.str("protocol", e.protocol_name());
    for dir in Dir::BOTH {
        let Some(s) = e.stats.get(dir.index()) else {
            continue;
        };
        o.key(dir.as_str());
        dir_stats(o.out, s);
    }
    o.opt_str("close_first", e.close_first.map(Dir::as_str));
    o.opt_f64("rtt_min", e.rtt.map(|r| r.0));
    o.opt_f64("rtt_median", e.rtt.map(|r| r.1));
    o.opt_f64("rtt_max", e.rtt.map(|r| r.2));
    o.bool("handshake_seen", e.handshake_seen);
    o.u64("violations", e.violations);
    // Only TLS connections carry it (added field; others unchanged).
    if let Some(t) = &e.tls {
        o.key("tls");
        tls_summary(o.out, t);
    }
    // Only connections whose messages were decoded (added field).
    if let Some(a) = &e.app {
        o.key("app");
        app_summary(o.out, a);
    }
    // Only HTTP/2 connections (added field).
    if matches!(
        e.protocol,
        crate::event::Protocol::H2 | crate::event::Protocol::H2WebSocket
    ) {
        o.u64("websocket_streams", e.h2_ws_streams);
    }
    o.packet("packet", e.last_packet);
    o.packet("first_packet", e.first_packet);
    o.packet("last_packet", e.last_packet);
}

fn dir_stats(out: &mut Vec<u8>, s: &DirStats) {
    let mut o = Obj::new(out);
    o.u64("packets", s.packets);
    o.u64("bytes", s.bytes);
    o.u64("stream_bytes", s.stream_bytes);
    o.u64("gaps", s.gaps);
    o.u64("gap_bytes", s.gap_bytes);
    o.bool("fin", s.fin);
    o.bool("rst", s.rst);
    o.u64("frames", s.frames);
    o.u64("messages", s.messages);
    o.opt_u64("close_code", s.close.as_ref().and_then(|c| c.0).map(u64::from));
    o.opt_str("close_reason", s.close.as_ref().and_then(|c| c.1.as_deref()));
    o.end();
}

/// A JSON object being written.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// What [`Obj::payload_hex`] and [`Obj::message_payload`] keep.
    payload: PayloadLimit,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj {
            out,
            first: true,
            payload: PayloadLimit::Full,
        }
    }

    fn end(self) {
        self.out.push(b'}');
    }

    /// Keys are fixed ASCII identifiers: no escaping needed.
    #[inline(always)]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A key that comes from the wire (escaped as any string).
    fn key_str(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.raw_str(k);
        self.out.push(b':');
    }

    /// Any JSON value, after [`Obj::key`], its strings escaped as every
    /// string here is (terminal controls too).
    fn value(&mut self, v: &serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(b) => self.out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Number(n) => {
                let _ = write!(self.out, "{n}");
            }
            Value::String(s) => self.raw_str(s),
            Value::Array(a) => {
                self.out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.value(x);
                }
                self.out.push(b']');
            }
            Value::Object(m) => {
                let mut o = Obj::new(self.out);
                for (k, x) in m {
                    o.key_str(k);
                    o.value(x);
                }
                o.end();
            }
        }
    }

    /// An array of strings, after [`Obj::key`].
    fn str_array(&mut self, v: &[String]) {
        self.out.push(b'[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.raw_str(s);
        }
        self.out.push(b']');
    }

    fn raw_str(&mut self, v: &str) {
        // Plain ASCII: escaped as serde_json escapes it (C0 controls, `"`, `\`).
        if json_fmt::push_ascii_str(self.out, v) {
            return;
        }
        // serde_json leaves DEL, C1 controls and bidi overrides raw, and
        // JSON Lines often lands on a terminal: escape those as \uXXXX too
        // (the same string for any JSON reader).
        self.out.push(b'"');
        let mut utf16 = [0u16; 2];
        let mut run = 0; // start of the characters not yet copied
        for (i, c) in v.char_indices() {
            let escaped = match c {
                '"' | '\\' => true,
                c => crate::output::text::is_unsafe_char(c),
            };
            if !escaped {
                continue;
            }
            self.out
                .extend_from_slice(v.get(run..i).unwrap_or_default().as_bytes());
            run = i + c.len_utf8();
            match c {
                '"' => self.out.extend_from_slice(b"\\\""),
                '\\' => self.out.extend_from_slice(b"\\\\"),
                c => {
                    for unit in c.encode_utf16(&mut utf16).iter() {
                        let _ = write!(self.out, "\\u{unit:04x}");
                    }
                }
            }
        }
        self.out
            .extend_from_slice(v.get(run..).unwrap_or_default().as_bytes());
        self.out.push(b'"');
    }

    #[inline(always)]
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.raw_str(v);
    }

    #[inline(always)]
    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    fn display(&mut self, k: &str, v: &dyn std::fmt::Display) {
        self.str(k, &v.to_string());
    }

    #[inline(always)]
    fn null(&mut self, k: &str) {
        self.key(k);
        self.out.extend_from_slice(b"null");
    }

    #[inline(always)]
    fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
    }

    fn opt_bool(&mut self, k: &str, v: Option<bool>) {
        match v {
            Some(v) => self.bool(k, v),
            None => self.null(k),
        }
    }

    #[inline(always)]
    fn u64(&mut self, k: &str, v: u64) {
        self.key(k);
        json_fmt::push_u64(self.out, v);
    }

    /// A packet number; 0 (no packet: the end of the input) as `null`.
    #[inline(always)]
    fn packet(&mut self, k: &str, v: u64) {
        self.opt_u64(k, Some(v).filter(|&p| p > 0));
    }

    #[inline(always)]
    fn opt_u64(&mut self, k: &str, v: Option<u64>) {
        match v {
            Some(v) => self.u64(k, v),
            None => self.null(k),
        }
    }

    fn opt_f64(&mut self, k: &str, v: Option<f64>) {
        match v {
            // Rust's Display for f64 never uses an exponent: valid JSON.
            Some(v) if v.is_finite() => {
                self.key(k);
                let _ = write!(self.out, "{v}");
            }
            _ => self.null(k),
        }
    }

    #[inline(always)]
    fn ts(&mut self, k: &str, t: Timestamp) {
        self.key(k);
        json_fmt::push_ts(self.out, t);
    }

    fn hex(&mut self, k: &str, bytes: &[u8]) {
        self.key(k);
        self.out.push(b'"');
        json_fmt::push_hex(self.out, bytes);
        self.out.push(b'"');
    }

    /// A payload in hex under the `--payload` limit: absent for `none`.
    fn payload_hex(&mut self, k: &str, bytes: &[u8]) {
        if let Some((kept, cut)) = self.payload.cut_bytes(bytes) {
            self.hex(k, kept);
            self.payload_cut(cut);
        }
    }

    /// A message's payload: `text` when it is text (lossy UTF-8), else
    /// `data_hex`, under the `--payload` limit (text cut on a character
    /// boundary).
    fn message_payload(&mut self, is_text: bool, data: &[u8]) {
        if self.payload == PayloadLimit::None {
            return;
        }
        if !is_text {
            return self.payload_hex("data_hex", data);
        }
        let lossy;
        let text = match simdutf8::basic::from_utf8(data) {
            Ok(s) => s,
            Err(_) => {
                lossy = String::from_utf8_lossy(data);
                &lossy
            }
        };
        if let Some((kept, cut)) = self.payload.cut_str(text) {
            self.str("text", kept);
            self.payload_cut(cut);
        }
    }

    /// `"payload_cut":true` after a payload field `--payload N` shortened.
    fn payload_cut(&mut self, cut: bool) {
        if cut {
            self.bool("payload_cut", true);
        }
    }

    fn opcode_name(&mut self, k: &str, op: u8) {
        self.str(k, &crate::ws::frame::Opcode(op).name());
    }

    fn headers(&mut self, k: &str, h: &[(String, String)]) {
        self.key(k);
        self.out.push(b'[');
        for (i, (n, v)) in h.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.push(b'[');
            self.raw_str(n);
            self.out.push(b',');
            self.raw_str(v);
            self.out.push(b']');
        }
        self.out.push(b']');
    }
}

/// `--payload` and the string escaping, beside the contract tests below.
#[cfg(test)]
mod tests;
