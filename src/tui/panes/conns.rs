//! Connections pane: the "all" row, then one row per WebSocket connection
//! and per TLS connection that could not be decrypted (or every TCP
//! connection, with `a`): endpoints, path, subprotocol, deflate, handshake
//! badge, a lock for TLS (open: decrypted; closed: not, with the reason in
//! words), counts, violations, state.

use super::super::app::{App, ConnList, Focus};
use super::super::keys::{self, Move};
use super::super::store::{Conn, Store};
use super::super::text;
use super::{badge, block};
use crate::event::{ConnId, Protocol, TcpEnd};
use crate::ws::rules::close_code_name;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use std::cmp::Reverse;

pub fn on_key(app: &mut App, key: &KeyEvent) -> bool {
    if let Some(m) = keys::movement(key) {
        apply_move(app, m);
        return true;
    }
    if key.code == KeyCode::Enter {
        app.focus = Focus::Timeline;
        return true;
    }
    if keys::plain(key, 'o') {
        app.conn_sort.order = app.conn_sort.order.next();
        app.resort_conns();
        app.status = Some((format!("connections by {}", app.conn_sort.order.label()), false));
        return true;
    }
    false
}

/// The connections pane's order; `o` cycles through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnOrder {
    /// By id: the order connections appeared in (Wireshark's `tcp.stream`).
    #[default]
    Id,
    /// Most violations first.
    Violations,
    /// Most messages first.
    Messages,
    /// Most bytes first: on the wire once the connection's summary came,
    /// else its WebSocket payload bytes so far.
    Bytes,
    /// Earliest first packet first.
    Start,
}

impl ConnOrder {
    pub fn next(self) -> ConnOrder {
        match self {
            ConnOrder::Id => ConnOrder::Violations,
            ConnOrder::Violations => ConnOrder::Messages,
            ConnOrder::Messages => ConnOrder::Bytes,
            ConnOrder::Bytes => ConnOrder::Start,
            ConnOrder::Start => ConnOrder::Id,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnOrder::Id => "id",
            ConnOrder::Violations => "violations ↓",
            ConnOrder::Messages => "messages ↓",
            ConnOrder::Bytes => "bytes ↓",
            ConnOrder::Start => "start time",
        }
    }
}

/// Bytes a connection carried, for [`ConnOrder::Bytes`].
fn conn_bytes(c: &Conn) -> u64 {
    let wire = c.wire_bytes[0].saturating_add(c.wire_bytes[1]);
    let payload = c.ws.as_ref().map_or(0, |w| w.bytes[0].saturating_add(w.bytes[1]));
    wire.max(payload)
}

/// The pane's list in an order other than by id. Sorted when `o` is
/// pressed and when the list grows (new connections) — never on a draw: a
/// million connections sort in tens of milliseconds, once.
#[derive(Clone, Debug, Default)]
pub struct SortedConns {
    pub order: ConnOrder,
    /// The list sorted: (every TCP connection?, its length). While it
    /// differs from the pane's list, the pane shows that list by id.
    base: (bool, usize),
    ids: Vec<ConnId>,
    /// Position in `ids` by connection id (`u32::MAX`: not in the list).
    pos: Vec<u32>,
}

fn base_key(list: ConnList<'_>) -> (bool, usize) {
    (matches!(list, ConnList::All(_)), list.len())
}

impl SortedConns {
    /// The sorted list, if the order is not by id and `base` is the list it sorted.
    pub fn list(&self, base: ConnList<'_>) -> Option<ConnList<'_>> {
        (self.order != ConnOrder::Id && base_key(base) == self.base).then_some(ConnList::Sorted {
            ids: &self.ids,
            pos: &self.pos,
        })
    }

    fn sort(&mut self, store: &Store, base: ConnList<'_>) {
        self.base = base_key(base);
        self.ids.clear();
        self.ids.extend((0..base.len()).filter_map(|i| base.get(i)));
        let conn = |id: ConnId| store.conn(id);
        match self.order {
            ConnOrder::Id => self.ids.sort_unstable(),
            ConnOrder::Violations => self
                .ids
                .sort_by_cached_key(|&id| (Reverse(conn(id).map_or(0, |c| c.violations)), id)),
            ConnOrder::Messages => self
                .ids
                .sort_by_cached_key(|&id| (Reverse(conn(id).map_or(0, |c| c.total_messages())), id)),
            ConnOrder::Bytes => self
                .ids
                .sort_by_cached_key(|&id| (Reverse(conn(id).map_or(0, conn_bytes)), id)),
            ConnOrder::Start => self
                .ids
                .sort_by_cached_key(|&id| (conn(id).map(|c| c.first_ts), id)),
        }
        self.pos.clear();
        self.pos.resize(store.conns.len(), u32::MAX);
        for (p, &id) in self.ids.iter().enumerate() {
            if let Some(slot) = usize::try_from(id).ok().and_then(|i| self.pos.get_mut(i)) {
                *slot = u32::try_from(p).unwrap_or(u32::MAX);
            }
        }
    }
}

impl App {
    /// Sorts the connections pane's list in the chosen order (a no-op by
    /// id: the lists are kept by id).
    pub fn resort_conns(&mut self) {
        if self.conn_sort.order == ConnOrder::Id {
            self.conn_sort.ids = Vec::new();
            self.conn_sort.pos = Vec::new();
            return;
        }
        let mut sorted = std::mem::take(&mut self.conn_sort);
        sorted.sort(&self.store, self.base_conn_list());
        self.conn_sort = sorted;
    }

