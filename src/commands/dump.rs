//! `wsscope dump`: every event as a text timeline or JSON Lines, written as
//! it arrives (flushed per event for live capture), or only the events a
//! selection names ([`crate::select::Row::of_event`] says what each event
//! offers to its terms).

use super::progress::{Progress, Watched};
use super::{exit_status, report_end};
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::cli::{AnalysisArgs, DumpFormat, InputArgs, SelectArgs};
use crate::event::{ConnId, Event, EventSink};
use crate::output::jsonl::JsonlSink;
use crate::output::text::TextSink;
use crate::output::text::time::{Clock, Origin, TimeFormat};
use crate::pipeline::{self, Control};
use crate::select::{Row, Selection, Unit};
use crate::source::{PacketSource, SourceEnd};
use anyhow::Context;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Every event (the timeline's fallback when stdout is not a terminal).
pub fn run(
    input: &InputArgs,
    format: DumpFormat,
    time: TimeFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    run_selected(input, format, time, &SelectArgs::default(), analysis, stop)
}

/// The events `select` takes: all of them when it is empty (then exit 0
/// whatever the capture held), else exit 1 when none matched; exit 3 when
/// the capture was truncated (unless `--allow-truncated`). Text lines
/// carry their time in `time` (`-t`).
pub fn run_selected(
    input: &InputArgs,
    format: DumpFormat,
    time: TimeFormat,
    select: &SelectArgs,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let sel = Some(select.selection(Unit::Messages)).filter(|s| !s.is_empty());
    let mut src = input.open(stop)?;
    input.announce_live();
    let live = input.is_live();
    let stdout = std::io::stdout();
    let w = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let cfg = super::analysis_config(analysis, crate::budget::OutputShare::Streaming)?;
    let count = input.count;
    let mut progress = Progress::for_input(input, true);
    // `-t r` counts from the first packet, known before its events are.
    let origin = Origin::default();
    let mut on_packet = |p: &crate::source::Packet<'_>| {
        origin.get_or_init(|| p.ts);
        Progress::watch(&mut progress, p);
    };
    let mut watched = Watched::new(src.as_mut(), &mut on_packet);
    let src: &mut dyn PacketSource = &mut watched;
    let (end, written, counts) = match format {
        DumpFormat::Jsonl => {
            let sink = JsonlSink::with_flush_each(w, live);
            run_sink(sink, JsonlSink::failed, sel, src, cfg, count)?
        }
        DumpFormat::Text => {
            let clock = Clock::new(time, origin.clone());
            let sink = TextSink::new(w).flush_each(live).clock(clock);
            run_sink(sink, TextSink::failed, sel, src, cfg, count)?
        }
    };
    drop(progress);
    written.context("writing output")?;
    let truncated = report_end(input, &end);
    let (found, tls_hidden) = (counts.websocket_events, counts.tls_undecrypted);
    if tls_hidden > 0 {
        eprintln!(
            "wsscope: {tls_hidden} TLS connection(s) could not be decrypted. To see inside wss://, record the \
             TLS secrets while capturing: set SSLKEYLOGFILE=/path/keys.log for curl, Python, Node (--tls-keylog), \
             Firefox and Chrome (or start Chromium with --ssl-key-log-file=/path/keys.log), then run \
             wsscope --keylog /path/keys.log ..."
        );
    }
    if found == 0 && !live && tls_hidden == 0 {
        eprintln!(
            "wsscope: no WebSocket traffic found; if it runs on a known port without a captured handshake, try --ws-port PORT"
        );
    }
    if counts.selecting && counts.selected == 0 {
        eprintln!("wsscope: {}", nothing_message(input, select, &counts));
        return Ok(exit_status(1, truncated));
    }
    Ok(exit_status(0, truncated))
}

/// The stderr line when a selection matched no event, saying what the
/// capture holds (as `export` does).
fn nothing_message(input: &InputArgs, select: &SelectArgs, counts: &Counts) -> String {
    let name = match (&input.interface, &input.file) {
        (Some(i), _) => format!("{i} (live)"),
        (None, Some(f)) => f.display().to_string(),
        (None, None) => "-".into(),
    };
    let seen = &counts.conns_seen;
    let conns = match (seen.first(), seen.last()) {
        (Some(a), Some(b)) if a == b => format!("1 connection (conn {a})"),
        (Some(a), Some(b)) => format!("{} connections (conns {a}-{b})", seen.len()),
        _ => "no TCP connections".to_string(),
    };
    format!(
        "no event matched {}: {name} holds {} event{} in {conns}",
        select.describe().join(" "),
        counts.events,
        if counts.events == 1 { "" } else { "s" }
    )
}

/// What went by a dump.
#[derive(Debug, Default)]
struct Counts {
    /// Handshakes, frames and messages (selected or not).
    websocket_events: u64,
    tls_undecrypted: u64,
    /// Every event, and the connections opened.
    events: u64,
    conns_seen: BTreeSet<ConnId>,
    /// A selection was given; how many events it took.
    selecting: bool,
    selected: u64,
}

/// Counts the events that go by, then hands on each one the selection
/// takes (every one without a selection).
struct Counting<S> {
    inner: S,
    sel: Option<Selection>,
    counts: Counts,
}

impl<S: EventSink> EventSink for Counting<S> {
    fn event(&mut self, ev: Event) {
        let c = &mut self.counts;
        match &ev {
            Event::Handshake(_) | Event::Frame(_) | Event::Message(_) => c.websocket_events += 1,
            Event::Tls(t) if !t.decrypted => c.tls_undecrypted += 1,
            Event::Connection(e) => {
                c.conns_seen.insert(e.conn);
            }
            _ => {}
        }
        c.events = c.events.saturating_add(1);
        if let Some(sel) = &self.sel {
            if !sel.matches_row(&Row::of_event(&ev)) {
                return;
            }
            c.selected = c.selected.saturating_add(1);
        }
        self.inner.event(ev);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// Runs the analysis into `sink` through the selection `sel` (stopping
/// once its output has `failed`), then finishes it: how the input ended,
/// the first write error, and what went by.
fn run_sink<S: EventSink>(
    sink: S,
    failed: fn(&S) -> bool,
    sel: Option<Selection>,
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    count: Option<u64>,
) -> anyhow::Result<(SourceEnd, std::io::Result<()>, Counts)> {
    let mut counting = Counting {
        inner: sink,
        counts: Counts {
            selecting: sel.is_some(),
            ..Counts::default()
        },
        sel,
    };
    let mut analyzer = Analyzer::new(cfg);
    let end = pipeline::run(
        src,
        &mut analyzer,
        &mut counting,
        Control::limit(count),
        |_, s| {
            if failed(&s.inner) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    let written = counting.finish();
    Ok((end, written, counting.counts))
}
