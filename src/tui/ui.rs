//! Rendering: `impl Widget for &App`. Layout adapts to the terminal: at
//! 80×24 the panes stack (the focused one gets the larger share); from 150
//! columns the timeline and the detail sit side by side; below 24 rows or
//! 60 columns only the focused pane is shown (Tab cycles, Enter opens the
//! detail, Esc goes back), as when the detail is zoomed (`z`).

use super::app::{App, Focus, Geometry, PromptKind};
use super::keys;
use super::panes;
use super::text;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self;
        if area.height < 6 || area.width < 30 {
            Paragraph::new("wsscope: terminal too small").render(area, buf);
            return;
        }
        let [header, body, hint] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(area);
        app.compact
            .set(area.height < COMPACT_BELOW.1 || area.width < COMPACT_BELOW.0);
        let g = layout(app, body);
        app.geometry.set(g);
        render_header(app, header, buf);
        if !g.conns.is_empty() {
            panes::conns::render(app, g.conns, buf);
        }
        if app.stats.open {
            // The statistics take the timeline's and the detail's room.
            let area = match (g.timeline.is_empty(), g.detail.is_empty()) {
                (false, false) => g.timeline.union(g.detail),
                (false, true) => g.timeline,
                (true, false) => g.detail,
                (true, true) => Rect::default(),
            };
            if !area.is_empty() {
                panes::stats::render(app, area, buf);
            }
        } else {
            if !g.timeline.is_empty() {
                panes::timeline::render(app, g.timeline, buf);
            }
            if !g.detail.is_empty() {
                panes::detail::render(app, g.detail, buf);
            }
        }
        render_hint(app, hint, buf);
        if app.findings.open {
            panes::findings::render(app, body, buf);
        }
        if app.help {
            render_help(app, area, buf);
        }
    }
}

/// Terminal size (columns, rows) below which one pane is shown at a time.
pub const COMPACT_BELOW: (u16, u16) = (60, 24);

/// Where the panes go in `body`.
pub fn layout(app: &App, body: Rect) -> Geometry {
    if let Some(pane) = app.single_pane() {
        let mut g = Geometry {
            timeline_rows: app.geometry.get().timeline_rows,
            ..Geometry::default()
        };
        match pane {
            Focus::Conns => g.conns = body,
            Focus::Timeline => g.timeline = body,
            Focus::Detail => g.detail = body,
        }
        return g;
    }
    // A SYN scan can list more connections than a u16 counts.
    let want = u16::try_from(app.conn_list().len().saturating_add(3)).unwrap_or(u16::MAX);
    // The statistics view keeps its room: the pane scrolls.
    let cap = if app.focus == Focus::Conns && !app.stats.open {
        body.height / 2
    } else {
        (body.height / 4).max(4)
    };
    let conns_h = want.min(cap).max(3);
    let [conns, main] = Layout::vertical([Constraint::Length(conns_h), Constraint::Fill(1)]).areas(body);
    let (timeline, detail) = if body.width >= 150 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
        (a, b)
    } else {
        let tl = if app.focus == Focus::Detail { 35 } else { 60 };
        let [a, b] = Layout::vertical([Constraint::Percentage(tl), Constraint::Fill(1)]).areas(main);
        (a, b)
    };
    Geometry {
        conns,
        timeline,
        timeline_rows: app.geometry.get().timeline_rows,
        detail,
    }
}

fn sep(app: &App) -> Span<'static> {
    Span::styled(" │ ", app.theme.dim)
}

