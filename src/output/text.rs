//! The human timeline of `wsscope dump`: one line per event.
//!
//! ```text
//! 22:13:20.123456 #0 handshake GET /chat host=example.com → 101 Switching Protocols, accept ok (packets 4-6)
//! 22:13:20.123789 #0 → text         FIN M          5  "Hello" (packet 8)
//! 22:13:20.124001 #0 ← binary       FIN            4  de ad be ef (packets 9-10)
//! ```
//!
//! `#0` is the connection (`tcp.stream`); the packet numbers at the end are
//! Wireshark's `frame.number`s, at the end so that the columns before them
//! stay where scripts expect them.
//!
//! Nothing from the wire is written raw: [`sanitize_preview`] renders control
//! characters, ESC, DEL, C1 controls and bidi/zero-width format characters
//! as inert escapes (`\x1b`, `\u{202e}`).

pub mod time;

use std::fmt::Write as _;
use std::io::{self, Write};

use super::WriteLatch;
use crate::event::{
    ConnectionEndEvent, ConnectionEvent, DiagnosticEvent, Event, EventSink, FrameEvent, GapEvent,
    HandshakeEvent, MessageEvent, PacketSpan, ViolationEvent,
};

/// Default preview width in characters (`--payload N` sets another; 0
/// prints none, `usize::MAX` whole payloads).
pub const PREVIEW_CHARS: usize = 60;

/// Writes the timeline.
pub struct TextSink<W: Write> {
    w: W,
    latch: WriteLatch,
    line: String,
    /// The line after its time, written before the time is (`-t d` counts
    /// from the previous line *printed*).
    body: String,
    /// Flush after every line (live capture: lines appear as packets arrive).
    flush_each: bool,
    /// Writes each line's time (`-t`; UTC time of day by default).
    clock: time::Clock,
    /// Payload preview width in characters (`--payload`).
    preview: usize,
    /// A line for every message, not only those no frame line shows.
    all_messages: bool,
}

impl<W: Write> TextSink<W> {
    pub fn new(w: W) -> Self {
        TextSink {
            w,
            latch: WriteLatch::default(),
            line: String::new(),
            body: String::new(),
            flush_each: false,
            clock: time::Clock::default(),
            preview: PREVIEW_CHARS,
            all_messages: false,
        }
    }

    /// Preview payloads in `chars` characters (`--payload N`; 0: no
    /// preview; `usize::MAX`: whole payloads).
    pub fn preview(mut self, chars: usize) -> Self {
        self.preview = chars;
        self
    }

    /// A line for every message (`--types message`), not only the
    /// fragmented, compressed, truncated or broken ones.
    pub fn all_messages(mut self, yes: bool) -> Self {
        self.all_messages = yes;
        self
    }

