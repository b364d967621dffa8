//! Statistics view (`S`, toggles): in place of the timeline and the
//! detail, for the connection selected in the connections pane (or every
//! connection with "all"): messages and message bytes per second over time
//! in each direction, a histogram of message sizes (log2 buckets), the ping
//! round-trip times (from the pongs' RTTs) and the close codes.
//!
//! # Cost
//!
//! Computed from the store's rows, never on a draw for rows already seen:
//! [`Stats`] remembers how many rows it looked at and takes in only the new
//! ones (a live capture or a file still loading adds a few per frame), and
//! starts over only when the selection changes. Its size does not depend on
//! the capture's: rates in [`Stats::BUCKETS`] buckets whose width doubles
//! as the span grows (as the timeline's activity chart), fixed histograms.

use super::super::app::{App, Focus};
use super::super::store::{Kind, Record, Store};
use super::super::text;
use super::block;
use crate::event::{ConnId, Dir, Timestamp};
use crate::ws::rules;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Bar, BarChart, BarGroup, Block, Chart, Dataset, GraphType, Paragraph, Widget};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The view's state in the [`App`]: open or not, and the statistics of the
/// selection (interior mutability: they are brought up to date when drawn,
/// from `&App`).
#[derive(Debug, Default)]
pub struct StatsView {
    pub open: bool,
    cache: RefCell<Option<Stats>>,
}

/// Message sizes: bucket 0 is empty messages, bucket `k` sizes in
/// `[2^(k-1), 2^k)`.
const SIZE_BUCKETS: usize = 65;
/// Round-trip times: bucket `k` is `[2^k, 2^(k+1))` microseconds.
const RTT_BUCKETS: usize = 33;

/// What the view shows for one selection.
#[derive(Clone, Debug)]
pub struct Stats {
    /// The connection (`None`: all).
    pub conn: Option<ConnId>,
    /// Rows of the store taken in so far.
    scanned: usize,
    /// The first message's time: the charts' zero.
    start: Option<Timestamp>,
    /// The last message's time.
    end: Option<Timestamp>,
    /// Width of a rate bucket, microseconds.
    width_us: u64,
    /// Per direction, per bucket: messages and their bytes.
    msgs: [Vec<u64>; 2],
    bytes: [Vec<u64>; 2],
    pub messages: [u64; 2],
    pub message_bytes: [u64; 2],
    /// Per direction: message sizes, log2 buckets.
    pub sizes: [[u64; SIZE_BUCKETS]; 2],
    /// Pong round-trip times, log2 buckets of microseconds.
    pub rtts: [u64; RTT_BUCKETS],
    rtt_n: u64,
    rtt_sum: f64,
    rtt_min: f64,
    rtt_max: f64,
    /// Close frames seen, by code (`None`: no code), all connections.
    pub close_frames: BTreeMap<Option<u16>, u64>,
}

impl Stats {
    /// Rate buckets: the charts' resolution.
    pub const BUCKETS: usize = 64;

    pub fn new(conn: Option<ConnId>) -> Stats {
        Stats {
            conn,
            scanned: 0,
            start: None,
            end: None,
            width_us: 1000,
            msgs: [vec![0; Self::BUCKETS], vec![0; Self::BUCKETS]],
            bytes: [vec![0; Self::BUCKETS], vec![0; Self::BUCKETS]],
            messages: [0; 2],
            message_bytes: [0; 2],
            sizes: [[0; SIZE_BUCKETS]; 2],
            rtts: [0; RTT_BUCKETS],
            rtt_n: 0,
            rtt_sum: 0.0,
            rtt_min: f64::INFINITY,
            rtt_max: 0.0,
            close_frames: BTreeMap::new(),
        }
    }

    /// Takes in the rows added to the store since the last call.
    pub fn update(&mut self, store: &Store) {
        for r in store.records.get(self.scanned..).unwrap_or_default() {
            if self.conn.is_some_and(|c| ConnId::from(r.conn) != c) {
                continue;
            }
            match r.kind {
                Kind::Message => self.message(r),
                Kind::Frame if r.opcode == 8 => {
                    let code = rules::parse_close(store.data(r), true, &mut Vec::new()).code;
                    *self.close_frames.entry(code).or_default() += 1;
                }
                Kind::Frame => {
                    if let Some(rtt) = r.rtt() {
                        self.rtt(rtt);
                    }
                }
                _ => {}
            }
        }
        self.scanned = store.records.len();
    }

