//! Hostile and odd input through the whole pipeline: every case gets a
//! clear diagnostic and the analysis goes on, with bounded memory.

mod common;

use etherparse::PacketBuilder;
use proptest::prelude::*;
use std::io::Cursor;
use wsscope::analyzer::{Analyzer, AnalyzerConfig};
use wsscope::event::{Event, GapReason, TcpEnd, Timestamp};
use wsscope::source::file::FileSource;
use wsscope::source::pcap_writer::PcapWriter;
use wsscope::source::{LinkType, Packet};

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

/// A tiny packet factory for one client/server pair.
struct Pkts {
    pkts: Vec<Vec<u8>>,
}

impl Pkts {
    fn new() -> Self {
        Pkts { pkts: Vec::new() }
    }
    fn c2s(&mut self, sport: u16, seq: u32, flags: &str, payload: &[u8]) -> &mut Self {
        self.tcp(C, S, sport, 80, seq, flags, payload)
    }
    fn s2c(&mut self, dport: u16, seq: u32, flags: &str, payload: &[u8]) -> &mut Self {
        self.tcp(S, C, 80, dport, seq, flags, payload)
    }
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        seq: u32,
        flags: &str,
        payload: &[u8],
    ) -> &mut Self {
        let mut t = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 65535);
        if flags.contains('S') {
            t = t.syn();
        }
        if flags.contains('F') {
            t = t.fin();
        }
        if flags.contains('R') {
            t = t.rst();
        }
        if flags.contains('A') {
            t = t.ack(0);
        }
        let mut v = Vec::new();
        t.write(&mut v, payload).unwrap();
        self.pkts.push(v);
        self
    }
    fn run(&self, cfg: AnalyzerConfig) -> (Vec<Event>, Analyzer) {
        let mut a = Analyzer::new(cfg);
        let mut ev = Vec::new();
        for (i, p) in self.pkts.iter().enumerate() {
            let pkt = Packet {
                index: i as u64 + 1,
                ts: Timestamp::new(1_700_000_000, i as u32 * 1000),
                link: LinkType::ETHERNET,
                data: p,
                orig_len: p.len() as u32,
                at: 0,
            };
            a.feed(&pkt, &mut ev);
        }
        a.finish(&Default::default(), &mut ev);
        (ev, a)
    }
}

