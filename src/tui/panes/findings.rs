//! The findings view (`F`): the security audit's findings ([`crate::audit`])
//! over the timeline, high severity first, then by time — severity, rule,
//! connection (`#3`, or `#3/1` for an HTTP/2 stream), first packet and the
//! evidence on one line — with the selected one's detail below (what the
//! audit saw, and the rule's title, explanation, reference and fix from
//! [`crate::audit::catalog`]). Enter goes to the evidence: the view closes
//! and the timeline's cursor lands on the first row whose packets include
//! the finding's first packet (else the connection's first row).
//!
//! Every text from the capture goes through [`text::safe`].

use super::super::app::{App, Focus};
use super::super::keys::{self, Move};
use super::super::text;
use super::super::theme::Theme;
use super::fit;
use crate::audit::catalog;
use crate::event::{ConnId, FindingEvent, Severity};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};
use std::cell::Cell;

/// What the view says when the audit found nothing.
pub const NONE_FOUND: &str = "no findings: the audit's rules found nothing in this capture";

/// The view's state: open or not, the selected finding (a position in the
/// severity order) and the list's first row shown.
#[derive(Debug, Default)]
pub struct FindingsView {
    pub open: bool,
    pub cursor: usize,
    offset: Cell<usize>,
    /// Rows of the list drawn last (a page for PgUp / PgDn).
    page: Cell<usize>,
}

/// A severity's style: high red, medium yellow, low and info dim (bold,
/// underlined and dim without colour).
pub fn severity_style(t: &Theme, s: Severity) -> Style {
    match s {
        Severity::High => t.bad,
        Severity::Medium => t.gap,
        Severity::Low | Severity::Info => t.dim,
    }
}

/// The connections pane's marker for a connection's highest severity.
pub fn marker(s: Severity) -> &'static str {
    match s {
        Severity::High => "!H",
        Severity::Medium => "!M",
        Severity::Low => "!L",
        Severity::Info => "!i",
    }
}

/// `#3`, or `#3/1` for HTTP/2 stream 1.
pub fn conn_label(f: &FindingEvent) -> String {
    match f.session.stream {
        Some(s) => format!("#{}/{s}", f.conn),
        None => format!("#{}", f.conn),
    }
}

/// Keys while the view is open: it takes them all (but `?`, help).
pub fn on_key(app: &mut App, key: &KeyEvent) -> bool {
    if let Some(m) = keys::movement(key) {
        let len = app.store.findings.len();
        let page = app.findings.page.get();
        app.findings.cursor = keys::apply(m, app.findings.cursor, len, page);
        return true;
    }
    match key.code {
        KeyCode::Esc => app.findings.open = false,
        KeyCode::Enter => app.jump_to_finding(app.findings.cursor),
        _ if keys::plain(key, 'F') || keys::plain(key, 'q') => app.findings.open = false,
        _ if keys::plain(key, '?') => return false,
        _ => {}
    }
    true
}

/// The mouse wheel over the view moves the selection.
pub fn apply_move(app: &mut App, m: Move) {
    let len = app.store.findings.len();
    app.findings.cursor = keys::apply(m, app.findings.cursor, len, app.findings.page.get());
}

impl App {
    /// `F`: opens the findings view (on the most severe) or closes it.
    pub fn toggle_findings(&mut self) {
        self.findings.open = !self.findings.open;
        if self.findings.open {
            self.findings.cursor = self
                .findings
                .cursor
                .min(self.store.findings.len().saturating_sub(1));
        }
    }

    /// The timeline position of a finding's evidence: the first row of its
    /// connection (and stream) whose packets include `packet`; whether it
    /// was that row, or only the connection's first row in the view.
    pub fn finding_row(
        &self,
        conn: ConnId,
        stream: Option<u32>,
        packet: Option<u64>,
    ) -> Option<(usize, bool)> {
        let conn = u32::try_from(conn).ok()?;
        let (mut first, mut other_stream) = (None, None);
        for (p, &i) in self.view.rows.iter().enumerate() {
            let Some(r) = self.store.records.get(i as usize) else {
                continue;
            };
            if r.conn != conn {
                continue;
            }
            first.get_or_insert(p);
            let Some(want) = packet else { break };
            if r.packets().is_some_and(|(a, b)| a <= want && want <= b) {
                if stream.is_none() || self.store.stream_of(r) == stream {
                    return Some((p, true));
                }
                other_stream.get_or_insert(p);
            }
        }
        other_stream.map(|p| (p, true)).or(first.map(|p| (p, false)))
    }

