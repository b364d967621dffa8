//! A capture that starts in the middle of a frame (a long-lived connection
//! picked up mid-transfer): the real `sizes.pcap` is cut so that it begins
//! inside the client's 64 KiB frame. wsscope must still find the connection
//! as WebSocket, report the partial frame's bytes, and decode every later
//! frame exactly as in the full capture.

mod common;

use std::ops::ControlFlow;
use wsscope::decode::{Decoded, Decoder};
use wsscope::event::{Dir, Event, FrameEvent, Protocol};
use wsscope::source::file::FileSource;
use wsscope::source::pcap_writer::PcapWriter;
use wsscope::source::{PacketSource, SourceItem};

struct Owned {
    ts: wsscope::event::Timestamp,
    link: wsscope::source::LinkType,
    data: Vec<u8>,
    orig: u32,
    /// c2s stream offset of the payload's first byte, if a c2s data packet.
    c2s_offset: Option<u64>,
}

#[test]
fn capture_starting_inside_a_frame_is_still_decoded() {
    cut_inside(65_536, 20_000);
}

/// A tail longer than the detection window (700 KB before the next header):
/// with `--ws-port` the decoder resynchronises all the same.
#[test]
fn long_partial_frame_with_ws_port() {
    cut_inside(1 << 20, 300_000);
}

fn cut_inside(frame_len: u64, into: u64) {
    let path = common::root().join("fixtures/sizes.pcap");
    let full = common::analyze(&path);
    let frames = |ev: &[Event], dir: Dir| -> Vec<FrameEvent> {
        ev.iter()
            .filter_map(|e| {
                if let Event::Frame(f) = e {
                    Some(f.clone())
                } else {
                    None
                }
            })
            .filter(|f| f.dir == dir)
            .collect()
    };
    let c2s = frames(&full, Dir::C2S);
    let big = c2s
        .iter()
        .position(|f| f.len == frame_len)
        .expect("the frame to cut into");
    let inside = c2s[big].offset + u64::from(c2s[big].header_len) + into;

    // Packets with the client's stream offsets (the SYN gives the ISN).
    let mut packets: Vec<Owned> = Vec::new();
    let mut src = FileSource::open(&path).unwrap();
    let mut dec = Decoder::default();
    let mut isn: Option<u32> = None;
    let client_port = match &full[0] {
        Event::Connection(c) => c.client.port(),
        _ => panic!("connection first"),
    };
    src.run(&mut |item| {
        let SourceItem::Packet(p) = item else {
            return ControlFlow::Continue(());
        };
        let mut off = None;
        if let Decoded::Tcp(seg) = dec.decode(&p) {
            if seg.src.port() == client_port {
                if seg.flags.syn() {
                    isn = Some(seg.seq);
                } else if !seg.payload.is_empty() {
                    off = Some(u64::from(seg.seq.wrapping_sub(isn.unwrap().wrapping_add(1))));
                }
            }
        }
        packets.push(Owned {
            ts: p.ts,
            link: p.link,
            data: p.data.to_vec(),
            orig: p.orig_len,
            c2s_offset: off,
        });
        ControlFlow::Continue(())
    })
    .unwrap();
    let cut = packets
        .iter()
        .position(|p| p.c2s_offset.is_some_and(|o| o > inside))
        .expect("a packet inside the frame");

    let file = tempfile::NamedTempFile::new().unwrap();
    {
        let mut w = PcapWriter::new(
            std::fs::File::create(file.path()).unwrap(),
            packets[0].link,
            262_144,
        )
        .unwrap();
        for p in &packets[cut..] {
            w.write_raw(p.ts, &p.data, p.orig).unwrap();
        }
        w.flush().unwrap();
    }
    let mut cfg = wsscope::analyzer::AnalyzerConfig::default();
    if frame_len > 64 << 10 {
        cfg.ws_ports.push(common::summaries(&full)[0].server.port());
    }
    let ev = common::analyze_with(file.path(), cfg);
    let s = &common::summaries(&ev)[0];
    assert_eq!(
        s.protocol,
        Protocol::WebSocket,
        "detected without handshake or frame start"
    );
    assert!(!s.handshake_seen);
    let diags: Vec<String> = ev
        .iter()
        .filter_map(|e| {
            if let Event::Diagnostic(d) = e {
                Some(format!("{} {}", d.code, d.detail))
            } else {
                None
            }
        })
        .collect();
    if frame_len <= 64 << 10 {
        assert!(diags.iter().any(|d| d.starts_with("ws-detected")), "{diags:#?}");
    }
    // The tail of the frame that began before the capture is accounted for.
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("ws-resync") && d.contains("at c2s offset 0")),
        "skipped bytes are reported: {diags:#?}"
    );

    // Every client frame after the big one is decoded exactly as in the full capture.
    let after: Vec<FrameEvent> = frames(&ev, Dir::C2S);
    let want = &c2s[big + 1..];
    assert_eq!(after.len(), want.len(), "client frames after the cut");
    for (a, w) in after.iter().zip(want) {
        assert_eq!(
            (a.opcode, a.fin, a.len, a.mask_key, &a.payload),
            (w.opcode, w.fin, w.len, w.mask_key, &w.payload)
        );
    }
    let violations = ev.iter().filter(|e| matches!(e, Event::Violation(_))).count();
    assert_eq!(violations, 0, "no violation invented from the partial frame");
}
