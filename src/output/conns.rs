//! `wsscope conns`: one row per TCP connection, like `tshark -z conv,tcp`
//! but with reassembly facts (stream bytes, gaps) and, for WebSocket
//! connections, frame/message counts and ping round-trip times.

use super::ordered::OrderedRows;
use crate::event::{ConnectionEndEvent, Dir, Event, EventSink, Timestamp};
use std::io::{self, Write};

/// The `conns` output as connections end. JSON Lines — exactly the `close`
/// records of `dump --format jsonl`, so the two never disagree on a field —
/// go out in connection
/// order as soon as every earlier connection has ended; the table (whose
/// column widths depend on every row) is written at the end. Rows that
/// must wait are held within `limit` bytes, then spill to a temporary file
/// ([`OrderedRows`]), so the output never holds a summary per connection.
pub struct ConnsSink<W: Write> {
    out: W,
    table: Option<Table>,
    rows: OrderedRows,
    count: u64,
    /// The first write error; later rows are dropped.
    error: Option<io::Error>,
    /// JSON Lines of several captures: `,"capture":"NAME"}` ends each row.
    capture_tail: Option<Vec<u8>>,
}

impl<W: Write> ConnsSink<W> {
    /// A table (`table`) or JSON Lines into `out`; `limit` bytes of rows may
    /// wait in memory.
    pub fn new(out: W, table: bool, limit: usize) -> Self {
        ConnsSink {
            out,
            table: table.then(Table::default),
            rows: OrderedRows::new(!table, limit),
            count: 0,
            error: None,
            capture_tail: None,
        }
    }

    /// Ends every JSON Lines row with `"capture":NAME` (several captures in one stream).
    pub fn capture(mut self, name: Option<&str>) -> Self {
        self.capture_tail = name.map(super::jsonl::capture_tail);
        self
    }

    /// Rows that waited on disk.
    pub fn spilled(&self) -> u64 {
        self.rows.spilled()
    }

    /// Writes every row not yet out (and the table's header and footer);
    /// returns the output.
    pub fn finish(self) -> io::Result<W> {
        let ConnsSink {
            mut out,
            table,
            rows,
            count,
            error,
            ..
        } = self;
        if let Some(e) = error {
            return Err(e);
        }
        match table {
            None => rows.finish(&mut |r| out.write_all(r))?,
            Some(t) => {
                let layout = t.layout();
                layout.header(&mut out)?;
                rows.finish(&mut |r| layout.row(r, &mut out))?;
                writeln!(out, "{count} connection{}", if count == 1 { "" } else { "s" })?;
            }
        }
        Ok(out)
    }

    fn add(&mut self, c: &ConnectionEndEvent) -> io::Result<()> {
        self.count += 1;
        let row = match &mut self.table {
            Some(t) => t.encode(c),
            None => {
                let mut line = Vec::with_capacity(512);
                super::jsonl::event_json(&Event::Close(Box::new(c.clone())), &mut line);
                if let Some(tail) = &self.capture_tail {
                    super::jsonl::end_with(&mut line, tail);
                }
                line.push(b'\n');
                line
            }
        };
        let out = &mut self.out;
        self.rows.push(c.conn, row, &mut |r| out.write_all(r))
    }
}

impl<W: Write> EventSink for ConnsSink<W> {
    fn event(&mut self, ev: Event) {
        // One row per TCP connection: an HTTP/2 stream's record is not one.
        if let Event::Close(c) = ev
            && c.stream.is_none()
            && self.error.is_none()
            && let Err(e) = self.add(&c)
        {
            self.error = Some(e);
        }
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn ms(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.2}ms", secs * 1000.0)
    } else {
        format!("{secs:.3}s")
    }
}

/// Column headers; `sni` (index 4) only when the capture has TLS.
const HEADER: [&str; 12] = [
    "conn",
    "client",
    "server",
    "proto",
    "sni",
    "first",
    "last",
    "c2s pkts/bytes",
    "s2c pkts/bytes",
    "gaps",
    "end",
    "websocket",
];
const SNI: usize = 4;
const FIRST: usize = 5;
const LAST: usize = 6;
/// Separates a held row's cells (never in a cell: text is sanitized).
const SEP: u8 = 0x1f;

/// What the table learns row by row: column widths, the capture's start,
/// whether any connection was TLS. Rows are held with their times raw,
/// since times are shown relative to the earliest connection.
#[derive(Default)]
struct Table {
    widths: [usize; 12],
    start: Option<Timestamp>,
    /// Earliest and latest first time, and last time (their widths
    /// bound every relative time's width in the column).
    first: Option<(Timestamp, Timestamp)>,
    last: Option<(Timestamp, Timestamp)>,
    with_sni: bool,
}

