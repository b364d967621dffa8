//! `--threads 1` against `--threads 2` and `--threads 4`: the same bytes on
//! stdout and stderr and the same exit status, for every output of `dump`
//! (text, JSON Lines, lean JSON Lines, a selection, `-t r`) and of `export`
//! (hexdump, xxd with annotated headers, JSON Lines of wire bytes and of
//! frames, HAR, pcap) and of `conns`, on every fixture (the wss:// ones
//! with and without their key logs), a generated capture with hundreds of interleaved connections,
//! a permessage-deflate one, and the corpus.
//!
//! With two threads `dump` writes on a thread of its own and `export`
//! analyses on one (`output::offload`); with four, two more threads analyse
//! the connections (`analyzer::shard`), whose events are merged back in
//! order. Nothing any of them writes may differ.

mod common;

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::path::Path;
use std::process::{Command, Output};

const VARIANTS: &[&[&str]] = &[
    &["dump"],
    &["dump", "--format", "jsonl"],
    &["dump", "--format", "jsonl", "--payload", "none"],
    &[
        "dump",
        "--format",
        "jsonl",
        "--payload",
        "8",
        "--types",
        "frame,message,violation",
    ],
    &["dump", "-t", "r", "--select", "dir:c2s"],
    &["dump", "--format", "jsonl", "-c", "40"],
    &["export"],
    &["export", "--format", "xxd", "--frames", "--annotate"],
    &["export", "--format", "jsonl", "--wire"],
    &["export", "--format", "jsonl", "--frames", "--dir", "s2c"],
    &["export", "--format", "har"],
    &["export", "--format", "pcap"],
    &["conns", "--format", "jsonl"],
    &["dump", "--format", "zeek"],
    &["audit", "--format", "jsonl"],
    &["audit", "--format", "sarif"],
];

fn run(args: &[&str], threads: &str, cap: &Path, keys: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsscope"));
    cmd.args(args);
    if let Some(k) = keys {
        cmd.arg("--keylog").arg(k);
    }
    cmd.args(["--threads", threads])
        .arg(cap)
        .env("TZ", "UTC")
        .env_remove("SSLKEYLOGFILE")
        .output()
        .expect("run wsscope")
}

/// Compares every variant on `cap`; returns how many stdout bytes were compared.
fn same(cap: &Path) -> usize {
    same_keyed(cap, None)
}

/// [`same`], decrypting with the key log `keys`.
fn same_keyed(cap: &Path, keys: Option<&Path>) -> usize {
    let mut bytes = 0;
    for v in VARIANTS {
        let one = run(v, "1", cap, keys);
        for n in ["2", "4"] {
            let more = run(v, n, cap, keys);
            let what = format!("{} {v:?} --threads {n}", cap.display());
            assert_eq!(one.status.code(), more.status.code(), "{what}: exit status");
            assert!(one.stdout == more.stdout, "{what}: stdout differs");
            assert_eq!(
                String::from_utf8_lossy(&one.stderr),
                String::from_utf8_lossy(&more.stderr),
                "{what}: stderr"
            );
        }
        bytes += one.stdout.len();
    }
    bytes
}

#[test]
fn two_threads_write_what_one_writes_on_every_fixture() {
    let mut bytes = 0;
    let mut caps = common::fixtures();
    caps.extend(common::captures_in(&common::root().join("fixtures/hostile")));
    caps.extend(common::captures_in(&common::root().join("fixtures/wss")));
    caps.extend(common::captures_in(&common::root().join("fixtures/apps")));
    caps.extend(common::captures_in(&common::root().join("fixtures/h2")));
    for cap in &caps {
        bytes += same(cap);
        // A wss:// capture with its key log too: decrypted (on one thread
        // for the analysis: workers only start without secrets).
        let keys = cap.with_extension("keys");
        if keys.is_file() {
            bytes += same_keyed(cap, Some(&keys));
        }
    }
    assert!(
        caps.len() > 20 && bytes > 1_000_000,
        "{} captures, {bytes} bytes",
        caps.len()
    );
}

#[test]
fn two_threads_write_what_one_writes_on_many_interleaved_connections() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("many.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&cap).unwrap());
    // 24 MiB over 400 connections: many batches of the writer thread, with
    // frames of every size.
    synth::generate(file, 24 << 20, 400).unwrap();
    let bytes = same(&cap);
    assert!(bytes > 50 << 20, "{bytes}");
}

#[test]
#[ignore = "needs ../shared/corpus"]
fn two_threads_write_what_one_writes_on_the_corpus() {
    let caps = common::corpus();
    assert!(!caps.is_empty());
    for cap in &caps {
        same(cap);
    }
}

#[test]
fn two_threads_write_what_one_writes_on_permessage_deflate() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("deflate.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&cap).unwrap());
    // Inflated messages are the biggest events a batch carries.
    synth::generate_shaped(
        file,
        12 << 20,
        200,
        synth::Shape {
            deflate: true,
            ..synth::Shape::default()
        },
    )
    .unwrap();
    let bytes = same(&cap);
    assert!(bytes > 20 << 20, "{bytes}");
}
