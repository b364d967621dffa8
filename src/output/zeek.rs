//! Zeek's `websocket.log`: one row per WebSocket session, in the TSV that
//! Zeek's ASCII writer writes, so Zeek tooling (zeek-cut, Security Onion,
//! Malcolm, Brim/Zui, RITA) reads it beside Zeek's own logs.
//!
//! The first 13 columns are exactly those of Zeek's
//! `base/protocols/websocket/main.zeek` (names, types, order); ours follow,
//! so a reader that knows only Zeek's ignores them: the Community ID, the
//! HTTP/2 stream, the answer, and the session's counters from its `close`
//! record (frames, messages, stream bytes, close codes, ping round trip,
//! violations) — what Zeek's own log does not have.
//!
//! A row is written when the session's `close` record arrives (only then
//! are the counters known); until then the handshake's few facts wait here,
//! per connection and stream, and go as soon as that record has been
//! written: what waits is bounded by the sessions open at once, as the
//! analyzer's own state is.
//!
//! Values are escaped as Zeek's ASCII writer escapes them, so that Zeek's
//! reader parses every field back to the same bytes: the separator (tab),
//! inside a vector the set separator (`,`), and unprintable bytes as
//! `\xNN`; a string that is exactly `-` or `(empty)` with its first byte as
//! `\xNN` (else it would read as unset or empty). Two more than Zeek: a
//! backslash is escaped too (Zeek's reader turns any `\xNN` text into a
//! byte, so a raw `\x41` in a header would not read back as itself), and
//! so are UTF-8 terminal controls and bidi overrides (printable UTF-8 stays
//! raw, as Zeek's `enable_utf_8` writes it), since header values come off
//! the wire and the log often lands on a terminal.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::net::SocketAddr;

use super::WriteLatch;
use super::community_id::community_id;
use crate::event::{ConnId, ConnectionEndEvent, Dir, DirStats, Event, EventSink, HandshakeEvent, Timestamp};

/// The columns: Zeek's websocket.log's, then ours (name, Zeek type).
pub const COLUMNS: [(&str, &str); 31] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("host", "string"),
    ("uri", "string"),
    ("user_agent", "string"),
    ("subprotocol", "string"),
    ("client_protocols", "vector[string]"),
    ("server_extensions", "vector[string]"),
    ("client_extensions", "vector[string]"),
    // Ours from here on.
    ("community_id", "string"),
    ("stream", "count"),
    ("http_version", "string"),
    ("status", "count"),
    ("accept_ok", "bool"),
    ("frames_c2s", "count"),
    ("frames_s2c", "count"),
    ("messages_c2s", "count"),
    ("messages_s2c", "count"),
    ("bytes_c2s", "count"),
    ("bytes_s2c", "count"),
    ("close_code_c2s", "count"),
    ("close_code_s2c", "count"),
    ("close_first", "string"),
    ("rtt_median", "interval"),
    ("violations", "count"),
    ("end", "string"),
    ("duration", "interval"),
];

/// How many of [`COLUMNS`] are Zeek's own.
pub const ZEEK_COLUMNS: usize = 13;

/// What a row needs of a handshake, kept until its session's close record.
#[derive(Debug, Clone)]
struct Facts {
    ts: Timestamp,
    host: Option<String>,
    uri: String,
    user_agent: Option<String>,
    subprotocol: Option<String>,
    client_protocols: Vec<String>,
    server_extensions: Option<Vec<String>>,
    client_extensions: Option<Vec<String>>,
    http_version: &'static str,
    status: Option<u16>,
    accept_ok: Option<bool>,
}

