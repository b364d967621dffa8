//! Detail pane: the selected row dissected field by field (like Wireshark's
//! tree), its connection's TLS facts (version, suite, SNI, ALPN, where the
//! key came from or why none was found) and handshake (request and response
//! headers, accept expected vs received), and the payload as text (JSON
//! re-indented) or as a hexdump (`x`); compressed messages show inflated and
//! wire bytes.

use super::super::app::{App, Focus};
use super::super::payload::PayloadState;
use super::super::keys::{self, Move};
use super::super::store::Conn;
use super::super::store::Handshake;
use super::super::store::{Kind, Record, flag};
use super::super::text;
use super::conns::{LOCK_CLOSED, LOCK_OPEN, tls_reason};
use super::{block, close_text, gap_reason, hex_bytes, opcode_word};
use crate::event::{ConnId, Dir, opcode_name};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

pub fn on_key(app: &mut App, key: &KeyEvent) -> bool {
    if let Some(m) = keys::movement(key) {
        apply_move(app, m);
        return true;
    }
    if key.code == KeyCode::Enter {
        return true;
    }
    false
}

pub fn apply_move(app: &mut App, m: Move) {
    let page = app.geometry.get().detail.height.saturating_sub(2).max(1);
    let s = app.detail_scroll.get();
    app.detail_scroll.set(match m {
        Move::Up(n) => s.saturating_sub(n as u16),
        Move::Down(n) => s.saturating_add(n as u16),
        Move::PageUp => s.saturating_sub(page),
        Move::PageDown => s.saturating_add(page),
        Move::Top => 0,
        Move::Bottom => u16::MAX,
    });
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let inner_w = area.width.saturating_sub(2);
    let lines = lines(app, inner_w);
    let mode = if app.hex { "hex" } else { "text" };
    let title = Line::from(vec![
        Span::styled(" Detail ", t.title),
        Span::styled(format!("payload as {mode} (x) "), t.dim),
    ]);
    let b = block(app, Focus::Detail, title);
    let inner = b.inner(area);
    b.render(area, buf);
    let max = lines.len().saturating_sub(usize::from(inner.height));
    let scroll = app
        .detail_scroll
        .get()
        .min(u16::try_from(max).unwrap_or(u16::MAX));
    app.detail_scroll.set(scroll);
    Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
}

struct Out<'a> {
    lines: Vec<Line<'a>>,
    key: Style,
    val: Style,
}

impl<'a> Out<'a> {
    fn section(&mut self, s: String, style: Style) {
        self.lines.push(Line::from(Span::styled(format!("▾ {s}"), style)));
    }

    fn field(&mut self, name: &str, value: String) {
        self.lines.push(Line::from(vec![
            Span::styled(format!("    {name:<16} "), self.key),
            Span::styled(value, self.val),
        ]));
    }

    fn styled_field(&mut self, name: &str, value: String, style: Style) {
        self.lines.push(Line::from(vec![
            Span::styled(format!("    {name:<16} "), self.key),
            Span::styled(value, style),
        ]));
    }

    fn text(&mut self, s: String, style: Style) {
        self.lines
            .push(Line::from(Span::styled(format!("    {s}"), style)));
    }
}