    fn message(&mut self, r: &Record) {
        let Some(dir) = r.dir else { return };
        let d = dir.index();
        self.messages[d] += 1;
        self.message_bytes[d] = self.message_bytes[d].saturating_add(r.len);
        let k = if r.len == 0 {
            0
        } else {
            64 - r.len.leading_zeros() as usize
        };
        if let Some(n) = self.sizes[d].get_mut(k) {
            *n += 1;
        }
        let start = *self.start.get_or_insert(r.ts());
        self.end = Some(self.end.map_or(r.ts(), |e| e.max(r.ts())));
        // Clocks may step back (merged captures): such a message counts at the start.
        let us = (r.ts().seconds_since(start) * 1e6).max(0.0) as u64;
        let mut i = us / self.width_us;
        while i >= Self::BUCKETS as u64 {
            for series in self.msgs.iter_mut().chain(self.bytes.iter_mut()) {
                for k in 0..Self::BUCKETS / 2 {
                    series[k] = series[2 * k].saturating_add(series[2 * k + 1]);
                }
                series[Self::BUCKETS / 2..].fill(0);
            }
            self.width_us = self.width_us.saturating_mul(2);
            i = us / self.width_us;
        }
        let i = i as usize;
        self.msgs[d][i] += 1;
        self.bytes[d][i] = self.bytes[d][i].saturating_add(r.len);
    }

    fn rtt(&mut self, secs: f64) {
        let us = (secs * 1e6).max(1.0) as u64;
        let k = (63 - us.leading_zeros() as usize).min(RTT_BUCKETS - 1);
        self.rtts[k] += 1;
        self.rtt_n += 1;
        self.rtt_sum += secs;
        self.rtt_min = self.rtt_min.min(secs);
        self.rtt_max = self.rtt_max.max(secs);
    }

    /// Pong round-trip times: how many, min, mean, max (seconds).
    pub fn rtt_summary(&self) -> Option<(u64, f64, f64, f64)> {
        (self.rtt_n > 0).then(|| {
            (
                self.rtt_n,
                self.rtt_min,
                self.rtt_sum / self.rtt_n as f64,
                self.rtt_max,
            )
        })
    }

    /// Seconds from the first message to the last.
    pub fn span(&self) -> f64 {
        match (self.start, self.end) {
            (Some(s), Some(e)) => e.seconds_since(s).max(0.0),
            _ => 0.0,
        }
    }

    fn bucket_secs(&self) -> f64 {
        self.width_us as f64 / 1e6
    }

    /// Buckets in use (up to the last non-empty one).
    fn used(&self) -> usize {
        (0..Self::BUCKETS)
            .rev()
            .find(|&i| self.msgs.iter().any(|s| s[i] > 0))
            .map_or(0, |i| i + 1)
    }

    /// Per second, over time: `(seconds since the first message, rate)` per bucket.
    fn rate(&self, series: &[Vec<u64>; 2], dir: Dir) -> Vec<(f64, f64)> {
        let w = self.bucket_secs();
        series[dir.index()]
            .iter()
            .take(self.used())
            .enumerate()
            .map(|(i, &n)| (i as f64 * w, n as f64 / w))
            .collect()
    }
}

impl App {
    /// `S`: opens or closes the statistics view. Open, the connections
    /// pane has the keys (the view follows its selection).
    pub fn toggle_stats(&mut self) {
        self.stats.open = !self.stats.open;
        if self.stats.open {
            self.focus = Focus::Conns;
        } else {
            self.stats.cache.replace(None);
        }
    }

