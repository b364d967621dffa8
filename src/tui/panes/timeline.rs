//! Timeline pane: the rows of the selected connection (or all merged), as a
//! list or as swimlanes (client left, server right, one arrow per row, time
//! running down), plus a per-direction activity chart. Virtualised: only
//! the visible rows are formatted.

use super::super::app::{App, Focus, TimeFormat, TimelineLayout};
use super::super::keys;
use super::super::store::{Activity, Kind, Record, flag};
use super::super::text;
use super::{block, fit, frame_flags, highlight, message_flags, opcode_word, preview, time_cell};
use crate::event::{ConnId, Dir, Timestamp};
use crate::select::Unit;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

pub fn on_key(app: &mut App, key: &KeyEvent) -> bool {
    if let Some(m) = keys::movement(key) {
        app.move_cursor(m);
        return true;
    }
    if key.code == KeyCode::Enter {
        app.focus = Focus::Detail;
        return true;
    }
    false
}

/// Width of the time column.
const TIME_W: usize = 15;

/// Below this many columns the rows leave the time, the connection and the
/// flags out: what happened matters more than when and where.
const NARROW: usize = 60;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let b = block(app, Focus::Timeline, title(app));
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    // Activity chart at the bottom when there is room.
    let chart_h = if inner.height >= 10 { 2 } else { 0 };
    let list_area = Rect {
        height: inner.height - chart_h,
        ..inner
    };
    let header = Rect {
        height: 1,
        ..list_area
    };
    let rows_area = Rect {
        y: list_area.y + 1,
        height: list_area.height.saturating_sub(1),
        ..list_area
    };
    let mut g = app.geometry.get();
    g.timeline_rows = rows_area;
    app.geometry.set(g);

    let w = usize::from(inner.width);
    // Narrow: the connection column goes with the time (the title says which).
    let merged = app.conn_sel.is_none() && w >= NARROW;
    Paragraph::new(header_line(app, w, merged))
        .style(t.dim)
        .render(header, buf);

    let h = usize::from(rows_area.height);
    let n = app.view.len();
    if n == 0 {
        let undecrypted = app
            .conn_sel
            .and_then(|c| app.store.conn(c))
            .filter(|c| c.tls_decrypted() == Some(false));
        let why;
        let msg = if app.loading {
            "reading capture…"
        } else if app.view.spec.narrowed() {
            "no rows match the filter (f to change it)"
        } else if let Some(c) = undecrypted {
            why = format!(
                "TLS not decrypted ({}): nothing inside to show — the detail pane says how to get keys",
                super::conns::tls_reason(c)
            );
            &why
        } else if app.conn_sel.is_none() && app.store.ws_conns.is_empty() && app.store.tls_undecrypted > 0 {
            why = format!(
                "no WebSocket seen: {} TLS connection(s) not decrypted — select one to see why (wsscope --keylog KEYS)",
                app.store.tls_undecrypted
            );
            &why
        } else {
            "no WebSocket traffic here (a: show all TCP connections, m: frames)"
        };
        Paragraph::new(Span::styled(msg, t.dim)).render(rows_area, buf);
    } else if h > 0 {
        let cur = app.cursor.min(n - 1);
        let mut off = app.tl_offset.get().min(n.saturating_sub(1));
        if cur < off {
            off = cur;
        } else if cur >= off + h {
            off = cur + 1 - h;
        }
        app.tl_offset.set(off);
        let start = view_start(app);
        let re = app.search.as_ref().map(|s| &s.1);
        let mut lines = Vec::with_capacity(h);
        for p in off..(off + h).min(n) {
            let Some(r) = app
                .view
                .rows
                .get(p)
                .and_then(|&i| app.store.records.get(i as usize))
            else {
                continue;
            };
            let prev = p
                .checked_sub(1)
                .and_then(|q| app.view.rows.get(q))
                .and_then(|&i| app.store.records.get(i as usize))
                .map(|r| r.ts());
            let time = (w >= NARROW).then(|| time_cell(r.ts(), app.time_fmt, start, prev));
            let mut line = match app.layout {
                TimelineLayout::List => list_row(app, r, time, w, merged, re),
                TimelineLayout::Swimlanes => swim_row(app, r, time, w, merged),
            };
            if p == cur {
                let used = line.width();
                if used < w {
                    line.spans.push(Span::raw(" ".repeat(w - used)));
                }
                line = line.patch_style(t.selected);
            }
            lines.push(line);
        }
        Paragraph::new(lines).render(rows_area, buf);
    }
    if chart_h > 0 {
        let chart = Rect {
            y: inner.y + inner.height - chart_h,
            height: chart_h,
            ..inner
        };
        activity(app, chart, buf);
    }
}

