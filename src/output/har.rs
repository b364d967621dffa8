//! `export --format har`: an HTTP Archive 1.2 log
//! (<http://www.softwareishard.com/blog/har-12-spec/>) with one entry per
//! WebSocket session — its upgrade request and response — and the
//! session's messages in `_webSocketMessages`, as Chrome DevTools writes
//! them (`{"type":"send"|"receive","time":…,"opcode":1|2,"data":…}`).
//!
//! Design: the export's [`super::export::ExportSink`] selects, exactly as
//! for `--format jsonl`; this writer is its [`EventWriter`] and receives a
//! selected connection's `connection`/`tls`/`handshake` records, its
//! selected messages, then its `close`. The document is written as a
//! stream: the log's head before the first entry, each entry when its
//! connection ends, the closing brackets at the end — never one tree of the
//! whole capture. Connections interleave, so an entry's bytes (rendered
//! JSON, not events) wait until its connection ends; what waits is bounded
//! by the run's output share of `--max-memory` ([`HeldBytes`]): past it,
//! every waiting entry's bytes so far go to one temporary file and are
//! copied back when the entry is written. Entries therefore come in the
//! order connections end (the spec asks readers to sort by
//! `startedDateTime`).

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

mod held;
mod json;

use super::export_jsonl::EventWriter;
use crate::event::{ConnId, Dir, Event, HandshakeEvent, MessageEvent, SessionId, Timestamp};
use base64::Engine;
use held::HeldBytes;
use json::{iso_8601, str as json_str};
use rustc_hash::FxHashMap;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Bytes a selected connection costs while open besides its entries' bytes:
/// the map slot, the addresses, the session list.
const CONN_OVERHEAD: usize = 256;

/// A connection whose entries are being assembled.
struct OpenConn {
    server: SocketAddr,
    tls: bool,
    /// Handshakes seen, until their session's first message renders them.
    handshakes: Vec<HandshakeEvent>,
    /// Sessions with an entry, in order of their first message.
    sessions: Vec<SessionId>,
}

/// Writes the selection as one HAR document.
pub struct HarWriter<'a> {
    out: &'a mut dyn Write,
    conns: FxHashMap<ConnId, OpenConn>,
    /// Each open entry's rendered bytes, within the output share.
    held: HeldBytes,
    /// Bytes of open connections other than their entries.
    overhead: usize,
    entries: u64,
    head_written: bool,
    closed: bool,
}

impl<'a> HarWriter<'a> {
    /// A writer into `out`; entries' bytes wait in memory up to `limit`
    /// bytes, beyond in a temporary file.
    pub fn new(out: &'a mut dyn Write, limit: usize) -> Self {
        HarWriter {
            out,
            conns: FxHashMap::default(),
            held: HeldBytes::new(limit),
            overhead: 0,
            entries: 0,
            head_written: false,
            closed: false,
        }
    }

    /// Entries' bytes that had to wait on disk.
    pub fn spilled_bytes(&self) -> u64 {
        self.held.spilled_bytes()
    }

    fn head(&mut self) -> io::Result<()> {
        if !self.head_written {
            self.head_written = true;
            write!(
                self.out,
                "{{\"log\":{{\"version\":\"1.2\",\"creator\":{{\"name\":\"wsscope\",\"version\":\"{}\"}},\"entries\":[",
                env!("CARGO_PKG_VERSION")
            )?;
        }
        Ok(())
    }

    fn message(&mut self, m: &MessageEvent) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(&m.conn) else {
            return Ok(());
        };
        let mut bytes = Vec::with_capacity(m.data.len().saturating_mul(4) / 3 + 128);
        if conn.sessions.contains(&m.session) {
            bytes.push(b',');
        } else {
            conn.sessions.push(m.session);
            let pos = conn.handshakes.iter().position(|h| h.session == m.session);
            let hs = pos.map(|i| conn.handshakes.swap_remove(i));
            // Rendered into the entry now: its bytes are counted there.
            if let Some(h) = &hs {
                self.overhead = self.overhead.saturating_sub(handshake_cost(h));
            }
            let (server, tls) = (conn.server, conn.tls);
            entry_head(&mut bytes, m.conn, server, tls, hs.as_ref(), m.ts);
        }
        message_json(&mut bytes, m);
        self.held.append(m.session, &bytes, self.overhead)
    }

    /// Writes the entries of a connection that ended.
    fn close(&mut self, conn: ConnId, end: &str) -> io::Result<()> {
        let Some(c) = self.conns.remove(&conn) else {
            return Ok(());
        };
        self.overhead = self.overhead.saturating_sub(conn_cost(&c));
        for session in c.sessions {
            self.head()?;
            if self.entries > 0 {
                self.out.write_all(b",")?;
            }
            self.entries = self.entries.saturating_add(1);
            self.held.write_out(session, &mut *self.out)?;
            let mut tail = Vec::with_capacity(32);
            tail.extend_from_slice(b"],\"_wsscopeEnd\":");
            json_str(&mut tail, end);
            tail.push(b'}');
            self.out.write_all(&tail)?;
        }
        Ok(())
    }
}

