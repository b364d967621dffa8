//! WebSocket frames inside TLS against tshark, on every wss fixture
//! (`fixtures/wss/`): tshark decrypts with the fixture's key log
//! (`-o tls.keylog_file:X.keys`; wss_dsb.pcapng with the keys inside it, no
//! option) and dissects the WebSocket inside; wsscope decrypts with the same
//! key log (the Decryption Secrets Block for wss_dsb). Frames are paired per
//! connection (tshark's `tcp.stream` = our `conn`), direction and order, and
//! must be equal field by field: FIN, RSV, opcode, MASK, masking key, payload
//! length and the unmasked payload bytes as on the wire (before inflation).
//! On these captures the lists are equal in length too: every frame the
//! peers sent is decrypted by both (the counts are fixtures/README.md's
//! "tshark WS" column), so a frame either side misses or invents fails.
//!
//! tshark settings and known tshark errors worked around:
//! - `-o tcp.reassemble_out_of_order:TRUE`: without it tshark 4.0 stops
//!   decrypting `wss_impaired` at the first out-of-order segment (its TCP
//!   reassembly hands TLS a record with a hole and the TLS dissector loses
//!   the record sequence: tshark 4.0.17 then shows 50 of its 98 frames).
//!   It changes nothing on the in-order captures, so it is passed for all.
//! - `-d tcp.port==P,tls` on the server port: tshark finds TLS on these
//!   ports by heuristics; this is only a safeguard (as record_tls.sh does).

mod common;

use common::wss;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use wsscope::event::{ConnId, Dir, Event};

#[derive(Debug, Clone, PartialEq)]
struct TFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    key: Option<String>,
    len: u64,
    payload: String,
}

fn s(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(|x| x.as_str()).map(|x| x.to_string()),
        _ => None,
    }
}

/// The hex of an `-x` `_raw` field: `[hex, pos, len, mask, type]` (or a
/// list of those when the field repeats).
fn raw_hex(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::Array(a) => match a.first()? {
            Value::String(s) => Some(s.to_lowercase()),
            Value::Array(inner) => inner.first().and_then(|x| x.as_str()).map(|x| x.to_lowercase()),
            _ => None,
        },
        _ => None,
    }
}

fn last_str(v: &Value) -> String {
    match v {
        Value::Array(a) => a.last().and_then(|x| x.as_str()).unwrap_or("").to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

fn layer<'a>(ly: &'a Value, name: &str) -> &'a Value {
    match &ly[name] {
        Value::Array(a) => a.last().unwrap_or(&Value::Null),
        v => v,
    }
}

/// tshark's decrypted WebSocket frames per (tcp.stream, sender "ip:port"),
/// in the order it shows them.
fn tshark_frames(path: &Path, ports: &[u16]) -> BTreeMap<(u64, String), Vec<TFrame>> {
    let mut args: Vec<String> = vec!["-r".into(), path.to_str().unwrap().into()];
    if !wss::name(path).ends_with(".pcapng") {
        args.push("-o".into());
        args.push(format!(
            "tls.keylog_file:{}",
            wss::sidecar(path, "keys").display()
        ));
    }
    args.push("-o".into());
    args.push("tcp.reassemble_out_of_order:TRUE".into());
    for p in ports {
        args.push("-d".into());
        args.push(format!("tcp.port=={p},tls"));
    }
    for a in ["-Y", "websocket", "-T", "json", "-x", "--no-duplicate-keys"] {
        args.push(a.into());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = common::tshark(&refs);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("tshark json: {e}"));
    let mut m: BTreeMap<(u64, String), Vec<TFrame>> = BTreeMap::new();
    for pkt in v.as_array().cloned().unwrap_or_default() {
        let ly = &pkt["_source"]["layers"];
        let tcp = layer(ly, "tcp");
        let ip = layer(ly, "ip");
        let stream: u64 = last_str(&tcp["tcp.stream"]).parse().unwrap();
        let src = format!("{}:{}", last_str(&ip["ip.src"]), last_str(&tcp["tcp.srcport"]));
        let list = match &ly["websocket"] {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for w in list {
            let base: u64 = s(&w, "websocket.payload_length")
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            let len = match base {
                126 => s(&w, "websocket.payload_length_ext_16")
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0),
                127 => s(&w, "websocket.payload_length_ext_64")
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0),
                n => n,
            };
            let rsv = s(&w, "websocket.rsv")
                .map(|x| u8::from_str_radix(x.trim_start_matches("0x"), 16).unwrap())
                .unwrap_or(0);
            m.entry((stream, src.clone())).or_default().push(TFrame {
                fin: s(&w, "websocket.fin").as_deref() == Some("1"),
                rsv,
                opcode: s(&w, "websocket.opcode")
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(255),
                masked: s(&w, "websocket.mask").as_deref() == Some("1"),
                key: s(&w, "websocket.masking_key").map(|k| k.replace(':', "")),
                len,
                payload: raw_hex(&w, "websocket.payload_raw").unwrap_or_default(),
            });
        }
    }
    m
}