    /// Re-sorts when the list changed since it was sorted (new
    /// connections, `a`): called after each batch of events.
    pub fn resort_conns_if_changed(&mut self) {
        if self.conn_sort.order != ConnOrder::Id && base_key(self.base_conn_list()) != self.conn_sort.base {
            self.resort_conns();
        }
    }
}

pub fn apply_move(app: &mut App, m: Move) {
    let page = usize::from(app.geometry.get().conns.height.saturating_sub(2).max(1));
    let len = app.conn_list().len() + 1;
    let pos = keys::apply(m, app.conn_pos(), len, page);
    app.select_conn_pos(pos);
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let list = app.conn_list();
    let ws = app.store.ws_conns.len();
    let all = app.store.conns.len();
    let tls = app.store.tls_conns;
    let mut title = vec![
        Span::styled(" Connections ", t.title),
        Span::styled(format!("{ws} websocket · {all} tcp "), t.dim),
    ];
    if app.conn_sort.order != ConnOrder::Id {
        title.push(Span::styled(
            format!("· by {} (o) ", app.conn_sort.order.label()),
            t.key,
        ));
    }
    if tls > 0 {
        title.push(Span::styled(format!("· {tls} tls ("), t.dim));
        title.push(Span::styled(LOCK_OPEN, t.ok));
        title.push(Span::styled(" decrypted ", t.dim));
        title.push(Span::styled(LOCK_CLOSED, t.gap));
        title.push(Span::styled(" not) ", t.dim));
    }
    if ws == 0 && all > 0 {
        title.push(Span::styled("(no WebSocket seen: showing all TCP) ", t.dim));
    } else if app.show_all_tcp {
        let only = if app.store.tls_undecrypted > 0 {
            "WebSocket and undecrypted TLS only"
        } else {
            "WebSocket only"
        };
        title.push(Span::styled(format!("(all TCP — a: {only}) "), t.dim));
    } else if app.store.tls_undecrypted > 0 {
        title.push(Span::styled("(a: all TCP) ", t.dim));
    }
    let b = block(app, Focus::Conns, Line::from(title));
    let inner = b.inner(area);
    b.render(area, buf);
    let h = usize::from(inner.height);
    if h == 0 {
        return;
    }
    let total = list.len() + 1;
    let pos = app.conn_pos();
    let mut off = app.conns_offset.get().min(total.saturating_sub(1));
    if pos < off {
        off = pos;
    } else if pos >= off + h {
        off = pos + 1 - h;
    }
    app.conns_offset.set(off);
    let mut lines = Vec::with_capacity(h);
    for p in off..(off + h).min(total) {
        let mut line = if p == 0 {
            all_row(app)
        } else {
            match list.get(p - 1) {
                Some(id) => conn_row(app, id),
                None => Line::default(),
            }
        };
        if p == pos {
            line = line.patch_style(t.selected);
        }
        lines.push(line);
    }
    Paragraph::new(lines).render(inner, buf);
}

fn all_row(app: &App) -> Line<'static> {
    let t = &app.theme;
    let s = &app.store;
    Line::from(vec![
        Span::styled("  * ", t.dim),
        Span::styled("all connections merged", t.text),
        Span::styled(format!("  {} frames · {} messages", s.frames, s.messages), t.dim),
        if s.violations > 0 {
            Span::styled(format!("  ⚠ {}", s.violations), t.violation)
        } else {
            Span::raw("")
        },
        match s.findings.len() {
            0 => Span::raw(""),
            1 => Span::styled("  ! 1 finding (F)", t.gap),
            n => Span::styled(format!("  ! {n} findings (F)"), t.gap),
        },
    ])
}