    /// Enter in the findings view: closes it and puts the timeline's
    /// cursor on the finding's evidence (see [`App::finding_row`]); the
    /// timeline shows the finding's connection when another one was
    /// selected. The status line says where the cursor went.
    pub fn jump_to_finding(&mut self, n: usize) {
        let Some(f) = self.store.findings.sorted(n) else {
            self.findings.open = false;
            return;
        };
        let (conn, stream, packet) = (f.conn, f.session.stream, f.packets.first().copied());
        let label = format!("{} {} on {}", f.severity.as_str(), f.rule, conn_label(f));
        self.findings.open = false;
        self.zoom = None;
        if self.stats.open {
            self.toggle_stats();
        }
        let mut found = self.finding_row(conn, stream, packet);
        if found.is_none_or(|(_, exact)| !exact) && self.conn_sel.is_some_and(|c| c != conn) {
            self.show_conn(conn);
            found = self.finding_row(conn, stream, packet);
        }
        let at = packet.map_or(String::new(), |p| format!(" · packet {p}"));
        let msg = match found {
            Some((p, exact)) => {
                self.cursor = p;
                self.follow = false;
                self.detail_scroll.set(0);
                self.focus = Focus::Timeline;
                if exact {
                    format!("{label}{at}")
                } else if packet.is_some() {
                    format!("{label}{at}: no row of it in this view — the connection's first row")
                } else {
                    format!("{label}: the connection's first row")
                }
            }
            None if self.view.spec.narrowed() => {
                format!("{label}{at}: the filter hides its rows (f to change it)")
            }
            None => format!("{label}{at}: none of its rows is in the timeline"),
        };
        self.status = Some((msg, false));
    }

