//! The progress line of `dump`, `conns` and `export` on a capture file:
//! one line on standard error, rewritten in place at most five times a
//! second and cleared at the end —
//!
//! ```text
//! wsscope: reading 412.3 of 1073.7 MB (38%), 1234567 packets, 950.2 MB/s, 1 s left
//! ```
//!
//! — only when standard error is a terminal and `-q` was not given, so
//! scripts and logs never see it; nor when the output itself streams to
//! that terminal (lines would land in the middle of the progress line, and
//! the output scrolling by is progress enough). Bytes read are the position of the
//! packet being analysed ([`Packet::at`]: what the reader handed out, not
//! what it buffered ahead), of the file's size. A [`Watched`] source sees
//! every packet before the analysis does, so a command needs no hook of
//! its own, and `export --format pcap`'s second pass (its packets copied
//! by [`crate::output::export_pcap`]) shows progress too.
//!
//! `WSSCOPE_PROGRESS_AFTER_MS` (a test aid) sets how long a run goes before
//! its first line (default 500 ms, so that short runs never flicker).

use crate::cli::InputArgs;
use crate::source::{Packet, PacketSource, SourceEnd, SourceItem};
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Time between two drawings of the line.
const INTERVAL: Duration = Duration::from_millis(200);
/// Time before the first drawing.
const FIRST_AFTER: Duration = Duration::from_millis(500);
/// Packets between two looks at the clock (a look costs tens of
/// nanoseconds; millions of packets go by each second).
const CHECK_EVERY: u64 = 64;

/// The progress line of one command.
#[derive(Debug)]
pub struct Progress {
    /// The file's size in bytes.
    total: u64,
    /// What the line says is going on (`reading`, `copying packets`).
    phase: &'static str,
    start: Instant,
    next_draw: Instant,
    packets: u64,
    /// Whether a line is on the terminal (to be cleared).
    shown: bool,
}

impl Progress {
    /// A progress line for reading `input`, when there is someone to see it:
    /// a regular capture file (its size known), standard error a terminal,
    /// no `-q`, and — when the command `streams` its output to standard
    /// output as it goes — standard output not a terminal.
    pub fn for_input(input: &InputArgs, streams: bool) -> Option<Progress> {
        if input.quiet || input.is_live() || !std::io::stderr().is_terminal() {
            return None;
        }
        if streams && std::io::stdout().is_terminal() {
            return None;
        }
        let file = input.file.as_ref().filter(|f| f.as_os_str() != "-")?;
        let meta = std::fs::metadata(file).ok().filter(|m| m.is_file())?;
        let after = std::env::var("WSSCOPE_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(FIRST_AFTER, Duration::from_millis);
        Some(Progress::new(meta.len(), after))
    }

    fn new(total: u64, after: Duration) -> Progress {
        let start = Instant::now();
        Progress {
            total,
            phase: "reading",
            start,
            next_draw: start + after,
            packets: 0,
            shown: false,
        }
    }

    /// Starts another pass over the file (the count of packets and the
    /// speed start again; the line stays where it is until next drawn).
    pub fn phase(&mut self, phase: &'static str) {
        self.phase = phase;
        self.packets = 0;
        self.start = Instant::now();
    }

    /// A packet is about to be analysed: counted by `progress`, if any
    /// (a closure for [`Watched`]: `|p| Progress::watch(&mut progress, p)`).
    pub fn watch(progress: &mut Option<Progress>, p: &Packet<'_>) {
        if let Some(pr) = progress {
            pr.packet(p);
        }
    }

    fn packet(&mut self, p: &Packet<'_>) {
        self.packets += 1;
        if self.packets % CHECK_EVERY != 1 {
            return;
        }
        let now = Instant::now();
        if now < self.next_draw {
            return;
        }
        self.next_draw = now + INTERVAL;
        let done = p.at.saturating_add(p.data.len() as u64).min(self.total);
        let line = self.line(done, now.duration_since(self.start));
        let mut err = std::io::stderr().lock();
        // A terminal that cannot be written to is no reason to stop.
        let _ = write!(err, "\r{line}\x1b[K").and_then(|_| err.flush());
        self.shown = true;
    }

    /// The line for `done` bytes after `elapsed`.
    fn line(&self, done: u64, elapsed: Duration) -> String {
        const MB: f64 = 1e6;
        let pct = if self.total == 0 {
            100
        } else {
            (u128::from(done) * 100 / u128::from(self.total)) as u64
        };
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let left = if rate > 0.0 {
            format!(", {} s left", ((self.total - done) as f64 / rate).ceil() as u64)
        } else {
            String::new()
        };
        format!(
            "wsscope: {} {:.1} of {:.1} MB ({pct}%), {} packets, {:.1} MB/s{left}",
            self.phase,
            done as f64 / MB,
            self.total as f64 / MB,
            self.packets,
            rate / MB
        )
    }

    /// Clears the line, if one is shown (before anything else goes to
    /// standard error, and at the end).
    pub fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K").and_then(|_| err.flush());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A source whose packets also go by `watch` before they are handed on:
/// a [`Progress`] ([`Progress::watch`]), the first packet's time of `-t r`.
pub struct Watched<'a> {
    inner: &'a mut dyn PacketSource,
    watch: &'a mut dyn FnMut(&Packet<'_>),
}

impl<'a> Watched<'a> {
    pub fn new(inner: &'a mut dyn PacketSource, watch: &'a mut dyn FnMut(&Packet<'_>)) -> Self {
        Watched { inner, watch }
    }
}

impl PacketSource for Watched<'_> {
    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd> {
        let watch = &mut *self.watch;
        self.inner.run(&mut |item| {
            if let SourceItem::Packet(p) = &item {
                watch(p);
            }
            f(item)
        })
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_bytes_share_packets_speed_and_time_left() {
        let mut p = Progress::new(1_000_000_000, Duration::ZERO);
        p.packets = 1234;
        let line = p.line(250_000_000, Duration::from_secs(1));
        assert_eq!(
            line,
            "wsscope: reading 250.0 of 1000.0 MB (25%), 1234 packets, 250.0 MB/s, 3 s left"
        );
        // At the start: no speed, so no estimate.
        assert_eq!(
            p.line(0, Duration::ZERO),
            "wsscope: reading 0.0 of 1000.0 MB (0%), 1234 packets, 0.0 MB/s"
        );
        // An empty file is done.
        assert!(
            Progress::new(0, Duration::ZERO)
                .line(0, Duration::ZERO)
                .contains("(100%)")
        );
    }
}
