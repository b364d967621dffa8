//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod tmux;
pub mod wss;

use std::path::{Path, PathBuf};
use std::process::Command;
use wsscope::event::{ConnectionEndEvent, Event};
use wsscope::source::file::FileSource;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project's own recorded captures.
pub fn fixtures() -> Vec<PathBuf> {
    captures_in(&root().join("fixtures"))
}

/// The shared third-party corpus; panics (the test fails) when it is missing,
/// since tests using it are `#[ignore]`d and only run where it must exist.
pub fn corpus() -> Vec<PathBuf> {
    let dir = root().join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "../shared/corpus is missing: these tests need the shared corpus beside the checkout"
    );
    let v = captures_in(&dir);
    assert!(!v.is_empty(), "../shared/corpus holds no captures");
    v
}

pub fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".dump")
    });
    v.sort();
    v
}

/// Every event of a capture, with the default configuration.
pub fn analyze(path: &Path) -> Vec<Event> {
    analyze_with(path, wsscope::analyzer::AnalyzerConfig::default())
}

pub fn analyze_with(path: &Path, cfg: wsscope::analyzer::AnalyzerConfig) -> Vec<Event> {
    let mut src = FileSource::open(path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    let mut events = Vec::new();
    wsscope::pipeline::analyze(&mut src, cfg, &mut events)
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    events
}

pub fn summaries(events: &[Event]) -> Vec<ConnectionEndEvent> {
    let mut v: Vec<ConnectionEndEvent> = events
        .iter()
        .filter_map(|e| {
            if let Event::Close(c) = e {
                Some((**c).clone())
            } else {
                None
            }
        })
        .collect();
    v.sort_by_key(|c| c.conn);
    v
}

/// Fails the test when tshark is absent: tests that need it are `#[ignore]`d
/// and `.ci/run` installs tshark before running them.
pub fn require_tshark() {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "tshark is not installed: `apt-get install -y tshark` (as .ci/run does)"
    );
}

pub fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark").args(args).output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses `wsscope export` arguments as the CLI would.
pub fn export_args(a: &[&str]) -> wsscope::cli::ExportArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: wsscope::cli::ExportArgs,
    }
    let mut v = vec!["export"];
    v.extend_from_slice(a);
    let mut args = Cli::try_parse_from(v)
        .unwrap_or_else(|e| panic!("{a:?}: {e}"))
        .args;
    // As the command line does before running a command: FILE arguments
    // become the captures (`input.file` for one).
    args.input.resolve().unwrap_or_else(|e| panic!("{a:?}: {e:#}"));
    args
}

/// `wsscope ARGS CAP` (which must succeed), its JSON Lines parsed.
pub fn wsscope_jsonl(args: &[&str], cap: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .arg(cap)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .expect("run wsscope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