fn conn_cost(c: &OpenConn) -> usize {
    let hs: usize = c.handshakes.iter().map(handshake_cost).sum();
    CONN_OVERHEAD.saturating_add(hs)
}

fn handshake_cost(h: &HandshakeEvent) -> usize {
    let headers = |v: &[(String, String)]| -> usize { v.iter().map(|(n, v)| n.len() + v.len() + 48).sum() };
    512 + h.path.len() + headers(&h.request_headers) + headers(&h.response_headers)
}

impl EventWriter for HarWriter<'_> {
    fn write_event(&mut self, ev: &Event) -> io::Result<()> {
        match ev {
            Event::Connection(c) => {
                let open = OpenConn {
                    server: c.server,
                    tls: false,
                    handshakes: Vec::new(),
                    sessions: Vec::new(),
                };
                self.overhead = self.overhead.saturating_add(conn_cost(&open));
                self.conns.insert(c.conn, open);
            }
            Event::Tls(t) => {
                if let Some(c) = self.conns.get_mut(&t.conn) {
                    c.tls = true;
                }
            }
            Event::Handshake(h) => {
                if let Some(c) = self.conns.get_mut(&h.conn)
                    && !c.sessions.contains(&h.session)
                    && !c.handshakes.iter().any(|x| x.session == h.session)
                {
                    self.overhead = self.overhead.saturating_add(handshake_cost(h));
                    c.handshakes.push(HandshakeEvent::clone(h));
                }
            }
            Event::Message(m) => self.message(m)?,
            // An HTTP/2 stream's record: its connection goes on.
            Event::Close(c) if c.stream.is_some() => {}
            Event::Close(c) => self.close(c.conn, c.end.as_str())?,
            // Control frames are not in `_webSocketMessages` (the command
            // refuses a selection of them); nothing else reaches a writer.
            _ => {}
        }
        Ok(())
    }

    /// Ends the document: entries of connections still open (none when the
    /// analysis closed them all), then the closing brackets.
    fn flush(&mut self) -> io::Result<()> {
        if !self.closed {
            let mut open: Vec<ConnId> = self.conns.keys().copied().collect();
            open.sort_unstable();
            for c in open {
                self.close(c, "open")?;
            }
            self.head()?;
            self.out.write_all(b"]}}\n")?;
            self.closed = true;
        }
        self.out.flush()
    }
}

/// The entry up to and including the opening `[` of `_webSocketMessages`:
/// the upgrade request and response (or what can be said without them).
fn entry_head(
    out: &mut Vec<u8>,
    conn: ConnId,
    server: SocketAddr,
    tls: bool,
    hs: Option<&HandshakeEvent>,
    first_message: Timestamp,
) {
    let started = hs.map_or(first_message, |h| h.ts);
    // The upgrade's request and response are each taken as sent at once
    // (one timestamp each): `send` and `receive` are 0, `wait` the time
    // between them.
    let wait_ms = hs
        .and_then(|h| h.response_ts.map(|r| r.seconds_since(h.ts) * 1000.0))
        .filter(|w| w.is_finite())
        .map_or(0.0, |w| w.max(0.0));
    out.extend_from_slice(b"{\"startedDateTime\":");
    json_str(out, &iso_8601(started));
    let _ = write!(out, ",\"time\":{wait_ms:.3},\"request\":");
    request(out, server, tls, hs);
    out.extend_from_slice(b",\"response\":");
    response(out, hs);
    let _ = write!(
        out,
        ",\"cache\":{{}},\"timings\":{{\"blocked\":-1,\"dns\":-1,\"connect\":-1,\"ssl\":-1,\"send\":0,\"wait\":{wait_ms:.3},\"receive\":0}},\"serverIPAddress\":"
    );
    json_str(out, &server.ip().to_string());
    let _ = write!(
        out,
        ",\"connection\":\"{conn}\",\"_resourceType\":\"websocket\",\"_wsscopeConn\":{conn},\"_wsscopeHandshakeCaptured\":{},\"_webSocketMessages\":[",
        hs.is_some()
    );
}

/// `ws://host/path` (`wss://` over TLS), as Chrome DevTools records the
/// upgrade's URL: from the Host header, else the server's address.
pub fn ws_url(server: SocketAddr, tls: bool, hs: Option<&HandshakeEvent>) -> String {
    let scheme = if tls { "wss" } else { "ws" };
    let path = hs.map_or("/", |h| h.path.as_str());
    // An absolute-form target (a proxy request) already names the host.
    for (from, to) in [
        ("http://", "ws://"),
        ("https://", "wss://"),
        ("ws://", "ws://"),
        ("wss://", "wss://"),
    ] {
        if path
            .get(..from.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(from))
        {
            return format!("{to}{}", path.get(from.len()..).unwrap_or_default());
        }
    }
    let host = hs
        .and_then(|h| h.host.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| server.to_string());
    let slash = if path.starts_with('/') { "" } else { "/" };
    format!("{scheme}://{host}{slash}{path}")
}

