//! The binary end to end: inputs, errors that say what to do, exit codes,
//! and that wire bytes never reach the terminal raw.

mod common;

use etherparse::PacketBuilder;
use std::io::Write;
use std::process::{Command, Stdio};
use wsscope::event::Timestamp;
use wsscope::source::LinkType;
use wsscope::source::pcap_writer::PcapWriter;

fn wsscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn reads_standard_input_like_a_file() {
    let path = common::root().join("fixtures/py_basic.pcap");
    let from_file = wsscope(&["conns", "--format", "jsonl", path.to_str().unwrap()]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["conns", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&path).unwrap())
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert!(from_stdin.status.success());
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let v: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(v["protocol"], "websocket");
    assert_eq!(v["c2s"]["frames"], 10);
}

#[test]
fn errors_name_the_problem_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a capture at all").unwrap();
    let out = wsscope(&["dump", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not a capture file"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let out = wsscope(&["conns", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/x.pcap"));

    let out = wsscope(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no capture given"));
}

#[cfg(not(feature = "live"))]
#[test]
fn live_capture_without_the_feature_says_how_to_rebuild() {
    let out = wsscope(&["dump", "-i", "lo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--features live") && err.contains("libpcap-dev"),
        "{err}"
    );
}

/// A text frame whose payload carries terminal escape sequences (colour,
/// OSC 52 clipboard write, BEL, backspace, a bidi override).
fn hostile_capture() -> tempfile::NamedTempFile {
    let payload = "evil\x1b[31mred\x1b]52;c;aGk=\x07\x08\u{202e}txt".as_bytes();
    let mut frame = vec![0x81, payload.len() as u8];
    frame.extend_from_slice(payload);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut w = PcapWriter::new(file.as_file_mut(), LinkType::ETHERNET, 65535).unwrap();
    let mut seq_c = 1000u32;
    let mut seq_s = 5000u32;
    let mut push = |c2s: bool, flags: &str, data: &[u8], w: &mut PcapWriter<&mut std::fs::File>| {
        let (src, dst, sp, dp) = if c2s {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 8080)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 8080, 40000)
        };
        let seq = if c2s { &mut seq_c } else { &mut seq_s };
        let mut t = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, *seq, 65535);
        if flags == "S" {
            t = t.syn();
        } else if flags == "SA" {
            t = t.syn().ack(1001);
        } else {
            t = t.ack(0);
        }
        let mut v = Vec::new();
        t.write(&mut v, data).unwrap();
        *seq = seq.wrapping_add(data.len() as u32 + u32::from(flags.starts_with('S')));
        w.write_raw(Timestamp::new(1_700_000_000, 0), &v, v.len() as u32)
            .unwrap();
    };
    push(true, "S", b"", &mut w);
    push(false, "SA", b"", &mut w);
    push(false, "", &frame, &mut w);
    w.flush().unwrap();
    file
}

#[test]
fn escape_sequences_from_the_wire_never_reach_the_terminal() {
    let file = hostile_capture();
    let out = wsscope(&["dump", "--ws-port", "8080", file.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("evil"), "the frame is shown:\n{text}");
    for bad in ['\x1b', '\x07', '\x08', '\u{202e}'] {
        assert!(!text.contains(bad), "raw {bad:?} in the text timeline:\n{text:?}");
    }
    assert!(text.contains("\\x1b[31mred"), "escapes are shown inert:\n{text}");
    // JSON Lines: valid JSON with the same string, but nothing raw in the bytes.
    let out = wsscope(&[
        "dump",
        "--format",
        "jsonl",
        "--ws-port",
        "8080",
        file.path().to_str().unwrap(),
    ]);
    let jsonl = String::from_utf8(out.stdout).unwrap();
    for bad in ['\x1b', '\x07', '\x08', '\u{202e}'] {
        assert!(!jsonl.contains(bad), "raw {bad:?} in JSON Lines");
    }
    let msg: serde_json::Value = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "message")
        .unwrap();
    assert_eq!(msg["text"], "evil\x1b[31mred\x1b]52;c;aGk=\x07\x08\u{202e}txt");
    // Hexdump export shows dots.
    let out = wsscope(&[
        "export",
        "--ws-port",
        "8080",
        "--frames",
        file.path().to_str().unwrap(),
    ]);
    let dump = String::from_utf8(out.stdout).unwrap();
    assert!(
        !dump.contains('\x1b') && dump.contains("|evil.[31mred.]52|"),
        "{dump}"
    );
}
