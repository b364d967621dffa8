//! The HTTP/2 layer on hand-built conversations: what no real peer sends
//! (RFC 8441 breaches, padding, CONTINUATION, hostile lengths, gaps), and
//! that any split of the bytes into packets gives the same events.

use super::frame::{PREFACE, flags};
use super::layer::{H2Layer, diag};
use super::stream::rules;
use crate::event::{Event, Timestamp};
use crate::model::{Dir, SessionId};
use crate::stream::StreamDriver;
use crate::ws::frame::encode_frame;
use crate::ws::session::SessionConfig;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    super::frame::encode(super::frame::FrameType(kind), flags, stream, payload)
}

fn block(headers: &[(&str, &str)]) -> Vec<u8> {
    super::hpack::encode_literals(headers)
}

fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, v) in entries {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    frame(4, 0, 0, &p)
}

fn connect(path: &str, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut h = vec![
        (":method", "CONNECT".to_string()),
        (":protocol", "websocket".into()),
        (":scheme", "http".into()),
        (":path", path.to_string()),
        (":authority", "example.test".into()),
        ("sec-websocket-version", "13".into()),
    ];
    for (n, v) in extra {
        h.retain(|(k, _)| k != n);
        if !v.is_empty() {
            h.push((leak(n), v.to_string()));
        }
    }
    h
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn headers_frame(stream: u32, h: &[(&str, String)], end_stream: bool) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let f = flags::END_HEADERS | if end_stream { flags::END_STREAM } else { 0 };
    frame(1, f, stream, &block(&pairs))
}

/// One side's bytes, in order.
struct Talk(Vec<(Dir, Vec<u8>)>);

impl Talk {
    /// Preface and both SETTINGS; `enable`: the server allows extended CONNECT.
    fn open(enable: bool) -> Talk {
        let mut c = PREFACE.to_vec();
        c.extend(settings(&[]));
        Talk(vec![
            (Dir::C2S, c),
            (Dir::S2C, settings(&[(8, u32::from(enable))])),
        ])
    }

    fn say(mut self, dir: Dir, bytes: Vec<u8>) -> Talk {
        self.0.push((dir, bytes));
        self
    }

    /// Runs it, each item one packet (or split at `split` into two).
    fn run(&self, split: Option<usize>) -> Vec<Event> {
        let mut d = StreamDriver::new(
            SessionId::conn(7),
            Box::new(H2Layer::new(SessionConfig::default(), true, Default::default())),
        );
        let mut out = Vec::new();
        let ts = Timestamp::new(1, 0);
        for (dir, bytes) in &self.0 {
            match split.filter(|&s| s > 0 && s < bytes.len()) {
                Some(s) => {
                    d.data(*dir, ts, &bytes[..s], &mut out);
                    d.data(*dir, ts, &bytes[s..], &mut out);
                }
                None => d.data(*dir, ts, bytes, &mut out),
            }
        }
        d.finish(ts, &mut out);
        out
    }
}

fn ws(dir: Dir, text: &str) -> Vec<u8> {
    let mask = (dir == Dir::C2S).then_some([1, 2, 3, 4]);
    encode_frame(true, 0, 1, mask, text.as_bytes())
}

fn rules_of(ev: &[Event]) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Violation(v) => Some(v.rule),
            _ => None,
        })
        .collect()
}

fn codes_of(ev: &[Event]) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Diagnostic(d) => Some(d.code),
            _ => None,
        })
        .collect()
}

