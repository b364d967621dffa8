//! Detail pane: the selected row dissected field by field (like Wireshark's
//! tree), its connection's TLS facts and handshake ([`conn`]), and the
//! payload as text (JSON re-indented) or as a hexdump (`x`; binary and
//! compressed payloads always), compressed messages with their wire bytes
//! ([`payload`]).
//!
//! Everything wraps at the pane's width and scrolls when the pane has the
//! focus; `z` zooms it to the whole screen. A long payload costs one wrap a
//! draw and only the rows on screen become `Line`s ([`doc`]).

mod app;
mod conn;
mod doc;
mod payload;

use super::super::app::{App, Focus};
use super::super::keys::{self, Move};
use super::super::store::{Kind, Record, flag};
use super::super::text;
use super::{block, close_text, gap_reason, hex_bytes, opcode_word};
use crate::event::{ConnId, opcode_name};
use doc::Doc;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

pub fn on_key(app: &mut App, key: &KeyEvent) -> bool {
    if let Some(m) = keys::movement(key) {
        apply_move(app, m);
        return true;
    }
    match key.code {
        KeyCode::Enter => true,
        // As in less; on a live capture Space pauses and follows (global).
        KeyCode::Char(' ') if !app.live => {
            apply_move(app, Move::PageDown);
            true
        }
        _ => false,
    }
}

/// Scrolls the detail (clamped to its length when it is drawn).
pub fn apply_move(app: &mut App, m: Move) {
    let page = usize::from(app.geometry.get().detail.height.saturating_sub(2).max(1));
    let s = app.detail_scroll.get();
    app.detail_scroll.set(match m {
        Move::Up(n) => s.saturating_sub(n),
        Move::Down(n) => s.saturating_add(n),
        Move::PageUp => s.saturating_sub(page),
        Move::PageDown => s.saturating_add(page),
        Move::Top => 0,
        Move::Bottom => usize::MAX,
    });
}

/// Zoom and the one-pane layout of small terminals.
impl App {
    /// `z`: the detail takes the whole screen below the header (with the
    /// focus), or gives it back.
    pub fn toggle_zoom(&mut self) {
        match self.zoom.take() {
            Some(before) => self.focus = before,
            None => {
                self.zoom = Some(self.focus);
                self.focus = Focus::Detail;
            }
        }
    }

    /// Esc outside prompts and popups: leaves the zoom, else (one pane
    /// shown at a time) goes back to the timeline, else leaves the detail.
    pub fn back(&mut self) {
        if self.zoom.is_some() {
            self.toggle_zoom();
        } else if self.compact.get() || self.focus == Focus::Detail {
            self.focus = Focus::Timeline;
        }
    }

