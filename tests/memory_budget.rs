//! The memory budget (`--max-memory`): the analysis keeps to its share by
//! summarising the least recently active connections early, says so, and
//! loses nothing else; tiny out-of-order segments cost their bytes; `conns`
//! keeps its order whatever the budget, spilling rows to disk.
//!
//! Captures are built here with etherparse (shapes no peer sends on
//! purpose); the full-size hostile shapes and their peak RSS are measured by
//! `benches/memory_hostile.sh`.

mod common;

use base64::Engine;
use etherparse::PacketBuilder;
use sha1::{Digest, Sha1};
use std::process::Command;
use wsscope::analyzer::{Analyzer, AnalyzerConfig};
use wsscope::budget::{Budget, OutputShare};
use wsscope::event::{Event, TcpEnd, Timestamp};
use wsscope::source::pcap_writer::PcapWriter;
use wsscope::source::{LinkType, Packet};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn accept() -> String {
    let mut h = Sha1::new();
    h.update(KEY.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Packets of many client/server pairs, in capture order.
#[derive(Default)]
struct Capture {
    pkts: Vec<Vec<u8>>,
    /// Capture time between packets, in microseconds (default 1000).
    step_us: u64,
}

impl Capture {
    #[allow(clippy::too_many_arguments)]
    fn tcp(&mut self, client: u32, c2s: bool, seq: u32, ack: u32, syn: bool, fin: bool, payload: &[u8]) {
        let c = client.to_be_bytes();
        let cip = [10, c[1], c[2], c[3]];
        let sip = [10, 255, 0, 1];
        let cport = 1024 + (client % 60_000) as u16;
        let (src, dst, sp, dp) = if c2s {
            (cip, sip, cport, 80)
        } else {
            (sip, cip, 80, cport)
        };
        let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 65535);
        if syn {
            b = b.syn();
        }
        if fin {
            b = b.fin();
        }
        if !(syn && c2s) {
            b = b.ack(ack);
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        self.pkts.push(v);
    }

    /// A TCP and WebSocket handshake, left open; returns the next client
    /// and server sequence numbers.
    fn open_ws(&mut self, client: u32) -> (u32, u32) {
        let req = format!(
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept()
        );
        self.tcp(client, true, 100, 0, true, false, b"");
        self.tcp(client, false, 500, 101, true, false, b"");
        self.tcp(client, true, 101, 501, false, false, req.as_bytes());
        let c = 101 + req.len() as u32;
        self.tcp(client, false, 501, c, false, false, resp.as_bytes());
        (c, 501 + resp.len() as u32)
    }

    /// A masked client text frame.
    fn frame(text: &str) -> Vec<u8> {
        let mut f = vec![0x81, 0x80 | text.len() as u8, 1, 2, 3, 4];
        f.extend(text.bytes().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]));
        f
    }

    fn packets(&self) -> impl Iterator<Item = Packet<'_>> {
        let step = if self.step_us == 0 { 1000 } else { self.step_us };
        self.pkts.iter().enumerate().map(move |(i, p)| {
            let us = i as u64 * step;
            Packet {
                index: i as u64 + 1,
                ts: Timestamp::new(
                    1_700_000_000 + (us / 1_000_000) as i64,
                    (us % 1_000_000) as u32 * 1000,
                ),
                link: LinkType::ETHERNET,
                data: p,
                orig_len: p.len() as u32,
                at: 0,
            }
        })
    }

    fn run(&self, cfg: AnalyzerConfig) -> (Vec<Event>, Analyzer) {
        let mut a = Analyzer::new(cfg);
        let mut ev = Vec::new();
        for p in self.packets() {
            a.feed(&p, &mut ev);
        }
        a.finish(&Default::default(), &mut ev);
        (ev, a)
    }

    fn write_pcap(&self, path: &std::path::Path) {
        let f = std::fs::File::create(path).unwrap();
        let mut w = PcapWriter::new(std::io::BufWriter::new(f), LinkType::ETHERNET, 65535).unwrap();
        for p in self.packets() {
            w.write(&p).unwrap();
        }
        w.flush().unwrap();
    }
}