    /// The statistics of the selection, brought up to date with the store:
    /// from scratch when the selection changed, else only the new rows.
    pub fn stats(&self) -> std::cell::Ref<'_, Option<Stats>> {
        {
            let mut cache = self.stats.cache.borrow_mut();
            let stale = cache.as_ref().is_none_or(|s| s.conn != self.conn_sel);
            if stale {
                *cache = Some(Stats::new(self.conn_sel));
            }
            if let Some(s) = cache.as_mut()
                && s.scanned < self.store.records.len()
            {
                s.update(&self.store);
            }
        }
        self.stats.cache.borrow()
    }
}

/// Draws the view in `area` (where the timeline and the detail go).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let who = match app.conn_sel {
        Some(id) => format!("conn {id}"),
        None => "all connections".into(),
    };
    let title = Line::from(vec![
        Span::styled(" Statistics ", t.title),
        Span::styled(format!("{who} · S closes "), t.dim),
    ]);
    let pane = if app.focus == Focus::Conns {
        Focus::Timeline
    } else {
        app.focus
    };
    let b = block(app, pane, title);
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height < 4 || inner.width < 20 {
        return;
    }
    let stats = app.stats();
    let Some(s) = stats.as_ref() else { return };
    let [summary, charts, hists] =
        Layout::vertical([Constraint::Length(2), Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
    Paragraph::new(summary_lines(app, s)).render(summary, buf);
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(charts);
    rate_chart(app, s, false, left, buf);
    rate_chart(app, s, true, right, buf);
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(hists);
    sizes_chart(app, s, left, buf);
    rtt_chart(app, s, right, buf);
}

fn summary_lines(app: &App, s: &Stats) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut first = vec![
        Span::styled("msgs ", t.dim),
        Span::styled(format!("→ {}", text::count(s.messages[0])), t.c2s),
        Span::raw(" "),
        Span::styled(format!("← {}", text::count(s.messages[1])), t.s2c),
        Span::styled("  bytes ", t.dim),
        Span::styled(format!("→ {}", text::bytes(s.message_bytes[0])), t.c2s),
        Span::raw(" "),
        Span::styled(format!("← {}", text::bytes(s.message_bytes[1])), t.s2c),
        Span::styled(format!("  over {}", text::duration(s.span())), t.dim),
    ];
    if app.store.not_held.since.is_some() {
        first.push(Span::styled("  (rows held only)", t.bad));
    }
    let mut second = vec![Span::styled("close ", t.dim)];
    second.extend(close_spans(app, s));
    vec![Line::from(first), Line::from(second)]
}

/// The close codes: per direction for one connection (its first close
/// frame each way, as the connections pane has it), by code for all.
fn close_spans(app: &App, s: &Stats) -> Vec<Span<'static>> {
    let t = &app.theme;
    let name = |code: Option<u16>| match code {
        Some(c) => format!("{c} {}", rules::close_code_name(c)),
        None => "no code".into(),
    };
    match s.conn.and_then(|id| app.store.conn(id)) {
        Some(c) => Dir::BOTH
            .into_iter()
            .flat_map(|d| {
                let what = c.close[d.index()].map_or_else(|| "none".into(), name);
                [
                    Span::styled(format!("{} {what}", d.arrow()), t.dir(d)),
                    Span::raw("  "),
                ]
            })
            .collect(),
        None if s.close_frames.is_empty() => vec![Span::styled("no close frames", t.dim)],
        None => s
            .close_frames
            .iter()
            .flat_map(|(&code, &n)| {
                let style = if matches!(code, Some(1000 | 1001)) {
                    t.text
                } else {
                    t.bad
                };
                [
                    Span::styled(format!("{} ×{n}", name(code)), style),
                    Span::raw("  "),
                ]
            })
            .collect(),
    }
}

