//! The `wsscope` binary: parse the command line, pick source and sink, run.
//!
//! Exit codes: 0 success; 1 nothing selected / nothing found (like grep);
//! 2 usage or input errors; 130 interrupted twice.

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use wsscope::analyzer::Analyzer;
use wsscope::cli::{AnalysisArgs, Cli, Command, ConnsFormat, DumpFormat, InputArgs};
use wsscope::event::{Event, EventSink};
use wsscope::output::conns::{ConnsCollector, write_jsonl, write_table};
use wsscope::output::jsonl::JsonlSink;
use wsscope::output::text::TextSink;
use wsscope::pipeline::{self, Control};
use wsscope::source::SourceEnd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`wsscope dump x | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("wsscope: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Tells the user how the input ended (truncation, drops), on stderr.
fn report_end(input: &InputArgs, end: &SourceEnd) {
    let name = input
        .file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    if let Some(why) = &end.truncated {
        eprintln!("wsscope: warning: {name}: {why}");
    }
    if let Some(dropped) = end.dropped {
        eprintln!(
            "wsscope: {} packets captured on {}, {dropped} dropped ({} by the kernel, {} because analysis fell behind)",
            end.packets,
            input.interface.as_deref().unwrap_or("?"),
            end.dropped_kernel.unwrap_or(0),
            end.dropped_pipeline.unwrap_or(0)
        );
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "live")]
    if cli.list_interfaces {
        for (name, desc) in wsscope::source::live::list_interfaces()? {
            match desc {
                Some(d) => println!("{name}\t{d}"),
                None => println!("{name}"),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    #[cfg(not(feature = "live"))]
    if cli.list_interfaces {
        anyhow::bail!(
            "this wsscope was built without live capture; rebuild with \
             `apt-get install libpcap-dev && cargo install --path . --features live`"
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    match cli.command {
        Some(Command::Conns {
            input,
            format,
            analysis,
        }) => conns(&input, format, &analysis, stop),
        Some(Command::Dump {
            input,
            format,
            analysis,
        }) => dump(&input, format, &analysis, stop),
        Some(Command::Export(args)) => wsscope::output::export::run_cli(&args),
        None => {
            if cli.input.file.is_none() && cli.input.interface.is_none() {
                anyhow::bail!(
                    "no capture given; try `wsscope FILE`, `wsscope -i IFACE`, `wsscope dump FILE`, or --help"
                );
            }
            timeline(&cli, stop)
        }
    }
}

fn conns(
    input: &InputArgs,
    format: ConnsFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let mut src = input.open(stop)?;
    input.announce_live();
    let mut sink = ConnsCollector::default();
    let mut analyzer = Analyzer::new(analysis.config());
    let end = pipeline::run(
        src.as_mut(),
        &mut analyzer,
        &mut sink,
        Control::limit(input.count),
        |_, _| ControlFlow::Continue(()),
    )?;
    let conns = sink.sorted();
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    match format {
        ConnsFormat::Table => write_table(&conns, &mut w),
        ConnsFormat::Jsonl => write_jsonl(&conns, &mut w),
    }
    .context("writing output")?;
    w.flush().context("writing output")?;
    report_end(input, &end);
    Ok(ExitCode::SUCCESS)
}

/// Counts what went by, then hands the event on.
struct Counting<'a> {
    inner: &'a mut dyn EventSink,
    websocket_events: u64,
}

impl EventSink for Counting<'_> {
    fn event(&mut self, ev: Event) {
        if matches!(ev, Event::Handshake(_) | Event::Frame(_) | Event::Message(_)) {
            self.websocket_events += 1;
        }
        self.inner.event(ev);
    }
}

fn dump(
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
    let (src, cfg, count) = (src.as_mut(), analysis.config(), input.count);
    let (end, err, found) = match format {
        DumpFormat::Jsonl => run_dump(JsonlSink::with_flush_each(w, live), src, cfg, count)?,
        DumpFormat::Text => run_dump(TextSink::new(w).flush_each(live), src, cfg, count)?,
    };
    err.context("writing output")?;
    report_end(input, &end);
    if found == 0 && !live {
        eprintln!(
            "wsscope: no WebSocket traffic found; if it runs on a known port without a captured handshake, try --ws-port PORT"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `wsscope FILE` / `wsscope -i IFACE`: the interactive timeline. Without a
/// terminal on stdout (a pipe, a file) the same events print as the text
/// timeline instead, so `wsscope FILE | less` works.
fn timeline(cli: &Cli, stop: Arc<AtomicBool>) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let cfg = cli.analysis.config();
    if cli.headless {
        let file = cli
            .input
            .file
            .as_ref()
            .context("--headless needs a capture FILE")?;
        let r = wsscope::tui::run_headless(file, cfg, 120, 40, cli.headless_first)?;
        print!("{}", r.screen);
        eprintln!(
            "first screen {:?}; first content {:?}; loaded {:?}; {} draws; {} rows; {} conns; {} frames; {} messages",
            r.first_screen,
            r.first_content,
            r.loaded,
            r.frames_drawn,
            r.records,
            r.connections,
            r.frames,
            r.messages
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdout().is_terminal() {
        return dump(&cli.input, DumpFormat::Text, &cli.analysis, stop);
    }
    #[cfg(feature = "live")]
    if cli.input.is_live() {
        let src = cli.input.open_live_source(stop)?;
        wsscope::tui::run_live(src, cfg, cli.input.count)?;
        return Ok(ExitCode::SUCCESS);
    }
    match (&cli.input.file, cli.input.count) {
        (Some(f), None) => wsscope::tui::run_file(f, cfg)?,
        _ => wsscope::tui::run_source(
            cli.input.open(stop)?,
            cfg,
            wsscope::tui::RunOptions {
                live: cli.input.is_live(),
                limit: cli.input.count,
                dropped: None,
            },
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the analysis into `sink`, counting WebSocket events; then finishes
/// the sink (flush, first write error).
fn run_dump<S: EventSink>(
    mut sink: S,
    src: &mut dyn wsscope::source::PacketSource,
    cfg: wsscope::analyzer::AnalyzerConfig,
    count: Option<u64>,
) -> anyhow::Result<(SourceEnd, std::io::Result<()>, u64)> {
    let mut counting = Counting {
        inner: &mut sink,
        websocket_events: 0,
    };
    let mut analyzer = Analyzer::new(cfg);
    let end = pipeline::run(
        src,
        &mut analyzer,
        &mut counting,
        Control::limit(count),
        |_, _| ControlFlow::Continue(()),
    )?;
    let found = counting.websocket_events;
    let res = sink.finish();
    Ok((end, res, found))
}
