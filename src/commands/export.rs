//! `wsscope export`: checks the flags, runs the analysis pass into an
//! [`ExportSink`], and for `--format pcap` a second pass that copies the
//! selected connections' packets ([`crate::output::export_pcap`]); then
//! reports on standard error and picks the exit status (0, or 1 when
//! nothing matched, like grep).
//!
//! `--format pcap` must know the selected connections before writing their
//! first packet, so it reads the capture twice: the analysis pass finds
//! them, the second pass copies their packets.

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::cli::{ExportArgs, ExportFormat};
use crate::event::{ConnId, EventSink, opcode_name};
use crate::output::export::{ExportOptions, ExportSink, ExportSummary, Output, PayloadFormat};
use crate::output::export_jsonl::jsonl_writer;
use crate::output::export_pcap::write_connections;
use crate::pipeline::{self, Control};
use crate::source::file::FileSource;
use crate::source::{LinkType, PacketSource, SourceEnd};
use anyhow::{Context, bail};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;

/// What the sink needs from the flags.
pub fn options(args: &ExportArgs) -> ExportOptions {
    ExportOptions {
        selection: args.selection(),
        wire: args.wire,
        annotate: args.annotate,
        squeeze: !args.no_squeeze,
    }
}

/// How hexdump / xxd / raw write payloads; `None` for jsonl and pcap, which
/// write records and packets.
pub fn payload_format(format: ExportFormat) -> Option<PayloadFormat> {
    match format {
        ExportFormat::Hexdump => Some(PayloadFormat::Hexdump),
        ExportFormat::Xxd => Some(PayloadFormat::Xxd),
        ExportFormat::Raw => Some(PayloadFormat::Raw),
        ExportFormat::Jsonl | ExportFormat::Pcap => None,
    }
}

/// Runs an export; `stdout` receives the output unless `-o`/`--out-dir`
/// say otherwise; `stdout_is_tty` guards terminals against raw bytes.
pub fn run(args: &ExportArgs, stdout: &mut dyn Write, stdout_is_tty: bool) -> anyhow::Result<ExportSummary> {
    args.check(stdout_is_tty)?;
    let cfg = super::analysis_config(&args.analysis)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut src = args.input.open(stop)?;
    args.input.announce_live();
    let src = src.as_mut();
    if args.format == ExportFormat::Pcap {
        return run_pcap(args, src, cfg, stdout);
    }
    let mut file;
    let w: &mut dyn Write = match &args.output {
        Some(path) => {
            file = create(path)?;
            &mut file
        }
        None => stdout,
    };
    let out = match (payload_format(args.format), &args.out_dir) {
        (Some(format), Some(dir)) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create --out-dir {}", dir.display()))?;
            Output::Dir(dir.clone(), format)
        }
        (Some(format), None) => Output::Stream(w, format),
        // `check` refused --out-dir with jsonl.
        (None, _) => Output::Events(jsonl_writer(w)),
    };
    let mut sink = ExportSink::new(options(args), out);
    let (end, _) = analyze_into(src, cfg, &mut sink, args.input.count)?;
    sink.finish().context("writing output")?;
    let mut summary = sink.into_summary();
    summary.truncated = end.truncated;
    Ok(summary)
}

/// `--format pcap`: the analysis pass finds the connections, a second pass
/// over the file copies their packets.
fn run_pcap(
    args: &ExportArgs,
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    stdout: &mut dyn Write,
) -> anyhow::Result<ExportSummary> {
    let mut sink = ExportSink::new(options(args), Output::Conns);
    let (end, links) = analyze_into(src, cfg.clone(), &mut sink, args.input.count)?;
    sink.finish().context("writing output")?;
    let mut summary = sink.into_summary();
    summary.truncated = end.truncated;
    if summary.matched_nothing() {
        return Ok(summary);
    }
    check_one_link(&summary.matched_conns, &links)?;
    // `check` made sure the input is a file, not stdin or an interface.
    let mut src = FileSource::open(&args.input.file.clone().unwrap_or_default())?;
    let (conns, limit) = (&summary.matched_conns, args.input.count);
    summary.packets = match &args.output {
        Some(path) => {
            let mut w = create(path)?;
            let n = write_connections(&mut src, cfg, conns, limit, &mut w)?;
            w.flush().with_context(|| format!("writing {}", path.display()))?;
            n
        }
        None => write_connections(&mut src, cfg, conns, limit, stdout)?,
    };
    Ok(summary)
}

