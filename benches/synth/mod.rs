//! Synthetic captures for benchmarks and scale tests: many interleaved TCP
//! connections, each a real-looking WebSocket session (handshake, masked
//! client frames, server frames, close), with a few percent of segments
//! reordered and retransmitted so reassembly does real work.
//!
//! Deterministic (fixed-seed xorshift), so every run measures the same bytes.
#![allow(dead_code)]

/// Captures shaped to cost memory, not time (`benches/memory_hostile.sh`).
pub mod hostile;
/// The same traffic inside TLS 1.3, with its key log (`benches/wss_compare.sh`).
pub mod tls;

use etherparse::PacketBuilder;
use std::io::{self, Write};
use wsscope::event::Timestamp;
use wsscope::source::LinkType;
use wsscope::source::pcap_writer::PcapWriter;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Flow {
    cport: u16,
    cseq: u32,
    sseq: u32,
    /// Messages left to send.
    left: u32,
    stage: u8,
    /// permessage-deflate with context takeover: each side's compressor.
    deflate: Option<(Deflater, Deflater)>,
}

/// One side's permessage-deflate compressor (RFC 7692: raw deflate, each
/// message sync-flushed and its `00 00 ff ff` tail removed; the window is
/// kept across messages).
struct Deflater(flate2::Compress);

impl Deflater {
    fn new() -> Self {
        Deflater(flate2::Compress::new(flate2::Compression::fast(), false))
    }

    fn message(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let before = self.0.total_in();
        loop {
            let done = (self.0.total_in() - before) as usize;
            out.reserve(data.len().max(64));
            // A Vec-backed compress cannot fail on valid state.
            let _ = self
                .0
                .compress_vec(&data[done..], &mut out, flate2::FlushCompress::Sync);
            if (self.0.total_in() - before) as usize == data.len() && out.ends_with(&[0, 0, 0xff, 0xff]) {
                break;
            }
        }
        out.truncate(out.len() - 4);
        out
    }
}

/// A JSON-RPC 2.0 document of about `len` bytes: a request (client) or a
/// notification whose params hold a list of records (server).
fn json_doc(rng: &mut Rng, len: usize, request: bool) -> Vec<u8> {
    let id = rng.next() % 1_000_000;
    if request {
        return format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"subscribe","params":["ticker"]}}"#)
            .into_bytes();
    }
    let mut s = format!(r#"{{"jsonrpc":"2.0","method":"update","params":{{"seq":{id},"items":["#);
    let mut n = 0;
    while s.len() + 60 < len.max(80) {
        if n > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"k":"item-{n}","v":{},"ok":true}}"#,
            rng.next() % 100_000
        ));
        n += 1;
    }
    s.push_str("]}}");
    s.into_bytes()
}

/// What a capture carries.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    /// permessage-deflate negotiated on every connection, with context
    /// takeover; messages are varied text (about 4:1 compression, as the
    /// real captures of the performance issue).
    pub deflate: bool,
    /// Every message a whole JSON-RPC 2.0 document (server notifications,
    /// client requests): what the application decoders read.
    pub json: bool,
}