    /// Shows connection `id`'s timeline (as selecting it in the
    /// connections pane does, even when the pane does not list it).
    fn show_conn(&mut self, id: ConnId) {
        match self.conn_list().position(id) {
            Some(p) => self.select_conn_pos(p + 1),
            None => {
                self.conn_sel = Some(id);
                self.follow = false;
                self.cursor = 0;
                self.rebuild_view();
                self.tl_offset.set(0);
            }
        }
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let all = &app.store.findings;
    let tally = all.tally();
    let mut title = vec![Span::styled(" Findings ", t.title)];
    for s in Severity::ALL.into_iter().rev() {
        let n = tally.get(s as usize).copied().unwrap_or(0);
        if n > 0 {
            title.push(Span::styled(format!("{n} {} ", s.as_str()), severity_style(t, s)));
        }
    }
    title.push(Span::styled(
        "· ↑↓ select · Enter: go to the evidence · Esc/F: close ",
        t.dim,
    ));
    Clear.render(area, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.focus_border)
        .title(Line::from(title));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if all.is_empty() {
        let mut lines = vec![Line::from(Span::styled(NONE_FOUND, t.dim))];
        if app.loading {
            lines.push(Line::from(Span::styled("(still reading the capture)", t.dim)));
        }
        if all.not_held > 0 {
            lines.push(Line::from(Span::styled(
                format!("{} findings not held (memory budget)", all.not_held),
                t.bad,
            )));
        }
        Paragraph::new(lines).render(inner, buf);
        return;
    }
    let n = all.len();
    // The list takes up to 55% of the height (header row included); the
    // detail of the selected finding the rest.
    let list_h = (n as u16 + 1)
        .min(inner.height.saturating_mul(55) / 100)
        .max(2)
        .min(inner.height);
    let list = Rect {
        height: list_h,
        ..inner
    };
    let detail = Rect {
        y: inner.y + list_h,
        height: inner.height - list_h,
        ..inner
    };
    render_list(app, list, buf);
    if detail.height > 1 {
        render_detail(app, detail, buf);
    }
}

/// Column widths: severity, rule, connection, packet.
const COLS: [usize; 4] = [9, 25, 8, 8];

fn render_list(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let all = &app.store.findings;
    let w = usize::from(area.width);
    let rows = usize::from(area.height.saturating_sub(1)).max(1);
    app.findings.page.set(rows);
    let cur = app.findings.cursor.min(all.len().saturating_sub(1));
    let mut off = app.findings.offset.get().min(all.len().saturating_sub(1));
    if cur < off {
        off = cur;
    } else if cur >= off + rows {
        off = cur + 1 - rows;
    }
    app.findings.offset.set(off);
    let head: String = ["severity", "rule", "conn", "packet"]
        .iter()
        .zip(COLS)
        .map(|(h, c)| fit(h, c))
        .collect::<String>()
        + "evidence";
    let mut lines = vec![Line::from(Span::styled(fit(&head, w), t.dim))];
    let rest = w.saturating_sub(COLS.iter().sum());
    let [c_sev, c_rule, c_conn, c_pkt] = COLS;
    for p in off..(off + rows).min(all.len()) {
        let Some(f) = all.sorted(p) else { continue };
        let packet = f.packets.first().map_or("-".into(), |p| p.to_string());
        let mut line = Line::from(vec![
            Span::styled(fit(f.severity.as_str(), c_sev), severity_style(t, f.severity)),
            Span::styled(fit(f.rule, c_rule), t.text),
            Span::styled(fit(&conn_label(f), c_conn), t.dim),
            Span::styled(fit(&packet, c_pkt), t.dim),
            Span::styled(one_line(&f.evidence, rest), t.text),
        ]);
        if p == cur {
            line = line.patch_style(t.selected);
        }
        lines.push(line);
    }
    Paragraph::new(lines).render(area, buf);
}

/// Safe text on one line of at most `w` columns, `…` where it was cut.
fn one_line(s: &str, w: usize) -> String {
    let s = text::safe(s);
    if text::str_width(&s) <= w {
        return s.into_owned();
    }
    let mut out = fit(&s, w.saturating_sub(1)).trim_end().to_string();
    out.push('…');
    out
}

fn render_detail(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let Some(f) = app.store.findings.sorted(app.findings.cursor) else {
        return;
    };
    let rule = catalog::rule(f.rule);
    let w = usize::from(area.width);
    let field = |name: &str, value: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("  {name:<10} "), t.dim),
            Span::styled(value, style),
        ])
    };
    let packets: Vec<String> = f.packets.iter().map(u64::to_string).collect();
    let mut lines = vec![
        Line::from(Span::styled("─".repeat(w), t.border)),
        Line::from(vec![
            Span::styled(
                format!("▾ {} ", f.severity.as_str().to_uppercase()),
                severity_style(t, f.severity),
            ),
            Span::styled(rule.map_or(f.rule, |r| r.title).to_string(), t.title),
        ]),
        field(
            "rule",
            format!("{} · connection {} · {}", f.rule, conn_label(f), f.ts),
            t.text,
        ),
    ];
    if !packets.is_empty() {
        lines.push(field("packets", packets.join(", "), t.text));
    }
    lines.push(field("evidence", text::safe(&f.evidence).into_owned(), t.text));
    if !f.detail.is_empty() {
        lines.push(field("detail", text::safe(&f.detail).into_owned(), t.text));
    }
    if let Some(r) = rule {
        lines.push(field("why", r.explanation.to_string(), t.text));
        lines.push(field("reference", r.reference.to_string(), t.dim));
        lines.push(field("fix", r.fix.to_string(), t.ok));
    }
    let rows: Vec<Line<'static>> = lines
        .iter()
        .flat_map(|l| text::wrap_line(l, w, 13))
        .take(usize::from(area.height))
        .collect();
    Paragraph::new(rows).render(area, buf);
}
