//! `wsscope conns`: one row per TCP connection, like `tshark -z conv,tcp`
//! but with reassembly facts (stream bytes, gaps) and, for WebSocket
//! connections, frame/message counts and ping round-trip times.

use crate::event::{ConnectionEndEvent, Dir, Event, EventSink};
use std::io::{self, Write};

/// Collects connection summaries (they arrive as connections end).
#[derive(Default)]
pub struct ConnsCollector {
    pub conns: Vec<ConnectionEndEvent>,
}

impl EventSink for ConnsCollector {
    fn event(&mut self, ev: Event) {
        if let Event::Close(c) = ev {
            self.conns.push(*c);
        }
    }
}

impl ConnsCollector {
    /// In connection order (summaries arrive in end order).
    pub fn sorted(mut self) -> Vec<ConnectionEndEvent> {
        self.conns.sort_by_key(|c| c.conn);
        self.conns
    }
}

/// One JSON object per connection: exactly the `close` record of the JSON
/// Lines event stream (so `conns --format jsonl` and `dump --format jsonl`
/// never disagree on a field).
pub fn write_jsonl(conns: &[ConnectionEndEvent], w: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::with_capacity(512);
    for c in conns {
        line.clear();
        super::jsonl::event_json(&Event::Close(Box::new(c.clone())), &mut line);
        line.push(b'\n');
        w.write_all(&line)?;
    }
    Ok(())
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

/// The human table. An `sni` column follows `proto` when the capture has
/// TLS connections (plaintext-only captures keep their narrower table).
pub fn write_table(conns: &[ConnectionEndEvent], w: &mut dyn Write) -> io::Result<()> {
    let start = conns.iter().map(|c| c.first_ts).min();
    let with_sni = conns.iter().any(|c| c.tls.is_some());
    let rows: Vec<Vec<String>> = conns
        .iter()
        .map(|c| {
            let rel = |t: crate::event::Timestamp| start.map_or(0.0, |s| t.seconds_since(s));
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
            let ws = if c.protocol == crate::event::Protocol::WebSocket {
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
                format!("{f}f {m}m{rtt}{v}")
            } else {
                String::new()
            };
            let sni = c
                .tls
                .as_ref()
                .and_then(|t| t.sni.as_deref())
                .map_or_else(|| "-".to_string(), crate::output::text::sanitize_str);
            let mut row = vec![
                c.conn.to_string(),
                c.client.to_string(),
                c.server.to_string(),
                c.protocol_name().to_string(),
                format!("{:.6}", rel(c.first_ts)),
                format!("{:.6}", rel(c.last_ts)),
                d(Dir::C2S),
                d(Dir::S2C),
                gaps,
                c.end.as_str().to_string(),
                ws,
            ];
            if with_sni {
                row.insert(4, sni);
            }
            row
        })
        .collect();
    let mut header = vec![
        "conn",
        "client",
        "server",
        "proto",
        "first",
        "last",
        "c2s pkts/bytes",
        "s2c pkts/bytes",
        "gaps",
        "end",
        "websocket",
    ];
    if with_sni {
        header.insert(4, "sni");
    }
    // Right-aligned (numeric) columns, after the optional one.
    let numeric: &[usize] = if with_sni { &[0, 5, 6] } else { &[0, 4, 5] };
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str], w: &mut dyn Write| -> io::Result<()> {
        let mut s = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths.iter()).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            // Numbers right-aligned, text left-aligned.
            if numeric.contains(&i) {
                s.push_str(&format!("{cell:>width$}"));
            } else {
                s.push_str(&format!("{cell:<width$}"));
            }
        }
        writeln!(w, "{}", s.trim_end())
    };
    line(&header, w)?;
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(|s| s.as_str()).collect();
        line(&cells, w)?;
    }
    writeln!(
        w,
        "{} connection{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )
}
