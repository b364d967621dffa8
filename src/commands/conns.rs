//! `wsscope conns`: one row per TCP connection, as a table or JSON Lines.

use super::report_end;
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

pub fn run(
    input: &InputArgs,
    format: ConnsFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let mut src = input.open(stop)?;
    input.announce_live();
    let cfg = super::analysis_config(analysis, crate::budget::OutputShare::Ordering)?;
    let stdout = std::io::stdout();
    let w = std::io::BufWriter::new(stdout.lock());
    let mut sink = ConnsSink::new(w, format == ConnsFormat::Table, cfg.budget.output);
    let mut analyzer = Analyzer::new(cfg);
    let ctl = Control::limit(input.count);
    let end = pipeline::run(src.as_mut(), &mut analyzer, &mut sink, ctl, |_, _| {
        ControlFlow::Continue(())
    })?;
    let mut w = sink.finish().context("writing output")?;
    w.flush().context("writing output")?;
    report_end(input, &end);
    Ok(ExitCode::SUCCESS)
}