fn request(out: &mut Vec<u8>, server: SocketAddr, tls: bool, hs: Option<&HandshakeEvent>) {
    out.extend_from_slice(b"{\"method\":");
    json_str(out, hs.map_or("GET", |h| h.method.as_str()));
    out.extend_from_slice(b",\"url\":");
    json_str(out, &ws_url(server, tls, hs));
    // The upgrade is HTTP/1.1 (RFC 6455 §4.1); the analyzer keeps no other version.
    out.extend_from_slice(b",\"httpVersion\":\"HTTP/1.1\",\"headers\":");
    let headers = hs.map_or(&[][..], |h| h.request_headers.as_slice());
    pairs(out, headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    out.extend_from_slice(b",\"queryString\":");
    let query = hs.and_then(|h| h.path.split_once('?')).map_or("", |(_, q)| q);
    pairs(
        out,
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, ""))),
    );
    out.extend_from_slice(b",\"cookies\":");
    let cookies = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| c.split_once('=').unwrap_or((c, "")));
    pairs(out, cookies);
    out.extend_from_slice(b",\"headersSize\":-1,\"bodySize\":0}");
}

fn response(out: &mut Vec<u8>, hs: Option<&HandshakeEvent>) {
    let answered = hs.and_then(|h| h.status.map(|s| (h, s)));
    let status = answered.map_or(0, |(_, s)| s);
    out.extend_from_slice(b"{\"status\":");
    let _ = write!(out, "{status}");
    out.extend_from_slice(b",\"statusText\":");
    json_str(out, answered.and_then(|(h, _)| h.reason.as_deref()).unwrap_or(""));
    out.extend_from_slice(b",\"httpVersion\":");
    json_str(out, if answered.is_some() { "HTTP/1.1" } else { "" });
    out.extend_from_slice(b",\"headers\":");
    let headers = answered.map_or(&[][..], |(h, _)| h.response_headers.as_slice());
    pairs(out, headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    out.extend_from_slice(b",\"cookies\":");
    let cookies = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap_or_default().trim())
        .map(|c| c.split_once('=').unwrap_or((c, "")));
    pairs(out, cookies);
    let location = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map_or("", |(_, v)| v.as_str());
    out.extend_from_slice(b",\"content\":{\"size\":0,\"mimeType\":\"x-unknown\"},\"redirectURL\":");
    json_str(out, location);
    // A 101 has no body; another status's body was not kept.
    let body = if status == 101 { "0" } else { "-1" };
    let _ = write!(out, ",\"headersSize\":-1,\"bodySize\":{body}}}");
}

/// `[{"name":…,"value":…},…]`.
fn pairs<'s>(out: &mut Vec<u8>, items: impl Iterator<Item = (&'s str, &'s str)>) {
    out.push(b'[');
    for (i, (name, value)) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        json_str(out, name);
        out.extend_from_slice(b",\"value\":");
        json_str(out, value);
        out.push(b'}');
    }
    out.push(b']');
}

/// One `_webSocketMessages` item. Text (opcode 1) whose bytes are valid
/// UTF-8 is the text; every other payload is base64, as Chrome writes
/// binary — text that is not (invalid UTF-8, or compressed bytes that
/// could not be inflated) says so with `_wsscopeEncoding: "base64"`.
fn message_json(out: &mut Vec<u8>, m: &MessageEvent) {
    let kind = match m.dir {
        Dir::C2S => "send",
        Dir::S2C => "receive",
    };
    let _ = write!(
        out,
        "{{\"type\":\"{kind}\",\"time\":{},\"opcode\":{},\"data\":",
        m.ts.to_decimal(),
        m.opcode
    );
    let text = (m.opcode == 1 && m.inflate_error.is_none())
        .then(|| std::str::from_utf8(&m.data).ok())
        .flatten();
    match text {
        Some(t) => json_str(out, t),
        None => {
            out.push(b'"');
            let b64 = base64::engine::general_purpose::STANDARD.encode(&m.data);
            out.extend_from_slice(b64.as_bytes());
            out.push(b'"');
            if m.opcode == 1 {
                out.extend_from_slice(b",\"_wsscopeEncoding\":\"base64\"");
            }
        }
    }
    if m.truncated {
        out.extend_from_slice(b",\"_wsscopeTruncated\":true");
    }
    if let Some(e) = &m.inflate_error {
        out.extend_from_slice(b",\"_wsscopeInflateError\":");
        json_str(out, e);
    }
    out.push(b'}');
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests;
