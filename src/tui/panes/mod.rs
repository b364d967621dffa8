//! The panes. Each pane is a component: `on_key` says whether it consumed
//! the key (else the app's global keys get it) and `render` draws it from
//! `&App`.

pub mod conns;
pub mod detail;
pub mod findings;
pub mod stats;
pub mod timeline;

use super::app::{App, Focus, TimeFormat};
use super::store::{Kind, Record, Store, flag};
use super::text;
use crate::event::{ConnId, Timestamp, opcode_name};
use crate::ws::rules;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

/// A pane's frame, emphasised when it has the focus.
pub fn block<'a>(app: &App, pane: Focus, title: Line<'a>) -> Block<'a> {
    let focused = app.focus == pane && app.prompt.is_none() && !app.help;
    let t = &app.theme;
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused { t.focus_border } else { t.border })
        .title(title)
}

/// Opcode as a short word (`text`, `ping`, `0x3`).
pub fn opcode_word(op: u8) -> String {
    match opcode_name(op) {
        Some("continuation") => "cont".into(),
        Some(n) => n.into(),
        None => format!("op{op:X}"),
    }
}

/// A row's time in the chosen format. `start` is the view's start; `prev`
/// the previous row's time (for deltas).
pub fn time_cell(
    ts: Timestamp,
    fmt: TimeFormat,
    start: Option<Timestamp>,
    prev: Option<Timestamp>,
) -> String {
    match fmt {
        TimeFormat::Absolute => ts.to_string(),
        TimeFormat::Relative => {
            let s = start.map_or(0.0, |s| ts.seconds_since(s));
            format!("+{s:>14.6}")
        }
        TimeFormat::Delta => {
            let s = prev.map_or(0.0, |p| ts.seconds_since(p));
            format!("Δ{s:>14.6}")
        }
    }
}

/// Frame flags as fixed-width letters: `F` fin, `1 2 3` RSV bits, `M` masked.
pub fn frame_flags(r: &Record) -> String {
    let mut s = String::with_capacity(5);
    s.push(if r.has(flag::FIN) { 'F' } else { '·' });
    s.push(if r.rsv & 4 != 0 { '1' } else { '·' });
    s.push(if r.rsv & 2 != 0 { '2' } else { '·' });
    s.push(if r.rsv & 1 != 0 { '3' } else { '·' });
    s.push(if r.has(flag::MASKED) { 'M' } else { '·' });
    s
}

/// Message flags: `Z` compressed, `×N` frames, `T` truncated.
pub fn message_flags(r: &Record) -> String {
    let mut s = String::new();
    s.push(if r.has(flag::COMPRESSED) { 'Z' } else { '·' });
    s.push(if r.has(flag::TRUNCATED) { 'T' } else { '·' });
    if r.rsv > 1 {
        s.push_str(&format!("×{}", r.rsv));
    }
    s
}

/// One-line preview of a row's payload or note, safe for the terminal.
pub fn preview(app: &App, r: &Record, max: usize) -> String {
    let store = &app.store;
    match r.kind {
        Kind::Frame | Kind::Message => {
            if r.kind == Kind::Frame && r.opcode == 8 {
                return close_text(store.data(r));
            }
            let data = store.data(r);
            if r.kind == Kind::Message && r.has(flag::INFLATE_ERROR) {
                return format!(
                    "(not inflated: {})",
                    store
                        .note(r)
                        .map_or("?".into(), |n| text::safe(&n.detail).into_owned())
                );
            }
            // An application protocol's summaries, as the text dump shows
            // them (with the latency beside a response).
            if let Some(app) = store.app(r).filter(|a| a.speaks()) {
                return text::safe(&app.summary_line()).into_owned();
            }
            if data.is_empty() {
                return if r.len == 0 {
                    "(empty)".into()
                } else {
                    "(not captured)".into()
                };
            }
            if !shows_as_text(store, r, data) {
                return text::hex_preview(data, r.len, max);
            }
            let mut s = text::safe_line(data, max);
            if !r.has(flag::KEPT) && !s.ends_with('…') {
                s.push('…');
            }
            s
        }
        Kind::Gap if r.gap_count() > 1 => format!(
            "GAP {} missing in {} gaps from offset {} ({})",
            text::bytes(r.len),
            text::count(u64::from(r.gap_count())),
            r.offset,
            gap_reason(r.len_bits)
        ),
        Kind::Gap => format!(
            "GAP {} missing at offset {} ({})",
            text::bytes(r.len),
            r.offset,
            gap_reason(r.len_bits)
        ),
        Kind::Violation => store.note(r).map_or_else(String::new, |n| {
            format!("⚠ {}: {}", n.code, text::safe(&n.detail))
        }),
        Kind::Diagnostic => store.note(r).map_or_else(String::new, |n| {
            format!("ℹ {}: {}", n.code, text::safe(&n.detail))
        }),
        Kind::Handshake => handshake_summary(store.handshake_of(r)),
    }
}

