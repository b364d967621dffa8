//! The synthetic benchmark traffic twice over, in lockstep: once in
//! plaintext, byte for byte what [`super::generate`] writes, and once inside
//! TLS 1.3 (TLS_AES_128_GCM_SHA256), with the NSS key log that decrypts it.
//!
//! Both captures carry the same WebSocket sessions: the same connections
//! (ports), the same upgrade, the same messages with the same payloads and
//! mask keys, in the same order, at the same timestamps. In the TLS twin each
//! connection first does a full TLS 1.3 handshake (ClientHello, ServerHello,
//! ChangeCipherSpec, then EncryptedExtensions, a ~2.5 KB Certificate,
//! CertificateVerify and Finished under the server's handshake keys, the
//! client's Finished under its own, and a NewSessionTicket), and every
//! WebSocket write is one application-data record, as browsers and servers
//! write them; a connection ends with its close frame and a close_notify
//! alert. Segments of records are reordered and retransmitted with the same
//! probabilities as the plaintext's (with their own random stream, since
//! records are longer than frames).
//!
//! Deterministic: the same arguments give the same three files.

use super::{Flow, Rng, ws_frame};
use etherparse::PacketBuilder;
use std::io::{self, Write};
use wsscope::event::Timestamp;
use wsscope::source::LinkType;
use wsscope::source::pcap_writer::PcapWriter;
use wsscope::tls::cipher::{RecordEncrypter, tls13_encrypter};
use wsscope::tls::suites::suite;

const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const CLIENT: [u8; 4] = [10, 1, 0, 1];
const SERVER: [u8; 4] = [10, 2, 0, 1];
const MSS: usize = 1448;
const REQUEST: &str = "GET /feed HTTP/1.1\r\nHost: bench:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

fn packet(
    side: Side,
    cport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let b = match side {
        Side::Client => PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
            .ipv4(CLIENT, SERVER, 64)
            .tcp(cport, 8080, seq, 65535),
        Side::Server => PacketBuilder::ethernet2(SERVER_MAC, CLIENT_MAC)
            .ipv4(SERVER, CLIENT, 64)
            .tcp(8080, cport, seq, 65535),
    };
    let b = match flags {
        SYN => b.syn(),
        SYN_ACK => b.syn().ack(ack),
        FIN => b.fin().ack(ack),
        _ => b.psh().ack(ack),
    };
    buf.clear();
    b.write(buf, payload).map_err(io::Error::other)
}

const PSH: u8 = 0;
const SYN: u8 = 1;
const SYN_ACK: u8 = 2;
const FIN: u8 = 3;

fn u24(n: usize) -> [u8; 3] {
    let b = (n as u32).to_be_bytes();
    [b[1], b[2], b[3]]
}

fn handshake_msg(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend(u24(body.len()));
    m.extend_from_slice(body);
    m
}