    /// Write each line's time with `clock` (`-t`).
    pub fn clock(mut self, clock: time::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Flush after every line (for live capture).
    pub fn flush_each(mut self, yes: bool) -> Self {
        self.flush_each = yes;
        self
    }

    /// Whether a write failed (nothing more is written; [`EventSink::finish`] returns the error).
    pub fn failed(&self) -> bool {
        self.latch.failed()
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

impl<W: Write> EventSink for TextSink<W> {
    fn event(&mut self, ev: Event) {
        self.event_ref(&ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        if self.latch.failed() {
            return;
        }
        self.body.clear();
        if format_event_body(ev, self.preview, self.all_messages, &mut self.body) {
            self.line.clear();
            self.clock.write(ev.ts(), &mut self.line);
            self.line.push(' ');
            self.line.push_str(&self.body);
            self.line.push('\n');
            let res = self.w.write_all(self.line.as_bytes());
            let res = if self.flush_each {
                res.and_then(|_| self.w.flush())
            } else {
                res
            };
            self.latch.keep(res);
        }
    }

    fn reads_only(&self) -> bool {
        true
    }

    fn finish(&mut self) -> io::Result<()> {
        self.latch.finish(|| self.w.flush())
    }
}

/// Is `c` a character that must not reach a terminal as is?
/// Must `c` never reach a terminal as itself? The one definition every sink
/// uses (text timeline, JSON Lines, the TUI): C0 controls, DEL, C1 controls,
/// bidi marks/embeddings/overrides/isolates, zero-width and invisible
/// formatting characters, line/paragraph separators, BOM, interlinear
/// annotations, tag characters.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'   // C0, DEL, C1
        | '\u{061c}'                                // Arabic letter mark
        | '\u{200b}'..='\u{200f}'                   // zero-width, LRM, RLM
        | '\u{2028}'..='\u{202e}'                   // line/paragraph sep, bidi embeddings/overrides
        | '\u{2060}'..='\u{206f}'                   // word joiner, bidi isolates, deprecated format chars
        | '\u{feff}'                                // BOM / zero-width no-break space
        | '\u{fff9}'..='\u{fffb}'                   // interlinear annotations
        | '\u{e0000}'..='\u{e007f}'                 // tag characters
    )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && is_unsafe_char(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe_char(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Render wire bytes for a terminal: valid UTF-8 stays text, everything that
/// could control the terminal (C0/C1 controls, ESC, BEL, backspace, DEL, bidi
/// overrides and isolates, zero-width characters) and invalid bytes become
/// inert escapes (`\x1b`, `\u{202e}`, `\xff`); `\` becomes `\\`. At most
/// `max_chars` characters are produced, then `…`.
///
/// ```
/// use wsscope::output::text::sanitize_preview;
/// assert_eq!(sanitize_preview(b"hi\x1b[31m\xff", 60), "hi\\x1b[31m\\xff");
/// assert_eq!(sanitize_preview("a\u{202e}b".as_bytes(), 60), "a\\u{202e}b");
/// assert_eq!(sanitize_preview(b"abcdef", 3), "abc…");
/// ```
pub fn sanitize_preview(bytes: &[u8], max_chars: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max_chars.saturating_mul(4)).saturating_add(4));
    push_sanitized(&mut out, bytes, max_chars);
    out
}

/// [`sanitize_preview`] onto `out` (a line being built: no `String` of its own).
fn push_sanitized(out: &mut String, bytes: &[u8], max_chars: usize) {
    // Each character or invalid byte takes at most 4 bytes and shows as at
    // least 1 character: the first max_chars + 1 of them (enough to know
    // whether to cut) lie within (max_chars + 1) * 4 bytes. Looking no
    // further keeps a 60-character preview of a 1 MB message from
    // validating all of it.
    let seen = max_chars.saturating_add(1).saturating_mul(4);
    let bytes = bytes.get(..seen).unwrap_or(bytes);
    // Printable ASCII is itself, one character each: most previews are
    // only that, and need no UTF-8 decoding (ASCII bytes are whole
    // characters, so decoding what follows finds the same characters).
    let ascii = bytes
        .iter()
        .take(max_chars)
        .take_while(|b| matches!(b, b' '..=b'~') && **b != b'\\')
        .count();
    let (plain, bytes) = bytes.split_at(ascii);
    out.push_str(std::str::from_utf8(plain).unwrap_or_default());
    let mut count = ascii;
    if ascii == max_chars && !bytes.is_empty() {
        out.push('…');
        return;
    }
    let mut tmp = String::new();
    for chunk in bytes.utf8_chunks() {
        let items = chunk
            .valid()
            .chars()
            .map(Ok)
            .chain(chunk.invalid().iter().map(|b| Err(*b)));
        for item in items {
            // Printable ASCII is itself, one character: most of a preview.
            if let Ok(c @ ' '..='~') = item
                && c != '\\'
            {
                if count >= max_chars {
                    out.push('…');
                    return;
                }
                count += 1;
                out.push(c);
                continue;
            }
            tmp.clear();
            match item {
                Ok(c) => push_escaped(&mut tmp, c),
                Err(b) => {
                    let _ = write!(tmp, "\\x{b:02x}");
                }
            }
            let n = tmp.chars().count();
            if count.saturating_add(n) > max_chars {
                out.push('…');
                return;
            }
            count = count.saturating_add(n);
            out.push_str(&tmp);
        }
    }
}

/// [`sanitize_preview`] without a length limit, for header values and details.
pub fn sanitize_str(s: &str) -> String {
    sanitize_preview(s.as_bytes(), usize::MAX)
}

/// Payload preview: text (quoted) when it is text, else hex bytes.
pub fn payload_preview(payload: &[u8], text: bool, max_chars: usize) -> String {
    let mut s = String::new();
    push_payload_preview(&mut s, payload, text, max_chars);
    s
}

/// [`payload_preview`] onto `s`.
fn push_payload_preview(s: &mut String, payload: &[u8], text: bool, max_chars: usize) {
    if text {
        s.push('"');
        push_sanitized(s, payload, max_chars);
        s.push('"');
    } else {
        let max_bytes = max_chars / 3;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in payload.iter().take(max_bytes).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        if payload.len() > max_bytes {
            s.push('…');
        }
    }
}

/// Appends the payload preview of a frame or message line, or with a
/// `preview` width of 0 (`--payload none`), none: the line then ends at
/// its length column, without the spaces that led to the preview.
fn push_preview(out: &mut String, payload: &[u8], text: bool, preview: usize) {
    if preview == 0 {
        out.truncate(out.trim_end_matches(' ').len());
        return;
    }
    push_payload_preview(out, payload, text, preview);
}

/// Format one event as a timeline line (without newline) into `out`;
/// `false` if the event gets no line.
pub fn format_event(ev: &Event, preview: usize, all_messages: bool, out: &mut String) -> bool {
    let _ = write!(out, "{} ", ev.ts());
    format_event_body(ev, preview, all_messages, out)
}

/// [`format_event`] without the time and its space.
pub fn format_event_body(ev: &Event, preview: usize, all_messages: bool, out: &mut String) -> bool {
    match ev {
        Event::Connection(e) => connection(e, out),
        Event::Tls(e) => tls(e, out),
        Event::Handshake(e) => handshake(e, out),
        Event::Frame(e) => frame(e, preview, out),
        Event::Message(e) => {
            if !message(e, preview, all_messages, out) {
                return false;
            }
        }
        Event::Gap(e) => gap(e, out),
        Event::Violation(e) => violation(e, out),
        Event::Diagnostic(e) => diagnostic(e, out),
        Event::Finding(e) => finding(e, out),
        Event::Close(e) => close(e, out),
        Event::Http2(e) => {
            let _ = write!(
                out,
                "{} http2 {} {} → {}",
                Who(e.conn, e.session.stream),
                sanitize_str(&e.method),
                sanitize_str(&e.path),
                e.status
                    .map_or_else(|| "(no answer captured)".to_string(), |s| s.to_string())
            );
        }
    }
    packets(ev, out);
    true
}

/// Where to find the event in Wireshark: ` (packet 18)`, ` (packets
/// 5-7)` for a frame or message carried by several, and the frame a
/// violation or gap concerns. Diagnostics say their packet themselves.
fn packets(ev: &Event, out: &mut String) {
    let (span, frame) = match ev {
        Event::Connection(e) => (PacketSpan::one(e.packet), None),
        Event::Tls(e) => (PacketSpan::one(e.packet), None),
        Event::Handshake(e) => (
            PacketSpan {
                first: e.packet,
                last: e.response_packet.unwrap_or(e.packet),
            },
            None,
        ),
        Event::Frame(e) => (e.packets, None),
        Event::Message(e) => match e.packets {
            Some(p) => (p, None),
            None => return,
        },
        Event::Gap(e) => (PacketSpan::one(e.packet), e.frame_offset),
        Event::Violation(e) => (PacketSpan::one(e.packet), e.frame_offset),
        Event::Close(e) => (
            PacketSpan {
                first: e.first_packet,
                last: e.last_packet,
            },
            None,
        ),
        Event::Http2(e) => (
            PacketSpan {
                first: e.packet,
                last: e.response_packet.unwrap_or(e.packet),
            },
            None,
        ),
        Event::Diagnostic(_) | Event::Finding(_) => return,
    };
    match (span.first, span.last) {
        (0, 0) => {
            if let Some(f) = frame {
                let _ = write!(out, " (frame at offset {f})");
            }
            return;
        }
        (0, p) | (p, 0) => {
            let _ = write!(out, " (packet {p}");
        }
        (a, b) if a == b => {
            let _ = write!(out, " (packet {a}");
        }
        (a, b) => {
            let _ = write!(out, " (packets {a}-{b}");
        }
    }
    if let Some(f) = frame {
        let _ = write!(out, ", frame at offset {f}");
    }
    out.push(')');
}

fn connection(e: &ConnectionEvent, out: &mut String) {
    let _ = write!(
        out,
        "#{} open {} → {} ({}, client by {})",
        e.conn,
        e.client,
        e.server,
        if e.syn_seen {
            "syn seen"
        } else {
            "picked up mid-stream"
        },
        e.role_basis.as_str()
    );
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "-".to_string(), sanitize_str)
}

fn tls(e: &crate::event::TlsEvent, out: &mut String) {
    let _ = write!(
        out,
        "#{} tls {}",
        e.conn,
        e.version.unwrap_or("(version unknown)")
    );
    if let Some(s) = &e.cipher_suite {
        let _ = write!(out, " {}", sanitize_str(s));
    }
    if let Some(s) = &e.sni {
        let _ = write!(out, " sni={}", sanitize_str(s));
    }
    if let Some(a) = &e.alpn {
        let _ = write!(out, " alpn={}", sanitize_str(a));
    }
    if e.resumed {
        out.push_str(" resumed");
    }
    if e.decrypted {
        let _ = write!(out, ", decrypted ({})", e.decrypted_by.unwrap_or("keylog"));
    } else {
        let _ = write!(out, ", NOT decrypted: {}", e.reason.unwrap_or("unknown"));
    }
    if let Some(d) = &e.detail {
        let _ = write!(out, " ({})", sanitize_str(d));
    }
}

/// Who a line is about: `#3`, or `#3/5` for stream 5 of an HTTP/2 connection.
struct Who(u64, Option<u32>);

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Some(s) => write!(f, "#{}/{s}", self.0),
            None => write!(f, "#{}", self.0),
        }
    }
}

