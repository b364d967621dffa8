//! WebSocket decoding of the recorded fixtures, checked against what the
//! peers logged as they sent (`X.sent.jsonl`, written by the peer programs,
//! not derived from the capture).
//!
//! Per direction, two ordered sequences are compared: data messages (after
//! reassembly and inflation) and control frames. (A peer logs a fragmented
//! message when its last fragment goes out, so a ping between fragments is
//! logged first: the two kinds are only ordered among themselves.)

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;
use wsscope::event::{Dir, Event, FrameEvent, MessageEvent, Protocol};

fn sent(path: &Path) -> Vec<Value> {
    let stem = path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .rsplit_once('.')
        .unwrap()
        .0
        .to_string();
    let side = path.with_file_name(format!("{stem}.sent.jsonl"));
    std::fs::read_to_string(side)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn dir_of(v: &Value) -> Dir {
    if v["dir"] == "c2s" { Dir::C2S } else { Dir::S2C }
}

fn opcode_of(v: &Value) -> Option<u8> {
    match &v["opcode"] {
        Value::String(s) => wsscope::select::parse_opcode(s).ok(),
        Value::Number(n) => n.as_u64().map(|n| n as u8),
        _ => None,
    }
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Fixtures whose peers log application messages (not raw frames).
fn message_fixtures() -> Vec<std::path::PathBuf> {
    common::fixtures()
        .into_iter()
        .filter(|p| {
            let s = sent(p);
            // snaplen.pcap keeps 30 bytes of each packet: checked separately.
            !p.ends_with("snaplen.pcap")
                && !s.is_empty()
                && s.iter().any(|v| v.get("opcode").is_some())
                && s.iter().all(|v| v.get("raw_hex").is_none())
        })
        .collect()
}

#[test]
fn decoded_messages_and_control_frames_equal_what_the_peers_sent() {
    let files = message_fixtures();
    assert!(files.len() >= 15, "message fixtures missing: {}", files.len());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let events = common::analyze(&path);
        let log = sent(&path);
        for dir in Dir::BOTH {
            let msgs: Vec<&MessageEvent> = events
                .iter()
                .filter_map(|e| if let Event::Message(m) = e { Some(m) } else { None })
                .filter(|m| m.dir == dir)
                .collect();
            let ctrl: Vec<&FrameEvent> = events
                .iter()
                .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
                .filter(|f| f.dir == dir && f.opcode >= 8)
                .collect();
            let want_msgs: Vec<&Value> = log
                .iter()
                .filter(|v| dir_of(v) == dir && opcode_of(v).is_some_and(|o| o < 8))
                .collect();
            let want_ctrl: Vec<&Value> = log
                .iter()
                .filter(|v| dir_of(v) == dir && opcode_of(v).is_some_and(|o| o >= 8))
                .collect();
            assert_eq!(msgs.len(), want_msgs.len(), "{name} {dir}: message count");
            for (i, (m, w)) in msgs.iter().zip(&want_msgs).enumerate() {
                let ctx = format!("{name} {dir} message {i}");
                assert_eq!(Some(m.opcode), opcode_of(w), "{ctx}: opcode");
                assert_eq!(m.data.len() as u64, w["len"].as_u64().unwrap(), "{ctx}: length");
                assert_eq!(sha(&m.data), w["sha256"].as_str().unwrap(), "{ctx}: content");
                assert!(m.inflate_error.is_none(), "{ctx}: {:?}", m.inflate_error);
                if let Some(c) = w.get("compressed").and_then(|c| c.as_bool()) {
                    assert_eq!(m.compressed, c, "{ctx}: compressed");
                }
                if let Some(n) = w.get("fragments").and_then(|n| n.as_u64()) {
                    assert!(
                        u64::from(m.frames) >= n,
                        "{ctx}: {} frames, peer sent {n} fragments",
                        m.frames
                    );
                }
                if let Some(t) = w.get("text").and_then(|t| t.as_str()) {
                    assert!(m.is_text, "{ctx}: valid text");
                    assert_eq!(String::from_utf8_lossy(&m.data), t, "{ctx}: text");
                }
            }
            assert_eq!(ctrl.len(), want_ctrl.len(), "{name} {dir}: control frame count");
            for (i, (f, w)) in ctrl.iter().zip(&want_ctrl).enumerate() {
                let ctx = format!("{name} {dir} control frame {i}");
                assert_eq!(Some(f.opcode), opcode_of(w), "{ctx}: opcode");
                assert_eq!(sha(&f.payload), w["sha256"].as_str().unwrap(), "{ctx}: payload");
                if f.opcode == 8 {
                    assert_eq!(
                        f.close_code.map(u64::from),
                        w["code"].as_u64(),
                        "{ctx}: close code"
                    );
                    if let Some(r) = w.get("reason").and_then(|r| r.as_str()) {
                        assert_eq!(f.close_reason.as_deref().unwrap_or(""), r, "{ctx}: close reason");
                    }
                }
            }
        }
        let violations: Vec<String> = events
            .iter()
            .filter_map(|e| {
                if let Event::Violation(v) = e {
                    Some(format!("{} {}", v.rule, v.detail))
                } else {
                    None
                }
            })
            .collect();
        assert!(
            violations.is_empty(),
            "{name}: real peers broke no rule, yet: {violations:?}"
        );
    }
}

/// The raw peers (bad_server, http_keepalive_upgrade) log every frame with
/// its wire bytes: header fields and unmasked payload must match, in order.
#[test]
fn raw_peer_frames_match_their_wire_bytes() {
    for stem in ["bad_server", "http_keepalive_upgrade"] {
        let path = common::root().join(format!("fixtures/{stem}.pcap"));
        let events = common::analyze(&path);
        let log = sent(&path);
        for dir in Dir::BOTH {
            let frames: Vec<&FrameEvent> = events
                .iter()
                .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
                .filter(|f| f.dir == dir)
                .collect();
            let want: Vec<&Value> = log
                .iter()
                .filter(|v| dir_of(v) == dir && v.get("raw_hex").is_some() && v.get("http").is_none())
                .collect();
            assert_eq!(frames.len(), want.len(), "{stem} {dir}: frame count");
            for (i, (f, w)) in frames.iter().zip(&want).enumerate() {
                let ctx = format!("{stem} {dir} frame {i}");
                let raw = hex::decode(w["raw_hex"].as_str().unwrap()).unwrap();
                // Independent reading of the logged first two bytes.
                assert_eq!(f.fin, raw[0] & 0x80 != 0, "{ctx}: fin");
                assert_eq!(f.rsv, (raw[0] >> 4) & 7, "{ctx}: rsv");
                assert_eq!(f.opcode, raw[0] & 0x0F, "{ctx}: opcode");
                assert_eq!(f.masked, raw[1] & 0x80 != 0, "{ctx}: mask");
                assert_eq!(f.len, w["len"].as_u64().unwrap(), "{ctx}: length");
                assert_eq!(
                    sha(&f.payload),
                    w["sha256"].as_str().unwrap(),
                    "{ctx}: unmasked payload"
                );
                if f.masked {
                    let key = &raw[raw.len() - f.payload.len() - 4..raw.len() - f.payload.len()];
                    assert_eq!(
                        f.mask_key.map(|k| k.to_vec()),
                        Some(key.to_vec()),
                        "{ctx}: masking key"
                    );
                }
            }
        }
    }
}

#[test]
fn bad_server_fires_every_rule_it_breaks() {
    let events = common::analyze(&common::root().join("fixtures/bad_server.pcap"));
    let rules: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| {
            if let Event::Violation(v) = e {
                Some(v.rule)
            } else {
                None
            }
        })
        .collect();
    for want in [
        "accept-mismatch",
        "client-frame-unmasked",
        "server-frame-masked",
        "reserved-opcode",
        "rsv-without-extension",
        "control-frame-too-long",
        "control-frame-fragmented",
        "non-minimal-length",
        "invalid-utf8-text",
        "invalid-close-code",
        "invalid-utf8-close-reason",
        "data-after-close",
    ] {
        assert!(rules.contains(want), "rule {want} did not fire; fired: {rules:?}");
    }
    let hs = events
        .iter()
        .find_map(|e| {
            if let Event::Handshake(h) = e {
                Some(h)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(hs.accept_ok, Some(false));
    assert_ne!(hs.accept, hs.accept_expected);
}

#[test]
fn handshakes_verified_rejected_and_midstream() {
    let hs_of = |f: &str| {
        let ev = common::analyze(&common::root().join("fixtures").join(f));
        let hs: Vec<_> = ev
            .iter()
            .filter_map(|e| {
                if let Event::Handshake(h) = e {
                    Some((**h).clone())
                } else {
                    None
                }
            })
            .collect();
        (ev, hs)
    };
    let (_, hs) = hs_of("py_basic.pcap");
    assert_eq!(hs.len(), 1);
    assert_eq!((hs[0].status, hs[0].accept_ok), (Some(101), Some(true)));
    assert_eq!(hs[0].accept, hs[0].accept_expected);

    let (ev, hs) = hs_of("rejected_403.pcap");
    assert_eq!(hs[0].status, Some(403));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::Frame(_))),
        "a rejected connection has no frames"
    );
    assert_eq!(common::summaries(&ev)[0].protocol, Protocol::Http);

    let (ev, hs) = hs_of("http_keepalive_upgrade.pcap");
    assert_eq!(hs.len(), 1, "only the third request upgrades");
    assert_eq!(hs[0].path, "/chat");
    assert_eq!(common::summaries(&ev)[0].protocol, Protocol::WebSocket);

    for f in ["midstream.pcap", "midstream_deflate.pcap"] {
        let (ev, hs) = hs_of(f);
        assert!(hs.is_empty());
        let s = &common::summaries(&ev)[0];
        assert_eq!(
            s.protocol,
            Protocol::WebSocket,
            "{f}: detected without a handshake"
        );
        assert!(!s.handshake_seen);
        // The masked side is the client.
        assert!(
            ev.iter()
                .all(|e| !matches!(e, Event::Frame(fr) if (fr.dir == Dir::C2S) != fr.masked))
        );
    }

    let (_, hs) = hs_of("deflate_small_window.pcap");
    let p = hs[0].deflate.expect("deflate negotiated");
    assert_eq!(
        (p.server_max_window_bits, p.client_max_window_bits),
        (Some(9), Some(9))
    );
    let (_, hs) = hs_of("deflate_no_takeover.pcap");
    let p = hs[0].deflate.unwrap();
    assert!(p.server_no_context_takeover && p.client_no_context_takeover);
}

