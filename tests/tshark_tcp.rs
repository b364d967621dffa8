//! TCP reassembly against tshark: for every capture, each connection's
//! packets and bytes per direction must equal what tshark attributes to that
//! `tcp.stream`, and the reassembled stream bytes per direction must equal
//! `tshark -z follow,tcp,raw,N`.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use wsscope::event::Event;

#[derive(Debug, Default, Clone, PartialEq)]
struct Side {
    packets: u64,
    bytes: u64,
}

/// Per stream: endpoint → (packets, frame bytes) it sent.
fn tshark_conv(path: &Path) -> BTreeMap<u64, BTreeMap<String, Side>> {
    let p = path.to_str().unwrap();
    let out = common::tshark(&[
        "-r",
        p,
        "-Y",
        "tcp",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "tcp.stream",
        "-e",
        "ip.src",
        "-e",
        "ipv6.src",
        "-e",
        "tcp.srcport",
        "-e",
        "frame.len",
    ]);
    let mut m: BTreeMap<u64, BTreeMap<String, Side>> = BTreeMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() < 5 || f[0].is_empty() {
            continue;
        }
        // Tunnelled packets list several addresses; the innermost is last.
        let stream: u64 = f[0].split(',').next().unwrap().parse().unwrap();
        let src = if !f[2].is_empty() {
            format!("[{}]", f[2].rsplit(',').next().unwrap())
        } else {
            f[1].rsplit(',').next().unwrap().to_string()
        };
        let port = f[3].split(',').next_back().unwrap();
        let side = m
            .entry(stream)
            .or_default()
            .entry(format!("{src}:{port}"))
            .or_default();
        side.packets += 1;
        side.bytes += f[4].parse::<u64>().unwrap();
    }
    m
}

/// Per stream: endpoint → stream bytes it sent, from `follow,tcp,raw`.
fn tshark_follow(path: &Path, streams: &[u64]) -> BTreeMap<u64, BTreeMap<String, u64>> {
    let mut args: Vec<String> = vec!["-r".into(), path.to_str().unwrap().into(), "-q".into()];
    for s in streams {
        args.push("-z".into());
        args.push(format!("follow,tcp,raw,{s}"));
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = common::tshark(&refs);
    let mut m: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    let mut cur: Option<u64> = None;
    let mut nodes = [String::new(), String::new()];
    for line in out.lines() {
        if let Some(f) = line.strip_prefix("Filter: tcp.stream eq ") {
            cur = f.trim().parse().ok();
            continue;
        }
        if let Some(n) = line.strip_prefix("Node 0: ") {
            nodes[0] = normalise(n);
            continue;
        }
        if let Some(n) = line.strip_prefix("Node 1: ") {
            nodes[1] = normalise(n);
            if let Some(c) = cur {
                let e = m.entry(c).or_default();
                e.entry(nodes[0].clone()).or_insert(0);
                e.entry(nodes[1].clone()).or_insert(0);
            }
            continue;
        }
        let Some(c) = cur else { continue };
        if line.starts_with('=') || line.starts_with("Follow:") || line.trim().is_empty() {
            continue;
        }
        let (node, hex) = match line.strip_prefix('\t') {
            Some(h) => (&nodes[1], h),
            None => (&nodes[0], line),
        };
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        *m.entry(c).or_default().entry(node.clone()).or_insert(0) += (hex.len() / 2) as u64;
    }
    m
}

/// tshark prints IPv6 nodes as `addr:port` without brackets.
fn normalise(node: &str) -> String {
    let node = node.trim();
    if let Ok(sa) = node.parse::<SocketAddr>() {
        return sa.to_string();
    }
    match node.rsplit_once(':') {
        Some((addr, port)) if addr.contains(':') => format!("[{addr}]:{port}"),
        _ => node.to_string(),
    }
}

fn compare(path: &Path) -> Vec<String> {
    let events = common::analyze(path);
    let ours = common::summaries(&events);
    // Stream offset of the first gap, per (conn, dir).
    let mut first_gap: BTreeMap<(u64, usize), u64> = BTreeMap::new();
    for e in &events {
        if let Event::Gap(g) = e {
            first_gap.entry((g.conn, g.dir.index())).or_insert(g.offset);
        }
    }
    let conv = tshark_conv(path);
    let streams: Vec<u64> = conv.keys().copied().collect();
    let follow = tshark_follow(path, &streams);
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut problems = Vec::new();
    if ours.len() != conv.len() {
        problems.push(format!(
            "{name}: {} connections, tshark has {} tcp streams",
            ours.len(),
            conv.len()
        ));
    }
    // tshark's stream numbers can have holes; pair connections by their
    // endpoints, the k-th connection of a 4-tuple with its k-th stream.
    let tuple = |a: &str, b: &str| {
        if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    };
    let mut by_tuple: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (stream, eps) in &conv {
        let v: Vec<&String> = eps.keys().collect();
        let key = if v.len() == 2 {
            tuple(v[0], v[1])
        } else {
            tuple(v[0], "")
        };
        by_tuple.entry(key).or_default().push(*stream);
    }
    let mut used: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in &ours {
        let (cl, sv) = (c.client.to_string(), c.server.to_string());
        let mut key = tuple(&cl, &sv);
        if !by_tuple.contains_key(&key) {
            // One-sided streams (only one endpoint ever sent).
            key = if by_tuple.contains_key(&tuple(&cl, "")) {
                tuple(&cl, "")
            } else {
                tuple(&sv, "")
            };
        }
        let k = used.entry(key.clone()).or_insert(0);
        let Some(&stream) = by_tuple.get(&key).and_then(|v| v.get(*k)) else {
            problems.push(format!(
                "{name}: conn {} ({cl} - {sv}) has no tshark stream",
                c.conn
            ));
            continue;
        };
        *k += 1;
        let t = &conv[&stream];
        for (ep, dir) in [(cl.clone(), 0usize), (sv.clone(), 1)] {
            let s = &c.stats[dir];
            let want = t.get(&ep).cloned().unwrap_or_default();
            if (s.packets, s.bytes) != (want.packets, want.bytes) {
                problems.push(format!(
                    "{name}: conn {} (stream {stream}) from {ep}: {} packets / {} bytes, tshark {} / {}",
                    c.conn, s.packets, s.bytes, want.packets, want.bytes
                ));
            }
            let fb = follow.get(&stream).and_then(|f| f.get(&ep)).copied().unwrap_or(0);
            // tshark's follow stops at the first missing segment; we go on
            // after a gap. Where we saw a gap, compare up to it.
            let ours_cmp = match first_gap.get(&(c.conn, dir)) {
                Some(&off) if fb < s.stream_bytes => off.min(s.stream_bytes),
                _ => s.stream_bytes,
            };
            if ours_cmp != fb {
                problems.push(format!(
                    "{name}: conn {} (stream {stream}) from {ep}: {} stream bytes (+{} gap bytes), tshark follow {}",
                    c.conn, s.stream_bytes, s.gap_bytes, fb
                ));
            }
        }
    }
    problems
}

#[test]
#[ignore = "needs tshark (installed by .ci/run)"]
fn fixtures_agree_with_tshark() {
    common::require_tshark();
    let files = common::fixtures();
    assert!(files.len() >= 5, "fixtures missing: run fixtures/record.sh");
    let problems: Vec<String> = files.iter().flat_map(|f| compare(f)).collect();
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
#[ignore = "needs ../shared/corpus and tshark"]
fn corpus_agrees_with_tshark() {
    common::require_tshark();
    let problems: Vec<String> = common::corpus().iter().flat_map(|f| compare(f)).collect();
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
