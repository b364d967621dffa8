//! Connection-level tests: handshake + frames through the HTTP/1.1 upgrade
//! layer and the WebSocket session it builds, driven by `StreamDriver`.

use wsscope::conn::PayloadClassifier;
use wsscope::event::{Dir, Event, FrameEvent, HandshakeEvent, MessageEvent, Protocol, Timestamp};
use wsscope::http::Http1Upgrade;
use wsscope::model::SessionId;
use wsscope::stream::StreamDriver;
use wsscope::tcp::{Role, RoleClassifier};
use wsscope::ws::frame::{LenForm, encode_frame, encode_frame_with, encode_header};
use wsscope::ws::rules;
use wsscope::ws::{SessionConfig, SessionSummary};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const M: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

fn request(ext: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Version: 13\r\n"
    );
    if let Some(e) = ext {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

fn response(accept: &str, ext: Option<&str>) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\n"
    );
    if let Some(e) = ext {
        r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

fn t(ms: i64) -> Timestamp {
    Timestamp::new(1_700_000_000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32)
}

struct Run {
    s: StreamDriver,
    ev: Vec<Event>,
    clock: i64,
}

impl Run {
    fn new(cfg: SessionConfig) -> Self {
        Run {
            s: StreamDriver::new(SessionId::conn(7), Box::new(Http1Upgrade::new(cfg))),
            ev: Vec::new(),
            clock: 0,
        }
    }

    /// A session past a successful handshake (with extensions `ext`).
    fn open(ext: Option<&str>) -> Self {
        let mut r = Run::new(SessionConfig::default());
        r.data(Dir::C2S, &request(ext));
        r.data(Dir::S2C, &response(ACCEPT, ext));
        r
    }

    fn data(&mut self, dir: Dir, b: &[u8]) {
        self.clock += 10;
        self.s.data(dir, t(self.clock), b, &mut self.ev);
    }

    fn finish(&mut self) -> SessionSummary {
        self.clock += 10;
        self.s.finish(t(self.clock), &mut self.ev)
    }

    fn frames(&self) -> Vec<&FrameEvent> {
        self.ev
            .iter()
            .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
            .collect()
    }

    fn messages(&self) -> Vec<&MessageEvent> {
        self.ev
            .iter()
            .filter_map(|e| if let Event::Message(m) = e { Some(m) } else { None })
            .collect()
    }

    fn handshake(&self) -> Option<&HandshakeEvent> {
        self.ev.iter().find_map(|e| {
            if let Event::Handshake(h) = e {
                Some(&**h)
            } else {
                None
            }
        })
    }

    fn rules(&self) -> Vec<&'static str> {
        self.ev
            .iter()
            .filter_map(|e| {
                if let Event::Violation(v) = e {
                    Some(v.rule)
                } else {
                    None
                }
            })
            .collect()
    }

    fn diags(&self) -> Vec<(&'static str, String)> {
        self.ev
            .iter()
            .filter_map(|e| {
                if let Event::Diagnostic(d) = e {
                    Some((d.code, d.detail.clone()))
                } else {
                    None
                }
            })
            .collect()
    }
}

