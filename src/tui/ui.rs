//! Rendering: `impl Widget for &App`. Layout adapts to the terminal: at
//! 80×24 the panes stack (the focused one gets the larger share); from 150
//! columns the timeline and the detail sit side by side.

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
        let g = layout(app, body);
        app.geometry.set(g);
        render_header(app, header, buf);
        panes::conns::render(app, g.conns, buf);
        if app.stats.open {
            panes::stats::render(app, g.timeline.union(g.detail), buf);
        } else {
            panes::timeline::render(app, g.timeline, buf);
            panes::detail::render(app, g.detail, buf);
        }
        render_hint(app, hint, buf);
        if app.help {
            render_help(app, area, buf);
        }
    }
}

/// Where the panes go in `body`.
pub fn layout(app: &App, body: Rect) -> Geometry {
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
    // Segments in order of importance; the least important are dropped when narrow.
    let mut segs: Vec<(u8, Vec<Span<'static>>)> = vec![
        (
            0,
            vec![
                Span::styled(" wsscope ", t.title),
                Span::raw(text::safe(&app.source).into_owned()),
            ],
        ),
        (
            1,
            vec![Span::raw(format!(
                "{} ws / {} tcp",
                s.ws_conns.len(),
                s.conns_seen.max(s.conns.len() as u64)
            ))],
        ),
        (
            1,
            vec![Span::raw(format!("{} frames · {} msgs", s.frames, s.messages))],
        ),
    ];
    if s.tls_conns > 0 {
        let mut v = vec![Span::raw(format!("{} tls", s.tls_conns))];
        if s.tls_undecrypted > 0 {
            v.push(Span::styled(
                format!(" ({} not decrypted)", s.tls_undecrypted),
                t.gap,
            ));
        }
        segs.push((1, v));
    }
    segs.extend([(
        1,
        vec![Span::styled(
            format!("{} violations", s.violations),
            if s.violations > 0 { t.violation } else { t.dim },
        )],
    )]);
    if let Some(v) = not_held_short(app) {
        segs.push((0, v));
    }
    if s.gaps > 0 {
        segs.push((3, vec![Span::styled(format!("{} gaps", s.gaps), t.gap)]));
    }
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        segs.push((4, vec![Span::raw(format!("{a}–{b}"))]));
        segs.push((2, vec![Span::raw(text::duration(b.seconds_since(a)))]));
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
    let width = |segs: &[(u8, Vec<Span<'static>>)]| -> usize {
        segs.iter()
            .map(|(_, v)| v.iter().map(Span::width).sum::<usize>() + 3)
            .sum()
    };
    let mut level = 4;
    while width(&segs) > usize::from(area.width) && level > 0 {
        segs.retain(|(p, _)| *p < level);
        level -= 1;
    }
    let mut spans = Vec::new();
    for (i, (_, v)) in segs.into_iter().enumerate() {
        if i > 0 {
            spans.push(sep(app));
        }
        spans.extend(v);
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
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
            PromptKind::Filter => "filter (dir:c2s|s2c op:text,… regex):".to_string(),
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
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.focus_border)
        .title(Span::styled(" Keys — Esc or ? to close ", t.title));
    Paragraph::new(lines)
        .block(block)
        .wrap(ratatui::widgets::Wrap { trim: false })
        .render(popup, buf);
}
