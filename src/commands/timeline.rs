//! `wsscope FILE` / `wsscope -i IFACE`: the interactive timeline. Without a
//! terminal on stdout (a pipe, a file) the same events print as the text
//! timeline instead, so `wsscope FILE | less` works.

use crate::cli::{Cli, DumpFormat};
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub fn run(cli: &Cli, stop: Arc<AtomicBool>) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    if cli.input.file.is_none() && cli.input.interface.is_none() {
        anyhow::bail!(
            "no capture given; try `wsscope FILE`, `wsscope -i IFACE`, `wsscope dump FILE`, or --help"
        );
    }
    let cfg = super::analysis_config(&cli.analysis, crate::budget::OutputShare::Index)?;
    if cli.headless {
        return headless(cli, cfg);
    }
    if !std::io::stdout().is_terminal() {
        return super::dump::run(&cli.input, DumpFormat::Text, cli.time, &cli.analysis, stop);
    }
    #[cfg(feature = "live")]
    if cli.input.is_live() {
        let src = cli.input.open_live(stop)?;
        let end = crate::tui::run_live(src, cfg, cli.input.count)?;
        return Ok(finished(cli, end));
    }
    let end = match (&cli.input.file, cli.input.count) {
        (Some(f), None) => crate::tui::run_file(f, cfg)?,
        _ => crate::tui::run_source(
            cli.input.open(stop)?,
            cfg,
            crate::tui::RunOptions {
                live: cli.input.is_live(),
                limit: cli.input.count,
                dropped: None,
                file: cli.input.file.clone().filter(|f| f.as_os_str() != "-"),
            },
        )?,
    };
    Ok(finished(cli, end))
}

/// Once the screen is back: how the input ended, on stderr, as `dump` says
/// it; a truncated capture exits 3 (unless `--allow-truncated`) here too.
fn finished(cli: &Cli, end: Option<crate::source::SourceEnd>) -> ExitCode {
    let truncated = end.is_some_and(|e| super::report_end(&cli.input, &e));
    super::exit_status(0, truncated)
}

/// `--headless`: the timeline on a virtual screen, for measurements.
fn headless(cli: &Cli, cfg: crate::analyzer::AnalyzerConfig) -> anyhow::Result<ExitCode> {
    let file = cli
        .input
        .file
        .as_ref()
        .context("--headless needs a capture FILE")?;
    let r = crate::tui::run_headless(file, cfg, 120, 40, cli.headless_first)?;
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
    Ok(ExitCode::SUCCESS)
}
