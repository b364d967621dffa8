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
//! Seeds are capped in size so they stay useful to the fuzzer.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use wsscope::decode::{Decoded, Decoder};
use wsscope::source::{PacketSource, SourceItem};
use wsscope::source::file::FileSource;
use wsscope::tcp::{FlowTable, NoClassifier, StreamEvent};
use wsscope_fuzz::LINK_TYPES;

const MAX_SEED: usize = 64 * 1024;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let out = PathBuf::from(args.next().expect("usage: seedgen OUT_DIR CAPTURE..."));
    for sub in [
        "pcap_file",
        "packets",
        "ws_session",
        "ws_session_upgraded",
        "http_head",
    ] {
        std::fs::create_dir_all(out.join(sub))?;
    }
    for cap in args {
        let cap = PathBuf::from(cap);
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
            flows.segment(&seg, pkt.ts, pkt.orig_len, index, &mut |ev: StreamEvent<'_>| {
                record(&mut streams, &mut http, ev)
            });
        }
        ControlFlow::Continue(())
    })?;
    flows.finish(&mut |ev: StreamEvent<'_>| record(&mut streams, &mut http, ev));
    std::fs::write(out.join("packets").join(stem), &packets_seed)?;
    for (conn, evs) in streams {
        // flags 0: no force_ws, default limits
        std::fs::write(
            out.join("ws_session").join(format!("{stem}.{conn}")),
            encode(&evs, [0, 0]),
        )?;
        // Drop each direction's first head (the handshake) for the upgraded variant.
        let mut skip = [0usize; 2];
        for d in 0..2 {
            let bytes: Vec<u8> = evs
                .iter()
                .filter_map(|e| match e {
                    Ev::Data(x, b) if *x == d => Some(b.as_slice()),
                    _ => None,
                })
                .flatten()
                .copied()
                .collect();
            skip[d] = wsscope::http::handshake::head_end(&bytes).unwrap_or(0);
        }
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
