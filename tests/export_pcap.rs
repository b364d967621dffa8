//! `export --format pcap`: the exported capture, read back by wsscope, gives
//! exactly the selected connections' events (renumbered from 0 in the same
//! order), and tshark reads it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use wsscope::cli::ExportArgs;
use wsscope::commands::export::run;
use wsscope::event::{ConnId, Event};
use wsscope::output::export::ExportSummary;

fn args(a: &[&str]) -> ExportArgs {
    common::export_args(a)
}

/// Exports `cap` with `flags` into `out`.
fn export(cap: &Path, out: &Path, flags: &[&str]) -> anyhow::Result<ExportSummary> {
    let mut a = vec![
        cap.to_str().unwrap(),
        "--format",
        "pcap",
        "-o",
        out.to_str().unwrap(),
    ];
    a.extend_from_slice(flags);
    run(&args(&a), &mut Vec::new(), false)
}

/// Events per connection, with `conn` rewritten by `map`. Left out:
/// diagnostics (rate-limited per capture, so their count depends on the
/// other connections) and the close summary's emission time (a closed
/// connection's summary goes out when later packets, of any connection,
/// pass its linger time).
fn per_conn(events: &[Event], map: &BTreeMap<ConnId, ConnId>) -> BTreeMap<ConnId, Vec<Event>> {
    let mut m: BTreeMap<ConnId, Vec<Event>> = BTreeMap::new();
    for e in events {
        let Some(old) = e.conn() else { continue };
        let Some(&new) = map.get(&old) else { continue };
        let mut e = e.clone();
        match &mut e {
            // Packet numbers are the exported file's own (it holds fewer
            // packets); tests/stamps_tshark.rs checks them against tshark.
            Event::Connection(x) => {
                x.conn = new;
                x.packet = 0;
            }
            Event::Tls(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packet = 0;
            }
            Event::Handshake(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packet = 0;
                x.response_packet = x.response_packet.map(|_| 0);
            }
            Event::Http2(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packet = 0;
                x.response_packet = x.response_packet.map(|_| 0);
            }
            Event::Finding(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packets.clear();
            }
            Event::Frame(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packets = wsscope::model::PacketSpan::one(0);
            }
            Event::Message(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packets = None;
            }
            Event::Gap(x) => {
                x.conn = new;
                x.packet = 0;
            }
            Event::Violation(x) => {
                x.conn = new;
                x.session.conn = new;
                x.packet = 0;
            }
            Event::Diagnostic(_) => continue,
            Event::Close(x) => {
                x.conn = new;
                x.ts = Default::default();
                x.first_packet = 0;
                x.last_packet = 0;
            }
        }
        m.entry(new).or_default().push(e);
    }
    m
}

fn conn_ids(events: &[Event]) -> BTreeSet<ConnId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Connection(c) => Some(c.conn),
            _ => None,
        })
        .collect()
}

/// Checks one export against the original analysis.
fn check(cap: &Path, original: &[Event], flags: &[&str]) -> Option<ExportSummary> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pcap");
    let summary = match export(cap, &out, flags) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("{e:#}");
            assert!(
                msg.contains("different link types"),
                "{} {flags:?}: {msg}",
                cap.display()
            );
            assert!(!out.exists() || std::fs::metadata(&out).unwrap().len() == 0);
            return None;
        }
    };
    if summary.matched_nothing() {
        assert!(
            !out.exists(),
            "{} {flags:?}: nothing matched, no file",
            cap.display()
        );
        return Some(summary);
    }
    let map: BTreeMap<ConnId, ConnId> = summary
        .matched_conns
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as ConnId))
        .collect();
    let want = per_conn(original, &map);
    let back = common::analyze(&out);
    assert_eq!(
        conn_ids(&back).len(),
        map.len(),
        "{} {flags:?}: connections read back",
        cap.display()
    );
    let identity: BTreeMap<ConnId, ConnId> = (0..map.len() as ConnId).map(|i| (i, i)).collect();
    let got = per_conn(&back, &identity);
    for (c, evs) in &want {
        let g = got.get(c).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            g.len(),
            evs.len(),
            "{} {flags:?}: conn {c} event count",
            cap.display()
        );
        for (i, (a, b)) in g.iter().zip(evs).enumerate() {
            assert_eq!(a, b, "{} {flags:?}: conn {c} event {i}", cap.display());
        }
    }
    Some(summary)
}