fn handshake(e: &HandshakeEvent, out: &mut String) {
    let _ = write!(
        out,
        "{} handshake {} {}",
        Who(e.conn, e.session.stream),
        sanitize_str(&e.method),
        sanitize_str(&e.path)
    );
    if let Some(h) = &e.host {
        let _ = write!(out, " host={}", sanitize_str(h));
    }
    match e.status {
        // HTTP/2 has no reason phrase: none is shown rather than `-`.
        Some(s) if e.http_version.is_some() && e.reason.is_none() => {
            let _ = write!(out, " → {s}");
        }
        Some(s) => {
            let _ = write!(out, " → {s} {}", opt(&e.reason));
        }
        None => out.push_str(" → (no answer captured)"),
    }
    match e.accept_ok {
        Some(true) => out.push_str(", accept ok"),
        Some(false) => out.push_str(", accept MISMATCH"),
        None => {}
    }
    if e.http_version == Some("2") {
        let _ = write!(
            out,
            ", HTTP/2 extended CONNECT :protocol={} (RFC 8441: no key, no accept)",
            opt(&e.protocol)
        );
    }
    if e.subprotocol.is_some() {
        let _ = write!(out, ", protocol={}", opt(&e.subprotocol));
    }
    if e.extensions.is_some() {
        let _ = write!(out, ", extensions={}", opt(&e.extensions));
    }
}

