//! WebSocket over HTTP/2 (RFC 8441) on captures of real peers
//! (`fixtures/h2/`, recorded by `fixtures/h2/record.sh`): Python `h2` +
//! `wsproto`, hypercorn, Node's `http2`, and headless Chromium over TLS.
//! Every message and control frame equals what the sending peer logged,
//! per stream and direction; handshakes are the CONNECTs the peers sent;
//! the ordinary GET beside them is not a WebSocket; no RFC 8441 rule fires
//! on these real conversations. tshark is no second opinion here: it
//! shows the CONNECTs but decodes no WebSocket inside HTTP/2.

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `dump`'s exit code when the selection matched nothing (README, exit codes).
const NOTHING_MATCHED: i32 = 1;

fn fixture(name: &str) -> PathBuf {
    common::root().join("fixtures/h2").join(name)
}

fn run(name: &str) -> Vec<Value> {
    let cap = fixture(&format!("{name}.pcap"));
    let keys = fixture(&format!("{name}.keys"));
    let keys = keys.to_string_lossy().into_owned();
    let mut args = vec!["dump", "--format", "jsonl"];
    if std::path::Path::new(&keys).is_file() {
        args.extend(["--keylog", &keys]);
    }
    common::wsscope_jsonl(&args, &cap)
}

