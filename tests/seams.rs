//! The seam between TCP and the layers above it, proven with layers of
//! the two shapes the roadmap needs:
//! - a pass-through layer *inserted* between TCP and HTTP/1 (the shape TLS
//!   takes: it owns the layer above and feeds it what it produces) must leave
//!   every event identical;
//! - a layer that *multiplexes* one connection into two sessions (the shape
//!   HTTP/2 takes: one WebSocket session per stream) must yield two sessions
//!   with distinct ids and each its own, right, events.

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wsscope::analyzer::{Analyzer, AnalyzerConfig};
use wsscope::event::{Dir, Event, Timestamp};
use wsscope::model::{PacketSpan, PerDir, SessionId, Stamp};
use wsscope::source::file::FileSource;
use wsscope::stream::{ByteLayer, GapLen, LayerCx, StreamDriver, StreamInput};
use wsscope::ws::frame::encode_frame;
use wsscope::ws::{SessionConfig, SessionSummary, WsParams, WsSession};

type Hook = Box<wsscope::conn::stack::LayerHook>;

fn analyze(path: &std::path::Path, hook: Option<Hook>) -> Vec<Event> {
    let mut a = Analyzer::new(AnalyzerConfig::default());
    if let Some(h) = hook {
        a = a.with_layer_hook(h);
    }
    let mut src = FileSource::open(path).unwrap();
    let mut ev: Vec<Event> = Vec::new();
    wsscope::pipeline::run(&mut src, &mut a, &mut ev, Default::default(), |_, _| {
        ControlFlow::Continue(())
    })
    .unwrap();
    ev
}

/// Forwards everything to the layer it owns, counting the bytes it saw
/// and checking the seam's invariant: per direction, items are contiguous.
struct PassThrough {
    upper: Box<dyn ByteLayer>,
    next: PerDir<u64>,
    seen: Arc<AtomicU64>,
}

impl ByteLayer for PassThrough {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        match item {
            StreamInput::Data {
                dir, offset, bytes, ..
            } => {
                assert_eq!(offset, self.next[dir], "data not contiguous");
                self.next[dir] += bytes.len() as u64;
                self.seen.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            StreamInput::Gap { dir, offset, len, .. } => {
                assert_eq!(offset, self.next[dir], "gap not contiguous");
                self.next[dir] += len.bytes();
            }
            StreamInput::End { .. } => {}
        }
        self.upper.input(item, cx);
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        self.upper.finish(at, cx)
    }

    fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        self.upper.frame_in_progress(dir)
    }

    fn heap_bytes(&self) -> usize {
        self.upper.heap_bytes()
    }
}

#[test]
fn inserted_pass_through_layer_changes_nothing() {
    let mut total = 0;
    for cap in common::fixtures() {
        let plain = analyze(&cap, None);
        let seen = Arc::new(AtomicU64::new(0));
        let s = seen.clone();
        let wrapped = analyze(
            &cap,
            Some(Box::new(move |_id, upper| {
                Box::new(PassThrough {
                    upper,
                    next: PerDir::default(),
                    seen: s.clone(),
                }) as Box<dyn ByteLayer>
            })),
        );
        assert_eq!(plain.len(), wrapped.len(), "{}", cap.display());
        for (a, b) in plain.iter().zip(&wrapped) {
            assert_eq!(a, b, "{}", cap.display());
        }
        // The layer saw every reassembled byte of every connection.
        let stream_bytes: u64 = common::summaries(&plain)
            .iter()
            .flat_map(|c| c.stats.iter().map(|s| s.stream_bytes))
            .sum();
        assert_eq!(seen.load(Ordering::Relaxed), stream_bytes, "{}", cap.display());
        total += plain.len();
    }
    assert!(total > 1000, "the fixtures produced only {total} events");
}

/// A toy multiplexer in HTTP/2's shape: each direction carries records
/// `[stream id: u8][len: u16 BE][payload]`, and each stream id is its own
/// WebSocket session (frames start at the stream's first byte).
struct Demux {
    /// Per direction: bytes of an unfinished record, and where it started.
    partial: PerDir<Vec<u8>>,
    partial_packets: PerDir<Option<PacketSpan>>,
    streams: Vec<(u32, WsSession, PerDir<u64>)>,
}

impl Demux {
    fn new() -> Self {
        Demux {
            partial: PerDir::default(),
            partial_packets: PerDir::default(),
            streams: Vec::new(),
        }
    }

