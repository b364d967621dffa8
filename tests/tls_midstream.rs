//! Mid-stream TLS 1.3: a capture that starts after the handshake is
//! decrypted by trying the key log's application traffic secrets on the
//! first records over a small window of sequence numbers (Wireshark cannot
//! do this). The capture is a real one (fixtures/wss/wss_py13_aes128.pcap,
//! Python `websockets` over TLS 1.3) with its first packets cut off.

use std::ops::ControlFlow;
use std::sync::Arc;
use wsscope::event::Event;
use wsscope::source::file::FileSource;
use wsscope::source::pcap_writer::PcapWriter;
use wsscope::source::{PacketSource, SourceItem};
use wsscope::tls::keylog::{KeyLog, ParseReport};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/wss")
        .join(name)
}

/// The capture from packet `from` (1-based) on.
fn cut(from: u64, out: &std::path::Path) {
    let mut src = FileSource::open(&fixture("wss_py13_aes128.pcap")).unwrap();
    let mut w: Option<PcapWriter<std::fs::File>> = None;
    src.run(&mut |item| {
        if let SourceItem::Packet(p) = item
            && p.index >= from
        {
            let w = w.get_or_insert_with(|| {
                PcapWriter::new(std::fs::File::create(out).unwrap(), p.link, 262_144).unwrap()
            });
            w.write_raw(p.ts, p.data, p.orig_len).unwrap();
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    w.unwrap().flush().unwrap();
}

fn analyze(path: &std::path::Path, keys: Option<&str>) -> Vec<Event> {
    let mut cfg = wsscope::analyzer::AnalyzerConfig::default();
    if let Some(k) = keys {
        let mut log = KeyLog::new();
        log.parse_complete(&std::fs::read(fixture(k)).unwrap(), &mut ParseReport::default());
        cfg.keylog = Some(Arc::new(log));
    }
    let mut src = FileSource::open(path).unwrap();
    let mut ev = Vec::new();
    wsscope::pipeline::analyze(&mut src, cfg, &mut ev).unwrap();
    ev
}

#[test]
fn trial_decrypts_a_connection_picked_up_after_its_handshake() {
    let full = analyze(&fixture("wss_py13_aes128.pcap"), Some("wss_py13_aes128.keys"));
    // Text messages per direction (the two directions may interleave
    // differently when one of them is picked up later).
    let texts = |ev: &[Event]| -> Vec<(wsscope::event::Dir, Vec<u8>)> {
        let mut v: Vec<(wsscope::event::Dir, Vec<u8>)> = ev
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) if m.opcode == 1 => Some((m.dir, m.data.clone())),
                _ => None,
            })
            .collect();
        v.sort_by_key(|(d, _)| *d);
        v
    };
    let all = texts(&full);
    assert!(all.len() >= 8, "{}", all.len());
    // Cut inside the application data (packets 1-11 hold the TCP and TLS
    // handshakes, the HTTP upgrade and the first messages).
    for from in [12u64, 14, 18] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mid.pcap");
        cut(from, &p);
        let ev = analyze(&p, Some("wss_py13_aes128.keys"));
        let tls: Vec<_> = ev
            .iter()
            .filter_map(|e| if let Event::Tls(t) = e { Some(t) } else { None })
            .collect();
        assert_eq!(tls.len(), 1, "from {from}");
        let t = tls[0];
        assert!(t.decrypted, "from {from}: {t:?}");
        assert_eq!(t.decrypted_by, Some("trial"));
        assert_eq!(t.version, Some("TLS 1.3"));
        assert_eq!(t.cipher_suite.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        assert!(
            t.detail.as_deref().unwrap_or("").contains("sequence offset"),
            "{t:?}"
        );
        // What was decrypted is a tail of what the full capture shows.
        let got = texts(&ev);
        assert!(!got.is_empty(), "from {from}");
        for d in wsscope::event::Dir::BOTH {
            let of = |v: &[(wsscope::event::Dir, Vec<u8>)]| -> Vec<Vec<u8>> {
                v.iter()
                    .filter(|(x, _)| *x == d)
                    .map(|(_, b)| b.clone())
                    .collect()
            };
            assert!(
                of(&all).ends_with(&of(&got)),
                "from {from}, {d}: not a tail of the full capture's"
            );
        }
    }
}

#[test]
fn without_keys_mid_stream_is_no_handshake_and_shows_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mid.pcap");
    cut(12, &p);
    let ev = analyze(&p, None);
    let reasons: Vec<_> = ev
        .iter()
        .filter_map(|e| {
            if let Event::Tls(t) = e {
                Some(t.reason)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(reasons, [Some("no-handshake")]);
    assert!(
        !ev.iter()
            .any(|e| matches!(e, Event::Frame(_) | Event::Message(_)))
    );
}
