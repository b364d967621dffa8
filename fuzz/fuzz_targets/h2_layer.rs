//! The HTTP/2 layer (`wsscope::h2`) on the seam: frames, HPACK and the
//! streams' WebSocket sessions, driven through `StreamDriver` by ops that
//! mix raw bytes (anything at all) with frames this harness builds — so
//! the fuzzer gets past the preface and the frame header into extended
//! CONNECTs, their answers, DATA carrying WebSocket frames, CONTINUATION,
//! padding, RST_STREAM, SETTINGS, hostile lengths and gaps.
//!
//! Checked (panic = bug): no panic; after every op the layer's `heap_bytes`
//! stays under [`H2_HEAP_BOUND`]; and the messages and violations do not
//! depend on how the bytes were cut into packets: every run is repeated
//! with each op's bytes in one packet and compared.
//!
//! Input format:
//! ```text
//! flags: u8   bit 0: no preface (a capture picked up mid-connection)
//!             bit 1: the server does not enable extended CONNECT
//! then ops until the input ends; op byte: dir = bit 0, kind = (op >> 1) & 15:
//!   0  raw bytes, len u8               1  raw bytes, len u16
//!   2  a frame: type u8, flags u8, stream u8, len u8, payload
//!   3  extended CONNECT on stream (u8 * 2 + 1): bits u8 (0 drop :path,
//!      1 drop :scheme, 2 add sec-websocket-key, 3 permessage-deflate,
//!      4 split with CONTINUATION, 5 END_STREAM)
//!   4  answer on stream: status u8 (0 → 200, else 100 + u8), bits u8
//!      (0 add sec-websocket-accept, 1 permessage-deflate, 2 END_STREAM)
//!   5  DATA on stream u8 with a WebSocket frame: byte0 u8, len u8,
//!      payload; flags u8 (bit 0 END_STREAM, bit 1 PADDED with pad u8)
//!   6  SETTINGS: n u8 (≤ 8) entries of id u16, value u32
//!   7  HEADERS with a raw block: stream u8, flags u8, len u8, bytes
//!   8  RST_STREAM on stream u8           9  gap, len u8 + 1
//!  10  FIN (or RST if next byte odd)   11  a frame header announcing u32 bytes
//!  else: split: the next ops' bytes go in packets of u8 + 1 bytes
//! finally finish()
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::event::{Dir, Event, Timestamp};
use wsscope::h2::H2Layer;
use wsscope::h2::frame::PREFACE;
use wsscope::model::SessionId;
use wsscope::stream::StreamDriver;
use wsscope::ws::SessionConfig;
use wsscope::ws::frame::encode_frame;
use wsscope_fuzz::Input;

/// The layer's own heap: per direction a held frame (≤ 1 MiB), a header
/// block (≤ 1 MiB), the HPACK table limit (≤ 1 MiB) and the span log;
/// per stream up to 64 KiB of early data and a WebSocket session within
/// its small limits. Twice that is a leak.
const H2_HEAP_BOUND: usize = 16 << 20;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    wsscope::h2::frame::encode(wsscope::h2::frame::FrameType(kind), flags, stream, payload)
}

fn literal(out: &mut Vec<u8>, n: &str, v: &str) {
    out.extend(wsscope::h2::hpack::encode_literals(&[(n, v)]));
}

/// What the ops make: (dir, bytes) packets, gaps and ends.
enum Step {
    Bytes(Dir, Vec<u8>),
    Gap(Dir, u64),
    End(Dir, bool),
}