fn budget(total: usize) -> AnalyzerConfig {
    AnalyzerConfig {
        budget: Budget::new(total, None, OutputShare::Streaming),
        ..Default::default()
    }
}

fn diag_details<'a>(ev: &'a [Event], code: &str) -> Vec<&'a str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Diagnostic(d) if d.code == code => Some(d.detail.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn open_handshakes_past_the_budget_are_evicted_least_recent_first_and_said_so() {
    // Connection 0 stays active: it sends a message after every 100 others open.
    let mut cap2 = Capture::default();
    let (mut seq, a0) = cap2.open_ws(0);
    for c in 1..4000 {
        cap2.open_ws(c);
        if c % 100 == 0 {
            let f = Capture::frame("still here");
            cap2.tcp(0, true, seq, a0, false, false, &f);
            seq += f.len() as u32;
        }
    }

    // Roomy: nothing evicted.
    let (ev, a) = cap2.run(budget(1 << 30));
    assert!(diag_details(&ev, "memory-budget").is_empty());
    assert_eq!(a.evicted(), 0);
    let roomy_messages = ev.iter().filter(|e| matches!(e, Event::Message(_))).count();
    assert_eq!(roomy_messages, 39);

    // 4 MiB: the analysis keeps 3 MiB (a quarter is the reserve of so small a
    // budget), less than 4000 open sessions need.
    let total = 4 << 20;
    let cfg = budget(total);
    let share = cfg.budget.analysis();
    let (ev, a) = cap2.run(cfg);
    let said = diag_details(&ev, "memory-budget");
    assert!(!said.is_empty(), "eviction must be explained");
    assert!(said[0].contains("--max-memory 4 MiB"), "{}", said[0]);
    assert!(said[0].contains("summarised early"), "{}", said[0]);
    let cl = common::summaries(&ev);
    let evicted: Vec<_> = cl.iter().filter(|c| c.end == TcpEnd::Evicted).collect();
    assert!(evicted.len() > 1000, "only {} evicted", evicted.len());
    assert_eq!(a.evicted(), evicted.len() as u64);
    // Held memory stays under the share (the check runs after every packet:
    // at most one packet's growth over it).
    assert!(a.peak_held() <= share + (64 << 10), "{} > {share}", a.peak_held());
    // The active connection was never the victim: every one of its messages
    // was decoded, on the one connection.
    let msgs: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(msgs.len(), roomy_messages);
    assert!(msgs.iter().all(|m| m.conn == 0));
    assert!(cl.iter().any(|c| c.conn == 0 && c.end == TcpEnd::Open));
    // Every connection is summarised exactly once.
    let mut ids: Vec<u64> = cl.iter().map(|c| c.conn).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), cl.len());
    assert_eq!(ids.len(), 4000);
}

#[test]
fn syn_only_connections_cost_a_few_hundred_bytes() {
    let mut cap = Capture::default();
    for c in 0..20_000 {
        cap.tcp(c, true, 7, 0, true, false, b"");
    }
    let (_, a) = cap.run(budget(1 << 30));
    let per_conn = a.peak_held() / 20_000;
    assert!(per_conn <= 700, "{per_conn} bytes per SYN-only connection");
}

#[test]
fn a_flood_of_one_byte_segments_behind_a_hole_costs_its_bytes() {
    let mut cap = Capture::default();
    let (seq, ack) = cap.open_ws(1);
    // The byte at `seq` never comes; 200 000 one-byte segments follow it.
    for i in 1..=200_000u32 {
        cap.tcp(1, true, seq + i, ack, false, false, b"x");
    }
    let (ev, a) = cap.run(budget(1 << 30));
    // 200 kB of payload; a chunk each would be ~20 MB with their overhead.
    assert!(a.peak_held() < 2 << 20, "held {}", a.peak_held());
    // Nothing lost: the hole and the bytes after it are all accounted for.
    let c = common::summaries(&ev);
    let s = &c[0].stats[0];
    let req_len = seq as u64 - 101;
    assert_eq!(s.stream_bytes + s.gap_bytes, req_len + 200_001);
    assert_eq!(s.gap_bytes, 1);
}

