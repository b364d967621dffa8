//! The `wsscope` binary: parse the command line, pick source and sink, run.

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use wsscope::cli::{Cli, Command, ConnsFormat};
use wsscope::output::conns::{ConnsCollector, write_jsonl, write_table};
use wsscope::source::file::FileSource;

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

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Conns {
            file,
            format,
            analysis,
        }) => {
            let mut src = FileSource::open(&file)?;
            let mut sink = ConnsCollector::default();
            let (_, end) = wsscope::run::analyze(&mut src, analysis.config(), &mut sink)?;
            let conns = sink.sorted();
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            match format {
                ConnsFormat::Table => write_table(&conns, &mut w),
                ConnsFormat::Jsonl => write_jsonl(&conns, &mut w),
            }
            .context("writing output")?;
            w.flush().context("writing output")?;
            if let Some(why) = end.truncated {
                eprintln!("wsscope: warning: {}: {why}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let Some(_file) = cli.file else {
                anyhow::bail!("no capture given; try `wsscope FILE`, `wsscope conns FILE`, or --help");
            };
            anyhow::bail!("the interactive timeline is not built yet; use `wsscope conns FILE`")
        }
    }
}