fn title(app: &App) -> Line<'static> {
    let t = &app.theme;
    let mut s = vec![Span::styled(" Timeline ", t.title)];
    let what = match app.conn_sel {
        Some(c) => format!("conn {c}"),
        None => "all".into(),
    };
    let unit = match app.unit() {
        Unit::Messages => "messages",
        Unit::Frames => "frames",
    };
    let layout = match app.layout {
        TimelineLayout::List => "list",
        TimelineLayout::Swimlanes => "swimlanes",
    };
    let time = match app.time_fmt {
        TimeFormat::Absolute => "abs",
        TimeFormat::Relative => "rel",
        TimeFormat::Delta => "delta",
    };
    s.push(Span::styled(
        format!("{what} · {unit} · {} rows · {layout} · {time} ", app.view.len()),
        t.dim,
    ));
    if !app.filter_text.is_empty() {
        s.push(Span::styled(
            format!("filter: {} ", text::safe(&app.filter_text)),
            t.gap,
        ));
    }
    if app.paused {
        s.push(Span::styled(format!("❚❚ paused (+{}) ", app.pending()), t.gap));
    } else if app.follow {
        s.push(Span::styled("▼ following ", t.ok));
    }
    Line::from(s)
}

/// Time zero for relative times: the connection's start, or the capture's.
fn view_start(app: &App) -> Option<Timestamp> {
    match app.conn_sel {
        Some(c) => app.store.conn(c).map(|c| c.first_ts),
        None => app.store.first_ts,
    }
}

fn header_line(app: &App, w: usize, merged: bool) -> Line<'static> {
    let time = match app.time_fmt {
        TimeFormat::Absolute => "time (UTC)",
        TimeFormat::Relative => "since start (s)",
        TimeFormat::Delta => "since prev (s)",
    };
    let mut s = if w >= NARROW {
        format!("{} ", fit(time, TIME_W))
    } else {
        String::new()
    };
    if merged {
        s.push_str("conn ");
    }
    match app.layout {
        TimelineLayout::List if w < NARROW => s.push_str("   opcode    len  payload"),
        TimelineLayout::List => {
            s.push_str("   opcode flags     len  payload");
        }
        TimelineLayout::Swimlanes => {
            let (c, sv) = match app.conn_sel.and_then(|c| app.store.conn(c)) {
                Some(c) => (format!("client {}", c.client), format!("server {}", c.server)),
                None => ("client".into(), "server".into()),
            };
            let used = s.chars().count();
            let lane = w.saturating_sub(used);
            let gap = lane.saturating_sub(c.chars().count() + sv.chars().count());
            s.push_str(&c);
            s.push_str(&" ".repeat(gap));
            s.push_str(&sv);
        }
    }
    Line::from(s)
}

fn row_style(app: &App, r: &Record) -> Style {
    let t = &app.theme;
    match r.kind {
        Kind::Violation => t.violation,
        Kind::Gap => t.gap,
        Kind::Diagnostic => t.dim,
        Kind::Frame if r.is_control() => t.dim,
        _ => t.text,
    }
}

/// The connection of a row, `3/1` for stream 1 of an HTTP/2 connection.
fn conn_cell(app: &App, r: &Record) -> String {
    if r.conn == u32::MAX {
        "  -  ".into()
    } else {
        match app.store.stream_of(r) {
            Some(s) => format!("{:<4} ", format!("{}/{s}", r.conn)),
            None => format!("{:<4} ", r.conn),
        }
    }
}

fn arrow(app: &App, dir: Option<Dir>) -> Span<'static> {
    match dir {
        Some(d) => Span::styled(format!(" {} ", d.arrow()), app.theme.dir(d)),
        None => Span::raw("   "),
    }
}

fn list_row(
    app: &App,
    r: &Record,
    time: Option<String>,
    w: usize,
    merged: bool,
    re: Option<&regex::Regex>,
) -> Line<'static> {
    let t = &app.theme;
    let style = row_style(app, r);
    let mut spans: Vec<Span<'static>> = time
        .map(|time| Span::styled(format!("{time} "), t.dim))
        .into_iter()
        .collect();
    if merged {
        spans.push(Span::styled(conn_cell(app, r), t.dim));
    }
    spans.push(arrow(app, r.dir));
    let (word, flags, len) = match r.kind {
        Kind::Frame => (opcode_word(r.opcode), frame_flags(r), r.len.to_string()),
        Kind::Message => (opcode_word(r.opcode), message_flags(r), r.len.to_string()),
        Kind::Gap => ("GAP".into(), String::new(), r.len.to_string()),
        Kind::Violation => ("VIOL".into(), String::new(), String::new()),
        Kind::Diagnostic => ("DIAG".into(), String::new(), String::new()),
        Kind::Handshake => ("HTTP".into(), String::new(), String::new()),
    };
    let cells = if w < NARROW {
        format!("{word:<6}{len:>7}  ")
    } else {
        format!("{:<6} {:<5} {:>7}  ", word, flags, len)
    };
    spans.push(Span::styled(cells, style));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = w.saturating_sub(used);
    let text = preview(app, r, room);
    let text = fit(&text, room).trim_end().to_string();
    let base = style;
    if r.is_data() {
        spans.extend(highlight(text, re, base, t.hit));
    } else {
        spans.push(Span::styled(text, base));
    }
    Line::from(spans)
}

