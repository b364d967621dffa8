//! Every payload of real captures, fetched by replaying its connection,
//! equals what the first reading produced — with permessage-deflate context
//! takeover, fragments, loss and reordering, TLS (key log and pcapng
//! Decryption Secrets Blocks), pcapng with several interfaces.

use super::*;
use crate::analyzer::AnalyzerConfig;
use crate::event::Event;
use crate::keys::keylog::{KeyLog, ParseReport};
use crate::pipeline::{self, Control};
use crate::source::file::FileSource;
use std::path::Path;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn config_with_keys(keys: Option<&Path>) -> AnalyzerConfig {
    let keylog = keys.map(|k| {
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        log.parse_complete(&std::fs::read(k).unwrap(), &mut report);
        Arc::new(log)
    });
    AnalyzerConfig {
        keylog,
        ..AnalyzerConfig::default()
    }
}

/// Reads `path` as the TUI's reader does: events, and the replay index.
fn load(path: &Path, cfg: &AnalyzerConfig) -> (Vec<Event>, SharedIndex) {
    load_every(path, cfg, CHECKPOINT_EVERY)
}

fn load_every(path: &Path, cfg: &AnalyzerConfig, every: u64) -> (Vec<Event>, SharedIndex) {
    let index = SharedIndex::with_checkpoints(Some(path.to_path_buf()), every);
    let mut file = FileSource::open(path).unwrap();
    let mut rec = Recorder {
        source: &mut file,
        index: index.clone(),
        headers: true,
    };
    let mut events = Vec::new();
    let mut analyzer = crate::analyzer::Analyzer::new(cfg.clone());
    pipeline::run(
        &mut rec,
        &mut analyzer,
        &mut events,
        Control::default(),
        |fed, _| {
            Recorder::packet(&index, fed.packet.index, fed.packet.at, fed.conn);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    (events, index)
}

/// Every frame and message payload of `events`, with its key (as the
/// timeline keys them: a message by its last frame).
fn payloads(events: &[Event]) -> Vec<(PayloadKey, Vec<u8>)> {
    let mut last: std::collections::HashMap<ConnId, [Option<u64>; 2]> = Default::default();
    events
        .iter()
        .filter_map(|e| {
            let conn = e.conn()?;
            keyed(last.entry(conn).or_default(), conn, e.clone())
        })
        .collect()
}

/// Replays every payload (no window: each one on its own) and compares.
fn check_all(name: &str, keys: Option<&str>) -> usize {
    let path = fixture(name);
    let cfg = config_with_keys(keys.map(fixture).as_deref());
    let (events, index) = load(&path, &cfg);
    let all = payloads(&events);
    assert!(!all.is_empty(), "{name}: no payloads");
    for (key, want) in &all {
        let found = run(
            &index,
            &cfg,
            Target {
                key: *key,
                window_bytes: 0,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {key:?}: {e}"));
        let got = found
            .target
            .unwrap_or_else(|| panic!("{name}: {key:?} not met by the replay"));
        assert_eq!(&got[..], &want[..], "{name}: {key:?}");
    }
    all.len()
}

#[test]
fn deflate_with_context_takeover() {
    assert!(check_all("deflate_takeover.pcap", None) > 10);
}

#[test]
fn fragments_and_sizes() {
    check_all("fragmented.pcap", None);
    check_all("sizes.pcap", None);
}

#[test]
fn loss_and_reordering() {
    check_all("impaired.pcap", None);
}

#[test]
fn pcapng_with_several_interfaces() {
    check_all("pcapng_multi.pcapng", None);
}

#[test]
fn tls_with_a_key_log() {
    check_all("wss/wss_node.pcap", Some("wss/wss_node.keys"));
    check_all("wss/wss_keyupdate.pcap", Some("wss/wss_keyupdate.keys"));
}

#[test]
fn tls_with_secrets_in_the_capture() {
    // The keys are in a Decryption Secrets Block: the resumed reader must
    // be handed it before the packets.
    check_all("wss/wss_dsb.pcapng", None);
}

/// A connection that starts after many packets resumes at a checkpoint
/// past the file's start (the header blocks are replayed before it) and
/// still comes out exact.
#[test]
fn resumes_past_the_start() {
    let mut resumed = 0;
    for name in [
        "chromium.pcap",
        "pcapng_multi.pcapng",
        "wss/wss_resumed.pcap",
        "wss/wss_dsb.pcapng",
    ] {
        let path = fixture(name);
        let cfg = AnalyzerConfig::default();
        let (events, index) = load_every(&path, &cfg, 3);
        for (key, want) in payloads(&events) {
            let first = index.lock().conn_span(key.conn).unwrap().0;
            let (cp, at) = index.lock().checkpoint_before(first).unwrap();
            assert!(cp <= first && first - cp < 3);
            if cp == 1 {
                continue;
            }
            assert!(at > 24, "{name}: checkpoint at {at}");
            let target = Target { key, window_bytes: 0 };
            let got = run(&index, &cfg, target).unwrap().target.unwrap();
            assert_eq!(&got[..], &want[..], "{name}: {key:?}");
            resumed += 1;
        }
    }
    assert!(
        resumed > 0,
        "no fixture has a connection past the first checkpoint"
    );
}

/// The window brings back the payloads around the one asked for, each
/// under its own key and equal to the original.
#[test]
fn window_brings_neighbours() {
    let path = fixture("sizes.pcap");
    let cfg = AnalyzerConfig::default();
    let (events, index) = load(&path, &cfg);
    let all = payloads(&events);
    let (key, _) = &all[all.len() / 2];
    let found = run(
        &index,
        &cfg,
        Target {
            key: *key,
            window_bytes: 8 << 20,
        },
    )
    .unwrap();
    assert!(found.near.len() > 2);
    for (k, bytes) in &found.near {
        let want = all.iter().find(|(w, _)| w == k).map(|(_, b)| b).unwrap();
        assert_eq!(&bytes[..], &want[..], "{k:?}");
    }
}
