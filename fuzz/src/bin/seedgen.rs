//! Writes seed corpora for the fuzz targets from capture files.
//!
//!     cargo run --release --features seedgen --bin seedgen -- OUT_DIR CAPTURE...
//!
//! creates `OUT_DIR/pcap_file/` (the captures themselves), `OUT_DIR/packets/`
//! (each capture's first packets in the `packets` input format) and
//! `OUT_DIR/ws_session/` (each TCP connection's reassembled byte streams in
//! the `ws_session` format), `OUT_DIR/ws_session_upgraded/` (the same streams
//! with each direction's first HTTP head removed, i.e. just the frames after
//! the handshake) and `OUT_DIR/http_head/` (each direction's first 4 KiB).
//! `OUT_DIR/tcp_reassembly/` (each TCP direction's segments, absolute
//! sequence numbers) and `OUT_DIR/tls_layer/` (op sequences that encrypt a
//! TLS 1.3 session under the harness's key log; no capture needed).
//! Seeds are capped at [`MAX_SEED`] bytes and captures over
//! [`MAX_CAPTURE`] bytes are skipped: small seeds keep the fuzzer's
//! `max_len` (and so every execution) small, and the seeds live in git.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use wsscope::decode::{Decoded, Decoder};
use wsscope::source::file::FileSource;
use wsscope::source::{PacketSource, SourceItem};
use wsscope::tcp::{FlowTable, NoClassifier, StreamEvent};
use wsscope_fuzz::LINK_TYPES;

const MAX_SEED: usize = 4 * 1024;
/// Bigger captures are not used (nor copied as `pcap_file` seeds).
const MAX_CAPTURE: u64 = 16 * 1024;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let out = PathBuf::from(args.next().expect("usage: seedgen OUT_DIR CAPTURE..."));
    for sub in [
        "pcap_file",
        "packets",
        "ws_session",
        "ws_session_upgraded",
        "http_head",
        "tcp_reassembly",
        "tls_layer",
    ] {
        std::fs::create_dir_all(out.join(sub))?;
    }
    tls_layer_seeds(&out.join("tls_layer"))?;
    for cap in args {
        let cap = PathBuf::from(cap);
        if std::fs::metadata(&cap).map(|m| m.len()).unwrap_or(u64::MAX) > MAX_CAPTURE {
            continue;
        }
        let stem = cap.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(e) = one(&out, &cap, &stem) {
            eprintln!("{stem}: {e:#}");
        }
    }
    Ok(())
}

