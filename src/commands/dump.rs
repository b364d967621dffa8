//! `wsscope dump`: every event as a text timeline or JSON Lines, written as
//! it arrives (flushed per event for live capture).

use super::report_end;
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::cli::{AnalysisArgs, DumpFormat, InputArgs};
use crate::event::{Event, EventSink};
use crate::output::jsonl::JsonlSink;
use crate::output::text::TextSink;
use crate::pipeline::{self, Control};
use crate::source::{PacketSource, SourceEnd};
use anyhow::Context;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub fn run(
    input: &InputArgs,
    format: DumpFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let mut src = input.open(stop)?;
    input.announce_live();
    let live = input.is_live();
    let stdout = std::io::stdout();
    let w = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let (src, cfg, count) = (
        src.as_mut(),
        super::analysis_config(analysis, crate::budget::OutputShare::Streaming)?,
        input.count,
    );
    let (end, written, found) = match format {
        DumpFormat::Jsonl => {
            let sink = JsonlSink::with_flush_each(w, live);
            run_sink(sink, JsonlSink::failed, src, cfg, count)?
        }
        DumpFormat::Text => {
            let sink = TextSink::new(w).flush_each(live);
            run_sink(sink, TextSink::failed, src, cfg, count)?
        }
    };
    written.context("writing output")?;
    report_end(input, &end);
    let (found, tls_hidden) = found;
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
    Ok(ExitCode::SUCCESS)
}

/// Counts the WebSocket events (and undecrypted TLS connections) that
/// went by, then hands each on.
struct Counting<S> {
    inner: S,
    websocket_events: u64,
    tls_undecrypted: u64,
}

impl<S: EventSink> EventSink for Counting<S> {
    fn event(&mut self, ev: Event) {
        match &ev {
            Event::Handshake(_) | Event::Frame(_) | Event::Message(_) => self.websocket_events += 1,
            Event::Tls(t) if !t.decrypted => self.tls_undecrypted += 1,
            _ => {}
        }
        self.inner.event(ev);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// Runs the analysis into `sink` (stopping once its output has `failed`),
/// then finishes it: how the input ended, the first write error, and how
/// many WebSocket events and undecrypted TLS connections there were.
fn run_sink<S: EventSink>(
    sink: S,
    failed: fn(&S) -> bool,
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    count: Option<u64>,
) -> anyhow::Result<(SourceEnd, std::io::Result<()>, (u64, u64))> {
    let mut counting = Counting {
        inner: sink,
        websocket_events: 0,
        tls_undecrypted: 0,
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
    Ok((
        end,
        written,
        (counting.websocket_events, counting.tls_undecrypted),
    ))
}
