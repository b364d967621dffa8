//! `export` of decrypted TLS (`fixtures/wss/`): payloads come out as
//! plaintext (hexdump, raw, jsonl) with `--keylog`; `--wire` gives the
//! WebSocket bytes as they were inside TLS (masked, compressed) — checked
//! byte for byte against the plaintext the peers wrote into TLS; and
//! `--format pcap` of a decrypted connection writes a pcapng whose
//! Decryption Secrets Block holds that connection's keys (only its own),
//! which wsscope and tshark decrypt with no key log given.

mod common;

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wsscope::analyzer::AnalyzerConfig;
use wsscope::commands::export::run;
use wsscope::event::{ConnId, Dir, Event, TlsEvent};
use wsscope::output::export::ExportSummary;
use wsscope::tls::keylog::KeyLog;

fn wss(name: &str) -> PathBuf {
    let p = common::root().join("fixtures/wss").join(name);
    assert!(p.is_file(), "missing fixture {}", p.display());
    p
}

fn keys_path(cap: &Path) -> PathBuf {
    cap.with_extension("keys")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `wsscope export ARGS`; its stdout and summary.
fn export(a: &[&str]) -> (ExportSummary, Vec<u8>) {
    let mut out = Vec::new();
    let summary = run(&common::export_args(a), &mut out, false).unwrap_or_else(|e| panic!("{a:?}: {e:#}"));
    (summary, out)
}

/// Events of a capture analysed with the key log at `keys` (or none).
fn analyze(cap: &Path, keys: Option<&Path>) -> Vec<Event> {
    let mut cfg = AnalyzerConfig::default();
    if let Some(k) = keys {
        let mut log = KeyLog::new();
        log.parse_complete(&std::fs::read(k).unwrap(), &mut Default::default());
        cfg.keylog = Some(Arc::new(log));
    }
    common::analyze_with(cap, cfg)
}

fn tls_events(events: &[Event]) -> Vec<TlsEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Tls(t) => Some((**t).clone()),
            _ => None,
        })
        .collect()
}