/// The detail pane's lines for the current selection.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Out {
        lines: Vec::new(),
        key: t.dim,
        val: t.text,
    };
    let Some(idx) = app.selected_index() else {
        match app.conn_sel {
            Some(c) => connection(app, c, &mut out),
            None => capture(app, &mut out),
        }
        return out.lines;
    };
    let Some(r) = app.store.records.get(idx as usize).copied() else {
        return out.lines;
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
            out.section(format!("WebSocket frame{conn_s}{dir} · {}", r.ts), t.title);
            frame_fields(app, &r, &mut out);
            payload(app, &r, width, &mut out);
        }
        Kind::Message => {
            out.section(format!("WebSocket message{conn_s}{dir} · {}", r.ts), t.title);
            message_fields(app, idx, &r, &mut out);
            payload(app, &r, width, &mut out);
            if r.has(flag::COMPRESSED) {
                wire_bytes(app, idx, width, &mut out);
            }
        }
        Kind::Gap => {
            out.section(format!("Capture gap{conn_s}{dir} · {}", r.ts), t.gap);
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
            out.field("Reason", gap_reason(r.len_bits).to_string());
            out.text(
                "Frames overlapping the gap cannot be decoded; the stream resynchronises after it.".into(),
                t.dim,
            );
        }
        Kind::Violation => {
            out.section(format!("Protocol violation{conn_s}{dir} · {}", r.ts), t.violation);
            if let Some(n) = app.store.note(&r) {
                out.styled_field("Rule", n.code.to_string(), t.violation);
                for (i, l) in text::safe_lines(&n.detail).into_iter().enumerate() {
                    out.field(if i == 0 { "Detail" } else { "" }, l);
                }
            }
        }
        Kind::Diagnostic => {
            out.section(format!("Capture diagnostic{conn_s} · {}", r.ts), t.gap);
            if let Some(n) = app.store.note(&r) {
                out.field("Code", n.code.to_string());
                out.field("Detail", text::safe(&n.detail).into_owned());
                if let Some(p) = n.packet {
                    out.field("Packet", p.to_string());
                }
            }
        }
        Kind::Handshake => {}
    }
    if r.conn != u32::MAX {
        if !out.lines.is_empty() {
            out.lines.push(Line::default());
        }
        connection(app, conn, &mut out);
    }
    out.lines
}