fn sidecar(name: &str) -> Vec<Value> {
    std::fs::read_to_string(fixture(&format!("{name}.sent.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One WebSocket item as both sides describe it.
#[derive(Debug, PartialEq)]
struct Item {
    opcode: String,
    len: u64,
    sha256: String,
    /// `None` where the line was logged by the receiver (a browser cannot
    /// log what it sends: its server logged what arrived, inflated).
    compressed: Option<bool>,
}

type PerStream = BTreeMap<(u64, String), Vec<Item>>;

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn payload(v: &Value, text: &str, hex_key: &str) -> Vec<u8> {
    match (
        v.get(text).and_then(Value::as_str),
        v.get(hex_key).and_then(Value::as_str),
    ) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, Some(h)) => hex::decode(h).unwrap(),
        _ => Vec::new(),
    }
}

/// Our data messages and control frames, per (stream, dir), in order.
fn ours(events: &[Value]) -> (PerStream, PerStream) {
    let (mut data, mut control) = (PerStream::new(), PerStream::new());
    for e in events {
        let Some(stream) = e["stream"].as_u64() else {
            continue;
        };
        let key = (stream, e["dir"].as_str().unwrap_or_default().to_string());
        match e["type"].as_str() {
            Some("message") => {
                let bytes = payload(e, "text", "data_hex");
                data.entry(key).or_default().push(Item {
                    opcode: e["opcode_name"].as_str().unwrap().into(),
                    len: e["len"].as_u64().unwrap(),
                    sha256: sha(&bytes),
                    compressed: e["compressed"].as_bool(),
                });
            }
            Some("frame") if e["opcode"].as_u64().unwrap() >= 8 => {
                let bytes = hex::decode(e["payload_hex"].as_str().unwrap_or_default()).unwrap();
                control.entry(key).or_default().push(Item {
                    opcode: e["opcode_name"].as_str().unwrap().into(),
                    len: e["len"].as_u64().unwrap(),
                    sha256: sha(&bytes),
                    compressed: Some(false),
                });
            }
            _ => {}
        }
    }
    (data, control)
}

/// What the peers logged, the same way.
fn logged(lines: &[Value]) -> (PerStream, PerStream) {
    let (mut data, mut control) = (PerStream::new(), PerStream::new());
    for l in lines.iter().filter(|l| l.get("http2").is_none()) {
        let key = (
            l["stream"].as_u64().unwrap(),
            l["dir"].as_str().unwrap().to_string(),
        );
        let opcode = l["opcode"].as_str().unwrap().to_string();
        let item = Item {
            len: l["len"].as_u64().unwrap(),
            sha256: l["sha256"].as_str().unwrap().into(),
            compressed: match l["logged_by"].as_str() {
                Some("receiver") => None,
                _ => Some(l["compressed"].as_bool().unwrap_or(false)),
            },
            opcode: opcode.clone(),
        };
        match opcode.as_str() {
            "text" | "binary" => data.entry(key).or_default().push(item),
            // Control frames are never compressed (RFC 7692 §6.1).
            _ => control.entry(key).or_default().push(Item {
                compressed: Some(false),
                ..item
            }),
        }
    }
    (data, control)
}

fn check(name: &str) {
    let events = run(name);
    let lines = sidecar(name);
    let (mut data, control) = ours(&events);
    let (want_data, want_control) = logged(&lines);
    // What the receiver could not know is not compared.
    for (k, want) in &want_data {
        for (got, w) in data.get_mut(k).into_iter().flatten().zip(want) {
            if w.compressed.is_none() {
                got.compressed = None;
            }
        }
    }
    assert!(!want_data.is_empty(), "{name}: an empty sidecar proves nothing");
    assert_eq!(data, want_data, "{name}: data messages per stream and direction");
    assert_eq!(
        control, want_control,
        "{name}: control frames per stream and direction"
    );

    // Handshakes: one per CONNECT the peers made, with what they agreed.
    let connects: Vec<&Value> = lines.iter().filter(|l| l["http2"] == "connect").collect();
    let handshakes: BTreeMap<u64, &Value> = events
        .iter()
        .filter(|e| e["type"] == "handshake")
        .map(|e| (e["stream"].as_u64().expect("an h2 handshake names its stream"), e))
        .collect();
    assert_eq!(
        handshakes.len(),
        connects.len(),
        "{name}: one handshake per CONNECT"
    );
    for c in &connects {
        let h = handshakes[&c["stream"].as_u64().unwrap()];
        assert_eq!(h["method"], "CONNECT", "{name}");
        assert_eq!(h["path"], c["path"], "{name}");
        assert_eq!(h["status"], c["status"], "{name}");
        assert_eq!(h["http_version"], "2", "{name}");
        assert_eq!(h["protocol"], "websocket", "{name}");
        assert_eq!(h["accept_ok"], Value::Null, "{name}: RFC 8441 has no accept key");
        assert_eq!(h["server_subprotocol"], c["subprotocol"], "{name}");
        let ext = h["server_extensions"].as_str().unwrap_or_default();
        match c["extensions"].as_str() {
            Some(e) => assert!(ext.starts_with(e), "{name}: {ext:?} vs {e:?}"),
            None => assert!(h["server_extensions"].is_null(), "{name}"),
        }
        assert_eq!(!h["deflate"].is_null(), c["extensions"].is_string(), "{name}");
    }
    // The ordinary requests beside them are not WebSockets: one `http2`
    // record each, with the method, path and status the peers logged.
    for r in lines.iter().filter(|l| l["http2"] == "request") {
        let s = r["stream"].as_u64().unwrap();
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["stream"].as_u64() == Some(s))
            .collect();
        assert!(
            mine.len() == 1 && mine[0]["type"] == "http2",
            "{name}: the {} {} on stream {s} reported as {mine:?}",
            r["method"],
            r["path"]
        );
        let answer = lines
            .iter()
            .find(|l| l["http2"] == "response" && l["stream"].as_u64() == Some(s))
            .unwrap_or_else(|| panic!("{name}: no logged answer for stream {s}"));
        assert_eq!(
            (&mine[0]["method"], &mine[0]["path"], &mine[0]["status"]),
            (&r["method"], &r["path"], &answer["status"]),
            "{name}"
        );
    }
    // Frame fields: clients mask, servers do not; RSV1 only on compressed
    // messages' first frames.
    for f in events
        .iter()
        .filter(|e| e["type"] == "frame" && e["stream"].is_u64())
    {
        assert_eq!(f["masked"].as_bool(), Some(f["dir"] == "c2s"), "{name}: {f}");
        assert!(f["rsv"] == 0 || f["rsv"] == 4, "{name}: {f}");
    }
    // Real peers break no RFC 8441 rule; nothing undecodable.
    let bad: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["type"] == "violation"
                || (e["type"] == "diagnostic" && e["code"].as_str().is_some_and(|c| c.starts_with("h2-")))
        })
        .collect();
    assert!(bad.is_empty(), "{name}: {bad:?}");
    // Each WebSocket stream's own close record, counting what it carried.
    for c in connects.iter().filter(|c| c["status"] == 200) {
        let id = c["stream"].as_u64().unwrap();
        let rec: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == "close" && e["stream"].as_u64() == Some(id))
            .collect();
        assert_eq!(rec.len(), 1, "{name}: stream {id}'s close record");
        let count = |t: &str, d: &str| {
            events
                .iter()
                .filter(|e| e["type"] == t && e["stream"].as_u64() == Some(id) && e["dir"] == d)
                .count() as u64
        };
        for d in ["c2s", "s2c"] {
            assert_eq!(
                rec[0][d]["frames"].as_u64(),
                Some(count("frame", d)),
                "{name}: stream {id} {d}"
            );
            assert_eq!(
                rec[0][d]["messages"].as_u64(),
                Some(count("message", d)),
                "{name}: stream {id} {d}"
            );
        }
        assert_eq!(rec[0]["protocol"], "websocket", "{name}");
        assert_eq!(rec[0]["handshake_seen"], true, "{name}");
    }
    // The connection's close record: HTTP/2 with its WebSocket streams.
    let ok = connects.iter().filter(|c| c["status"] == 200).count() as u64;
    let close = events
        .iter()
        .find(|e| {
            e["type"] == "close"
                && e["stream"].is_null()
                && e["websocket_streams"].as_u64().is_some_and(|n| n > 0)
        })
        .unwrap_or_else(|| panic!("{name}: no HTTP/2 close record"));
    assert_eq!(close["websocket_streams"].as_u64(), Some(ok), "{name}");
    assert_eq!(close["protocol"], "h2-websocket", "{name}");
}

