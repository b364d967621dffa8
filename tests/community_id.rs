//! The `community_id` of every `connection` and `close` record of every
//! fixture against the reference implementation (the PyPI `communityid`
//! package, by the spec's authors): the unit tests beside the code hold the
//! spec's published vectors; this checks real captures' flows, IPv4 and
//! IPv6, whichever side was taken for the client (and the shared corpus's
//! when it is beside the checkout).

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

/// Reads `client_ip client_port server_ip server_port` lines, prints the
/// reference Community ID (TCP, seed 0) of each.
const REFERENCE: &str = r#"
import sys, communityid
cid = communityid.CommunityID(seed=0)
for line in sys.stdin:
    sip, sport, dip, dport = line.split()
    print(cid.calc(communityid.FlowTuple.make_tcp(sip, dip, int(sport), int(dport))))
"#;

#[test]
#[ignore = "needs python3 with the communityid package (.ci/run installs it)"]
fn community_ids_match_the_reference_implementation() {
    let root = common::root().join("fixtures");
    let mut caps = common::fixtures();
    for dir in ["hostile", "wss", "apps", "h2"] {
        caps.extend(common::captures_in(&root.join(dir)));
    }
    // The shared corpus too, where it is (more flows, other tools' captures).
    if common::root().join("../shared/corpus").is_dir() {
        caps.extend(common::corpus());
    }
    // (client, server, community_id) of every connection and close record.
    let mut flows = BTreeSet::new();
    let mut records = 0;
    for cap in &caps {
        let mut args = vec!["dump", "--format", "jsonl", "--payload", "none"];
        let keys = cap.with_extension("keys");
        let keys = keys.to_string_lossy().into_owned();
        if std::path::Path::new(&keys).is_file() {
            args.extend(["--keylog", keys.as_str()]);
        }
        for r in common::wsscope_jsonl(&args, cap) {
            if !matches!(r["type"].as_str(), Some("connection" | "close")) {
                continue;
            }
            let addr = |k: &str| -> SocketAddr { r[k].as_str().unwrap().parse().unwrap() };
            let cid = r["community_id"].as_str().expect("community_id").to_string();
            flows.insert((addr("client"), addr("server"), cid));
            records += 1;
        }
    }
    let flows: Vec<_> = flows.into_iter().collect();
    let mut input = String::new();
    for (c, s, _) in &flows {
        input.push_str(&format!("{} {} {} {}\n", c.ip(), c.port(), s.ip(), s.port()));
    }
    let mut py = Command::new("python3")
        .args(["-c", REFERENCE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    py.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 with communityid failed");
    let reference: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(reference.len(), flows.len());
    for ((c, s, ours), theirs) in flows.iter().zip(&reference) {
        assert_eq!(ours, theirs, "{c} -> {s}");
    }
    let v6 = flows.iter().filter(|(c, _, _)| c.is_ipv6()).count();
    eprintln!(
        "{} captures, {records} records, {} distinct flows ({v6} IPv6) checked",
        caps.len(),
        flows.len()
    );
    assert!(flows.len() > 100 && v6 > 0, "{} flows, {v6} IPv6", flows.len());
}