/// The data messages the peers sent in `dir` (text and binary), in order.
fn sent_payloads(cap: &Path, dir: Dir) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(cap.with_extension("sent.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["dir"] == dir.as_str() && (v["opcode"] == "text" || v["opcode"] == "binary"))
        .map(|v| match (v["text"].as_str(), v["data_hex"].as_str()) {
            (Some(t), _) => t.as_bytes().to_vec(),
            (None, Some(h)) => hex::decode(h).unwrap(),
            _ => panic!("{}: a sent line without payload: {v}", cap.display()),
        })
        .collect()
}

/// Single-connection Python fixtures, clean links (their `.sent.jsonl`
/// and `.plaintext.jsonl` describe one connection).
const SIMPLE: &[&str] = &[
    "wss_py13_aes128.pcap",
    "wss_py13_aes256.pcap",
    "wss_py13_chacha.pcap",
    "wss_py13_hrr.pcap",
    "wss_py12_gcm.pcap",
    "wss_py12_chacha.pcap",
    "wss_py12_cbc.pcap",
    "wss_py12_cbc_noetm.pcap",
    "wss_py12_cbc_sha384.pcap",
    "wss_py12_rsa.pcap",
    "wss_py13_deflate.pcap",
    "wss_keyupdate.pcap",
];

// ------------------------------------------------------- plaintext payloads

#[test]
fn decrypted_payloads_export_as_raw_hexdump_and_jsonl() {
    for name in SIMPLE {
        let cap = wss(name);
        let keys = keys_path(&cap);
        let (cap_s, keys_s) = (s(&cap), s(&keys));
        for dir in Dir::BOTH {
            // raw: the messages' bytes, exactly what the peer sent.
            let (sum, raw) = export(&[
                cap_s,
                "--keylog",
                keys_s,
                "--format",
                "raw",
                "--dir",
                dir.as_str(),
            ]);
            let want = sent_payloads(&cap, dir);
            assert_eq!(raw, want.concat(), "{name} {dir}: raw");
            assert_eq!(sum.selected, want.len() as u64, "{name} {dir}");
            // hexdump: one `# conn` header per message, then `hexdump -C`.
            let (_, dump) = export(&[cap_s, "--keylog", keys_s, "--dir", dir.as_str()]);
            let dump = String::from_utf8(dump).unwrap();
            let headers: Vec<&str> = dump.lines().filter(|l| l.starts_with("# conn 0 ")).collect();
            assert_eq!(headers.len(), want.len(), "{name} {dir}: hexdump\n{dump}");
            assert!(
                headers[0].starts_with(&format!("# conn 0 {dir} "))
                    && headers[0].contains(&format!(" text {} bytes (message ", want[0].len())),
                "{name}: {}",
                headers[0]
            );
        }
        // The first message as hexdump -C prints it.
        let (_, dump) = export(&[
            cap_s,
            "--keylog",
            keys_s,
            "--dir",
            "c2s",
            "--grep",
            "^hello, wsscope$",
        ]);
        let dump = String::from_utf8(dump).unwrap();
        if !dump.is_empty() {
            assert!(
                dump.contains(
                    "00000000  68 65 6c 6c 6f 2c 20 77  73 73 63 6f 70 65        |hello, wsscope|\n0000000e\n"
                ),
                "{name}: {dump}"
            );
        }
        // jsonl: connection, tls (decrypted, from the key log), handshake, then the records.
        let (_, jsonl) = export(&[cap_s, "--keylog", keys_s, "--format", "jsonl"]);
        let recs: Vec<serde_json::Value> = String::from_utf8(jsonl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let types: Vec<&str> = recs.iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(types[..3], ["connection", "tls", "handshake"], "{name}");
        assert_eq!(recs[1]["decrypted"], true, "{name}");
        assert_eq!(recs[1]["decrypted_by"], "keylog", "{name}");
        let messages = types.iter().filter(|t| **t == "message").count();
        let sent = sent_payloads(&cap, Dir::C2S).len() + sent_payloads(&cap, Dir::S2C).len();
        assert_eq!(messages, sent, "{name}: jsonl messages");
        assert_eq!(types.last(), Some(&"close"), "{name}");
        // Without the key: nothing inside to export, and the message says why.
        let (sum, out) = export(&[cap_s]);
        assert!(sum.matched_nothing() && out.is_empty(), "{name}");
        let msg = wsscope::commands::export::nothing_message(&sum, &common::export_args(&[cap_s]));
        assert!(
            msg.contains("1 TLS connection could not be decrypted (no-key): give the key log with --keylog"),
            "{name}: {msg}"
        );
    }
}

// --------------------------------------------------------------- --wire

/// The HTTP/1.1 head as the Python peers wrote it (status line, headers in
/// order, CRLF): with the frames' wire bytes after it, the whole plaintext
/// stream of one direction.
fn http_head(h: &wsscope::event::HandshakeEvent, dir: Dir) -> Vec<u8> {
    let (first, headers) = match dir {
        Dir::C2S => (format!("{} {} HTTP/1.1", h.method, h.path), &h.request_headers),
        Dir::S2C => (
            format!(
                "HTTP/1.1 {} {}",
                h.status.unwrap(),
                h.reason.as_deref().unwrap_or("")
            ),
            &h.response_headers,
        ),
    };
    let mut s = format!("{first}\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// Parses `--frames --wire --annotate --format xxd` back into each frame's
/// bytes: the `# header` line, then the payload's xxd lines.
fn frames_from_annotated_xxd(text: &str) -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# header ") {
            let hexes: String = h.split(" (").next().unwrap().split(' ').collect();
            frames.push(hex::decode(hexes).unwrap());
        } else if !line.starts_with('#') {
            let groups = &line[10..49];
            let hexes: String = groups.split_whitespace().collect();
            frames.last_mut().unwrap().extend(hex::decode(hexes).unwrap());
        }
    }
    frames
}

/// `--wire` on decrypted TLS: each frame's header and re-masked payload,
/// after the HTTP head, are exactly the plaintext the peer wrote into TLS
/// (the fixtures' `.plaintext.jsonl`: length and SHA-256 per direction).
#[test]
fn wire_bytes_are_the_websocket_bytes_inside_tls() {
    for name in SIMPLE {
        let cap = wss(name);
        let keys = keys_path(&cap);
        let events = analyze(&cap, Some(&keys));
        let hs = events
            .iter()
            .find_map(|e| match e {
                Event::Handshake(h) => Some(h.clone()),
                _ => None,
            })
            .unwrap();
        let plain: Vec<serde_json::Value> = std::fs::read_to_string(cap.with_extension("plaintext.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for dir in Dir::BOTH {
            let (_, out) = export(&[
                s(&cap),
                "--keylog",
                s(&keys),
                "--frames",
                "--wire",
                "--annotate",
                "--format",
                "xxd",
                "--dir",
                dir.as_str(),
            ]);
            let frames = frames_from_annotated_xxd(&String::from_utf8(out).unwrap());
            assert!(!frames.is_empty(), "{name} {dir}");
            let mut stream = http_head(&hs, dir);
            for f in &frames {
                stream.extend_from_slice(f);
            }
            let want = plain
                .iter()
                .find(|v| v["dir"] == dir.as_str())
                .unwrap_or_else(|| panic!("{name}: no plaintext line for {dir}"));
            assert_eq!(
                stream.len() as u64,
                want["bytes"].as_u64().unwrap(),
                "{name} {dir}: bytes"
            );
            assert_eq!(
                hex::encode(Sha256::digest(&stream)),
                want["sha256"].as_str().unwrap(),
                "{name} {dir}: the rebuilt plaintext differs from what the peer wrote into TLS"
            );
            // Client frames are masked on the wire: the wire bytes differ from the payloads.
            if dir == Dir::C2S {
                let (_, plain_frames) = export(&[
                    s(&cap),
                    "--keylog",
                    s(&keys),
                    "--frames",
                    "--format",
                    "raw",
                    "--dir",
                    "c2s",
                ]);
                let (_, wire_frames) = export(&[
                    s(&cap),
                    "--keylog",
                    s(&keys),
                    "--frames",
                    "--wire",
                    "--format",
                    "raw",
                    "--dir",
                    "c2s",
                ]);
                assert_eq!(plain_frames.len(), wire_frames.len(), "{name}");
                assert_ne!(plain_frames, wire_frames, "{name}: c2s wire bytes are masked");
            }
        }
    }
}

/// permessage-deflate inside TLS: `--wire` messages are the compressed
/// (and, client to server, masked) frame payloads, not the inflated text.
#[test]
fn wire_messages_inside_tls_are_compressed_and_masked() {
    let cap = wss("wss_py13_deflate.pcap");
    let keys = keys_path(&cap);
    let events = analyze(&cap, Some(&keys));
    for dir in Dir::BOTH {
        let want: Vec<u8> = events
            .iter()
            .filter_map(|e| match e {
                Event::Frame(f) if f.dir == dir && f.opcode < 8 => {
                    Some(wsscope::output::wire::wire_payload(f))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let (_, wire) = export(&[
            s(&cap),
            "--keylog",
            s(&keys),
            "--wire",
            "--format",
            "raw",
            "--dir",
            dir.as_str(),
        ]);
        assert_eq!(wire, want, "{dir}");
        let (_, inflated) = export(&[
            s(&cap),
            "--keylog",
            s(&keys),
            "--format",
            "raw",
            "--dir",
            dir.as_str(),
        ]);
        assert_eq!(inflated, sent_payloads(&cap, dir).concat(), "{dir}");
        assert!(wire.len() < inflated.len(), "{dir}: compressed on the wire");
        let (_, dump) = export(&[s(&cap), "--keylog", s(&keys), "--wire", "--dir", dir.as_str()]);
        let dump = String::from_utf8(dump).unwrap();
        assert!(
            dump.contains("compressed,") && dump.contains("wire bytes)"),
            "{dump}"
        );
        assert!(!dump.contains("wire bytes of only"), "{dump}");
    }
}

// ------------------------------------------------------- pcap → pcapng

/// pcapng blocks (little-endian files, as we write them): type and body.
fn pcapng_blocks(data: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0x0A0D_0D0A, "not a pcapng");
    assert_eq!(u32_at(8), 0x1A2B_3C4D, "byte-order magic");
    let mut blocks = Vec::new();
    let mut o = 0;
    while o < data.len() {
        let (kind, len) = (u32_at(o), u32_at(o + 4) as usize);
        assert!(len >= 12 && len % 4 == 0 && o + len <= data.len(), "block at {o}");
        assert_eq!(u32_at(o + len - 4) as usize, len, "trailing length at {o}");
        blocks.push((kind, data[o + 8..o + len - 4].to_vec()));
        o += len;
    }
    blocks
}

const DSB: u32 = 0x0000_000A;
const EPB: u32 = 0x0000_0006;
const TLS_KEY_LOG: u32 = 0x544c_534b;

/// The TLS key log text of the file's Decryption Secrets Blocks; asserts
/// they all come before the first packet.
fn embedded_keys(data: &[u8]) -> String {
    let blocks = pcapng_blocks(data);
    let first_packet = blocks.iter().position(|(k, _)| *k == EPB).expect("packets");
    let mut text = String::new();
    for (i, (kind, body)) in blocks.iter().enumerate() {
        if *kind == DSB {
            assert!(
                i < first_packet,
                "a Decryption Secrets Block after the first packet"
            );
            assert_eq!(u32::from_le_bytes(body[..4].try_into().unwrap()), TLS_KEY_LOG);
            let n = u32::from_le_bytes(body[4..8].try_into().unwrap()) as usize;
            text.push_str(std::str::from_utf8(&body[8..8 + n]).unwrap());
        }
    }
    text
}

/// Key log lines with a label wsscope uses, of the given client randoms.
fn key_lines(text: &str, randoms: &BTreeSet<String>) -> BTreeSet<String> {
    const LABELS: &[&str] = &[
        "CLIENT_RANDOM",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
        "EARLY_EXPORTER_SECRET",
        "CLIENT_EARLY_TRAFFIC_SECRET",
    ];
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && LABELS.contains(&f[0]) && randoms.contains(&f[1].to_lowercase()))
                .then(|| format!("{} {} {}", f[0], f[1].to_lowercase(), f[2].to_lowercase()))
        })
        .collect()
}

/// Messages per connection: (dir, opcode, data), in order.
fn messages(events: &[Event]) -> BTreeMap<ConnId, Vec<(Dir, u8, Vec<u8>)>> {
    let mut m: BTreeMap<ConnId, Vec<_>> = BTreeMap::new();
    for e in events {
        if let Event::Message(x) = e {
            m.entry(x.conn)
                .or_default()
                .push((x.dir, x.opcode, x.data.clone()));
        }
    }
    m
}

fn export_pcap(cap: &Path, keys: Option<&Path>, out: &Path, flags: &[&str]) -> ExportSummary {
    let mut a = vec![s(cap), "--format", "pcap", "-o", s(out)];
    if let Some(k) = keys {
        a.extend(["--keylog", s(k)]);
    }
    a.extend_from_slice(flags);
    export(&a).0
}

/// One connection of a capture with three: the pcapng carries its keys
/// and no other's, before the first packet, and reads back decrypted
/// with no key log (`decrypted_by: "dsb"`).
#[test]
fn pcap_export_of_a_decrypted_connection_is_pcapng_with_its_keys_only() {
    let cap = wss("wss_chromium.pcap");
    let keys = keys_path(&cap);
    let original = analyze(&cap, Some(&keys));
    let tls = tls_events(&original);
    assert_eq!(tls.len(), 3);
    let ws_conn = 1;
    let random = tls[ws_conn as usize].client_random.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("conn1.pcapng");
    let sum = export_pcap(&cap, Some(&keys), &out, &["--conn", "1"]);
    assert_eq!(sum.tls_keys_written, BTreeSet::from([ws_conn]));
    assert!(sum.tls_keys_missing.is_empty());
    let data = std::fs::read(&out).unwrap();
    let embedded = embedded_keys(&data);
    let mine = BTreeSet::from([random.clone()]);
    let want = key_lines(&std::fs::read_to_string(&keys).unwrap(), &mine);
    assert!(want.len() >= 4, "{want:?}");
    let got: BTreeSet<String> = embedded.lines().map(str::to_string).collect();
    assert_eq!(got, want, "exactly conn 1's key log lines");
    for t in &tls {
        let r = t.client_random.as_deref().unwrap();
        assert_eq!(embedded.contains(r), r == random, "client random {r}");
    }
    // Read back without --keylog: decrypted from the file's own block.
    let back = analyze(&out, None);
    let back_tls = tls_events(&back);
    assert_eq!(back_tls.len(), 1);
    assert!(back_tls[0].decrypted, "{:?}", back_tls[0]);
    assert_eq!(back_tls[0].decrypted_by, Some("dsb"));
    assert_eq!(back_tls[0].client_random.as_deref(), Some(random.as_str()));
    let want = messages(&original).remove(&ws_conn).unwrap();
    assert_eq!(messages(&back).remove(&0).unwrap(), want);
    assert_eq!(want.len(), 14);
}

/// Every wss fixture, all connections: the export reads back with every
/// message as decrypted with the key log, and the file holds the key
/// lines of its connections (all of them here).
#[test]
fn every_wss_fixture_exports_to_a_self_decrypting_pcapng() {
    let dir = tempfile::tempdir().unwrap();
    let caps: Vec<PathBuf> = common::captures_in(&common::root().join("fixtures/wss"));
    let mut checked = 0;
    for cap in caps {
        // The pcapng fixture brings its keys inside; the others have a key log.
        let keys = Some(keys_path(&cap)).filter(|k| k.is_file() && !s(&cap).ends_with(".pcapng"));
        let original = analyze(&cap, keys.as_deref());
        let tls = tls_events(&original);
        assert!(tls.iter().all(|t| t.decrypted), "{}: {tls:?}", cap.display());
        let out = dir.path().join("all.pcapng");
        let sum = export_pcap(&cap, keys.as_deref(), &out, &[]);
        let conns: BTreeSet<ConnId> = tls.iter().map(|t| t.conn).collect();
        assert_eq!(sum.tls_keys_written, conns, "{}", cap.display());
        let data = std::fs::read(&out).unwrap();
        let randoms: BTreeSet<String> = tls.iter().filter_map(|t| t.client_random.clone()).collect();
        let embedded: BTreeSet<String> = embedded_keys(&data).lines().map(str::to_string).collect();
        let source = match &keys {
            Some(k) => std::fs::read_to_string(k).unwrap(),
            None => std::fs::read_to_string(cap.with_extension("keys")).unwrap(),
        };
        assert_eq!(embedded, key_lines(&source, &randoms), "{}", cap.display());
        let back = analyze(&out, None);
        let back_tls = tls_events(&back);
        assert_eq!(back_tls.len(), tls.len(), "{}", cap.display());
        assert!(
            back_tls
                .iter()
                .all(|t| t.decrypted && t.decrypted_by == Some("dsb")),
            "{}: {back_tls:?}",
            cap.display()
        );
        assert_eq!(messages(&back), messages(&original), "{}", cap.display());
        checked += 1;
    }
    assert!(checked >= 19, "{checked}");
}

/// Without keys nothing was decrypted: the export stays a pcap, as for
/// plaintext captures (tests/identical.rs pins those byte for byte).
#[test]
fn undecrypted_and_plaintext_exports_stay_pcap() {
    let dir = tempfile::tempdir().unwrap();
    for (cap, keys) in [
        (wss("wss_py13_aes128.pcap"), None),
        (common::root().join("fixtures/py_basic.pcap"), None),
        // A key log for another capture: nothing decrypted here.
        (wss("wss_py13_aes128.pcap"), Some(wss("wss_py12_gcm.keys"))),
    ] {
        let out = dir.path().join("o.pcap");
        let sum = export_pcap(&cap, keys.as_deref(), &out, &[]);
        assert!(sum.tls_keys_written.is_empty() && sum.tls_keys_missing.is_empty());
        let data = std::fs::read(&out).unwrap();
        assert_eq!(
            data[..4],
            0xa1b2_3c4du32.to_le_bytes(),
            "{}: pcap (ns) magic",
            cap.display()
        );
    }
}

/// A TLS 1.2 connection resumed with the master secret of an earlier
/// connection (its own key log line removed) has no line to embed: it is
/// reported, and the earlier connection's keys still go in.
#[test]
fn resumed_without_its_own_key_line_is_reported() {
    let cap = wss("wss_resumed12_id.pcap");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(keys_path(&cap)).unwrap();
    let first_only: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    let keys = dir.path().join("first.keys");
    std::fs::write(&keys, first_only).unwrap();
    let tls = tls_events(&analyze(&cap, Some(&keys)));
    assert!(tls.iter().all(|t| t.decrypted), "{tls:?}");
    let out = dir.path().join("o.pcapng");
    let sum = export_pcap(&cap, Some(&keys), &out, &[]);
    assert_eq!(sum.tls_keys_written, BTreeSet::from([0]));
    assert_eq!(sum.tls_keys_missing, BTreeSet::from([1]));
    let notes = wsscope::commands::export::tls_key_notes(&sum);
    assert!(notes[0].starts_with("wrote pcapng, not pcap"), "{notes:?}");
    assert!(notes[1].contains("connection 1"), "{notes:?}");
    // Alone, the resumed connection has no keys to carry: a pcap.
    let out1 = dir.path().join("o1.pcap");
    let sum = export_pcap(&cap, Some(&keys), &out1, &["--conn", "1"]);
    assert!(sum.tls_keys_written.is_empty());
    assert_eq!(sum.tls_keys_missing, BTreeSet::from([1]));
    assert_eq!(std::fs::read(&out1).unwrap()[..4], 0xa1b2_3c4du32.to_le_bytes());
}

/// `tshark -r out.pcapng -Y websocket` with no key log option decodes the
/// same WebSocket frames as tshark on the original with `-o
/// tls.keylog_file:KEYS`, and as many as wsscope found.
#[test]
#[ignore = "needs tshark (installed by .ci/run)"]
fn tshark_decrypts_the_exported_pcapng_with_no_key_log_option() {
    common::require_tshark();
    let dir = tempfile::tempdir().unwrap();
    let opcodes = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["-o", "tcp.reassemble_out_of_order:TRUE"];
        a.extend_from_slice(args);
        a.extend(["-Y", "websocket", "-T", "fields", "-e", "websocket.opcode"]);
        common::tshark(&a)
            .lines()
            .flat_map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let more = [
        "wss_chromium.pcap",
        "wss_resumed.pcap",
        "wss_resumed12_ticket.pcap",
        "wss_node.pcap",
        "wss_impaired.pcap",
        "wss_dsb.pcapng",
    ];
    for name in SIMPLE.iter().chain(&more) {
        let cap = wss(name);
        // wss_dsb.pcapng carries its keys; the others come with a key log.
        let keys = keys_path(&cap);
        let given = (!name.ends_with(".pcapng")).then_some(keys.as_path());
        let out = dir.path().join(format!("{name}.out.pcapng"));
        let sum = export_pcap(&cap, given, &out, &[]);
        assert!(!sum.tls_keys_written.is_empty(), "{name}");
        let got = opcodes(&["-r", s(&out)]);
        let keylog = format!("tls.keylog_file:{}", s(&keys));
        let want = opcodes(&["-r", s(&cap), "-o", &keylog]);
        assert!(
            !got.is_empty(),
            "{name}: tshark decoded no WebSocket in the export"
        );
        assert_eq!(got, want, "{name}");
        let frames = analyze(&cap, given)
            .iter()
            .filter(|e| matches!(e, Event::Frame(_)))
            .count();
        assert_eq!(got.len(), frames, "{name}: tshark's frames vs wsscope's");
        // And without any keys, tshark sees none (the keys come from the file).
        if given.is_some() {
            let plain = dir.path().join("plain.pcap");
            export_pcap(&cap, None, &plain, &[]);
            assert!(opcodes(&["-r", s(&plain)]).is_empty(), "{name}");
        }
    }
    // One connection of three: only it decrypts.
    let cap = wss("wss_chromium.pcap");
    let out = dir.path().join("c1.pcapng");
    export_pcap(&cap, Some(&keys_path(&cap)), &out, &["--conn", "1"]);
    assert_eq!(opcodes(&["-r", s(&out)]).len(), 16);
}
