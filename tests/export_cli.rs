//! `wsscope export` end to end: the library entry point
//! `commands::export::run` directly, then the command through the binary.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use wsscope::cli::ExportArgs;
use wsscope::commands::export::{nothing_message, run};
use wsscope::event::Event;
use wsscope::output::jsonl::JsonlSink;

fn args(a: &[&str]) -> ExportArgs {
    common::export_args(a)
}

fn fixture(name: &str) -> PathBuf {
    common::root().join("fixtures").join(name)
}

/// jsonl export lines are `dump --format jsonl` lines: the selected
/// messages and their connection's records, in capture order.
#[test]
fn jsonl_is_a_subset_of_dump_records() {
    let cap = fixture("py_basic.pcap");
    let mut all = JsonlSink::new(Vec::new());
    for e in common::analyze(&cap) {
        all.write_event(&e).unwrap();
    }
    let dump = String::from_utf8(all.into_inner()).unwrap();
    let mut out = Vec::new();
    let s = run(
        &args(&[cap.to_str().unwrap(), "--format", "jsonl", "--grep", "hello"]),
        &mut out,
        false,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    // Every exported line is a dump line, in the same order.
    let mut rest = dump.lines();
    for l in &lines {
        assert!(rest.any(|d| d == *l), "not a dump line (or out of order): {l}");
    }
    let types: Vec<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("connection"));
    assert_eq!(types.get(1).map(String::as_str), Some("handshake"));
    assert_eq!(types.last().map(String::as_str), Some("close"));
    assert_eq!(
        types.iter().filter(|t| *t == "message").count() as u64,
        s.selected
    );
    assert!(s.selected >= 2);
}

#[test]
fn output_file_holds_what_stdout_would() {
    let cap = fixture("fragmented.pcap");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let mut stdout = Vec::new();
    run(&args(&[cap.to_str().unwrap(), "--frames"]), &mut stdout, false).unwrap();
    let mut nothing = Vec::new();
    run(
        &args(&[cap.to_str().unwrap(), "--frames", "-o", path.to_str().unwrap()]),
        &mut nothing,
        false,
    )
    .unwrap();
    assert!(nothing.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), stdout);
    assert!(!stdout.is_empty());
}

#[test]
fn analysis_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "not a capture at all").unwrap();
    let e = run(&args(&[bogus.to_str().unwrap()]), &mut Vec::new(), false).unwrap_err();
    assert!(format!("{e:#}").contains("notes.txt"), "{e:#}");
}

/// Events of a capture without WebSocket traffic: nothing to export.
#[test]
fn no_websocket_traffic_matches_nothing() {
    let cap = fixture("rejected_403.pcap");
    let a = args(&[cap.to_str().unwrap()]);
    let s = run(&a, &mut Vec::new(), false).unwrap();
    assert!(s.matched_nothing());
    assert!(
        nothing_message(&s, &a).contains("no messages to export"),
        "{}",
        nothing_message(&s, &a)
    );
    // Whole connections still export as pcap.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.pcap");
    let s = run(
        &args(&[
            cap.to_str().unwrap(),
            "--format",
            "pcap",
            "-o",
            out.to_str().unwrap(),
        ]),
        &mut Vec::new(),
        false,
    )
    .unwrap();
    assert!(!s.matched_nothing());
    let back = common::analyze(&out);
    assert!(back.iter().any(|e| matches!(e, Event::Connection(_))));
}

// ---- through the binary ----

fn wsscope(a: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .arg("export")
        .args(a)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn cli_raw_through_hexdump_equals_hexdump_format() {
    let cap = fixture("py_basic.pcap");
    let c = cap.to_str().unwrap();
    // The 256-byte binary (0..=255), not the empty one.
    let sel = ["--conn", "0", "--dir", "c2s", "--opcode", "binary", "--grep", "."];
    let raw = wsscope(&[&[c, "--format", "raw"][..], &sel].concat());
    assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
    let mut hd = Command::new("hexdump")
        .arg("-C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(hd.stdin.as_mut().unwrap(), &raw.stdout).unwrap();
    let hd = hd.wait_with_output().unwrap();
    let ours = wsscope(&[&[c, "--format", "hexdump"][..], &sel].concat());
    let ours = String::from_utf8(ours.stdout).unwrap();
    let body: String = ours
        .split_inclusive('\n')
        .filter(|l| !l.starts_with('#'))
        .collect();
    // One payload selected: its dump is hexdump's dump of the raw stream.
    assert_eq!(ours.lines().filter(|l| l.starts_with('#')).count(), 1);
    assert_eq!(body, String::from_utf8(hd.stdout).unwrap());
}

#[test]
fn cli_exit_codes() {
    let cap = fixture("py_basic.pcap");
    let c = cap.to_str().unwrap();
    let ok = wsscope(&[c]);
    assert_eq!(ok.status.code(), Some(0));
    let none = wsscope(&[c, "--grep", "no such text"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("no message matched --grep"), "{err}");
    let bad = wsscope(&[c, "--format", "pcap", "--out-dir", "x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("-o FILE"));
    let usage = wsscope(&[c, "--opcode", "nonsense"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn cli_out_dir_and_closed_pipe() {
    let cap = fixture("py_basic.pcap");
    let c = cap.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = wsscope(&[
        c,
        "--format",
        "raw",
        "--frames",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote"));
    assert!(dir.path().join("conn0-0001-c2s.bin").exists());
    // `| head -c 1`: a closed pipe is not an error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", c, "--frames", "--no-squeeze"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    std::io::Read::read_exact(&mut stdout, &mut one).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