fn frame(e: &FrameEvent, preview: usize, out: &mut String) {
    let mut flags = String::new();
    if e.fin {
        flags.push_str("FIN ");
    }
    for (bit, name) in [(4u8, "R1 "), (2, "R2 "), (1, "R3 ")] {
        if e.rsv & bit != 0 {
            flags.push_str(name);
        }
    }
    if e.masked {
        flags.push_str("M ");
    }
    let _ = write!(
        out,
        "{} {} {:<12} {:<12} {:>8}  ",
        Who(e.conn, e.session.stream),
        e.dir.arrow(),
        crate::ws::frame::Opcode(e.opcode).name(),
        flags.trim_end(),
        e.len
    );
    match e.opcode {
        0x8 => {
            match e.close_code {
                Some(c) => {
                    let _ = write!(out, "code {c}");
                }
                None => out.push_str("no code"),
            }
            if let Some(r) = e.close_reason.as_ref().filter(|_| preview > 0) {
                let _ = write!(out, " \"{}\"", sanitize_preview(r.as_bytes(), preview));
            }
        }
        _ => {
            let compressed = e.rsv & 4 != 0;
            let texty = !compressed
                && matches!(e.opcode, 0x0 | 0x1 | 0x9 | 0xA)
                && match simdutf8::compat::from_utf8(&e.payload) {
                    Ok(_) => true,
                    Err(err) => err.error_len().is_none(),
                };
            let texty = texty && (e.opcode != 0x0 || !e.payload.is_empty());
            push_preview(out, &e.payload, texty, preview);
        }
    }
    if let Some(rtt) = e.rtt {
        let _ = write!(out, "  rtt {:.3} ms", rtt * 1000.0);
    }
    if let Some(n) = e.header_captured {
        // The stream ended inside the header: its length may be unknown.
        let _ = write!(out, "  [header cut: {n} header bytes captured, stream ended]");
    } else if e.truncated {
        let _ = write!(
            out,
            "  [truncated: {} of {} bytes captured]",
            e.payload.len(),
            e.len
        );
    }
}

