//! What each command does: open the input, run the [`crate::pipeline`]
//! into the right sink, report on standard error, pick the exit status.
//! `main.rs` only parses the command line and dispatches here; the clap
//! types are in [`crate::cli`], the sinks in [`crate::output`] and
//! [`crate::tui`].
//!
//! Exit codes: 0 success; 1 nothing selected / nothing found (like grep);
//! 2 usage or input errors; 130 interrupted twice.

pub mod conns;
pub mod dump;
pub mod export;
pub mod timeline;

use crate::cli::InputArgs;
use crate::source::SourceEnd;
use std::process::ExitCode;

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
