//! Lean output (issue 13): `dump --payload full|none|N` and `--types`, run
//! through the built binary on the recorded fixtures and held against the
//! full JSON Lines of the same capture.

use serde_json::{Map, Value};
use std::path::PathBuf;
use std::process::{Command, Output};

/// Fixtures with text and binary, fragmented, compressed, impaired traffic
/// and violations.
const FIXTURES: [&str; 6] = [
    "chromium.pcap",
    "deflate_takeover.pcap",
    "fragmented.pcap",
    "impaired.pcap",
    "bad_server.pcap",
    "sizes.pcap",
];

/// The fields `--payload none` leaves out.
const PAYLOAD_FIELDS: [&str; 3] = ["payload_hex", "text", "data_hex"];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn wsscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running wsscope {args:?}: {e}"))
}

/// What `dump EXTRA... FILE` prints (it must exit 0).
fn dump(file: &str, extra: &[&str]) -> String {
    let path = fixture(file);
    let mut args = vec!["dump"];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    let out = wsscope(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `dump --format jsonl FILE EXTRA...`, parsed, each record an object.
fn records(file: &str, extra: &[&str]) -> Vec<Map<String, Value>> {
    let args: Vec<&str> = ["--format", "jsonl"].iter().chain(extra).copied().collect();
    dump(file, &args)
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(m)) => m,
            other => panic!("{file}: not a JSON object: {other:?}: {l}"),
        })
        .collect()
}

fn text_dump(file: &str, extra: &[&str]) -> String {
    without_packets(&dump(file, extra))
}

/// The text lines without the packet numbers they end with (` (packet
/// 18)`, ` (packets 5-7, ...)`): what is compared here is the payload.
fn without_packets(text: &str) -> String {
    let suffix =
        regex::Regex::new(r" \((packets? \d+(-\d+)?(, frame at offset \d+)?|frame at offset \d+)\)$")
            .unwrap();
    text.lines()
        .map(|l| format!("{}\n", suffix.replace(l, "")))
        .collect()
}

#[test]
fn payload_none_is_the_same_records_without_payloads() {
    for file in FIXTURES {
        let full = records(file, &[]);
        let none = records(file, &["--payload", "none"]);
        assert_eq!(full.len(), none.len(), "{file}");
        let mut payloads = 0;
        for (mut f, n) in full.into_iter().zip(none) {
            for k in PAYLOAD_FIELDS {
                payloads += usize::from(f.remove(k).is_some());
                assert!(!n.contains_key(k), "{file}: {k} in {n:?}");
            }
            assert!(!n.contains_key("payload_cut"), "{file}: {n:?}");
            assert_eq!(f, n, "{file}");
        }
        assert!(payloads > 0, "{file}: no payload field to leave out");
    }
}

#[test]
fn payload_n_cuts_and_says_so() {
    for file in FIXTURES {
        let full = records(file, &[]);
        let cut = records(file, &["--payload", "4"]);
        assert_eq!(full.len(), cut.len(), "{file}");
        let (mut cuts, mut whole) = (0, 0);
        for (f, mut c) in full.into_iter().zip(cut) {
            let marked = c.remove("payload_cut");
            let mut f = f;
            let field = PAYLOAD_FIELDS.iter().find(|k| f.contains_key(**k));
            let Some(&k) = field else {
                assert_eq!(marked, None, "{file}: {c:?}");
                assert_eq!(f, c, "{file}");
                continue;
            };
            let (Some(Value::String(fv)), Some(Value::String(cv))) = (f.remove(k), c.remove(k)) else {
                panic!("{file}: {k} is not a string in both: {c:?}");
            };
            // Hex: 2 digits a byte; text: bytes, cut on a character boundary.
            let limit = if k == "text" { 4 } else { 8 };
            if fv.len() > limit {
                assert!(
                    fv.starts_with(&cv) && cv.len() <= limit,
                    "{file}: {k} {cv:?} of {fv:?}"
                );
                assert!(k == "text" || cv.len() == limit, "{file}: {k} {cv:?}");
                assert_eq!(marked, Some(Value::Bool(true)), "{file}: {k} {fv:?}");
                cuts += 1;
            } else {
                assert_eq!(fv, cv, "{file}: short {k} must stay whole");
                assert_eq!(marked, None, "{file}: short {k} {fv:?} marked cut");
                whole += 1;
            }
            assert_eq!(f, c, "{file}");
        }
        assert!(cuts > 0, "{file}: nothing to cut");
        if file == "sizes.pcap" {
            assert!(whole > 0, "{file}: no short payload");
        }
    }
}

#[test]
fn types_keep_exactly_those_records_in_order() {
    for file in FIXTURES {
        let full = records(file, &[]);
        let want: Vec<_> = full
            .iter()
            .filter(|r| matches!(r["type"].as_str(), Some("frame" | "violation")))
            .cloned()
            .collect();
        assert_eq!(records(file, &["--types", "frame,violation"]), want, "{file}");
        // Repeated rather than comma-separated: the same.
        assert_eq!(
            records(file, &["--types", "violation", "--types", "frame"]),
            want,
            "{file}"
        );
        // With a selection: both hold.
        let c2s: Vec<_> = full
            .iter()
            .filter(|r| r["type"] == "message" && r["dir"] == "c2s")
            .cloned()
            .collect();
        assert_eq!(
            records(file, &["--types", "message", "--dir", "c2s"]),
            c2s,
            "{file}"
        );
    }
}

