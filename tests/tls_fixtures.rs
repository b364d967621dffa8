//! wss:// decryption on the fixtures recorded from real TLS peers
//! (`fixtures/wss/`, see fixtures/README.md): with the key log the client
//! wrote, every connection is decrypted and the WebSocket inside decodes to
//! exactly what the peers sent (`X.sent.jsonl`, compared as
//! tests/ws_fixtures.rs compares the plaintext fixtures) and to exactly the
//! plaintext they wrote into TLS (`X.plaintext.jsonl`); without keys, or with
//! wrong ones, every connection says why and nothing is invented from
//! ciphertext; a key log holding some connections decrypts exactly those;
//! the `tls` event comes first and plaintext frames point at their
//! connection's packets; and the command line takes `--keylog` and
//! `$SSLKEYLOGFILE`.
//!
//! Expected versions, suites, SNI, ALPN and resumption are the README's table
//! (cross-checked with tshark's reading of the hellos), not wsscope's output.

mod common;

use common::wss::{self, Compared};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wsscope::event::{ConnId, ConnectionEndEvent, Dir, Event, Protocol, TlsEvent};

const SNI: &str = "wsscope.test";
const H11: &[&str] = &["http/1.1"];
const NONE: &[&str] = &[];

/// One row of fixtures/README.md's wss table.
struct Expect {
    stem: &'static str,
    version: &'static str,
    suite: &'static str,
    /// Per TCP connection (all of them TLS), in connection order.
    resumed: &'static [bool],
    /// ALPN offered in each connection's ClientHello.
    alpn_offered: &'static [&'static [&'static str]],
    /// ALPN selected (TLS 1.3: in EncryptedExtensions, so only seen decrypted).
    alpn: Option<&'static str>,
    /// KeyUpdates per direction (c2s, s2c) in the close record.
    key_updates: (u64, u64),
}

const fn one(stem: &'static str, version: &'static str, suite: &'static str) -> Expect {
    Expect {
        stem,
        version,
        suite,
        resumed: &[false],
        alpn_offered: &[NONE],
        alpn: None,
        key_updates: (0, 0),
    }
}

const T13: &str = "TLS 1.3";
const T12: &str = "TLS 1.2";
const AES256: &str = "TLS_AES_256_GCM_SHA384";
const ECDHE_GCM: &str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";

const EXPECT: &[Expect] = &[
    one("wss_py13_aes128", T13, "TLS_AES_128_GCM_SHA256"),
    Expect {
        alpn_offered: &[H11],
        alpn: Some("http/1.1"),
        ..one("wss_py13_aes256", T13, AES256)
    },
    one("wss_py13_chacha", T13, "TLS_CHACHA20_POLY1305_SHA256"),
    one("wss_py13_hrr", T13, AES256),
    one("wss_py12_gcm", T12, ECDHE_GCM),
    one(
        "wss_py12_chacha",
        T12,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    one("wss_py12_cbc", T12, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    one("wss_py12_cbc_noetm", T12, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    one(
        "wss_py12_cbc_sha384",
        T12,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    ),
    one("wss_py12_rsa", T12, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    one("wss_py13_deflate", T13, AES256),
    one("wss_node", T13, AES256),
    Expect {
        key_updates: (3, 3),
        ..one("wss_keyupdate", T13, AES256)
    },
    Expect {
        resumed: &[false, true],
        alpn_offered: &[NONE, NONE],
        ..one("wss_resumed", T13, AES256)
    },
    Expect {
        resumed: &[false, true],
        alpn_offered: &[NONE, NONE],
        ..one("wss_resumed12_id", T12, ECDHE_GCM)
    },
    Expect {
        resumed: &[false, true],
        alpn_offered: &[NONE, NONE],
        ..one("wss_resumed12_ticket", T12, ECDHE_GCM)
    },
    one("wss_impaired", T13, AES256),
    one("wss_dsb", T13, "TLS_AES_128_GCM_SHA256"),
    // Page, WebSocket, favicon; the latter two resume the page's session.
    Expect {
        resumed: &[false, true, true],
        alpn_offered: &[&["h2", "http/1.1"], H11, &["h2", "http/1.1"]],
        alpn: Some("http/1.1"),
        ..one("wss_chromium", T13, AES256)
    },
];

fn expect(path: &Path) -> &'static Expect {
    let stem = wss::stem(path);
    EXPECT.iter().find(|e| e.stem == stem).unwrap_or_else(|| {
        panic!("{stem}: a wss fixture without a row in EXPECT: add what fixtures/README.md says of it")
    })
}

/// The fixtures, checked against the table: every capture has a row and
/// every row a capture.
fn fixtures() -> Vec<PathBuf> {
    let files = wss::wss_fixtures();
    assert!(
        files.len() >= 19,
        "fixtures/wss holds {} captures, expected at least 19",
        files.len()
    );
    let stems: BTreeSet<String> = files.iter().map(|p| wss::stem(p)).collect();
    for e in EXPECT {
        assert!(stems.contains(e.stem), "fixtures/wss/{}.pcap* is missing", e.stem);
    }
    for f in &files {
        expect(f);
    }
    assert_eq!(files.len(), EXPECT.len());
    files
}

fn connections(events: &[Event]) -> Vec<ConnId> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Connection(c) = e {
                Some(c.conn)
            } else {
                None
            }
        })
        .collect()
}

fn tls_events(events: &[Event]) -> BTreeMap<ConnId, Vec<&TlsEvent>> {
    let mut m: BTreeMap<ConnId, Vec<&TlsEvent>> = BTreeMap::new();
    for e in events {
        if let Event::Tls(t) = e {
            m.entry(t.conn).or_default().push(t);
        }
    }
    m
}

fn conn_of(e: &Event) -> Option<ConnId> {
    match e {
        Event::Connection(x) => Some(x.conn),
        Event::Tls(x) => Some(x.conn),
        Event::Handshake(x) => Some(x.conn),
        Event::Frame(x) => Some(x.conn),
        Event::Message(x) => Some(x.conn),
        Event::Gap(x) => Some(x.conn),
        Event::Violation(x) => Some(x.conn),
        Event::Diagnostic(x) => x.conn,
        Event::Close(x) => Some(x.conn),
        Event::Http2(x) => Some(x.conn),
        Event::Finding(x) => Some(x.conn),
    }
}

/// Events that can only come from decrypted bytes (or from inventing them).
fn is_decoded(e: &Event) -> bool {
    matches!(
        e,
        Event::Handshake(_) | Event::Frame(_) | Event::Message(_) | Event::Violation(_)
    )
}

/// How the connections of a run are expected to have been decrypted.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Want {
    Decrypted(&'static str),
    Not(&'static str),
}

/// Checks every connection's `tls` event and `close` record: one `tls`
/// event per connection, with the table's facts, decrypted (and by which
/// source) or not (and why) as `want(conn)` says. Connections not decrypted
/// have no decoded event at all; decrypted ones carry what their plaintext
/// held (WebSocket, or HTTP for wss_chromium's page and favicon).
fn check_tls(name: &str, e: &Expect, events: &[Event], want: impl Fn(ConnId) -> Want) -> Vec<String> {
    let mut p = Vec::new();
    let conns = connections(events);
    if conns.len() != e.resumed.len() {
        p.push(format!(
            "{name}: {} connections, expected {}",
            conns.len(),
            e.resumed.len()
        ));
    }
    let tls = tls_events(events);
    let closes: BTreeMap<ConnId, ConnectionEndEvent> = common::summaries(events)
        .into_iter()
        .map(|c| (c.conn, c))
        .collect();
    for (i, &conn) in conns.iter().enumerate() {
        let ctx = format!("{name} conn {conn}");
        let w = want(conn);
        let Some(t) = tls.get(&conn).filter(|v| v.len() == 1).map(|v| v[0]) else {
            p.push(format!(
                "{ctx}: {} tls events, expected 1",
                tls.get(&conn).map_or(0, Vec::len)
            ));
            continue;
        };
        if t.version != Some(e.version) {
            p.push(format!("{ctx}: version {:?}, expected {}", t.version, e.version));
        }
        if t.cipher_suite.as_deref() != Some(e.suite) {
            p.push(format!("{ctx}: suite {:?}, expected {}", t.cipher_suite, e.suite));
        }
        if t.sni.as_deref() != Some(SNI) {
            p.push(format!("{ctx}: sni {:?}, expected {SNI}", t.sni));
        }
        if let Some(offered) = e.alpn_offered.get(i)
            && t.alpn_offered != *offered
        {
            p.push(format!(
                "{ctx}: alpn_offered {:?}, expected {offered:?}",
                t.alpn_offered
            ));
        }
        if let Some(r) = e.resumed.get(i)
            && t.resumed != *r
        {
            p.push(format!("{ctx}: resumed {}, expected {r}", t.resumed));
        }
        if t.client_random.as_ref().is_none_or(|r| r.len() != 64) {
            p.push(format!("{ctx}: client_random {:?}", t.client_random));
        }
        // TLS 1.3 selects ALPN inside EncryptedExtensions: seen only decrypted.
        let alpn = match w {
            Want::Decrypted(_) => e.alpn,
            Want::Not(_) if e.version == T13 => None,
            Want::Not(_) => e.alpn,
        };
        if t.alpn.as_deref() != alpn {
            p.push(format!("{ctx}: alpn {:?}, expected {alpn:?} ({w:?})", t.alpn));
        }
        let got = if t.decrypted {
            Want::Decrypted(t.decrypted_by.unwrap_or("(none)"))
        } else {
            Want::Not(t.reason.unwrap_or("(none)"))
        };
        if got != w {
            p.push(format!(
                "{ctx}: decrypted {} by {:?} reason {:?}, expected {w:?}",
                t.decrypted, t.decrypted_by, t.reason
            ));
        }
        if t.decrypted && t.reason.is_some() {
            p.push(format!("{ctx}: decrypted, yet reason {:?}", t.reason));
        }
        if !t.decrypted && t.decrypted_by.is_some() {
            p.push(format!(
                "{ctx}: not decrypted, yet decrypted_by {:?}",
                t.decrypted_by
            ));
        }
        let decoded = events
            .iter()
            .filter(|x| conn_of(x) == Some(conn) && is_decoded(x))
            .count();
        let Some(c) = closes.get(&conn) else {
            p.push(format!("{ctx}: no close record"));
            continue;
        };
        let Some(s) = &c.tls else {
            p.push(format!("{ctx}: the close record has no tls summary"));
            continue;
        };
        if s.version != Some(e.version)
            || s.cipher_suite.as_deref() != Some(e.suite)
            || s.sni.as_deref() != Some(SNI)
        {
            p.push(format!(
                "{ctx}: close.tls {:?} {:?} {:?}",
                s.version, s.cipher_suite, s.sni
            ));
        }
        if s.decrypted != t.decrypted {
            p.push(format!(
                "{ctx}: close.tls.decrypted {} but tls.decrypted {}",
                s.decrypted, t.decrypted
            ));
        }
        for d in Dir::BOTH {
            if s.records[d] == 0 {
                p.push(format!("{ctx}: close.tls: no {d} records"));
            }
        }
        match w {
            Want::Decrypted(_) => {
                if s.records_undecrypted.0 != [0, 0] {
                    p.push(format!(
                        "{ctx}: records not decrypted {:?}",
                        s.records_undecrypted.0
                    ));
                }
                if s.key_updates.0 != [e.key_updates.0, e.key_updates.1] {
                    p.push(format!(
                        "{ctx}: key_updates {:?}, expected {:?}",
                        s.key_updates.0, e.key_updates
                    ));
                }
                let has_ws = events
                    .iter()
                    .any(|x| matches!(x, Event::Handshake(h) if h.conn == conn && h.status == Some(101)));
                let proto = if has_ws { "wss" } else { "tls" };
                if c.protocol_name() != proto {
                    p.push(format!("{ctx}: protocol {}, expected {proto}", c.protocol_name()));
                }
                // What the plaintext carried: WebSocket (frames), else HTTP
                // (wss_chromium's page and favicon connections).
                let inner = if has_ws {
                    Protocol::WebSocket
                } else {
                    Protocol::Http
                };
                if c.protocol != inner {
                    p.push(format!("{ctx}: decrypted {:?}, expected {inner:?}", c.protocol));
                }
                if has_ws == (decoded == 0) {
                    p.push(format!(
                        "{ctx}: decrypted WebSocket {has_ws}, yet {decoded} decoded events"
                    ));
                }
            }
            Want::Not(_) => {
                for d in Dir::BOTH {
                    if s.records_undecrypted[d] == 0 {
                        p.push(format!(
                            "{ctx}: not decrypted, yet no {d} record counted undecrypted"
                        ));
                    }
                    if c.stats[d.index()].frames != 0 || c.stats[d.index()].messages != 0 {
                        p.push(format!("{ctx}: not decrypted, yet {d} frames/messages counted"));
                    }
                }
                if c.protocol_name() != "tls" {
                    p.push(format!("{ctx}: protocol {}, expected tls", c.protocol_name()));
                }
                if decoded > 0 {
                    p.push(format!(
                        "{ctx}: not decrypted, yet {decoded} handshake/frame/message/violation events"
                    ));
                }
            }
        }
    }
    p
}

/// Gaps and TLS diagnostics (undecryptable records, resyncs, malformed
/// handshakes): none in the fixtures, whose TCP streams are complete.
fn no_gaps_or_tls_diagnostics(name: &str, events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Gap(g) => Some(format!("{name} conn {}: gap {} {} bytes", g.conn, g.dir, g.bytes)),
            Event::Diagnostic(d) if d.code.starts_with("tls-") => {
                Some(format!("{name}: diagnostic {} {}", d.code, d.detail))
            }
            _ => None,
        })
        .collect()
}

