//! End to end, the real binary in tmux, on a capture whose payloads the
//! timeline does not hold (`--max-memory 32M`: 768 KiB for whole payloads,
//! 48-byte previews past that): search reads every whole payload again and
//! finds exactly what `wsscope export --grep` finds; `Esc` cancels a
//! search that is still reading.

mod common;

#[path = "../benches/synth/mod.rs"]
mod synth;

use common::tmux::Tmux;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wsscope"))
}

/// A generated capture of `mb` MiB (64 connections streaming JSON text
/// messages of 100 to 3 300 bytes).
fn generated(dir: &Path, mb: u64) -> PathBuf {
    let path = dir.join(format!("gen-{mb}.pcap"));
    let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    synth::generate(f, mb << 20, 64).unwrap();
    path
}

/// Messages `wsscope export --grep RE` selects (one `# conn` line each).
fn export_count(capture: &Path, re: &str) -> usize {
    let out = Command::new(binary())
        .args(["export", "--format", "hexdump", "--grep", re])
        .arg(capture)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("# conn"))
        .count()
}

fn open(tmux: &Tmux, capture: &Path) {
    let script = format!(
        "'{}' --max-memory 32M '{}'; echo EXIT=$?; sleep 30",
        binary().display(),
        capture.display()
    );
    tmux.start(120, 40, &script);
    tmux.wait_for("the capture loaded", Duration::from_secs(120), |s| {
        s.contains("gen-") && s.contains("/feed") && !s.contains("loading")
    });
}

/// "match 1 of N" in the status line.
fn match_total(screen: &str) -> Option<usize> {
    let at = screen.find("match 1 of ")?;
    let rest = &screen[at + "match 1 of ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

// A message with at least 30 of the generator's 82-byte records: 2 460
// bytes or more, so every match lies far past the 48-byte previews.
const LONG: &str = "(amet consectetur.*){30}";

#[test]
#[ignore = "needs tmux"]
fn search_over_whole_payloads_finds_what_export_finds() {
    let dir = tempfile::tempdir().unwrap();
    let capture = generated(dir.path(), 24);
    let want = export_count(&capture, LONG);
    assert!(want > 100, "{want} messages match");
    let tmux = Tmux::new("payload-search");
    open(&tmux, &capture);
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search (regex) /"));
    tmux.text(LONG);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the search's end", Duration::from_secs(120), |s| {
        s.contains("match 1 of") || s.contains("not found") || s.contains("failed")
    });
    assert_eq!(match_total(&s), Some(want), "{s}");
    assert!(s.contains("every payload read whole"), "{s}");
    eprintln!("{}", s.lines().last().unwrap_or(""));
    // n walks the hits at once: no second reading.
    tmux.keys(&["n"]);
    let s = tmux.wait("the next hit", |s| s.contains("match 2 of"));
    assert!(!s.contains("searching"), "{s}");
    tmux.keys(&["q"]);
    let s = tmux.wait("the exit", |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
}

#[test]
#[ignore = "needs tmux"]
fn esc_cancels_a_running_search() {
    let dir = tempfile::tempdir().unwrap();
    let capture = generated(dir.path(), 48);
    let tmux = Tmux::new("payload-cancel");
    open(&tmux, &capture);
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search (regex) /"));
    tmux.text(LONG);
    tmux.keys(&["Enter"]);
    tmux.wait("the search running", |s| s.contains("in every whole payload"));
    // The interface answers while it reads: the help opens and closes.
    tmux.keys(&["?"]);
    tmux.wait("the help", |s| s.contains("Esc or ? to close"));
    tmux.keys(&["Escape"]);
    tmux.wait("the help closed", |s| !s.contains("Esc or ? to close"));
    tmux.keys(&["Escape"]);
    let s = tmux.wait("the cancel", |s| s.contains("cancelled"));
    assert!(!s.contains("match 1 of"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("EXIT=0"));
}