fn one(out: &Path, cap: &Path, stem: &str) -> anyhow::Result<()> {
    std::fs::copy(cap, out.join("pcap_file").join(stem))?;
    let mut src = FileSource::open(cap)?;
    let mut packets_seed: Vec<u8> = Vec::new();
    let mut decoder = Decoder::new(Default::default());
    let mut flows = FlowTable::new(Default::default(), Box::new(NoClassifier));
    // conn -> ws_session-format ops
    let mut streams: BTreeMap<u64, Vec<Ev>> = BTreeMap::new();
    // conn -> request side bytes (http_head) / response side bytes
    let mut http: BTreeMap<(u64, usize), Vec<u8>> = BTreeMap::new();
    // (src, dst) -> tcp_reassembly-format ops
    let mut halves: BTreeMap<(std::net::SocketAddr, std::net::SocketAddr), Vec<u8>> = BTreeMap::new();
    let mut prev_ts = None;
    let mut index = 0u64;
    src.run(&mut |item| {
        let SourceItem::Packet(pkt) = item else {
            return ControlFlow::Continue(());
        };
        index += 1;
        if packets_seed.is_empty() {
            let li = LINK_TYPES.iter().position(|&l| l == pkt.link.0).unwrap_or(1) as u8;
            packets_seed.push(li);
        }
        if packets_seed.len() + pkt.data.len() + 5 <= MAX_SEED && pkt.data.len() <= 0xffff {
            let dt_ms = prev_ts.map_or(0.0, |p: wsscope::event::Timestamp| {
                pkt.ts.seconds_since(p) * 1000.0
            });
            let units = ((dt_ms / 10.0) as u8).min(63);
            let extra = pkt.orig_len as usize - pkt.data.len().min(pkt.orig_len as usize);
            let cut = extra > 0 && extra <= 0xffff;
            packets_seed.extend_from_slice(&(pkt.data.len() as u16).to_le_bytes());
            packets_seed.push((units << 1) | u8::from(cut));
            if cut {
                packets_seed.extend_from_slice(&(extra as u16).to_le_bytes());
            }
            packets_seed.extend_from_slice(pkt.data);
        }
        prev_ts = Some(pkt.ts);
        if let Decoded::Tcp(seg) = decoder.decode(&pkt) {
            half_ops(halves.entry((seg.src, seg.dst)).or_default(), &seg);
            flows.segment(&seg, pkt.ts, pkt.orig_len, index, &mut |ev: StreamEvent<'_>| {
                record(&mut streams, &mut http, ev)
            });
        }
        ControlFlow::Continue(())
    })?;
    flows.finish(&mut |ev: StreamEvent<'_>| record(&mut streams, &mut http, ev));
    std::fs::write(out.join("packets").join(stem), &packets_seed)?;
    for (i, ops) in halves.values().enumerate() {
        if ops.len() > 1 {
            std::fs::write(out.join("tcp_reassembly").join(format!("{stem}.{i}")), ops)?;
        }
    }
    for (conn, evs) in streams {
        // flags 0: no force_ws, default limits
        std::fs::write(
            out.join("ws_session").join(format!("{stem}.{conn}")),
            encode(&evs, [0, 0]),
        )?;
        // Drop each direction's first head (the handshake) for the upgraded variant.
        let skip: [usize; 2] = std::array::from_fn(|d| {
            let bytes: Vec<u8> = evs
                .iter()
                .filter_map(|e| match e {
                    Ev::Data(x, b) if *x == d => Some(b.as_slice()),
                    _ => None,
                })
                .flatten()
                .copied()
                .collect();
            wsscope::http::handshake::head_end(&bytes).unwrap_or(0)
        });
        if skip != [0, 0] {
            std::fs::write(
                out.join("ws_session_upgraded").join(format!("{stem}.{conn}")),
                encode(&evs, skip),
            )?;
        }
    }
    for ((conn, d), bytes) in http {
        // http_head format: flags (bit0 = response side), then u16 chunks.
        let mut seed = vec![d as u8];
        for c in bytes.chunks(1000) {
            seed.push(2);
            seed.extend_from_slice(&(c.len() as u16).to_le_bytes());
            seed.extend_from_slice(c);
        }
        std::fs::write(out.join("http_head").join(format!("{stem}.{conn}.{d}")), seed)?;
    }
    Ok(())
}

enum Ev {
    Data(usize, Vec<u8>),
    Gap(usize, u64),
    Fin(usize),
}

/// `ws_session` format, skipping the first `skip[dir]` data bytes of each direction.
fn encode(evs: &[Ev], mut skip: [usize; 2]) -> Vec<u8> {
    let mut s = vec![0u8];
    for e in evs {
        match e {
            Ev::Data(d, b) => {
                let k = skip[*d].min(b.len());
                skip[*d] -= k;
                let b = &b[k..];
                if b.is_empty() || s.len() + b.len() + 3 > MAX_SEED {
                    continue;
                }
                s.push(*d as u8 | (4 << 1));
                s.extend_from_slice(&(b.len() as u16).to_le_bytes());
                s.extend_from_slice(b);
            }
            Ev::Gap(d, len) => {
                if s.len() + 5 <= MAX_SEED {
                    s.push(*d as u8 | (6 << 1));
                    s.extend_from_slice(&((*len).min(u64::from(u32::MAX)) as u32).to_le_bytes());
                }
            }
            Ev::Fin(d) => {
                if s.len() < MAX_SEED {
                    s.push(*d as u8 | (7 << 1));
                }
            }
        }
    }
    s
}

fn record(
    streams: &mut BTreeMap<u64, Vec<Ev>>,
    http: &mut BTreeMap<(u64, usize), Vec<u8>>,
    ev: StreamEvent<'_>,
) {
    match ev {
        StreamEvent::Data { conn, dir, bytes, .. } => {
            let s = streams.entry(conn).or_default();
            if s.len() < 4096 {
                s.push(Ev::Data(dir.index(), bytes.to_vec()));
            }
            let h = http.entry((conn, dir.index())).or_default();
            if h.len() < 4096 {
                h.extend_from_slice(&bytes[..bytes.len().min(4096 - h.len())]);
            }
        }
        StreamEvent::Gap { conn, dir, len, .. } => {
            streams.entry(conn).or_default().push(Ev::Gap(dir.index(), len));
        }
        StreamEvent::Fin { conn, dir, .. } => {
            streams.entry(conn).or_default().push(Ev::Fin(dir.index()));
        }
        _ => {}
    }
}