#[test]
fn python_h2_and_wsproto() {
    check("h2c_python");
}

#[test]
fn hypercorn() {
    check("h2c_hypercorn");
}

#[test]
fn node_http2() {
    check("h2c_node");
}

#[test]
fn chromium_over_tls_with_its_key_log() {
    check("h2_chromium_tls");
}

#[test]
fn one_stream_by_conn_slash_stream_and_by_export_flags() {
    let cap = fixture("h2c_python.pcap");
    let all = run("h2c_python");
    for stream in [1u64, 3, 5] {
        let want: Vec<&Value> = all
            .iter()
            .filter(|e| e["stream"].as_u64() == Some(stream))
            .collect();
        assert!(want.len() > 5, "stream {stream}");
        let got = common::wsscope_jsonl(
            &[
                "dump",
                "--format",
                "jsonl",
                "--select",
                &format!("conn:0/{stream}"),
            ],
            &cap,
        );
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "conn:0/{stream}");
    }
    // `conn:0/7` is the plain GET: its `http2` record, nothing WebSocket.
    let got = common::wsscope_jsonl(&["dump", "--format", "jsonl", "--select", "conn:0/7"], &cap);
    let kinds: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["http2"]);
    assert_eq!(
        (&got[0]["method"], &got[0]["path"], &got[0]["status"]),
        (&Value::from("GET"), &Value::from("/plain"), &Value::from(200))
    );
    // A stream that does not exist selects nothing (and the exit code says so).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", "jsonl", "--select", "conn:0/9"])
        .arg(&cap)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.status.code(),
        Some(NOTHING_MATCHED),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // export --conn --stream: the messages of that stream only.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", "--conn", "0", "--stream", "1", "--format", "jsonl"])
        .arg(&cap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Its messages, with the connection's records and that stream's handshake.
    let msgs: Vec<&Value> = all
        .iter()
        .filter(|e| e["type"] == "message" && e["stream"] == 1)
        .collect();
    let got: Vec<&Value> = lines.iter().filter(|l| l["type"] == "message").collect();
    assert_eq!(got, msgs);
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .filter(|t| *t != "message")
        .collect();
    // The stream's own close record, then the connection's.
    assert_eq!(kinds, ["connection", "handshake", "close", "close"]);
    let closes: Vec<&Value> = lines.iter().filter(|l| l["type"] == "close").collect();
    assert_eq!(
        (closes[0]["stream"].as_u64(), closes[1]["stream"].is_null()),
        (Some(1), true)
    );
    assert!(
        lines
            .iter()
            .filter(|l| l["type"] == "handshake")
            .all(|l| l["stream"] == 1),
        "{lines:?}"
    );
    // The hexdump names the stream in each payload's header line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", "--select", "conn:0/3"])
        .arg(&cap)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("# conn ")).collect();
    assert_eq!(
        headers.len() as u64,
        all.iter()
            .filter(|e| e["type"] == "message" && e["stream"] == 3)
            .count() as u64
    );
    assert!(
        headers.iter().all(|h| h.starts_with("# conn 0/3 ")),
        "{headers:?}"
    );
    // A pcap export of a stream keeps the whole TCP connection.
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("s1.pcap");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", "--select", "conn:0/1", "--format", "pcap", "-o"])
        .arg(&one)
        .arg(&cap)
        .status()
        .unwrap();
    assert!(st.success());
    let whole = common::wsscope_jsonl(&["dump", "--format", "jsonl"], &one);
    assert_eq!(
        whole.iter().filter(|e| e["type"] == "message").count(),
        all.iter().filter(|e| e["type"] == "message").count(),
        "every stream of the connection is in the pcap"
    );
}
