//! The handshake facts as Zeek reports them (`client_extensions`,
//! `server_extensions`, `client_subprotocols`, `server_subprotocol`,
//! `rejected`) and the header rules of RFC 6455 §4.1 (`missing-key`,
//! `duplicate-key-header`, `duplicate-protocol-header`,
//! `duplicate-accept-header`, `no-websocket-headers`), plus the
//! `ws-frames-with-upgrade-answer` note.
//!
//! On real captures the fields are checked against the heads as they are
//! in the capture file's bytes (found and parsed here, independently of
//! wsscope); the rules on `fixtures/hostile/handshake_rules.pcap`
//! (`fixtures/hostile/make_handshakes.py`).

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn jsonl(path: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", "jsonl"])
        .arg(path)
        .output()
        .expect("run wsscope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// An HTTP head found in the raw capture bytes: start line and headers.
struct RawHead {
    /// Where the head starts in the file.
    at: usize,
    start: String,
    headers: Vec<(String, String)>,
}

impl RawHead {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Every head in `bytes` that starts with `prefix` and ends with CRLF CRLF
/// within the same packet (the fixtures' heads each fit in one segment).
fn raw_heads(bytes: &[u8], prefix: &[u8]) -> Vec<RawHead> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&bytes[i..], prefix) {
        let s = i + p;
        i = s + 1;
        let Some(e) = find(&bytes[s..], b"\r\n\r\n") else {
            break;
        };
        let Ok(text) = std::str::from_utf8(&bytes[s..s + e]) else {
            continue;
        };
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        out.push(RawHead {
            at: s,
            start,
            headers,
        });
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn joined_or_null(v: Vec<&str>) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::String(v.join(", "))
    }
}

/// Checks every handshake record of `path` against the heads in its bytes;
/// returns the handshakes checked.
fn check_against_raw(path: &Path) -> Vec<Value> {
    check_heads(path, true)
}

/// As [`check_against_raw`]; unless `strict`, a handshake whose heads are
/// not found whole in one packet (a 101 split over segments) is skipped.
fn check_heads(path: &Path, strict: bool) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    let requests: Vec<_> = raw_heads(&bytes, b"GET ")
        .into_iter()
        .filter(|h| {
            h.all("upgrade")
                .iter()
                .any(|v| v.to_ascii_lowercase().contains("websocket"))
        })
        .collect();
    let responses = raw_heads(&bytes, b"HTTP/1.1 ");
    let ev = jsonl(path);
    let hs: Vec<Value> = ev.iter().filter(|e| e["type"] == "handshake").cloned().collect();
    assert!(!hs.is_empty(), "{}", path.display());
    for h in &hs {
        // By its key; a request without one by its path, in order.
        let req = match h["key"].as_str() {
            Some(key) => requests
                .iter()
                .find(|r| r.all("sec-websocket-key").first() == Some(&key)),
            None => requests
                .iter()
                .filter(|r| r.all("sec-websocket-key").is_empty())
                .nth(
                    hs.iter()
                        .take_while(|o| !std::ptr::eq(*o, h))
                        .filter(|o| o["key"].is_null())
                        .count(),
                ),
        };
        let Some(req) = req else {
            assert!(!strict, "{}: request of {h} in the bytes", path.display());
            continue;
        };
        assert_eq!(
            h["client_extensions"],
            joined_or_null(req.all("sec-websocket-extensions"))
        );
        let offered: Vec<String> = req
            .all("sec-websocket-protocol")
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(h["client_subprotocols"], serde_json::json!(offered));
        let status = h["status"].as_u64().expect("answered");
        // The first answer with its status after the request (the
        // fixtures hold one connection at a time, or are told apart by
        // the accept).
        let by_accept = h["accept"].as_str().and_then(|a| {
            responses
                .iter()
                .find(|r| r.all("sec-websocket-accept").first() == Some(&a))
        });
        let by_status = || {
            responses
                .iter()
                .find(|r| r.at > req.at && r.start.starts_with(&format!("HTTP/1.1 {status} ")))
        };
        let Some(resp) = by_accept.or_else(by_status) else {
            assert!(!strict, "{}: the {status} answer in the bytes", path.display());
            continue;
        };
        assert_eq!(
            h["server_extensions"],
            joined_or_null(resp.all("sec-websocket-extensions"))
        );
        assert_eq!(
            h["server_subprotocol"],
            joined_or_null(resp.all("sec-websocket-protocol"))
        );
        assert_eq!(
            h["rejected"],
            Value::Bool(!resp.start.starts_with("HTTP/1.1 101 "))
        );
        // The contract fields are unchanged: `extensions` is the server's
        // when it answered with one, else the client's offer.
        let ext = if h["server_extensions"].is_null() {
            &h["client_extensions"]
        } else {
            &h["server_extensions"]
        };
        assert_eq!(&h["extensions"], ext);
    }
    hs
}

