//! The `wsscope` binary: parse the command line, run the command, turn its
//! error into a message and an exit status. The commands are in
//! [`wsscope::commands`].
//!
//! Exit codes: 0 success; 1 nothing selected / nothing found (like grep);
//! 2 usage or input errors (several captures: one failed, the others were
//! written); 3 the capture is truncated (output complete up to the cut;
//! `--allow-truncated`: 0); 4 `audit` made a finding at `--fail-on` or
//! above; 130 interrupted twice.

use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use wsscope::cli::{Cli, Command};
use wsscope::commands;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    match cli.resolve_inputs().and_then(|()| run(cli)) {
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
    if cli.list_interfaces {
        return commands::list_interfaces();
    }
    // Set by SIGINT/SIGTERM during live capture.
    let stop = Arc::new(AtomicBool::new(false));
    match &cli.command {
        Some(Command::Conns {
            input,
            format,
            analysis,
        }) => commands::conns::run(input, *format, analysis, stop),
        Some(Command::Dump {
            input,
            format,
            output,
            time,
            select,
            lean,
            analysis,
        }) => commands::dump::run_cli(
            input,
            *format,
            output.as_deref(),
            *time,
            select,
            lean,
            analysis,
            stop,
        ),
        Some(Command::Export(args)) => commands::export::run_cli(args),
        Some(Command::Audit(args)) => commands::audit::run(args, stop),
        None => commands::timeline::run(&cli, stop),
    }
}