    /// The one pane shown full-screen, when only one is: zoomed, or a
    /// terminal too small for three (the focused one).
    pub fn single_pane(&self) -> Option<Focus> {
        (self.zoom.is_some() || self.compact.get()).then_some(self.focus)
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let inner_w = area.width.saturating_sub(2);
    let inner_h = usize::from(area.height.saturating_sub(2));
    let doc = document(app);
    let laid = doc.layout(inner_w);
    let total = laid.len();
    let top = app.detail_scroll.get().min(total.saturating_sub(inner_h));
    // While a payload is being fetched the document grows when it comes:
    // a scroll to the end (G) stays one until then.
    if app.fetcher.as_ref().is_none_or(|f| f.pending() == 0) {
        app.detail_scroll.set(top);
    }
    let mode = if app.hex { "hex" } else { "text" };
    let mut title = vec![
        Span::styled(" Detail ", t.title),
        Span::styled(format!("payload as {mode} (x) "), t.dim),
    ];
    if total > inner_h {
        let last = (top + inner_h).min(total);
        title.push(Span::styled(
            format!("lines {}-{last} of {total} ", top + 1),
            if last < total { t.key } else { t.dim },
        ));
    }
    if app.zoom.is_some() {
        title.push(Span::styled("z/Esc: back ", t.dim));
    }
    let b = block(app, Focus::Detail, Line::from(title));
    let inner = b.inner(area);
    b.render(area, buf);
    Paragraph::new(laid.rows(top, inner_h)).render(inner, buf);
}

/// The detail of the current selection (the capture's or the connection's
/// summary when no row is selected).
fn document(app: &App) -> Doc<'_> {
    let t = &app.theme;
    let mut out = Doc::new(t.dim, t.text);
    let Some(idx) = app.selected_index() else {
        match app.conn_sel {
            Some(c) => conn::connection(app, c, &mut out),
            None => conn::capture(app, &mut out),
        }
        return out;
    };
    let Some(r) = app.store.records.get(idx as usize).copied() else {
        return out;
    };
    let conn = ConnId::from(r.conn);
    let dir = r.dir.map_or(String::new(), |d| {
        format!(
            " · {} {}",
            d.as_str(),
            if d == crate::event::Dir::C2S {
                "client → server"
            } else {
                "server → client"
            }
        )
    });
    let conn_s = if r.conn == u32::MAX {
        String::new()
    } else {
        format!(" · conn {conn}")
    };
    match r.kind {
        Kind::Frame => {
            out.section(format!("WebSocket frame{conn_s}{dir} · {}", r.ts()), t.title);
            frame_fields(app, &r, &mut out);
            payload::payload(app, &r, &mut out);
        }
        Kind::Message => {
            out.section(format!("WebSocket message{conn_s}{dir} · {}", r.ts()), t.title);
            message_fields(app, idx, &r, &mut out);
            app::decoded(app, &r, &mut out);
            payload::payload(app, &r, &mut out);
            if r.has(flag::COMPRESSED) {
                payload::wire_bytes(app, idx, &mut out);
            }
        }
        Kind::Gap => {
            out.section(format!("Capture gap{conn_s}{dir} · {}", r.ts()), t.gap);
            out.field("Missing", format!("{} bytes ({})", r.len, text::bytes(r.len)));
            if r.gap_count() > 1 {
                out.field(
                    "Gap run",
                    format!(
                        "{} gaps, {} missing (no other row of this connection and direction between them)",
                        text::count(u64::from(r.gap_count())),
                        text::bytes(r.len)
                    ),
                );
            }
            out.field("Stream offset", r.offset.to_string());
            packets_field(&r, &mut out);
            out.field("Reason", gap_reason(r.len_bits).to_string());
            out.text(
                "Frames overlapping the gap cannot be decoded; the stream resynchronises after it.".into(),
                t.dim,
            );
        }
        Kind::Violation => {
            out.section(
                format!("Protocol violation{conn_s}{dir} · {}", r.ts()),
                t.violation,
            );
            if let Some(n) = app.store.note(&r) {
                out.styled_field("Rule", n.code.to_string(), t.violation);
                for (i, l) in text::safe_lines(&n.detail).into_iter().enumerate() {
                    out.field(if i == 0 { "Detail" } else { "" }, l);
                }
                packets_field(&r, &mut out);
                if let Some(f) = n.frame {
                    out.field("Frame", format!("at stream offset {f}"));
                }
            }
        }
        Kind::Diagnostic => {
            out.section(format!("Capture diagnostic{conn_s} · {}", r.ts()), t.gap);
            if let Some(n) = app.store.note(&r) {
                out.field("Code", n.code.to_string());
                out.field("Detail", text::safe(&n.detail).into_owned());
            }
            packets_field(&r, &mut out);
        }
        Kind::Handshake => {}
    }
    if r.conn != u32::MAX {
        if !out.is_empty() {
            out.blank();
        }
        conn::connection_at(
            app,
            conn,
            app.store.stream_of(&r),
            app.store.handshake_of(&r),
            &mut out,
        );
    }
    out
}

/// Where to find the row in Wireshark (`frame.number`), as the JSON
/// records' `packet`/`first_packet` say it.
fn packets_field(r: &Record, out: &mut Doc<'_>) {
    match r.packets() {
        Some((a, b)) if a == b => out.field("Packet", a.to_string()),
        Some((a, b)) => out.field("Packets", format!("{a}–{b}")),
        None => {}
    }
}

