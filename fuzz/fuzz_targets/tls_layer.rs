//! The TLS layer on the seam: a `TlsLayer` over an `Http1Upgrade`, driven
//! through `StreamDriver` by ops that mix raw bytes (anything: broken
//! headers, truncated hellos, garbage after a gap) with records this harness
//! *encrypts* under the secrets of the key log it builds — so the fuzzer
//! reaches the decrypted paths too: the handshake epoch, `Finished`,
//! application data with an HTTP upgrade and WebSocket frames inside,
//! `KeyUpdate`, lost records, gaps and resynchronisation, keys that arrive
//! late (a Decryption Secrets Block mid-stream), wrong keys.
//!
//! Checked (panic = bug): no panic; after every op the TLS layer's own
//! `heap_bytes` (its total minus the layer above it) stays under
//! [`TLS_HEAP_BOUND`]; and libFuzzer's RSS / malloc limits.
//!
//! Input format:
//! ```text
//! flags: u8   bits 0-1 suite: TLS_AES_128_GCM_SHA256, _256_GCM_SHA384,
//!                      CHACHA20_POLY1305_SHA256, _128_GCM again
//!             bit 2    key log holds the handshake secrets
//!             bit 3    key log holds the application secrets
//!             bit 4    the key log's secrets are wrong (one byte flipped)
//!             bit 5    keys come as a Decryption Secrets Block, not a file
//!             bit 6    small WebSocket limits (frames 4 KiB, messages 16 KiB)
//!             bit 7    the layer holds at most 4 KiB of records while it
//!                      waits for keys (instead of 1 MiB)
//! seed: u8    client random = [seed; 32]; secrets derived from it
//! n: u8, n bytes   more key log text (parsed after the harness's lines)
//! then ops until the input ends; op byte: dir = bit 0 (c2s, s2c),
//! kind = (op >> 1) & 15, the clock ticks (op >> 5) ms:
//!   0  raw bytes, len u8            1  raw bytes, len u16
//!   2  c2s: ClientHello record; s2c: ServerHello (version byte: 0 → 1.3,
//!      else 1.2 legacy) + ChangeCipherSpec; both sides then seal under
//!      their handshake secrets
//!   3  sealed record: content type u8 (0 app data, 1 handshake, 2 alert,
//!      else as is), len u8, bytes; then split u8 (0: one packet, else
//!      packets of `split` bytes)
//!   4  sealed Finished, then this side seals under its application secret
//!   5  sealed KeyUpdate (byte: bit 0 update_requested, bit 1 lost — a
//!      gap in its place), then the next secret
//!   6  sealed HTTP upgrade (c2s request, s2c 101, permessage-deflate)
//!   7  sealed WebSocket frame: byte0 u8, len u8, payload (masked c2s)
//!   8  bulk: n u8, len u16 (<= 16384), fill u8, chunk u16 + 1: n
//!      application records, sent in chunks (stress; total capped at
//!      BULK_BUDGET, chunks raised so there are at most BULK_PACKETS)
//!   9  a sealed record of len u8 that is lost (a gap in its place)
//!  10  gap, len u8 + 1                11  gap, len u32
//!  12  all four secrets arrive now (a Decryption Secrets Block)
//!  13  the harness skips u8 sequence numbers (records lost unseen)
//!  14  FIN (next byte even) or RST     15  a ChangeCipherSpec record
//! finally finish()
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wsscope::event::{Dir, Event, Timestamp};
use wsscope::http::Http1Upgrade;
use wsscope::model::{SessionId, Stamp};
use wsscope::source::SecretsKind;
use wsscope::stream::{ByteLayer, LayerCx, SessionSummary, StreamDriver, StreamInput};
use wsscope::tls::TlsLayer;
use wsscope::tls::cipher::{RecordEncrypter, tls13_encrypter};
use wsscope::tls::keylog::{KeyLog, ParseReport};
use wsscope::tls::schedule::tls13_next_secret;
use wsscope::tls::suites::{Suite, suite};
use wsscope::ws::SessionConfig;
use wsscope::ws::frame::encode_frame;
use wsscope_fuzz::{Input, Sink, UPGRADE_REQUEST, UPGRADE_RESPONSE};

/// `TLS_LAYER_DEBUG=1`: keep and print the events (read once, not per input).
static DEBUG: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("TLS_LAYER_DEBUG").is_some());