fn message(e: &MessageEvent, preview: usize, all: bool, out: &mut String) -> bool {
    // What an application protocol said (a generic JSON payload reads as
    // well in the frame's preview).
    let app = e
        .decoded
        .as_deref()
        .filter(|d| d.items.iter().any(|m| m.protocol != "json"));
    if !(all || e.frames > 1 || e.compressed || e.truncated || e.inflate_error.is_some() || app.is_some()) {
        return false;
    }
    let _ = write!(
        out,
        "{} {} message {} {} frame{}{} {} bytes",
        Who(e.conn, e.session.stream),
        e.dir.arrow(),
        crate::ws::frame::Opcode(e.opcode).name(),
        e.frames,
        if e.frames == 1 { "" } else { "s" },
        if e.compressed { " Z" } else { "" },
        e.data.len(),
    );
    if e.compressed {
        let _ = write!(out, " (wire {})", e.wire_len);
    }
    out.push_str("  ");
    match (&e.inflate_error, app) {
        (Some(err), _) => {
            let _ = write!(out, "[cannot inflate: {}]", sanitize_str(err));
        }
        (None, Some(d)) if preview > 0 => {
            for (i, m) in d.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" | ");
                }
                push_sanitized(out, m.summary.as_bytes(), usize::MAX);
            }
        }
        (None, _) => push_preview(out, &e.data, e.is_text, preview),
    }
    if e.truncated {
        out.push_str("  [truncated]");
    }
    true
}

fn gap(e: &GapEvent, out: &mut String) {
    let _ = write!(
        out,
        "#{} {} gap {} bytes at offset {} ({})",
        e.conn,
        e.dir.arrow(),
        e.bytes,
        e.offset,
        e.reason.as_str()
    );
}

fn violation(e: &ViolationEvent, out: &mut String) {
    let arrow = e.dir.map_or("", |d| d.arrow());
    let _ = write!(
        out,
        "{} {} ! {}: {}",
        Who(e.conn, e.session.stream),
        arrow,
        e.rule,
        sanitize_str(&e.detail)
    );
}

/// `#3 !! high origin-not-enforced: <evidence> (packets 4, 9)`.
fn finding(e: &crate::event::FindingEvent, out: &mut String) {
    let _ = write!(
        out,
        "{} !! {} {}: {}",
        Who(e.conn, e.session.stream),
        e.severity.as_str(),
        e.rule,
        sanitize_str(&e.evidence)
    );
    match e.packets.as_slice() {
        [] => {}
        [p] => {
            let _ = write!(out, " (packet {p})");
        }
        ps => {
            let list: Vec<String> = ps.iter().map(u64::to_string).collect();
            let _ = write!(out, " (packets {})", list.join(", "));
        }
    }
}

fn diagnostic(e: &DiagnosticEvent, out: &mut String) {
    match e.conn {
        Some(c) => {
            let _ = write!(out, "#{c} ");
        }
        None => out.push_str("- "),
    }
    if let Some(d) = e.dir {
        let _ = write!(out, "{} ", d.arrow());
    }
    let _ = write!(out, "? {}: {}", e.code, sanitize_str(&e.detail));
    if let Some(p) = e.packet {
        let _ = write!(out, " (packet {p})");
    }
}

