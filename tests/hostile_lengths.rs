//! Lengths that lie, heads over the cap, and the inflate error after a bomb
//! (issue 11, items 5 and 6), on the crafted captures that
//! `fixtures/hostile/make_lengths.py` writes. Each capture's frames were
//! chosen by the script; the tests check every one of them is decoded with
//! its payload, through the binary's JSON Lines and text outputs.

mod common;

use serde_json::Value;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::Command;
use wsscope::decode::{DecodeWarning, Decoded, Decoder};
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceItem};

fn capture(name: &str) -> PathBuf {
    common::root().join("fixtures/hostile").join(name)
}

fn dump(name: &str, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", format])
        .arg(capture(name))
        .output()
        .expect("run wsscope");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn jsonl(name: &str) -> Vec<Value> {
    dump(name, "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn of_type<'a>(ev: &'a [Value], ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    ev.iter().filter(move |e| e["type"] == ty)
}

/// (direction, text or hex payload) of every message, in order.
fn messages(ev: &[Value]) -> Vec<(String, String)> {
    of_type(ev, "message")
        .map(|m| {
            let body = m["text"].as_str().or(m["data_hex"].as_str()).unwrap_or("?");
            (m["dir"].as_str().unwrap_or("?").to_string(), body.to_string())
        })
        .collect()
}

fn codes(ev: &[Value]) -> Vec<String> {
    of_type(ev, "diagnostic")
        .map(|d| d["code"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn forged_ip_length_costs_nothing() {
    let ev = jsonl("lengths.pcap");
    assert_eq!(
        messages(&ev),
        pairs(&[
            ("c2s", "first"),
            ("s2c", "echo: first"),
            ("c2s", "hi"),
            ("c2s", "third, after the forged length"),
            ("s2c", "echo: hi"),
            ("s2c", "echo: third, after the bad option"),
            ("s2c", "server last"),
        ])
    );
    // No invented snaplen gap, no conflict with the next segment.
    assert_eq!(of_type(&ev, "gap").count(), 0);
    let c = codes(&ev);
    assert!(!c.iter().any(|c| c == "tcp-overlap-conflict"), "{c:?}");
    let close = of_type(&ev, "close").next().expect("a close record");
    for dir in ["c2s", "s2c"] {
        assert_eq!(close[dir]["gaps"], 0, "{dir}");
        assert_eq!(close[dir]["fin"], true, "{dir}");
    }
    let hs = of_type(&ev, "handshake").next().expect("a handshake");
    assert_eq!(hs["accept_ok"], true);
}

/// The warnings ride on the segments (the library level): packet 8 is the
/// 62-byte record claiming 20 000 bytes, packet 11 the bad TCP option.
#[test]
fn forged_lengths_are_warned_on_their_segments() {
    let mut src = FileSource::open(&capture("lengths.pcap")).expect("open");
    let mut dec = Decoder::default();
    let mut warned = Vec::new();
    let mut missing = 0u64;
    src.run(&mut |item| {
        if let SourceItem::Packet(pkt) = item {
            let Decoded::Tcp(seg) = dec.decode(&pkt) else {
                panic!("packet {} is TCP", pkt.index)
            };
            missing += u64::from(seg.missing);
            if let Some(w) = seg.warning {
                warned.push((pkt.index, pkt.data.len(), w));
            }
        }
        ControlFlow::Continue(())
    })
    .expect("read");
    assert_eq!(missing, 0, "every record was captured whole");
    assert_eq!(warned.len(), 2, "{warned:?}");
    let (index, len, w) = warned[0];
    assert_eq!((index, len), (8, 62));
    assert_eq!(
        w,
        DecodeWarning::IpLengthOverrun {
            field: "IPv4 total length",
            claimed: 20_000,
            captured: 48,
            wire: 48
        }
    );
    assert_eq!(w.code(), "bad-ip-header");
    let (index, _, w) = warned[1];
    assert_eq!(index, 11);
    assert_eq!(
        w,
        DecodeWarning::TcpOptions {
            kind: 8,
            at: 22,
            header_len: 32
        }
    );
    assert_eq!(w.code(), "bad-tcp-header");
}

/// A header that lied is used as captured, and said so once per packet.
#[test]
fn forged_lengths_are_reported() {
    let ev = jsonl("lengths.pcap");
    let diags: Vec<&Value> = of_type(&ev, "diagnostic").collect();
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(diags[0]["code"], "bad-ip-header");
    assert_eq!(diags[0]["packet"], 8);
    let detail = diags[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("20000") && detail.contains("48"), "{detail}");
    assert_eq!(diags[1]["code"], "bad-tcp-header");
    assert_eq!(diags[1]["packet"], 11);
}

#[test]
fn frames_after_a_head_over_the_cap_are_decoded() {
    let ev = jsonl("head_cap.pcap");
    let hex: String = (0u8..200).map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        messages(&ev),
        pairs(&[
            ("c2s", "after the long head"),
            ("s2c", "server after the long head"),
            ("c2s", &hex),
        ])
    );
    let c = codes(&ev);
    assert_eq!(c, ["http-head-too-long"], "reported once: {c:?}");
    // The key was past the cap: the accept is shown, not verified, and no
    // mismatch is invented.
    let hs = of_type(&ev, "handshake").next().expect("a handshake");
    assert_eq!(hs["status"], 101);
    assert_eq!(hs["key"], Value::Null);
    assert_eq!(hs["accept_ok"], Value::Null);
    assert!(hs["accept"].is_string());
    assert_eq!(of_type(&ev, "violation").count(), 0);
    let close = of_type(&ev, "close").next().expect("a close record");
    assert_eq!(close["protocol"], "websocket");
}

#[test]
fn inflate_error_after_a_bomb_is_said_once() {
    let text = dump("deflate_bomb.pcap", "text");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("cannot inflate")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0].matches("cannot inflate").count(), 1, "{}", lines[0]);
    assert!(lines[0].contains("[cannot inflate: the message refers to compression history"));
    assert!(lines[0].contains("inflate size cap"), "{}", lines[0]);
    let ev = jsonl("deflate_bomb.pcap");
    assert_eq!(
        codes(&ev),
        ["ws-inflate-capped"],
        "the bomb is capped and said so"
    );
    // The client's own compression context is untouched by the server's bomb.
    let client: Vec<String> = messages(&ev)
        .into_iter()
        .filter(|(d, _)| d == "c2s")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(client, ["hello, compressed", "hello, compressed again"]);
}