fn conn_row(app: &App, id: u64) -> Line<'static> {
    let t = &app.theme;
    let Some(c) = app.store.conn(id) else {
        return Line::default();
    };
    let mut spans = vec![Span::styled(format!("{id:>3} "), t.dim)];
    if c.rejected.is_some() {
        spans.push(Span::styled(REJECTED, t.bad));
    } else if c.is_ws() {
        spans.push(badge(app, id));
    } else {
        spans.push(Span::styled("·", t.dim));
    }
    spans.push(Span::raw(" "));
    // A lock column, only in captures with TLS (plaintext rows keep their layout).
    if app.store.tls_conns > 0 {
        spans.push(lock(app, c));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(c.client.to_string(), t.c2s));
    spans.push(Span::styled(" → ", t.dim));
    spans.push(Span::styled(c.server.to_string(), t.s2c));
    if let Some(h) = &c.handshake {
        spans.push(Span::raw(format!(" {}", text::safe(h.path()))));
        if let Some(p) = h.subprotocol() {
            spans.push(Span::styled(format!(" [{}]", text::safe(p)), t.dim));
        }
        if h.deflate.is_some() {
            spans.push(Span::styled(" deflate", t.dim));
        }
        if let Some(st) = h.refused() {
            spans.push(Span::styled(format!("  rejected {st}"), t.bad));
        }
        if !c.streams().is_empty() {
            let n = c.streams().len();
            spans.push(Span::styled(
                format!(" HTTP/2 {n} stream{}", if n == 1 { "" } else { "s" }),
                t.dim,
            ));
        }
    } else if let Some(r) = c.rejected_label() {
        // The handshake row was past the memory budget; its status was kept.
        spans.push(Span::styled(format!("  {r}"), t.bad));
    } else if c.is_ws() {
        spans.push(Span::styled(" (no handshake)", t.dim));
    } else if let Some(decrypted) = c.tls_decrypted() {
        let proto = match c.protocol {
            Protocol::Http if decrypted => "https",
            _ => "tls",
        };
        spans.push(Span::styled(format!(" {proto}"), t.dim));
        if let Some(tls) = &c.tls {
            if let Some(sni) = &tls.sni {
                spans.push(Span::raw(format!(" {}", text::safe(sni))));
            }
            if let Some(alpn) = &tls.alpn {
                spans.push(Span::styled(format!(" [{}]", text::safe(alpn)), t.dim));
            }
        }
        if !decrypted {
            spans.push(Span::styled(format!("  not decrypted: {}", tls_reason(c)), t.gap));
        }
    } else {
        let proto = match c.protocol {
            Protocol::Http => "http",
            _ => "tcp",
        };
        spans.push(Span::styled(format!(" {proto}"), t.dim));
    }
    if c.is_ws() {
        spans.push(Span::styled(
            format!("  {}f {}m", c.total_frames(), c.total_messages()),
            t.text,
        ));
    } else if c.end.is_some() {
        let b = c.wire_bytes[0] + c.wire_bytes[1];
        spans.push(Span::styled(format!("  {}", text::bytes(b)), t.dim));
    }
    if c.violations > 0 {
        spans.push(Span::styled(format!("  ⚠{}", c.violations), t.violation));
    }
    if c.gaps > 0 {
        spans.push(Span::styled(format!("  gaps {}", c.gaps), t.gap));
    }
    if let Some((_, worst)) = app.store.findings.of(id) {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            super::findings::marker(worst),
            super::findings::severity_style(t, worst),
        ));
    }
    spans.push(Span::raw("  "));
    spans.push(state(app, c));
    Line::from(spans)
}

/// An upgrade refused (answered 403, 400…, not 101): the badge column's
/// glyph; the row says `rejected 403` in words.
pub const REJECTED: &str = "⊘";

/// Decrypted TLS (an open lock: wsscope sees inside).
pub const LOCK_OPEN: &str = "🔓";
/// TLS that could not be decrypted (closed: the reason follows in words).
pub const LOCK_CLOSED: &str = "🔒";

/// The lock column: open for decrypted TLS, closed for TLS not decrypted,
/// blank (two cells, the lock's width) for plaintext connections. The
/// glyphs differ, so the column reads without colour (`NO_COLOR`); the
/// words after it (`tls`, `not decrypted: no-key`) read without emoji.
fn lock(app: &App, c: &Conn) -> Span<'static> {
    let t = &app.theme;
    match c.tls_decrypted() {
        Some(true) => Span::styled(LOCK_OPEN, t.ok),
        Some(false) => Span::styled(LOCK_CLOSED, t.gap),
        None => Span::raw("  "),
    }
}

/// Why a TLS connection was not decrypted: `no-key`, `bad-key`,
/// `unsupported (…)`, `no-handshake`.
pub fn tls_reason(c: &Conn) -> String {
    let Some(tls) = &c.tls else {
        return "?".into();
    };
    let reason = tls.reason.unwrap_or("?");
    match (&tls.detail, reason) {
        (Some(d), "unsupported") => format!("{reason} ({})", text::safe(d)),
        _ => reason.into(),
    }
}

fn state(app: &App, c: &Conn) -> Span<'static> {
    let t = &app.theme;
    let close = c.close.iter().flatten().next().copied();
    let tcp = c.tcp_end();
    match (close, tcp) {
        (Some(Some(code)), _) => Span::styled(
            format!("closed {code} {}", close_code_name(code)),
            if matches!(code, 1000 | 1001) { t.dim } else { t.bad },
        ),
        (Some(None), _) => Span::styled("closed (no code)", t.dim),
        (None, TcpEnd::Open) => Span::styled("open", t.ok),
        (None, TcpEnd::Rst) => Span::styled("reset", t.bad),
        (None, end) => Span::styled(format!("tcp {}", end.as_str()), t.dim),
    }
}