impl Facts {
    fn of(e: &HandshakeEvent) -> Self {
        Facts {
            // Zeek's script stamps the row when the upgrade is established
            // (`network_time()` at `websocket_established`: the answer);
            // without a captured answer, the request's time.
            ts: e.response_ts.unwrap_or(e.ts),
            host: e.host.clone(),
            uri: e.path.clone(),
            user_agent: e
                .request_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
                .map(|(_, v)| v.clone()),
            subprotocol: e.server_subprotocol.clone(),
            client_protocols: e.client_subprotocols.clone(),
            server_extensions: e.server_extensions.as_deref().map(split_list),
            client_extensions: e.client_extensions.as_deref().map(split_list),
            http_version: e.http_version.unwrap_or("1.1"),
            status: e.status,
            accept_ok: e.accept_ok,
        }
    }
}

/// A header's list as Zeek's script splits it: `split_string(value, / *, */)`
/// (a comma and the spaces around it; a parameter's `;` stays inside its
/// extension).
fn split_list(v: &str) -> Vec<String> {
    let parts: Vec<&str> = v.split(',').collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p = if i > 0 { p.trim_start_matches(' ') } else { p };
            let p = if i < last { p.trim_end_matches(' ') } else { p };
            p.to_string()
        })
        .collect()
}

/// Writes Zeek's `websocket.log` (see the module docs).
///
/// `#open` and `#close` carry the time of the capture's first event (its
/// first TCP packet) and of its latest, not the wall clock Zeek writes:
/// the same capture always gives the same bytes, and the times say what
/// the log covers.
pub struct ZeekSink<W: Write> {
    w: W,
    latch: WriteLatch,
    /// Feeds the uids (see [`uid`]).
    capture: String,
    header: bool,
    footer: bool,
    header_written: bool,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    /// Handshakes waiting for their session's close record, by connection
    /// and HTTP/2 stream (`None`: HTTP/1.1, the connection itself), in the
    /// order they came.
    pending: BTreeMap<(ConnId, Option<u32>), Vec<Facts>>,
    /// Each open connection's client and server (from its `connection`
    /// record, until its `close`), for a row whose close never comes.
    ends: HashMap<ConnId, (SocketAddr, SocketAddr)>,
    buf: Vec<u8>,
}

impl<W: Write> ZeekSink<W> {
    /// A log with its header and footer, uids from an empty capture name.
    pub fn new(w: W) -> Self {
        ZeekSink {
            w,
            latch: WriteLatch::default(),
            capture: String::new(),
            header: true,
            footer: true,
            header_written: false,
            first_ts: None,
            last_ts: None,
            pending: BTreeMap::new(),
            ends: HashMap::new(),
            buf: Vec::with_capacity(1024),
        }
    }

    /// The capture's name (its file name), hashed into every uid so that
    /// connection 0 of two captures gets two uids.
    pub fn capture_name(mut self, name: &str) -> Self {
        self.capture = name.to_string();
        self
    }

    /// Whether to write the `#` header (default true); false for the
    /// second and later captures of one concatenated log.
    pub fn header(mut self, on: bool) -> Self {
        self.header = on;
        self
    }

    /// Whether to write the `#close` footer (default true); false for all
    /// but the last capture of one concatenated log.
    pub fn footer(mut self, on: bool) -> Self {
        self.footer = on;
        self
    }

    /// Whether a write failed (nothing more is written; `finish` returns it).
    pub fn failed(&self) -> bool {
        self.latch.failed()
    }

    pub fn into_inner(self) -> W {
        self.w
    }

    fn on_event(&mut self, ev: &Event) -> io::Result<()> {
        let ts = ev.ts();
        if self.first_ts.is_none() {
            self.first_ts = Some(ts);
        }
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        match ev {
            Event::Handshake(h) => {
                let key = (h.conn, h.session.stream);
                self.pending.entry(key).or_default().push(Facts::of(h));
                Ok(())
            }
            Event::Connection(c) => {
                self.ends.insert(c.conn, (c.client, c.server));
                Ok(())
            }
            Event::Close(c) => {
                if c.stream.is_none() {
                    self.ends.remove(&c.conn);
                }
                self.close(c)
            }
            _ => Ok(()),
        }
    }

