//! Frames cut inside their header by the end of a stream (FIN, RST, end of
//! capture), on `fixtures/hostile/partial_frames.pcap` (written by
//! `fixtures/hostile/make_handshakes.py`): each is a truncated `frame`
//! record with what its captured header bytes show and `header_captured`,
//! the checks those bytes allow run, and every stream byte is still a
//! frame's (nothing reported undecodable).

mod common;

use serde_json::Value;
use std::process::Command;

fn dump(format: &str) -> String {
    let path = common::root().join("fixtures/hostile/partial_frames.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", format])
        .arg(path)
        .output()
        .expect("run wsscope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn events() -> Vec<Value> {
    dump("jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn of<'a>(ev: &'a [Value], ty: &'a str, conn: u64) -> Vec<&'a Value> {
    ev.iter()
        .filter(|e| e["type"] == ty && e["conn"] == conn)
        .collect()
}

fn partial(ev: &[Value], conn: u64) -> &Value {
    let cut: Vec<_> = of(ev, "frame", conn)
        .into_iter()
        .filter(|f| f.get("header_captured").is_some())
        .collect();
    assert_eq!(cut.len(), 1, "conn {conn}: one partial frame: {cut:?}");
    cut[0]
}

fn rules(ev: &[Value], conn: u64) -> Vec<(String, String)> {
    of(ev, "violation", conn)
        .iter()
        .map(|v| {
            (
                v["dir"].as_str().unwrap().to_string(),
                v["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn autobahn_4_1_5_reserved_opcode_in_a_lone_first_byte() {
    let ev = events();
    let f = partial(&ev, 0);
    assert_eq!(f["dir"], "c2s");
    assert_eq!(f["header_captured"], 1);
    assert_eq!(f["fin"], true);
    assert_eq!(f["opcode"], 7);
    assert_eq!(f["opcode_name"], "reserved-0x7");
    assert_eq!(f["rsv"], 0);
    assert_eq!(f["truncated"], true);
    // Byte 1 was never captured: neutral values, as the README says.
    assert_eq!(f["masked"], false);
    assert_eq!(f["mask_key"], Value::Null);
    assert_eq!((f["len"].as_u64(), f["len_bits"].as_u64()), (Some(0), Some(0)));
    assert_eq!(f["header_len"], 1);
    // Reserved opcode judged; the unknown MASK bit is not taken for "unmasked".
    assert_eq!(
        rules(&ev, 0),
        [("c2s".to_string(), "reserved-opcode".to_string())]
    );
}

#[test]
fn rsv_bits_and_a_cut_16_bit_length() {
    let ev = events();
    let f = partial(&ev, 1);
    assert_eq!(f["dir"], "s2c");
    assert_eq!(
        (f["header_captured"].as_u64(), f["rsv"].as_u64()),
        (Some(3), Some(7))
    );
    assert_eq!((f["opcode"].as_u64(), f["fin"].as_bool()), (Some(1), Some(true)));
    // Byte 1 says unmasked and a 16-bit length, of which one byte came.
    assert_eq!(f["masked"], false);
    assert_eq!((f["len_bits"].as_u64(), f["len"].as_u64()), (Some(16), Some(0)));
    let r = rules(&ev, 1);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(
        r.iter()
            .all(|(d, id)| d == "s2c" && id == "rsv-without-extension"),
        "{r:?}"
    );
}

#[test]
fn a_whole_64_bit_length_with_the_key_cut() {
    let ev = events();
    let f = partial(&ev, 2);
    assert_eq!(f["dir"], "c2s");
    assert_eq!(f["header_captured"], 12);
    assert_eq!(
        (f["masked"].as_bool(), f["opcode"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(
        (f["len"].as_u64(), f["len_bits"].as_u64()),
        (Some(70_000), Some(64))
    );
    assert_eq!(f["mask_key"], Value::Null, "two of four key bytes: no key");
    assert!(rules(&ev, 2).is_empty());
}

#[test]
fn every_stream_byte_is_a_frames_and_nothing_is_undecodable() {
    let ev = events();
    assert!(
        !ev.iter().any(|e| e["type"] == "diagnostic"),
        "no ws-resync or other diagnostic: {:?}",
        ev.iter()
            .filter(|e| e["type"] == "diagnostic")
            .collect::<Vec<_>>()
    );
    for conn in 0..3u64 {
        let close = of(&ev, "close", conn);
        let hs = of(&ev, "handshake", conn);
        assert_eq!((close.len(), hs.len()), (1, 1));
        for dir in ["c2s", "s2c"] {
            let frames: Vec<_> = of(&ev, "frame", conn)
                .into_iter()
                .filter(|f| f["dir"] == dir)
                .collect();
            // The head's length: its bytes end where the first frame starts.
            let head_end = |headers: &Value, first: &str| -> u64 {
                let lines: u64 = headers
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| (h[0].as_str().unwrap().len() + 2 + h[1].as_str().unwrap().len() + 2) as u64)
                    .sum();
                first.len() as u64 + 2 + lines + 2
            };
            let mut at = if dir == "c2s" {
                head_end(&hs[0]["request_headers"], "GET /chat HTTP/1.1")
            } else {
                head_end(&hs[0]["response_headers"], "HTTP/1.1 101 Switching Protocols")
            };
            for f in &frames {
                assert_eq!(
                    f["offset"].as_u64(),
                    Some(at),
                    "conn {conn} {dir}: frames are contiguous"
                );
                let body = if f.get("header_captured").is_some() {
                    0
                } else {
                    f["len"].as_u64().unwrap()
                };
                at += f["header_len"].as_u64().unwrap() + body;
            }
            assert_eq!(
                close[0][dir]["stream_bytes"].as_u64(),
                Some(at),
                "conn {conn} {dir}: the frames end the stream"
            );
        }
    }
}

#[test]
fn whole_frames_carry_no_header_captured_and_text_says_cut() {
    let ev = events();
    let whole = ev
        .iter()
        .filter(|e| e["type"] == "frame" && e.get("header_captured").is_none())
        .count();
    assert_eq!(whole, 3, "hello, its echo, go");
    let text = dump("text");
    let cut: Vec<_> = text.lines().filter(|l| l.contains("[header cut: ")).collect();
    assert_eq!(cut.len(), 3, "{text}");
    assert!(cut[0].contains("reserved-0x7") && cut[0].contains("1 header bytes captured"));
}

/// `export --frames --annotate` shows a cut header as it was on the wire:
/// the captured bytes (from the script that wrote the capture), a piece of
/// an extended length or of a masking key included, which the frame's
/// fields cannot hold.
#[test]
fn export_shows_the_captured_header_bytes() {
    let path = common::root().join("fixtures/hostile/partial_frames.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["export", "--frames", "--annotate"])
        .arg(path)
        .output()
        .expect("run wsscope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("# header ")).collect();
    for (want, label) in [
        ("# header 87", None),
        (
            "# header f1 7e 01",
            Some("#   01  extended payload length (cut: 1 of 2 bytes)"),
        ),
        (
            "# header 82 ff 00 00 00 00 00 01 11 70 11 22",
            Some("#   11 22                    masking key (cut: 2 of 4 bytes)"),
        ),
    ] {
        assert!(headers.contains(&want), "{want} not among {headers:?}");
        if let Some(l) = label {
            assert!(text.lines().any(|x| x == l), "{l:?} not in\n{text}");
        }
    }
}