#[test]
fn snaplen_frames_are_truncated_not_garbage() {
    let ev = common::analyze(&common::root().join("fixtures/snaplen.pcap"));
    let frames: Vec<&FrameEvent> = ev
        .iter()
        .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
        .collect();
    assert!(!frames.is_empty(), "frames decoded despite the 96-byte snaplen");
    assert!(
        frames.iter().any(|f| f.truncated),
        "cut payloads are marked truncated"
    );
    for f in &frames {
        assert!(f.payload.len() as u64 <= f.len);
        if !f.truncated {
            assert_eq!(f.payload.len() as u64, f.len);
        }
    }
}

#[test]
fn ping_pong_round_trip_times_are_reported() {
    let ev = common::analyze(&common::root().join("fixtures/py_basic.pcap"));
    let pongs: Vec<&FrameEvent> = ev
        .iter()
        .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
        .filter(|f| f.opcode == 10)
        .collect();
    assert_eq!(pongs.len(), 2);
    for p in pongs {
        let rtt = p.rtt.expect("pong matched to its ping");
        assert!(rtt > 0.0 && rtt < 1.0, "{rtt}");
    }
    let s = &common::summaries(&ev)[0];
    let (min, med, max) = s.rtt.unwrap();
    assert!(min <= med && med <= max);
    assert_eq!(s.close_first, Some(Dir::C2S));
    assert_eq!(
        s.stats[0].close,
        Some((Some(1000), Some("normal closure: bye".into())))
    );
}