    /// The rows a close record ends: a stream's record ends that stream's
    /// session; a connection's ends its own and any stream still waiting.
    fn close(&mut self, c: &ConnectionEndEvent) -> io::Result<()> {
        if let Some(stream) = c.stream {
            let facts = self.pending.remove(&(c.conn, Some(stream))).unwrap_or_default();
            return self.rows(c, Some(stream), facts, true);
        }
        let keys: Vec<_> = self
            .pending
            .range((c.conn, None)..=(c.conn, Some(u32::MAX)))
            .map(|(k, _)| *k)
            .collect();
        let mut own = None;
        for key in keys {
            let facts = self.pending.remove(&key).unwrap_or_default();
            match key.1 {
                None => own = Some(facts),
                // A stream whose own record never came: no counters.
                Some(s) => self.rows(c, Some(s), facts, false)?,
            }
        }
        match own {
            Some(facts) => self.rows(c, None, facts, true),
            // A WebSocket picked up without its handshake: a row all the
            // same, its handshake columns unset. (An HTTP/2 connection's
            // sessions are its streams: they had their rows.)
            None if c.protocol == crate::event::Protocol::WebSocket => self.rows(c, None, Vec::new(), true),
            None => Ok(()),
        }
    }

    /// One row per handshake in `facts` (one without handshake facts when
    /// empty); the last one is the session and gets `c`'s counters when
    /// `counted` (earlier ones were answered before another request on
    /// the same connection: not the WebSocket).
    fn rows(
        &mut self,
        c: &ConnectionEndEvent,
        stream: Option<u32>,
        facts: Vec<Facts>,
        counted: bool,
    ) -> io::Result<()> {
        self.write_header()?;
        let uid = uid(&self.capture, c.conn, stream);
        let ends = Some((c.client, c.server));
        let n = facts.len();
        if n == 0 {
            self.buf.clear();
            row(&mut self.buf, &uid, ends, stream, None, counted.then_some(c));
            return self.w.write_all(&self.buf);
        }
        for (i, f) in facts.iter().enumerate() {
            self.buf.clear();
            let counters = (counted && i + 1 == n).then_some(c);
            row(&mut self.buf, &uid, ends, stream, Some(f), counters);
            self.w.write_all(&self.buf)?;
        }
        Ok(())
    }

    /// The `#` header, once (when wanted), stamped with the first event's time.
    fn write_header(&mut self) -> io::Result<()> {
        if self.header_written || !self.header {
            return Ok(());
        }
        self.header_written = true;
        let mut h = String::with_capacity(1024);
        h.push_str("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n");
        h.push_str("#path\twebsocket\n");
        h.push_str(&format!(
            "#open\t{}\n",
            log_time(self.first_ts.unwrap_or_default())
        ));
        h.push_str("#fields");
        for (name, _) in COLUMNS {
            h.push('\t');
            h.push_str(name);
        }
        h.push_str("\n#types");
        for (_, ty) in COLUMNS {
            h.push('\t');
            h.push_str(ty);
        }
        h.push('\n');
        self.w.write_all(h.as_bytes())
    }

    fn end(&mut self) -> io::Result<()> {
        // Sessions whose close record never came (the input stopped
        // early): their rows without counters.
        for ((conn, stream), facts) in std::mem::take(&mut self.pending) {
            self.write_header()?;
            let uid = uid(&self.capture, conn, stream);
            let ends = self.ends.get(&conn).copied();
            for f in &facts {
                self.buf.clear();
                row(&mut self.buf, &uid, ends, stream, Some(f), None);
                self.w.write_all(&self.buf)?;
            }
        }
        self.write_header()?;
        if self.footer {
            let close = log_time(self.last_ts.unwrap_or_default());
            self.w.write_all(format!("#close\t{close}\n").as_bytes())?;
        }
        self.w.flush()
    }
}