    fn deliver(
        &mut self,
        dir: Dir,
        sid: u32,
        payload: &[u8],
        packets: PacketSpan,
        at: Stamp,
        cx: &mut LayerCx<'_>,
    ) {
        let conn = cx.id.conn;
        let k = match self.streams.iter().position(|(s, _, _)| *s == sid) {
            Some(k) => k,
            None => {
                let id = SessionId {
                    conn,
                    stream: Some(sid),
                };
                let ws = WsSession::new(
                    id,
                    SessionConfig::default(),
                    WsParams {
                        handshake_seen: true,
                        ..WsParams::default()
                    },
                );
                self.streams.push((sid, ws, PerDir::default()));
                self.streams.len() - 1
            }
        };
        let (_, ws, offsets) = &mut self.streams[k];
        let offset = offsets[dir];
        offsets[dir] += payload.len() as u64;
        let mut scx = cx.for_session(SessionId {
            conn,
            stream: Some(sid),
        });
        ws.input(
            StreamInput::Data {
                dir,
                offset,
                bytes: payload,
                packets,
                at,
                starts_write: true,
            },
            &mut scx,
        );
    }
}

impl ByteLayer for Demux {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        match item {
            StreamInput::Data {
                dir,
                bytes,
                packets,
                at,
                ..
            } => {
                self.partial[dir].extend_from_slice(bytes);
                self.partial_packets[dir] = Some(PacketSpan::join(self.partial_packets[dir], packets));
                loop {
                    let buf = &self.partial[dir];
                    if buf.len() < 3 {
                        break;
                    }
                    let len = usize::from(u16::from_be_bytes([buf[1], buf[2]]));
                    if buf.len() < 3 + len {
                        break;
                    }
                    let sid = u32::from(buf[0]);
                    let payload: Vec<u8> = buf[3..3 + len].to_vec();
                    self.partial[dir].drain(..3 + len);
                    let span = self.partial_packets[dir].unwrap_or(packets);
                    // What is left began in the last packet.
                    self.partial_packets[dir] = (!self.partial[dir].is_empty()).then_some(packets);
                    self.deliver(dir, sid, &payload, span, at, cx);
                }
            }
            StreamInput::Gap { .. } => panic!("no gaps in this test"),
            StreamInput::End { .. } => {}
        }
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        let conn = cx.id.conn;
        let mut total = SessionSummary::default();
        for (sid, ws, _) in &mut self.streams {
            let mut scx = cx.for_session(SessionId {
                conn,
                stream: Some(*sid),
            });
            let s = ws.finish(at, &mut scx);
            total.protocol = s.protocol;
            for d in Dir::BOTH {
                total.frames[d] += s.frames[d];
                total.messages[d] += s.messages[d];
            }
        }
        total
    }

    fn frame_in_progress(&self, _dir: Dir) -> Option<u64> {
        None
    }

    fn heap_bytes(&self) -> usize {
        self.streams.iter().map(|(_, w, _)| w.heap_bytes()).sum()
    }
}