/// Each direction's decrypted stream ends where its last frame ends (the
/// close frame is the last thing a peer writes into TLS), and those lengths
/// are what the peers wrote into TLS (`X.plaintext.jsonl`: lines of several
/// connections are not told apart, so as multisets). Not for wss_node (no
/// sidecar); wss_chromium logs only the server's directions, of three
/// connections of which one is WebSocket.
fn plaintext_lengths(path: &Path, events: &[Event]) -> Vec<String> {
    let side = wss::sidecar(path, "plaintext.jsonl");
    let Ok(text) = std::fs::read_to_string(&side) else {
        return Vec::new();
    };
    let name = wss::name(path);
    let mut want: Vec<(String, u64)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["dir"].as_str().unwrap().to_string(),
                v["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut ends: BTreeMap<(ConnId, Dir), u64> = BTreeMap::new();
    for e in events {
        if let Event::Frame(f) = e {
            let end = f.offset + u64::from(f.header_len) + f.len;
            let x = ends.entry((f.conn, f.dir)).or_default();
            *x = (*x).max(end);
        }
    }
    let mut got: Vec<(String, u64)> = ends.iter().map(|((_, d), n)| (d.to_string(), *n)).collect();
    want.sort();
    got.sort();
    if wss::stem(path) == "wss_chromium" {
        let s2c: Vec<&(String, u64)> = got.iter().filter(|(d, _)| d == "s2c").collect();
        if s2c.len() != 1 || !want.contains(s2c[0]) {
            return vec![format!(
                "{name}: s2c stream ends {s2c:?}, the server wrote {want:?}"
            )];
        }
        return Vec::new();
    }
    if got != want {
        return vec![format!(
            "{name}: decrypted streams end at {got:?}, the peers wrote {want:?}"
        )];
    }
    Vec::new()
}

fn fail_on(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_fixture_decrypts_with_its_key_log_and_decodes_what_the_peers_sent() {
    let mut problems = Vec::new();
    let mut total = Compared::default();
    for path in fixtures() {
        let name = wss::name(&path);
        let e = expect(&path);
        let keys = wss::keys_text(&path);
        let (log, report) = wss::keylog(&keys);
        assert_eq!(
            report.malformed, 0,
            "{name}: the key log as the client wrote it is readable"
        );
        assert!(log.len() >= e.resumed.len(), "{name}: key log entries");
        let events = wss::analyze_keys(&path, Some(&keys));
        problems.extend(check_tls(&name, e, &events, |_| Want::Decrypted("keylog")));
        // The client random is the ClientHello's, which the key log names.
        let randoms = wss::key_randoms(&keys);
        for t in tls_events(&events).values().flatten() {
            if !t.client_random.as_ref().is_some_and(|r| randoms.contains(r)) {
                problems.push(format!(
                    "{name} conn {}: client random {:?} not in the key log",
                    t.conn, t.client_random
                ));
            }
        }
        problems.extend(no_gaps_or_tls_diagnostics(&name, &events));
        problems.extend(plaintext_lengths(&path, &events));
        let (p, n) = wss::compare_with_sent(&name, &events, &wss::sent_log(&path));
        problems.extend(p);
        let frames = events.iter().filter(|x| matches!(x, Event::Frame(_))).count();
        println!(
            "{name}: {} connections, {frames} frames; {} messages and {} control frames equal the send log",
            e.resumed.len(),
            n.messages,
            n.control_frames
        );
        if n.messages == 0 || n.control_frames == 0 {
            problems.push(format!("{name}: nothing compared"));
        }
        total.messages += n.messages;
        total.control_frames += n.control_frames;
    }
    println!(
        "total: {} messages, {} control frames",
        total.messages, total.control_frames
    );
    assert!(total.messages > 300, "only {} messages compared", total.messages);
    fail_on(problems);
}

/// permessage-deflate inside TLS: negotiated, and the messages the peers
/// compressed come out inflated (equal to the send log, checked above).
#[test]
fn deflate_over_tls_inflates() {
    let path = wss::wss_dir().join("wss_py13_deflate.pcap");
    let events = wss::analyze_keys(&path, Some(&wss::keys_text(&path)));
    let hs = events
        .iter()
        .find_map(|e| {
            if let Event::Handshake(h) = e {
                Some(h)
            } else {
                None
            }
        })
        .expect("handshake decrypted");
    assert!(hs.deflate.is_some(), "permessage-deflate negotiated");
    for dir in Dir::BOTH {
        let inflated = events
            .iter()
            .filter(|e| {
                matches!(e, Event::Message(m) if m.dir == dir && m.compressed
                    && m.inflate_error.is_none() && m.data.len() as u64 != m.wire_len)
            })
            .count();
        assert!(inflated >= 10, "{dir}: {inflated} inflated messages");
    }
    let (p, n) = wss::compare_with_sent("wss_py13_deflate.pcap", &events, &wss::sent_log(&path));
    fail_on(p);
    assert_eq!(n.messages + n.control_frames, 40);
}

/// KeyUpdate: 3 each way (derived, not read from the key log's
/// `*_TRAFFIC_SECRET_N` lines), and every message after them decrypted —
/// also with those lines removed from the key log.
#[test]
fn key_updates_are_followed_in_both_directions() {
    let path = wss::wss_dir().join("wss_keyupdate.pcap");
    let full = wss::keys_text(&path);
    assert!(full.contains("CLIENT_TRAFFIC_SECRET_N") || full.contains("_TRAFFIC_SECRET_1"));
    let gen0: String = full
        .lines()
        .filter(|l| !l.starts_with("CLIENT_TRAFFIC_SECRET_N") && !l.starts_with("SERVER_TRAFFIC_SECRET_N"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(gen0.lines().count() < full.lines().count());
    for keys in [full.as_str(), gen0.as_str()] {
        let events = wss::analyze_keys(&path, Some(keys));
        let s = &common::summaries(&events)[0];
        let t = s.tls.as_ref().expect("tls summary");
        assert_eq!(t.key_updates.0, [3, 3], "key updates c2s, s2c");
        assert_eq!(t.records_undecrypted.0, [0, 0]);
        let (p, n) = wss::compare_with_sent("wss_keyupdate.pcap", &events, &wss::sent_log(&path));
        fail_on(p);
        assert_eq!(n.messages + n.control_frames, 20, "all 20 sent lines present");
        // The last message each way was sent after the third KeyUpdate.
        for dir in Dir::BOTH {
            assert_eq!(
                s.stats[dir.index()].close.as_ref().and_then(|c| c.0),
                Some(1000),
                "{dir} close"
            );
        }
    }
}

/// The keys inside wss_dsb.pcapng's Decryption Secrets Block decrypt it with
/// no key log (`decrypted_by: "dsb"`); with the block removed nothing does;
/// with its secrets corrupted, `bad-key`.
#[test]
fn pcapng_decryption_secrets_block() {
    let path = wss::wss_dir().join("wss_dsb.pcapng");
    let e = expect(&path);
    let events = wss::analyze_keys(&path, None);
    let mut p = check_tls("wss_dsb.pcapng (dsb)", e, &events, |_| Want::Decrypted("dsb"));
    let (cmp, n) = wss::compare_with_sent("wss_dsb.pcapng (dsb)", &events, &wss::sent_log(&path));
    p.extend(cmp);
    assert_eq!(n.messages + n.control_frames, 16);

    let bytes = std::fs::read(&path).unwrap();
    let mut blob = Vec::new();
    let (_, blocks) = wss::pcapng_map_dsb(&bytes, |d| {
        blob = d.to_vec();
        Some(d.to_vec())
    });
    assert_eq!(blocks, 1, "one Decryption Secrets Block");
    // The block holds the key log kept beside it.
    assert_eq!(
        wss::key_randoms(&String::from_utf8_lossy(&blob)),
        wss::key_randoms(&wss::keys_text(&path))
    );
    // Rewriting the block unchanged changes nothing.
    let (same, _) = wss::pcapng_map_dsb(&bytes, |d| Some(d.to_vec()));
    assert_eq!(same, bytes);

    let stripped = wss::without_embedded_keys(&path);
    assert!(stripped.len() < bytes.len());
    let events = wss::analyze_bytes("no-dsb", stripped, wss::config(None));
    p.extend(check_tls("wss_dsb.pcapng (block removed)", e, &events, |_| {
        Want::Not("no-key")
    }));

    let (bad, _) = wss::pcapng_map_dsb(&bytes, |d| {
        Some(wss::corrupt_secrets(&String::from_utf8_lossy(d)).into_bytes())
    });
    let events = wss::analyze_bytes("bad-dsb", bad, wss::config(None));
    p.extend(check_tls("wss_dsb.pcapng (block corrupted)", e, &events, |_| {
        Want::Not("bad-key")
    }));
    fail_on(p);
}

/// Without keys: every TLS connection still gets its `tls` event with what
/// the cleartext hellos show, `decrypted: false, reason: "no-key"`, and no
/// handshake, frame, message or violation is invented from ciphertext.
#[test]
fn without_keys_every_connection_says_no_key_and_nothing_is_invented() {
    let mut problems = Vec::new();
    for path in fixtures() {
        let name = format!("{} (no keys)", wss::name(&path));
        let events = wss::analyze_bytes(&name, wss::without_embedded_keys(&path), wss::config(None));
        problems.extend(check_tls(&name, expect(&path), &events, |_| Want::Not("no-key")));
        let decoded: Vec<&Event> = events.iter().filter(|e| is_decoded(e)).collect();
        if !decoded.is_empty() {
            problems.push(format!(
                "{name}: {} decoded events, e.g. {:?}",
                decoded.len(),
                decoded[0]
            ));
        }
        // The same client randoms as when decrypted.
        let keyed = wss::analyze_keys(&path, Some(&wss::keys_text(&path)));
        let randoms = |ev: &[Event]| -> Vec<Option<String>> {
            tls_events(ev)
                .values()
                .flatten()
                .map(|t| t.client_random.clone())
                .collect()
        };
        if randoms(&events) != randoms(&keyed) {
            problems.push(format!("{name}: client randoms differ from the decrypted run"));
        }
    }
    fail_on(problems);
}

/// A key log whose secrets are all wrong: `bad-key`, and nothing decoded.
#[test]
fn corrupted_secrets_give_bad_key_and_no_frames() {
    let mut problems = Vec::new();
    for path in fixtures() {
        let name = format!("{} (corrupted key log)", wss::name(&path));
        let keys = wss::keys_text(&path);
        let bad = wss::corrupt_secrets(&keys);
        assert_ne!(bad, keys);
        assert_eq!(
            wss::key_randoms(&bad),
            wss::key_randoms(&keys),
            "client randoms kept"
        );
        let (_, report) = wss::keylog(&bad);
        assert_eq!(report.malformed, 0, "{name}: still well formed");
        let events = wss::analyze_bytes(&name, wss::without_embedded_keys(&path), wss::config(Some(&bad)));
        problems.extend(check_tls(&name, expect(&path), &events, |_| Want::Not("bad-key")));
    }
    fail_on(problems);
}

/// The events of one connection.
fn of_conn(events: &[Event], conn: ConnId) -> Vec<&Event> {
    events.iter().filter(|e| conn_of(e) == Some(conn)).collect()
}

/// A key log with the lines of some connections only decrypts exactly those,
/// and each of them exactly as with the whole key log; the others say
/// `no-key`. (TLS 1.3 resumption derives from secrets the key log does not
/// hold, so a resumed connection needs its own lines. TLS 1.2 resumption
/// from the first connection's master secret: the next test.)
#[test]
fn a_key_log_with_some_connections_decrypts_exactly_those() {
    let mut problems = Vec::new();
    let mut runs = 0;
    for path in fixtures() {
        let e = expect(&path);
        if e.resumed.len() < 2 {
            continue;
        }
        let keys = wss::keys_text(&path);
        let full = wss::analyze_keys(&path, Some(&keys));
        let randoms: BTreeMap<ConnId, String> = tls_events(&full)
            .iter()
            .map(|(c, t)| (*c, t[0].client_random.clone().unwrap()))
            .collect();
        for (&conn, random) in &randoms {
            if e.version == T12 && !e.resumed[conn as usize] {
                // Its master secret also decrypts the resumed connections.
                continue;
            }
            let name = format!("{} (key log of conn {conn} only)", wss::name(&path));
            let only = wss::keep_randoms(&keys, &BTreeSet::from([random.clone()]));
            assert!(only.lines().any(|l| l.contains(random.as_str())));
            let events = wss::analyze_keys(&path, Some(&only));
            runs += 1;
            problems.extend(check_tls(&name, e, &events, |c| {
                if c == conn {
                    Want::Decrypted("keylog")
                } else {
                    Want::Not("no-key")
                }
            }));
            if of_conn(&events, conn) != of_conn(&full, conn) {
                problems.push(format!(
                    "{name}: conn {conn}'s events differ from the run with the whole key log"
                ));
            }
        }
    }
    assert!(runs >= 5, "{runs} partial key logs tried");
    fail_on(problems);
}

/// TLS 1.2 session-id and session-ticket resumption: the resumed connection
/// has no key exchange and uses the first connection's master secret. With
/// only the first connection's `CLIENT_RANDOM` line both decrypt (issue 10:
/// "session-id and session-ticket resumption using the master secret of an
/// earlier full handshake (from the key log or the same capture)";
/// fixtures/README.md: "Drop the second line to test resumption from the
/// earlier handshake").
#[test]
fn tls12_resumption_uses_the_earlier_handshakes_master_secret() {
    let mut problems = Vec::new();
    for stem in ["wss_resumed12_id", "wss_resumed12_ticket"] {
        let path = wss::wss_dir().join(format!("{stem}.pcap"));
        let keys = wss::keys_text(&path);
        let full = wss::analyze_keys(&path, Some(&keys));
        let first = tls_events(&full)[&0][0].client_random.clone().unwrap();
        let only = wss::keep_randoms(&keys, &BTreeSet::from([first]));
        assert_eq!(wss::key_randoms(&only).len(), 1);
        let name = format!("{stem}.pcap (first CLIENT_RANDOM line only)");
        let events = wss::analyze_keys(&path, Some(&only));
        problems.extend(check_tls(&name, expect(&path), &events, |_| {
            Want::Decrypted("keylog")
        }));
        // The `tls` event says where the resumed connection's key came from.
        let detail = tls_events(&events)
            .get(&1)
            .and_then(|t| t[0].detail.clone())
            .unwrap_or_default();
        if detail.is_empty() {
            problems.push(format!(
                "{name} conn 1: detail {detail:?} does not name the earlier connection"
            ));
        }
        let (p, _) = wss::compare_with_sent(&name, &events, &wss::sent_log(&path));
        problems.extend(p);
    }
    fail_on(problems);
}

/// Order: a connection's `tls` event comes after its `connection` event and
/// before any handshake, frame, message, gap or violation of it (and its
/// `close` last). Packet stamps: the packets a plaintext frame or message
/// names are packets of its connection, sent in its direction, carrying
/// payload — the TLS records that held it.
#[test]
fn tls_event_comes_first_and_plaintext_points_at_its_packets() {
    let mut problems = Vec::new();
    let mut spans = 0;
    for path in fixtures() {
        let name = wss::name(&path);
        let events = wss::analyze_keys(&path, Some(&wss::keys_text(&path)));
        for conn in connections(&events) {
            let pos =
                |f: &dyn Fn(&Event) -> bool| events.iter().position(|e| conn_of(e) == Some(conn) && f(e));
            let connection = pos(&|e| matches!(e, Event::Connection(_)));
            let tls = pos(&|e| matches!(e, Event::Tls(_)));
            let first_decoded = pos(&|e| is_decoded(e) || matches!(e, Event::Gap(_)));
            let close = pos(&|e| matches!(e, Event::Close(_)));
            let last = events.iter().rposition(|e| conn_of(e) == Some(conn));
            // (wss_chromium's page and favicon connections carry HTTP only:
            // nothing decoded; the others were checked to have frames.)
            let ok = connection.is_some()
                && connection < tls
                && first_decoded.is_none_or(|d| tls.is_some_and(|t| t < d))
                && close.is_some()
                && close == last;
            if !ok {
                problems.push(format!(
                    "{name} conn {conn}: connection at {connection:?}, tls at {tls:?}, first decoded at {first_decoded:?}, close at {close:?} (last event {last:?})"
                ));
            }
        }
        let packets = wss::payload_packets(std::fs::read(&path).unwrap(), &events);
        let mut named = Vec::new();
        for e in &events {
            match e {
                Event::Frame(f) => named.push((
                    format!("{name} frame at {} {}", f.dir, f.offset),
                    f.conn,
                    f.dir,
                    f.packets,
                )),
                Event::Message(m) => match m.packets {
                    Some(s) => named.push((format!("{name} message {} {}", m.dir, m.seq), m.conn, m.dir, s)),
                    None => problems.push(format!("{name} message {} {}: no packets", m.dir, m.seq)),
                },
                _ => {}
            }
        }
        for (what, conn, dir, span) in named {
            spans += 1;
            if span.first > span.last {
                problems.push(format!("{what}: packets {span:?}"));
            }
            for p in [span.first, span.last] {
                if packets.get(&p) != Some(&(conn, dir)) {
                    problems.push(format!(
                        "{what}: packet {p} of {span:?} is {:?}, not a payload packet of conn {conn} {dir}",
                        packets.get(&p)
                    ));
                }
            }
        }
    }
    assert!(spans > 500, "{spans} spans checked");
    fail_on(problems);
}

// ---- the command line ----

fn wsscope(args: &[&str], env: Option<(&str, &Path)>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsscope"));
    cmd.args(args).env_remove("SSLKEYLOGFILE").env("NO_COLOR", "1");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().expect("run wsscope")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn jsonl(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(v: &'a [Value], t: &str) -> Vec<&'a Value> {
    v.iter().filter(|x| x["type"] == t).collect()
}

/// The hint on stderr when TLS was not decrypted: how to get a key log.
fn hint_lines(err: &str) -> usize {
    err.lines()
        .filter(|l| l.contains("SSLKEYLOGFILE") && l.contains("--keylog"))
        .count()
}

#[test]
fn cli_keylog_option_and_sslkeylogfile() {
    let cap = wss::wss_dir().join("wss_resumed.pcap");
    let keys = wss::sidecar(&cap, "keys");
    let (cap_s, keys_s) = (cap.to_str().unwrap(), keys.to_str().unwrap());

    // --keylog: exit 0, every connection decrypted, frames, no hint.
    let o = wsscope(&["dump", "--format", "jsonl", "--keylog", keys_s, cap_s], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = jsonl(&o);
    let tls = of_type(&v, "tls");
    assert_eq!(tls.len(), 2);
    for t in &tls {
        assert_eq!(
            (t["decrypted"].as_bool(), t["decrypted_by"].as_str()),
            (Some(true), Some("keylog")),
            "{t}"
        );
        assert!(t["reason"].is_null());
    }
    assert_eq!(of_type(&v, "frame").len(), 28, "README: 28 frames");
    assert_eq!(
        hint_lines(&stderr(&o)),
        0,
        "no hint when all is decrypted: {}",
        stderr(&o)
    );
    // The text dump too.
    let o = wsscope(&["dump", "--keylog", keys_s, cap_s], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // $SSLKEYLOGFILE when no --keylog: used, and said on stderr.
    let o = wsscope(
        &["dump", "--format", "jsonl", cap_s],
        Some(("SSLKEYLOGFILE", &keys)),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("SSLKEYLOGFILE") && err.contains(keys_s),
        "stderr: {err}"
    );
    let v = jsonl(&o);
    assert!(
        of_type(&v, "tls")
            .iter()
            .all(|t| t["decrypted"] == true && t["decrypted_by"] == "keylog")
    );
    assert_eq!(of_type(&v, "frame").len(), 28);
    assert_eq!(hint_lines(&err), 0);

    // --keylog wins over $SSLKEYLOGFILE (here a key log with wrong secrets).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.keys");
    std::fs::write(&bad, wss::corrupt_secrets(&wss::keys_text(&cap))).unwrap();
    let o = wsscope(
        &["dump", "--format", "jsonl", "--keylog", keys_s, cap_s],
        Some(("SSLKEYLOGFILE", &bad)),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(of_type(&jsonl(&o), "tls").iter().all(|t| t["decrypted"] == true));
    let o = wsscope(
        &["dump", "--format", "jsonl", cap_s],
        Some(("SSLKEYLOGFILE", &bad)),
    );
    assert!(
        of_type(&jsonl(&o), "tls")
            .iter()
            .all(|t| t["reason"] == "bad-key")
    );

    // Without keys: still exit 0, no-key, no frames, and one hint naming
    // both ways to give a key log.
    let o = wsscope(&["dump", "--format", "jsonl", cap_s], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = jsonl(&o);
    assert!(
        of_type(&v, "tls")
            .iter()
            .all(|t| t["decrypted"] == false && t["reason"] == "no-key")
    );
    assert_eq!(of_type(&v, "frame").len(), 0);
    assert_eq!(hint_lines(&stderr(&o)), 1, "one hint: {}", stderr(&o));
    let o = wsscope(&["dump", cap_s], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(hint_lines(&stderr(&o)), 1, "one hint: {}", stderr(&o));

    // A key log that is not there: exit 2, the message names it.
    let missing = dir.path().join("missing.keys");
    let o = wsscope(&["dump", "--keylog", missing.to_str().unwrap(), cap_s], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(missing.to_str().unwrap()), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o = wsscope(&["dump", "--keylog", "/nonexistent", cap_s], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent"), "{}", stderr(&o));
}

#[test]
fn cli_conns_shows_wss_and_sni() {
    let cap = wss::wss_dir().join("wss_chromium.pcap");
    let keys = wss::sidecar(&cap, "keys");
    let (cap_s, keys_s) = (cap.to_str().unwrap(), keys.to_str().unwrap());

    let o = wsscope(&["conns", "--keylog", keys_s, cap_s], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let proto = header.iter().position(|c| *c == "proto").expect("a proto column");
    let sni = header.iter().position(|c| *c == "sni").expect("an sni column");
    let rows: Vec<Vec<&str>> = lines
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() > 5 && r[0].parse::<u64>().is_ok())
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    // conn 1 is the WebSocket; the page and favicon connections are TLS (HTTP inside).
    let protos: Vec<&str> = rows.iter().map(|r| r[proto]).collect();
    assert_eq!(protos, ["tls", "wss", "tls"], "{out}");
    assert!(rows.iter().all(|r| r[sni] == SNI), "{out}");

    let o = wsscope(&["conns", "--format", "jsonl", "--keylog", keys_s, cap_s], None);
    let v = jsonl(&o);
    assert_eq!(v.len(), 3);
    assert_eq!(v[1]["protocol"], "wss");
    for c in &v {
        assert_eq!(c["tls"]["sni"], SNI);
        assert_eq!(c["tls"]["decrypted"], true);
        assert_eq!(c["tls"]["version"], T13);
    }
    assert!(v[1]["c2s"]["frames"].as_u64().unwrap() > 0);

    // Without keys: all three are `tls`, the SNI still shown.
    let o = wsscope(&["conns", cap_s], None);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() > 5 && r[0].parse::<u64>().is_ok())
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows.iter().all(|r| r[proto] == "tls" && r[sni] == SNI), "{out}");
    let v = jsonl(&wsscope(&["conns", "--format", "jsonl", cap_s], None));
    assert!(
        v.iter()
            .all(|c| c["protocol"] == "tls" && c["tls"]["decrypted"] == false)
    );
}