fn with_len16(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn ext(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut e = typ.to_be_bytes().to_vec();
    e.extend(with_len16(data));
    e
}

fn record(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend(version.to_be_bytes());
    r.extend((body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A browser-shaped TLS 1.3 ClientHello (SNI, ALPN http/1.1, x25519 share).
fn client_hello(random: &[u8; 32], session_id: &[u8; 32], key_share: &[u8]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(random);
    b.push(32);
    b.extend_from_slice(session_id);
    b.extend(with_len16(&[
        0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2f, 0xc0, 0x2b,
    ]));
    b.extend([1, 0]);
    let mut sni = vec![0u8];
    sni.extend(with_len16(b"bench"));
    let mut exts = ext(0x0000, &with_len16(&sni));
    exts.extend(ext(0x000a, &with_len16(&[0x00, 0x1d, 0x00, 0x17])));
    exts.extend(ext(0x000d, &with_len16(&[0x04, 0x03, 0x08, 0x04, 0x04, 0x01])));
    exts.extend(ext(0x0010, &with_len16(b"\x08http/1.1")));
    exts.extend(ext(0x002b, &[4, 3, 4, 3, 3]));
    exts.extend(ext(0x002d, &[1, 1]));
    let mut ks = vec![0x00, 0x1d, 0x00, 0x20];
    ks.extend_from_slice(key_share);
    exts.extend(ext(0x0033, &with_len16(&ks)));
    b.extend(with_len16(&exts));
    handshake_msg(1, &b)
}

fn server_hello(random: &[u8; 32], session_id: &[u8; 32], key_share: &[u8]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(random);
    b.push(32);
    b.extend_from_slice(session_id);
    b.extend([0x13, 0x01, 0]);
    let mut exts = ext(0x002b, &[3, 4]);
    let mut ks = vec![0x00, 0x1d, 0x00, 0x20];
    ks.extend_from_slice(key_share);
    exts.extend(ext(0x0033, &ks));
    b.extend(with_len16(&exts));
    handshake_msg(2, &b)
}

/// One direction's record protection.
struct Protect {
    enc: Box<dyn RecordEncrypter>,
    seq: u64,
}

impl Protect {
    fn new(secret: &[u8]) -> Protect {
        let s = suite(0x1301).expect("TLS_AES_128_GCM_SHA256");
        Protect {
            enc: tls13_encrypter(s, secret).expect("a 32-byte secret"),
            seq: 0,
        }
    }
    fn seal(&mut self, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let r = self.enc.encrypt(self.seq, content_type, plain);
        self.seq += 1;
        r
    }
}

/// One connection of the TLS twin.
struct TlsFlow {
    cport: u16,
    cseq: u32,
    sseq: u32,
    client: Option<Protect>,
    server: Option<Protect>,
}

/// The TLS twin: its writer, randomness and the key log.
struct Twin<W: Write, K: Write> {
    out: PcapWriter<W>,
    keylog: K,
    rng: Rng,
    written: u64,
    held: Option<Vec<u8>>,
    buf: Vec<u8>,
    flows: Vec<TlsFlow>,
}

impl<W: Write, K: Write> Twin<W, K> {
    fn emit(&mut self, ts: Timestamp) -> io::Result<()> {
        self.out.write_raw(ts, &self.buf, self.buf.len() as u32)?;
        self.written += 16 + self.buf.len() as u64;
        Ok(())
    }

    /// `bytes` from `side` in MSS-sized segments, straight.
    fn send(&mut self, i: usize, side: Side, ts: Timestamp, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(MSS) {
            let f = &mut self.flows[i];
            let (seq, ack) = match side {
                Side::Client => (&mut f.cseq, f.sseq),
                Side::Server => (&mut f.sseq, f.cseq),
            };
            packet(side, f.cport, *seq, ack, PSH, chunk, &mut self.buf)?;
            *seq = seq.wrapping_add(chunk.len() as u32);
            self.emit(ts)?;
        }
        Ok(())
    }

    /// Server bytes in MSS-sized segments, 2% held back one segment
    /// (reordering) and 2% sent twice (retransmission), as the plaintext's.
    fn send_perturbed(&mut self, i: usize, ts: Timestamp, bytes: &[u8]) -> io::Result<()> {
        for chunk in bytes.chunks(MSS) {
            let f = &mut self.flows[i];
            packet(Side::Server, f.cport, f.sseq, f.cseq, PSH, chunk, &mut self.buf)?;
            f.sseq = f.sseq.wrapping_add(chunk.len() as u32);
            let r = self.rng.below(100);
            if r < 2 && self.held.is_none() {
                self.held = Some(self.buf.clone());
                continue;
            }
            self.emit(ts)?;
            if r < 4 {
                self.emit(ts)?;
            }
            if let Some(h) = self.held.take() {
                self.out.write_raw(ts, &h, h.len() as u32)?;
                self.written += 16 + h.len() as u64;
            }
        }
        Ok(())
    }

    fn secret(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        for c in s.chunks_mut(8) {
            c.copy_from_slice(&self.rng.next().to_be_bytes());
        }
        s
    }

    /// SYN, SYN+ACK, the TLS 1.3 handshake, the upgrade request and its 101.
    fn open(&mut self, i: usize, ts: Timestamp, cport: u16, cseq: u32, sseq: u32) -> io::Result<()> {
        self.flows[i] = TlsFlow {
            cport,
            cseq,
            sseq,
            client: None,
            server: None,
        };
        packet(Side::Client, cport, cseq, 0, SYN, &[], &mut self.buf)?;
        self.emit(ts)?;
        packet(
            Side::Server,
            cport,
            sseq,
            cseq.wrapping_add(1),
            SYN_ACK,
            &[],
            &mut self.buf,
        )?;
        self.emit(ts)?;
        self.flows[i].cseq = cseq.wrapping_add(1);
        self.flows[i].sseq = sseq.wrapping_add(1);

        let client_random = self.secret();
        let session_id = self.secret();
        let server_random = self.secret();
        let (c_hs, s_hs, c_ap, s_ap) = (self.secret(), self.secret(), self.secret(), self.secret());
        let r = hex::encode(client_random);
        let exporter = self.secret();
        writeln!(
            self.keylog,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET {r} {}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {}\n\
             SERVER_TRAFFIC_SECRET_0 {r} {}\nCLIENT_TRAFFIC_SECRET_0 {r} {}\nEXPORTER_SECRET {r} {}",
            hex::encode(s_hs),
            hex::encode(c_hs),
            hex::encode(s_ap),
            hex::encode(c_ap),
            hex::encode(exporter),
        )?;

        let share = self.secret();
        let ch = record(22, 0x0301, &client_hello(&client_random, &session_id, &share));
        self.send(i, Side::Client, ts, &ch)?;

        // The server's flight: ServerHello, CCS, then its handshake-key records.
        let share = self.secret();
        let mut flight = record(22, 0x0303, &server_hello(&server_random, &session_id, &share));
        flight.extend(record(20, 0x0303, &[1]));
        let mut hs = Protect::new(&s_hs);
        flight.extend(hs.seal(
            22,
            &handshake_msg(8, &with_len16(&ext(0x0010, &with_len16(b"\x08http/1.1")))),
        ));
        let mut cert = vec![0u8];
        let der: Vec<u8> = (0..2500).map(|_| self.rng.next() as u8).collect();
        let mut entry = u24(der.len()).to_vec();
        entry.extend(&der);
        entry.extend([0, 0]);
        cert.extend(u24(entry.len()));
        cert.extend(entry);
        flight.extend(hs.seal(22, &handshake_msg(11, &cert)));
        let mut cv = vec![0x08, 0x04];
        cv.extend(with_len16(&[0x5a; 256]));
        flight.extend(hs.seal(22, &handshake_msg(15, &cv)));
        let fin = self.secret();
        flight.extend(hs.seal(22, &handshake_msg(20, &fin)));
        self.send(i, Side::Server, ts, &flight)?;

        // The client's: CCS, Finished, then (application keys) the request.
        let mut flight = record(20, 0x0303, &[1]);
        let mut hs = Protect::new(&c_hs);
        let fin = self.secret();
        flight.extend(hs.seal(22, &handshake_msg(20, &fin)));
        let mut client = Protect::new(&c_ap);
        flight.extend(client.seal(23, REQUEST.as_bytes()));
        self.send(i, Side::Client, ts, &flight)?;

        // A NewSessionTicket, then the 101.
        let mut server = Protect::new(&s_ap);
        let mut t = vec![0, 0, 0x1c, 0x20, 1, 2, 3, 4, 8];
        t.extend(self.secret().get(..8).unwrap_or_default());
        t.extend(with_len16(&[0x77; 96]));
        t.extend([0, 0]);
        let mut flight = server.seal(22, &handshake_msg(4, &t));
        flight.extend(server.seal(23, RESPONSE));
        self.send(i, Side::Server, ts, &flight)?;
        self.flows[i].client = Some(client);
        self.flows[i].server = Some(server);
        Ok(())
    }

    fn seal(&mut self, i: usize, side: Side, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let f = &mut self.flows[i];
        let p = match side {
            Side::Client => f.client.as_mut(),
            Side::Server => f.server.as_mut(),
        };
        p.expect("keys after open").seal(content_type, plain)
    }

    fn server_message(&mut self, i: usize, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let rec = self.seal(i, Side::Server, 23, frame);
        self.send_perturbed(i, ts, &rec)
    }

    fn client_message(&mut self, i: usize, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let rec = self.seal(i, Side::Client, 23, frame);
        self.send(i, Side::Client, ts, &rec)
    }

    /// The close frame and close_notify, then FINs.
    fn close(&mut self, i: usize, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let mut recs = self.seal(i, Side::Client, 23, frame);
        recs.extend(self.seal(i, Side::Client, 21, &[1, 0]));
        self.send(i, Side::Client, ts, &recs)?;
        let f = &self.flows[i];
        let (cport, cseq, sseq) = (f.cport, f.cseq, f.sseq);
        packet(Side::Client, cport, cseq, sseq, FIN, &[], &mut self.buf)?;
        self.emit(ts)?;
        packet(
            Side::Server,
            cport,
            sseq,
            cseq.wrapping_add(1),
            FIN,
            &[],
            &mut self.buf,
        )?;
        self.emit(ts)
    }
}

/// Writes the plaintext capture (exactly [`super::generate`]'s bytes for the
/// same `target_bytes` and `conns`) to `plain`, its TLS twin to `wss` and
/// the twin's key log to `keylog`. Returns the bytes of each capture.
pub fn generate_pair<P: Write, W: Write, K: Write>(
    plain: P,
    wss: W,
    keylog: K,
    target_bytes: u64,
    conns: usize,
) -> io::Result<(u64, u64)> {
    // ---- the plaintext side: `super::generate`, line for line, with the
    // ---- twin called wherever WebSocket traffic is written.
    let mut out = PcapWriter::new(plain, LinkType::ETHERNET, 65535)?;
    let mut twin = Twin {
        out: PcapWriter::new(wss, LinkType::ETHERNET, 65535)?,
        keylog,
        rng: Rng(0x7157_1315_C0DE_F00D),
        written: 24,
        held: None,
        buf: Vec::with_capacity(70_000),
        flows: (0..conns)
            .map(|_| TlsFlow {
                cport: 0,
                cseq: 0,
                sseq: 0,
                client: None,
                server: None,
            })
            .collect(),
    };
    writeln!(
        twin.keylog,
        "# wsscope synthetic wss benchmark: TLS 1.3 secrets by client random"
    )?;
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
    let emit = |out: &mut PcapWriter<P>, ts: Timestamp, pkt: &[u8], written: &mut u64| -> io::Result<()> {
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
                twin.open(i, ts, f.cport, f.cseq, f.sseq)?;
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
                let req: &str = REQUEST;
                buf.clear();
                c2s(f.cseq, f.sseq, 0)
                    .write(&mut buf, req.as_bytes())
                    .map_err(io::Error::other)?;
                emit(&mut out, ts, &buf, &mut written)?;
                f.cseq = f.cseq.wrapping_add(req.len() as u32);
                let resp = RESPONSE;
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
                let frame = ws_frame(1, &text[..len], None);
                twin.server_message(i, ts, &frame)?;
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
                    let frame = ws_frame(1, &text[..60], Some(key));
                    twin.client_message(i, ts, &frame)?;
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
                twin.close(i, ts, &frame)?;
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
    if let Some(h) = twin.held.take() {
        twin.out.write_raw(ts, &h, h.len() as u32)?;
        twin.written += 16 + h.len() as u64;
    }
    out.flush()?;
    twin.out.flush()?;
    twin.keylog.flush()?;
    Ok((written, twin.written))
}
