//! `wsscope export`: checks the flags, runs the analysis pass into an
//! [`ExportSink`], and for `--format pcap` a second pass that copies the
//! selected connections' packets ([`crate::output::export_pcap`]); then
//! reports on standard error and picks the exit status (0, or 1 when
//! nothing matched, like grep; 3 when the capture was truncated, unless
//! `--allow-truncated`).
//!
//! `--format pcap` must know the selected connections before writing their
//! first packet, so it reads the capture twice: the analysis pass finds
//! them, the second pass copies their packets.
//!
//! `--format har` writes through the same sink as jsonl (the same
//! selection), into [`HarWriter`], which keeps each entry within the output
//! share of `--max-memory` until its connection ends.

use super::progress::{Progress, Watched};
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::cli::{ExportArgs, ExportFormat};
use crate::event::{ConnId, EventSink};
use crate::keys::KeyStore;
use crate::output::export::{ExportOptions, ExportSink, ExportSummary, Output, PayloadFormat};
use crate::output::export_jsonl::jsonl_writer;
use crate::output::export_pcap::{key_log_lines, write_connections};
use crate::output::har::HarWriter;
use crate::pipeline::{self, Control};
use crate::source::file::FileSource;
use crate::source::{LinkType, Packet, PacketSource, SourceEnd};
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

/// How hexdump / xxd / raw write payloads; `None` for jsonl, pcap and har,
/// which write records, packets and a document.
pub fn payload_format(format: ExportFormat) -> Option<PayloadFormat> {
    match format {
        ExportFormat::Hexdump => Some(PayloadFormat::Hexdump),
        ExportFormat::Xxd => Some(PayloadFormat::Xxd),
        ExportFormat::Raw => Some(PayloadFormat::Raw),
        ExportFormat::Jsonl | ExportFormat::Pcap | ExportFormat::Har => None,
    }
}

