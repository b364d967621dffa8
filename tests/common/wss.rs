//! Helpers for the wss (TLS) fixture tests (`fixtures/wss/`): the captures
//! and their key logs, analysis with a key log, key log and pcapng surgery
//! (corrupted secrets, some connections only, Decryption Secrets Blocks
//! removed or altered), the comparison with the peers' send logs (the same
//! rules as tests/ws_fixtures.rs), and which packets belong to which
//! connection.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wsscope::analyzer::AnalyzerConfig;
use wsscope::decode::{Decoded, Decoder, DefragConfig};
use wsscope::event::{ConnId, Dir, Event, FrameEvent, MessageEvent};
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceItem};
use wsscope::tls::keylog::{KeyLog, ParseReport};

pub fn wss_dir() -> PathBuf {
    super::root().join("fixtures/wss")
}

/// Every capture in `fixtures/wss/`.
pub fn wss_fixtures() -> Vec<PathBuf> {
    super::captures_in(&wss_dir())
}

/// `wss_py13_aes128` for `.../wss_py13_aes128.pcap`.
pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

pub fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The fixture's sidecar `X.<ext>`.
pub fn sidecar(path: &Path, ext: &str) -> PathBuf {
    path.with_file_name(format!("{}.{ext}", stem(path)))
}

/// The NSS key log the fixture's TLS client wrote (`X.keys`).
pub fn keys_text(path: &Path) -> String {
    let p = sidecar(path, "keys");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Key log text parsed as wsscope parses a whole file.
pub fn keylog(text: &str) -> (Arc<KeyLog>, ParseReport) {
    let mut log = KeyLog::new();
    let mut report = ParseReport::default();
    log.parse_complete(text.as_bytes(), &mut report);
    (Arc::new(log), report)
}

/// The default configuration with the key log `text` (none: `None`).
pub fn config(keys: Option<&str>) -> AnalyzerConfig {
    AnalyzerConfig {
        keylog: keys.map(|t| keylog(t).0),
        ..AnalyzerConfig::default()
    }
}

/// Every event of a capture file, with the key log `keys`.
pub fn analyze_keys(path: &Path, keys: Option<&str>) -> Vec<Event> {
    super::analyze_with(path, config(keys))
}

/// Every event of a capture held in memory.
pub fn analyze_bytes(name: &str, bytes: Vec<u8>, cfg: AnalyzerConfig) -> Vec<Event> {
    let mut src = FileSource::from_reader(name.to_string(), Box::new(std::io::Cursor::new(bytes)))
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let mut events = Vec::new();
    wsscope::pipeline::analyze(&mut src, cfg, &mut events).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    events
}

/// Key log lines: `(label, client random, secret)`, comments and blank lines left out.
fn key_lines(text: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    text.lines().filter_map(|l| {
        let l = l.trim_end_matches('\r');
        if l.starts_with('#') {
            return None;
        }
        let mut f = l.split_ascii_whitespace();
        let (a, b, c) = (f.next()?, f.next()?, f.next()?);
        Some((a, b, c))
    })
}

/// The client randoms (lowercase hex) the key log holds secrets for (the
/// `RSA` lines, keyed by encrypted premaster, are not client randoms).
pub fn key_randoms(text: &str) -> BTreeSet<String> {
    key_lines(text)
        .filter(|(label, random, _)| *label != "RSA" && random.len() == 64)
        .map(|(_, r, _)| r.to_ascii_lowercase())
        .collect()
}

/// The key log with every hex digit of every secret inverted (`0`↔`f`,
/// `1`↔`e`, ...): every byte of every secret differs, the lines stay well
/// formed.
pub fn corrupt_secrets(text: &str) -> String {
    let flip = |c: char| match c.to_digit(16) {
        Some(d) => std::char::from_digit(15 - d, 16).unwrap(),
        None => c,
    };
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            out.push_str(line);
        } else {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            if f.len() == 3 {
                let secret: String = f[2].chars().map(flip).collect();
                out.push_str(&format!("{} {} {secret}", f[0], f[1]));
            } else {
                out.push_str(line);
            }
        }
        out.push('\n');
    }
    out
}

