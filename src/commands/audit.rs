//! `wsscope audit FILE...`: runs the analysis of each capture behind the
//! [`crate::audit`] rules, collects the findings, and writes them as a
//! report (text), `finding` records (JSON Lines) or SARIF. Exit status 4
//! when a finding at `--fail-on` or above was made (so a pipeline can
//! gate on it), 2 when a capture could not be read (the others are
//! audited), 3 when one was truncated, else 0.

use super::many::{Dest, Part};
use super::report_end;
use crate::analyzer::Analyzer;
use crate::audit::{AuditConfig, AuditStage, Tally};
use crate::cli::{AnalysisArgs, AuditArgs, AuditFormat, InputArgs, Writer};
use crate::event::{Event, EventSink, FindingEvent};
use crate::output::findings::AuditedCapture;
use crate::pipeline::{self, Control};
use anyhow::Context;
use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// The exit status of findings at `--fail-on` or above.
pub const EXIT_FINDINGS: u8 = 4;

/// Keeps the findings and counts the connections; drops everything else.
#[derive(Default)]
struct Collect {
    findings: Vec<FindingEvent>,
    connections: u64,
}

impl EventSink for Collect {
    fn event(&mut self, ev: Event) {
        self.event_ref(&ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        match ev {
            Event::Finding(f) => self.findings.push((**f).clone()),
            Event::Connection(_) => self.connections += 1,
            _ => {}
        }
    }

    fn reads_only(&self) -> bool {
        true
    }
}

pub fn run(args: &AuditArgs, stop: Arc<AtomicBool>) -> anyhow::Result<ExitCode> {
    let cfg = AuditConfig {
        show_secrets: args.show_secrets,
        ..AuditConfig::default()
    };
    let input = &args.input;
    if let Some(out) = &args.output
        && input.captures.iter().any(|c| super::many::same_file(out, c))
    {
        anyhow::bail!(
            "-o {} would overwrite a capture being read: choose another output path",
            out.display()
        );
    }
    let (captures, status) = if input.is_many() {
        let done: Mutex<Vec<(usize, AuditedCapture)>> = Mutex::new(Vec::new());
        let status = super::many::run_each(
            input,
            &args.analysis,
            None,
            false,
            |one, part, analysis, _: Dest| {
                let (audited, status) = audit_one(one, part, analysis, cfg.clone(), stop.clone())?;
                let index = input
                    .captures
                    .iter()
                    .position(|c| Some(c) == one.file.as_ref())
                    .unwrap_or(0);
                done.lock()
                    .map_err(|_| anyhow::anyhow!("a capture's audit panicked"))?
                    .push((index, audited));
                Ok(status)
            },
        )?;
        let mut done = done
            .into_inner()
            .map_err(|_| anyhow::anyhow!("a capture's audit panicked"))?;
        done.sort_by_key(|(i, _)| *i);
        (done.into_iter().map(|(_, c)| c).collect::<Vec<_>>(), status)
    } else {
        let (audited, status) = audit_one(input, &Part::default(), &args.analysis, cfg, stop)?;
        (vec![audited], status)
    };
    write(args, &captures)?;
    let mut tally = Tally::default();
    for f in captures.iter().flat_map(|c| &c.findings) {
        tally.add(f.severity);
    }
    let failing = tally.at_least(args.fail_on);
    Ok(ExitCode::from(match status {
        2 => 2,
        _ if failing > 0 => EXIT_FINDINGS,
        s => s,
    }))
}

/// Writes the findings of `captures` as `--format` says, to `-o` or stdout.
fn write(args: &AuditArgs, captures: &[AuditedCapture]) -> anyhow::Result<()> {
    let mut w: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(super::many::create_output(p)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let several = captures.len() > 1;
    match args.format {
        AuditFormat::Text => crate::output::findings::report(&mut w, captures, args.fail_on)?,
        AuditFormat::Sarif => crate::output::sarif::write(&mut w, captures)?,
        AuditFormat::Jsonl => {
            let mut line = Vec::new();
            for c in captures {
                let tail = several.then(|| crate::output::jsonl::capture_tail(&c.name));
                for f in &c.findings {
                    line.clear();
                    crate::output::jsonl::event_json(&Event::Finding(Box::new(f.clone())), &mut line);
                    if let Some(t) = &tail {
                        crate::output::jsonl::end_with(&mut line, t);
                    }
                    line.push(b'\n');
                    w.write_all(&line)?;
                }
            }
        }
    }
    w.flush().context("writing output")
}

/// One capture's findings, and its exit status (3 when truncated).
fn audit_one(
    input: &InputArgs,
    part: &Part,
    analysis: &AnalysisArgs,
    cfg: AuditConfig,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(AuditedCapture, u8)> {
    let mut src = input.open(stop)?;
    input.announce_live();
    let mut acfg = super::analysis_config(analysis, crate::budget::OutputShare::Streaming)?;
    let threads = if input.is_live() { 1 } else { analysis.threads() };
    // The findings are few: the sink has little to do beside the analysis.
    acfg.shards = AnalysisArgs::workers(threads, if threads >= 2 { Writer::Light } else { Writer::None });
    let mut analyzer = Analyzer::new(acfg);
    let mut sink = AuditStage::new(Collect::default(), cfg);
    let end = pipeline::run(
        src.as_mut(),
        &mut analyzer,
        &mut sink,
        Control::limit(input.count),
        |_, _| ControlFlow::Continue(()),
    )?;
    sink.finish().context("auditing")?;
    let truncated = report_end(input, &end);
    let collected = sink.into_inner();
    let path = input
        .single_file()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "-".into());
    let name = part.capture.clone().unwrap_or_else(|| match &input.interface {
        Some(i) => format!("live-{i}"),
        None => input
            .single_file()
            .map(|p| crate::source::captures::name(p))
            .unwrap_or_default(),
    });
    Ok((
        AuditedCapture {
            name,
            path,
            connections: collected.connections,
            findings: collected.findings,
        },
        if truncated { super::EXIT_TRUNCATED } else { 0 },
    ))
}