fn render_header(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let s = &app.store;
    // Segments in display order, each with its rank: when the line is too
    // narrow, the highest rank goes first (0 stays). What a user looks for
    // first — violations, then gaps, then connections and messages — stays
    // longest; the file name is shortened to what is left.
    let mut segs: Vec<(u8, Vec<Span<'static>>)> = vec![(
        1,
        vec![Span::styled(
            format!("{} violations", s.violations),
            if s.violations > 0 { t.violation } else { t.dim },
        )],
    )];
    if s.gaps > 0 {
        segs.push((2, vec![Span::styled(format!("{} gaps", s.gaps), t.gap)]));
    }
    if let Some(v) = not_held_short(app) {
        segs.push((2, v));
    }
    segs.push((
        4,
        vec![Span::raw(format!(
            "{} ws / {} tcp",
            s.ws_conns.len(),
            s.conns_seen.max(s.conns.len() as u64)
        ))],
    ));
    // Narrow terminals get the short forms.
    let narrow = area.width < COMPACT_BELOW.0;
    segs.push((
        3,
        vec![Span::raw(if narrow {
            format!("{} msgs", s.messages)
        } else {
            format!("{} frames · {} msgs", s.frames, s.messages)
        })],
    ));
    if s.tls_conns > 0 {
        let mut v = vec![Span::raw(format!("{} tls", s.tls_conns))];
        if s.tls_undecrypted > 0 {
            v.push(Span::styled(
                format!(" ({} not decrypted)", s.tls_undecrypted),
                t.gap,
            ));
        }
        segs.push((5, v));
    }
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        segs.push((7, vec![Span::raw(format!("{a}–{b}"))]));
        segs.push((6, vec![Span::raw(text::duration(b.seconds_since(a)))]));
    }
    if app.live {
        let state = if app.paused {
            Span::styled(format!("❚❚ PAUSED +{}", app.pending()), t.gap)
        } else if app.loading {
            Span::styled("● LIVE", t.bad)
        } else {
            Span::styled("■ stopped", t.dim)
        };
        let mut v = vec![state];
        if let Some(pps) = app.progress.pps {
            v.push(Span::raw(format!(" {pps:.0} pkt/s")));
        }
        v.push(Span::raw(format!(
            " · drops {}",
            app.progress.dropped.map_or("?".into(), |d| d.to_string())
        )));
        if !app.paused && app.follow {
            v.push(Span::styled(" · following", t.ok));
        }
        segs.push((0, v));
    } else if app.loading {
        let v = match app.progress.total_bytes.filter(|&n| n > 0) {
            Some(total) => {
                let frac = (app.progress.bytes_read as f64 / total as f64).clamp(0.0, 1.0);
                let cells = 10;
                let full = (frac * cells as f64).round() as usize;
                vec![
                    Span::styled("loading ", t.gap),
                    Span::styled("█".repeat(full), t.gap),
                    Span::styled("░".repeat(cells - full), t.dim),
                    Span::styled(format!(" {:.0}%", frac * 100.0), t.gap),
                ]
            }
            None => vec![Span::styled(
                format!("loading… {} packets", app.progress.packets),
                t.gap,
            )],
        };
        segs.push((0, v));
    }
    let source = text::safe(&app.source);
    let title = Span::styled(if narrow { " " } else { " wsscope " }, t.title);
    let title_w = title.width();
    let width = |segs: &[(u8, Vec<Span<'static>>)]| -> usize {
        segs.iter()
            .map(|(_, v)| v.iter().map(Span::width).sum::<usize>() + 3)
            .sum::<usize>()
            + title_w
    };
    // The whole file name is worth more than the times and TLS counts; a
    // few characters of it are worth less than the other counts.
    let avail = usize::from(area.width);
    let drop_worst = |segs: &mut Vec<(u8, Vec<Span<'static>>)>, from: u8| -> bool {
        let Some(worst) = segs.iter().map(|(r, _)| *r).filter(|&r| r >= from).max() else {
            return false;
        };
        segs.iter()
            .rposition(|(r, _)| *r == worst)
            .map(|i| segs.remove(i))
            .is_some()
    };
    while width(&segs) + text::str_width(&source) > avail && drop_worst(&mut segs, 5) {}
    let name_min = text::str_width(&source).min(12);
    while width(&segs) + name_min > avail && drop_worst(&mut segs, 1) {}
    let mut spans = vec![
        title,
        Span::raw(shorten_left(&source, avail.saturating_sub(width(&segs)))),
    ];
    for (_, v) in segs {
        spans.push(sep(app));
        spans.extend(v);
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// `s` in at most `max` columns: its end, after `…`, when it is wider (a
/// file name's end tells captures apart).
fn shorten_left(s: &str, max: usize) -> String {
    if text::str_width(s) <= max {
        return s.to_string();
    }
    let mut tail = Vec::new();
    let mut used = 1;
    for c in s.chars().rev() {
        let w = text::char_width(c);
        if used + w > max {
            break;
        }
        used += w;
        tail.push(c);
    }
    let mut out = String::from(if max > 0 { "…" } else { "" });
    out.extend(tail.into_iter().rev());
    out
}

/// The header's word on rows past the memory budget.
fn not_held_short(app: &App) -> Option<Vec<Span<'static>>> {
    let n = &app.store.not_held;
    let since = n.since?;
    // The time of day only: the status line has the whole sentence.
    let since = since.to_string();
    let since = since.split('.').next().unwrap_or_default().to_string();
    Some(vec![Span::styled(
        format!("⚠ {} rows after {since} not held", text::count(n.rows())),
        app.theme.bad,
    )])
}

/// The whole sentence: what is not held, why, and where to find it.
pub fn not_held_line(app: &App) -> Option<String> {
    let n = &app.store.not_held;
    let since = n.since?;
    let conns = if n.conns > 0 {
        format!(", {} connections", text::count(n.conns))
    } else {
        String::new()
    };
    Some(format!(
        "rows after {since} not held: {}{conns} (memory budget --max-memory {}; `wsscope dump` has them all)",
        text::count(n.rows()),
        crate::budget::human(app.store.budget.max_memory)
    ))
}

fn render_hint(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    if let Some(p) = &app.prompt {
        let label = match p.kind {
            PromptKind::Search => "search (regex) /".to_string(),
            PromptKind::Filter => "filter (conn: dir: op: is: len rule: regex):".to_string(),
            PromptKind::ExportPayload => "export payload to (.bin = raw, else hexdump -C):".to_string(),
            PromptKind::ExportSelection => {
                format!("export {} rows to (.bin = raw, else hexdump -C):", app.view.len())
            }
        };
        let line = Line::from(vec![
            Span::styled(format!("{label} "), t.key),
            Span::raw(text::safe(&p.input).into_owned()),
            Span::styled("█", t.text),
            Span::styled("   Enter ok · Esc cancel · C-u clear", t.dim),
        ]);
        Paragraph::new(line).render(area, buf);
        return;
    }
    if let Some((msg, err)) = &app.status {
        let line = Line::from(vec![
            Span::styled(format!(" {} ", text::safe(msg)), if *err { t.bad } else { t.ok }),
            Span::styled("  (Esc)", t.dim),
        ]);
        Paragraph::new(line).render(area, buf);
        return;
    }
    let mut spans = Vec::new();
    if let Some(line) = not_held_line(app) {
        spans.push(Span::styled(format!(" {line}"), t.bad));
        spans.push(Span::styled(" ?", t.key));
        spans.push(Span::styled(" help", t.dim));
        Paragraph::new(Line::from(spans)).render(area, buf);
        return;
    }
    for (k, label) in keys::hints() {
        spans.push(Span::styled(format!(" {k}"), t.key));
        spans.push(Span::styled(format!(" {label} "), t.dim));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

fn render_help(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let mut lines = Vec::new();
    for (group, binds) in keys::GROUPS {
        lines.push(Line::from(Span::styled(group.to_string(), t.title)));
        for b in *binds {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<15}", b.keys), t.key),
                Span::raw(b.what.to_string()),
            ]));
        }
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "Rows: → client to server, ← server to client",
        t.dim,
    )));
    lines.push(Line::from(Span::styled(
        "Flags: F fin · 1 2 3 RSV bits · M masked · Z compressed · T truncated · ×N frames",
        t.dim,
    )));
    if app.store.tls_conns > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "TLS: {} decrypted · {} not decrypted (the row says why; a lists all TCP)",
                panes::conns::LOCK_OPEN,
                panes::conns::LOCK_CLOSED
            ),
            t.dim,
        )));
    }
    if let Some(line) = not_held_line(app) {
        let n = &app.store.not_held;
        lines.push(Line::default());
        lines.push(Line::from(Span::styled("Memory budget".to_string(), t.title)));
        lines.push(Line::from(Span::styled(line, t.bad)));
        lines.push(Line::from(Span::raw(format!(
            "  not held: {} frames · {} msgs · {} gaps · {} violations · {} handshakes · {} diagnostics",
            n.frames, n.messages, n.gaps, n.violations, n.handshakes, n.diagnostics
        ))));
        lines.push(Line::from(Span::styled(
            "  The first rows are kept; connection counts stay complete. Raise --max-memory to hold more.",
            t.dim,
        )));
    }
    let w = area.width.saturating_sub(4).min(84);
    let inner_w = usize::from(w.saturating_sub(2));
    let rows: Vec<Line<'static>> = lines
        .iter()
        .flat_map(|l| {
            // Key lines hang under the description, the rest under their text.
            let keyed = l.spans.len() == 2 && l.spans[0].content.starts_with("  ");
            text::wrap_line(l, inner_w, if keyed { 17 } else { 2 })
        })
        .collect();
    let h = (rows.len() as u16 + 2).min(area.height.saturating_sub(2));
    let inner_h = usize::from(h.saturating_sub(2));
    let top = app.help_scroll.get().min(rows.len().saturating_sub(inner_h));
    app.help_scroll.set(top);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    let mut title = vec![Span::styled(" Keys — Esc or ? to close ", t.title)];
    if rows.len() > inner_h {
        let last = (top + inner_h).min(rows.len());
        title.push(Span::styled(
            format!("· j/k PgDn scroll · lines {}-{last} of {} ", top + 1, rows.len()),
            if last < rows.len() { t.key } else { t.dim },
        ));
    }
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.focus_border)
        .title(Line::from(title));
    let shown: Vec<Line<'static>> = rows.into_iter().skip(top).take(inner_h).collect();
    Paragraph::new(shown).block(block).render(popup, buf);
}

impl App {
    /// Scrolls the help popup (clamped when drawn).
    pub fn scroll_help(&mut self, m: keys::Move) {
        let g = self.geometry.get();
        let page = usize::from(
            (g.conns.height + g.timeline.height + g.detail.height)
                .saturating_sub(4)
                .max(1),
        );
        let top = self.help_scroll.get();
        self.help_scroll.set(match m {
            keys::Move::Up(n) => top.saturating_sub(n),
            keys::Move::Down(n) => top.saturating_add(n),
            keys::Move::PageUp => top.saturating_sub(page),
            keys::Move::PageDown => top.saturating_add(page),
            keys::Move::Top => 0,
            keys::Move::Bottom => usize::MAX,
        });
    }
}