fn texts(ev: &[Event]) -> Vec<(Option<u32>, Dir, String)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some((
                m.session.stream,
                m.dir,
                String::from_utf8_lossy(&m.data).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// A conversation with everything the frame layer must take apart: a
/// padded DATA frame, a WebSocket frame split over two DATA frames, a
/// header block continued by CONTINUATION, HEADERS with priority fields
/// and padding, unknown and ignored frame types.
fn rich() -> Talk {
    let req = connect("/chat", &[]);
    let pairs: Vec<(&str, &str)> = req.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let blk = block(&pairs);
    let (a, b) = blk.split_at(10);
    let hello = ws(Dir::C2S, "hello");
    let (h1, h2) = hello.split_at(3);
    let mut padded = vec![4];
    padded.extend_from_slice(h2);
    padded.extend_from_slice(&[0; 4]);
    // HEADERS with PRIORITY (5 bytes) and PADDED (pad 2).
    let mut resp = vec![2, 0, 0, 0, 0, 16];
    resp.extend(block(&[(":status", "200")]));
    resp.extend_from_slice(&[0, 0]);
    Talk::open(true)
        .say(Dir::C2S, frame(1, 0, 1, a))
        .say(Dir::C2S, frame(9, flags::END_HEADERS, 1, b))
        .say(
            Dir::S2C,
            frame(1, flags::END_HEADERS | flags::PRIORITY | flags::PADDED, 1, &resp),
        )
        .say(Dir::C2S, frame(0, 0, 1, h1))
        .say(Dir::C2S, frame(0, flags::PADDED, 1, &padded))
        .say(Dir::S2C, frame(6, 0, 0, &[0; 8]))
        .say(Dir::S2C, frame(0xee, 0, 0, b"extension"))
        .say(Dir::S2C, frame(8, 0, 1, &[0, 0, 1, 0]))
        .say(Dir::S2C, frame(0, 0, 1, &ws(Dir::S2C, "hi yourself")))
        .say(
            Dir::C2S,
            headers_frame(
                3,
                &[
                    (":method", "GET".into()),
                    (":path", "/x".into()),
                    (":scheme", "http".into()),
                ],
                true,
            ),
        )
        .say(
            Dir::C2S,
            frame(
                0,
                flags::END_STREAM,
                1,
                &encode_frame(true, 0, 8, Some([9, 9, 9, 9]), &[3, 232]),
            ),
        )
        .say(
            Dir::S2C,
            frame(
                0,
                flags::END_STREAM,
                1,
                &encode_frame(true, 0, 8, None, &[3, 232]),
            ),
        )
}

#[test]
fn frames_taken_apart_and_messages_per_stream() {
    let ev = rich().run(None);
    assert_eq!(
        texts(&ev),
        [
            (Some(1), Dir::C2S, "hello".to_string()),
            (Some(1), Dir::S2C, "hi yourself".to_string())
        ]
    );
    assert!(rules_of(&ev).is_empty(), "{:?}", rules_of(&ev));
    assert!(codes_of(&ev).is_empty(), "{:?}", codes_of(&ev));
    let hs: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Handshake(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(hs.len(), 1, "the GET on stream 3 is no WebSocket");
    assert_eq!(
        (hs[0].session.stream, hs[0].path.as_str(), hs[0].status),
        (Some(1), "/chat", Some(200))
    );
    assert_eq!(hs[0].http_version, Some("2"));
    let closes = ev
        .iter()
        .filter(|e| matches!(e, Event::Frame(f) if f.opcode == 8))
        .count();
    assert_eq!(closes, 2);
}

#[test]
fn every_split_into_two_packets_gives_the_same_events() {
    let talk = rich();
    let whole = talk.run(None);
    let longest = talk.0.iter().map(|(_, b)| b.len()).max().unwrap();
    for split in 1..longest {
        let ev = talk.run(Some(split));
        assert_eq!(texts(&ev), texts(&whole), "split at {split}");
        assert_eq!(rules_of(&ev), rules_of(&whole), "split at {split}");
        assert_eq!(codes_of(&ev), codes_of(&whole), "split at {split}");
    }
}

#[test]
fn connect_before_the_server_enabled_it() {
    let ev = Talk::open(false)
        .say(Dir::C2S, headers_frame(1, &connect("/a", &[]), false))
        .say(Dir::S2C, headers_frame(1, &[(":status", "200".into())], false))
        .run(None);
    assert_eq!(rules_of(&ev), [rules::CONNECT_NOT_ENABLED]);
}

#[test]
fn connect_without_scheme_or_path() {
    let ev = Talk::open(true)
        .say(
            Dir::C2S,
            headers_frame(1, &connect("/a", &[(":scheme", ""), (":path", "")]), false),
        )
        .run(None);
    let v: Vec<String> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Violation(v) => Some(format!("{} {}", v.rule, v.detail)),
            _ => None,
        })
        .collect();
    assert_eq!(
        v,
        [format!(
            "{} extended CONNECT without :scheme and :path",
            rules::CONNECT_MISSING_PSEUDO
        )]
    );
}

#[test]
fn key_and_accept_do_not_belong_in_http2() {
    let ev = Talk::open(true)
        .say(
            Dir::C2S,
            headers_frame(
                1,
                &connect("/a", &[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]),
                false,
            ),
        )
        .say(
            Dir::S2C,
            headers_frame(
                1,
                &[
                    (":status", "200".into()),
                    ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()),
                ],
                false,
            ),
        )
        .run(None);
    assert_eq!(
        rules_of(&ev),
        [rules::KEY_OR_ACCEPT_PRESENT, rules::KEY_OR_ACCEPT_PRESENT]
    );
}

