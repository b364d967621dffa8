//! Packet numbers in the outputs (`packet`, `first_packet`, `last_packet`,
//! `frame_offset` in JSON Lines; `(packet N)` in the text dump), read from
//! what `wsscope dump` prints on every fixture.
//!
//! Frames' and messages' numbers are compared with tshark's `frame.number`
//! in `stamps_tshark.rs` (through the same JSON writer). Here:
//! - every record that comes from a packet carries one, and the text line
//!   says the same numbers as the JSON record;
//! - a violation about a frame names that frame: a frame record of the same
//!   connection and direction at `frame_offset`, completed by the violation's
//!   `packet`; a message's rule names the message's first frame;
//! - a gap that cut into a frame names it, and that frame is truncated;
//! - with tshark: each connection's `packet` is the first packet of its
//!   `tcp.stream`, and its `close` record's `first_packet`/`last_packet` the
//!   first and last.

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

fn dump(path: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", format, "--allow-truncated"])
        .arg(path)
        .env("TZ", "UTC")
        .env_remove("SSLKEYLOGFILE")
        .output()
        .expect("run wsscope");
    assert!(out.status.success(), "{}: {:?}", path.display(), out);
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn records(path: &Path) -> Vec<Value> {
    dump(path, "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON record"))
        .collect()
}

fn n(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// What the text line of a record should end with.
fn text_suffix(v: &Value) -> Option<String> {
    let (first, last) = match s(v, "type") {
        "frame" => (n(v, "first_packet")?, n(v, "packet")?),
        "message" => (n(v, "first_packet")?, n(v, "last_packet")?),
        "handshake" => (n(v, "packet")?, n(v, "response_packet").or(n(v, "packet"))?),
        "close" => (n(v, "first_packet")?, n(v, "last_packet")?),
        "connection" | "tls" => (n(v, "packet")?, n(v, "packet")?),
        "gap" | "violation" => {
            let p = n(v, "packet");
            let f = n(v, "frame_offset");
            return match (p, f) {
                (Some(p), Some(f)) => Some(format!(" (packet {p}, frame at offset {f})")),
                (Some(p), None) => Some(format!(" (packet {p})")),
                (None, Some(f)) => Some(format!(" (frame at offset {f})")),
                (None, None) => None,
            };
        }
        _ => return None,
    };
    Some(if first == last {
        format!(" (packet {first})")
    } else {
        format!(" (packets {first}-{last})")
    })
}

#[test]
fn every_packet_record_carries_its_numbers_in_json_and_text() {
    let mut checked = 0usize;
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for path in common::fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let recs = records(&path);
        let text = dump(&path, "text");
        for v in &recs {
            let t = s(v, "type").to_string();
            match t.as_str() {
                "frame" => {
                    let (first, last) = (n(v, "first_packet"), n(v, "packet"));
                    assert!(
                        matches!((first, last), (Some(a), Some(b)) if a >= 1 && a <= b),
                        "{name}: frame without packets: {v}"
                    );
                }
                "connection" | "tls" => {
                    assert!(n(v, "packet").is_some_and(|p| p >= 1), "{name}: {v}");
                }
                "close" => {
                    let (a, b) = (n(v, "first_packet"), n(v, "last_packet"));
                    assert!(
                        matches!((a, b), (Some(a), Some(b)) if a >= 1 && a <= b),
                        "{name}: {v}"
                    );
                    assert_eq!(n(v, "packet"), b, "{name}: close `packet` is its last: {v}");
                }
                "message" => {
                    let (a, b) = (n(v, "first_packet"), n(v, "last_packet"));
                    assert_eq!(n(v, "packet"), b, "{name}: {v}");
                    // A message none of whose bytes were captured has none.
                    if a.is_none() {
                        assert!(v["truncated"].as_bool().unwrap_or(false), "{name}: {v}");
                    }
                    assert!(n(v, "first_frame_offset").is_some(), "{name}: {v}");
                }
                "handshake" => {
                    assert!(n(v, "packet").is_some_and(|p| p >= 1), "{name}: {v}");
                    assert_eq!(
                        n(v, "response_packet").is_some(),
                        v["status"].is_u64(),
                        "{name}: a response packet exactly when a response: {v}"
                    );
                }
                _ => {}
            }
            *by_type.entry(t).or_default() += 1;
        }
        // Text lines, in the same order, end with the same numbers (a
        // message of one plain whole frame gets no line of its own).
        let mut lines = text.lines();
        for v in &recs {
            let plain = n(v, "frames") == Some(1)
                && v["compressed"] == false
                && v["truncated"] == false
                && v["inflate_error"].is_null();
            if s(v, "type") == "message" && plain {
                continue;
            }
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("{name}: no text line left for {v}"));
            let want = match s(v, "type") {
                "diagnostic" => n(v, "packet").map(|p| format!(" (packet {p})")),
                _ => text_suffix(v),
            };
            let Some(want) = want else { continue };
            assert!(
                line.ends_with(&want),
                "{name}: text line {line:?} does not say {want:?} ({v})"
            );
            checked += 1;
        }
    }
    println!("{by_type:?}; {checked} text lines checked");
    assert!(by_type.get("frame").copied().unwrap_or(0) > 500, "{by_type:?}");
    assert!(by_type.get("violation").copied().unwrap_or(0) > 5, "{by_type:?}");
    assert!(checked > 500);
}