/// Runs an export; `stdout` receives the output unless `-o`/`--out-dir`
/// say otherwise; `stdout_is_tty` guards terminals against raw bytes.
pub fn run(args: &ExportArgs, stdout: &mut dyn Write, stdout_is_tty: bool) -> anyhow::Result<ExportSummary> {
    if args.format == ExportFormat::Har {
        check_har(args)?;
    }
    args.check(stdout_is_tty)?;
    // HAR holds each connection's entry until it ends: it takes an output
    // share (as `conns` does); the other formats stream.
    let share = if args.format == ExportFormat::Har {
        crate::budget::OutputShare::Ordering
    } else {
        crate::budget::OutputShare::Streaming
    };
    let mut cfg = super::analysis_config(&args.analysis, share)?;
    if !args.input.is_live() {
        let threads = args.analysis.threads();
        // Export writes every byte it selects (hex, JSON, files): heavy.
        let writer = if threads >= 2 {
            crate::cli::Writer::Heavy
        } else {
            crate::cli::Writer::None
        };
        cfg.shards = crate::cli::AnalysisArgs::workers(threads, writer);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut src = args.input.open(stop)?;
    args.input.announce_live();
    let src = src.as_mut();
    // Cleared when this returns, before anything else goes to stderr.
    let to_stdout = args.output.is_none() && args.out_dir.is_none();
    let mut progress = Progress::for_input(&args.input, to_stdout);
    if args.format == ExportFormat::Pcap {
        return run_pcap(args, src, cfg, stdout, &mut progress);
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
        // `check` / `check_har` refused --out-dir with jsonl and har.
        (None, _) if args.format == ExportFormat::Har => {
            Output::Events(Box::new(HarWriter::new(w, cfg.budget.output)))
        }
        (None, _) => Output::Events(jsonl_writer(
            w,
            args.payload.unwrap_or_default(),
            args.capture.as_deref(),
        )),
    };
    let mut sink = ExportSink::new(options(args), out);
    // The payloads are written here while the analysis runs beside
    // (`--threads`, as `dump`); live capture writes inline.
    let (end, ..) = if args.analysis.threads() >= 2 && !args.input.is_live() {
        let limit = args.input.count;
        let progress = &mut progress;
        crate::output::offload::analyze_beside(&mut sink, ExportSink::failed, move |feed| {
            analyze_into(src, cfg, feed, limit, progress, |f| f.stopped())
        })?
    } else {
        analyze_into(
            src,
            cfg,
            &mut sink,
            args.input.count,
            &mut progress,
            ExportSink::failed,
        )?
    };
    sink.finish().context("writing output")?;
    let mut summary = sink.into_summary();
    summary.truncated = end.truncated;
    Ok(summary)
}

/// `--format har` carries the upgrade and the data messages of each
/// WebSocket: flags that ask for anything else are refused, with what to
/// do instead.
fn check_har(args: &ExportArgs) -> anyhow::Result<()> {
    if args.frames {
        bail!(
            "--format har holds messages (as Chrome DevTools writes `_webSocketMessages`), not frames: drop \
             --frames, or use --format jsonl --frames"
        );
    }
    if args.wire {
        bail!("--format har holds the messages inflated, as the peers sent them: drop --wire");
    }
    if args.out_dir.is_some() {
        bail!("--format har writes a single document: use -o FILE instead of --out-dir");
    }
    if args.selection().names_control_frames() {
        bail!(
            "--format har holds data messages only (`_webSocketMessages` has no control frames, as Chrome \
             DevTools writes it): select text or binary messages, or export ping/pong/close with --format jsonl"
        );
    }
    Ok(())
}

/// `--format pcap`: the analysis pass finds the connections, a second pass
/// over the file copies their packets. When some of them were decrypted,
/// the file is a pcapng carrying their TLS keys (and only theirs).
fn run_pcap(
    args: &ExportArgs,
    src: &mut (dyn PacketSource + Send),
    cfg: AnalyzerConfig,
    stdout: &mut dyn Write,
    progress: &mut Option<Progress>,
) -> anyhow::Result<ExportSummary> {
    let mut sink = ExportSink::new(options(args), Output::Conns);
    let (end, links, analyzer) = analyze_into(
        src,
        cfg.clone(),
        &mut sink,
        args.input.count,
        progress,
        ExportSink::failed,
    )?;
    sink.finish().context("writing output")?;
    let mut summary = sink.into_summary();
    summary.truncated = end.truncated;
    if summary.matched_nothing() {
        return Ok(summary);
    }
    check_one_link(&summary.matched_conns, &links)?;
    let keys = exported_tls_keys(&mut summary, analyzer.keys());
    drop(analyzer);
    let keys = (!keys.is_empty()).then_some(keys.as_bytes());
    // `check` made sure the input is a file, not stdin or an interface.
    let mut file = FileSource::open(&args.input.single_file().cloned().unwrap_or_default())?;
    if let Some(p) = progress.as_mut() {
        p.phase("copying packets");
    }
    let mut on_packet = |p: &Packet<'_>| Progress::watch(progress, p);
    let mut src = Watched::new(&mut file, &mut on_packet);
    let (conns, limit) = (&summary.matched_conns, args.input.count);
    summary.packets = match &args.output {
        Some(path) => {
            let mut w = create(path)?;
            let n = write_connections(&mut src, cfg, conns, limit, keys, &mut w)?;
            w.flush().with_context(|| format!("writing {}", path.display()))?;
            n
        }
        None => write_connections(&mut src, cfg, conns, limit, keys, stdout)?,
    };
    Ok(summary)
}

/// The key log lines of the exported connections that were decrypted:
/// their secrets as the analysis found them (key log files or the
/// capture's own Decryption Secrets Blocks), looked up by client random,
/// so no other connection's keys leave with the file. Records in
/// `summary` which connections have their keys written and which not.
fn exported_tls_keys(summary: &mut ExportSummary, keys: &KeyStore) -> String {
    let mut lines = String::new();
    let decrypted: Vec<(ConnId, Option<[u8; 32]>)> = summary
        .tls_decrypted
        .iter()
        .filter(|(c, _)| summary.matched_conns.contains(c))
        .map(|(c, r)| (*c, *r))
        .collect();
    for (conn, random) in decrypted {
        match random.and_then(|r| keys.tls_secrets(&r).map(|(s, _)| (r, s))) {
            Some((r, secrets)) => {
                key_log_lines(&r, secrets, &mut lines);
                summary.tls_keys_written.insert(conn);
            }
            None => {
                summary.tls_keys_missing.insert(conn);
            }
        }
    }
    lines
}

/// The analysis pass, stopping early when the output fails (closed pipe)
/// or after `limit` packets (`-c`), its packets going by `progress`. Also
/// returns the link type of each connection's first packet (a pcap holds
/// one), and the analyzer (its keys).
fn analyze_into<S: EventSink>(
    src: &mut (dyn PacketSource + Send),
    cfg: AnalyzerConfig,
    sink: &mut S,
    limit: Option<u64>,
    progress: &mut Option<Progress>,
    stopped: fn(&S) -> bool,
) -> anyhow::Result<(SourceEnd, FxHashMap<ConnId, LinkType>, Analyzer)> {
    let mut analyzer = Analyzer::new(cfg);
    let mut links = FxHashMap::default();
    let mut on_packet = |p: &Packet<'_>| Progress::watch(progress, p);
    let src: &mut dyn PacketSource = &mut Watched::new(src, &mut on_packet);
    let end = pipeline::run(src, &mut analyzer, sink, Control::limit(limit), |fed, sink| {
        if let Some(conn) = fed.conn {
            links.entry(conn).or_insert(fed.packet.link);
        }
        if stopped(sink) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok((end, links, analyzer))
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
    let filters = args.select.describe();
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
    let tls = &summary.tls_not_decrypted;
    if !tls.is_empty() {
        let mut reasons: Vec<&str> = tls.values().copied().collect();
        reasons.sort_unstable();
        reasons.dedup();
        msg.push_str(&format!(
            "; {} TLS connection{} could not be decrypted ({}): give the key log with --keylog \
             (see `wsscope conns`)",
            tls.len(),
            if tls.len() == 1 { "" } else { "s" },
            reasons.join(", ")
        ));
    } else if units == 0 && args.format == ExportFormat::Har {
        // HAR holds messages only: --frames would not help.
        msg.push_str("; `wsscope conns` shows what it holds");
    } else if units == 0 && !args.frames {
        msg.push_str("; try --frames, or `wsscope conns` to see what it holds");
    }
    msg
}

/// `--format pcap` of decrypted TLS: what the file is and which keys it
/// could not carry (stderr lines, without the `wsscope: ` prefix).
pub fn tls_key_notes(summary: &ExportSummary) -> Vec<String> {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut notes = Vec::new();
    let n = summary.tls_keys_written.len();
    if n > 0 {
        notes.push(format!(
            "wrote pcapng, not pcap: it carries the TLS keys of {n} decrypted connection{} in a Decryption \
             Secrets Block, so Wireshark and tshark decrypt it with no key log setting",
            plural(n)
        ));
    }
    let missing = &summary.tls_keys_missing;
    if !missing.is_empty() {
        let ids: Vec<String> = missing.iter().map(|c| c.to_string()).collect();
        notes.push(format!(
            "warning: no key log lines to embed for decrypted connection{} {} (decrypted by trial without \
             a captured handshake, or a TLS 1.2 session resumed with an earlier connection's master secret: \
             export that connection too); Wireshark will not decrypt {} from the file alone",
            plural(ids.len()),
            ids.join(", "),
            if ids.len() == 1 { "it" } else { "them" }
        ));
    }
    notes
}

/// `wsscope export` on standard output: runs the export, reports on
/// standard error, and returns the exit status (0, or 1 when nothing
/// matched, 3 when the capture was truncated; errors are the caller's
/// exit 2).
pub fn run_cli(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if args.input.is_many() {
        return run_many(args);
    }
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
    Ok(ExitCode::from(report(args, &summary)))
}

/// Says on stderr what an export wrote (or that nothing matched); its exit status.
fn report(args: &ExportArgs, summary: &ExportSummary) -> u8 {
    let truncated = super::report_truncated(&args.input, &args.input_name(), summary.truncated.as_deref());
    if summary.matched_nothing() {
        eprintln!("wsscope: {}", nothing_message(summary, args));
    } else if let Some(dir) = &args.out_dir {
        eprintln!(
            "wsscope: wrote {} file{} to {}",
            summary.files,
            if summary.files == 1 { "" } else { "s" },
            dir.display()
        );
    }
    for line in tls_key_notes(summary) {
        eprintln!("wsscope: {line}");
    }
    if truncated {
        super::EXIT_TRUNCATED
    } else {
        match exit_code(summary) {
            c if c == ExitCode::SUCCESS => 0,
            _ => 1,
        }
    }
}

/// Several captures ([`super::many`]): each one's payloads after a
/// `# capture: NAME` line (hexdump, xxd), its JSON Lines records ending
/// with `capture`, raw bytes one capture after another; `--out-dir DIR`
/// gives each capture `DIR/NAME/`. A pcap or a HAR document holds one
/// capture.
fn run_many(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if matches!(args.format, ExportFormat::Pcap | ExportFormat::Har) {
        bail!(
            "--format {} writes one capture's traffic ({} captures given): export each capture on its own \
             (-o NAME.{} per capture)",
            args.format.as_str(),
            args.input.captures.len(),
            args.format.as_str()
        );
    }
    if let Some(out) = &args.output
        && args.input.captures.iter().any(|c| super::many::same_file(out, c))
    {
        bail!(
            "-o {} would overwrite a capture being read: choose another output path",
            out.display()
        );
    }
    let tty = io::stdout().is_terminal() && args.output.is_none();
    let status = super::many::run_each(
        &args.input,
        &args.analysis,
        args.output.as_deref(),
        false,
        |one, part, analysis, dest| {
            let mut a = args.clone();
            a.input = one.clone();
            a.analysis = analysis.clone();
            a.output = None;
            a.capture = part.capture.clone();
            if let (Some(dir), Some(name)) = (&args.out_dir, &part.capture) {
                a.out_dir = Some(dir.join(name));
            }
            let super::many::Dest::File(file) = dest else {
                bail!("an export of several captures writes a stream");
            };
            let mut w = BufWriter::new(file);
            if let (Some(name), Some(PayloadFormat::Hexdump | PayloadFormat::Xxd), None) =
                (&part.capture, payload_format(a.format), &a.out_dir)
            {
                writeln!(w, "# capture: {}", crate::output::text::sanitize_str(name))?;
            }
            let summary = run(&a, &mut w, tty)?;
            w.flush().context("writing output")?;
            Ok(report(&a, &summary))
        },
    )?;
    Ok(ExitCode::from(status))
}