/// Whether a frame's or message's payload is shown as text — everywhere:
/// list, swimlanes, frames view, detail — or else as hex bytes. Text is a
/// text message whose data is valid UTF-8, and a text frame (or a
/// continuation of a text message) whose bytes are valid UTF-8 and not
/// deflated (RSV1); ping and pong payloads are text when they read as
/// text. Binary, compressed and broken payloads are hex: decoded as text
/// they are garbage.
pub fn shows_as_text(store: &Store, r: &Record, data: &[u8]) -> bool {
    match r.kind {
        Kind::Message => r.opcode == 1 && r.has(flag::TEXT) && !r.has(flag::INFLATE_ERROR),
        Kind::Frame if r.opcode >= 8 => !looks_binary(data),
        Kind::Frame => {
            let text_frame = match r.opcode {
                1 => true,
                0 => first_fragment_opcode(store, r) == Some(1),
                _ => false,
            };
            text_frame && r.rsv & 4 == 0 && utf8_prefix(data)
        }
        _ => false,
    }
}

/// The opcode of the message a continuation frame belongs to (its first
/// fragment's), when its fragments are indexed.
fn first_fragment_opcode(store: &Store, r: &Record) -> Option<u8> {
    let mut cur = *r;
    // A message has at most a few thousand fragments the index links.
    for _ in 0..4096 {
        if cur.opcode != 0 {
            return Some(cur.opcode);
        }
        cur = *store.records.get(usize::try_from(cur.link).ok()?)?;
    }
    None
}

/// Valid UTF-8, or valid up to a character cut at the end (a fragment's or
/// a kept preview's boundary may split one).
fn utf8_prefix(data: &[u8]) -> bool {
    match std::str::from_utf8(data) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Control payloads are previewed as hex unless they read as text.
pub fn looks_binary(data: &[u8]) -> bool {
    match std::str::from_utf8(data) {
        Err(_) => true,
        Ok(s) => s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
    }
}

pub fn gap_reason(i: u8) -> &'static str {
    use crate::event::GapReason::*;
    [Lost, Snaplen, BufferCap, Unfilled]
        .into_iter()
        .find(|g| *g as u8 == i)
        .map_or("?", |g| g.as_str())
}

pub fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// `1000 normal "bye"` from a close frame's payload (decoded by the one
/// close parser, [`rules::parse_close`]).
pub fn close_text(payload: &[u8]) -> String {
    if payload.len() == 1 {
        return "(1-byte close payload)".into();
    }
    let c = rules::parse_close(payload, false, &mut Vec::new());
    let Some(code) = c.code else {
        return "(no status)".into();
    };
    let mut s = format!("{code} {}", rules::close_code_name(code));
    if let Some(reason) = c.reason {
        s.push_str(&format!(" \"{}\"", text::safe(&reason)));
    }
    s
}

/// `GET /chat → 101 accept ✓` for handshake rows; `GET /chat → rejected 403`
/// for an upgrade refused.
/// An HTTP/2 stream's: `CONNECT /chat → 200 (HTTP/2, no accept key)`.
pub fn handshake_summary(h: Option<&super::store::Handshake>) -> String {
    let Some(h) = h else {
        return "handshake".into();
    };
    if h.http2 {
        return match h.status {
            Some(st) if (200..300).contains(&st) => format!(
                "{} {} → {st} (HTTP/2, no accept key)",
                text::safe(h.method()),
                text::safe(h.path())
            ),
            Some(st) => format!(
                "{} {} → rejected {st} (HTTP/2)",
                text::safe(h.method()),
                text::safe(h.path())
            ),
            None => format!(
                "{} {} → no response (HTTP/2)",
                text::safe(h.method()),
                text::safe(h.path())
            ),
        };
    }
    if let Some(st) = h.status.filter(|&s| s != 101) {
        // No accept to verify: the server said no.
        return format!(
            "{} {} → rejected {st}",
            text::safe(h.method()),
            text::safe(h.path())
        );
    }
    let status = h.status.map_or("no response".into(), |s| s.to_string());
    let badge = match h.accept_ok {
        Some(true) => "accept ✓",
        Some(false) => "accept ✗",
        None => "accept ?",
    };
    format!(
        "{} {} → {status} {badge}",
        text::safe(h.method()),
        text::safe(h.path())
    )
}

/// Handshake badge: ✓ verified, ✗ mismatch, ? not seen.
pub fn badge(app: &App, conn: ConnId) -> Span<'static> {
    let t = &app.theme;
    let h = app.store.conn(conn).and_then(|c| c.handshake.as_ref());
    // HTTP/2 has no accept to verify: answered 2xx is as good as it gets.
    if h.is_some_and(|h| h.http2 && h.refused().is_none() && h.status.is_some()) {
        return Span::styled("2", t.ok);
    }
    match h.and_then(|h| h.accept_ok) {
        Some(true) => Span::styled("✓", t.ok),
        Some(false) => Span::styled("✗", t.bad),
        None => Span::styled("?", t.dim),
    }
}

/// Splits `s` into spans, styling the regex hits.
pub fn highlight<'a>(s: String, re: Option<&regex::Regex>, base: Style, hit: Style) -> Vec<Span<'a>> {
    let Some(re) = re else {
        return vec![Span::styled(s, base)];
    };
    let mut out = Vec::new();
    let mut last = 0;
    for m in re.find_iter(&s) {
        if m.start() > last {
            out.push(Span::styled(s[last..m.start()].to_string(), base));
        }
        if m.end() > m.start() {
            out.push(Span::styled(s[m.start()..m.end()].to_string(), hit));
        }
        last = m.end();
    }
    if last < s.len() {
        out.push(Span::styled(s[last..].to_string(), base));
    }
    out
}

/// Pads or cuts a string to exactly `w` columns.
pub fn fit(s: &str, w: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = Span::raw(c.to_string()).width();
        if used + cw > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.extend(std::iter::repeat_n(' ', w - used));
    out
}