fn ws_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xFFFF => {
            f.push(m | 126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            f.extend(k);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

/// A compressed text frame: RSV1 set on a FIN text frame.
fn deflated_frame(compressed: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = ws_frame(1, compressed, mask);
    f[0] |= 0x40;
    f
}

/// `base` with a quarter of its bytes replaced by random letters and digits
/// (in runs, as ids and numbers in JSON are): compresses about 4:1, not 50:1.
fn varied(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut v = base.to_vec();
    let mut i = 0;
    while i < v.len() {
        let run = 4 + rng.below(12) as usize;
        for b in v.iter_mut().skip(i).take(run) {
            *b = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
        }
        i += run * 4;
    }
    v
}

/// Writes a capture of at least `target_bytes` to `w`; returns bytes written.
pub fn generate<W: Write>(w: W, target_bytes: u64, conns: usize) -> io::Result<u64> {
    generate_shaped(w, target_bytes, conns, Shape::default())
}

/// [`generate`], with permessage-deflate when `shape` says so.
pub fn generate_shaped<W: Write>(w: W, target_bytes: u64, conns: usize, shape: Shape) -> io::Result<u64> {
    let mut out = PcapWriter::new(w, LinkType::ETHERNET, 65535)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut written = 24u64;
    let mut ts = Timestamp::new(1_700_000_000, 0);
    let client = [10, 1, 0, 1];
    let server = [10, 2, 0, 1];
    let mut flows: Vec<Flow> = (0..conns)
        .map(|i| Flow {
            cport: 20000 + i as u16,
            cseq: rng.next() as u32,
            sseq: rng.next() as u32,
            left: 200,
            stage: 0,
            deflate: None,
        })
        .collect();
    let mut buf = Vec::with_capacity(70_000);
    let mut held: Option<(Vec<u8>, u32)> = None;
    let text: Vec<u8> =
        br#"{"type":"update","seq":12345,"payload":"lorem ipsum dolor sit amet consectetur"}"#.repeat(40);
    let emit = |out: &mut PcapWriter<W>, ts: Timestamp, pkt: &[u8], written: &mut u64| -> io::Result<()> {
        out.write_raw(ts, pkt, pkt.len() as u32)?;
        *written += 16 + pkt.len() as u64;
        Ok(())
    };
    while written < target_bytes {
        let i = rng.below(flows.len() as u64) as usize;
        let f = &mut flows[i];
        ts.nanos += 1_000;
        if ts.nanos >= 1_000_000_000 {
            ts.nanos -= 1_000_000_000;
            ts.secs += 1;
        }
        let c2s = |seq: u32, ack: u32, flags: u8| {
            let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv4(client, server, 64);
            let t = b.tcp(f.cport, 8080, seq, 65535).ack(ack);
            if flags & 2 != 0 {
                t.syn()
            } else if flags & 1 != 0 {
                t.fin()
            } else {
                t.psh()
            }
        };
        match f.stage {
            0 => {
                let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                    .ipv4(client, server, 64)
                    .tcp(f.cport, 8080, f.cseq, 65535)
                    .syn();
                buf.clear();
                b.write(&mut buf, &[]).map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
                    .ipv4(server, client, 64)
                    .tcp(8080, f.cport, f.sseq, 65535)
                    .syn()
                    .ack(f.cseq.wrapping_add(1));
                buf.clear();
                b.write(&mut buf, &[]).map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                f.cseq = f.cseq.wrapping_add(1);
                f.sseq = f.sseq.wrapping_add(1);
                let req: &str = if shape.deflate {
                    "GET /feed HTTP/1.1\r\nHost: bench:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
                } else {
                    "GET /feed HTTP/1.1\r\nHost: bench:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                };
                buf.clear();
                c2s(f.cseq, f.sseq, 0)
                    .write(&mut buf, req.as_bytes())
                    .map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                f.cseq = f.cseq.wrapping_add(req.len() as u32);
                let resp: &[u8] = if shape.deflate {
                    f.deflate = Some((Deflater::new(), Deflater::new()));
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
                } else {
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                };
                let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
                    .ipv4(server, client, 64)
                    .tcp(8080, f.cport, f.sseq, 65535)
                    .psh()
                    .ack(f.cseq);
                buf.clear();
                b.write(&mut buf, resp).map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                f.sseq = f.sseq.wrapping_add(resp.len() as u32);
                f.stage = 1;
            }
            1 => {
                // A server message of 100..~3200 bytes, in MSS-sized segments.
                let len = 100 + rng.below(text.len() as u64 - 100) as usize;
                let doc;
                let body: &[u8] = if shape.json {
                    doc = json_doc(&mut rng, len, false);
                    &doc
                } else {
                    &text[..len]
                };
                let frame = match &mut f.deflate {
                    Some((server_side, _)) => {
                        let msg = varied(&mut rng, body);
                        deflated_frame(&server_side.message(&msg), None)
                    }
                    None => ws_frame(1, body, None),
                };
                for chunk in frame.chunks(1448) {
                    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
                        .ipv4(server, client, 64)
                        .tcp(8080, f.cport, f.sseq, 65535)
                        .psh()
                        .ack(f.cseq);
                    buf.clear();
                    b.write(&mut buf, chunk).map_err(io::Error::other)?;
                    f.sseq = f.sseq.wrapping_add(chunk.len() as u32);
                    let r = rng.below(100);
                    if r < 2 && held.is_none() {
                        // Hold back: delivered after the next segment (reordering).
                        held = Some((buf.clone(), 0));
                        continue;
                    }
                    emit(&mut out, ts, &buf, &mut written)?;
                    if r < 4 {
                        // Retransmission (same bytes).
                        emit(&mut out, ts, &buf, &mut written)?;
                    }
                    if let Some((h, _)) = held.take() {
                        emit(&mut out, ts, &h, &mut written)?;
                    }
                }
                // Sometimes a masked client message.
                if rng.below(4) == 0 {
                    let key = (rng.next() as u32).to_be_bytes();
                    let doc;
                    let body: &[u8] = if shape.json {
                        doc = json_doc(&mut rng, 60, true);
                        &doc
                    } else {
                        &text[..60]
                    };
                    let frame = match &mut f.deflate {
                        Some((_, client_side)) => deflated_frame(&client_side.message(body), Some(key)),
                        None => ws_frame(1, body, Some(key)),
                    };
                    buf.clear();
                    c2s(f.cseq, f.sseq, 0)
                        .write(&mut buf, &frame)
                        .map_err(io::Error::other)?;
                    emit(&mut out, ts, &buf, &mut written)?;
                    f.cseq = f.cseq.wrapping_add(frame.len() as u32);
                }
                f.left -= 1;
                if f.left == 0 {
                    f.stage = 2;
                }
            }
            _ => {
                // Close handshake, FINs, and the flow restarts on a new ISN.
                let frame = ws_frame(8, &1000u16.to_be_bytes(), Some([1, 2, 3, 4]));
                buf.clear();
                c2s(f.cseq, f.sseq, 0)
                    .write(&mut buf, &frame)
                    .map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                f.cseq = f.cseq.wrapping_add(frame.len() as u32);
                buf.clear();
                c2s(f.cseq, f.sseq, 1)
                    .write(&mut buf, &[])
                    .map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
                    .ipv4(server, client, 64)
                    .tcp(8080, f.cport, f.sseq, 65535)
                    .fin()
                    .ack(f.cseq.wrapping_add(1));
                buf.clear();
                b.write(&mut buf, &[]).map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                *f = Flow {
                    cport: f.cport,
                    cseq: rng.next() as u32,
                    sseq: rng.next() as u32,
                    left: 200,
                    stage: 0,
                    deflate: None,
                };
            }
        }
    }
    if let Some((h, _)) = held.take() {
        emit(&mut out, ts, &h, &mut written)?;
    }
    out.flush()?;
    Ok(written)
}