/// The key log with only the lines of these client randoms (and comments).
pub fn keep_randoms(text: &str, randoms: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        let keep = line.starts_with('#') || (f.len() == 3 && randoms.contains(&f[1].to_ascii_lowercase()));
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// pcapng Decryption Secrets Block type.
const DSB: u32 = 0x0000_000A;
const SHB: u32 = 0x0A0D_0D0A;

/// Rewrites a pcapng file's Decryption Secrets Blocks: `f` gets each block's
/// secrets data and returns the new data, or `None` to drop the block.
/// Returns the new file and how many blocks `f` saw.
pub fn pcapng_map_dsb(bytes: &[u8], mut f: impl FnMut(&[u8]) -> Option<Vec<u8>>) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut seen = 0;
    let mut le = true;
    let mut pos = 0usize;
    let u32_at = |b: &[u8], at: usize, le: bool| {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    while pos + 12 <= bytes.len() {
        let typ = u32_at(bytes, pos, le);
        if typ == SHB {
            le = bytes[pos + 8..pos + 12] == [0x4D, 0x3C, 0x2B, 0x1A];
        }
        let len = u32_at(bytes, pos + 4, le) as usize;
        assert!(
            len >= 12 && pos + len <= bytes.len(),
            "pcapng block at {pos}: length {len}"
        );
        let block = &bytes[pos..pos + len];
        if typ == DSB {
            seen += 1;
            let data_len = u32_at(block, 12, le) as usize;
            let padded = data_len.div_ceil(4) * 4;
            let data = &block[16..16 + data_len];
            let options = &block[16 + padded..len - 4];
            if let Some(new) = f(data) {
                let enc = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
                let new_padded = new.len().div_ceil(4) * 4;
                let total = (16 + new_padded + options.len() + 4) as u32;
                out.extend_from_slice(&enc(DSB));
                out.extend_from_slice(&enc(total));
                out.extend_from_slice(&block[8..12]); // secrets type
                out.extend_from_slice(&enc(new.len() as u32));
                out.extend_from_slice(&new);
                out.resize(out.len() + new_padded - new.len(), 0);
                out.extend_from_slice(options);
                out.extend_from_slice(&enc(total));
            }
        } else {
            out.extend_from_slice(block);
        }
        pos += len;
    }
    assert_eq!(pos, bytes.len(), "pcapng: trailing bytes");
    (out, seen)
}

/// The fixture's bytes, with any Decryption Secrets Block removed (a pcap
/// is returned as it is). So a capture "without keys" really has none.
pub fn without_embedded_keys(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if name(path).ends_with(".pcapng") {
        let (out, n) = pcapng_map_dsb(&bytes, |_| None);
        assert!(n > 0, "{}: no Decryption Secrets Block to remove", path.display());
        out
    } else {
        bytes
    }
}

/// The peers' send log (`X.sent.jsonl`).
pub fn sent_log(path: &Path) -> Vec<Value> {
    let p = sidecar(path, "sent.jsonl");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn dir_of(v: &Value) -> Dir {
    if v["dir"] == "c2s" { Dir::C2S } else { Dir::S2C }
}

pub fn opcode_of(v: &Value) -> Option<u8> {
    match &v["opcode"] {
        Value::String(s) => wsscope::select::parse_opcode(s).ok(),
        Value::Number(n) => n.as_u64().map(|n| n as u8),
        _ => None,
    }
}

pub fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// What was compared with the send log.
#[derive(Debug, Default, Clone, Copy)]
pub struct Compared {
    pub messages: usize,
    pub control_frames: usize,
}

/// The decoded messages and control frames against the peers' send log, as
/// tests/ws_fixtures.rs compares the plaintext fixtures: per direction, data
/// messages (after reassembly and inflation) in order, and control frames
/// in order — opcode, length, content (SHA-256), compression, fragments,
/// text, close code and reason. Events of several connections are taken in
/// connection order (the peers log connection after connection). Returns
/// the problems found.
pub fn compare_with_sent(name: &str, events: &[Event], log: &[Value]) -> (Vec<String>, Compared) {
    let mut problems = Vec::new();
    let mut n = Compared::default();
    let mut p = |s: String| problems.push(s);
    for dir in Dir::BOTH {
        let mut msgs: Vec<&MessageEvent> = events
            .iter()
            .filter_map(|e| if let Event::Message(m) = e { Some(m) } else { None })
            .filter(|m| m.dir == dir)
            .collect();
        msgs.sort_by_key(|m| m.conn); // stable: capture order within a connection
        let mut ctrl: Vec<&FrameEvent> = events
            .iter()
            .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
            .filter(|f| f.dir == dir && f.opcode >= 8)
            .collect();
        ctrl.sort_by_key(|f| f.conn);
        let want_msgs: Vec<&Value> = log
            .iter()
            .filter(|v| dir_of(v) == dir && opcode_of(v).is_some_and(|o| o < 8))
            .collect();
        let want_ctrl: Vec<&Value> = log
            .iter()
            .filter(|v| dir_of(v) == dir && opcode_of(v).is_some_and(|o| o >= 8))
            .collect();
        if msgs.len() != want_msgs.len() {
            p(format!(
                "{name} {dir}: {} messages, the peer sent {}",
                msgs.len(),
                want_msgs.len()
            ));
        }
        for (i, (m, w)) in msgs.iter().zip(&want_msgs).enumerate() {
            n.messages += 1;
            let ctx = format!("{name} {dir} message {i} (conn {})", m.conn);
            if Some(m.opcode) != opcode_of(w) {
                p(format!("{ctx}: opcode {} vs sent {}", m.opcode, w["opcode"]));
            }
            if m.data.len() as u64 != w["len"].as_u64().unwrap() {
                p(format!("{ctx}: length {} vs sent {}", m.data.len(), w["len"]));
            }
            if sha(&m.data) != w["sha256"].as_str().unwrap() {
                p(format!("{ctx}: content differs from what was sent"));
            }
            if let Some(e) = &m.inflate_error {
                p(format!("{ctx}: inflate error {e}"));
            }
            if m.truncated {
                p(format!("{ctx}: truncated"));
            }
            if let Some(c) = w.get("compressed").and_then(|c| c.as_bool())
                && m.compressed != c
            {
                p(format!("{ctx}: compressed {} vs sent {c}", m.compressed));
            }
            if let Some(k) = w.get("fragments").and_then(|n| n.as_u64())
                && u64::from(m.frames) < k
            {
                p(format!("{ctx}: {} frames, peer sent {k} fragments", m.frames));
            }
            if let Some(t) = w.get("text").and_then(|t| t.as_str()) {
                if !m.is_text {
                    p(format!("{ctx}: not valid text"));
                } else if String::from_utf8_lossy(&m.data) != t {
                    p(format!("{ctx}: text differs"));
                }
            }
        }
        if ctrl.len() != want_ctrl.len() {
            p(format!(
                "{name} {dir}: {} control frames, the peer sent {}",
                ctrl.len(),
                want_ctrl.len()
            ));
        }
        for (i, (f, w)) in ctrl.iter().zip(&want_ctrl).enumerate() {
            n.control_frames += 1;
            let ctx = format!("{name} {dir} control frame {i} (conn {})", f.conn);
            if Some(f.opcode) != opcode_of(w) {
                p(format!("{ctx}: opcode {} vs sent {}", f.opcode, w["opcode"]));
            }
            if sha(&f.payload) != w["sha256"].as_str().unwrap() {
                p(format!("{ctx}: payload differs from what was sent"));
            }
            if f.opcode == 8 {
                if f.close_code.map(u64::from) != w["code"].as_u64() {
                    p(format!(
                        "{ctx}: close code {:?} vs sent {}",
                        f.close_code, w["code"]
                    ));
                }
                if let Some(r) = w.get("reason").and_then(|r| r.as_str())
                    && f.close_reason.as_deref().unwrap_or("") != r
                {
                    p(format!("{ctx}: close reason {:?} vs sent {r:?}", f.close_reason));
                }
            }
        }
    }
    for e in events {
        if let Event::Violation(v) = e {
            p(format!(
                "{name} conn {}: real peers broke no rule, yet: {} {}",
                v.conn, v.rule, v.detail
            ));
        }
    }
    (problems, n)
}

/// Which connection and direction each packet with TCP payload belongs to,
/// read independently of the analyzer (the capture's packets decoded to
/// their 4-tuples, matched with the `connection` events' endpoints).
pub fn payload_packets(bytes: Vec<u8>, events: &[Event]) -> BTreeMap<u64, (ConnId, Dir)> {
    let mut conns: BTreeMap<(SocketAddr, SocketAddr), (ConnId, Dir)> = BTreeMap::new();
    for e in events {
        if let Event::Connection(c) = e {
            let old = conns.insert((c.client, c.server), (c.conn, Dir::C2S));
            assert!(old.is_none(), "4-tuple reused: not expected in the wss fixtures");
            conns.insert((c.server, c.client), (c.conn, Dir::S2C));
        }
    }
    let mut src = FileSource::from_reader("capture".into(), Box::new(std::io::Cursor::new(bytes))).unwrap();
    let mut dec = Decoder::new(DefragConfig::default());
    let mut out = BTreeMap::new();
    src.run(&mut |item| {
        if let SourceItem::Packet(pkt) = item
            && let Decoded::Tcp(seg) = dec.decode(&pkt)
            && !seg.payload.is_empty()
            && let Some(c) = conns.get(&(seg.src, seg.dst))
        {
            out.insert(pkt.index, *c);
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}
