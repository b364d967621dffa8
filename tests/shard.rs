//! Connection sharding at the library level (`analyzer::shard`): with the
//! connections' stacks on worker threads, the analyzer produces the very
//! events of the one-thread analyzer, in the same order, whether the sink
//! keeps the events (they are moved to it) or only reads them (they are
//! lent, and freed on the worker that made them); when TLS secrets arrive
//! in the middle of a capture the stacks come back to one thread and the
//! analysis goes on from exactly where it was.

mod common;

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use wsscope::analyzer::{Analyzer, AnalyzerConfig};
use wsscope::event::{Event, EventSink};
use wsscope::pipeline::{self, Control};
use wsscope::source::file::FileSource;

fn config(shards: usize) -> AnalyzerConfig {
    AnalyzerConfig {
        shards,
        ..AnalyzerConfig::default()
    }
}

/// Keeps copies of what it is lent, as a writer would read them.
#[derive(Default)]
struct Reader(Vec<Event>);

impl EventSink for Reader {
    fn event(&mut self, ev: Event) {
        self.0.push(ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        self.0.push(ev.clone());
    }

    fn reads_only(&self) -> bool {
        true
    }
}

/// The events of `cap` through an analyzer with `shards` workers, into a
/// sink that keeps them (`lend` false) or only reads them.
fn events(cap: &Path, cfg: AnalyzerConfig, lend: bool) -> (Vec<Event>, bool) {
    let mut src = FileSource::open(cap).unwrap_or_else(|e| panic!("{}: {e:#}", cap.display()));
    let mut analyzer = Analyzer::new(cfg);
    let started_sharded = analyzer.sharded();
    let events = if lend {
        let mut read = Reader::default();
        pipeline::run(&mut src, &mut analyzer, &mut read, Control::default(), |_, _| {
            ControlFlow::Continue(())
        })
        .map(|_| read.0)
    } else {
        let mut keep: Vec<Event> = Vec::new();
        pipeline::run(&mut src, &mut analyzer, &mut keep, Control::default(), |_, _| {
            ControlFlow::Continue(())
        })
        .map(|_| keep)
    };
    (
        events.unwrap_or_else(|e| panic!("{}: {e:#}", cap.display())),
        started_sharded,
    )
}

fn captures() -> Vec<PathBuf> {
    let root = common::root();
    let mut caps = common::fixtures();
    caps.extend(common::captures_in(&root.join("fixtures/hostile")));
    caps.extend(common::captures_in(&root.join("fixtures/wss")));
    caps.extend(common::captures_in(&root.join("fixtures/apps")));
    caps.extend(common::captures_in(&root.join("fixtures/h2")));
    caps
}

/// Compares `cap`'s events on one thread with 1, 2 and 3 workers, moved
/// and lent; returns how many events were compared.
fn same(cap: &Path) -> usize {
    same_with(cap, &AnalyzerConfig::default())
}

/// [`same`] with settings other than the defaults.
fn same_with(cap: &Path, base: &AnalyzerConfig) -> usize {
    let with = |shards| AnalyzerConfig {
        shards,
        ..base.clone()
    };
    let (one, sharded) = events(cap, with(0), false);
    assert!(!sharded);
    for shards in [1, 2, 3] {
        for lend in [false, true] {
            let (more, sharded) = events(cap, with(shards), lend);
            assert!(sharded, "{}: the workers did not start", cap.display());
            assert_eq!(
                one.len(),
                more.len(),
                "{} {shards} workers, lent {lend}",
                cap.display()
            );
            for (i, (a, b)) in one.iter().zip(&more).enumerate() {
                assert_eq!(a, b, "{} {shards} workers, lent {lend}: event {i}", cap.display());
            }
        }
    }
    one.len()
}

#[test]
fn workers_make_the_events_one_thread_makes_on_every_fixture() {
    let caps = captures();
    let mut n = 0;
    for cap in &caps {
        n += same(cap);
    }
    assert!(
        caps.len() > 30 && n > 1_500,
        "{} captures, {n} events",
        caps.len()
    );
}

#[test]
fn workers_make_the_events_one_thread_makes_on_many_interleaved_connections() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("many.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&cap).unwrap());
    // Many batches per worker, connections opening and closing throughout.
    synth::generate(file, 16 << 20, 400).unwrap();
    assert!(same(&cap) > 20_000);
    // Every connection's worker raising the same diagnostics, thousands of
    // them: the limiter on the reading thread keeps the same ten of each
    // kind, and counts the same totals.
    let mut capped = AnalyzerConfig::default();
    capped.session.max_frame_bytes = 300;
    capped.session.max_message_bytes = 200;
    let (one, _) = events(&cap, capped.clone(), false);
    let summaries = one
        .iter()
        .filter(|e| matches!(e, Event::Diagnostic(d) if d.detail.contains("only the first")))
        .count();
    assert!(summaries >= 2, "{summaries}");
    same_with(&cap, &capped);
}

#[test]
fn workers_make_the_events_one_thread_makes_on_permessage_deflate() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("deflate.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&cap).unwrap());
    synth::generate_shaped(
        file,
        8 << 20,
        100,
        synth::Shape {
            deflate: true,
            ..synth::Shape::default()
        },
    )
    .unwrap();
    let (one, _) = events(&cap, config(0), false);
    let inflated = one
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if m.compressed && m.inflate_error.is_none()))
        .count();
    assert!(inflated > 1000, "{inflated}");
    same(&cap);
}

#[test]
fn secrets_inside_the_capture_bring_the_stacks_back_to_one_thread() {
    // A pcapng with a Decryption Secrets Block: the workers start, hand
    // their stacks back when the secrets arrive, and the wss:// connection
    // is decrypted as on one thread.
    let cap = common::root().join("fixtures/wss/wss_dsb.pcapng");
    let (one, _) = events(&cap, config(0), false);
    let decrypted = one.iter().filter(|e| matches!(e, Event::Message(_))).count();
    assert!(decrypted > 0, "nothing decrypted on one thread");
    same(&cap);
}

#[test]
fn secrets_given_up_front_or_a_small_budget_keep_one_thread() {
    let keys = common::root().join("fixtures/wss/wss_chromium.keys");
    let mut log = wsscope::keys::keylog::KeyLog::new();
    let text = std::fs::read(&keys).unwrap();
    log.parse_complete(&text, &mut wsscope::keys::keylog::ParseReport::default());
    assert!(!log.is_empty());
    let cfg = AnalyzerConfig {
        keylog: Some(std::sync::Arc::new(log)),
        ..config(2)
    };
    assert!(!Analyzer::new(cfg).sharded());
    let small = AnalyzerConfig {
        budget: wsscope::budget::Budget::new(64 << 20, None, wsscope::budget::OutputShare::Streaming),
        ..config(2)
    };
    assert!(!Analyzer::new(small).sharded());
    assert!(Analyzer::new(config(2)).sharded());
}