/// The analysis pass, stopping early when the output fails (closed pipe)
/// or after `limit` packets (`-c`). Also returns the link type of each
/// connection's first packet (a pcap holds one).
fn analyze_into(
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    sink: &mut ExportSink<'_>,
    limit: Option<u64>,
) -> anyhow::Result<(SourceEnd, FxHashMap<ConnId, LinkType>)> {
    let mut analyzer = Analyzer::new(cfg);
    let mut links = FxHashMap::default();
    let end = pipeline::run(src, &mut analyzer, sink, Control::limit(limit), |fed, sink| {
        if let Some(conn) = fed.conn {
            links.entry(conn).or_insert(fed.packet.link);
        }
        if sink.failed() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok((end, links))
}

/// A pcap holds one link type: selected connections captured on interfaces
/// of different types cannot go into one file.
fn check_one_link(conns: &BTreeSet<ConnId>, links: &FxHashMap<ConnId, LinkType>) -> anyhow::Result<()> {
    let mut by_link: Vec<(LinkType, Vec<ConnId>)> = Vec::new();
    for c in conns {
        let Some(link) = links.get(c) else { continue };
        match by_link.iter_mut().find(|(l, _)| l == link) {
            Some((_, v)) => v.push(*c),
            None => by_link.push((*link, vec![*c])),
        }
    }
    if by_link.len() > 1 {
        let parts: Vec<String> = by_link
            .iter()
            .map(|(l, v)| {
                let ids: Vec<String> = v.iter().map(|c| c.to_string()).collect();
                format!("{} on {}", ids.join(","), l.name())
            })
            .collect();
        bail!(
            "the selected connections were captured on different link types ({}), and a pcap holds \
             one: export each group separately with --conn",
            parts.join("; ")
        );
    }
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::new(f))
}

/// Exit status: 0 when something was exported, 1 when nothing matched.
pub fn exit_code(summary: &ExportSummary) -> ExitCode {
    if summary.matched_nothing() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The stderr line for an empty result, saying what the capture holds.
pub fn nothing_message(summary: &ExportSummary, args: &ExportArgs) -> String {
    let unit = args.unit_name();
    let mut filters = Vec::new();
    for c in &args.conns {
        filters.push(format!("--conn {c}"));
    }
    if let Some(d) = args.dir {
        filters.push(format!("--dir {d}"));
    }
    for o in &args.opcodes {
        // Echo what `--opcode` accepts: a name, or the number.
        let flag = opcode_name(*o).map_or_else(|| format!("0x{o:x}"), str::to_string);
        filters.push(format!("--opcode {flag}"));
    }
    if let Some(g) = &args.grep {
        filters.push(format!("--grep {:?}", g.as_str()));
    }
    let what = if filters.is_empty() {
        format!("no {unit}s to export")
    } else {
        format!("no {unit} matched {}", filters.join(" "))
    };
    let seen = &summary.conns_seen;
    let conns = match (seen.first(), seen.last()) {
        (Some(a), Some(b)) if a == b => format!("1 connection (conn {a})"),
        (Some(a), Some(b)) => format!("{} connections (conns {a}-{b})", seen.len()),
        _ => "no TCP connections".to_string(),
    };
    let units = summary.units_seen;
    let mut msg = format!(
        "{what}: {} holds {units} {unit}{} in {conns}",
        args.input_name(),
        if units == 1 { "" } else { "s" }
    );
    if units == 0 && !args.frames {
        msg.push_str("; try --frames, or `wsscope conns` to see what it holds");
    }
    msg
}

/// `wsscope export` on standard output: runs the export, reports on
/// standard error, and returns the exit status (0, or 1 when nothing
/// matched; errors are the caller's exit 2).
pub fn run_cli(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    // Live: each payload appears as it is captured (flushed line by line).
    let mut w: Box<dyn Write> = if args.input.is_live() {
        Box::new(io::LineWriter::new(stdout.lock()))
    } else {
        Box::new(BufWriter::new(stdout.lock()))
    };
    let summary = run(args, &mut w, tty)?;
    w.flush().context("writing output")?;
    if let Some(why) = &summary.truncated {
        eprintln!("wsscope: warning: {}: {why}", args.input_name());
    }
    if summary.matched_nothing() {
        eprintln!("wsscope: {}", nothing_message(&summary, args));
    } else if let Some(dir) = &args.out_dir {
        eprintln!(
            "wsscope: wrote {} file{} to {}",
            summary.files,
            if summary.files == 1 { "" } else { "s" },
            dir.display()
        );
    }
    Ok(exit_code(&summary))
}
