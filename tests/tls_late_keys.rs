//! Keys that arrive after the records they open: a pcapng Decryption
//! Secrets Block at the end of the file (the format allows it anywhere).
//! The TLS layer holds the protected records (bounded) and decrypts them
//! once the secrets arrive. The packets are a real recording
//! (fixtures/wss/wss_py13_aes128.pcap), rewritten as pcapng with the DSB
//! where the test wants it.

use std::ops::ControlFlow;
use wsscope::event::Event;
use wsscope::source::file::FileSource;
use wsscope::source::pcap_writer::PcapngWriter;
use wsscope::source::{PacketSource, SecretsKind, SourceItem};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/wss")
        .join(name)
}

/// The fixture as pcapng, with its key log in a DSB at `keys_at`: before
/// the packets (0) or after them (usize::MAX).
fn pcapng_with_keys(keys_at: usize) -> Vec<u8> {
    let keys = std::fs::read(fixture("wss_py13_aes128.keys")).unwrap();
    let mut packets: Vec<(wsscope::event::Timestamp, Vec<u8>, u32, wsscope::source::LinkType)> = Vec::new();
    let mut src = FileSource::open(&fixture("wss_py13_aes128.pcap")).unwrap();
    src.run(&mut |item| {
        if let SourceItem::Packet(p) = item {
            packets.push((p.ts, p.data.to_vec(), p.orig_len, p.link));
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let mut w = PcapngWriter::new(Vec::new(), packets[0].3, 262_144, &[]).unwrap();
    for (i, (ts, data, orig, _)) in packets.iter().enumerate() {
        if i == keys_at {
            w.write_secrets(SecretsKind::TLS_KEY_LOG, &keys).unwrap();
        }
        w.write_raw(*ts, data, *orig).unwrap();
    }
    if keys_at >= packets.len() {
        w.write_secrets(SecretsKind::TLS_KEY_LOG, &keys).unwrap();
    }
    w.flush().unwrap();
    w.into_inner()
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