fn steps(data: &[u8]) -> (u8, Vec<(Step, usize)>) {
    let mut inp = Input::new(data);
    let flags = inp.u8().unwrap_or(0);
    let mut out = Vec::new();
    let mut split = 0usize;
    if flags & 1 == 0 {
        let mut c = PREFACE.to_vec();
        c.extend(frame(4, 0, 0, &[]));
        out.push((Step::Bytes(Dir::C2S, c), 0));
        let enable = u32::from(flags & 2 == 0);
        let mut p = vec![0, 8];
        p.extend_from_slice(&enable.to_be_bytes());
        out.push((Step::Bytes(Dir::S2C, frame(4, 0, 0, &p)), 0));
    }
    while let Some(op) = inp.u8() {
        let dir = if op & 1 == 0 { Dir::C2S } else { Dir::S2C };
        let step = match (op >> 1) & 15 {
            0 => {
                let n = inp.u8().unwrap_or(0) as usize;
                Step::Bytes(dir, inp.take(n).to_vec())
            }
            1 => {
                let n = inp.u16().unwrap_or(0) as usize;
                Step::Bytes(dir, inp.take(n).to_vec())
            }
            2 => {
                let (t, f, s) = (
                    inp.u8().unwrap_or(0),
                    inp.u8().unwrap_or(0),
                    inp.u8().unwrap_or(0),
                );
                let n = inp.u8().unwrap_or(0) as usize;
                Step::Bytes(dir, frame(t, f, u32::from(s), inp.take(n)))
            }
            3 => {
                let s = u32::from(inp.u8().unwrap_or(0)) * 2 + 1;
                let bits = inp.u8().unwrap_or(0);
                let mut b = Vec::new();
                literal(&mut b, ":method", "CONNECT");
                literal(&mut b, ":protocol", "websocket");
                if bits & 2 == 0 {
                    literal(&mut b, ":scheme", "http");
                }
                if bits & 1 == 0 {
                    literal(&mut b, ":path", "/ws");
                }
                literal(&mut b, ":authority", "fuzz.test");
                literal(&mut b, "sec-websocket-version", "13");
                if bits & 4 != 0 {
                    literal(&mut b, "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
                }
                if bits & 8 != 0 {
                    literal(&mut b, "sec-websocket-extensions", "permessage-deflate");
                }
                let end = if bits & 32 != 0 { 1 } else { 0 };
                let bytes = if bits & 16 != 0 {
                    let (x, y) = b.split_at(b.len() / 2);
                    let mut v = frame(1, end, s, x);
                    v.extend(frame(9, 4, s, y));
                    v
                } else {
                    frame(1, 4 | end, s, &b)
                };
                Step::Bytes(Dir::C2S, bytes)
            }
            4 => {
                let s = u32::from(inp.u8().unwrap_or(0)) * 2 + 1;
                let st = match inp.u8().unwrap_or(0) {
                    0 => 200,
                    n => 100 + u16::from(n),
                };
                let bits = inp.u8().unwrap_or(0);
                let mut b = Vec::new();
                literal(&mut b, ":status", &st.to_string());
                if bits & 1 != 0 {
                    literal(&mut b, "sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                }
                if bits & 2 != 0 {
                    literal(&mut b, "sec-websocket-extensions", "permessage-deflate");
                }
                Step::Bytes(Dir::S2C, frame(1, 4 | u8::from(bits & 4 != 0), s, &b))
            }
            5 => {
                let s = u32::from(inp.u8().unwrap_or(0)) * 2 + 1;
                let b0 = inp.u8().unwrap_or(0x81);
                let n = inp.u8().unwrap_or(0) as usize;
                let payload = inp.take(n);
                let mask = (dir == Dir::C2S).then_some([1, 2, 3, 4]);
                let ws = encode_frame(b0 & 0x80 != 0, (b0 >> 4) & 7, b0 & 15, mask, payload);
                let f = inp.u8().unwrap_or(0);
                let mut p = Vec::new();
                if f & 2 != 0 {
                    let pad = inp.u8().unwrap_or(0);
                    p.push(pad);
                    p.extend(ws);
                    p.extend(std::iter::repeat_n(0, usize::from(pad)));
                } else {
                    p = ws;
                }
                Step::Bytes(dir, frame(0, (f & 1) | (f & 2) << 2, s, &p))
            }
            6 => {
                let n = inp.u8().unwrap_or(0).min(8);
                let mut p = Vec::new();
                for _ in 0..n {
                    p.extend_from_slice(&inp.u16().unwrap_or(0).to_be_bytes());
                    p.extend_from_slice(&inp.u32().unwrap_or(0).to_be_bytes());
                }
                Step::Bytes(dir, frame(4, 0, 0, &p))
            }
            7 => {
                let (s, f) = (inp.u8().unwrap_or(0), inp.u8().unwrap_or(0));
                let n = inp.u8().unwrap_or(0) as usize;
                Step::Bytes(dir, frame(1, f, u32::from(s), inp.take(n)))
            }
            8 => {
                let s = u32::from(inp.u8().unwrap_or(0));
                Step::Bytes(dir, frame(3, 0, s, &[0, 0, 0, 8]))
            }
            9 => Step::Gap(dir, u64::from(inp.u8().unwrap_or(0)) + 1),
            10 => Step::End(dir, inp.u8().unwrap_or(0) & 1 == 1),
            11 => {
                let n = inp.u32().unwrap_or(0) & 0xff_ffff;
                let t = inp.u8().unwrap_or(1);
                let mut v = n.to_be_bytes()[1..].to_vec();
                v.extend_from_slice(&[t, 4, 0, 0, 0, 1]);
                Step::Bytes(dir, v)
            }
            _ => {
                split = usize::from(inp.u8().unwrap_or(0)) + 1;
                continue;
            }
        };
        out.push((step, split));
    }
    (flags, out)
}

/// The messages (stream, dir, bytes) and violation rules of one run.
type Outcome = (Vec<(Option<u32>, Dir, Vec<u8>)>, Vec<&'static str>);

fn run(flags: u8, steps: &[(Step, usize)], packets: bool) -> Outcome {
    let cfg = SessionConfig {
        max_frame_bytes: 4096,
        max_message_bytes: 16384,
        ..SessionConfig::default()
    };
    let mut d = StreamDriver::new(
        SessionId::conn(0),
        Box::new(H2Layer::new(cfg, flags & 1 == 0, Default::default())),
    );
    let mut out: Vec<Event> = Vec::new();
    let ts = Timestamp::new(1, 0);
    for (step, split) in steps {
        match step {
            Step::Bytes(dir, b) if packets && *split > 0 => {
                for chunk in b.chunks(*split) {
                    d.data(*dir, ts, chunk, &mut out);
                }
            }
            Step::Bytes(dir, b) => d.data(*dir, ts, b, &mut out),
            Step::Gap(dir, n) => d.gap(*dir, ts, *n, &mut out),
            Step::End(dir, rst) => d.end(*dir, ts, *rst, &mut out),
        }
        let held = d.layer().heap_bytes();
        assert!(held < H2_HEAP_BOUND, "the HTTP/2 layer holds {held} bytes");
    }
    d.finish(ts, &mut out);
    let mut msgs = Vec::new();
    let mut rules = Vec::new();
    for e in out {
        match e {
            Event::Message(m) => msgs.push((m.session.stream, m.dir, m.data)),
            Event::Violation(v) => rules.push(v.rule),
            _ => {}
        }
    }
    (msgs, rules)
}

fuzz_target!(|data: &[u8]| {
    let (flags, steps) = steps(data);
    let split = run(flags, &steps, true);
    let whole = run(flags, &steps, false);
    assert_eq!(
        split, whole,
        "the events depend on how the bytes were cut into packets"
    );
});