/// `12`, `3.4k`, `1.2M`: axis labels.
fn short(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Messages (or their bytes) per second over time, one line per direction.
fn rate_chart(app: &App, s: &Stats, bytes: bool, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let what = if bytes { "bytes/s" } else { "msgs/s" };
    let title = Line::from(vec![
        Span::styled(format!("{what} "), t.title),
        Span::styled("⠤ → c2s", t.c2s),
        Span::raw("  "),
        Span::styled("• ← s2c", t.s2c),
    ]);
    let head = Block::new().title(title);
    if s.used() == 0 {
        Paragraph::new(Line::styled("no messages", t.dim))
            .block(head)
            .render(area, buf);
        return;
    }
    let series = if bytes { &s.bytes } else { &s.msgs };
    let c2s = s.rate(series, Dir::C2S);
    let s2c = s.rate(series, Dir::S2C);
    let max = c2s.iter().chain(&s2c).map(|p| p.1).fold(0.0, f64::max);
    let x_max = (s.used() as f64 * s.bucket_secs()).max(s.bucket_secs());
    // The directions differ by marker too (a line, dots), for NO_COLOR.
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.c2s)
            .data(&c2s),
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(t.s2c)
            .data(&s2c),
    ];
    Chart::new(datasets)
        .block(head)
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .labels(["0".to_string(), text::duration(x_max)])
                .style(t.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max.max(1.0)])
                .labels(["0".to_string(), short(max)])
                .style(t.dim),
        )
        .render(area, buf);
}

/// `0`, `1`, `512`, `1K`, `64K`, `1M`: a size bucket's lower bound.
fn size_label(k: usize) -> String {
    match k {
        0 => "0".into(),
        _ => {
            let v = 1u64 << (k - 1).min(63);
            match v {
                0..1024 => v.to_string(),
                1024..1_048_576 => format!("{}K", v >> 10),
                1_048_576..1_073_741_824 => format!("{}M", v >> 20),
                _ => format!("{}G", v >> 30),
            }
        }
    }
}

/// `1µs`, `512µs`, `1ms`, `1s`: an RTT bucket's lower bound.
fn rtt_label(k: usize) -> String {
    let us = 1u64 << k.min(63);
    match us {
        0..1000 => format!("{us}µs"),
        1000..1_000_000 => format!("{}ms", us / 1000),
        _ => format!("{}s", us / 1_000_000),
    }
}

/// The non-empty span of a histogram, merged pairwise until `fit` groups
/// fit: `(label of the first bucket, counts)` per group.
fn histogram(counts: &[&[u64]], label: fn(usize) -> String, fit: usize) -> Vec<(String, Vec<u64>)> {
    let n = counts.iter().map(|c| c.len()).max().unwrap_or(0);
    let any = |k: usize| counts.iter().any(|c| c.get(k).is_some_and(|&v| v > 0));
    let (Some(lo), Some(hi)) = ((0..n).find(|&k| any(k)), (0..n).rev().find(|&k| any(k))) else {
        return Vec::new();
    };
    let mut step = 1;
    while (hi - lo) / step + 1 > fit.max(1) {
        step *= 2;
    }
    (lo..=hi)
        .step_by(step)
        .map(|k| {
            let sums = counts
                .iter()
                .map(|c| (k..(k + step).min(hi + 1)).filter_map(|i| c.get(i)).sum())
                .collect();
            (label(k), sums)
        })
        .collect()
}

/// A vertical bar chart of `groups`, one bar per series (styled by `styles`).
fn bars(
    groups: &[(String, Vec<u64>)],
    styles: &[Style],
    width: u16,
    head: Block<'_>,
    area: Rect,
    buf: &mut Buffer,
) {
    let per_group = styles.len().max(1) as u16;
    let n = groups.len().max(1) as u16;
    // Bar width from the room each group gets (one column between groups).
    let bar_w = ((width / n).saturating_sub(1) / per_group).clamp(1, 5);
    let data: Vec<BarGroup<'_>> = groups
        .iter()
        .map(|(label, counts)| {
            let bars: Vec<Bar<'_>> = counts
                .iter()
                .zip(styles)
                .map(|(&v, &st)| Bar::default().value(v).style(st).value_style(st.reversed()))
                .collect();
            BarGroup::new(bars).label(Line::from(label.clone()))
        })
        .collect();
    let mut chart = BarChart::default()
        .block(head)
        .bar_width(bar_w)
        .bar_gap(0)
        .group_gap(1);
    for g in data {
        chart = chart.data(g);
    }
    chart.render(area, buf);
}