fn diag_codes(ev: &[Event]) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| {
            if let Event::Diagnostic(d) = e {
                Some(d.code)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn overlapping_retransmission_with_different_bytes_is_reported_first_copy_kept() {
    let mut p = Pkts::new();
    p.c2s(1000, 100, "S", b"").s2c(1000, 500, "SA", b"");
    p.c2s(1000, 101, "A", b"GET / HTTP/1.1\r\n");
    p.c2s(1000, 101, "A", b"GET /evil HTTP/1");
    p.c2s(1000, 117, "A", b"\r\n");
    let (ev, _) = p.run(AnalyzerConfig::default());
    let conflict = ev.iter().find_map(|e| match e {
        Event::Diagnostic(d) if d.code == "tcp-overlap-conflict" => Some(d.clone()),
        _ => None,
    });
    let d = conflict.expect("conflict reported");
    assert_eq!(d.conn, Some(0));
    assert!(d.detail.contains("kept the first copy"), "{}", d.detail);
    let close = common::summaries(&ev).remove(0);
    assert_eq!(close.stats[0].stream_bytes, 18);
}

#[test]
fn syn_flood_is_bounded_by_max_conns() {
    let mut p = Pkts::new();
    for i in 0..30_000u32 {
        p.tcp(
            [10, 9, (i >> 8) as u8, i as u8],
            S,
            1024 + (i % 60000) as u16,
            80,
            i,
            "S",
            b"",
        );
    }
    let mut cfg = AnalyzerConfig::default();
    cfg.tcp.max_conns = 1000;
    let mut a = Analyzer::new(cfg);
    let mut count = 0u64;
    let mut evicted_diag = 0;
    let mut max_live = 0;
    let mut sink = |e: Event| {
        if let Event::Close(c) = &e {
            count += 1;
            assert!(matches!(c.end, TcpEnd::Evicted | TcpEnd::Open));
        }
        if let Event::Diagnostic(d) = &e
            && d.code == "tcp-conn-evicted"
        {
            evicted_diag += 1;
        }
    };
    for (i, pk) in p.pkts.iter().enumerate() {
        let pkt = Packet {
            index: i as u64 + 1,
            ts: Timestamp::new(1, 0),
            link: LinkType::ETHERNET,
            data: pk,
            orig_len: pk.len() as u32,
            at: 0,
        };
        a.feed(&pkt, &mut sink);
        max_live = max_live.max(a.live_connections());
    }
    a.finish(&Default::default(), &mut sink);
    assert_eq!(count, 30_000, "every connection is still summarised");
    assert!(evicted_diag > 0, "eviction is reported");
    assert!(max_live <= 1000, "connection table bounded: {max_live}");
}

#[test]
fn hole_never_filled_hits_the_buffer_cap_and_becomes_a_gap() {
    let mut p = Pkts::new();
    p.c2s(2000, 0, "S", b"");
    // Byte 1..1001 never arrives; 40 KB arrive after it.
    for i in 0..40u32 {
        p.c2s(2000, 1001 + i * 1000, "A", &[b'x'; 1000]);
    }
    let mut cfg = AnalyzerConfig::default();
    cfg.tcp.max_conn_buffer = 16 << 10;
    let (ev, _) = p.run(cfg);
    assert!(diag_codes(&ev).contains(&"tcp-buffer-cap"));
    let gap = ev
        .iter()
        .find_map(|e| {
            if let Event::Gap(g) = e {
                Some(g.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(
        (gap.offset, gap.bytes, gap.reason),
        (0, 1000, GapReason::BufferCap)
    );
    let close = common::summaries(&ev).remove(0);
    assert_eq!(close.stats[0].stream_bytes, 40_000);
    assert_eq!(close.stats[0].gap_bytes, 1000);
}

#[test]
fn reused_four_tuple_is_a_new_connection_and_midstream_is_picked_up() {
    let mut p = Pkts::new();
    // Mid-stream: no SYN; the server speaks first.
    p.s2c(3000, 9000, "A", b"HTTP/1.1 200 OK\r\n");
    p.c2s(3000, 7000, "AF", b"");
    p.s2c(3000, 9017, "AF", b"");
    // New SYN on the same tuple.
    p.c2s(3000, 1, "S", b"")
        .s2c(3000, 77, "SA", b"")
        .c2s(3000, 2, "A", b"hi")
        .c2s(3000, 2, "R", b"");
    let (ev, _) = p.run(AnalyzerConfig::default());
    let s = common::summaries(&ev);
    assert_eq!(s.len(), 2);
    assert!(!s[0].handshake_seen);
    assert_eq!(s[0].end, TcpEnd::Fin);
    assert_eq!(
        s[0].stats[1].stream_bytes, 17,
        "server bytes of the mid-stream connection"
    );
    assert_eq!(s[0].server.port(), 80, "port guess: the lower port serves");
    assert_eq!(s[1].end, TcpEnd::Rst);
    assert_eq!(s[1].stats[0].stream_bytes, 2);
}

#[test]
fn truncated_capture_is_read_up_to_the_cut_with_a_diagnostic() {
    let bytes = std::fs::read(common::root().join("fixtures/py_basic.pcap")).unwrap();
    let cut = bytes[..bytes.len() * 2 / 3].to_vec();
    let mut src = FileSource::from_reader("cut.pcap".into(), Box::new(Cursor::new(cut))).unwrap();
    let mut ev = Vec::new();
    let (_, end) = wsscope::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut ev).unwrap();
    assert!(end.truncated.is_some());
    assert!(end.packets > 5);
    assert!(diag_codes(&ev).contains(&"capture-truncated"));
    assert_eq!(common::summaries(&ev).len(), 1);
}

#[test]
fn undecodable_packets_are_reported_and_counted_not_fatal() {
    let mut buf = Vec::new();
    let mut w = PcapWriter::new(&mut buf, LinkType::ETHERNET, 65535).unwrap();
    // An Ethernet header saying IPv4 followed by junk, then a valid packet.
    let mut junk = vec![0u8; 12];
    junk.extend([0x08, 0x00, 0x45, 0xff, 0, 3]);
    w.write_raw(Timestamp::new(1, 0), &junk, 18).unwrap();
    let mut ok = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(C, S, 9)
        .tcp(5, 80, 1, 9)
        .syn()
        .write(&mut ok, b"")
        .unwrap();
    w.write_raw(Timestamp::new(2, 0), &ok, ok.len() as u32).unwrap();
    w.flush().unwrap();
    let mut src = FileSource::from_reader("j.pcap".into(), Box::new(Cursor::new(buf))).unwrap();
    let mut ev = Vec::new();
    let (a, _) = wsscope::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut ev).unwrap();
    assert_eq!(a.totals().malformed, 1);
    assert!(diag_codes(&ev).iter().any(|c| c.starts_with("bad-ip")));
    assert_eq!(common::summaries(&ev).len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Arbitrary bytes on every link type never panic the pipeline.
    #[test]
    fn random_packets_never_panic(
        pkts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..30),
        link in prop::sample::select(vec![0u32, 1, 101, 108, 113, 228, 229, 276, 147]),
    ) {
        let mut a = Analyzer::new(AnalyzerConfig::default());
        let mut ev = Vec::new();
        for (i, p) in pkts.iter().enumerate() {
            let pkt = Packet { index: i as u64, ts: Timestamp::new(i as i64, 0), link: LinkType(link), data: p, orig_len: p.len() as u32 + 5, at: 0 };
            a.feed(&pkt, &mut ev);
        }
        a.finish(&Default::default(), &mut ev);
    }
}

#[test]
fn total_buffer_cap_bounds_many_connections_each_under_their_own_cap() {
    let mut p = Pkts::new();
    // 20 connections, each missing its first 1000 bytes and holding 8 KB
    // after the hole: 160 KB held in all, each far below its own cap.
    for c in 0..20u16 {
        p.c2s(3000 + c, 0, "S", b"");
        for i in 0..8u32 {
            p.c2s(3000 + c, 1001 + i * 1000, "A", &[b'y'; 1000]);
        }
    }
    let mut cfg = AnalyzerConfig::default();
    cfg.tcp.max_conn_buffer = 1 << 20;
    cfg.tcp.max_total_buffer = 32 << 10;
    let (ev, _) = p.run(cfg);
    assert!(diag_codes(&ev).contains(&"tcp-buffer-cap"));
    let capped = ev
        .iter()
        .filter(|e| matches!(e, Event::Gap(g) if g.reason == GapReason::BufferCap))
        .count();
    // Once 32 KB are held, every connection that adds bytes gives up its hole.
    assert!(
        capped >= 16,
        "only {capped} connections released by the total cap"
    );
    for s in common::summaries(&ev) {
        assert_eq!(
            s.stats[0].stream_bytes + s.stats[0].gap_bytes,
            9000,
            "every byte accounted"
        );
    }
}