/// The TLS layer's own heap: per direction a held record budget (1 MiB
/// before the first decrypted byte), a record being cut (≤ 18 KiB) or the
/// resync window (64 KiB) plus the chunk that just came (≤ 64 KiB), the
/// handshake reassembler (≤ 256 KiB) and the span log (≤ 16384 entries of
/// 32 bytes) — about 2 MiB; twice that is a leak.
const TLS_HEAP_BOUND: usize = 4 << 20;
/// Bytes the bulk op may produce per input: more than the resync scan
/// window (64 KiB) and, with flag bit 7, than the held-record budget; no
/// more, as every byte is sealed and opened again (4 MiB made ~50 ms
/// inputs, and the fuzzer found them at once: ~140 exec/s).
const BULK_BUDGET: usize = 160 << 10;
/// The held-record budget with flag bit 7 (instead of the layer's 1 MiB).
const SMALL_HELD: usize = 4096;
/// Packets one bulk op is cut into at most: 1-byte chunks of a megabyte
/// were a million `data` calls (the fuzzer found them at once and the
/// target ran at ~140 exec/s).
const BULK_PACKETS: usize = 64;

/// Reports the heap of the layer it wraps after every input.
struct Meter {
    inner: Box<dyn ByteLayer>,
    heap: Arc<AtomicUsize>,
}

impl ByteLayer for Meter {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        self.inner.input(item, cx);
        self.heap.store(self.inner.heap_bytes(), Ordering::Relaxed);
    }
    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        let s = self.inner.finish(at, cx);
        self.heap.store(self.inner.heap_bytes(), Ordering::Relaxed);
        s
    }
    fn heap_bytes(&self) -> usize {
        self.inner.heap_bytes()
    }
    fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        self.inner.frame_in_progress(dir)
    }
}

/// One side's record protection, as the peer would apply it.
struct Side {
    enc: Option<Box<dyn RecordEncrypter>>,
    secret: Vec<u8>,
    app: Vec<u8>,
    seq: u64,
}

impl Side {
    fn keys(&mut self, s: &'static Suite, secret: Vec<u8>) {
        self.enc = tls13_encrypter(s, &secret).ok();
        self.secret = secret;
        self.seq = 0;
    }

    /// A whole record; cleartext when no key is installed yet.
    fn seal(&mut self, content_type: u8, plain: &[u8]) -> Vec<u8> {
        let plain = plain.get(..plain.len().min(16_384)).unwrap_or_default();
        match &self.enc {
            Some(e) => {
                let r = e.encrypt(self.seq, content_type, plain);
                self.seq = self.seq.wrapping_add(1);
                r
            }
            None => record(content_type, 0x0303, plain),
        }
    }
}

