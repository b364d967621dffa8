//! Hostile capture shapes for the memory-budget check
//! (`benches/memory_hostile.sh`): captures whose *shape*, not size, is what
//! a naive analyzer pays for in memory — per-connection state times a
//! million connections, per-segment overhead times millions of buffered
//! one-byte segments, payload buffers of frames and messages that never end.
//!
//! Every shape is written as it is generated (one reused packet buffer, the
//! streams computed from their offsets), so a multi-gigabyte capture costs
//! the generator a few megabytes, and is deterministic (fixed seed): each
//! run measures the same bytes. Legacy pcap, Ethernet / IPv4 / TCP, client
//! `10.x.y.z:port` → server `10.2.0.1:8080`, one microsecond per packet (a
//! million connections stay within seconds of each other, so no idle
//! timeout can be what saves the analyzer).

use super::Rng;
use base64::Engine;
use etherparse::PacketBuilder;
use std::io::{self, Write};
use wsscope::event::Timestamp;
use wsscope::http::accept::accept_for_key;
use wsscope::source::LinkType;
use wsscope::source::pcap_writer::PcapWriter;

/// The shapes, with the count `n` scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `n` SYN-only connections (distinct 4-tuples), nothing else.
    Syns,
    /// `n` connections each with a TCP handshake, a WebSocket upgrade
    /// request and its 101 (correct accept key), then nothing: left open.
    Handshakes,
    /// One WebSocket connection, then `n` one-byte server segments behind a
    /// one-byte hole that is never sent nor acknowledged past, so every
    /// segment must stay buffered until the capture ends (no FIN).
    Ooo,
    /// `n` WebSocket connections each sending one binary frame that
    /// announces 16 MiB and delivering 15 MiB of it, interleaved segment by
    /// segment so all are in progress at once; the frames never finish.
    Bigframes,
    /// `n` WebSocket connections each sending a fragmented text message
    /// (a non-FIN text frame, then non-FIN continuations, 16 KiB each) of
    /// 24 MiB that never gets its final fragment, interleaved.
    Fragmsg,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Syns,
        Kind::Handshakes,
        Kind::Ooo,
        Kind::Bigframes,
        Kind::Fragmsg,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Syns => "syns",
            Kind::Handshakes => "handshakes",
            Kind::Ooo => "ooo",
            Kind::Bigframes => "bigframes",
            Kind::Fragmsg => "fragmsg",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The full-size count: connections, or segments for `ooo`.
    pub fn default_n(self) -> u64 {
        match self {
            Kind::Syns | Kind::Handshakes => 1_000_000,
            Kind::Ooo => 8_000_000,
            Kind::Bigframes => 80,
            Kind::Fragmsg => 40,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    pub bytes: u64,
    pub packets: u64,
    pub connections: u64,
}

/// Bytes per data segment of the interleaved shapes.
const SEG: usize = 1400;
/// Frame announced by `bigframes`, and how much of it is sent.
const BIG_ANNOUNCED: u64 = 16 << 20;
const BIG_SENT: u64 = 15 << 20;
/// `fragmsg`: fragment payload and message size (never completed).
const FRAG: usize = 16 << 10;
const FRAG_MESSAGE: u64 = 24 << 20;

const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const SERVER: [u8; 4] = [10, 2, 0, 1];
const SERVER_PORT: u16 = 8080;

/// Writes the `kind` capture with count `n` to `w`.
pub fn generate<W: Write>(w: W, kind: Kind, n: u64) -> io::Result<Written> {
    let mut out = Out {
        pcap: PcapWriter::new(w, LinkType::ETHERNET, 65535)?,
        buf: Vec::with_capacity(2048),
        ts: Timestamp::new(1_700_000_000, 0),
        written: Written {
            bytes: 24,
            ..Written::default()
        },
    };
    let mut rng = Rng(0x5EED_0BAD_F00D_CAFE);
    match kind {
        Kind::Syns => {
            for i in 0..n {
                let c = Conn::new(i, &mut rng);
                out.packet(&c, Dir::C2s, Flags::Syn, c.cseq, 0, &[])?;
            }
        }
        Kind::Handshakes => {
            for i in 0..n {
                let mut c = Conn::new(i, &mut rng);
                out.open(&mut c, i)?;
            }
        }
        Kind::Ooo => {
            let mut c = Conn::new(0, &mut rng);
            out.open(&mut c, 0)?;
            // Tiny unmasked text frames ("\x81\x01x" repeated); the byte at
            // offset 0 (the first frame's first byte) is the hole.
            let stream = Stream {
                head: Vec::new(),
                period: vec![0x81, 0x01, b'x'],
                len: n.saturating_add(1),
            };
            let mut byte = [0u8; 1];
            for off in 1..=n {
                stream.fill(off, &mut byte);
                out.packet(
                    &c,
                    Dir::S2c,
                    Flags::Psh,
                    c.sseq.wrapping_add(off as u32),
                    c.cseq,
                    &byte,
                )?;
            }
        }
        Kind::Bigframes | Kind::Fragmsg => {
            let stream = if kind == Kind::Bigframes {
                let mut head = vec![0x82, 127];
                head.extend(BIG_ANNOUNCED.to_be_bytes());
                let len = head.len() as u64 + BIG_SENT;
                Stream {
                    head,
                    period: text(4096),
                    len,
                }
            } else {
                let payload = text(FRAG);
                let frame = |opcode: u8| {
                    let mut f = vec![opcode, 126];
                    f.extend((FRAG as u16).to_be_bytes());
                    f.extend_from_slice(&payload);
                    f
                };
                let period = frame(0x00);
                let frames = FRAG_MESSAGE / FRAG as u64;
                Stream {
                    head: frame(0x01),
                    len: frames * period.len() as u64,
                    period,
                }
            };
            let mut conns = Vec::new();
            for i in 0..n {
                let mut c = Conn::new(i, &mut rng);
                out.open(&mut c, i)?;
                conns.push(c);
            }
            let mut seg = vec![0u8; SEG];
            let mut sent = 0u64;
            while sent < stream.len {
                let len = (stream.len - sent).min(SEG as u64) as usize;
                let seg = &mut seg[..len];
                stream.fill(sent, seg);
                for c in &conns {
                    let seq = c.sseq.wrapping_add(sent as u32);
                    out.packet(c, Dir::S2c, Flags::Psh, seq, c.cseq, seg)?;
                }
                sent += len as u64;
            }
        }
    }
    out.written.connections = match kind {
        Kind::Ooo => 1,
        _ => n,
    };
    out.pcap.flush()?;
    Ok(out.written)
}

/// Printable ASCII (valid UTF-8 for text frames), `len` bytes.
fn text(len: usize) -> Vec<u8> {
    b"hostile payload: the frame that never ends, 0123456789 "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// A direction's byte stream, computed from the offset: `head`, then
/// `period` repeated, `len` bytes in all.
struct Stream {
    head: Vec<u8>,
    period: Vec<u8>,
    len: u64,
}

impl Stream {
    fn fill(&self, mut off: u64, out: &mut [u8]) {
        let mut at = 0;
        while at < out.len() {
            let src = match off.checked_sub(self.head.len() as u64) {
                None => &self.head[off as usize..],
                Some(p) => &self.period[(p % self.period.len() as u64) as usize..],
            };
            let n = src.len().min(out.len() - at);
            out[at..at + n].copy_from_slice(&src[..n]);
            at += n;
            off += n as u64;
        }
    }
}

/// One connection: its client address and the next sequence number of
/// each side.
struct Conn {
    client: [u8; 4],
    cport: u16,
    cseq: u32,
    sseq: u32,
}

impl Conn {
    /// Connection `i`: 50 000 ports per client address, addresses counting
    /// up from 10.1.0.0, so every `i` below 2^24 · 50 000 is its own 4-tuple.
    fn new(i: u64, rng: &mut Rng) -> Conn {
        let host = i / 50_000;
        Conn {
            client: [10, 1 + (host >> 16) as u8, (host >> 8) as u8, host as u8],
            cport: 10_000 + (i % 50_000) as u16,
            cseq: rng.next() as u32,
            sseq: rng.next() as u32,
        }
    }
}

#[derive(Clone, Copy)]
enum Dir {
    C2s,
    S2c,
}

#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    Psh,
}

struct Out<W: Write> {
    pcap: PcapWriter<W>,
    buf: Vec<u8>,
    ts: Timestamp,
    written: Written,
}

impl<W: Write> Out<W> {
    fn packet(
        &mut self,
        c: &Conn,
        dir: Dir,
        flags: Flags,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> io::Result<()> {
        let b = match dir {
            Dir::C2s => PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
                .ipv4(c.client, SERVER, 64)
                .tcp(c.cport, SERVER_PORT, seq, 65535),
            Dir::S2c => PacketBuilder::ethernet2(SERVER_MAC, CLIENT_MAC)
                .ipv4(SERVER, c.client, 64)
                .tcp(SERVER_PORT, c.cport, seq, 65535),
        };
        let b = match flags {
            Flags::Syn => b.syn(),
            Flags::SynAck => b.syn().ack(ack),
            Flags::Ack => b.ack(ack),
            Flags::Psh => b.psh().ack(ack),
        };
        self.buf.clear();
        b.write(&mut self.buf, payload).map_err(io::Error::other)?;
        self.ts.nanos += 1_000;
        if self.ts.nanos >= 1_000_000_000 {
            self.ts.nanos -= 1_000_000_000;
            self.ts.secs += 1;
        }
        self.pcap.write_raw(self.ts, &self.buf, self.buf.len() as u32)?;
        self.written.bytes += 16 + self.buf.len() as u64;
        self.written.packets += 1;
        Ok(())
    }

    /// TCP handshake, then the upgrade request (a key of its own per
    /// connection) and the 101 with its correct accept key; leaves `c` at
    /// the first byte after the upgrade on both sides.
    fn open(&mut self, c: &mut Conn, i: u64) -> io::Result<()> {
        self.packet(c, Dir::C2s, Flags::Syn, c.cseq, 0, &[])?;
        self.packet(c, Dir::S2c, Flags::SynAck, c.sseq, c.cseq.wrapping_add(1), &[])?;
        c.cseq = c.cseq.wrapping_add(1);
        c.sseq = c.sseq.wrapping_add(1);
        self.packet(c, Dir::C2s, Flags::Ack, c.cseq, c.sseq, &[])?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&i.to_be_bytes());
        nonce[8..].copy_from_slice(b"hostile!");
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let req = format!(
            "GET /hostile HTTP/1.1\r\nHost: hostile:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        self.packet(c, Dir::C2s, Flags::Psh, c.cseq, c.sseq, req.as_bytes())?;
        c.cseq = c.cseq.wrapping_add(req.len() as u32);
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_for_key(&key)
        );
        self.packet(c, Dir::S2c, Flags::Psh, c.sseq, c.cseq, resp.as_bytes())?;
        c.sseq = c.sseq.wrapping_add(resp.len() as u32);
        Ok(())
    }
}
