//! `wsscope conns`: one row per TCP connection, as a table or JSON Lines.

use super::many::{Dest, Part};
use super::progress::{Progress, Watched};
use super::{report_end, status_of};
use crate::analyzer::Analyzer;
use crate::cli::{AnalysisArgs, ConnsFormat, InputArgs};
use crate::output::conns::ConnsSink;
use crate::pipeline::{self, Control};
use anyhow::Context;
use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// `wsscope conns`: one capture (or live) to standard output, or several
/// in parallel ([`super::many`]), each table after a `# capture: NAME`
/// line, each JSON Lines row ending with its `capture`.
pub fn run(
    input: &InputArgs,
    format: ConnsFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    if input.is_many() {
        let status = super::many::run_each(input, analysis, None, false, |one, part, analysis, dest| {
            conns_one(one, format, analysis, stop.clone(), dest, part)
        })?;
        return Ok(ExitCode::from(status));
    }
    let status = conns_one(input, format, analysis, stop, Dest::Stdout, &Part::default())?;
    Ok(ExitCode::from(status))
}

fn conns_one(
    input: &InputArgs,
    format: ConnsFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
    dest: Dest,
    part: &Part,
) -> anyhow::Result<u8> {
    let mut src = input.open(stop)?;
    input.announce_live();
    let mut cfg = super::analysis_config(analysis, crate::budget::OutputShare::Ordering)?;
    // Counting needs no inflated byte (see `SessionConfig::inflate`).
    cfg.session.inflate = false;
    // Nor any frame's payload: a one-frame message takes its frame's bytes.
    cfg.session.frame_payloads = false;
    // No workers: counting is bound by reading and reassembling, which the
    // reader does whatever the threads (a worker made a 256 MB capture's
    // `conns` slower on two cores, 0.23 s → 0.28 s, and no faster on more).
    let mut w = dest.writer()();
    let table = format == ConnsFormat::Table;
    if table && let Some(name) = &part.capture {
        writeln!(w, "# capture: {}", crate::output::text::sanitize_str(name)).context("writing output")?;
    }
    let mut sink =
        ConnsSink::new(w, table, cfg.budget.output).capture(part.capture.as_deref().filter(|_| !table));
    let mut analyzer = Analyzer::new(cfg);
    let ctl = Control::limit(input.count);
    // The table is written at the end; JSON Lines as connections end.
    let mut progress = Progress::for_input(input, format == ConnsFormat::Jsonl);
    let mut on_packet = |p: &crate::source::Packet<'_>| Progress::watch(&mut progress, p);
    let mut src = Watched::new(src.as_mut(), &mut on_packet);
    let end = pipeline::run(&mut src, &mut analyzer, &mut sink, ctl, |_, _| {
        ControlFlow::Continue(())
    })?;
    drop(progress);
    let mut w = sink.finish().context("writing output")?;
    w.flush().context("writing output")?;
    let truncated = report_end(input, &end);
    Ok(status_of(0, truncated))
}