fn record(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend(version.to_be_bytes());
    r.extend((body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake_msg(typ: u8, body: &[u8]) -> Vec<u8> {
    let n = (body.len() as u32).to_be_bytes();
    let mut m = vec![typ, n[1], n[2], n[3]];
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

fn client_hello(random: &[u8; 32]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(random);
    b.push(0);
    b.extend(with_len16(&[0x13, 0x01, 0x13, 0x02, 0x13, 0x03]));
    b.extend([1, 0]);
    let mut sni = vec![0u8];
    sni.extend(with_len16(b"fuzz.example"));
    let mut exts = ext(0x0000, &with_len16(&sni));
    exts.extend(ext(0x002b, &[2, 3, 4]));
    exts.extend(ext(0x0010, &with_len16(b"\x08http/1.1")));
    exts.extend(ext(0x0033, &with_len16(&[0x00, 0x1d, 0x00, 0x01, 0x42])));
    b.extend(with_len16(&exts));
    handshake_msg(1, &b)
}

fn server_hello(suite: u16, tls13: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend([0x55; 32]);
    b.push(0);
    b.extend(suite.to_be_bytes());
    b.push(0);
    if tls13 {
        let mut exts = ext(0x002b, &[3, 4]);
        exts.extend(ext(0x0033, &[0x00, 0x1d, 0x00, 0x01, 0x24]));
        b.extend(with_len16(&exts));
    }
    handshake_msg(2, &b)
}

fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let flags = inp.u8().unwrap_or(0);
    let seed = inp.u8().unwrap_or(0);
    let suite_id = [0x1301u16, 0x1302, 0x1303, 0x1301][usize::from(flags & 3)];
    let Some(s) = suite(suite_id) else { return };
    let n = s.hash.output_len();
    let random = [seed; 32];
    let secret = |k: u8| -> Vec<u8> { (0..n).map(|i| seed ^ k ^ (i as u8)).collect() };
    let (c_hs, s_hs, c_ap, s_ap) = (secret(1), secret(2), secret(3), secret(4));

    // The key log: the harness's lines (maybe wrong), then fuzz text;
    // `late` holds every line, for op 12.
    let mut text = String::new();
    let mut late = String::new();
    let line = |label: &str, mut v: Vec<u8>, text: &mut String| {
        if flags & 0x10 != 0
            && let Some(b) = v.first_mut()
        {
            *b ^= 0x80;
        }
        text.push_str(&format!("{label} {} {}\n", hex_of(&random), hex_of(&v)));
    };
    if flags & 4 != 0 {
        line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", c_hs.clone(), &mut text);
        line("SERVER_HANDSHAKE_TRAFFIC_SECRET", s_hs.clone(), &mut text);
    }
    if flags & 8 != 0 {
        line("CLIENT_TRAFFIC_SECRET_0", c_ap.clone(), &mut text);
        line("SERVER_TRAFFIC_SECRET_0", s_ap.clone(), &mut text);
    }
    line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", c_hs.clone(), &mut late);
    line("SERVER_HANDSHAKE_TRAFFIC_SECRET", s_hs.clone(), &mut late);
    line("CLIENT_TRAFFIC_SECRET_0", c_ap.clone(), &mut late);
    line("SERVER_TRAFFIC_SECRET_0", s_ap.clone(), &mut late);
    let extra = inp.u8().unwrap_or(0);
    let mut keylog_bytes = text.clone().into_bytes();
    keylog_bytes.extend_from_slice(inp.take(usize::from(extra)));

    let cfg = if flags & 0x40 != 0 {
        SessionConfig {
            max_frame_bytes: 4096,
            max_message_bytes: 16384,
            ..SessionConfig::default()
        }
    } else {
        SessionConfig::default()
    };
    let upper_heap = Arc::new(AtomicUsize::new(0));
    let total_heap = Arc::new(AtomicUsize::new(0));
    let upper = Meter {
        inner: Box::new(Http1Upgrade::new(cfg)),
        heap: upper_heap.clone(),
    };
    let tls = Meter {
        inner: Box::new(if flags & 0x80 != 0 {
            TlsLayer::new(Box::new(upper)).with_held_budget(SMALL_HELD)
        } else {
            TlsLayer::new(Box::new(upper))
        }),
        heap: total_heap.clone(),
    };
    let mut drv = StreamDriver::new(SessionId::conn(0), Box::new(tls));
    if flags & 0x20 != 0 {
        drv.keys_mut().add(SecretsKind::TLS_KEY_LOG, &keylog_bytes);
    } else {
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        let used = log.parse(&keylog_bytes, &mut report);
        log.parse_complete(keylog_bytes.get(used..).unwrap_or_default(), &mut report);
        drv.keys_mut().set_keylog(Some(Arc::new(log)));
    }

    let mut sides = [
        Side {
            enc: None,
            secret: Vec::new(),
            app: c_ap.clone(),
            seq: 0,
        },
        Side {
            enc: None,
            secret: Vec::new(),
            app: s_ap.clone(),
            seq: 0,
        },
    ];
    let mut events = Sink {
        keep: *DEBUG,
        events: Vec::new(),
    };
    let mut ts = Timestamp::new(1_700_000_000, 0);
    let mut bulk_left = BULK_BUDGET;
    let check = |what: &str| {
        let total = total_heap.load(Ordering::Relaxed);
        let upper = upper_heap.load(Ordering::Relaxed);
        let own = total.saturating_sub(upper);
        assert!(
            own <= TLS_HEAP_BOUND,
            "TLS layer holds {own} bytes of its own (total {total}, upper {upper}) after {what}"
        );
    };
    while let Some(op) = inp.u8() {
        let dir = if op & 1 == 0 { Dir::C2S } else { Dir::S2C };
        let side = usize::from(op & 1);
        let n = u64::from(ts.nanos) + 1_000 + u64::from(op >> 5) * 1_000_000;
        ts.secs += (n / 1_000_000_000) as i64;
        ts.nanos = (n % 1_000_000_000) as u32;
        let send = |drv: &mut StreamDriver, bytes: &[u8], split: usize, events: &mut Sink| {
            if split == 0 {
                drv.data(dir, ts, bytes, events);
            } else {
                for c in bytes.chunks(split) {
                    drv.data(dir, ts, c, events);
                }
            }
        };
        let kind = (op >> 1) & 15;
        match kind {
            0 => {
                let len = usize::from(inp.u8().unwrap_or(0));
                send(&mut drv, inp.take(len), 0, &mut events);
            }
            1 => {
                let len = usize::from(inp.u16().unwrap_or(0));
                send(&mut drv, inp.take(len), 0, &mut events);
            }
            2 => {
                let split = usize::from(inp.u8().unwrap_or(0));
                if dir == Dir::C2S {
                    send(
                        &mut drv,
                        &record(22, 0x0301, &client_hello(&random)),
                        split,
                        &mut events,
                    );
                } else {
                    let tls13 = inp.u8().unwrap_or(0) == 0;
                    let mut b = record(22, 0x0303, &server_hello(suite_id, tls13));
                    b.extend(record(20, 0x0303, &[1]));
                    send(&mut drv, &b, split, &mut events);
                    sides[0].keys(s, c_hs.clone());
                    sides[1].keys(s, s_hs.clone());
                }
            }
            3 => {
                let ct = match inp.u8().unwrap_or(0) {
                    0 => 23,
                    1 => 22,
                    2 => 21,
                    x => x,
                };
                let len = usize::from(inp.u8().unwrap_or(0));
                let rec = sides[side].seal(ct, inp.take(len));
                let split = usize::from(inp.u8().unwrap_or(0));
                send(&mut drv, &rec, split, &mut events);
            }
            4 => {
                let fin = handshake_msg(20, &vec![0x46; n_of(s)]);
                let rec = sides[side].seal(22, &fin);
                send(&mut drv, &rec, 0, &mut events);
                let app = sides[side].app.clone();
                sides[side].keys(s, app);
            }
            5 => {
                let b = inp.u8().unwrap_or(0);
                let rec = sides[side].seal(22, &handshake_msg(24, &[b & 1]));
                if b & 2 == 0 {
                    send(&mut drv, &rec, 0, &mut events);
                } else {
                    // Lost: a gap where the KeyUpdate was.
                    drv.gap(dir, ts, rec.len() as u64, &mut events);
                }
                if let Ok(next) = tls13_next_secret(s, &sides[side].secret) {
                    sides[side].keys(s, next);
                }
            }
            6 => {
                let msg = if dir == Dir::C2S {
                    UPGRADE_REQUEST
                } else {
                    UPGRADE_RESPONSE
                };
                let rec = sides[side].seal(23, msg);
                let split = usize::from(inp.u8().unwrap_or(0));
                send(&mut drv, &rec, split, &mut events);
            }
            7 => {
                let b0 = inp.u8().unwrap_or(0x81);
                let len = usize::from(inp.u8().unwrap_or(0));
                let payload = inp.take(len).to_vec();
                let mask = (dir == Dir::C2S).then(|| {
                    let k = inp.take(4);
                    [k.first(), k.get(1), k.get(2), k.get(3)].map(|b| b.copied().unwrap_or(0))
                });
                let frame = encode_frame(b0 & 0x80 != 0, (b0 >> 4) & 7, b0 & 15, mask, &payload);
                let rec = sides[side].seal(23, &frame);
                send(&mut drv, &rec, 0, &mut events);
            }
            8 => {
                let count = usize::from(inp.u8().unwrap_or(0));
                let len = usize::from(inp.u16().unwrap_or(0)).min(16_384);
                let fill = inp.u8().unwrap_or(0);
                let chunk = usize::from(inp.u16().unwrap_or(0)).saturating_add(1);
                let body = vec![fill; len];
                let mut bytes = Vec::new();
                for _ in 0..count {
                    if bulk_left < len.saturating_add(22) {
                        break;
                    }
                    bulk_left -= len.saturating_add(22);
                    bytes.extend(sides[side].seal(23, &body));
                }
                let chunk = chunk.max(bytes.len().div_ceil(BULK_PACKETS));
                send(&mut drv, &bytes, chunk, &mut events);
            }
            9 => {
                let len = usize::from(inp.u8().unwrap_or(0));
                let rec = sides[side].seal(23, inp.take(len));
                drv.gap(dir, ts, rec.len() as u64, &mut events);
            }
            10 => {
                let len = u64::from(inp.u8().unwrap_or(0)) + 1;
                drv.gap(dir, ts, len, &mut events);
            }
            11 => {
                let len = u64::from(inp.u32().unwrap_or(1));
                drv.gap(dir, ts, len, &mut events);
            }
            12 => {
                drv.keys_mut().add(SecretsKind::TLS_KEY_LOG, late.as_bytes());
            }
            13 => {
                let k = u64::from(inp.u8().unwrap_or(1));
                sides[side].seq = sides[side].seq.wrapping_add(k);
            }
            14 => {
                let rst = inp.u8().unwrap_or(0) & 1 != 0;
                drv.end(dir, ts, rst, &mut events);
            }
            _ => {
                send(&mut drv, &record(20, 0x0303, &[1]), 0, &mut events);
            }
        }
        check("an op");
    }
    let summary = drv.finish(ts, &mut events);
    check("finish");
    if events.keep {
        // `TLS_LAYER_DEBUG=1 fuzz/target/<triple>/release/tls_layer INPUT`
        // shows what an input does.
        for e in &events.events {
            match e {
                Event::Tls(t) => eprintln!("tls: decrypted {} reason {:?}", t.decrypted, t.reason),
                Event::Message(m) => eprintln!("message {:?} {} bytes", m.dir, m.data.len()),
                Event::Diagnostic(d) => eprintln!("diagnostic {}: {}", d.code, d.detail),
                other => eprintln!("{}", other.type_name()),
            }
        }
        eprintln!("{:?}", summary.tls);
    }
}

fn n_of(s: &Suite) -> usize {
    s.hash.output_len()
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    run(data);
});