#[test]
#[ignore = "needs tshark (installed by .ci/run)"]
fn wss_frames_agree_with_tshark_decrypting_with_the_key_log() {
    common::require_tshark();
    let files = wss::wss_fixtures();
    assert!(files.len() >= 19, "{} wss fixtures", files.len());
    let mut problems = Vec::new();
    let mut total = 0;
    for path in files {
        let name = wss::name(&path);
        // wss_dsb.pcapng: the keys inside the capture, as tshark uses them.
        let keys = (!name.ends_with(".pcapng")).then(|| wss::keys_text(&path));
        let events = wss::analyze_keys(&path, keys.as_deref());
        let mut conns: BTreeMap<ConnId, (String, String)> = BTreeMap::new();
        for e in &events {
            if let Event::Connection(c) = e {
                conns.insert(c.conn, (c.client.to_string(), c.server.to_string()));
            }
        }
        let mut ports: Vec<u16> = events
            .iter()
            .filter_map(|e| {
                if let Event::Connection(c) = e {
                    Some(c.server.port())
                } else {
                    None
                }
            })
            .collect();
        ports.sort();
        ports.dedup();
        let mut ours: BTreeMap<(ConnId, Dir), Vec<TFrame>> = BTreeMap::new();
        for e in &events {
            if let Event::Frame(f) = e {
                ours.entry((f.conn, f.dir)).or_default().push(TFrame {
                    fin: f.fin,
                    rsv: f.rsv,
                    opcode: f.opcode,
                    masked: f.masked,
                    key: f.mask_key.map(hex::encode),
                    len: f.len,
                    payload: hex::encode(&f.payload),
                });
            }
        }
        let mut theirs: BTreeMap<(ConnId, Dir), Vec<TFrame>> = BTreeMap::new();
        for ((stream, src), frames) in tshark_frames(&path, &ports) {
            let Some((client, server)) = conns.get(&stream) else {
                problems.push(format!(
                    "{name}: tshark stream {stream} is not one of our connections"
                ));
                continue;
            };
            let dir = if src == *client {
                Dir::C2S
            } else if src == *server {
                Dir::S2C
            } else {
                problems.push(format!(
                    "{name}: tshark stream {stream} sender {src} is neither {client} nor {server}"
                ));
                continue;
            };
            theirs.insert((stream, dir), frames);
        }
        let mut compared = 0;
        let keys: std::collections::BTreeSet<&(ConnId, Dir)> = ours.keys().chain(theirs.keys()).collect();
        for k in keys {
            let (o, t) = (
                ours.get(k).map(Vec::as_slice).unwrap_or_default(),
                theirs.get(k).map(Vec::as_slice).unwrap_or_default(),
            );
            if o.len() != t.len() {
                problems.push(format!(
                    "{name} conn {} {}: {} frames, tshark {}",
                    k.0,
                    k.1,
                    o.len(),
                    t.len()
                ));
            }
            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                compared += 1;
                if a != b {
                    problems.push(format!(
                        "{name} conn {} {} frame {i}: ours {a:?}, tshark {b:?}",
                        k.0, k.1
                    ));
                }
            }
        }
        println!("{name}: {compared} frames equal to tshark's");
        if compared == 0 {
            problems.push(format!("{name}: no frame compared"));
        }
        total += compared;
    }
    println!("total: {total} frames");
    assert!(total > 400, "only {total} frames compared");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
