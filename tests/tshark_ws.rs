//! WebSocket frames against tshark, frame by frame: for every frame tshark
//! decodes, wsscope must report a frame in the same connection and direction,
//! in the same order, with equal FIN, RSV, opcode, MASK, masking key, length
//! and unmasked payload. (wsscope may find more: frames tshark misses are
//! listed below where known.)
//!
//! Where tshark is known to be wrong or blind, the case is named here:
//! - `snaplen.pcap`: the handshake is cut by the 96-byte snapshot length;
//!   tshark decodes no frame at all, wsscope decodes every frame header and
//!   marks the cut payloads truncated (so tshark's empty list trivially agrees).
//! - frames tshark reports with a payload it did not fully capture are
//!   compared on the bytes captured.
//! - `impaired.pcap`: tshark's WebSocket dissector decodes a retransmitted
//!   segment again, as a second copy of a frame that was already delivered
//!   (e.g. packet 57 repeats packet 37's frame). A receiver discards those
//!   bytes, and so does wsscope (its messages there equal the peers' logs
//!   exactly, see ws_fixtures.rs). Frames in packets tshark itself flags as
//!   retransmissions are therefore not required to appear twice.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use wsscope::event::{Event, FrameEvent, Protocol};

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

/// tshark's frames per (sender "ip:port", receiver), in order.
fn tshark_frames(path: &Path, decode_as: &[String]) -> BTreeMap<(String, String), Vec<TFrame>> {
    let mut args: Vec<String> = vec!["-r".into(), path.to_str().unwrap().into()];
    for d in decode_as {
        args.push("-d".into());
        args.push(d.clone());
    }
    for a in ["-Y", "websocket", "-T", "json", "-x", "--no-duplicate-keys"] {
        args.push(a.into());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = common::tshark(&refs);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Array(vec![]));
    let mut m: BTreeMap<(String, String), Vec<TFrame>> = BTreeMap::new();
    for pkt in v.as_array().cloned().unwrap_or_default() {
        let ly = &pkt["_source"]["layers"];
        let (src, dst) = endpoints(ly);
        let tcp_text = ly["tcp"].to_string();
        if tcp_text.contains("tcp.analysis.retransmission")
            || tcp_text.contains("tcp.analysis.fast_retransmission")
            || tcp_text.contains("tcp.analysis.spurious_retransmission")
        {
            continue;
        }
        let ws = &ly["websocket"];
        let list = match ws {
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
            m.entry((src.clone(), dst.clone())).or_default().push(TFrame {
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

fn endpoints(ly: &Value) -> (String, String) {
    let last = |v: &Value| -> String {
        match v {
            Value::Array(a) => a.last().and_then(|x| x.as_str()).unwrap_or("").to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        }
    };
    let tcp = &ly["tcp"];
    let tcp = if let Value::Array(a) = tcp {
        a.last().cloned().unwrap_or(Value::Null)
    } else {
        tcp.clone()
    };
    let (sp, dp) = (last(&tcp["tcp.srcport"]), last(&tcp["tcp.dstport"]));
    let ip = |layer: &str, f: &str| -> Option<String> {
        let l = &ly[layer];
        let l = if let Value::Array(a) = l {
            a.last().cloned().unwrap_or(Value::Null)
        } else {
            l.clone()
        };
        let v = last(&l[f]);
        (!v.is_empty()).then_some(v)
    };
    if let (Some(a), Some(b)) = (ip("ipv6", "ipv6.src"), ip("ipv6", "ipv6.dst")) {
        (format!("[{a}]:{sp}"), format!("[{b}]:{dp}"))
    } else {
        (
            format!("{}:{sp}", ip("ip", "ip.src").unwrap_or_default()),
            format!("{}:{dp}", ip("ip", "ip.dst").unwrap_or_default()),
        )
    }
}

fn ours(events: &[Event]) -> BTreeMap<(String, String), Vec<TFrame>> {
    let mut conns = BTreeMap::new();
    for e in events {
        if let Event::Connection(c) = e {
            conns.insert(c.conn, (c.client.to_string(), c.server.to_string()));
        }
    }
    let mut m: BTreeMap<(String, String), Vec<TFrame>> = BTreeMap::new();
    for e in events {
        if let Event::Frame(f) = e {
            let (c, s) = conns[&f.conn].clone();
            let key = if f.dir == wsscope::event::Dir::C2S {
                (c, s)
            } else {
                (s, c)
            };
            m.entry(key).or_default().push(frame(f));
        }
    }
    m
}

fn frame(f: &FrameEvent) -> TFrame {
    TFrame {
        fin: f.fin,
        rsv: f.rsv,
        opcode: f.opcode,
        masked: f.masked,
        key: f.mask_key.map(hex::encode),
        len: f.len,
        payload: hex::encode(&f.payload),
    }
}

/// Every tshark frame must appear among ours, in order (ours may hold more).
fn compare(
    name: &str,
    theirs: &BTreeMap<(String, String), Vec<TFrame>>,
    ours: &BTreeMap<(String, String), Vec<TFrame>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (k, tf) in theirs {
        let of = ours.get(k).cloned().unwrap_or_default();
        let mut j = 0;
        for (i, t) in tf.iter().enumerate() {
            // tshark shows only captured payload bytes of a truncated frame.
            let matches = |o: &TFrame| {
                o.fin == t.fin
                    && o.rsv == t.rsv
                    && o.opcode == t.opcode
                    && o.masked == t.masked
                    && o.key == t.key
                    && o.len == t.len
                    && (o.payload == t.payload
                        || (t.payload.len() < o.payload.len() && o.payload.starts_with(&t.payload)))
            };
            match of[j..].iter().position(matches) {
                Some(p) => j += p + 1,
                None => {
                    problems.push(format!(
                        "{name} {}→{}: tshark frame {i} not found in order: {t:?}; ours near: {:?}",
                        k.0,
                        k.1,
                        of.get(j)
                    ));
                    break;
                }
            }
        }
    }
    problems
}

/// Decode-as arguments for tshark: our WebSocket servers' ports, as HTTP when
/// the handshake was captured (tshark then follows the upgrade) and as
/// WebSocket when it was not.
fn decode_as(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = common::summaries(events)
        .iter()
        .filter(|c| c.protocol == Protocol::WebSocket)
        .map(|c| {
            let proto = if c.handshake_seen { "http" } else { "websocket" };
            format!("tcp.port=={},{proto}", c.server.port())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
#[ignore = "needs tshark (installed by .ci/run)"]
fn fixture_frames_agree_with_tshark() {
    common::require_tshark();
    let mut problems = Vec::new();
    let mut frames = 0;
    for path in common::fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let events = common::analyze(&path);
        let theirs = tshark_frames(&path, &decode_as(&events));
        frames += theirs.values().map(|v| v.len()).sum::<usize>();
        problems.extend(compare(&name, &theirs, &ours(&events)));
    }
    assert!(
        frames > 500,
        "tshark decoded only {frames} frames in the fixtures"
    );
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Decode-as for corpus captures whose WebSocket starts before the capture
/// (PROVENANCE.tsv: "N with -d tcp.port==P,websocket").
fn corpus_decode_as(path: &Path) -> Vec<String> {
    let prov = std::fs::read_to_string(path.with_file_name("PROVENANCE.tsv")).unwrap_or_default();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    prov.lines()
        .filter(|l| l.starts_with(&format!("{name}\t")))
        .flat_map(|l| {
            l.split("-d ")
                .skip(1)
                .map(|x| x.split(')').next().unwrap_or("").trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
#[ignore = "needs ../shared/corpus and tshark"]
fn corpus_every_tshark_frame_is_found() {
    common::require_tshark();
    let mut problems = Vec::new();
    let mut frames = 0;
    for path in common::corpus() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let events = common::analyze(&path);
        let theirs = tshark_frames(&path, &corpus_decode_as(&path));
        frames += theirs.values().map(|v| v.len()).sum::<usize>();
        problems.extend(compare(&name, &theirs, &ours(&events)));
    }
    assert!(frames > 300, "tshark decoded only {frames} frames in the corpus");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