/// Message sizes per direction, log2 buckets.
fn sizes_chart(app: &App, s: &Stats, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let head = Block::new().title(Line::from(vec![
        Span::styled("message sizes (bytes) ", t.title),
        Span::styled("→", t.c2s),
        Span::raw(" "),
        Span::styled("←", t.s2c),
    ]));
    // Each group: two bars two columns wide and a gap, room for `512K`.
    let fit = usize::from(area.width / 5);
    let groups = histogram(&[&s.sizes[0], &s.sizes[1]], size_label, fit);
    if groups.is_empty() {
        Paragraph::new(Line::styled("no messages", t.dim))
            .block(head)
            .render(area, buf);
        return;
    }
    bars(&groups, &[t.c2s, t.s2c], area.width, head, area, buf);
}

/// Pong round-trip times, log2 buckets, with the count, min, mean and max.
fn rtt_chart(app: &App, s: &Stats, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let Some((n, min, mean, max)) = s.rtt_summary() else {
        let head = Block::new().title(Line::styled("ping RTT", t.title));
        Paragraph::new(Line::styled("no pongs answering a ping", t.dim))
            .block(head)
            .render(area, buf);
        return;
    };
    let head = Block::new().title(Line::from(vec![
        Span::styled("ping RTT ", t.title),
        Span::styled(
            format!(
                "{n} · {}–{} · mean {}",
                text::duration(min),
                text::duration(max),
                text::duration(mean)
            ),
            t.dim,
        ),
    ]));
    // Labels such as `512µs` want five columns.
    let fit = usize::from(area.width / 6);
    let groups = histogram(&[&s.rtts], rtt_label, fit);
    bars(&groups, &[t.text], area.width, head, area, buf);
}

#[cfg(test)]
mod tests {
    use super::super::super::store::flag;
    use super::*;

    #[test]
    fn histogram_keeps_the_non_empty_span_and_merges_to_fit() {
        let mut c = [0u64; 10];
        c[2] = 1;
        c[3] = 4;
        c[7] = 2;
        let h = histogram(&[&c], size_label, 10);
        assert_eq!(h.len(), 6);
        assert_eq!(h[0], ("2".to_string(), vec![1]));
        assert_eq!(h[5], ("64".to_string(), vec![2]));
        let h = histogram(&[&c], size_label, 3);
        assert_eq!(
            h,
            vec![
                ("2".into(), vec![5]),
                ("8".into(), vec![0]),
                ("32".into(), vec![2])
            ]
        );
        assert!(histogram(&[&[0u64; 4]], size_label, 3).is_empty());
    }

    #[test]
    fn labels() {
        assert_eq!(
            [0, 1, 2, 11, 17, 21].map(size_label),
            ["0", "1", "2", "1K", "64K", "1M"].map(String::from)
        );
        assert_eq!(
            [0, 9, 10, 20].map(rtt_label),
            ["1µs", "512µs", "1ms", "1s"].map(String::from)
        );
        assert_eq!(
            [0.0, 3.25, 12.0, 1500.0, 25_000.0].map(short),
            ["0", "3.2", "12", "1.5k", "25k"].map(String::from)
        );
    }

    #[test]
    fn rate_buckets_double_and_keep_every_message() {
        let mut s = Stats::new(None);
        let base = Timestamp::new(100, 0);
        for i in 0..1000u64 {
            let mut r = Record::new(
                Timestamp::new(100 + (i / 100) as i64, (i % 100) as u32 * 10_000_000),
                0,
                Kind::Message,
            );
            r.len = i;
            r.dir = Some(if i % 2 == 0 { Dir::C2S } else { Dir::S2C });
            r.opcode = 1;
            r.rsv = 1;
            r.flags = flag::TEXT;
            s.message(&r);
        }
        assert_eq!(s.messages, [500, 500]);
        assert_eq!(s.msgs.iter().flatten().sum::<u64>(), 1000);
        assert_eq!(s.bytes.iter().flatten().sum::<u64>(), (0..1000).sum::<u64>());
        assert!(s.used() <= Stats::BUCKETS && s.used() * s.width_us as usize >= 9_990_000);
        assert_eq!(s.start, Some(base));
        assert_eq!(s.sizes[0][0], 1, "one empty message");
        assert_eq!(s.sizes.iter().flatten().sum::<u64>(), 1000);
    }
}
