//! Several captures in one run (`dump`, `conns`, `export` FILE...):
//! paths, directories and patterns expand to the captures in order; the
//! output is each capture's own output, in order, marked with its name;
//! a capture that fails is reported and skipped, and the exit status says
//! so. (The Parquet dataset of several captures: tests/parquet_roundtrip.rs.)

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wsscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    common::root().join("fixtures").join(name).display().to_string()
}

/// Three captures of different shapes: a browser's compressed session,
/// IPv6, and a server breaking rules.
fn three() -> [String; 3] {
    [
        fixture("chromium.pcap"),
        fixture("ipv6.pcap"),
        fixture("bad_server.pcap"),
    ]
}

fn name(p: &str) -> String {
    Path::new(p).file_name().unwrap().to_string_lossy().into_owned()
}

/// `out`'s lines with `,"capture":"NAME"}` ending each one.
fn tagged(out: &[u8], capture: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert_eq!(line.last(), Some(&b'}'));
        v.extend_from_slice(&line[..line.len() - 1]);
        v.extend_from_slice(
            format!(",\"capture\":{}}}\n", serde_json::to_string(capture).unwrap()).as_bytes(),
        );
    }
    v
}

#[test]
fn jsonl_of_several_is_each_in_order_tagged_with_its_capture() {
    for cmd in [
        &["dump", "--format", "jsonl"][..],
        &["conns", "--format", "jsonl"],
        &["export", "--format", "jsonl"],
    ] {
        let caps = three();
        let mut expected = Vec::new();
        for c in &caps {
            let one = wsscope(&[cmd, &[c.as_str()]].concat());
            assert!(one.status.success(), "{cmd:?} {c}");
            assert!(!one.stdout.is_empty());
            expected.extend(tagged(&one.stdout, &name(c)));
        }
        for threads in ["1", "2", "3"] {
            let refs: Vec<&str> = caps.iter().map(String::as_str).collect();
            let all = wsscope(&[cmd, &["--threads", threads], &refs[..]].concat());
            assert!(
                all.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&all.stderr)
            );
            assert!(
                all.stdout == expected,
                "{cmd:?} --threads {threads}: not each capture's output in order"
            );
            // Every record parses and names its capture.
            for line in all.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(line).unwrap();
                assert!(v["capture"].is_string());
            }
        }
    }
}

#[test]
fn text_outputs_of_several_start_each_capture_with_its_name() {
    let caps = three();
    for cmd in [&["dump"][..], &["conns"], &["export", "--opcode", "text"]] {
        let mut expected = Vec::new();
        for c in &caps {
            let one = wsscope(&[cmd, &[c.as_str()]].concat());
            expected.extend(format!("# capture: {}\n", name(c)).into_bytes());
            expected.extend(one.stdout);
        }
        let refs: Vec<&str> = caps.iter().map(String::as_str).collect();
        let all = wsscope(&[cmd, &refs[..]].concat());
        assert_eq!(all.status.code(), Some(0), "{cmd:?}");
        assert_eq!(
            String::from_utf8_lossy(&all.stdout),
            String::from_utf8_lossy(&expected),
            "{cmd:?}"
        );
    }
}

#[test]
fn a_failing_capture_is_reported_and_skipped_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("garbage.pcap");
    std::fs::write(&bad, b"this is not a capture file at all").unwrap();
    let (a, b) = (fixture("chromium.pcap"), fixture("ipv6.pcap"));
    let bad = bad.display().to_string();
    let out = wsscope(&["dump", "--format", "jsonl", &a, &bad, &b]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("garbage.pcap") && err.contains("skipped"), "{err}");
    let mut expected = tagged(
        &wsscope(&["dump", "--format", "jsonl", &a]).stdout,
        "chromium.pcap",
    );
    expected.extend(tagged(
        &wsscope(&["dump", "--format", "jsonl", &b]).stdout,
        "ipv6.pcap",
    ));
    assert!(
        out.stdout == expected,
        "the good captures are written whole, in order"
    );
}

#[test]
fn nothing_selected_anywhere_is_exit_status_1_and_somewhere_is_0() {
    let caps = three();
    let refs: Vec<&str> = caps.iter().map(String::as_str).collect();
    // bad_server.pcap alone holds violations.
    let some = wsscope(&[&["dump", "--format", "jsonl", "--types", "violation"][..], &refs].concat());
    assert_eq!(some.status.code(), Some(0));
    assert!(!some.stdout.is_empty());
    let none = wsscope(&[&["dump", "--select", "len>100M"][..], &refs].concat());
    assert_eq!(none.status.code(), Some(1));
}

#[test]
fn patterns_and_directories_expand_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    for n in ["ipv6.pcap", "chromium.pcap", "fragmented.pcap"] {
        std::fs::copy(fixture(n), dir.path().join(n)).unwrap();
    }
    std::fs::write(dir.path().join("README.txt"), b"not a capture").unwrap();
    let sorted: Vec<PathBuf> = ["chromium.pcap", "fragmented.pcap", "ipv6.pcap"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let mut expected = Vec::new();
    for p in &sorted {
        let one = wsscope(&["conns", "--format", "jsonl", p.to_str().unwrap()]);
        expected.extend(tagged(&one.stdout, &name(p.to_str().unwrap())));
    }
    let pattern = dir.path().join("*.pcap").display().to_string();
    let by_pattern = wsscope(&["conns", "--format", "jsonl", &pattern]);
    assert!(by_pattern.status.success());
    assert!(
        by_pattern.stdout == expected,
        "a quoted pattern names the captures in name order"
    );
    let by_dir = wsscope(&["conns", "--format", "jsonl", dir.path().to_str().unwrap()]);
    assert!(by_dir.stdout == expected, "a directory names the captures in it");
    let nothing = wsscope(&["conns", &dir.path().join("*.pcapng").display().to_string()]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no capture file matches"));
}

#[test]
fn refusals_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::create_dir(dir.path().join("b")).unwrap();
    let (x, y) = (dir.path().join("a/x.pcap"), dir.path().join("b/x.pcap"));
    std::fs::copy(fixture("ipv6.pcap"), &x).unwrap();
    std::fs::copy(fixture("chromium.pcap"), &y).unwrap();
    let (x, y) = (x.display().to_string(), y.display().to_string());
    let cases: [(&[&str], &str); 4] = [
        (&["dump", &x, &y], "both named \"x.pcap\""),
        (
            &[&fixture("ipv6.pcap"), &fixture("chromium.pcap")],
            "the timeline opens one capture",
        ),
        (
            &[
                "export",
                "--format",
                "pcap",
                "-o",
                "/dev/null",
                &fixture("ipv6.pcap"),
                &fixture("chromium.pcap"),
            ],
            "export each capture on its own",
        ),
        (&["dump", "--format", "parquet", &fixture("ipv6.pcap")], "-o DIR"),
    ];
    for (args, says) in cases {
        let out = wsscope(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        // Without the feature, --format parquet says how to get it instead.
        assert!(
            err.contains(says) || err.contains("--features parquet"),
            "{args:?}: {err}"
        );
    }
}