impl Table {
    /// A held row: both times, then the other cells separated by [`SEP`].
    fn encode(&mut self, c: &ConnectionEndEvent) -> Vec<u8> {
        let d = |dir: Dir| {
            let s = &c.stats[dir.index()];
            format!("{} / {}", s.packets, human_bytes(s.bytes))
        };
        let gaps = {
            let g: u64 = c.stats.iter().map(|s| s.gaps).sum();
            let b: u64 = c.stats.iter().map(|s| s.gap_bytes).sum();
            if g == 0 {
                "-".to_string()
            } else {
                format!("{g} ({})", human_bytes(b))
            }
        };
        let ws = if c.protocol.is_websocket() {
            let f: u64 = c.stats.iter().map(|s| s.frames).sum();
            let m: u64 = c.stats.iter().map(|s| s.messages).sum();
            let rtt = c
                .rtt
                .map(|(a, b, m)| format!(" rtt {}/{}/{}", ms(a), ms(b), ms(m)))
                .unwrap_or_default();
            let v = if c.violations > 0 {
                format!(" {}!", c.violations)
            } else {
                String::new()
            };
            // HTTP/2: how many WebSocket streams the counts are over.
            let streams = match c.h2_ws_streams {
                0 => String::new(),
                1 => " in 1 stream".to_string(),
                n => format!(" in {n} streams"),
            };
            format!("{f}f {m}m{streams}{rtt}{v}")
        } else {
            String::new()
        };
        let sni = c
            .tls
            .as_ref()
            .and_then(|t| t.sni.as_deref())
            .map_or_else(|| "-".to_string(), crate::output::text::sanitize_str);
        self.with_sni |= c.tls.is_some();
        self.start = Some(self.start.map_or(c.first_ts, |s| s.min(c.first_ts)));
        for (range, t) in [(&mut self.first, c.first_ts), (&mut self.last, c.last_ts)] {
            *range = Some(range.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
        }
        let cells = [
            c.conn.to_string(),
            c.client.to_string(),
            c.server.to_string(),
            c.protocol_name().to_string(),
            sni,
            String::new(),
            String::new(),
            d(Dir::C2S),
            d(Dir::S2C),
            gaps,
            c.end.as_str().to_string(),
            ws,
        ];
        let mut row = Vec::with_capacity(160);
        for t in [c.first_ts, c.last_ts] {
            row.extend_from_slice(&t.secs.to_le_bytes());
            row.extend_from_slice(&t.nanos.to_le_bytes());
        }
        for (i, (cell, w)) in cells.iter().zip(self.widths.iter_mut()).enumerate() {
            *w = (*w).max(cell.chars().count());
            if i > 0 {
                row.push(SEP);
            }
            row.extend_from_slice(cell.as_bytes());
        }
        row
    }

    /// The final column widths, now that every row has been seen.
    fn layout(&self) -> Layout {
        let start = self.start;
        let width = |t: Timestamp| {
            format!("{:.6}", start.map_or(0.0, |s| t.seconds_since(s)))
                .chars()
                .count()
        };
        // A relative time's width grows with its magnitude: the earliest
        // and latest time of a column bound every row's.
        let column = |r: Option<(Timestamp, Timestamp)>| r.map_or(0, |(lo, hi)| width(lo).max(width(hi)));
        let mut widths = self.widths;
        for (w, h) in widths.iter_mut().zip(HEADER) {
            *w = (*w).max(h.chars().count());
        }
        for (i, r) in [(FIRST, self.first), (LAST, self.last)] {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(column(r));
            }
        }
        Layout {
            widths,
            start,
            with_sni: self.with_sni,
        }
    }
}

/// How the table's lines are laid out.
struct Layout {
    widths: [usize; 12],
    start: Option<Timestamp>,
    with_sni: bool,
}

impl Layout {
    fn line(&self, cells: &[&str], w: &mut dyn Write) -> io::Result<()> {
        let mut s = String::new();
        let mut first = true;
        for (i, (cell, width)) in cells.iter().zip(self.widths.iter()).enumerate() {
            if i == SNI && !self.with_sni {
                continue;
            }
            if !first {
                s.push_str("  ");
            }
            first = false;
            let width = *width;
            // Numbers right-aligned, text left-aligned.
            if matches!(i, 0 | FIRST | LAST) {
                s.push_str(&format!("{cell:>width$}"));
            } else {
                s.push_str(&format!("{cell:<width$}"));
            }
        }
        writeln!(w, "{}", s.trim_end())
    }

    fn header(&self, w: &mut dyn Write) -> io::Result<()> {
        self.line(&HEADER, w)
    }

    /// A held row (see [`Table::encode`]).
    fn row(&self, row: &[u8], w: &mut dyn Write) -> io::Result<()> {
        let time = |b: &[u8]| -> Option<Timestamp> {
            let secs = i64::from_le_bytes(b.get(..8)?.try_into().ok()?);
            let nanos = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
            Some(Timestamp::new(secs, nanos))
        };
        let (times, cells) = row.split_at(row.len().min(24));
        let rel = |t: Option<Timestamp>| {
            let secs = match (t, self.start) {
                (Some(t), Some(s)) => t.seconds_since(s),
                _ => 0.0,
            };
            format!("{secs:.6}")
        };
        let first = rel(time(times));
        let last = rel(times.get(12..).and_then(time));
        let mut parts: Vec<&str> = cells
            .split(|b| *b == SEP)
            .map(|c| std::str::from_utf8(c).unwrap_or("?"))
            .collect();
        if let Some(p) = parts.get_mut(FIRST) {
            *p = &first;
        }
        if let Some(p) = parts.get_mut(LAST) {
            *p = &last;
        }
        self.line(&parts, w)
    }
}
