//! RFC 8441's checks on hand-built captures (what no real peer sends),
//! through the whole pipeline: packets → TCP → the protocol probe → the
//! HTTP/2 layer → WebSocket. The same conversation without the breach
//! raises nothing, so each check is shown to fire for its breach only.

use etherparse::PacketBuilder;
use wsscope::analyzer::{Analyzer, AnalyzerConfig};
use wsscope::event::{Event, Timestamp};
use wsscope::h2::frame::{FrameType, PREFACE, encode, flags};
use wsscope::h2::hpack::encode_literals;
use wsscope::source::{LinkType, Packet};
use wsscope::ws::frame::encode_frame;

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

/// One TCP connection, SYN first, then each side's writes as packets.
struct Conn {
    pkts: Vec<Vec<u8>>,
    seq: [u32; 2],
}

impl Conn {
    fn new() -> Conn {
        let mut c = Conn {
            pkts: Vec::new(),
            seq: [1000, 5000],
        };
        // The SYNs take a sequence number each.
        c.packet(true, true, &[]);
        c.seq[0] = 1001;
        c.packet(false, true, &[]);
        c.seq[1] = 5001;
        c
    }

    fn packet(&mut self, client: bool, syn: bool, payload: &[u8]) {
        let (src, dst, sp, dp, i) = if client {
            (C, S, 40000, 8080, 0)
        } else {
            (S, C, 8080, 40000, 1)
        };
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, self.seq[i], 65535);
        // The SYN+ACK and every later segment acknowledge the peer.
        let b = match (syn, client) {
            (true, true) => b.syn(),
            (true, false) => b.syn().ack(self.seq[0]),
            (false, _) => b.ack(self.seq[1 - i]),
        };
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
        self.pkts.push(v);
    }

    fn c(mut self, bytes: Vec<u8>) -> Conn {
        self.packet(true, false, &bytes);
        self
    }

    fn s(mut self, bytes: Vec<u8>) -> Conn {
        self.packet(false, false, &bytes);
        self
    }

    fn run(&self) -> Vec<Event> {
        let mut a = Analyzer::new(AnalyzerConfig::default());
        let mut ev = Vec::new();
        for (i, p) in self.pkts.iter().enumerate() {
            let pkt = Packet {
                index: i as u64 + 1,
                ts: Timestamp::new(1_700_000_000, i as u32 * 1000),
                link: LinkType::ETHERNET,
                data: p,
                orig_len: p.len() as u32,
                at: 0,
            };
            a.feed(&pkt, &mut ev);
        }
        a.finish(&Default::default(), &mut ev);
        ev
    }
}

fn preface() -> Vec<u8> {
    let mut v = PREFACE.to_vec();
    v.extend(encode(FrameType::SETTINGS, 0, 0, &[]));
    v
}

fn server_settings(enable: bool) -> Vec<u8> {
    encode(FrameType::SETTINGS, 0, 0, &[0, 8, 0, 0, 0, u8::from(enable)])
}

fn headers(stream: u32, h: &[(&str, &str)]) -> Vec<u8> {
    encode(
        FrameType::HEADERS,
        flags::END_HEADERS,
        stream,
        &encode_literals(h),
    )
}

fn connect(stream: u32, extra: &[(&str, &str)], drop: &[&str]) -> Vec<u8> {
    let mut h: Vec<(&str, &str)> = vec![
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/chat"),
        (":authority", "example.test"),
        ("sec-websocket-version", "13"),
    ];
    h.retain(|(n, _)| !drop.contains(n));
    h.extend_from_slice(extra);
    headers(stream, &h)
}

fn data(stream: u32, client: bool, text: &str) -> Vec<u8> {
    let ws = encode_frame(true, 0, 1, client.then_some([7, 7, 7, 7]), text.as_bytes());
    encode(FrameType::DATA, 0, stream, &ws)
}

/// A conversation: CONNECT, an answer, a message each way.
fn talk(enable: bool, extra: &[(&str, &str)], drop: &[&str], answer: &[(&str, &str)]) -> Vec<Event> {
    Conn::new()
        .c(preface())
        .s(server_settings(enable))
        .c(connect(1, extra, drop))
        .s(headers(1, answer))
        .c(data(1, true, "hello"))
        .s(data(1, false, "hi"))
        .run()
}

fn rules(ev: &[Event]) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Violation(v) => Some(v.rule),
            _ => None,
        })
        .collect()
}

fn texts(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(String::from_utf8_lossy(&m.data).into_owned()),
            _ => None,
        })
        .collect()
}

const OK: &[(&str, &str)] = &[(":status", "200")];

#[test]
fn a_correct_conversation_raises_nothing() {
    let ev = talk(true, &[], &[], OK);
    assert_eq!(rules(&ev), Vec::<&str>::new());
    assert_eq!(texts(&ev), ["hello", "hi"]);
    let close = ev.iter().rev().find_map(|e| match e {
        Event::Close(c) if c.stream.is_none() => Some(c),
        _ => None,
    });
    assert_eq!(
        close.map(|c| (c.protocol_name(), c.h2_ws_streams)),
        Some(("h2-websocket", 1))
    );
}

#[test]
fn connect_before_the_server_allowed_it() {
    let ev = talk(false, &[], &[], OK);
    assert_eq!(rules(&ev), ["h2-connect-protocol-not-enabled"]);
    // Reported, and the WebSocket is still followed.
    assert_eq!(texts(&ev), ["hello", "hi"]);
}

#[test]
fn connect_without_path_or_scheme() {
    assert_eq!(
        rules(&talk(true, &[], &[":path"], OK)),
        ["h2-connect-missing-pseudo-header"]
    );
    assert_eq!(
        rules(&talk(true, &[], &[":scheme"], OK)),
        ["h2-connect-missing-pseudo-header"]
    );
}

#[test]
fn key_or_accept_present() {
    let key = [("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")];
    assert_eq!(rules(&talk(true, &key, &[], OK)), ["h2-websocket-key-or-accept"]);
    let accept = [
        (":status", "200"),
        ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ];
    assert_eq!(
        rules(&talk(true, &[], &[], &accept)),
        ["h2-websocket-key-or-accept"]
    );
}

#[test]
fn data_after_a_refusal() {
    let ev = talk(true, &[], &[], &[(":status", "403")]);
    assert_eq!(rules(&ev), ["h2-data-after-refused-connect"]);
    assert!(texts(&ev).is_empty(), "a refused stream is no WebSocket");
}