fn fixture(name: &str) -> PathBuf {
    common::root().join("fixtures").join(name)
}

#[test]
fn real_fixtures_match_their_heads() {
    let py = check_against_raw(&fixture("py_basic.pcap"));
    assert_eq!(py[0]["rejected"], false);
    assert_eq!(py[0]["client_extensions"], Value::Null);
    assert_eq!(py[0]["client_subprotocols"], serde_json::json!([]));

    let chromium = check_against_raw(&fixture("chromium.pcap"));
    let ws = chromium.iter().find(|h| h["status"] == 101).unwrap();
    assert_eq!(
        ws["client_extensions"],
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(ws["server_extensions"], "permessage-deflate");

    let nct = check_against_raw(&fixture("deflate_no_takeover.pcap"));
    assert!(
        nct[0]["server_extensions"]
            .as_str()
            .unwrap()
            .contains("client_no_context_takeover")
    );
    assert!(
        nct[0]["client_extensions"]
            .as_str()
            .unwrap()
            .contains("client_max_window_bits")
    );

    let node = check_against_raw(&fixture("node_deflate.pcap"));
    assert_eq!(node[0]["server_extensions"], "permessage-deflate");

    let rejected = check_against_raw(&fixture("rejected_403.pcap"));
    assert_eq!(rejected[0]["status"], 403);
    assert_eq!(rejected[0]["rejected"], true);
}

fn rules_of(ev: &[Value], conn: u64) -> Vec<(String, String)> {
    ev.iter()
        .filter(|e| e["type"] == "violation" && e["conn"] == conn)
        .map(|v| {
            (
                v["dir"].as_str().unwrap().into(),
                v["rule"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn pair(dir: &str, rule: &str) -> (String, String) {
    (dir.into(), rule.into())
}

#[test]
fn crafted_handshakes_break_one_rule_each() {
    let path = common::root().join("fixtures/hostile/handshake_rules.pcap");
    let hs = check_against_raw(&path);
    assert_eq!(hs.len(), 6);
    let ev = jsonl(&path);
    assert_eq!(rules_of(&ev, 0), [pair("c2s", "missing-key")]);
    assert_eq!(hs[0]["rejected"], true);
    assert_eq!(rules_of(&ev, 1), [pair("c2s", "duplicate-key-header")]);
    assert_eq!(hs[1]["accept_ok"], true, "the first key is the one answered");
    // Two request lines are legal; two response lines are not.
    assert_eq!(rules_of(&ev, 2), [pair("s2c", "duplicate-protocol-header")]);
    assert_eq!(
        hs[2]["client_subprotocols"],
        serde_json::json!(["chat", "superchat", "v2.chat"])
    );
    assert_eq!(hs[2]["server_subprotocol"], "chat, superchat");
    assert_eq!(rules_of(&ev, 3), [pair("s2c", "duplicate-accept-header")]);
    // No Sec-WebSocket-* at all: that rule alone (not also missing-key).
    assert_eq!(rules_of(&ev, 4), [pair("c2s", "no-websocket-headers")]);
    assert_eq!(hs[4]["rejected"], true);
    assert!(rules_of(&ev, 5).is_empty());
    assert_eq!(
        hs[5]["client_extensions"],
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(
        hs[5]["server_extensions"],
        "permessage-deflate; server_no_context_takeover"
    );
    // The violations count in the connections' summaries.
    for (conn, n) in [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 0)] {
        let close = ev
            .iter()
            .find(|e| e["type"] == "close" && e["conn"] == conn)
            .unwrap();
        assert_eq!(close["violations"], n, "conn {conn}");
    }
}

#[test]
fn frames_in_the_101_segment_are_noted_not_violations() {
    let path = common::root().join("fixtures/hostile/handshake_rules.pcap");
    let ev = jsonl(&path);
    let notes: Vec<_> = ev
        .iter()
        .filter(|e| e["type"] == "diagnostic" && e["code"] == "ws-frames-with-upgrade-answer")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        (notes[0]["conn"].as_u64(), notes[0]["dir"].as_str()),
        (Some(5), Some("s2c"))
    );
    // The frame is still decoded, first among the server's.
    let first = ev
        .iter()
        .find(|e| e["type"] == "frame" && e["conn"] == 5 && e["dir"] == "s2c")
        .unwrap();
    assert_eq!(first["payload_hex"], "77656c636f6d65");
    // Fixtures whose server waits for nothing before its first frame but
    // sends it in a later segment get no note.
    for name in ["py_basic.pcap", "rejected_403.pcap"] {
        assert!(
            !jsonl(&fixture(name))
                .iter()
                .any(|e| e["code"] == "ws-frames-with-upgrade-answer"),
            "{name}"
        );
    }
}

/// Zeek's own WebSocket traces, where the shared corpus has them.
#[test]
#[ignore = "needs ../shared/corpus"]
fn zeek_traces_match_their_heads() {
    let corpus = common::root().join("../shared/corpus");
    let prov = std::fs::read_to_string(corpus.join("PROVENANCE.tsv")).expect("PROVENANCE.tsv");
    let mut checked = 0;
    for line in prov.lines() {
        let Some(name) = line.split('\t').next() else {
            continue;
        };
        let lower = line.to_ascii_lowercase();
        if !(lower.contains("zeek") && lower.contains("websocket")) {
            continue;
        }
        let path = corpus.join(name);
        if !path.is_file() {
            continue;
        }
        let ev = jsonl(&path);
        if !ev
            .iter()
            .any(|e| e["type"] == "handshake" && e["key"].is_string() && e["status"].is_u64())
        {
            continue;
        }
        checked += check_heads(&path, false).len();
        let noted = ev.iter().any(|e| e["code"] == "ws-frames-with-upgrade-answer");
        // The pair Zeek recorded for exactly this: the same session with
        // the ping in the 101's segment, and in a segment of its own.
        if name.ends_with("reply-ping-coalesced.pcap") {
            assert!(noted, "{name}");
        }
        if name.ends_with("reply-ping-separate.pcap") {
            assert!(!noted, "{name}");
        }
    }
    assert!(
        checked > 0,
        "no Zeek WebSocket trace with a handshake in PROVENANCE.tsv"
    );
}

/// A head over the 64 KiB cap whose key is past it: the key is unseen, not
/// missing — no header rule fires (the accept stays unverified).
#[test]
fn a_key_past_the_head_cap_is_not_missing() {
    let ev = jsonl(&common::root().join("fixtures/hostile/head_cap.pcap"));
    let v: Vec<_> = ev.iter().filter(|e| e["type"] == "violation").collect();
    assert!(v.is_empty(), "{v:?}");
    let h = ev.iter().find(|e| e["type"] == "handshake").unwrap();
    assert_eq!((h["key"].is_null(), h["rejected"].as_bool()), (true, Some(false)));
}
