//! Keys that arrive after the records they open: a pcapng Decryption
//! Secrets Block at the end of the file (the format allows it anywhere).
//! The TLS layer holds the protected records (bounded) and decrypts them
//! once the secrets arrive. The packets are a real recording
//! (fixtures/wss/wss_py13_aes128.pcap); the pcapng around them is written
//! here block by block.

use std::ops::ControlFlow;
use wsscope::event::Event;
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceItem};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/wss")
        .join(name)
}

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    while b.len() % 4 != 0 {
        b.push(0);
    }
    let len = (b.len() + 12) as u32;
    let mut out = Vec::new();
    out.extend(kind.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(b);
    out.extend(len.to_le_bytes());
    out
}

/// The fixture as pcapng, with its key log in a DSB at `keys_at`: before
/// the packets (0) or after them (usize::MAX).
fn pcapng_with_keys(keys_at: usize) -> Vec<u8> {
    let keys = std::fs::read(fixture("wss_py13_aes128.keys")).unwrap();
    let mut dsb = Vec::new();
    dsb.extend(0x544c_534bu32.to_le_bytes());
    dsb.extend((keys.len() as u32).to_le_bytes());
    dsb.extend(&keys);
    let dsb = block(0x0000_000A, &dsb);
    let mut shb = Vec::new();
    shb.extend(0x1A2B_3C4Du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    let mut out = block(0x0A0D_0D0A, &shb);
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut link = 0u16;
    let mut src = FileSource::open(&fixture("wss_py13_aes128.pcap")).unwrap();
    src.run(&mut |item| {
        if let SourceItem::Packet(p) = item {
            link = p.link.0 as u16;
            // Microsecond timestamps (the IDB's default resolution).
            let us = p.ts.secs as u64 * 1_000_000 + u64::from(p.ts.nanos / 1000);
            let mut epb = Vec::new();
            epb.extend(0u32.to_le_bytes());
            epb.extend(((us >> 32) as u32).to_le_bytes());
            epb.extend((us as u32).to_le_bytes());
            epb.extend((p.data.len() as u32).to_le_bytes());
            epb.extend(p.orig_len.to_le_bytes());
            epb.extend(p.data);
            packets.push(block(0x0000_0006, &epb));
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let mut idb = Vec::new();
    idb.extend(link.to_le_bytes());
    idb.extend(0u16.to_le_bytes());
    idb.extend(262_144u32.to_le_bytes());
    out.extend(block(0x0000_0001, &idb));
    for (i, p) in packets.iter().enumerate() {
        if i == keys_at {
            out.extend(&dsb);
        }
        out.extend(p);
    }
    if keys_at >= packets.len() {
        out.extend(&dsb);
    }
    out
}

fn analyze(bytes: Vec<u8>) -> Vec<Event> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pcapng");
    std::fs::write(&p, bytes).unwrap();
    let mut src = FileSource::open(&p).unwrap();
    let mut ev = Vec::new();
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut ev).unwrap();
    ev
}

fn summary(ev: &[Event]) -> (Option<bool>, Option<&'static str>, usize) {
    let tls = ev
        .iter()
        .find_map(|e| if let Event::Tls(t) = e { Some(t) } else { None });
    let messages = ev.iter().filter(|e| matches!(e, Event::Message(_))).count();
    (
        tls.map(|t| t.decrypted),
        tls.and_then(|t| t.decrypted_by),
        messages,
    )
}

#[test]
fn keys_before_or_after_the_packets_decrypt_the_same() {
    let early = analyze(pcapng_with_keys(0));
    let late = analyze(pcapng_with_keys(usize::MAX));
    let (dec, by, n) = summary(&early);
    assert_eq!((dec, by), (Some(true), Some("dsb")));
    assert!(n >= 14, "{n} messages");
    assert_eq!(summary(&late), (dec, by, n));
    // The same messages, in the same order, with the same bytes.
    let msgs = |ev: &[Event]| -> Vec<Vec<u8>> {
        ev.iter()
            .filter_map(|e| {
                if let Event::Message(m) = e {
                    Some(m.data.clone())
                } else {
                    None
                }
            })
            .collect()
    };
    assert_eq!(msgs(&early), msgs(&late));
    // And the tls event still precedes everything decrypted.
    let first_tls = late.iter().position(|e| matches!(e, Event::Tls(_))).unwrap();
    let first_ws = late
        .iter()
        .position(|e| matches!(e, Event::Handshake(_) | Event::Frame(_)))
        .unwrap();
    assert!(first_tls < first_ws);
}

#[test]
fn without_any_keys_the_held_records_end_as_no_key() {
    // Keys that match nothing: the records wait, then are given up.
    let mut bytes = pcapng_with_keys(usize::MAX);
    // Corrupt the client random of every line in the DSB: no match.
    let needle = b"CLIENT_HANDSHAKE_TRAFFIC_SECRET ";
    let mut i = 0;
    while let Some(k) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let at = i + k + needle.len();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        i = at;
    }
    for label in [
        &b"SERVER_HANDSHAKE_TRAFFIC_SECRET "[..],
        b"CLIENT_TRAFFIC_SECRET_0 ",
        b"SERVER_TRAFFIC_SECRET_0 ",
        b"EXPORTER_SECRET ",
    ] {
        let mut i = 0;
        while let Some(k) = bytes[i..].windows(label.len()).position(|w| w == label) {
            let at = i + k + label.len();
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            i = at;
        }
    }
    let ev = analyze(bytes);
    let (dec, by, n) = summary(&ev);
    assert_eq!((dec, by, n), (Some(false), None, 0));
    let reason = ev
        .iter()
        .find_map(|e| if let Event::Tls(t) = e { t.reason } else { None });
    assert_eq!(reason, Some("no-key"));
}
