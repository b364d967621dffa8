//! Live capture: browsers write a connection's key log line just after its
//! handshake, so the key arrives after the first protected records. The
//! drive loop follows `--keylog` files as they grow, and the TLS layer
//! holds the records until the key is there. Here a source replays a real
//! recording (fixtures/wss/wss_py13_aes128.pcap) and appends the key log to
//! the followed file only after the handshake's packets went by.

use std::io::Write;
use std::ops::ControlFlow;
use wsscope::event::Event;
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceEnd, SourceItem};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/wss")
        .join(name)
}

/// Replays a file; writes `keys` to `path` once `after` packets were handed out.
struct LateKeys {
    inner: FileSource,
    path: std::path::PathBuf,
    keys: Vec<u8>,
    after: u64,
}

impl PacketSource for LateKeys {
    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd> {
        let (path, keys, after) = (self.path.clone(), self.keys.clone(), self.after);
        let mut n = 0u64;
        self.inner.run(&mut |item| {
            n += 1;
            if n == after {
                let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
                file.write_all(&keys).unwrap();
            }
            f(item)
        })
    }

    fn describe(&self) -> String {
        "late keys".into()
    }
}

#[test]
fn keys_appended_to_a_followed_key_log_decrypt_held_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.log");
    std::fs::write(&path, b"# written by the browser as it goes\n").unwrap();
    let mut cfg = wsscope::analyzer::AnalyzerConfig::default();
    cfg.keylog_files.push((path.clone(), 0));
    let mut src = LateKeys {
        inner: FileSource::open(&fixture("wss_py13_aes128.pcap")).unwrap(),
        path,
        keys: std::fs::read(fixture("wss_py13_aes128.keys")).unwrap(),
        // After the TLS handshake and the first application records.
        after: 12,
    };
    let mut ev: Vec<Event> = Vec::new();
    wsscope::pipeline::analyze(&mut src, cfg, &mut ev).unwrap();
    let tls = ev
        .iter()
        .find_map(|e| if let Event::Tls(t) = e { Some(t) } else { None })
        .unwrap();
    assert!(tls.decrypted, "{tls:?}");
    assert_eq!(tls.decrypted_by, Some("keylog"));
    let texts = ev
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if m.opcode == 1))
        .count();
    assert!(texts >= 8, "{texts}");
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Handshake(h) if h.accept_ok == Some(true)))
    );
}
