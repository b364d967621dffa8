//! The memory-hostile capture shapes (`benches/synth/hostile.rs`, used by
//! `benches/memory_hostile.sh`) are what they claim to be, checked through
//! the analyzer at small counts: otherwise the memory figures would measure
//! some other traffic.

mod common;

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::collections::HashSet;
use std::io::Cursor;
use synth::hostile::{Kind, generate};
use wsscope::analyzer::AnalyzerConfig;
use wsscope::event::{Dir, Event, GapReason, TcpEnd};
use wsscope::source::file::FileSource;

fn analyze(kind: Kind, n: u64) -> Vec<Event> {
    let mut buf = Vec::new();
    let w = generate(&mut buf, kind, n).unwrap();
    assert_eq!(w.bytes, buf.len() as u64, "{kind:?}: byte count reported");
    let mut src = FileSource::from_reader("h.pcap".into(), Box::new(Cursor::new(buf))).unwrap();
    let mut ev = Vec::new();
    let (_, end) = wsscope::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut ev).unwrap();
    assert_eq!(end.packets, w.packets, "{kind:?}: packet count reported");
    ev
}

fn diagnostics(ev: &[Event]) -> Vec<&str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Diagnostic(d) => Some(d.code),
            _ => None,
        })
        .collect()
}

#[test]
fn syns_are_distinct_connections_with_nothing_else() {
    // Past the 50 000 ports of the first client address.
    let n = 50_003;
    let ev = analyze(Kind::Syns, n);
    let clients: HashSet<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Connection(c) => {
                assert!(c.syn_seen);
                Some(c.client)
            }
            _ => None,
        })
        .collect();
    assert_eq!(clients.len() as u64, n);
    let cl = common::summaries(&ev);
    assert_eq!(cl.len() as u64, n);
    assert!(
        cl.iter()
            .all(|c| c.end == TcpEnd::Open && c.stats[1].packets == 0)
    );
    assert!(!ev.iter().any(|e| matches!(e, Event::Handshake(_))));
}

#[test]
fn handshakes_upgrade_correctly_and_stay_open() {
    let ev = analyze(Kind::Handshakes, 4);
    let mut keys = HashSet::new();
    for e in &ev {
        if let Event::Handshake(h) = e {
            assert_eq!(h.status, Some(101));
            assert_eq!(h.accept_ok, Some(true));
            keys.insert(h.key.clone());
        }
        assert!(!matches!(e, Event::Frame(_) | Event::Gap(_)));
    }
    assert_eq!(keys.len(), 4, "one key per connection");
    let cl = common::summaries(&ev);
    assert_eq!(cl.len(), 4);
    assert!(cl.iter().all(|c| c.end == TcpEnd::Open && c.handshake_seen));
    assert!(diagnostics(&ev).is_empty(), "{:?}", diagnostics(&ev));
}

#[test]
fn ooo_holds_every_segment_behind_one_unfilled_byte() {
    let n = 1000;
    let ev = analyze(Kind::Ooo, n);
    let gaps: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Gap(g) => Some(g),
            _ => None,
        })
        .collect();
    // The hole is released only when the capture ends: one byte, unfilled.
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].dir, gaps[0].bytes, gaps[0].reason),
        (Dir::S2C, 1, GapReason::Unfilled)
    );
    let cl = common::summaries(&ev);
    assert_eq!(cl.len(), 1);
    let s2c = &cl[0].stats[Dir::S2C.index()];
    assert_eq!(s2c.packets, n + 2, "SYN-ACK, the 101 and the segments");
    assert_eq!(s2c.gap_bytes, 1);
    // Delivered data: the 101, then (past the gap byte) every segment.
    assert_eq!(s2c.stream_bytes, gaps[0].offset + n);
}

#[test]
fn bigframes_announce_more_than_they_send() {
    let ev = analyze(Kind::Bigframes, 2);
    let frames: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Frame(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), 2);
    for f in frames {
        assert_eq!((f.dir, f.opcode, f.len, f.masked), (Dir::S2C, 2, 16 << 20, false));
    }
    for c in common::summaries(&ev) {
        assert_eq!(c.end, TcpEnd::Open);
        assert_eq!(c.stats[Dir::S2C.index()].stream_bytes, 129 + 10 + (15 << 20));
        assert_eq!(c.stats[Dir::S2C.index()].gaps, 0);
    }
}

#[test]
fn fragmsg_never_finishes_its_message() {
    let ev = analyze(Kind::Fragmsg, 1);
    let mut frames = 0;
    for e in &ev {
        if let Event::Frame(f) = e {
            assert!(!f.fin, "no final fragment");
            assert_eq!(f.opcode, if frames == 0 { 1 } else { 0 });
            assert_eq!(f.len, 16 << 10);
            frames += 1;
        }
    }
    assert_eq!(frames, 24 << 6, "24 MiB in 16 KiB fragments");
    assert!(!ev.iter().any(|e| matches!(e, Event::Violation(_))));
}