#[test]
fn the_per_connection_share_caps_a_frame_in_progress() {
    let mut cap = Capture::default();
    let (mut seq, ack) = cap.open_ws(1);
    // A frame announcing 8 MiB, of which 6 MiB arrive.
    let mut head = vec![0x82, 0xff];
    head.extend((8u64 << 20).to_be_bytes());
    head.extend([0, 0, 0, 0]);
    cap.tcp(1, true, seq, ack, false, false, &head);
    seq += head.len() as u32;
    let chunk = vec![0u8; 60_000];
    for _ in 0..105 {
        cap.tcp(1, true, seq, ack, false, false, &chunk);
        seq += chunk.len() as u32;
    }
    let cfg = AnalyzerConfig {
        budget: Budget::new(1 << 30, Some(4 << 20), OutputShare::Streaming),
        ..Default::default()
    };
    let (ev, a) = cap.run(cfg);
    // A quarter of the 4 MiB share is kept of the frame; the rest counted.
    assert!(a.peak_held() < 3 << 20, "held {}", a.peak_held());
    let f = ev
        .iter()
        .find_map(|e| match e {
            Event::Frame(f) => Some(f),
            _ => None,
        })
        .expect("the frame is reported");
    assert_eq!(f.len, 8 << 20);
    assert!(f.truncated);
    assert_eq!(
        f.payload.len(),
        1 << 20,
        "a quarter of the connection's share kept"
    );
    assert!(!diag_details(&ev, "ws-frame-capped").is_empty());
}

/// `conns` in connection order whatever the budget: with a tiny one, rows
/// waiting for connection 0 (open to the end) spill to disk and merge back.
#[test]
fn conns_output_is_the_same_when_rows_spill() {
    // 0.1 s between packets: closed connections stop lingering (120 s of
    // capture time) long before the end, so the analysis holds little while
    // thousands of rows wait for connection 0.
    let mut cap = Capture {
        step_us: 100_000,
        ..Default::default()
    };
    let (s0, a0) = cap.open_ws(0);
    for c in 1..3000 {
        let (s, a) = cap.open_ws(c);
        // Each short connection closes at once (FIN both ways).
        cap.tcp(c, true, s, a, false, true, b"");
        cap.tcp(c, false, a, s + 1, false, true, b"");
        cap.tcp(c, true, s + 1, a + 1, false, false, b"");
    }
    let f = Capture::frame("bye");
    cap.tcp(0, true, s0, a0, false, false, &f);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spill.pcap");
    cap.write_pcap(&path);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
            .args(args)
            .arg(&path)
            .env("TMPDIR", dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    for format in ["table", "jsonl"] {
        let roomy = run(&["conns", "--format", format]);
        // 2 MiB: the output share is 512 KiB, less than 3000 rows.
        let tight = run(&["conns", "--format", format, "--max-memory", "2M"]);
        assert_eq!(
            String::from_utf8_lossy(&roomy),
            String::from_utf8_lossy(&tight),
            "{format}"
        );
        let text = String::from_utf8_lossy(&roomy);
        assert!(text.lines().count() >= 3000, "{format}");
        assert!(!text.contains("evicted"), "the analysis had room: {format}");
    }
    // The same through the library, to see that rows do spill (128 KiB of
    // output share).
    for table in [true, false] {
        let mut src = wsscope::source::file::FileSource::open(&path).unwrap();
        let mut sink = wsscope::output::conns::ConnsSink::new(Vec::new(), table, 128 << 10);
        let mut a = Analyzer::new(AnalyzerConfig::default());
        wsscope::pipeline::run(&mut src, &mut a, &mut sink, Default::default(), |_, _| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert!(sink.spilled() > 1000, "only {} rows spilled", sink.spilled());
        let out = sink.finish().unwrap();
        let format = if table { "table" } else { "jsonl" };
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&run(&["conns", "--format", format]))
        );
    }
    // In connection order, connection 0 first though it ended last.
    let jsonl = run(&["conns", "--format", "jsonl", "--max-memory", "2M"]);
    let ids: Vec<u64> = String::from_utf8_lossy(&jsonl)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["conn"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, (0..3000).collect::<Vec<_>>());
}