fn frame_fields(app: &App, r: &Record, out: &mut Out<'_>) {
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

fn message_fields(app: &App, idx: u32, r: &Record, out: &mut Out<'_>) {
    let name = opcode_name(r.opcode).unwrap_or("reserved");
    out.field("Opcode", format!("0x{:X}  {name}", r.opcode));
    out.field("Frames", r.rsv.to_string());
    out.field("Length", format!("{} bytes (wire {} bytes)", r.len, r.offset));
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

fn payload(app: &App, r: &Record, width: u16, out: &mut Out<'_>) {
    let t = &app.theme;
    let payload = app.payload(r);
    let data: &[u8] = &payload.bytes;
    out.lines.push(Line::default());
    let what = if r.kind == Kind::Message && r.has(flag::COMPRESSED) {
        "inflated "
    } else {
        ""
    };
    out.section(format!("Payload ({what}{} bytes)", r.len), t.title);
    match &payload.state {
        PayloadState::Complete => {}
        PayloadState::Loading => out.text(
            format!("loading the whole payload… first {} of {} bytes shown", data.len(), r.len),
            t.dim,
        ),
        PayloadState::Partial(why) => out.text(why.clone(), t.gap),
    }
    if r.kind == Kind::Frame && r.opcode == 8 && !app.hex {
        out.text(close_text(data), t.text);
        return;
    }
    if data.is_empty() {
        out.text("(empty)".into(), t.dim);
        return;
    }
    let textual = std::str::from_utf8(data)
        .ok()
        .filter(|_| !(r.kind == Kind::Frame && r.rsv & 4 != 0));
    match (app.hex, textual) {
        (false, Some(s)) => {
            let body = text::pretty_json(data).unwrap_or_else(|| s.to_string());
            if body.len() != s.len() {
                out.text("(JSON, re-indented)".into(), t.dim);
            }
            for l in text::safe_lines(&body) {
                out.text(l, t.text);
            }
        }
        (hex, _) => {
            if !hex {
                let why = if r.rsv & 4 != 0 && r.kind == Kind::Frame {
                    "(deflated bytes — press m for the inflated message)"
                } else {
                    "(not UTF-8 — shown as hex)"
                };
                out.text(why.into(), t.dim);
            }
            for l in text::hexdump_lines(data, width.saturating_sub(4)) {
                out.text(l, t.text);
            }
        }
    }
}

fn wire_bytes(app: &App, idx: u32, width: u16, out: &mut Out<'_>) {
    let t = &app.theme;
    let frags = app.store.fragments(idx);
    let mut wire = Vec::new();
    let mut complete = true;
    for f in &frags {
        if let Some(f) = app.store.records.get(*f as usize) {
            let p = app.payload(f);
            wire.extend_from_slice(&p.bytes);
            complete &= p.is_complete();
        }
    }
    out.lines.push(Line::default());
    out.section(format!("Wire bytes (deflated, {} bytes)", wire.len()), t.title);
    if !complete {
        out.text("some frames' bytes not kept — use wsscope export".into(), t.gap);
    }
    for l in text::hexdump_lines(&wire, width.saturating_sub(4)) {
        out.text(l, t.text);
    }
}

fn connection(app: &App, id: ConnId, out: &mut Out<'_>) {
    let t = &app.theme;
    let Some(c) = app.store.conn(id) else { return };
    out.section(
        format!(
            "Connection {id} · {} → {} · {}",
            c.client,
            c.server,
            c.protocol_name()
        ),
        t.title,
    );
    out.field(
        "TCP",
        format!(
            "{} · {}",
            if c.syn_seen {
                "SYN seen"
            } else {
                "picked up mid-stream"
            },
            c.tcp_end().as_str()
        ),
    );
    if let Some(r) = c.rejected_label() {
        out.styled_field("Upgrade", format!("{r} — no WebSocket"), t.bad);
    }
    out.field(
        "Span",
        format!(
            "{} – {} ({})",
            c.first_ts,
            c.last_ts,
            text::duration(c.last_ts.seconds_since(c.first_ts))
        ),
    );
    if c.is_ws() {
        out.field(
            "Frames",
            format!(
                "c2s {} · s2c {}   messages c2s {} · s2c {}",
                c.frames(Dir::C2S),
                c.frames(Dir::S2C),
                c.messages(Dir::C2S),
                c.messages(Dir::S2C)
            ),
        );
    }
    if c.end.is_some() {
        out.field(
            "Bytes",
            format!(
                "c2s {} · s2c {}",
                text::bytes(c.wire_bytes[0]),
                text::bytes(c.wire_bytes[1])
            ),
        );
        if let Some((min, med, max)) = c.rtt() {
            out.field(
                "Ping RTT",
                format!(
                    "min {} · median {} · max {}",
                    text::duration(min),
                    text::duration(med),
                    text::duration(max)
                ),
            );
        }
    }
    if c.violations > 0 {
        out.styled_field("Violations", c.violations.to_string(), t.violation);
    }
    tls(app, c, out);
    match &c.handshake {
        Some(h) => handshake(app, h, out),
        None if c.is_ws() => out.text(
            "Handshake not seen (picked up mid-stream or forced with --ws-port)".into(),
            t.dim,
        ),
        None => {}
    }
}

/// The TLS facts of a connection: what the cleartext handshake showed, and
/// whether a key was found (where) or why not.
fn tls(app: &App, c: &Conn, out: &mut Out<'_>) {
    let t = &app.theme;
    let summary = c.end_tls();
    let Some(decrypted) = c.tls_decrypted() else {
        return;
    };
    let ev = c.tls.as_deref();
    let version = ev.and_then(|e| e.version).or(summary.and_then(|s| s.version));
    out.lines.push(Line::default());
    let (lock, verdict, style) = if decrypted {
        (LOCK_OPEN, "decrypted".to_string(), t.ok)
    } else {
        (LOCK_CLOSED, format!("not decrypted: {}", tls_reason(c)), t.gap)
    };
    out.lines.push(Line::from(vec![
        Span::styled(
            format!("▾ TLS · {} · ", version.unwrap_or("version unknown")),
            t.title,
        ),
        Span::styled(format!("{lock} {verdict}"), style),
    ]));
    out.field("Version", version.unwrap_or("? (no hello captured)").into());
    let suite = ev
        .and_then(|e| e.cipher_suite.as_deref())
        .or(summary.and_then(|s| s.cipher_suite.as_deref()));
    out.field(
        "Cipher suite",
        suite.map_or("? (no ServerHello captured)".into(), |s| {
            text::safe(s).into_owned()
        }),
    );
    let sni = ev
        .and_then(|e| e.sni.as_deref())
        .or(summary.and_then(|s| s.sni.as_deref()));
    out.field("SNI", sni.map_or("none".into(), |s| text::safe(s).into_owned()));
    if let Some(e) = ev {
        let offered = if e.alpn_offered.is_empty() {
            "none offered".to_string()
        } else {
            format!(
                "offered {}",
                e.alpn_offered
                    .iter()
                    .map(|a| text::safe(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let alpn = match &e.alpn {
            Some(a) => format!("{} ({offered})", text::safe(a)),
            None if e.alpn_offered.is_empty() => offered,
            // TLS 1.3 sends the choice in EncryptedExtensions.
            None if !decrypted && e.version == Some("TLS 1.3") => {
                format!("not visible: encrypted in TLS 1.3 ({offered})")
            }
            None => format!("none selected ({offered})"),
        };
        out.field("ALPN", alpn);
        out.field(
            "Resumed",
            if e.resumed {
                "yes (session resumption)".into()
            } else {
                "no".into()
            },
        );
        if let Some(r) = &e.client_random {
            out.field("Client random", text::safe(r).into_owned());
        }
    }
    let key = match ev {
        Some(e) if decrypted => {
            let from = match e.decrypted_by {
                Some("keylog") => "found in the key log (--keylog / $SSLKEYLOGFILE)",
                Some("dsb") => "found in the capture (pcapng Decryption Secrets Block)",
                Some("trial") => "found by trial (handshake not captured)",
                Some(other) => other,
                None => "found",
            };
            match &e.detail {
                Some(d) => format!("{LOCK_OPEN} {from}: {}", text::safe(d)),
                None => format!("{LOCK_OPEN} {from}"),
            }
        }
        Some(e) => {
            let why = match e.reason {
                Some("no-key") => "no key log line for this connection's client random".to_string(),
                Some("bad-key") => {
                    "the key log has an entry, but the records fail authentication (wrong or corrupted secrets)"
                        .to_string()
                }
                Some("unsupported") => format!(
                    "unsupported: {}",
                    e.detail.as_deref().map_or("?".into(), text::safe)
                ),
                Some("no-handshake") => {
                    "the capture started after the TLS handshake, and no key matched by trial".to_string()
                }
                Some(other) => other.to_string(),
                None => "?".to_string(),
            };
            format!("{LOCK_CLOSED} not found: {why}")
        }
        None if decrypted => format!("{LOCK_OPEN} found"),
        None => format!("{LOCK_CLOSED} not found"),
    };
    out.styled_field("Key", key, style);
    if let Some(s) = summary {
        let undecrypted = s.records_undecrypted[Dir::C2S] + s.records_undecrypted[Dir::S2C];
        out.field(
            "Records",
            format!(
                "c2s {} · s2c {}{}",
                s.records[Dir::C2S],
                s.records[Dir::S2C],
                if undecrypted > 0 {
                    format!(
                        " · not decrypted c2s {} · s2c {}",
                        s.records_undecrypted[Dir::C2S],
                        s.records_undecrypted[Dir::S2C]
                    )
                } else {
                    String::new()
                }
            ),
        );
        if s.key_updates[Dir::C2S] + s.key_updates[Dir::S2C] > 0 {
            out.field(
                "Key updates",
                format!(
                    "c2s {} · s2c {}",
                    s.key_updates[Dir::C2S],
                    s.key_updates[Dir::S2C]
                ),
            );
        }
    }
    if !decrypted {
        match ev.and_then(|e| e.reason) {
            Some("no-key") | Some("no-handshake") => {
                out.text(
                    "Nothing inside is shown. Record the TLS secrets while capturing: SSLKEYLOGFILE=/path/keys.log"
                        .into(),
                    t.dim,
                );
                out.text(
                    "(curl, Python, Node --tls-keylog, Firefox, Chrome; Chromium --ssl-key-log-file), then"
                        .into(),
                    t.dim,
                );
                out.text("wsscope --keylog /path/keys.log FILE".into(), t.dim);
            }
            Some("bad-key") => out.text(
                "Nothing inside is shown. Check that the key log belongs to this capture.".into(),
                t.dim,
            ),
            _ => out.text("Nothing inside is shown.".into(), t.dim),
        }
    }
}

fn handshake(app: &App, h: &Handshake, out: &mut Out<'_>) {
    let t = &app.theme;
    out.lines.push(Line::default());
    out.section(
        format!("Handshake · {}", super::handshake_summary(app, h.conn)),
        t.title,
    );
    out.text(format!("▸ Request · {}", h.ts), t.c2s);
    out.text(
        format!("  {} {} HTTP/1.1", text::safe(h.method()), text::safe(h.path())),
        t.text,
    );
    for (k, v) in h.request_headers() {
        out.text(format!("  {}: {}", text::safe(k), text::safe(v)), t.text);
    }
    match h.status {
        Some(st) => {
            let when = h.response_ts.map_or(String::new(), |ts| format!(" · {ts}"));
            out.text(format!("▸ Response{when}"), t.s2c);
            out.text(
                format!("  HTTP/1.1 {st} {}", text::safe(h.reason().unwrap_or(""))),
                if st == 101 { t.text } else { t.bad },
            );
            for (k, v) in h.response_headers() {
                out.text(format!("  {}: {}", text::safe(k), text::safe(v)), t.text);
            }
        }
        None => out.text("▸ Response not captured".into(), t.dim),
    }
    let exp = h.accept_expected().map_or("-".into(), text::safe);
    let got = h.accept().map_or("-".into(), text::safe);
    let (verdict, style) = match h.accept_ok {
        Some(true) => ("✓ verified", t.ok),
        Some(false) => ("✗ MISMATCH", t.bad),
        None if h.status.is_some_and(|s| s != 101) => ("- none: the upgrade was rejected", t.dim),
        None => ("? not verified", t.dim),
    };
    out.styled_field("Accept", verdict.into(), style);
    out.field("  expected", exp.into_owned());
    out.field("  received", got.into_owned());
    if let Some(p) = h.subprotocol() {
        out.field("Subprotocol", text::safe(p).into_owned());
    }
    if let Some(e) = h.extensions() {
        out.field("Extensions", text::safe(e).into_owned());
    }
    if let Some(d) = &h.deflate {
        let mut parts = Vec::new();
        if d.server_no_context_takeover {
            parts.push("server_no_context_takeover".to_string());
        }
        if d.client_no_context_takeover {
            parts.push("client_no_context_takeover".to_string());
        }
        if let Some(b) = d.server_max_window_bits {
            parts.push(format!("server_max_window_bits={b}"));
        }
        if let Some(b) = d.client_max_window_bits {
            parts.push(format!("client_max_window_bits={b}"));
        }
        out.field(
            "Deflate",
            if parts.is_empty() {
                "defaults".into()
            } else {
                parts.join(" ")
            },
        );
    }
}

fn capture(app: &App, out: &mut Out<'_>) {
    let t = &app.theme;
    let s = &app.store;
    out.section(format!("Capture · {}", text::safe(&app.source)), t.title);
    out.field(
        "Connections",
        format!("{} TCP · {} WebSocket", s.conns.len(), s.ws_conns.len()),
    );
    if s.tls_conns > 0 {
        let not = s.tls_undecrypted;
        out.styled_field(
            "TLS",
            format!(
                "{} connections · {} decrypted · {not} not{}",
                s.tls_conns,
                s.tls_conns - not,
                if not > 0 {
                    " (their rows say why; select one for details)"
                } else {
                    ""
                }
            ),
            if not > 0 { t.gap } else { t.text },
        );
    }
    out.field("Frames", s.frames.to_string());
    out.field("Messages", s.messages.to_string());
    out.field("Violations", s.violations.to_string());
    out.field("Gaps", s.gaps.to_string());
    out.field("Diagnostics", s.diagnostics.to_string());
    out.field(
        "Payload kept",
        format!(
            "{} ({} payloads cut to a preview)",
            text::bytes(s.kept_bytes as u64),
            s.dropped_payloads
        ),
    );
}