fn close(e: &ConnectionEndEvent, out: &mut String) {
    let _ = write!(
        out,
        "{} close {} {} ({:.3} s)",
        Who(e.conn, e.stream),
        e.protocol_name(),
        e.end.as_str(),
        e.last_ts.seconds_since(e.first_ts)
    );
    for d in crate::event::Dir::BOTH {
        let Some(s) = e.stats.get(d.index()) else { continue };
        let _ = write!(out, "; {} {} B", d.arrow(), s.stream_bytes);
        if s.frames > 0 || s.messages > 0 {
            let _ = write!(out, " {} frames {} msgs", s.frames, s.messages);
        }
        if s.gaps > 0 {
            let _ = write!(out, " {} gaps ({} B)", s.gaps, s.gap_bytes);
        }
        if let Some((code, reason)) = &s.close {
            let _ = write!(
                out,
                " close {}",
                code.map_or_else(|| "-".to_string(), |c| c.to_string())
            );
            if let Some(r) = reason {
                let _ = write!(out, " \"{}\"", sanitize_preview(r.as_bytes(), 40));
            }
        }
    }
    if let Some((lo, med, hi)) = e.rtt {
        let _ = write!(out, "; rtt {:.3}/{:.3}/{:.3} ms", lo * 1e3, med * 1e3, hi * 1e3);
    }
    if e.protocol.is_websocket() && !e.handshake_seen {
        out.push_str("; no handshake");
    }
    if e.violations > 0 {
        let _ = write!(out, "; {} violations", e.violations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::*;

    #[test]
    fn sanitize_controls_and_bidi() {
        assert_eq!(
            sanitize_preview(b"\x07\x08\x1b]0;pwn\x07\x7f", 100),
            "\\x07\\x08\\x1b]0;pwn\\x07\\x7f"
        );
        assert_eq!(
            sanitize_preview("\u{85}\u{9b}x".as_bytes(), 100),
            "\\u{85}\\u{9b}x"
        );
        assert_eq!(
            sanitize_preview("\u{202e}\u{2066}\u{200f}".as_bytes(), 100),
            "\\u{202e}\\u{2066}\\u{200f}"
        );
        assert_eq!(sanitize_preview(b"a\\b\r\n\t", 100), "a\\\\b\\r\\n\\t");
        assert_eq!(sanitize_preview("héllo wörld".as_bytes(), 100), "héllo wörld");
        assert_eq!(sanitize_preview(b"\xc3", 100), "\\xc3");
        // Never cut an escape in half.
        assert_eq!(sanitize_preview(b"ab\x1b", 4), "ab…");
        let s = sanitize_preview(&(0u8..=255).collect::<Vec<_>>(), 10_000);
        assert!(!s.chars().any(|c| c != '…' && is_unsafe_char(c)), "{s}");
    }

    /// `sanitize_preview` reads no further than its width needs: the same
    /// preview as reading everything, on random bytes and texts.
    #[test]
    fn sanitize_preview_reads_only_what_it_shows() {
        fn everything(bytes: &[u8], max_chars: usize) -> String {
            let all = sanitize_preview(bytes, usize::MAX);
            let mut out = String::new();
            let mut count = 0;
            let mut tmp = String::new();
            for chunk in bytes.utf8_chunks() {
                let items = chunk
                    .valid()
                    .chars()
                    .map(Ok)
                    .chain(chunk.invalid().iter().map(|b| Err(*b)));
                for item in items {
                    tmp.clear();
                    match item {
                        Ok(c) => push_escaped(&mut tmp, c),
                        Err(b) => tmp.push_str(&format!("\\x{b:02x}")),
                    }
                    count += tmp.chars().count();
                    if count > max_chars {
                        out.push('…');
                        return out;
                    }
                    out.push_str(&tmp);
                }
            }
            assert_eq!(out, all);
            out
        }
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let pieces: [&[u8]; 8] = [
            b"a",
            b"\x1b",
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            b"\xff",
            b"\xe2\x82",
            b"\\",
        ];
        for _ in 0..3000 {
            let n = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..n)
                .flat_map(|_| pieces[(next() % 8) as usize].iter().copied())
                .collect();
            let max = (next() % 12) as usize;
            assert_eq!(
                sanitize_preview(&bytes, max),
                everything(&bytes, max),
                "{bytes:?} {max}"
            );
        }
    }

    fn fe(opcode: u8, payload: &[u8]) -> FrameEvent {
        FrameEvent {
            conn: 0,
            session: crate::model::SessionId::conn(0),
            packets: crate::model::PacketSpan::one(1),
            ts: Timestamp::new(1_700_000_000, 123_456_789),
            dir: Dir::C2S,
            fin: true,
            rsv: 0,
            opcode,
            masked: true,
            mask_key: Some([1, 2, 3, 4]),
            len: payload.len() as u64,
            len_bits: 7,
            header_len: 6,
            offset: 0,
            payload: payload.to_vec(),
            truncated: false,
            close_code: None,
            close_reason: None,
            rtt: None,
            header_captured: None,
            header_bytes: None,
        }
    }

    fn line(ev: Event) -> String {
        let mut s = String::new();
        assert!(format_event(&ev, 60, false, &mut s));
        s
    }

    #[test]
    fn frame_lines() {
        let l = line(Event::Frame(fe(1, b"Hello\x1b[2J")));
        assert_eq!(
            l,
            "22:13:20.123456 #0 → text         FIN M               9  \"Hello\\x1b[2J\" (packet 1)"
        );
        let mut multi = fe(1, b"x");
        multi.packets = crate::model::PacketSpan { first: 5, last: 7 };
        assert!(line(Event::Frame(multi)).ends_with("\"x\" (packets 5-7)"));
        let mut f = fe(2, &[0xde, 0xad, 0xbe, 0xef]);
        f.dir = Dir::S2C;
        f.masked = false;
        f.rsv = 4;
        let l = line(Event::Frame(f));
        assert!(l.contains("← binary       FIN R1"), "{l}");
        assert!(l.ends_with("de ad be ef (packet 1)"), "{l}");
        let mut c = fe(8, &[3, 232]);
        c.close_code = Some(1000);
        c.close_reason = Some("bye\u{202e}".into());
        assert!(line(Event::Frame(c)).ends_with("code 1000 \"bye\\u{202e}\" (packet 1)"));
        let l = line(Event::Frame(fe(3, &[0u8; 100])));
        assert!(l.contains("reserved-0x3") && l.ends_with("… (packet 1)"), "{l}");
    }

    #[test]
    fn message_lines_only_when_interesting() {
        let m = MessageEvent {
            decoded: None,
            conn: 0,
            session: crate::model::SessionId::conn(0),
            seq: 0,
            first_frame_offset: 0,
            packets: None,
            ts: Timestamp::new(0, 0),
            dir: Dir::S2C,
            opcode: 1,
            frames: 1,
            compressed: false,
            data: b"x".to_vec(),
            wire_len: 1,
            is_text: true,
            inflate_error: None,
            truncated: false,
        };
        let mut s = String::new();
        assert!(!format_event(&Event::Message(m.clone()), 60, false, &mut s));
        let mut z = m.clone();
        z.compressed = true;
        z.inflate_error = Some("history missing".into());
        let l = line(Event::Message(z));
        assert!(
            l.contains("Z") && l.contains("cannot inflate: history missing"),
            "{l}"
        );
    }

    #[test]
    fn sink_writes() {
        use crate::event::EventSink;
        let mut s = TextSink::new(Vec::new());
        s.event(Event::Frame(fe(9, b"")));
        s.event(Event::Violation(ViolationEvent {
            conn: 0,
            session: crate::model::SessionId::conn(0),
            ts: Timestamp::new(0, 0),
            dir: Some(Dir::C2S),
            rule: "client-frame-unmasked",
            detail: "x\x1b".into(),
            frame_offset: None,
            packet: 1,
        }));
        let out = String::from_utf8(s.into_inner()).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert!(out.contains("! client-frame-unmasked: x\\x1b"), "{out}");
        assert!(!out.contains('\x1b'));
    }
}