/// Appends one segment to a `tcp_reassembly` seed (format: see
/// `fuzz_targets/tcp_reassembly.rs`); the payload goes in pieces of at most
/// 255 bytes (the format's u8 length) with consecutive sequence numbers.
fn half_ops(ops: &mut Vec<u8>, seg: &wsscope::decode::Segment<'_>) {
    if ops.is_empty() {
        if seg.flags.syn() {
            ops.push(1);
            ops.extend_from_slice(&seg.seq.to_le_bytes());
            return;
        }
        ops.push(0);
    }
    let mut seq = seg.seq;
    let mut chunks: Vec<&[u8]> = seg.payload.chunks(255).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (i, c) in chunks.into_iter().enumerate() {
        let missing = if i == last { seg.missing.min(255) } else { 0 };
        let fin = i == last && seg.flags.fin();
        if ops.len() + c.len() + 8 > MAX_SEED {
            return;
        }
        ops.push(u8::from(missing > 0) << 3 | u8::from(fin) << 4);
        ops.extend_from_slice(&seq.to_le_bytes());
        ops.push(c.len() as u8);
        ops.extend_from_slice(c);
        if missing > 0 {
            ops.push(missing as u8);
        }
        seq = seq.wrapping_add(c.len() as u32);
    }
    // The receiver's ACK for what was just sent: releases held bytes.
    if ops.len() + 5 <= MAX_SEED {
        ops.push(2);
        ops.extend_from_slice(&seq.wrapping_add(seg.missing).to_le_bytes());
    }
}

/// `tls_layer` seeds: TLS 1.3 sessions the harness encrypts under its own
/// key log, so mutations start from inputs that decrypt (format: see
/// `fuzz_targets/tls_layer.rs`).
fn tls_layer_seeds(dir: &Path) -> anyhow::Result<()> {
    // c2s ClientHello, s2c ServerHello (1.3) + CCS, both Finished (to the
    // application secrets), the HTTP upgrade both ways, WebSocket frames
    // both ways, a KeyUpdate, one more frame, FIN both ways.
    let mut session: Vec<u8> = vec![0x04, 0, 0x05, 0, 0, 0x09, 0x08, 0x0c, 0, 0x0d, 0];
    session.extend([0x0e, 0x81, 5]);
    session.extend(b"hello");
    session.extend([1, 2, 3, 4]);
    session.extend([0x0f, 0x81, 2]);
    session.extend(b"hi");
    session.extend([0x0b, 0, 0x0f, 0x82, 3, 0xde, 0xad, 0x01]);
    session.extend([0x1c, 0, 0x1d, 0]);
    let with = |flags: u8, ops: &[u8]| {
        let mut v = vec![flags, 7, 0];
        v.extend_from_slice(ops);
        v
    };
    let seeds: [(&str, Vec<u8>); 10] = [
        // handshake + application secrets, each suite
        ("aes128", with(0x0c, &session)),
        ("aes256", with(0x0d, &session)),
        ("chacha", with(0x0e, &session)),
        // as a Decryption Secrets Block, and with small WebSocket limits
        ("dsb", with(0x2c, &session)),
        ("small", with(0x4c, &session)),
        // wrong secrets: nothing decrypts
        ("wrong", with(0x1c, &session)),
        // no secrets until op 12 (late keys) right after the hellos
        (
            "late",
            with(0x00, &{
                let mut v = vec![0x04, 0, 0x05, 0, 0, 0x18];
                v.extend_from_slice(&session[5..]);
                v
            }),
        ),
        // a gap where a record was, sealed records split over packets, bulk
        (
            "gaps",
            with(
                0x0c,
                &[
                    0x04, 0, 0x05, 0, 0, 0x09, 0x08, 0x0c, 0, 0x13, 4, 1, 2, 3, 4, 0x0d, 3, 0x07, 0, 5, 1, 2,
                    3, 4, 5, 7,
                ],
            ),
        ),
        (
            "bulk",
            with(
                0x4c,
                &[
                    0x04, 0, 0x05, 0, 0, 0x09, 0x08, 0x0c, 0, 0x0d, 0, 0x11, 3, 0x00, 0x10, 0x41, 0x00, 0x02,
                ],
            ),
        ),
        // no key log, a 4 KiB held-record budget: bulk overflows it, then
        // the keys come (a DSB) too late for what was dropped
        (
            "held",
            with(
                0x80,
                &[
                    0x04, 0, 0x05, 0, 0, 0x09, 0x08, 0x0c, 0, 0x0d, 0, 0x11, 3, 0x00, 0x08, 0x41, 0x00, 0x02,
                    0x18, 0x0f, 0x81, 2, b'h', b'i',
                ],
            ),
        ),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}