fn swim_row(app: &App, r: &Record, time: Option<String>, w: usize, merged: bool) -> Line<'static> {
    let t = &app.theme;
    let style = row_style(app, r);
    let mut spans: Vec<Span<'static>> = time
        .map(|time| Span::styled(format!("{time} "), t.dim))
        .into_iter()
        .collect();
    if merged {
        spans.push(Span::styled(conn_cell(app, r), t.dim));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let lane = w.saturating_sub(used);
    if lane < 12 {
        return Line::from(spans);
    }
    let body_w = lane - 2;
    let label = match r.kind {
        Kind::Frame | Kind::Message => {
            let mut l = format!("{} {}", opcode_word(r.opcode), r.len);
            // Z: compressed (a message) or deflated bytes (an RSV1 frame).
            if r.has(flag::COMPRESSED) || r.kind == Kind::Frame && r.rsv & 4 != 0 {
                l.push_str(" Z");
            }
            let room = body_w.saturating_sub(l.chars().count() + 8);
            if room > 3 {
                l.push(' ');
                l.push_str(&preview(app, r, room));
            }
            l
        }
        _ => preview(app, r, body_w.saturating_sub(6)),
    };
    let label = fit(&label, body_w.saturating_sub(6)).trim_end().to_string();
    let lw = Span::raw(label.clone()).width();
    let fill = body_w.saturating_sub(lw + 5);
    let body = match (r.kind, r.dir) {
        (Kind::Frame | Kind::Message | Kind::Handshake, Some(Dir::C2S)) => {
            format!("─ {label} {}▶", "─".repeat(fill + 1))
        }
        (Kind::Frame | Kind::Message | Kind::Handshake, Some(Dir::S2C)) => {
            format!("◀{} {label} ─", "─".repeat(fill + 1))
        }
        (_, Some(Dir::S2C)) => format!("{}  {label}  ", " ".repeat(fill)),
        (_, Some(Dir::C2S)) => format!("  {label}  {}", " ".repeat(fill)),
        (_, None) => {
            let l = fill / 2;
            format!("{}  {label}  {}", " ".repeat(l), " ".repeat(fill - l))
        }
    };
    let body = fit(&body, body_w);
    let dir_style = match (r.kind, r.dir) {
        (Kind::Frame | Kind::Message | Kind::Handshake, Some(d)) if !r.is_control() => t.dir(d),
        _ => style,
    };
    spans.push(Span::styled("│", t.c2s));
    spans.push(Span::styled(body, dir_style));
    spans.push(Span::styled("│", t.s2c));
    Line::from(spans)
}

fn activity(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let empty = Activity::default();
    let act = match app.conn_sel.and_then(|c: ConnId| app.store.conn(c)) {
        Some(c) => c.activity().unwrap_or(&empty),
        None => &app.store.activity,
    };
    let used = act.used();
    let label_w = 4u16;
    let width = usize::from(area.width.saturating_sub(label_w + 12)).max(1);
    // Fold buckets so they fit the width.
    let fold = used.div_ceil(width).max(1);
    for (k, dir) in Dir::BOTH.into_iter().enumerate() {
        let row = Rect {
            y: area.y + k as u16,
            height: 1,
            ..area
        };
        let data: Vec<u64> = act.buckets[dir.index()]
            .get(..used)
            .unwrap_or(&[])
            .chunks(fold)
            .map(|c| c.iter().map(|&v| u64::from(v)).sum())
            .collect();
        buf.set_string(row.x, row.y, dir.as_str(), t.dir(dir));
        let spark = Rect {
            x: row.x + label_w,
            width: (data.len() as u16).min(row.width.saturating_sub(label_w)),
            ..row
        };
        Sparkline::default()
            .data(&data)
            .style(t.dir(dir))
            .render(spark, buf);
        if k == 0 && used > 0 {
            let per = act.bucket_secs() * fold as f64;
            let note = format!(" {}/col", text::duration(per));
            let x = spark.x + spark.width;
            if x + note.len() as u16 <= row.x + row.width {
                buf.set_string(x, row.y, note, t.dim);
            }
        }
    }
}
