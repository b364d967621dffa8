//! End to end, the real binary in tmux, on a capture whose payloads the
//! timeline does not hold (`--max-memory 32M`: 192 KiB for whole payloads,
//! 40-byte previews past that): search reads every whole payload again and
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
// bytes or more, so every match lies far past the 40-byte previews.
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

/// The 1 MiB binary message the client of `sizes.pcap` sent: exported by
/// the command line, and checked against the SHA-256 the client recorded.
fn sent_mib(capture: &Path, dir: &Path) -> Vec<u8> {
    use sha2::Digest;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("fixtures/sizes.sent.jsonl")).unwrap();
    let sent = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["dir"] == "c2s" && v["len"] == 1_048_576)
        .expect("a 1 MiB c2s message in the sidecar");
    let path = dir.join("cli.bin");
    let st = Command::new(binary())
        .args([
            "export",
            "--format",
            "raw",
            "--select",
            "dir:c2s len>1000000",
            "-o",
        ])
        .arg(&path)
        .arg(capture)
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        sent["sha256"].as_str().unwrap()
    );
    bytes
}

/// A 1 MiB message — twenty times what the timeline holds of any payload
/// here — is read from the capture when selected: the detail shows its
/// last bytes, and `e` writes every byte of it.
#[test]
#[ignore = "needs tmux"]
fn a_mebibyte_message_is_shown_to_its_end_and_exported_exactly() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("fixtures/sizes.pcap");
    let dir = tempfile::tempdir().unwrap();
    let want = sent_mib(&capture, dir.path());
    let out = dir.path().join("mib.bin");
    let tmux = Tmux::new("payload-mib");
    let script = format!(
        "'{}' --max-memory 32M '{}'; echo EXIT=$?; sleep 30",
        binary().display(),
        capture.display()
    );
    tmux.start(120, 40, &script);
    tmux.wait("the first screen", |s| {
        s.contains("sizes.pcap") && s.contains("/sizes")
    });
    // The one message over a million bytes the client sent.
    tmux.keys(&["f"]);
    tmux.text("dir:c2s len>1000000");
    tmux.keys(&["Enter"]);
    tmux.wait("the filter", |s| s.contains("1 rows match"));
    // Its detail, zoomed: the whole payload once read from the capture
    // (the title counts its 65 536 hexdump lines), then scrolled to its end.
    tmux.keys(&["z"]);
    tmux.wait("the whole payload", |s| {
        s.contains("00000000") && s.contains("of 655") && !s.contains("loading")
    });
    tmux.keys(&["G"]);
    let last8 = want[want.len() - 8..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let s = tmux.wait("the payload's last bytes", |s| s.contains(&last8));
    assert!(s.contains("000ffff0"), "{s}");
    assert!(!s.contains("loading"), "{s}");
    tmux.keys(&["Escape"]);
    // (A key right after Escape would read as Alt+key: wait for the zoom to end.)
    tmux.wait("the layout back", |s| {
        s.contains("Timeline") && !s.contains("z/Esc: back")
    });
    // Export it raw.
    tmux.keys(&["e"]);
    tmux.wait("the export prompt", |s| s.contains("export payload to"));
    tmux.keys(&["C-u"]);
    tmux.text(&out.display().to_string());
    tmux.keys(&["Enter"]);
    tmux.wait("the export", |s| s.contains("1048576 bytes written to"));
    assert_eq!(std::fs::read(&out).unwrap(), want);
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("EXIT=0"));
}
