//! Property tests: encoded frame sequences cut into random chunks decode back
//! exactly; with a gap, every byte is accounted as frame, gap or undecodable.

use proptest::prelude::*;
use wsscope::event::{Dir, Event, Timestamp};
use wsscope::http::Http1Upgrade;
use wsscope::model::SessionId;
use wsscope::stream::StreamDriver;
use wsscope::ws::SessionConfig;
use wsscope::ws::decoder::{Decoded, Expect, FrameDecoder};
use wsscope::ws::frame::encode_frame;

/// One message: opcode, payload, fragment cut points, and a ping after each fragment?
#[derive(Clone, Debug)]
struct MsgSpec {
    opcode: u8,
    payload: Vec<u8>,
    cuts: Vec<usize>,
    pings: Vec<Option<Vec<u8>>>,
    masks: Vec<[u8; 4]>,
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..126),
        3 => proptest::collection::vec(any::<u8>(), 126..2000),
        1 => proptest::collection::vec(any::<u8>(), 65_536..66_000),
    ]
}

fn msg() -> impl Strategy<Value = MsgSpec> {
    (
        prop_oneof![Just(1u8), Just(2u8)],
        payload(),
        any::<String>(),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        proptest::collection::vec(
            proptest::option::weighted(0.3, proptest::collection::vec(any::<u8>(), 0..10)),
            4,
        ),
        proptest::collection::vec(any::<[u8; 4]>(), 8),
    )
        .prop_map(|(opcode, bin, text, cuts, pings, masks)| {
            let payload = if opcode == 1 { text.into_bytes() } else { bin };
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(payload.len() + 1)).collect();
            cuts.sort_unstable();
            MsgSpec {
                opcode,
                payload,
                cuts,
                pings,
                masks,
            }
        })
}

/// (fin, opcode, payload) of each frame, (opcode, data, frames) of each message, and the stream.
type Expected = (Vec<(bool, u8, Vec<u8>)>, Vec<(u8, Vec<u8>, u32)>, Vec<u8>);

fn encode(msgs: &[MsgSpec], masked: bool) -> Expected {
    let mut frames = Vec::new();
    let mut messages = Vec::new();
    let mut stream = Vec::new();
    for m in msgs {
        let mut bounds = vec![0];
        bounds.extend(&m.cuts);
        bounds.push(m.payload.len());
        let n = bounds.len() - 1;
        for i in 0..n {
            let part = &m.payload[bounds[i]..bounds[i + 1]];
            let op = if i == 0 { m.opcode } else { 0 };
            let fin = i == n - 1;
            let key = masked.then_some(m.masks[i % m.masks.len()]);
            stream.extend(encode_frame(fin, 0, op, key, part));
            frames.push((fin, op, part.to_vec()));
            if let Some(Some(p)) = m.pings.get(i) {
                if !fin {
                    stream.extend(encode_frame(true, 0, 9, key, p));
                    frames.push((true, 9, p.clone()));
                }
            }
        }
        messages.push((m.opcode, m.payload.clone(), n as u32));
    }
    (frames, messages, stream)
}

fn chunks(stream: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let n = sizes[i % sizes.len()].min(stream.len() - pos);
        out.push(stream[pos..pos + n].to_vec());
        pos += n;
        i += 1;
    }
    out
}

const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn frames_and_messages_roundtrip(msgs in proptest::collection::vec(msg(), 1..6),
                                     sizes in proptest::collection::vec(1usize..3000, 1..8),
                                     c2s in any::<bool>()) {
        let dir = if c2s { Dir::C2S } else { Dir::S2C };
        let (frames, messages, stream) = encode(&msgs, c2s);
        let mut s = StreamDriver::new(SessionId::conn(0), Box::new(Http1Upgrade::new(SessionConfig::default())));
        let mut ev: Vec<Event> = Vec::new();
        let ts = Timestamp::new(1, 0);
        s.data(Dir::C2S, ts, REQ, &mut ev);
        s.data(Dir::S2C, ts, RESP, &mut ev);
        for c in chunks(&stream, &sizes) {
            s.data(dir, ts, &c, &mut ev);
        }
        let sum = s.finish(ts, &mut ev);
        let got_frames: Vec<(bool, u8, Vec<u8>)> = ev.iter().filter_map(|e| match e {
            Event::Frame(f) => {
                assert_eq!(f.dir, dir);
                assert!(!f.truncated);
                assert_eq!(f.masked, c2s);
                Some((f.fin, f.opcode, f.payload.clone()))
            }
            _ => None,
        }).collect();
        prop_assert_eq!(&got_frames, &frames);
        let got_msgs: Vec<(u8, Vec<u8>, u32)> = ev.iter().filter_map(|e| match e {
            Event::Message(m) => {
                assert!(!m.truncated && !m.compressed);
                if m.opcode == 1 { assert!(m.is_text); }
                Some((m.opcode, m.data.clone(), m.frames))
            }
            _ => None,
        }).collect();
        prop_assert_eq!(&got_msgs, &messages);
        prop_assert_eq!(sum.violations, 0);
        prop_assert_eq!(sum.frames[dir], frames.len() as u64);
        // Frame offsets are exact: each header sits where the encoder put it.
        let mut off = if c2s { REQ.len() } else { RESP.len() } as u64;
        for e in &ev {
            if let Event::Frame(f) = e {
                prop_assert_eq!(f.offset, off);
                off += u64::from(f.header_len) + f.len;
            }
        }
    }

    #[test]
    fn gap_accounts_every_byte(msgs in proptest::collection::vec(msg(), 1..6),
                               sizes in proptest::collection::vec(1usize..3000, 1..8),
                               gap_at in any::<prop::sample::Index>(),
                               gap_len in 1usize..5000,
                               c2s in any::<bool>()) {
        let (frames, _, stream) = encode(&msgs, c2s);
        let a = gap_at.index(stream.len());
        let l = gap_len.min(stream.len() - a);
        prop_assume!(l > 0);
        let mut d = FrameDecoder::new(0, 1 << 20, Expect { masked: c2s, rsv1: false });
        let mut out = Vec::new();
        for c in chunks(&stream[..a], &sizes) {
            d.feed(&c, &mut out);
        }
        d.on_gap(l as u64, &mut out);
        for c in chunks(&stream[a + l..], &sizes) {
            d.feed(&c, &mut out);
        }
        d.finish(&mut out);
        let st = d.stats();
        prop_assert_eq!(st.frame_bytes + st.gap_bytes + st.undecodable_bytes, stream.len() as u64);
        prop_assert_eq!(st.gap_bytes, l as u64);
        // Frames wholly before the gap decode exactly.
        let mut off = 0u64;
        let mut expect_before = Vec::new();
        for (fin, op, p) in &frames {
            let hl = encode_frame(*fin, 0, *op, c2s.then_some([0; 4]), p).len() - p.len();
            let end = off + (hl + p.len()) as u64;
            if end <= a as u64 { expect_before.push((off, p.clone())); }
            off = end;
        }
        let got: Vec<(u64, Vec<u8>)> = out.iter().filter_map(|x| match x {
            Decoded::Frame(f) if !f.truncated => Some((f.offset, f.payload.clone())),
            _ => None,
        }).take(expect_before.len()).collect();
        prop_assert_eq!(got, expect_before);
        // Undecodable ranges never overlap the gap or each other and stay in the stream.
        for x in &out {
            if let Decoded::Undecodable { offset, len, .. } = x {
                prop_assert!(offset + len <= stream.len() as u64);
                prop_assert!(*offset + len <= a as u64 || *offset >= (a + l) as u64);
            }
        }
    }
}
