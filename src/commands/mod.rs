//! What each command does: open the input, run the [`crate::pipeline`]
//! into the right sink, report on standard error, pick the exit status.
//! `main.rs` only parses the command line and dispatches here; the clap
//! types are in [`crate::cli`], the sinks in [`crate::output`] and
//! [`crate::tui`].
//!
//! Exit codes: 0 success; 1 nothing selected / nothing found (like grep);
//! 2 usage or input errors; 3 the capture is truncated (everything before
//! the cut was written; `--allow-truncated` makes it 0); 130 interrupted
//! twice.

pub mod audit;
pub mod conns;
pub mod dump;
pub mod export;
pub mod many;
pub mod progress;
pub mod timeline;

use crate::analyzer::AnalyzerConfig;
use crate::budget::OutputShare;
use crate::cli::{AnalysisArgs, InputArgs};
use crate::keys::keylog::{KeyLog, ParseReport};
use crate::source::SourceEnd;
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;

/// The analysis settings of a command whose output keeps `output`, with its key logs read: `--keylog`
/// files, else `$SSLKEYLOGFILE` when set (said on stderr). Lines that could
/// not be read are counted and the first is shown, once per file.
pub fn analysis_config(args: &AnalysisArgs, output: OutputShare) -> anyhow::Result<AnalyzerConfig> {
    let mut cfg = args.config(output);
    let mut paths = args.keylog.clone();
    if paths.is_empty()
        && let Some(env) = std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty())
    {
        let p = std::path::PathBuf::from(env);
        if p.is_file() {
            eprintln!(
                "wsscope: using the TLS key log in $SSLKEYLOGFILE ({})",
                p.display()
            );
            paths.push(p);
        }
    }
    if paths.is_empty() {
        return Ok(cfg);
    }
    let mut log = KeyLog::new();
    for p in &paths {
        let text = std::fs::read(p).with_context(|| {
            format!(
                "cannot read the key log {}; give a file written through SSLKEYLOGFILE (or --ssl-key-log-file)",
                p.display()
            )
        })?;
        let mut report = ParseReport::default();
        let mut one = KeyLog::new();
        let used = one.parse(&text, &mut report);
        if used < text.len() {
            // A last line without its newline is still a line in a file.
            let mut tail = text.get(used..).unwrap_or_default().to_vec();
            tail.push(b'\n');
            one.parse(&tail, &mut report);
        }
        if report.malformed > 0 {
            let first = report
                .first_malformed
                .as_ref()
                // The reason may quote the file's bytes: never raw to a terminal.
                .map(|(line, why)| {
                    format!(
                        ", first at line {line}: {}",
                        crate::output::text::sanitize_str(why)
                    )
                })
                .unwrap_or_default();
            eprintln!(
                "wsscope: warning: {}: {} key log lines could not be read{first}",
                p.display(),
                report.malformed
            );
        }
        if one.is_empty() {
            eprintln!(
                "wsscope: warning: {}: no TLS secrets found in this key log",
                p.display()
            );
        }
        log.merge(one);
        cfg.keylog_files.push((p.clone(), used as u64));
    }
    cfg.keylog = Some(Arc::new(log));
    Ok(cfg)
}

/// `wsscope -D`: the interfaces live capture can use.
#[cfg(feature = "live")]
pub fn list_interfaces() -> anyhow::Result<ExitCode> {
    for (name, desc) in crate::source::live::list_interfaces()? {
        match desc {
            Some(d) => println!("{name}\t{d}"),
            None => println!("{name}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `wsscope -D` without the `live` feature: how to get it.
#[cfg(not(feature = "live"))]
pub fn list_interfaces() -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "this wsscope was built without live capture; rebuild with \
         `apt-get install libpcap-dev && cargo install --path . --features live`"
    );
}

/// The exit status of a capture that ends in the middle of a record (or
/// whose rest could not be read): the output is complete up to the cut,
/// but a script must not take it for the whole capture.
pub const EXIT_TRUNCATED: u8 = 3;

/// Says on stderr, in one line, that `name` was `truncated` (why, and the
/// exit status it gets); returns whether that status is [`EXIT_TRUNCATED`]
/// (not with `--allow-truncated`).
fn report_truncated(input: &InputArgs, name: &str, truncated: Option<&str>) -> bool {
    let Some(why) = truncated else {
        return false;
    };
    if input.allow_truncated {
        eprintln!("wsscope: warning: {name} is truncated: {why} (exit status 0: --allow-truncated)");
        false
    } else {
        eprintln!("wsscope: {name} is truncated: {why}; exit status {EXIT_TRUNCATED} (--allow-truncated: 0)");
        true
    }
}

/// `status`, unless the capture was truncated: then [`EXIT_TRUNCATED`],
/// which says more (a selection that matched nothing may have matched in
/// what was cut).
fn exit_status(status: u8, truncated: bool) -> ExitCode {
    ExitCode::from(status_of(status, truncated))
}

/// [`exit_status`] as a number, for runs over several captures to combine.
fn status_of(status: u8, truncated: bool) -> u8 {
    if truncated { EXIT_TRUNCATED } else { status }
}

/// Tells the user how the input ended (truncation, drops), on stderr;
/// returns whether the capture was truncated and that sets the exit status.
fn report_end(input: &InputArgs, end: &SourceEnd) -> bool {
    let name = input
        .file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    let truncated = report_truncated(input, &name, end.truncated.as_deref());
    if let Some(dropped) = end.dropped {
        eprintln!(
            "wsscope: {} packets captured on {}, {dropped} dropped ({} by the kernel, {} because analysis fell behind)",
            end.packets,
            input.interface.as_deref().unwrap_or("?"),
            end.dropped_kernel.unwrap_or(0),
            end.dropped_pipeline.unwrap_or(0)
        );
    }
    truncated
}
