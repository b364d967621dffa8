//! Our `hexdump -C` and `xxd` layouts against the real tools
//! (/usr/bin/hexdump from bsdextrautils, /usr/bin/xxd; `.ci/run` installs
//! both): fixed edge-case payloads, random payloads (proptest), and every
//! payload of the fixtures, exported as raw files and dumped by the tools
//! versus exported with `--format hexdump` / `--format xxd`.

mod common;

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use wsscope::cli::ExportArgs;
use wsscope::commands::export::run;
use wsscope::output::hexdump::{hexdump_c, xxd};

fn args(a: &[&str]) -> ExportArgs {
    common::export_args(a)
}

/// Runs a tool on a file holding `data`.
fn tool(prog: &str, flags: &[&str], data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("payload.bin");
    std::fs::write(&p, data).unwrap();
    tool_on(prog, flags, &p)
}

fn tool_on(prog: &str, flags: &[&str], path: &Path) -> String {
    let out = Command::new(prog)
        .args(flags)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog} (install bsdextrautils / xxd): {e}"));
    assert!(
        out.status.success(),
        "{prog} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ours_hexdump(data: &[u8], squeeze: bool) -> String {
    let mut v = Vec::new();
    hexdump_c(data, squeeze, &mut v).unwrap();
    String::from_utf8(v).unwrap()
}

fn ours_xxd(data: &[u8]) -> String {
    let mut v = Vec::new();
    xxd(data, &mut v).unwrap();
    String::from_utf8(v).unwrap()
}

fn check_all(data: &[u8]) {
    assert_eq!(
        ours_hexdump(data, true),
        tool("hexdump", &["-C"], data),
        "hexdump -C, {} bytes",
        data.len()
    );
    assert_eq!(
        ours_hexdump(data, false),
        tool("hexdump", &["-Cv"], data),
        "hexdump -Cv, {} bytes",
        data.len()
    );
    assert_eq!(
        ours_xxd(data),
        tool("xxd", &[], data),
        "xxd, {} bytes",
        data.len()
    );
}

#[test]
fn edge_lengths_match_the_tools() {
    for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 256, 257] {
        let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
        check_all(&data);
    }
    // Every byte value (the gutter's printable range and its edges).
    check_all(&(0..=255u8).collect::<Vec<u8>>());
}

#[test]
fn repeated_lines_match_the_tools() {
    let cases: Vec<Vec<u8>> = vec![
        vec![0; 16],
        vec![0; 32],
        vec![0; 33],
        vec![0; 64],
        vec![b'A'; 49],
        // repeat, different, repeat again
        [vec![0u8; 32], vec![1u8; 16], vec![0u8; 48], vec![2u8; 5]].concat(),
        // repeats that end exactly on a line boundary, then a short tail equal to a prefix
        [vec![7u8; 48], vec![7u8; 8]].concat(),
        b"0123456789abcdef".repeat(10),
    ];
    for c in cases {
        check_all(&c);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_payloads_match_the_tools(
        data in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            // few distinct values: many repeated lines
            prop::collection::vec(0u8..2, 0..200).prop_map(|v| {
                v.into_iter().flat_map(|b| std::iter::repeat_n(b, 16)).collect::<Vec<u8>>()
            }),
        ]
    ) {
        prop_assert_eq!(ours_hexdump(&data, true), tool("hexdump", &["-C"], &data));
        prop_assert_eq!(ours_hexdump(&data, false), tool("hexdump", &["-Cv"], &data));
        prop_assert_eq!(ours_xxd(&data), tool("xxd", &[], &data));
    }
}

/// Exports `extra` into a fresh directory; returns file name → contents.
fn export_dir(capture: &Path, extra: &[&str]) -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let mut a = vec![
        capture.to_str().unwrap(),
        "--out-dir",
        dir.path().to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    let summary = run(&args(&a), &mut Vec::new(), false).unwrap();
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        files.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).unwrap(),
        );
    }
    assert_eq!(files.len() as u64, summary.files, "{}", capture.display());
    (dir, files)
}

/// For every fixture payload (frames and messages, plain and --wire): the
/// system tool over the raw file equals our dump file minus its `#` lines.
#[test]
fn fixture_payloads_dump_like_the_tools() {
    let mut compared = 0;
    let mut lengths = std::collections::BTreeSet::new();
    for cap in common::fixtures() {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        // Every way for the captures with masking, compression, fragments and
        // odd frames; frames (control frames included) for the others.
        let every = [
            "bad_server",
            "chromium",
            "fragmented",
            "node_deflate",
            "py_basic",
            "sizes",
        ];
        let units: &[&[&str]] = if every.iter().any(|e| name.starts_with(e)) {
            &[
                &["--frames"],
                &["--messages"],
                &["--frames", "--wire"],
                &["--wire"],
            ]
        } else {
            &[&["--frames"]]
        };
        for &unit in units {
            let (raw_dir, raws) = export_dir(&cap, &[&["--format", "raw"], unit].concat());
            let (_, hexes) = export_dir(&cap, &[&["--format", "hexdump"], unit].concat());
            let (_, xxds) = export_dir(&cap, &[&["--format", "xxd"], unit].concat());
            assert_eq!(raws.len(), hexes.len());
            assert_eq!(raws.len(), xxds.len());
            for (name, data) in &raws {
                let stem = name.strip_suffix(".bin").unwrap();
                lengths.insert(data.len());
                let body = |f: &Vec<u8>| -> String {
                    let s = String::from_utf8(f.clone()).unwrap();
                    let mut lines = s.split_inclusive('\n');
                    let header = lines.next().unwrap();
                    assert!(header.starts_with("# conn "), "{header}");
                    assert!(header.contains(&format!(" {} bytes", data.len())), "{header}");
                    lines.collect()
                };
                let path = raw_dir.path().join(name);
                assert_eq!(
                    body(&hexes[&format!("{stem}.hexdump")]),
                    tool_on("hexdump", &["-C"], &path),
                    "{} {unit:?} {name}",
                    cap.display()
                );
                assert_eq!(
                    body(&xxds[&format!("{stem}.xxd")]),
                    tool_on("xxd", &[], &path),
                    "{} {unit:?} {name}",
                    cap.display()
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 500, "only {compared} payloads compared");
    // The fixtures hold empty payloads and multi-line ones.
    assert!(
        lengths.contains(&0) && lengths.iter().any(|&n| n > 65536),
        "{lengths:?}"
    );
}

/// Raw files concatenated equal raw stdout, in the same order.
#[test]
fn raw_stream_is_the_files_concatenated() {
    let cap = common::root().join("fixtures/py_basic.pcap");
    let (_, raws) = export_dir(&cap, &["--format", "raw", "--frames"]);
    let mut out = Vec::new();
    run(
        &args(&[cap.to_str().unwrap(), "--format", "raw", "--frames"]),
        &mut out,
        false,
    )
    .unwrap();
    // File names sort by connection then number (one connection here).
    let joined: Vec<u8> = raws.values().flatten().copied().collect();
    assert_eq!(out, joined);
}