fn frame_fields(app: &App, r: &Record, out: &mut Doc<'_>) {
    let fin = r.has(flag::FIN);
    out.field(
        "FIN",
        format!(
            "{}  {}",
            u8::from(fin),
            if fin {
                "final fragment"
            } else {
                "more fragments follow"
            }
        ),
    );
    for (bit, name) in [(4u8, "RSV1"), (2, "RSV2"), (1, "RSV3")] {
        let set = r.rsv & bit != 0;
        let what = match (bit, set) {
            (4, true) => "set (permessage-deflate: compressed)",
            (_, true) => "set (reserved: needs an extension)",
            _ => "0",
        };
        out.field(name, if set { format!("1  {what}") } else { what.into() });
    }
    let name = opcode_name(r.opcode).unwrap_or("reserved");
    let kind = if r.opcode >= 8 { "control" } else { "data" };
    out.field("Opcode", format!("0x{:X}  {name} ({kind})", r.opcode));
    let masked = r.has(flag::MASKED);
    out.field(
        "MASK",
        format!(
            "{}  {}",
            u8::from(masked),
            if masked { "masked" } else { "not masked" }
        ),
    );
    let form = match r.len_bits {
        7 => "7-bit form",
        16 => "16-bit extended (126)",
        64 => "64-bit extended (127)",
        _ => "?",
    };
    out.field(
        "Payload length",
        format!("{}  ({form}; header {} bytes)", r.len, r.header_len),
    );
    if let Some(k) = r.mask_key() {
        out.field("Masking key", hex_bytes(&k));
    }
    out.field("Stream offset", r.offset.to_string());
    packets_field(r, out);
    if r.has(flag::TRUNCATED) {
        out.styled_field("Truncated", "payload not fully captured".into(), app.theme.gap);
    }
    if r.opcode == 8 {
        out.field("Close", close_text(&app.payload(r).bytes));
    }
    if let Some(rtt) = r.rtt() {
        out.field("Ping RTT", text::duration(rtt));
    }
    let frags = app.store.fragments(app.selected_index().unwrap_or(0));
    if frags.len() > 1 {
        out.field("Fragment", format!("{} of its message so far", frags.len()));
    }
}

fn message_fields(app: &App, idx: u32, r: &Record, out: &mut Doc<'_>) {
    let name = opcode_name(r.opcode).unwrap_or("reserved");
    out.field("Opcode", format!("0x{:X}  {name}", r.opcode));
    out.field("Frames", r.rsv.to_string());
    out.field("Length", format!("{} bytes (wire {} bytes)", r.len, r.offset));
    packets_field(r, out);
    if r.has(flag::COMPRESSED) {
        let ratio = if r.len > 0 {
            r.offset as f64 / r.len as f64 * 100.0
        } else {
            0.0
        };
        out.field(
            "Compressed",
            format!("permessage-deflate, wire is {ratio:.0}% of inflated"),
        );
    }
    if r.opcode == 1 {
        out.field(
            "UTF-8",
            if r.has(flag::TEXT) {
                "valid".into()
            } else {
                "INVALID".into()
            },
        );
    }
    if r.has(flag::TRUNCATED) {
        out.styled_field(
            "Truncated",
            "part of the message was not captured".into(),
            app.theme.gap,
        );
    }
    if let Some(n) = app.store.note(r) {
        out.styled_field("Inflate error", text::safe(&n.detail).into_owned(), app.theme.bad);
    }
    let frags = app.store.fragments(idx);
    for (i, f) in frags.iter().enumerate() {
        if let Some(f) = app.store.records.get(*f as usize) {
            out.field(
                if i == 0 { "Frame headers" } else { "" },
                format!(
                    "{} {:<6} {} bytes{}",
                    super::frame_flags(f),
                    opcode_word(f.opcode),
                    f.len,
                    f.mask_key()
                        .map_or(String::new(), |k| format!(", key {}", hex_bytes(&k)))
                ),
            );
        }
    }
}