#[test]
fn violations_and_gaps_name_their_frame() {
    let mut frame_rules = 0usize;
    let mut message_rules = 0usize;
    let mut gaps_in_frames = 0usize;
    let mut paths = common::fixtures();
    paths.extend(common::captures_in(&common::root().join("fixtures/hostile")));
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let recs = records(&path);
        // (conn, dir, offset) → the frame record
        let frames: HashMap<(u64, String, u64), &Value> = recs
            .iter()
            .filter(|v| s(v, "type") == "frame")
            .map(|v| {
                (
                    (
                        n(v, "conn").unwrap(),
                        s(v, "dir").to_string(),
                        n(v, "offset").unwrap(),
                    ),
                    v,
                )
            })
            .collect();
        let messages: HashMap<(u64, String, u64), &Value> = recs
            .iter()
            .filter(|v| s(v, "type") == "message")
            .map(|v| {
                let k = (
                    n(v, "conn").unwrap(),
                    s(v, "dir").to_string(),
                    n(v, "first_frame_offset").unwrap(),
                );
                (k, v)
            })
            .collect();
        for v in &recs {
            let ty = s(v, "type");
            if ty != "violation" && ty != "gap" {
                continue;
            }
            let Some(off) = n(v, "frame_offset") else { continue };
            let key = (n(v, "conn").unwrap(), s(v, "dir").to_string(), off);
            let frame = frames
                .get(&key)
                .unwrap_or_else(|| panic!("{name}: {ty} names a frame at {off} that has no record: {v}"));
            if ty == "gap" {
                assert!(
                    frame["truncated"].as_bool().unwrap(),
                    "{name}: gap in a whole frame? {v} {frame}"
                );
                assert!(
                    n(v, "offset").unwrap() >= off,
                    "{name}: the gap starts before its frame: {v}"
                );
                gaps_in_frames += 1;
            } else if s(v, "rule") == "invalid-utf8-text" {
                let m = messages.get(&key).unwrap_or_else(|| {
                    panic!("{name}: invalid-utf8-text names no message's first frame: {v}")
                });
                assert_eq!(n(m, "last_packet"), n(v, "packet"), "{name}: {v} {m}");
                message_rules += 1;
            } else {
                assert_eq!(
                    n(frame, "packet"),
                    n(v, "packet"),
                    "{name}: the violation is seen in the packet that completed its frame: {v} {frame}"
                );
                frame_rules += 1;
            }
        }
        // Handshake rules concern no frame.
        for v in recs.iter().filter(|v| s(v, "type") == "violation") {
            let r = s(v, "rule");
            if r.contains("key") || r.starts_with("accept") || r.contains("header") {
                assert!(v["frame_offset"].is_null(), "{name}: {v}");
                assert!(n(v, "packet").is_some(), "{name}: {v}");
            }
        }
    }
    println!("{frame_rules} frame rules, {message_rules} message rules, {gaps_in_frames} gaps inside frames");
    assert!(frame_rules > 5 && gaps_in_frames > 0, "too little compared");
}

/// `tshark -T fields -e frame.number -e tcp.stream`: each stream's first and
/// last packet.
fn tshark_streams(path: &Path) -> BTreeMap<u64, (u64, u64)> {
    let out = common::tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.stream",
    ]);
    let mut m: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for l in out.lines() {
        let mut it = l.split('\t');
        let (Some(p), Some(st)) = (it.next(), it.next()) else {
            continue;
        };
        let (Ok(p), Ok(st)) = (p.parse::<u64>(), st.parse::<u64>()) else {
            continue;
        };
        let e = m.entry(st).or_insert((p, p));
        e.0 = e.0.min(p);
        e.1 = e.1.max(p);
    }
    m
}

#[test]
#[ignore = "needs tshark (installed by .ci/run)"]
fn connection_packets_agree_with_tshark_streams() {
    common::require_tshark();
    let mut compared = 0usize;
    let mut problems = Vec::new();
    for path in common::fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let streams = tshark_streams(&path);
        for v in records(&path) {
            let (conn, ty) = (n(&v, "conn"), s(&v, "type"));
            let Some(conn) = conn else { continue };
            let Some(&(first, last)) = streams.get(&conn) else {
                problems.push(format!("{name}: conn {conn} is no tcp.stream of tshark's"));
                continue;
            };
            let ours = match ty {
                "connection" => (n(&v, "packet"), Some(first)),
                "close" => {
                    if n(&v, "first_packet") != Some(first) {
                        problems.push(format!("{name} conn {conn}: first_packet {v}, tshark {first}"));
                    }
                    (n(&v, "last_packet"), Some(last))
                }
                _ => continue,
            };
            if ours.0 != ours.1 {
                problems.push(format!(
                    "{name} conn {conn} {ty}: {:?}, tshark {:?}",
                    ours.0, ours.1
                ));
            }
            compared += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(compared > 40, "only {compared} compared");
}