#[test]
fn exported_connections_read_back_identically() {
    let mut checked = 0;
    for cap in common::fixtures() {
        let original = common::analyze(&cap);
        let conns = conn_ids(&original);
        // Each connection alone.
        for c in &conns {
            let s =
                check(&cap, &original, &["--conn", &c.to_string()]).expect("one connection, one link type");
            assert_eq!(s.matched_conns.iter().copied().collect::<Vec<_>>(), [*c]);
            checked += 1;
        }
        // All of them; the first and last; a content filter.
        check(&cap, &original, &[]);
        if conns.len() > 1 {
            let first = conns.first().unwrap().to_string();
            let last = conns.last().unwrap().to_string();
            check(&cap, &original, &["--conn", &first, "--conn", &last]);
        }
        check(&cap, &original, &["--frames", "--opcode", "ping"]);
        check(&cap, &original, &["--dir", "c2s", "--grep", "e"]);
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn connections_on_different_link_types_are_refused_with_advice() {
    let cap = common::root().join("fixtures/pcapng_multi.pcapng");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.pcap");
    let e = format!("{:#}", export(&cap, &out, &[]).unwrap_err());
    assert!(e.contains("different link types") && e.contains("--conn"), "{e}");
    assert!(e.contains("ethernet") && e.contains("linux-sll"), "{e}");
}

#[test]
fn a_selection_matching_nothing_writes_nothing() {
    let cap = common::root().join("fixtures/py_basic.pcap");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.pcap");
    let s = export(&cap, &out, &["--conn", "99"]).unwrap();
    assert!(s.matched_nothing());
    assert!(!out.exists());
    let s = export(&cap, &out, &["--grep", "no such text anywhere"]).unwrap();
    assert!(s.matched_nothing());
}

/// Only the selected connection's packets: chromium has several connections
/// to the same server port (the page, the favicon, the WebSocket).
#[test]
fn only_the_selected_connections_packets() {
    let cap = common::root().join("fixtures/chromium.pcap");
    let original = common::analyze(&cap);
    let ws: Vec<ConnId> = original
        .iter()
        .filter_map(|e| match e {
            Event::Handshake(h) => Some(h.conn),
            _ => None,
        })
        .collect();
    assert_eq!(ws.len(), 1);
    assert!(conn_ids(&original).len() > 1);
    let s = check(&cap, &original, &["--grep", "."]).unwrap();
    assert_eq!(s.matched_conns.iter().copied().collect::<Vec<_>>(), ws);
    let packets: u64 = common::summaries(&original)
        .iter()
        .filter(|c| c.conn == ws[0])
        .map(|c| c.stats[0].packets + c.stats[1].packets)
        .sum();
    assert_eq!(s.packets, packets);
}

#[test]
#[ignore = "needs tshark"]
fn tshark_reads_the_export() {
    common::require_tshark();
    for cap in common::fixtures() {
        let original = common::analyze(&cap);
        for c in conn_ids(&original) {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("o.pcap");
            let s = export(&cap, &out, &["--conn", &c.to_string()]).unwrap();
            let p = out.to_str().unwrap();
            let lines = common::tshark(&["-r", p, "-T", "fields", "-e", "tcp.stream"]);
            assert_eq!(
                lines.lines().count() as u64,
                s.packets,
                "{} conn {c}",
                cap.display()
            );
            assert!(
                lines.lines().all(|l| l == "0"),
                "{} conn {c}: one TCP stream expected, got {lines}",
                cap.display()
            );
            // capinfos-like sanity: tshark accepts every record.
            let out = std::process::Command::new("tshark")
                .args(["-r", p, "-q"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            // (tshark warns when run as root; anything else is a complaint.)
            let complaints: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.contains("Running as user"))
                .collect();
            assert!(
                out.status.success() && complaints.is_empty(),
                "{}: {stderr}",
                cap.display()
            );
        }
    }
}