impl<W: Write> EventSink for ZeekSink<W> {
    fn event(&mut self, ev: Event) {
        self.event_ref(&ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        if self.latch.failed() {
            return;
        }
        let res = self.on_event(ev);
        self.latch.keep(res);
    }

    fn reads_only(&self) -> bool {
        true
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.latch.failed() {
            return self.latch.finish(|| Ok(()));
        }
        let res = self.end();
        self.latch.keep(res);
        self.latch.finish(|| Ok(()))
    }
}

/// A Zeek-style uid, `C` and base62 (up to 17 digits) of the first 96 bits
/// of SHA-1(capture name, NUL, the connection number in decimal, and for
/// an HTTP/2 stream `/` and its id). Zeek draws its uids at random; ours
/// are derived, so every run over a capture gives the same ones, and the
/// capture name keeps two captures' connection 0 apart.
pub fn uid(capture: &str, conn: ConnId, stream: Option<u32>) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(capture.as_bytes());
    h.update([0]);
    h.update(conn.to_string().as_bytes());
    if let Some(s) = stream {
        h.update(format!("/{s}").as_bytes());
    }
    let d = h.finalize();
    let mut n = d.iter().take(12).fold(0u128, |n, &b| (n << 8) | u128::from(b));
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(18);
    loop {
        out.push(DIGITS[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    out.push(b'C');
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// `#open`/`#close`: `YYYY-MM-DD-HH-MM-SS` (UTC).
fn log_time(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.secs, 0).map_or_else(
        || "1970-01-01-00-00-00".to_string(),
        |d| d.format("%Y-%m-%d-%H-%M-%S").to_string(),
    )
}

/// One row: the handshake's facts (unset without them), the session's
/// counters from its close record (unset without one); `ends` are the
/// client and the server.
fn row(
    out: &mut Vec<u8>,
    uid: &str,
    ends: Option<(SocketAddr, SocketAddr)>,
    stream: Option<u32>,
    f: Option<&Facts>,
    c: Option<&ConnectionEndEvent>,
) {
    let mut r = Row::new(out);
    // A handshake's time, else (picked up mid-stream) the connection's first.
    match (f, c) {
        (Some(f), _) => r.time(Some(f.ts)),
        (None, c) => r.time(c.map(|c| c.first_ts)),
    }
    r.str(Some(uid));
    match ends {
        Some((client, server)) => {
            r.raw(&client.ip().to_string());
            r.raw(&client.port().to_string());
            r.raw(&server.ip().to_string());
            r.raw(&server.port().to_string());
        }
        None => (0..4).for_each(|_| r.unset()),
    }
    handshake_columns(&mut r, f);
    r.str(ends.map(|(a, b)| community_id(a, b)).as_deref());
    r.count(stream.map(u64::from));
    r.str(f.map(|f| f.http_version));
    r.count(f.and_then(|f| f.status).map(u64::from));
    r.bool(f.and_then(|f| f.accept_ok));
    let counters: [fn(&DirStats) -> u64; 3] = [|d| d.frames, |d| d.messages, |d| d.stream_bytes];
    for get in counters {
        for dir in Dir::BOTH {
            r.count(c.and_then(|c| c.stats.get(dir.index())).map(get));
        }
    }
    for dir in Dir::BOTH {
        let code = c
            .and_then(|c| c.stats.get(dir.index()))
            .and_then(|d| d.close.as_ref())
            .and_then(|(code, _)| *code);
        r.count(code.map(u64::from));
    }
    r.str(c.and_then(|c| c.close_first).map(Dir::as_str));
    r.interval(c.and_then(|c| c.rtt).map(|r| r.1));
    r.count(c.map(|c| c.violations));
    r.str(c.map(|c| c.end.as_str()));
    r.interval(c.map(|c| c.last_ts.seconds_since(c.first_ts)));
    r.finish();
}

/// Zeek's columns host … client_extensions.
fn handshake_columns(r: &mut Row<'_>, f: Option<&Facts>) {
    r.str(f.and_then(|f| f.host.as_deref()));
    r.str(f.map(|f| f.uri.as_str()));
    r.str(f.and_then(|f| f.user_agent.as_deref()));
    r.str(f.and_then(|f| f.subprotocol.as_deref()));
    // Zeek leaves a vector unset when no such header came.
    r.vector(f.map(|f| f.client_protocols.as_slice()).filter(|v| !v.is_empty()));
    r.vector(f.and_then(|f| f.server_extensions.as_deref()));
    r.vector(f.and_then(|f| f.client_extensions.as_deref()));
}

/// A row being written: fields separated by tabs.
struct Row<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Row<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Row { out, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(b'\t');
        }
        self.first = false;
    }

    fn finish(self) {
        self.out.push(b'\n');
    }

    /// A value that needs no escaping (numbers, addresses, our own words).
    fn raw(&mut self, v: &str) {
        self.sep();
        self.out.extend_from_slice(v.as_bytes());
    }

    fn unset(&mut self) {
        self.raw("-");
    }

    fn str(&mut self, v: Option<&str>) {
        self.sep();
        match v {
            Some(v) => escape_into(self.out, v, false),
            None => self.out.push(b'-'),
        }
    }

    fn vector(&mut self, v: Option<&[String]>) {
        self.sep();
        match v {
            None => self.out.push(b'-'),
            Some([]) => self.out.extend_from_slice(b"(empty)"),
            Some(items) => {
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    escape_into(self.out, s, true);
                }
            }
        }
    }