#[test]
fn data_after_a_refused_connect() {
    let ev = Talk::open(true)
        .say(Dir::C2S, headers_frame(1, &connect("/a", &[]), false))
        .say(Dir::S2C, headers_frame(1, &[(":status", "403".into())], false))
        .say(Dir::C2S, frame(0, 0, 1, &ws(Dir::C2S, "let me in")))
        .say(Dir::C2S, frame(0, 0, 1, &ws(Dir::C2S, "please")))
        .run(None);
    // Once per stream, and nothing decoded as WebSocket.
    assert_eq!(rules_of(&ev), [rules::DATA_AFTER_REFUSAL]);
    assert!(texts(&ev).is_empty());
    let h = ev.iter().find_map(|e| match e {
        Event::Handshake(h) => Some(h),
        _ => None,
    });
    assert_eq!(h.map(|h| (h.status, h.rejected)), Some((Some(403), Some(true))));
}

#[test]
fn client_data_before_the_answer_is_held_for_the_session() {
    let ev = Talk::open(true)
        .say(Dir::C2S, headers_frame(1, &connect("/a", &[]), false))
        .say(Dir::C2S, frame(0, 0, 1, &ws(Dir::C2S, "early")))
        .say(Dir::S2C, headers_frame(1, &[(":status", "200".into())], false))
        .run(None);
    assert_eq!(texts(&ev), [(Some(1), Dir::C2S, "early".to_string())]);
}

#[test]
fn a_gap_loses_the_framing_and_says_so() {
    let talk = Talk::open(true).say(Dir::C2S, headers_frame(1, &connect("/a", &[]), false));
    let mut d = StreamDriver::new(
        SessionId::conn(1),
        Box::new(H2Layer::new(SessionConfig::default(), true, Default::default())),
    );
    let mut out = Vec::new();
    let ts = Timestamp::new(1, 0);
    for (dir, b) in &talk.0 {
        d.data(*dir, ts, b, &mut out);
    }
    d.gap(Dir::C2S, ts, 100, &mut out);
    d.data(Dir::C2S, ts, &frame(0, 0, 1, &ws(Dir::C2S, "after")), &mut out);
    d.finish(ts, &mut out);
    assert_eq!(
        codes_of(&out),
        [diag::FRAMING_LOST, diag::FRAMING_LOST],
        "the gap, then what was not decoded"
    );
    assert!(texts(&out).is_empty());
}

#[test]
fn hostile_lengths_and_blocks() {
    // A HEADERS frame announcing 16 MiB: skipped without holding it, and
    // the header table is then out of step.
    let mut huge = frame(1, flags::END_HEADERS, 1, &[]);
    huge[0..3].copy_from_slice(&[0xff, 0xff, 0xff]);
    let ev = Talk::open(true)
        .say(Dir::C2S, huge)
        .say(Dir::C2S, vec![0x41; 4096])
        .run(None);
    assert!(codes_of(&ev).contains(&diag::BAD_FRAME), "{:?}", codes_of(&ev));
    assert!(codes_of(&ev).contains(&diag::HPACK), "{:?}", codes_of(&ev));
    // A header block that does not decode: said once, later blocks not decoded.
    let ev = Talk::open(true)
        .say(Dir::C2S, frame(1, flags::END_HEADERS, 1, &[0x80 | 90]))
        .say(Dir::C2S, headers_frame(3, &connect("/a", &[]), false))
        .say(Dir::S2C, headers_frame(3, &[(":status", "200".into())], false))
        .run(None);
    assert_eq!(codes_of(&ev), [diag::HPACK]);
    assert!(!ev.iter().any(|e| matches!(e, Event::Handshake(_))));
    // Padding longer than the frame: the frame is skipped.
    let ev = Talk::open(true)
        .say(Dir::C2S, headers_frame(1, &connect("/a", &[]), false))
        .say(Dir::S2C, headers_frame(1, &[(":status", "200".into())], false))
        .say(Dir::C2S, frame(0, flags::PADDED, 1, &[200, 1, 2, 3]))
        .say(Dir::C2S, frame(0, 0, 1, &ws(Dir::C2S, "still here")))
        .run(None);
    assert!(codes_of(&ev).contains(&diag::BAD_FRAME));
    assert_eq!(texts(&ev), [(Some(1), Dir::C2S, "still here".to_string())]);
    // Not a preface: nothing decoded, said once.
    let ev = Talk(vec![(Dir::C2S, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\nmore".to_vec())]).run(None);
    assert_eq!(codes_of(&ev), [diag::BAD_PREFACE, diag::FRAMING_LOST]);
}