#[test]
fn full_session() {
    let mut r = Run::new(SessionConfig::default());
    let req = request(None);
    // The request in 7-byte pieces.
    for c in req.chunks(7) {
        r.data(Dir::C2S, c);
    }
    assert!(r.handshake().is_none(), "handshake is reported when answered");
    // 101 and the first server frame in one segment.
    let mut resp = response(ACCEPT, None);
    resp.extend(encode_frame(true, 0, 1, None, b"welcome"));
    r.data(Dir::S2C, &resp);
    let h = r.handshake().expect("handshake");
    assert_eq!(h.status, Some(101));
    assert_eq!(h.accept_ok, Some(true));
    assert_eq!(h.accept_expected.as_deref(), Some(ACCEPT));
    assert_eq!(h.path, "/chat");
    assert_eq!(h.host.as_deref(), Some("server.example.com"));
    assert_eq!(h.origin.as_deref(), Some("http://example.com"));
    assert_eq!(h.subprotocol.as_deref(), Some("chat"));
    assert_eq!(h.version.as_deref(), Some("13"));
    assert_eq!(h.deflate, None);

    // RFC 6455 §5.7 masked "Hello", then a fragmented text "Hel"+"lo" with a ping between.
    r.data(
        Dir::C2S,
        &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
    );
    let mut b = encode_frame(false, 0, 1, M, b"Hel");
    b.extend(encode_frame(true, 0, 9, M, b"p1"));
    b.extend(encode_frame(true, 0, 0, M, b"lo"));
    r.data(Dir::C2S, &b);
    let ping_ts = t(r.clock);
    r.data(Dir::S2C, &encode_frame(true, 0, 0xA, None, b"p1"));
    let pong_ts = t(r.clock);
    let mut close = encode_frame(true, 0, 8, M, &[0x03, 0xE8, b'b', b'y', b'e']);
    close.extend(encode_frame(true, 0, 1, M, b"late"));
    r.data(Dir::C2S, &close);
    r.data(Dir::S2C, &encode_frame(true, 0, 8, None, &[0x03, 0xE9]));
    let sum = r.finish();

    let f = r.frames();
    assert_eq!(f.len(), 9);
    assert_eq!(f[0].payload, b"welcome");
    assert_eq!(f[1].payload, b"Hello");
    assert_eq!(f[1].mask_key, Some([0x37, 0xfa, 0x21, 0x3d]));
    let pong = f.iter().find(|f| f.opcode == 0xA).unwrap();
    let rtt = pong.rtt.expect("rtt");
    assert!((rtt - pong_ts.seconds_since(ping_ts)).abs() < 1e-9 && rtt > 0.0);
    let c = f.iter().find(|f| f.opcode == 8).unwrap();
    assert_eq!(
        (c.close_code, c.close_reason.as_deref()),
        (Some(1000), Some("bye"))
    );

    let m = r.messages();
    let texts: Vec<&[u8]> = m.iter().map(|m| m.data.as_slice()).collect();
    assert_eq!(texts, [&b"welcome"[..], b"Hello", b"Hello", b"late"]);
    assert_eq!(m[2].frames, 2);
    assert!(m.iter().all(|m| m.is_text && !m.compressed && !m.truncated));
    // The message event comes right after the frame completing it.
    let pos_frame =
        r.ev.iter()
            .position(|e| matches!(e, Event::Frame(f) if f.payload == b"lo"))
            .unwrap();
    assert!(matches!(&r.ev[pos_frame + 1], Event::Message(m) if m.data == b"Hello" && m.frames == 2));

    assert_eq!(r.rules(), [rules::DATA_AFTER_CLOSE]);
    assert_eq!(sum.protocol, Protocol::WebSocket);
    assert_eq!(sum.frames.into_array(), [6, 3]);
    assert_eq!(sum.messages.into_array(), [3, 1]);
    assert_eq!(sum.close[Dir::C2S], Some((Some(1000), Some("bye".into()))));
    assert_eq!(sum.close[Dir::S2C], Some((Some(1001), None)));
    assert_eq!(sum.close_first, Some(Dir::C2S));
    assert!(sum.handshake_seen);
    assert_eq!(sum.violations, 1);
    let (lo, med, hi) = sum.rtt.unwrap();
    assert!((lo - rtt).abs() < 1e-12 && (med - rtt).abs() < 1e-12 && (hi - rtt).abs() < 1e-12);
}

#[test]
fn clean_session_has_no_violations() {
    let mut r = Run::open(None);
    r.data(Dir::C2S, &encode_frame(true, 0, 2, M, &[0u8; 70_000]));
    r.data(Dir::S2C, &encode_frame(true, 0, 2, None, &[1u8; 300]));
    r.data(Dir::C2S, &encode_frame(true, 0, 8, M, &1000u16.to_be_bytes()));
    r.data(Dir::S2C, &encode_frame(true, 0, 8, None, &1000u16.to_be_bytes()));
    let s = r.finish();
    assert_eq!(r.rules(), Vec::<&str>::new());
    assert_eq!(s.violations, 0);
    assert_eq!(r.frames()[0].len_bits, 64);
    assert_eq!(r.frames()[1].len_bits, 16);
}