    fn count(&mut self, v: Option<u64>) {
        match v {
            Some(n) => self.raw(&n.to_string()),
            None => self.unset(),
        }
    }

    fn bool(&mut self, v: Option<bool>) {
        match v {
            Some(b) => self.raw(if b { "T" } else { "F" }),
            None => self.unset(),
        }
    }

    /// Epoch seconds with six decimals, as Zeek writes a `time`.
    fn time(&mut self, t: Option<Timestamp>) {
        match t {
            Some(t) => self.raw(&time_str(t)),
            None => self.unset(),
        }
    }

    /// Seconds with six decimals, as Zeek writes an `interval`.
    fn interval(&mut self, v: Option<f64>) {
        match v {
            Some(s) if s.is_finite() => self.raw(&format!("{s:.6}")),
            _ => self.unset(),
        }
    }
}

/// `t` as `%.6f` epoch seconds, rounded to the microsecond exactly (from
/// the integer seconds and nanoseconds, not through a float).
fn time_str(t: Timestamp) -> String {
    let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
    // Round half away from zero, as printf does for these exact values.
    let micros = if total >= 0 {
        (total + 500) / 1000
    } else {
        (total - 500) / 1000
    };
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

/// `v` as Zeek's ASCII writer writes a string (see the module docs):
/// `(empty)` when empty; a value equal to `-` or `(empty)` with its first
/// byte escaped; tab, backslash, terminal controls, bidi overrides and (in
/// a vector) the set separator `,` as `\xNN` per byte.
fn escape_into(out: &mut Vec<u8>, v: &str, in_vector: bool) {
    if v.is_empty() {
        out.extend_from_slice(b"(empty)");
        return;
    }
    let mut rest = v;
    if v == "-" || v == "(empty)" {
        push_hex_byte(out, v.as_bytes().first().copied().unwrap_or(b'-'));
        rest = v.get(1..).unwrap_or_default();
    }
    let mut utf8 = [0u8; 4];
    for ch in rest.chars() {
        let escaped =
            ch == '\t' || ch == '\\' || (in_vector && ch == ',') || crate::output::text::is_unsafe_char(ch);
        if escaped {
            for b in ch.encode_utf8(&mut utf8).bytes() {
                push_hex_byte(out, b);
            }
        } else {
            out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

fn push_hex_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
}

#[cfg(test)]
mod tests;
