//! Inputs the fuzz targets found, minimised, kept as tests: each must go
//! through the whole pipeline without a panic (these tests run with
//! overflow checks on) and be reported for what it is.
//!
//! `fuzz/regressions/<target>/` holds the inputs; `fuzz/README.md` says how
//! to add one.

use std::path::{Path, PathBuf};
use wsscope::event::Event;
use wsscope::source::file::FileSource;

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no inputs in {}", dir.display());
    v
}

/// What the `pcap_file` target does with an input.
fn analyze_file(bytes: &[u8]) -> Vec<Event> {
    let input = Box::new(std::io::Cursor::new(bytes.to_vec()));
    let mut src = FileSource::from_reader_with_buffer("fuzz".into(), input, 4096).expect("a capture header");
    let mut events = Vec::new();
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut events).expect("analysed");
    events
}

/// A Process Information Block whose total length (11) is shorter than a
/// block's frame: pcap-parser 0.17 computed `11 - 12` (a panic with
/// overflow checks). Reading stops there, saying why.
#[test]
fn pcapng_block_shorter_than_its_frame() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/pcap_file/pib-block-length-11.pcapng");
    let events = analyze_file(&std::fs::read(path).unwrap());
    let said: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Diagnostic(d) if d.code == "pcap-caplen-impossible" => Some(d.detail.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("total length of 11 bytes"), "{}", said[0]);
}

/// Every kept `pcap_file` input runs without a panic.
#[test]
fn every_pcap_file_input_runs() {
    for p in inputs("pcap_file") {
        let bytes = std::fs::read(&p).unwrap();
        let _ = analyze_file(&bytes);
    }
}