#[test]
fn deflate_negotiated_both_directions() {
    use flate2::{Compress, Compression, FlushCompress};
    let ext = "permessage-deflate; client_no_context_takeover; client_max_window_bits=12";
    let mut r = Run::open(Some(ext));
    let h = r.handshake().unwrap();
    let d = h.deflate.expect("deflate params");
    assert!(d.client_no_context_takeover && !d.server_no_context_takeover);
    assert_eq!(d.client_max_window_bits, Some(12));
    // Server: RFC 7692 §7.2.3.2 — context takeover, second message refers back.
    r.data(
        Dir::S2C,
        &encode_frame(true, 4, 1, None, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    r.data(
        Dir::S2C,
        &encode_frame(true, 4, 1, None, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    );
    // Client: no context takeover, a fresh compressor per message; fragmented.
    for msg in [
        &b"client says hi, client says hi"[..],
        b"client says hi, client says hi",
    ] {
        let mut c = Compress::new(Compression::default(), false);
        let mut z = Vec::with_capacity(256);
        c.compress_vec(msg, &mut z, FlushCompress::Sync).unwrap();
        z.truncate(z.len() - 4);
        let (a, b) = z.split_at(z.len() / 2);
        let mut bytes = encode_frame(false, 4, 1, M, a);
        bytes.extend(encode_frame(true, 0, 0, M, b));
        r.data(Dir::C2S, &bytes);
    }
    // An uncompressed message among them.
    r.data(Dir::S2C, &encode_frame(true, 0, 1, None, b"plain"));
    r.finish();
    let m = r.messages();
    let got: Vec<(&[u8], bool)> = m.iter().map(|m| (m.data.as_slice(), m.compressed)).collect();
    assert_eq!(
        got,
        [
            (&b"Hello"[..], true),
            (b"Hello", true),
            (b"client says hi, client says hi", true),
            (b"client says hi, client says hi", true),
            (b"plain", false)
        ]
    );
    assert!(m.iter().all(|m| m.inflate_error.is_none() && m.is_text));
    assert_eq!(m[1].wire_len, 5);
    assert_eq!(r.rules(), Vec::<&str>::new());
}

#[test]
fn gap_in_context_takeover_direction() {
    let mut r = Run::open(Some("permessage-deflate"));
    r.data(
        Dir::S2C,
        &encode_frame(true, 4, 1, None, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    // Half of a frame, then a gap covering the rest of it.
    let lost = encode_frame(true, 4, 1, None, &[0xf2, 0x00, 0x11, 0x00, 0x00]);
    r.data(Dir::S2C, &lost[..3]);
    r.clock += 1;
    r.s.gap(Dir::S2C, t(r.clock), (lost.len() - 3) as u64, &mut r.ev);
    r.data(
        Dir::S2C,
        &encode_frame(true, 4, 1, None, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    );
    r.finish();
    let m = r.messages();
    assert_eq!(m[0].data, b"Hello");
    assert!(m[1].truncated);
    let e = m[2].inflate_error.as_deref().expect("history lost");
    assert!(e.contains("compression history") && e.contains("gap"), "{e}");
    assert!(!m[2].is_text);
    assert!(r.diags().iter().any(|d| d.0 == "ws-inflate-history-lost"));
    assert!(r.frames()[1].truncated);
}

#[test]
fn pipelined_requests_then_upgrade() {
    let mut r = Run::new(SessionConfig::default());
    let mut c =
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody".to_vec();
    c.extend(request(None));
    // The client's first frame before the 101 was captured.
    c.extend(encode_frame(true, 0, 1, M, b"early"));
    r.data(Dir::C2S, &c);
    let mut s = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec();
    s.extend(b"HTTP/1.1 204 No Content\r\n\r\n");
    s.extend(response(ACCEPT, None));
    s.extend(encode_frame(true, 0, 1, None, b"first"));
    for ch in s.chunks(5) {
        r.data(Dir::S2C, ch);
    }
    let sum = r.finish();
    assert_eq!(r.handshake().unwrap().status, Some(101));
    let m: Vec<&[u8]> = r.messages().iter().map(|m| m.data.as_slice()).collect();
    assert_eq!(m, [&b"early"[..], b"first"]);
    assert_eq!(sum.protocol, Protocol::WebSocket);
    assert!(r.rules().is_empty());
}

#[test]
fn rejected_upgrade_stays_http() {
    let mut r = Run::new(SessionConfig::default());
    let mut c = request(None);
    c.extend(b"GET /next HTTP/1.1\r\n\r\n");
    r.data(Dir::C2S, &c);
    r.data(
        Dir::S2C,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let s = r.finish();
    let h = r.handshake().unwrap();
    assert_eq!(h.status, Some(403));
    assert_eq!(h.accept_ok, None);
    assert_eq!(s.protocol, Protocol::Http);
    assert!(r.frames().is_empty());
    assert!(r.rules().is_empty());
}

#[test]
fn unanswered_upgrade_reported_at_finish() {
    let mut r = Run::new(SessionConfig::default());
    r.data(Dir::C2S, &request(None));
    assert!(r.handshake().is_none());
    let s = r.finish();
    let h = r.handshake().unwrap();
    assert_eq!((h.status, h.accept.as_deref(), h.accept_ok), (None, None, None));
    assert_eq!(s.protocol, Protocol::Http);
}

#[test]
fn accept_mismatch_still_decodes() {
    let mut r = Run::new(SessionConfig::default());
    r.data(Dir::C2S, &request(None));
    let mut resp = response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=-wrong", None);
    resp.extend(encode_frame(true, 0, 9, None, b"ping"));
    r.data(Dir::S2C, &resp);
    r.finish();
    assert_eq!(r.handshake().unwrap().accept_ok, Some(false));
    assert_eq!(r.rules(), [rules::ACCEPT_MISMATCH]);
    assert_eq!(r.frames().len(), 1);
}

#[test]
fn mid_stream_detection_and_assumed_deflate() {
    let mut r = Run::new(SessionConfig::default());
    let mut c = encode_frame(true, 0, 1, M, b"one");
    c.extend(encode_frame(true, 0, 1, M, b"two"));
    r.data(Dir::C2S, &c);
    // The server's compressed message refers to history that was not captured.
    r.data(
        Dir::S2C,
        &encode_frame(true, 4, 1, None, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    );
    r.data(
        Dir::S2C,
        &encode_frame(true, 4, 1, None, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
    );
    let s = r.finish();
    assert_eq!(s.protocol, Protocol::WebSocket);
    assert!(!s.handshake_seen);
    let m = r.messages();
    assert_eq!(m[0].data, b"one");
    assert_eq!(m[1].data, b"two");
    let e = m[2].inflate_error.as_deref().expect("cannot inflate");
    assert!(e.contains("history") && e.contains("not captured"), "{e}");
    assert_eq!(
        m[2].data,
        [0xf2, 0x00, 0x11, 0x00, 0x00],
        "raw bytes kept, never garbage"
    );
    assert_eq!(m[3].data, b"Hello", "a self-contained message inflates");
    let d = r.diags();
    assert!(d.iter().any(|d| d.0 == "ws-detected"));
    assert!(
        d.iter()
            .any(|d| d.0 == "ws-deflate-assumed" && d.1.contains("failed")),
        "{d:?}"
    );
    assert!(r.rules().is_empty());
}

#[test]
fn not_websocket_is_other() {
    let mut r = Run::new(SessionConfig::default());
    r.data(
        Dir::C2S,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 some TLS-ish bytes here",
    );
    r.data(Dir::S2C, b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56");
    let s = r.finish();
    assert_eq!(s.protocol, Protocol::Other);
    assert!(r.frames().is_empty());
}

#[test]
fn force_ws_decodes_single_frame() {
    let mut r = Run::new(SessionConfig {
        force_ws: true,
        ..Default::default()
    });
    // One frame followed by a partial one: detection alone would wait.
    let mut c = encode_frame(true, 0, 2, M, b"x");
    c.extend(&encode_frame(true, 0, 2, M, b"partial")[..8]);
    r.data(Dir::C2S, &c);
    assert_eq!(r.frames().len(), 1);
    let s = r.finish();
    assert_eq!(s.protocol, Protocol::WebSocket);
    assert!(r.frames()[1].truncated);
    assert_eq!(r.frames()[1].payload, b"pa");
    assert!(r.diags().iter().all(|d| d.0 != "ws-detected"));
}

#[test]
fn frame_cap_truncates_with_diagnostic() {
    let mut r = Run::new(SessionConfig {
        max_frame_bytes: 10,
        ..Default::default()
    });
    r.data(Dir::C2S, &request(None));
    r.data(Dir::S2C, &response(ACCEPT, None));
    r.data(Dir::S2C, &encode_frame(true, 0, 2, None, &[9u8; 100]));
    // A liar: 2^63 declared; never allocated.
    let mut liar = encode_header(true, 0, 2, None, 1 << 63, LenForm::Minimal);
    liar.extend([0u8; 64]);
    r.data(Dir::S2C, &liar);
    r.finish();
    let f = r.frames();
    assert_eq!(f[0].payload.len(), 10);
    assert!(f[0].truncated);
    assert_eq!(f[1].len, 1 << 63);
    assert!(f[1].truncated && f[1].payload.len() == 10);
    assert!(r.diags().iter().any(|d| d.0 == "ws-frame-capped"));
    assert!(r.rules().contains(&rules::LENGTH_MSB_SET));
}

/// Each rule id fires on a crafted input.
#[test]
fn every_rule_fires() {
    fn run(ext: Option<&str>, frames: &[(Dir, Vec<u8>)]) -> Vec<&'static str> {
        let mut r = Run::open(ext);
        for (d, b) in frames {
            r.data(*d, b);
        }
        r.finish();
        r.rules()
    }
    use Dir::{C2S, S2C};
    type Case = (&'static str, Option<&'static str>, Vec<(Dir, Vec<u8>)>);
    let cases: Vec<Case> = vec![
        (
            rules::CLIENT_FRAME_UNMASKED,
            None,
            vec![(C2S, encode_frame(true, 0, 1, None, b"x"))],
        ),
        (
            rules::SERVER_FRAME_MASKED,
            None,
            vec![(S2C, encode_frame(true, 0, 1, M, b"x"))],
        ),
        (
            rules::RESERVED_OPCODE,
            None,
            vec![(S2C, encode_frame(true, 0, 3, None, b"x"))],
        ),
        (
            rules::RESERVED_OPCODE,
            None,
            vec![(S2C, encode_frame(true, 0, 0xB, None, b"x"))],
        ),
        (
            rules::RSV_WITHOUT_EXTENSION,
            None,
            vec![(S2C, encode_frame(true, 4, 2, None, b"x"))],
        ),
        (
            rules::RSV_WITHOUT_EXTENSION,
            Some("permessage-deflate"),
            vec![(S2C, encode_frame(true, 2, 2, None, b"x"))],
        ),
        (
            rules::DEFLATE_RSV1_ON_CONTINUATION,
            Some("permessage-deflate"),
            vec![
                (S2C, encode_frame(false, 0, 2, None, b"x")),
                (S2C, encode_frame(true, 4, 0, None, b"y")),
            ],
        ),
        (
            rules::DEFLATE_RSV1_ON_CONTROL,
            Some("permessage-deflate"),
            vec![(S2C, encode_frame(true, 4, 9, None, b""))],
        ),
        (
            rules::CONTROL_FRAME_TOO_LONG,
            None,
            vec![(S2C, encode_frame(true, 0, 9, None, &[0; 126]))],
        ),
        (
            rules::CONTROL_FRAME_FRAGMENTED,
            None,
            vec![(S2C, encode_frame(false, 0, 9, None, b""))],
        ),
        (
            rules::NON_MINIMAL_LENGTH,
            None,
            vec![(
                S2C,
                encode_frame_with(true, 0, 2, None, b"short", LenForm::Bits16),
            )],
        ),
        (
            rules::NON_MINIMAL_LENGTH,
            None,
            vec![(
                S2C,
                encode_frame_with(true, 0, 2, None, &[0; 300], LenForm::Bits64),
            )],
        ),
        (
            rules::LENGTH_MSB_SET,
            None,
            vec![(S2C, encode_header(true, 0, 2, None, 1 << 63, LenForm::Bits64))],
        ),
        (
            rules::CONTINUATION_WITHOUT_MESSAGE,
            None,
            vec![(S2C, encode_frame(true, 0, 0, None, b"x"))],
        ),
        (
            rules::DATA_FRAME_INSIDE_MESSAGE,
            None,
            vec![
                (S2C, encode_frame(false, 0, 1, None, b"a")),
                (S2C, encode_frame(true, 0, 1, None, b"b")),
            ],
        ),
        (
            rules::INVALID_CLOSE_CODE,
            None,
            vec![(S2C, encode_frame(true, 0, 8, None, &1005u16.to_be_bytes()))],
        ),
        (
            rules::INVALID_CLOSE_CODE,
            None,
            vec![(C2S, encode_frame(true, 0, 8, M, &999u16.to_be_bytes()))],
        ),
        (
            rules::CLOSE_PAYLOAD_ONE_BYTE,
            None,
            vec![(S2C, encode_frame(true, 0, 8, None, &[3]))],
        ),
        (
            rules::INVALID_UTF8_TEXT,
            None,
            vec![(S2C, encode_frame(true, 0, 1, None, b"ok\xff"))],
        ),
        (
            rules::INVALID_UTF8_TEXT,
            None,
            // A code point cut by the end of the message.
            vec![
                (S2C, encode_frame(false, 0, 1, None, b"ok\xe2\x82")),
                (S2C, encode_frame(true, 0, 0, None, b"")),
            ],
        ),
        (
            rules::INVALID_UTF8_CLOSE_REASON,
            None,
            vec![(S2C, encode_frame(true, 0, 8, None, &[0x03, 0xE8, 0xC0, 0x80]))],
        ),
        (
            rules::DATA_AFTER_CLOSE,
            None,
            vec![
                (S2C, encode_frame(true, 0, 8, None, &1000u16.to_be_bytes())),
                (S2C, encode_frame(true, 0, 1, None, b"x")),
            ],
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (rule, ext, frames) in cases {
        let got = run(ext, &frames);
        assert_eq!(got, [rule], "case {rule}");
        seen.insert(rule);
    }
    seen.insert(rules::ACCEPT_MISMATCH); // accept_mismatch_still_decodes
    // The handshake header rules: tests/handshake_facts.rs, on crafted captures.
    seen.extend([
        rules::MISSING_KEY,
        rules::DUPLICATE_KEY_HEADER,
        rules::DUPLICATE_PROTOCOL_HEADER,
        rules::DUPLICATE_ACCEPT_HEADER,
        rules::NO_WEBSOCKET_HEADERS,
    ]);
    let all: std::collections::BTreeSet<_> = rules::ALL.iter().copied().collect();
    assert_eq!(seen, all, "every rule id has a case");

    // A UTF-8 code point split across fragments is fine.
    assert!(
        run(
            None,
            &[
                (S2C, encode_frame(false, 0, 1, None, b"ok\xe2\x82")),
                (S2C, encode_frame(true, 0, 0, None, b"\xac")),
            ]
        )
        .is_empty()
    );
}

#[test]
fn payload_classifier() {
    let c = PayloadClassifier;
    assert_eq!(
        c.classify(b"GET /chat HTTP/1.1\r\nHost: x\r\n", 5000, 80),
        Some(Role::Client)
    );
    assert_eq!(
        c.classify(b"HTTP/1.1 101 Switching Protocols\r\n", 80, 5000),
        Some(Role::Server)
    );
    assert_eq!(
        c.classify(&encode_frame(true, 0, 1, M, b"hi"), 5000, 80),
        Some(Role::Client)
    );
    let mut two = encode_frame(true, 0, 1, None, b"hi");
    two.extend(encode_frame(true, 0, 2, None, b"there"));
    assert_eq!(c.classify(&two, 80, 5000), Some(Role::Server));
    assert_eq!(c.classify(b"\x16\x03\x01\x00\xa5\x01\x00", 443, 5000), None);
}

/// A client→server capture gap while the upgrade awaits its answer must not
/// make the session take the server's intact `101` for frames.
#[test]
fn client_gap_during_pending_upgrade_keeps_the_handshake() {
    use wsscope::event::{Dir, Event, Timestamp};
    use wsscope::http::Http1Upgrade;
    use wsscope::model::SessionId;
    use wsscope::stream::StreamDriver;
    use wsscope::ws::SessionConfig;
    let ts = Timestamp::new(1, 0);
    let mut s = StreamDriver::new(
        SessionId::conn(0),
        Box::new(Http1Upgrade::new(SessionConfig::default())),
    );
    let mut ev: Vec<Event> = Vec::new();
    s.data(
        Dir::C2S,
        ts,
        b"GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        &mut ev,
    );
    s.gap(Dir::C2S, ts, 20, &mut ev);
    s.data(
        Dir::S2C,
        ts,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi",
        &mut ev,
    );
    s.finish(ts, &mut ev);
    let hs = ev
        .iter()
        .find_map(|e| {
            if let Event::Handshake(h) = e {
                Some(h)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!((hs.status, hs.accept_ok), (Some(101), Some(true)));
    assert!(!ev.iter().any(|e| matches!(e, Event::Violation(_))), "{ev:#?}");
    let frames: Vec<_> = ev
        .iter()
        .filter_map(|e| if let Event::Frame(f) = e { Some(f) } else { None })
        .collect();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].dir, frames[0].payload.as_slice()),
        (Dir::S2C, b"hi".as_slice())
    );
}

/// `conns` analyses without inflating (`SessionConfig::inflate` off): the
/// counts are the same, the compressed bytes stay as they are, and the one
/// check that needs inflated bytes — UTF-8 of a compressed text message —
/// is not made. Inflating, the same bytes give that violation.
#[test]
fn counting_without_inflating() {
    use flate2::{Compress, Compression, FlushCompress};
    let mut z = Vec::with_capacity(64);
    Compress::new(Compression::default(), false)
        .compress_vec(b"bad \xff utf-8", &mut z, FlushCompress::Sync)
        .unwrap();
    z.truncate(z.len() - 4);
    let run = |inflate: bool| {
        let mut r = Run::new(SessionConfig {
            inflate,
            ..SessionConfig::default()
        });
        r.data(Dir::C2S, &request(Some("permessage-deflate")));
        r.data(Dir::S2C, &response(ACCEPT, Some("permessage-deflate")));
        r.data(Dir::S2C, &encode_frame(true, 4, 1, None, &z));
        r.data(Dir::S2C, &encode_frame(true, 0, 1, None, b"plain"));
        let summary = r.finish();
        (r, summary)
    };
    let (inflated, with) = run(true);
    let (counted, without) = run(false);
    assert_eq!(inflated.messages()[0].data, b"bad \xff utf-8");
    assert_eq!(inflated.rules(), ["invalid-utf8-text"]);
    assert_eq!(counted.messages()[0].data, z, "left compressed");
    assert!(!counted.messages()[0].is_text && counted.messages()[0].inflate_error.is_none());
    assert_eq!(counted.rules(), Vec::<&str>::new());
    assert_eq!((with.frames, with.messages), (without.frames, without.messages));
    assert_eq!((with.violations, without.violations), (1, 0));
}