#[test]
fn every_type_name_is_accepted() {
    let path = fixture("chromium.pcap");
    for t in [
        "connection",
        "tls",
        "handshake",
        "frame",
        "message",
        "gap",
        "violation",
        "diagnostic",
        "close",
    ] {
        let out = wsscope(&["dump", "--format", "jsonl", "--types", t, path.to_str().unwrap()]);
        // 1: a type the capture has no record of.
        assert!(matches!(out.status.code(), Some(0 | 1)), "{t}: {out:?}");
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            assert!(line.starts_with(&format!(r#"{{"type":"{t}""#)), "{t}: {line}");
        }
    }
}

#[test]
fn unknown_type_is_a_usage_error_naming_the_valid_ones() {
    let path = fixture("chromium.pcap");
    let out = wsscope(&["dump", "--types", "frame,frames", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("frames"), "{err}");
    for t in [
        "connection",
        "handshake",
        "frame",
        "message",
        "violation",
        "close",
    ] {
        assert!(err.contains(t), "{t} not named: {err}");
    }
    let out = wsscope(&["dump", "--payload", "some", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("full, none"));
}

#[test]
fn types_that_match_nothing_exit_1_and_say_so() {
    let path = fixture("chromium.pcap");
    let out = wsscope(&["dump", "--types", "violation", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no event matched --types violation"), "{err}");
}

/// Frame and message lines (the ones with a payload preview).
fn payload_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| {
        let mut t = l.split_whitespace().skip(2);
        matches!(t.next(), Some("→" | "←")) && !matches!(t.next(), Some("!" | "?" | "gap"))
    })
}

#[test]
fn text_payload_widths() {
    let file = "deflate_takeover.pcap";
    let default = text_dump(file, &[]);
    let lines = default.lines().count();
    // Its inflated messages (109 bytes and more) are longer than 60 characters.
    assert!(default.contains('…'), "{default}");
    let wide = text_dump(file, &["--payload", "200"]);
    let full = text_dump(file, &["--payload", "full"]);
    let none = text_dump(file, &["--payload", "none"]);
    for t in [&wide, &full, &none] {
        assert_eq!(t.lines().count(), lines);
    }
    let longest = |t: &str| t.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest(&wide) > longest(&default), "{wide}");
    assert!(!full.contains('…'), "{full}");
    assert!(longest(&full) >= longest(&wide));
    // Every (compressed, so printed) message's whole text is on its line with `full`.
    let mut seen = 0;
    for m in records(file, &["--types", "message"]) {
        if let (Some(Value::String(text)), Some(true)) = (m.get("text"), m["compressed"].as_bool()) {
            let shown = text.replace('\\', "\\\\");
            assert!(full.contains(&shown), "{shown:?} not in full text");
            seen += 1;
        }
    }
    assert!(seen > 0);
    // No preview: the line ends at its length column, none shows payload.
    // (Notes after a preview, `  rtt ...` and `  [truncated ...]`, stay.)
    for (d, n) in default.lines().zip(none.lines()) {
        let (head, note) = match n.find("  rtt ").or_else(|| n.find("  [")) {
            Some(i) => n.split_at(i),
            None => (n, ""),
        };
        assert!(
            d.starts_with(head) && d.ends_with(note),
            "{n:?} is not {d:?} without its preview"
        );
        assert!(!head.ends_with(' '), "{n:?}");
    }
    for l in payload_lines(&none) {
        assert!(!l.contains('"') && !l.contains('…'), "{l}");
    }
    assert!(payload_lines(&default).any(|l| l.ends_with('…')));
    // Escaping stays: no raw control character reaches the terminal.
    for t in [&wide, &full] {
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "raw control");
    }
}

#[test]
fn text_types_message_prints_every_message() {
    let file = "sizes.pcap";
    let messages = records(file, &["--types", "message"]).len();
    let text = text_dump(file, &["--types", "message"]);
    assert_eq!(text.lines().count(), messages, "{text}");
    assert!(text.lines().all(|l| l.contains(" message ")), "{text}");
}

#[test]
fn export_jsonl_takes_payload_too() {
    let path = fixture("chromium.pcap");
    let run = |extra: &[&str]| {
        let mut args = vec!["export", "--format", "jsonl"];
        args.extend_from_slice(extra);
        args.push(path.to_str().unwrap());
        let out = wsscope(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let full = run(&[]);
    let none = run(&["--payload", "none"]);
    assert_eq!(full.lines().count(), none.lines().count());
    assert!(full.contains("\"text\":") && !none.contains("\"text\":"));
    let out = wsscope(&["export", "--payload", "none", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "--payload without --format jsonl");
}