fn record(sid: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![sid];
    r.extend((payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

#[test]
fn multiplexing_layer_yields_one_session_per_stream() {
    let key = Some([1, 2, 3, 4]);
    let mut d = StreamDriver::new(SessionId::conn(4), Box::new(Demux::new()));
    let mut ev: Vec<Event> = Vec::new();
    let t = |ms: u32| Timestamp::new(1_700_000_000, ms * 1_000_000);
    // Packet 1: a whole frame on stream 1, and half of stream 3's first frame.
    let f1 = encode_frame(true, 0, 1, key, b"one: hello");
    let f3 = encode_frame(false, 0, 1, key, b"three: fragmented ");
    let r3 = record(3, &f3);
    let mut p1 = record(1, &f1);
    p1.extend_from_slice(&r3[..10]);
    d.data(Dir::C2S, t(1), &p1, &mut ev);
    // Packet 2: the rest of it; packet 3: its continuation, and a server
    // frame on stream 1.
    d.data(Dir::C2S, t(2), &r3[10..], &mut ev);
    d.data(
        Dir::C2S,
        t(3),
        &record(3, &encode_frame(true, 0, 0, key, b"and done")),
        &mut ev,
    );
    d.data(
        Dir::S2C,
        t(4),
        &record(1, &encode_frame(true, 0, 2, None, b"\x00\x01")),
        &mut ev,
    );
    let sum = d.finish(t(5), &mut ev);

    let frames: Vec<_> = ev
        .iter()
        .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
        .collect();
    let messages: Vec<_> = ev
        .iter()
        .filter_map(|e| if let Event::Message(m) = e { Some(m) } else { None })
        .collect();
    let s1 = SessionId {
        conn: 4,
        stream: Some(1),
    };
    let s3 = SessionId {
        conn: 4,
        stream: Some(3),
    };
    assert_ne!(s1, s3);
    let of = |s: SessionId| frames.iter().filter(|f| f.session == s).collect::<Vec<_>>();
    assert_eq!(of(s1).len(), 2);
    assert_eq!(of(s3).len(), 2);
    // Each session's frames start at its own stream's offset 0.
    assert_eq!(of(s1)[0].offset, 0);
    assert_eq!(of(s3)[0].offset, 0);
    assert_eq!(of(s3)[1].offset, f3.len() as u64);
    // Stamps: stream 3's first frame came in packets 1 and 2.
    assert_eq!(of(s1)[0].packets, PacketSpan::one(1));
    assert_eq!(of(s3)[0].packets, PacketSpan { first: 1, last: 2 });
    assert_eq!(of(s3)[1].packets, PacketSpan::one(3));
    assert_eq!(of(s1)[1].packets, PacketSpan::one(4));
    // Messages: assembled per session, not across them.
    type Seen<'a> = (SessionId, Dir, &'a [u8], u64, Option<PacketSpan>);
    let m: Vec<Seen<'_>> = messages
        .iter()
        .map(|m| (m.session, m.dir, m.data.as_slice(), m.seq, m.packets))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                s1,
                Dir::C2S,
                b"one: hello".as_slice(),
                0,
                Some(PacketSpan::one(1))
            ),
            (
                s3,
                Dir::C2S,
                b"three: fragmented and done".as_slice(),
                0,
                Some(PacketSpan { first: 1, last: 3 })
            ),
            (s1, Dir::S2C, b"\x00\x01".as_slice(), 0, Some(PacketSpan::one(4))),
        ]
    );
    // Events carry the session, and `conn` stays the TCP connection.
    assert!(frames.iter().all(|f| f.conn == 4));
    assert!(!ev.iter().any(|e| matches!(e, Event::Violation(_))), "{ev:#?}");
    assert_eq!(sum.frames.into_array(), [3, 1]);
    assert_eq!(sum.messages.into_array(), [2, 1]);
}

/// A producer that lost boundaries (TLS, HTTP/2) reports a gap of unknown
/// length; the session resynchronises on the next frame instead of skipping
/// a length it cannot know.
#[test]
fn gap_of_unknown_length_resynchronises() {
    let id = SessionId::conn(1);
    let mut ws = WsSession::new(
        id,
        SessionConfig::default(),
        WsParams {
            handshake_seen: true,
            ..WsParams::default()
        },
    );
    let mut ev: Vec<Event> = Vec::new();
    let mut diags = wsscope::stream::DiagnosticLimiter::default();
    let mut mem = wsscope::stream::MemLedger::default();
    let keys = wsscope::keys::KeyStore::default();
    let mut cx = LayerCx {
        id,
        out: &mut ev,
        diags: &mut diags,
        mem: &mut mem,
        keys: &keys,
    };
    let at = |p: u64| Stamp::new(Timestamp::new(1, 0), p);
    let big = encode_frame(true, 0, 2, None, &[7u8; 300]);
    // The first 100 bytes of a frame, then a gap of unknown length, then
    // (at a record boundary) three whole frames.
    ws.input(
        StreamInput::Data {
            dir: Dir::S2C,
            offset: 0,
            bytes: &big[..100],
            packets: PacketSpan::one(1),
            at: at(1),
            starts_write: true,
        },
        &mut cx,
    );
    ws.input(
        StreamInput::Gap {
            dir: Dir::S2C,
            offset: 100,
            len: GapLen::AtLeast(50),
            reason: wsscope::event::GapReason::Lost,
            at: at(2),
        },
        &mut cx,
    );
    let mut after = Vec::new();
    for p in [b"a".as_slice(), b"bb", b"ccc"] {
        after.extend(encode_frame(true, 0, 1, None, p));
    }
    ws.input(
        StreamInput::Data {
            dir: Dir::S2C,
            offset: 150,
            bytes: &after,
            packets: PacketSpan::one(3),
            at: at(3),
            starts_write: true,
        },
        &mut cx,
    );
    ws.finish(at(4), &mut cx);
    let texts: Vec<Vec<u8>> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) if m.opcode == 1 => Some(m.data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()],
        "{ev:#?}"
    );
}
